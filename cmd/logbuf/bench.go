package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/logbuf/logbuf/internal/bench"
)

func init() {
	register(command{name: "bench", args: "[flags]", summary: "measure rings against the Rust original's workloads and Go channels", run: runBench, doc: `
Runs the benchmark workloads of the Rust original (nexus-logbuf) on this
machine, and the same workloads over Go channels of []byte in the same run
(BENCHMARKS.md has this tool's figures for the development machine):

  latency     one goroutine, 64 KiB ring, warm-up then samples, HDR histogram:
              produce (claim+copy+commit), consume (read+release), and the
              one-way round trip over two rings and an echo goroutine
  throughput  producer goroutines -> consumer, 2 MiB ring, random 8..1024 B
              payloads (xorshift64*), GB/s of payload and M msgs/s
  rate        1,000,000 fixed-size messages split over N producers

The table goes to stdout (--json for machines); progress goes to stderr.
With the defaults it takes 30 to 60 s: 31.7 s and 58.4 s measured on the
development machine (2 vCPUs), quiet and busy.`})
}

func runBench(e *env, args []string) int {
	cfg := bench.DefaultConfig()
	fs := newFlags(e, "bench")
	sizes := intList(cfg.Sizes)
	producers := intList(cfg.Producers)
	rateProducers := intList(cfg.RateProducers)
	latRing := byteSize(cfg.LatencyRing)
	thrRing := byteSize(cfg.ThroughputRing)
	fs.DurationVar(&cfg.Duration, "duration", cfg.Duration, "length of each throughput run")
	fs.Var(&sizes, "sizes", "latency payload sizes in bytes,\ncomma-separated")
	fs.IntVar(&cfg.Warmup, "warmup", cfg.Warmup, "latency iterations run before recording")
	fs.IntVar(&cfg.Samples, "samples", cfg.Samples, "latency samples recorded per row")
	fs.Var(&latRing, "latency-ring", "latency ring capacity")
	fs.DurationVar(&cfg.RowBudget, "row-budget", cfg.RowBudget, "end a latency row early, with fewer samples, after this long\n(0: never; only a busy machine needs it)")
	fs.Var(&thrRing, "ring", "throughput and message-rate ring capacity")
	fs.Var(&producers, "producers", "MPSC throughput producer counts, comma-separated\n(add 4 for the Rust table's last row)")
	backoff := fs.Bool("backoff", false, "also run MPSC throughput with backoff producers (2^k spins\nfor k < 7, then yield)")
	noBatch := fs.Bool("no-batch", false, "skip the SPSC row with a batch consumer (RecvBatch)")
	fs.IntVar(&cfg.Messages, "messages", cfg.Messages, "message rate: messages in all, split over the\nproducers")
	fs.IntVar(&cfg.RateSize, "rate-size", cfg.RateSize, "message rate: payload bytes")
	fs.Var(&rateProducers, "rate-producers", "message rate producer counts, comma-separated")
	noChan := fs.Bool("no-chan", false, "skip the Go channel baseline")
	only := fs.String("only", "latency,throughput,rate", "which tables to run,\ncomma-separated")
	asJSON := fs.Bool("json", false, "write the results as JSON to stdout instead of tables")
	quiet := fs.Bool("quiet", false, "no progress on stderr")
	if _, st, ok := parse(e, fs, args, 0); !ok {
		return st
	}
	cfg.Sizes, cfg.Producers, cfg.RateProducers = sizes, producers, rateProducers
	cfg.LatencyRing, cfg.ThroughputRing = int(latRing), int(thrRing)
	cfg.Backoff, cfg.Batch, cfg.Channels = *backoff, !*noBatch, !*noChan
	cfg.Latency, cfg.Throughput, cfg.Rate = false, false, false
	for _, s := range strings.Split(*only, ",") {
		switch strings.TrimSpace(s) {
		case "latency":
			cfg.Latency = true
		case "throughput":
			cfg.Throughput = true
		case "rate":
			cfg.Rate = true
		default:
			return usageError(e, "bench", "--only: unknown table %q (want latency, throughput, rate)", s)
		}
	}
	if err := cfg.Check(); err != nil {
		return usageError(e, "bench", "%v", err)
	}

	var pr *bench.Progress
	stopProgress := func() {}
	if !*quiet {
		pr = bench.NewProgress()
		stopProgress = showProgress(e.stderr, pr)
	}
	res, err := bench.Run(cfg, pr)
	stopProgress()
	if err != nil {
		return fail(e, "bench", err)
	}
	command := "logbuf bench"
	if len(args) > 0 {
		command += " " + strings.Join(args, " ")
	}
	if *asJSON {
		out := struct {
			Command string `json:"command"`
			*bench.Results
		}{command, res}
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(out); err != nil {
			return fail(e, "bench", err)
		}
		return exitOK
	}
	writeTables(e.stdout, command, res)
	return exitOK
}

// showProgress draws the running workload on w: on a terminal one line
// redrawn four times a second, otherwise one line per workload. It returns
// the function that stops it.
func showProgress(w io.Writer, pr *bench.Progress) (stop func()) {
	tty := isTerminal(w)
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		tick := time.NewTicker(250 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-done:
				if tty {
					fmt.Fprint(w, "\r\x1b[K")
				}
				return
			case <-pr.Changed():
				if !tty {
					s, _ := pr.Snapshot()
					fmt.Fprintf(w, "[%d/%d] %s (%d %s)\n", s.Index, s.Of, s.Name, s.Total, s.Unit)
					continue
				}
			case <-tick.C:
				if !tty {
					continue
				}
			}
			s, n := pr.Snapshot()
			if s.Of == 0 {
				continue
			}
			pct := 0.0
			if s.Total > 0 {
				pct = 100 * float64(min(n, s.Total)) / float64(s.Total)
			}
			fmt.Fprintf(w, "\r\x1b[K[%d/%d] %s: %d/%d %s (%.0f%%)", s.Index, s.Of, s.Name, n, s.Total, s.Unit, pct)
		}
	}()
	return func() { close(done); wg.Wait() }
}

