package logio

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/logbuf/logbuf/abi"
	"github.com/logbuf/logbuf/ring"
)

// Options says what a Writer does when the ring is full. The zero value
// drops the record at once and counts it, as zerolog's diode.Writer does.
type Options struct {
	// Wait is how long a Write waits for space when the ring is full before
	// it drops the record: 0 drops at once (unless Context is set), a
	// negative Wait waits until Context is done, or for ever when Context
	// is nil (a writer that never drops, and blocks its callers instead).
	Wait time.Duration
	// Context, when not nil, makes a Write wait for space while the ring is
	// full until Context is done (and for at most Wait when Wait > 0): a
	// service's lifetime, say, so that it logs without loss until it is
	// told to stop.
	Context context.Context
	// OnDrop, when not nil, is told how many records were dropped since its
	// last call, soon after they were (at most every few milliseconds), on
	// a goroutine of the Writer's own: never in the Write that dropped. The
	// count is exact; the last call comes from Close. It must not call the
	// Writer's Close.
	OnDrop func(dropped uint64)
}

// waits reports whether a Write waits for space when the ring is full.
func (o *Options) waits() bool { return o.Wait != 0 || o.Context != nil }

// Counts are what a Writer did with the Writes it was given: each Write of
// a non-empty slice is counted once, in one of the three.
type Counts struct {
	// Written is records committed to the ring.
	Written uint64
	// Dropped is records given up on: the ring stayed full (for as long as
	// the Options allow), the consumer closed the ring for good, it took the
	// record back as stuck (ring.ErrDiscarded), or the Writer was closed.
	// All but the last are added to the ring's dropped counter too.
	Dropped uint64
	// Refused is records larger than the ring's maximum payload, refused
	// with an error wrapping ring.ErrTooLarge and never split. The ring
	// counts them itself.
	Refused uint64
}

// counter is an atomic counter on a cache line of its own: goroutines
// writing at once must not bounce the written counter's line against the
// dropped one's, nor against the Writer's read-only fields.
type counter struct {
	atomic.Uint64
	_ [abi.LineSize - 8]byte
}

// Writer is an io.Writer that puts each Write into a ring as one record.
// A Writer over an MPSC producer is safe for concurrent use; over an SPSC
// producer it belongs to one goroutine at a time, as the producer does.
type Writer struct {
	_    [abi.LineSize]byte // apart from whatever object lies before the Writer in memory
	p    ring.Producer
	mpsc *ring.MPSCProducer // p when it is one: called without an interface on the hot path
	max  int                // p.MaxPayload()
	opt  Options
	shut atomic.Bool
	_    [abi.LineSize]byte

	written, dropped, refused counter
	alert                     *alerter // nil without OnDrop
}

// NewWriter makes a Writer over p, which it owns from now on: Close closes
// it.
func NewWriter(p ring.Producer, opt Options) *Writer {
	w := &Writer{p: p, max: p.MaxPayload(), opt: opt}
	w.mpsc, _ = p.(*ring.MPSCProducer)
	if opt.OnDrop != nil {
		w.alert = newAlerter(&w.dropped.Uint64, opt.OnDrop)
	}
	return w
}

// Write puts p into the ring as one record, copied once, and returns
// len(p), nil. It makes no allocation, unless it has to wait for space
// with a Wait limit: the timer then costs a few.
//
// When the ring is full, Write drops the record at once or after waiting,
// as the Options say; it counts the drop and still returns len(p), nil, as
// diode.Writer does: a logger has nothing better to do with the error than
// print it, once per event, which is no help when events pour in faster
// than they leave. Errors are returned for what the caller can act on: p
// larger than the ring's maximum payload (wrapping ring.ErrTooLarge), a
// Writer closed (ring.ErrClosed), a ring closed by its consumer
// (ring.ErrRingClosed), a record discarded as stuck (ring.ErrDiscarded), a
// corrupt ring (ring.ErrCorrupt). An empty p writes nothing.
func (w *Writer) Write(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	var c ring.Claim
	var err error
	if w.mpsc != nil {
		c, err = w.mpsc.TryClaim(len(p))
	} else {
		c, err = w.p.TryClaim(len(p))
	}
	if err != nil {
		return w.notClaimed(p, err)
	}
	copy(c.Bytes(), p)
	return w.commit(c, len(p))
}

// commit ends a filled claim and counts it.
func (w *Writer) commit(c ring.Claim, n int) (int, error) {
	if err := c.Commit(); err != nil {
		// ErrDiscarded: the consumer took the claim back as stuck. Nothing
		// else can fail the commit of a claim this Write made.
		w.drop(true)
		return 0, fmt.Errorf("logio: record lost: %w", err)
	}
	w.written.Add(1)
	return n, nil
}

// notClaimed is what Write does when TryClaim failed: wait for space as the
// Options allow, then drop, or refuse.
func (w *Writer) notClaimed(p []byte, err error) (int, error) {
	if err == ring.ErrFull && w.opt.waits() {
		var c ring.Claim
		if c, err = w.claimWait(len(p)); err == nil {
			copy(c.Bytes(), p)
			return w.commit(c, len(p))
		}
	}
	switch {
	case err == ring.ErrFull, isContextError(err):
		// The ring stayed full for as long as the Options allow.
		w.drop(true)
		return len(p), nil
	case err == ring.ErrTooLarge:
		w.refused.Add(1)
		return 0, fmt.Errorf("logio: a %d-byte record does not fit a ring whose maximum payload is %d bytes: %w",
			len(p), w.max, ring.ErrTooLarge)
	case err == ring.ErrClosed:
		w.drop(false)
		return 0, fmt.Errorf("logio: write after Close: %w", err)
	}
	w.drop(true)
	return 0, fmt.Errorf("logio: record dropped: %w", err) // ErrRingClosed, or corruption
}

// isContextError reports a wait that ended because its context did
// (ring.ErrNoConsumer wraps the context's error too).
func isContextError(err error) bool {
	return errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)
}

// claimWait waits for space as the Options allow.
func (w *Writer) claimWait(n int) (ring.Claim, error) {
	ctx := w.opt.Context
	if ctx == nil {
		ctx = context.Background()
	}
	if w.opt.Wait > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, w.opt.Wait)
		defer cancel()
	}
	return w.p.Claim(ctx, n)
}

// drop counts a dropped record, in the ring's header too when inRing (not
// after Close: the producer's entry is no longer its own), and wakes the
// alerter.
func (w *Writer) drop(inRing bool) {
	w.dropped.Add(1)
	if inRing {
		w.p.CountDropped(1)
	}
	if w.alert != nil {
		w.alert.poke()
	}
}

// Counts returns what the Writer did so far. Each count is exact; read
// while Writes run, the three are not mutually consistent.
func (w *Writer) Counts() Counts {
	return Counts{Written: w.written.Load(), Dropped: w.dropped.Load(), Refused: w.refused.Load()}
}

// MaxPayload is the largest Write the ring accepts.
func (w *Writer) MaxPayload() int { return w.max }

// Stats reads the ring's counters and parties: what every producer of the
// ring did, and what its consumer read.
func (w *Writer) Stats() ring.Stats { return w.p.Stats() }

// Close closes the producer; Writes after it fail with ring.ErrClosed. On an MPSC ring, Writes running
// in other goroutines when Close is called may still commit. OnDrop gets its
// last call before Close returns. Close is idempotent and safe for
// concurrent use.
func (w *Writer) Close() error {
	if w.shut.Swap(true) {
		return nil
	}
	err := w.p.Close()
	if w.alert != nil {
		w.alert.stop()
	}
	return err
}
