// Command logbench measures log calls through logbuf's writers and the ones
// they replace, under the loggers that use them:
//
//	cd examples/logging && go run ./logbench
//
// Goroutines (1, 2, 8, 64) each log a structured event of five fields with
// zerolog or slog, through (a) zerolog's diode.Writer, (b) zap's
// BufferedWriteSyncer, (c) nothing (the logger writes to the destination
// itself), (d) logio.Async, (e) logio.Writer over an MPSC ring file that a
// "logbuf tail" process drains; into a file on /dev/shm or io.Discard.
// Every configuration runs once per round, in turn (a, b, c, d, e, a, ...),
// so that the noise of a shared machine falls on all alike; the table gives
// medians over rounds of ns and allocations per call, latency percentiles
// of the calls of the timed rounds (each call timed apart, merged over
// rounds), and the events each writer dropped and said so, or lost
// without saying.
//
// The overload run then makes the destination slower than the producers
// (--rate bytes a second) while 8 goroutines log for --overload, and counts
// for each writer the events logged, delivered, reported dropped and lost
// without a word.
//
// The table goes to stdout in Markdown; progress to stderr.
package main

import (
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/logbuf/logbuf/examples/logging/internal/logbuftool"
)

func main() {
	rounds := flag.Int("rounds", 5, "rounds: each runs every configuration once, untimed and timed")
	events := flag.Int("events", 100_000, "log calls per run, over all goroutines")
	overload := flag.Duration("overload", time.Second, "how long producers log in each overload run (0: no overload run)")
	overloadRounds := flag.Int("overload-rounds", 3, "rounds of the overload run")
	rate := flag.Float64("rate", 4e6, "the throttled destination's bytes a second in the overload run")
	logbuf := flag.String("logbuf", "", "the logbuf command (default: built from the library module)")
	shm := flag.String("dir", "/dev/shm", "where the destination files and ring files go")
	only := flag.String("writers", "abcde", "the writers to run, by letter (the targets need a, c, d and e)")
	flag.Parse()
	backends = slices.DeleteFunc(backends, func(b backend) bool { return !strings.Contains(*only, b.short) })
	// zerolog's diode prints "Diode set collision" with the log package
	// when two writers race for a slot; the table counts what matters.
	log.SetOutput(io.Discard)
	if _, err := run(os.Stdout, *rounds, *events, *overload, *overloadRounds, *rate, *logbuf, *shm); err != nil {
		fmt.Fprintln(os.Stderr, "logbench:", err)
		os.Exit(1)
	}
}

var goroutines = []int{1, 2, 8, 64}

// run runs the benchmark, writes its tables to out, and returns the
// events each writer (by letter) lost without saying, over all runs.
func run(out io.Writer, rounds, events int, overload time.Duration, overloadRounds int, rate float64, logbuf, shm string) (lost map[string]int64, err error) {
	dir, err := os.MkdirTemp(shm, "logbench")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	if logbuf == "" {
		if logbuf, err = logbuftool.Build(dir); err != nil {
			return nil, err
		}
	}
	b := &bench{dir: dir, logbuf: logbuf}

	var configs []config
	for _, enc := range encoders {
		for _, kind := range []destKind{destFile, destDiscard} {
			for _, g := range goroutines {
				for _, be := range backends {
					configs = append(configs, config{enc: enc, kind: kind, g: g, be: be})
				}
			}
		}
	}
	cells := make([]cell, len(configs))
	start := time.Now()
	for r := range rounds {
		for i, c := range configs {
			for _, timed := range []bool{false, true} {
				res, err := b.run(c, events, timed, 0, 0)
				if err != nil {
					return nil, err
				}
				cells[i].add(res, timed)
			}
		}
		fmt.Fprintf(os.Stderr, "logbench: round %d of %d done, %.0f s\n", r+1, rounds, time.Since(start).Seconds())
	}

	var over []config
	var overCells []cell
	if overload > 0 {
		for _, enc := range encoders {
			for _, be := range backends {
				over = append(over, config{enc: enc, kind: destThrottled, g: 8, be: be})
			}
		}
		overCells = make([]cell, len(over))
		for r := range overloadRounds {
			for i, c := range over {
				res, err := b.run(c, 0, true, overload, rate)
				if err != nil {
					return nil, err
				}
				overCells[i].add(res, true)
			}
			fmt.Fprintf(os.Stderr, "logbench: overload round %d of %d done, %.0f s\n", r+1, overloadRounds, time.Since(start).Seconds())
		}
	}

	printTable(out, configs, cells, rounds, events)
	if overload > 0 {
		printOverload(out, over, overCells, overloadRounds, overload, rate)
	}
	printTargets(out, configs, cells)
	fmt.Fprintf(out, "\nTotal time %.0f s.\n", time.Since(start).Seconds())
	lost = map[string]int64{}
	for i, c := range configs {
		lost[c.be.short] += cells[i].lost
	}
	for i, c := range over {
		lost[c.be.short] += overCells[i].lost
	}
	return lost, nil
}
