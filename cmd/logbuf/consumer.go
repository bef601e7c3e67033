package main

import (
	"fmt"
	"io"
	"time"

	"github.com/logbuf/logbuf/abi"
	"github.com/logbuf/logbuf/ring"
)

// openConsumer maps a ring file and attaches this process as its consumer.
// The ring refuses a second live consumer (ring.ErrConsumerBusy, naming its
// pid): two consumers would hand out the same records and zero each other's.
func openConsumer(path string) (*abi.File, *ring.Consumer, error) {
	f, err := abi.OpenFile(path)
	if err != nil {
		return nil, nil, err
	}
	c, err := ring.NewConsumer(f.Region())
	if err != nil {
		f.Close()
		return nil, nil, fmt.Errorf("%s: %w", path, err)
	}
	return f, c, nil
}

// stuckReporter prints the consumer's recoveries (spec section 9) on w.
func stuckReporter(w io.Writer, cmd string) func(ring.Stuck) {
	return func(s ring.Stuck) {
		what := "recovered (skipped)"
		if !s.Recovered {
			what = "not recoverable while its producer lives (SPSC): waiting"
		}
		fmt.Fprintf(w, "logbuf %s: record at position %d (%d bytes, producer slot %d, pid %d) uncommitted for %v: %s\n",
			cmd, s.Pos, s.Size, s.Owner, s.PID, s.For.Round(time.Millisecond), what)
	}
}

// unblockUsage is the help of --unblock-after, which tail and archive share.
const unblockUsage = "recover a claim left uncommitted at head this long: by a\n" +
	"producer that died, or by any producer on an MPSC ring\n" +
	"(0: the ring's default, 5s; negative: never)"

// pollUsage is the help of --poll, which tail and archive share.
const pollUsage = "sleep this long at a time when the ring is empty instead of\n" +
	"parking on its futex: producers then never pay a system call\n" +
	"to wake this consumer, and a record may wait up to this long\n" +
	"(0: park)"
