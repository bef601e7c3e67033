package drain

import (
	"context"
	"errors"
	"io"
	"os"
	"time"

	"github.com/logbuf/logbuf/ring"
)

// Options tunes Run. The zero value drains in batches of up to 1024
// records or 4 MiB, flushes the sink after a second of quiet, and stops at
// the end of the stream.
type Options struct {
	// MaxRecords and MaxBytes bound a batch; 0 means 1024 records and
	// 4 MiB. A record larger than MaxBytes is a batch of its own.
	MaxRecords int
	MaxBytes   int
	// Tick is how often Run calls the sink's Flush and Idle while the ring
	// stays empty; 0 means a second. Flush is also called each time the
	// ring runs dry.
	Tick time.Duration
	// Follow keeps Run draining after the end of the stream (every
	// producer gone, ring drained), for producers that come back later;
	// only ctx or Limit then ends it.
	Follow bool
	// Limit stops Run after this many records handed to the sink; 0 for
	// no limit.
	Limit uint64
	// Idle, if set, is called on Run's goroutine when the ring has run dry
	// and then every Tick while it stays so: the place for progress
	// reports. An error stops Run.
	Idle func(Progress) error
	// UnblockAfter is the consumer's recovery timeout for stuck claims
	// (ring.Consumer.SetRecovery): 0 for ring.DefaultUnblockTimeout,
	// negative to never recover.
	UnblockAfter time.Duration
	// Stuck, if set, receives every recovery report, on Run's goroutine.
	Stuck func(ring.Stuck)
	// Poll, when positive, makes the consumer sleep this long at a time
	// while the ring is empty instead of parking on its futex word
	// (ring.Consumer.SetPoll): producers then never pay a system call to
	// wake it, at the price of a drainer that wakes every Poll and a record
	// that may wait up to Poll. 0 parks.
	Poll time.Duration
}

// Progress is what Run has done so far.
type Progress struct {
	Records uint64 // records handed to the sink and released
	Bytes   uint64 // their payload bytes
	Skipped uint64 // records released without the sink: it held them already
	Batches uint64 // calls of the sink's Write
}

// End says why Run returned without an error.
type End int

const (
	// EndOfStream: every producer left or died, and the ring is drained.
	EndOfStream End = iota + 1
	// EndLimit: Options.Limit records were handed to the sink.
	EndLimit
	// EndCanceled: ctx was done.
	EndCanceled
)

// String names the end as the command-line tool reports it.
func (e End) String() string {
	switch e {
	case EndOfStream:
		return "end of stream"
	case EndLimit:
		return "limit"
	case EndCanceled:
		return "canceled"
	}
	return "running"
}

// Result is what Run did, and why it stopped.
type Result struct {
	Progress
	End End
}

const (
	defaultMaxRecords = 1024
	defaultMaxBytes   = 4 << 20
	defaultTick       = time.Second
	// followPoll is how often a following drain looks for producers after
	// the end of the stream: Recv returns io.EOF at once until one attaches.
	followPoll = 10 * time.Millisecond
)

// Run drains c into sink until the end of the stream (or forever, with
// Follow), Options.Limit, or ctx is done; it returns nil in those cases and
// says which in Result.End. Records leave the ring only after the sink's
// Write returned nil for their batch: when Write or Flush fails, Run returns
// that error with the batch still in the ring, and the caller closes the
// consumer (ring.Consumer.Close), which leaves those records for the next
// consumer. If the sink is a Resumer, records it already holds are released
// without being handed to it again: what makes a restarted drain exactly
// once.
//
// Run uses c from its own goroutine only; c.Close may be called from another
// to stop it (Run then returns ring.ErrClosed).
func Run(ctx context.Context, c *ring.Consumer, sink Sink, opt Options) (Result, error) {
	d := drainer{ctx: ctx, c: c, sink: sink, opt: opt}
	d.batch.RingID = c.Stats().ID
	if d.opt.MaxRecords <= 0 {
		d.opt.MaxRecords = defaultMaxRecords
	}
	if d.opt.MaxBytes <= 0 {
		d.opt.MaxBytes = defaultMaxBytes
	}
	if d.opt.Tick <= 0 {
		d.opt.Tick = defaultTick
	}
	if r, ok := sink.(Resumer); ok {
		pos, held, err := r.Resume(d.batch.RingID)
		if err != nil {
			return Result{}, err
		}
		d.held, d.heldTo = held, pos
	}
	// The report comes inside Recv, which must not block on it: keep it,
	// pass it on when Recv returns.
	c.SetRecovery(opt.UnblockAfter, func(s ring.Stuck) { d.stuck = append(d.stuck, s) })
	c.SetPoll(opt.Poll)
	end, err := d.run(ctx)
	if err != nil && ctx.Err() != nil && errors.Is(err, ctx.Err()) {
		// The sink gave up on a batch because ctx ended: the batch stays
		// in the ring, as Run promises; that is a cancel, not a failure.
		end, err = EndCanceled, nil
	}
	if err == nil {
		err = sink.Flush()
	}
	return Result{Progress: d.p, End: end}, err
}