func writeTables(w io.Writer, command string, r *bench.Results) {
	m := r.Machine
	fmt.Fprintf(w, "logbuf bench, %s (took %.1f s)\n", r.Started.Format("2006-01-02 15:04 MST"), r.Elapsed.Seconds())
	fmt.Fprintf(w, "command:  %s\n", command)
	fmt.Fprintf(w, "machine:  %s, %d logical CPUs, GOMAXPROCS %d, %s, %s\n", m.CPU, m.Cores, m.GOMAXPROCS, m.OS, m.Go)
	fmt.Fprintf(w, "kernels:  %s\n", m.Kernels)
	fmt.Fprintf(w, "clock:    %s, unit %s (%.3f ticks/ns)\n", m.Clock, m.ClockUnit, m.TicksPerNs)

	if r.Config.Latency {
		c := r.Config
		fmt.Fprintf(w, "\nLatency, one goroutine, %s ring, %d warm-up + %d samples, in %s (HDR histogram, 3 digits).\n",
			formatBytes(int64(c.LatencyRing)), c.Warmup, c.Samples, m.ClockUnit)
		p := r.ClockPair
		fmt.Fprintf(w, "The clock pair alone costs mean %.1f, p50 %d, p99 %d, p999 %d, max %d; it is included in every figure.\n",
			p.Mean999, p.P50, p.P99, p.P999, p.Max)
		p = r.HandOff
		fmt.Fprintf(w, "A cache line handed to another core and back, halved (no ring), costs mean %.1f, p50 %d: the floor of a one-way roundtrip.\n",
			p.Mean999, p.P50)
		fmt.Fprintf(w, "mean = of the samples up to p999 (a preemption inside one sample moves the mean of all, also shown, by tens of ticks).\n")
		fmt.Fprintf(w, "produce = claim+copy+commit (chan: make+copy+send); consume = read+release (chan: receive);\n"+
			"roundtrip = one way, (elapsed of a trip through two rings and an echo goroutine) / 2.\n")
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintln(tw, "op\timpl\tsize B\tmean\tp50\tp99\tp999\tmax\tmean all\t")
		last := ""
		short := false
		for _, l := range r.Latency {
			if l.Op != last && last != "" {
				fmt.Fprintln(tw, "\t\t\t\t\t\t\t\t\t")
			}
			last = l.Op
			mark := ""
			if l.Samples < int64(c.Samples) {
				mark, short = fmt.Sprintf(" (%d samples)*", l.Samples), true
			}
			fmt.Fprintf(tw, "%s\t%s\t%d\t%.1f\t%d\t%d\t%d\t%d\t%.1f%s\t\n", l.Op, l.Impl, l.Size, l.Mean999, l.P50, l.P99, l.P999, l.Max, l.Mean, mark)
		}
		tw.Flush()
		if short {
			fmt.Fprintf(w, "* stopped at the %v row budget (--row-budget) with fewer samples: the machine was busy.\n", c.RowBudget)
		}
	}

	if r.Config.Throughput && len(r.Throughput) > 0 {
		c := r.Config
		fmt.Fprintf(w, "\nThroughput, random %d..%d B payloads, %s ring, %v per run; GB/s = payload bytes / time.\n",
			bench.MinLen, bench.MaxLen, formatBytes(int64(c.ThroughputRing)), c.Duration)
		fmt.Fprintf(w, "vs chan = GB/s over the channel baseline with the same producers, this run.\n")
		chanGB := map[int]float64{}
		for _, t := range r.Throughput {
			if t.Impl == "chan" {
				chanGB[t.Producers] = t.GBps
			}
		}
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintln(tw, "impl\tproducers\twhen full\tconsumer\tGB/s\tM msgs/s\tvs chan\t")
		for _, t := range r.Throughput {
			fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%.2f\t%.2f\t%s\t\n", t.Impl, t.Producers, t.Producer, t.Consumer,
				t.GBps, t.MMsgps, ratio(t.GBps, chanGB[t.Producers], t.Impl == "chan"))
		}
		tw.Flush()
	}

	if r.Config.Rate && len(r.Rate) > 0 {
		c := r.Config
		fmt.Fprintf(w, "\nMessage rate, %d B fixed payloads, %d messages split over the producers, %s ring;\n"+
			"time from spawning the producers to joining them.\n", c.RateSize, c.Messages, formatBytes(int64(c.ThroughputRing)))
		chanRate := map[int]float64{}
		for _, t := range r.Rate {
			if t.Impl == "chan" {
				chanRate[t.Producers] = t.MMsgps
			}
		}
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintln(tw, "impl\tproducers\tM msgs/s\tms\tvs chan\t")
		for _, t := range r.Rate {
			fmt.Fprintf(tw, "%s\t%d\t%.2f\t%.1f\t%s\t\n", t.Impl, t.Producers, t.MMsgps,
				float64(t.Elapsed.Microseconds())/1000, ratio(t.MMsgps, chanRate[t.Producers], t.Impl == "chan"))
		}
		tw.Flush()
	}
}

func ratio(v, base float64, isBase bool) string {
	switch {
	case isBase:
		return "1.00x"
	case base <= 0:
		return "-"
	}
	return fmt.Sprintf("%.2fx", v/base)
}
