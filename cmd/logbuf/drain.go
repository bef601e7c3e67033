package main

import (
	"context"
	"errors"
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

// drainer takes records out of a ring in batches and hands each batch to
// sink before releasing it: a record leaves the ring only once sink has
// accepted it (written it to the kernel), so a crash of this process loses
// nothing; the next consumer resumes at the first record not released.
type drainer struct {
	c   *ring.Consumer
	reg *abi.Region
	// sink receives a batch; the slices are valid until it returns.
	sink func(batch [][]byte) error
	// idle is called when the ring has nothing to read, before waiting, and
	// then every tick while it waits: the place to flush buffered output and
	// report progress.
	idle func() error
	tick time.Duration
	// finished, if set, must also report true before an end of the ring
	// (io.EOF: every producer that attached has gone) ends the
	// drain; demo uses it for producers that have not attached yet.
	finished func() bool
	limit    uint64 // stop after this many records; 0 for no limit
	// stuck receives what the consumer's recovery (spec section 9) did.
	stuck func(ring.Stuck)

	records, bytes uint64
	batch          [][]byte
	pendingStuck   []ring.Stuck
	// ended says why run returned nil: "closed" (producers gone, ring
	// empty), "count" or "signal".
	ended string
}

const (
	drainBatchRecords = 1024
	drainBatchBytes   = 4 << 20
)

// setRecovery passes --unblock-after to the consumer: 0 is the ring's
// default timeout, negative turns recovery off.
func (d *drainer) setRecovery(timeout time.Duration) {
	// The report comes on this goroutine inside Recv and must not block:
	// keep it, print it after Recv returns.
	d.c.SetRecovery(timeout, func(s ring.Stuck) { d.pendingStuck = append(d.pendingStuck, s) })
}

// run drains until the producers are gone and the ring is empty
// (io.EOF), the limit is reached, or ctx is done (SIGINT). It
// returns nil in all three cases. While the ring is empty it waits in
// Consumer.Recv, parked on the ring's futex word, waking every tick.
func (d *drainer) run(ctx context.Context) error {
	tick := d.tick
	if tick <= 0 {
		tick = time.Second
	}
	for {
		if ctx.Err() != nil {
			d.ended = "signal"
			return nil
		}
		n, err := d.readBatch(nil)
		if err != nil {
			return err
		}
		if n > 0 {
			if d.limit > 0 && d.records >= d.limit {
				d.ended = "count"
				return nil
			}
			continue
		}
		if err := d.idle(); err != nil {
			return err
		}
		// Nothing is read and unreleased here, so Recv's release before it
		// waits gives back nothing that sink has not taken.
		wctx, cancel := context.WithTimeout(ctx, tick)
		r, err := d.c.Recv(wctx)
		cancel()
		d.reportStuck()
		switch {
		case err == nil:
			if _, err := d.readBatch(&r); err != nil {
				return err
			}
			if d.limit > 0 && d.records >= d.limit {
				d.ended = "count"
				return nil
			}
		case err == io.EOF:
			if d.finished != nil && !d.finished() {
				// More producers are to come: io.EOF is not final, but
				// Recv returns it at once until one attaches, so poll.
				select {
				case <-ctx.Done():
				case <-time.After(10 * time.Millisecond):
				}
				continue
			}
			d.ended = "closed"
			return nil
		case ctx.Err() != nil:
			d.ended = "signal"
			return nil
		case errors.Is(err, context.DeadlineExceeded):
			// A tick: go round, calling idle.
		default:
			return err
		}
	}
}

func (d *drainer) reportStuck() {
	for _, s := range d.pendingStuck {
		if d.stuck != nil {
			d.stuck(s)
		}
	}
	d.pendingStuck = d.pendingStuck[:0]
}

// readBatch reads up to a batch of records, after first if it is not nil,
// hands them to sink and releases them. Records read but refused by sink
// stay in the ring.
func (d *drainer) readBatch(first *ring.Record) (int, error) {
	d.batch = d.batch[:0]
	size := 0
	if first != nil {
		d.batch = append(d.batch, first.Bytes())
		size += len(first.Bytes())
	}
	max := drainBatchRecords
	if d.limit > 0 {
		max = int(min(uint64(max), d.limit-d.records))
	}
	for len(d.batch) < max && size < drainBatchBytes {
		r, err := d.c.TryRead()
		if errors.Is(err, ring.ErrEmpty) {
			break
		}
		if err != nil {
			// Deliver what came before the error (a corrupt record, say),
			// then report it.
			if len(d.batch) > 0 {
				if serr := d.deliver(size); serr != nil {
					return 0, serr
				}
			}
			return 0, err
		}
		d.batch = append(d.batch, r.Bytes())
		size += len(r.Bytes())
	}
	if len(d.batch) == 0 {
		return 0, nil
	}
	if err := d.deliver(size); err != nil {
		return 0, err
	}
	return len(d.batch), nil
}

// deliver hands the batch (of size payload bytes) to sink, then releases it.
func (d *drainer) deliver(size int) error {
	if err := d.sink(d.batch); err != nil {
		return err
	}
	d.c.Release()
	d.records += uint64(len(d.batch))
	d.bytes += uint64(size)
	return nil
}

// leftover warns when the producers are gone but bytes remain in the ring
// that the consumer could not read: a claim never committed, which recovery
// (--unblock-after) did not or may not take back.
func (d *drainer) leftover(w io.Writer, cmd, path string) {
	if d.ended == "closed" {
		warnLeftover(w, cmd, path, d.reg)
	}
}

// warnLeftover is leftover for a drain that reached the end of the stream.
func warnLeftover(w io.Writer, cmd, path string, reg *abi.Region) {
	s := takeSnapshot(path, reg)
	if s.Used == 0 || s.Inconsistent {
		return
	}
	at := s.AtHead.Kind
	if s.AtHead.Owner != 0 {
		at += fmt.Sprintf(" by producer slot %d", s.AtHead.Owner)
	}
	fmt.Fprintf(w, "logbuf %s: the producers are gone but %d bytes remain in the ring behind a record that was never committed (%s at head %d)\n",
		cmd, s.Used, at, s.Head)
}

// stuckReporter prints the consumer's recoveries on w.
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