// drainer is Run's state.
type drainer struct {
	ctx   context.Context
	c     *ring.Consumer
	sink  Sink
	opt   Options
	p     Progress
	batch Batch
	size  int // payload bytes in batch

	held   bool   // the sink holds records of this ring up to heldTo
	heldTo uint64 // position of the newest one

	stuck []ring.Stuck // recovery reports not yet passed on
}

func (d *drainer) run(ctx context.Context) (End, error) {
	for {
		if ctx.Err() != nil {
			return EndCanceled, nil
		}
		if d.done() {
			return EndLimit, nil
		}
		n, err := d.readBatch(nil)
		if err != nil {
			return 0, err
		}
		if n > 0 {
			continue
		}
		end, err := d.wait(ctx)
		if end != 0 || err != nil {
			return end, err
		}
	}
}

// wait is called when the ring has run dry: flush the sink, report, and
// wait in Recv for the next record, for at most a tick. It returns an End
// or an error when the drain is over, neither when it should go on.
func (d *drainer) wait(ctx context.Context) (End, error) {
	if err := d.sink.Flush(); err != nil {
		return 0, err
	}
	if d.opt.Idle != nil {
		if err := d.opt.Idle(d.p); err != nil {
			return 0, err
		}
	}
	// Nothing is read and unreleased here, so Recv's release before it
	// waits gives back nothing the sink has not taken. A deadline, not a
	// context per wait: a drain that runs dry after every record (a logger
	// writing now and then) allocates nothing per wait.
	r, err := d.c.RecvUntil(ctx, time.Now().Add(d.opt.Tick))
	d.report()
	switch {
	case err == nil:
		_, err := d.readBatch(&r)
		return 0, err
	case err == io.EOF && d.opt.Follow:
		select {
		case <-ctx.Done():
		case <-time.After(followPoll):
		}
		return 0, nil
	case err == io.EOF:
		return EndOfStream, nil
	case ctx.Err() != nil:
		return EndCanceled, nil
	case errors.Is(err, os.ErrDeadlineExceeded):
		return 0, nil // a tick: go round, flushing and reporting
	}
	return 0, err
}

func (d *drainer) report() {
	for _, s := range d.stuck {
		if d.opt.Stuck != nil {
			d.opt.Stuck(s)
		}
	}
	d.stuck = d.stuck[:0]
}

func (d *drainer) done() bool { return d.opt.Limit > 0 && d.p.Records >= d.opt.Limit }

// readBatch reads up to a batch of records, after first if it is not nil,
// hands them to the sink and releases them. It returns how many records it
// read. Records the sink holds already are released without it.
func (d *drainer) readBatch(first *ring.Record) (int, error) {
	d.batch.Records = d.batch.Records[:0]
	d.size = 0
	read := 0
	if first != nil {
		d.add(*first)
		read++
	}
	max := d.opt.MaxRecords
	if d.opt.Limit > 0 {
		max = int(min(uint64(max), d.opt.Limit-d.p.Records))
	}
	for len(d.batch.Records) < max && d.size < d.opt.MaxBytes {
		r, err := d.c.TryRead()
		if err == ring.ErrEmpty {
			break
		}
		if err != nil {
			// Deliver what came before the error (a corrupt record, say),
			// then report it.
			if serr := d.deliver(); serr != nil {
				return read, serr
			}
			return read, err
		}
		d.add(r)
		read++
	}
	return read, d.deliver()
}

// add puts a record into the batch, unless the sink holds it already.
func (d *drainer) add(r ring.Record) {
	if d.held && r.Position() <= d.heldTo {
		d.p.Skipped++
		return
	}
	d.held = false // positions only grow: nothing after this one is held
	d.batch.Records = append(d.batch.Records, Record{Data: r.Bytes(), Pos: r.Position(), Seq: r.Seq()})
	d.size += len(r.Bytes())
}

// deliver hands the batch to the sink, then releases everything read,
// skipped records included.
func (d *drainer) deliver() error {
	if n := len(d.batch.Records); n > 0 {
		if err := d.sink.Write(d.ctx, &d.batch); err != nil {
			return err
		}
		d.p.Batches++
		d.p.Records += uint64(n)
		d.p.Bytes += uint64(d.size)
	}
	d.c.Release()
	return nil
}
