package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

func init() {
	commandDocs["tail"] = `
Attaches to the ring file as its consumer and writes every record to stdout,
waiting for more when the ring is empty (parked on the ring's futex word). It ends when the producers have come
and gone and the ring is empty (unless --follow), after --count records, or on
SIGINT/SIGTERM; all three exit 0. Producers that attach after the last one
left are not waited for without --follow: start tail after them, or use it. A record is released from the ring only after it was
written to stdout.

` + formatHelp
}

func runTail(e *env, args []string) (status int) {
	fs := newFlags(e, "tail")
	format := newChoice("raw", formats...)
	fs.Var(format, "format", "output format: raw, len or hex")
	count := fs.Uint64("count", 0, "stop after this many records (0: no limit)")
	unblock := fs.Duration("unblock-after", 0, "recover a claim left uncommitted at head this long by a dead producer (any producer on MPSC); 0: the ring's default, 5s; negative: never")
	follow := fs.Bool("follow", false, "keep waiting when every producer has gone, for new ones, until interrupted")
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
	out := newRecordWriter(e.stdout, format.value)
	d := &drainer{
		c: c, reg: f.Region(), limit: *count, stuck: stuckReporter(e.stderr, "tail"),
		sink: func(batch [][]byte) error {
			for _, b := range batch {
				out.write(b)
			}
			return out.flush()
		},
		idle: func() error { return nil },
	}
	if *follow {
		d.finished = func() bool { return false }
	}
	d.setRecovery(*unblock)
	if err = d.run(ctx); err != nil {
		// Records read but not written stay in the ring: no Close, which
		// would release them. The next consumer resumes at them.
		return exitFailure
	}
	c.Close()
	d.leftover(e.stderr, "tail", pos[0])
	return exitOK
}
