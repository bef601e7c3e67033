package main

import (
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
)

// cell gathers the runs of one configuration.
type cell struct {
	nsPerOp, allocs, callRate []float64 // per untimed run (call rate: every run)
	hist                      *hdrhistogram.Histogram
	calls, said, delivered    uint64
	lost                      int64
}

func (c *cell) add(r result, timed bool) {
	if !timed {
		c.nsPerOp = append(c.nsPerOp, float64(r.wall.Nanoseconds())/float64(r.calls))
		c.allocs = append(c.allocs, float64(r.mallocs)/float64(r.calls))
	}
	c.callRate = append(c.callRate, float64(r.calls)/r.wall.Seconds())
	if r.hist != nil {
		if c.hist == nil {
			c.hist = newHist()
		}
		c.hist.Merge(r.hist)
	}
	c.calls += r.calls
	c.said += r.said
	c.delivered += r.delivered
	c.lost += r.lost()
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func (c *cell) pct(q float64) int64 {
	if c.hist == nil {
		return 0
	}
	return c.hist.ValueAtQuantile(q)
}

func printTable(w io.Writer, configs []config, cells []cell, rounds, events int) {
	fmt.Fprintf(w, "%d rounds of %d log calls per run; ns/op and allocs/op: median of the untimed runs; "+
		"latency: every call of the timed runs; dropped and lost: all runs.\n", rounds, events)
	var enc string
	var kind destKind = -1
	for i, c := range configs {
		if c.enc.name != enc || c.kind != kind {
			enc, kind = c.enc.name, c.kind
			fmt.Fprintf(w, "\n#### %s into %s\n\n", enc, kind)
			fmt.Fprintln(w, "| G | writer | ns/op | allocs/op | p50 ns | p99 ns | p99.9 ns | dropped, said | lost, unsaid |")
			fmt.Fprintln(w, "|---:|---|---:|---:|---:|---:|---:|---:|---:|")
		}
		k := &cells[i]
		fmt.Fprintf(w, "| %d | (%s) %s | %.0f | %.2f | %d | %d | %d | %d of %d | %d |\n",
			c.g, c.be.short, c.be.name, median(k.nsPerOp), median(k.allocs),
			k.pct(50), k.pct(99), k.pct(99.9), k.said, k.calls, k.lost)
	}
}

func printOverload(w io.Writer, configs []config, cells []cell, rounds int, lasting time.Duration, rate float64) {
	fmt.Fprintf(w, "\n#### Overload: 8 goroutines log for %v into a destination that takes %.1f MB/s; %d rounds, summed\n\n",
		lasting, rate/1e6, rounds)
	fmt.Fprintln(w, "| encoder | writer | calls/s | logged | delivered | dropped, said | lost, unsaid | p99 ns | p99.9 ns |")
	fmt.Fprintln(w, "|---|---|---:|---:|---:|---:|---:|---:|---:|")
	for i, c := range configs {
		k := &cells[i]
		fmt.Fprintf(w, "| %s | (%s) %s | %.0f | %d | %d | %d | %d | %d | %d |\n",
			c.enc.name, c.be.short, c.be.name, median(k.callRate), k.calls, k.delivered, k.said, k.lost,
			k.pct(99), k.pct(99.9))
	}
}

// printTargets checks issue 14's targets against the table.
func printTargets(w io.Writer, configs []config, cells []cell) {
	find := func(enc string, kind destKind, g int, short string) *cell {
		for i, c := range configs {
			if c.enc.name == enc && c.kind == kind && c.g == g && c.be.short == short {
				return &cells[i]
			}
		}
		return nil
	}
	verdict := func(ok bool) string {
		if ok {
			return "met"
		}
		return "MISSED"
	}
	fmt.Fprintln(w, "\n#### Targets (logbuf's writers: (d) logio.Async, (e) logio.Writer over a ring file)")
	fmt.Fprintln(w)
	for _, enc := range encoders {
		for _, kind := range []destKind{destFile, destDiscard} {
			for _, s := range []string{"d", "e"} {
				if find(enc.name, kind, 64, s) == nil || find(enc.name, kind, 64, "a") == nil || find(enc.name, kind, 64, "c") == nil {
					continue
				}
				for _, g := range goroutines {
					me, diode, direct := find(enc.name, kind, g, s), find(enc.name, kind, g, "a"), find(enc.name, kind, g, "c")
					a, m := median(diode.nsPerOp), median(me.nsPerOp)
					// Allocations the writer adds to the logger's own: (c)'s.
					added := median(me.allocs) - median(direct.allocs)
					fmt.Fprintf(w, "- %s, %s, G=%d, (%s): %.0f ns/op against diode's %.0f (%.2fx): %s; %+.2f allocs/op over the logger's own: %s\n",
						enc.name, kind, g, s, m, a, m/a, verdict(m <= a), added, verdict(added < 0.005))
				}
				me, diode := find(enc.name, kind, 64, s), find(enc.name, kind, 64, "a")
				ratio := float64(me.pct(99)) / float64(diode.pct(99))
				fmt.Fprintf(w, "- %s, %s, G=64, (%s): p99 %d ns against diode's %d (%.2fx, target 0.5x): %s\n",
					enc.name, kind, s, me.pct(99), diode.pct(99), ratio, verdict(ratio <= 0.5))
				if enc.name == "slog" && kind == destFile {
					direct := find(enc.name, kind, 64, "c")
					ratio := float64(me.pct(99)) / float64(direct.pct(99))
					fmt.Fprintf(w, "- slog, shm file, G=64, (%s): p99 %d ns against slog straight to the file's %d (%.2fx, target 0.1x): %s\n",
						s, me.pct(99), direct.pct(99), ratio, verdict(ratio <= 0.1))
				}
			}
		}
	}
}
