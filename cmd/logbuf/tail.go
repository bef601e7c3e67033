package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/logbuf/logbuf/drain"
)

func init() {
	register(command{name: "tail", args: "[--format raw|len|hex] FILE", summary: "drain a ring file to stdout", run: runTail, doc: `
Attaches to the ring file as its consumer and writes every record to stdout,
waiting for more when the ring is empty (parked on the ring's futex word, or
with --poll napping, so that producers never pay a system call to wake it). A
record leaves the ring only after it was written to stdout.

It ends, with status 0, when every producer has gone and the ring is empty
(at once on a ring whose producers have gone already), after --count
records, or on SIGINT or SIGTERM. With --follow it waits for new producers
instead of ending when the last one leaves.

` + formatHelp})
}

func runTail(e *env, args []string) (status int) {
	fs := newFlags(e, "tail")
	format := newChoice("raw", formats...)
	fs.Var(format, "format", "output format: raw, len or hex")
	var opt drain.Options
	fs.Uint64Var(&opt.Limit, "count", 0, "stop after this many records (0: no limit)")
	fs.DurationVar(&opt.UnblockAfter, "unblock-after", 0, unblockUsage)
	fs.BoolVar(&opt.Follow, "follow", false, "when every producer has gone, wait for new ones until\ninterrupted")
	fs.DurationVar(&opt.Poll, "poll", 0, pollUsage)
	pos, st, ok := parse(e, fs, args, 1)
	if !ok {
		return st
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var err error
	defer func() {
		if err != nil {
			status = fail(e, "tail", err)
		}
	}()
	defer guardFaults(&err)()

	f, c, err := openConsumer(pos[0])
	if err != nil {
		return exitFailure
	}
	defer f.Close()
	// Close detaches: records read but not written stay in the ring for
	// the next consumer.
	defer c.Close()
	opt.Stuck = stuckReporter(e.stderr, "tail")
	if _, err = drain.Run(ctx, c, stdoutSink{newRecordWriter(e.stdout, format.value)}, opt); err != nil {
		return exitFailure
	}
	return exitOK
}

// stdoutSink writes each batch to stdout, flushed (to the kernel) before
// the drain releases it from the ring.
type stdoutSink struct{ out *recordWriter }

func (s stdoutSink) Write(_ context.Context, b *drain.Batch) error {
	for _, r := range b.Records {
		s.out.write(r.Data)
	}
	return s.out.flush()
}

func (s stdoutSink) Flush() error { return nil }
