package ring

import (
	"context"
	"os"
	"runtime"
	"time"

	"github.com/logbuf/logbuf/abi"
	"github.com/logbuf/logbuf/asm"
)

// The blocking layer: a consumer that waits for records (spec section 7.1)
// and producers that wait for space, both giving up on a context, on the
// other side's closing, or on its death (section 8).
//
// A waiting consumer spins a little, yields a little, and then parks on the
// futex word consumer_wait in the region header. Producers check that word
// with one load after every commit and make a system call only when it is set,
// so the cost of the blocking layer to a send nobody waits for is that load.
// A parked consumer wakes at least every park slice to look at the
// producers' liveness and at a stuck claim (recovery.go).
//
// A producer waiting for space never makes a system call of its own: it
// spins, yields, and then sleeps in growing steps of at most a millisecond,
// so a ring that stays full does not cost a core.

// Defaults of the wait loops.
const (
	defaultSpins  = 64                     // TryRead retries, one asm.Pause apart, before yielding
	defaultYields = 16                     // then retries after runtime.Gosched, before parking
	defaultSlice  = 100 * time.Millisecond // longest single futex wait
	livenessEvery = 50 * time.Millisecond  // how often a waiting party asks the kernel who is alive

	// After a short batch, RecvBatch spins this long before reading again.
	// A time, not a count of asm.Pause: PAUSE takes 28 ns on the Zen3 this
	// was measured on, other times on other cores, and nothing with purego.
	lingerFor = 4 * time.Microsecond

	producerSpins   = 64                     // TryClaim retries, one asm.Pause apart
	producerYield   = time.Millisecond       // then runtime.Gosched for this long
	producerMaxNap  = time.Millisecond       // then sleeps, doubling from 16 µs up to this
	producerLiveGap = 100 * time.Millisecond // how often a waiting producer checks the consumer's pid
)

// waitState is the consumer's blocking and recovery state.
type waitState struct {
	// Tuning; zero means the default. Tests shorten them.
	spins, yields int
	slice         time.Duration

	// Recovery (recovery.go): the timeout, negative when disabled, and the
	// callback; the candidate stuck record under watch.
	timeout time.Duration
	report  func(Stuck)
	watch   stuckWatch

	lastLive time.Time // last liveness check of the producer table

	short bool // RecvBatch's last batch was short of its max

	// Counters for tests and monitoring.
	parks, timeouts uint64
}

// Recv returns the next committed record, waiting for one if none is ready.
// It returns ctx.Err() when ctx is done first, ErrClosed once the ring is
// drained and every producer that attached to it has closed or died (and
// at least one did attach), and an error wrapping ErrCorrupt when the ring
// breaks the protocol.
//
// The record's Bytes stay valid until the next call of Recv, RecvTimeout,
// RecvBatch, ReadBatch or Release: Recv gives back the records read before
// it in batches, and always before it waits.
//
// ErrClosed is not final: a producer that attaches later is read by the
// next Recv. Producers that work without a producer table entry (when all 32
// are taken) are not seen by this rule. While it waits, Recv also recovers
// stuck claims (SetRecovery). Close must not be called while Recv runs: use
// ctx to interrupt it.
func (c *Consumer) Recv(ctx context.Context) (Record, error) {
	if c.next-c.head >= c.capacity/4 {
		c.Release() // in batches: one head store per quarter ring, not per record
	}
	if r, err := c.TryRead(); err != ErrEmpty {
		return r, err
	}
	return c.recvWait(ctx, time.Time{})
}

// RecvTimeout is Recv with a timeout instead of a context. It returns
// os.ErrDeadlineExceeded when no record came within d.
func (c *Consumer) RecvTimeout(d time.Duration) (Record, error) {
	if c.next-c.head >= c.capacity/4 {
		c.Release()
	}
	if r, err := c.TryRead(); err != ErrEmpty {
		return r, err
	}
	return c.recvWait(nil, time.Now().Add(d))
}

func (c *Consumer) recvWait(ctx context.Context, deadline time.Time) (Record, error) {
	for {
		if err := c.await(ctx, deadline); err != nil {
			return Record{}, err
		}
		if r, err := c.TryRead(); err != ErrEmpty {
			return r, err
		}
	}
}

// RecvBatch is ReadBatch that waits, as Recv does, until at least one record
// is ready; it then calls fn with up to max records and releases them. It
// returns how many it delivered, at least 1 when the error is nil (unless
// max < 1).
//
// After a batch that came back short of max, which means the consumer had
// caught up with the producers, the next RecvBatch first lingers for a few
// microseconds (lingerFor) so that records pile up. A consumer that keeps
// catching up reads each record's header while its producer is still
// writing that cache line, and the line then crosses between the two cores
// several times per record; on the development machine that halved the
// throughput or worse (BenchmarkThroughput/spsc against spsc-nolinger).
func (c *Consumer) RecvBatch(ctx context.Context, max int, fn func([]byte)) (int, error) {
	if c.wait.short {
		c.wait.short = false
		linger()
	}
	for {
		n, err := c.ReadBatch(max, fn)
		if n > 0 || err != nil || max < 1 {
			c.wait.short = n < max
			return n, err
		}
		if err := c.await(ctx, time.Time{}); err != nil {
			return 0, err
		}
	}
}

// linger spins for lingerFor.
func linger() {
	for start := time.Now(); time.Since(start) < lingerFor; {
		asm.Pause()
	}
}

// ready reports whether the word at the read cursor holds something to act
// on: a record, a skip, or a broken rule (which TryRead then returns).
func (c *Consumer) ready() bool {
	_, _, err := c.peek()
	return err != ErrEmpty
}

// await returns nil once the word at the read cursor is ready, or the error
// that ends the wait. It first gives back everything read: producers waiting
// for space must not wait for a parked consumer.
func (c *Consumer) await(ctx context.Context, deadline time.Time) error {
	c.Release()
	w := &c.wait
	spins, yields := w.spins, w.yields
	if spins == 0 {
		spins, yields = defaultSpins, defaultYields
	}
	var stop func() bool
	defer func() {
		if stop != nil {
			stop()
		}
	}()
	for i := 0; ; i++ {
		if c.ready() {
			return nil
		}
		if i < spins {
			asm.Pause()
			continue
		}
		if i < spins+yields {
			runtime.Gosched()
			continue
		}
		now := time.Now()
		if ctx != nil {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		if !deadline.IsZero() && !now.Before(deadline) {
			return os.ErrDeadlineExceeded
		}
		if c.drained(now) {
			return ErrClosed
		}
		if c.checkStuck(now) {
			continue // a claim was recovered: read on
		}
		d := w.slice
		if d == 0 {
			d = defaultSlice
		}
		if !deadline.IsZero() {
			d = min(d, deadline.Sub(now))
		}
		if w.watch.on {
			d = min(d, w.watch.next.Sub(now)+time.Millisecond)
		}
		if stop == nil && ctx != nil && ctx.Done() != nil {
			// Allocated only here, on the way to the first park of this
			// call: cancelling ctx wakes the futex as a producer would.
			h := c.hdr
			stop = context.AfterFunc(ctx, func() { wakeConsumer(h) })
		}
		c.hdr.ConsumerHeartbeat.Store(monoNow())
		c.park(ctx, d)
	}
}

// park is the consumer's half of spec section 7.1.
func (c *Consumer) park(ctx context.Context, d time.Duration) {
	h := c.hdr
	// Sequentially consistent store (Go's atomics are), then the re-check:
	// a producer's commit is sequentially consistent too, and so is its
	// load of consumer_wait after it, so either the re-check below sees the
	// record or the producer sees 1 and wakes us. Closing a producer stores
	// its state before the same load, so the end of the ring is re-checked
	// too; and a cancelled ctx is, because context.AfterFunc's wake-up may
	// have run before the store.
	h.ConsumerWait.Store(1)
	if c.ready() || (ctx != nil && ctx.Err() != nil) ||
		(c.producersDone(false) && h.Tail.Load() == c.next) {
		h.ConsumerWait.Store(0)
		return
	}
	c.wait.parks++
	if futexSleep(&h.ConsumerWait, 1, d) {
		c.wait.timeouts++
	}
	// A waker exchanged it to 0 already; after a timeout or a spurious
	// wake-up it is still 1, and producers must not pay for a system call.
	h.ConsumerWait.Store(0)
}

// drained reports whether Recv has reached the end of the ring: every
// producer that attached has closed or is gone, nothing is left to read and
// no reservation is outstanding. The producer table is read before the ring,
// so a record committed before its producer closed is always seen.
func (c *Consumer) drained(now time.Time) bool {
	live := now.Sub(c.wait.lastLive) >= livenessEvery
	if live {
		c.wait.lastLive = now
	}
	return c.producersDone(live) && !c.ready() && c.hdr.Tail.Load() == c.next
}

// producersDone reports whether at least one producer attached to the ring
// and none is attached now. An entry still attached counts as gone only when
// checkLive allows asking the kernel and its process is not alive.
func (c *Consumer) producersDone(checkLive bool) bool {
	seen := false
	for i := range c.hdr.Producers {
		s := &c.hdr.Producers[i]
		switch s.State.Load() {
		case abi.StateFree:
			continue
		case abi.StateClosed:
			seen = true
			continue
		}
		if !checkLive || !slotGone(s) {
			return false
		}
		seen = true
	}
	return seen
}

// slotGone reports whether an attached entry's process is gone. The entry is
// read again after the verdict: a producer attaching to it stores its pid
// just after taking it, and must not be judged by the pid it replaces.
func slotGone(s *abi.Slot) bool {
	pid, start := s.PID.Load(), s.Start.Load()
	if alive(pid, start) {
		return false
	}
	return s.State.Load() == abi.StateAttached && s.PID.Load() == pid && s.Start.Load() == start
}

// Claim reserves n bytes like TryClaim, waiting while the ring is full. It
// returns ErrClosed when this producer or the ring's consumer closed, or the
// consumer's process is gone; ctx.Err() when ctx is done first. ctx is only
// consulted while the ring is full.
//
// End every claim with Commit or Abort; "defer cl.Abort()" right after a
// successful Claim is safe, since Abort after Commit does nothing, and it
// keeps a panic between claim and commit from stopping the consumer.
func (p *Producer) Claim(ctx context.Context, n int) (Claim, error) {
	cl, err := p.TryClaim(n)
	if err == ErrFull {
		return p.claimWait(ctx, n)
	}
	return cl, err
}

// claimWait is Claim's loop for a full ring, apart so that Claim stays a
// call and a compare in the common case.
func (p *Producer) claimWait(ctx context.Context, n int) (Claim, error) {
	return claimWait(ctx, p, &p.core, n)
}

// Write copies b into the ring as one record, waiting for space as Claim
// does.
func (p *Producer) Write(ctx context.Context, b []byte) error {
	cl, err := p.Claim(ctx, len(b))
	if err != nil {
		return err
	}
	copy(cl.Bytes(), b)
	return cl.Commit()
}

// Claim reserves n bytes like TryClaim, waiting while the ring is full, as
// Producer.Claim does.
func (p *MPSCProducer) Claim(ctx context.Context, n int) (Claim, error) {
	cl, err := p.TryClaim(n)
	if err == ErrFull {
		return p.claimWait(ctx, n)
	}
	return cl, err
}

func (p *MPSCProducer) claimWait(ctx context.Context, n int) (Claim, error) {
	return claimWait(ctx, p, &p.core, n)
}

// Write copies b into the ring as one record, waiting for space as Claim
// does. It returns ErrDiscarded when the consumer recovered the claim as
// stuck before the commit (spec section 9).
func (p *MPSCProducer) Write(ctx context.Context, b []byte) error {
	cl, err := p.Claim(ctx, len(b))
	if err != nil {
		return err
	}
	copy(cl.Bytes(), b)
	return cl.Commit()
}

// claimer is either producer. claimWait takes it as a type parameter, not an
// interface value, so that calling it allocates nothing.
type claimer interface {
	TryClaim(n int) (Claim, error)
}

// claimWait retries TryClaim, backing off, until it is not ErrFull.
func claimWait[P claimer](ctx context.Context, p P, c *core, n int) (Claim, error) {
	var b backoff
	for {
		cl, err := p.TryClaim(n)
		if err != ErrFull {
			return cl, err
		}
		if err := b.wait(ctx, c); err != nil {
			return Claim{}, err
		}
	}
}

// backoff paces a producer waiting for space: spin, then yield, then sleep.
type backoff struct {
	n     int
	first time.Time // when yielding began
	nap   time.Duration
	live  time.Time // last check of the consumer's pid
}

// wait is called after each ErrFull; nil means "try again".
func (b *backoff) wait(ctx context.Context, c *core) error {
	b.n++
	if b.n <= producerSpins {
		asm.Pause()
		return nil
	}
	if c.hdr.ConsumerState.Load() == abi.StateClosed {
		return ErrClosed
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	now := time.Now()
	if b.first.IsZero() {
		b.first, b.live = now, now
	}
	if now.Sub(b.first) < producerYield {
		runtime.Gosched()
		return nil
	}
	// The ring has been full for a millisecond: the consumer is slow, or
	// gone. Heartbeat (spec section 8), look at the consumer's pid now and
	// then, and sleep.
	if c.slot != nil {
		c.slot.Heartbeat.Store(monoNow())
	}
	if now.Sub(b.live) >= producerLiveGap {
		b.live = now
		if consumerGone(c.hdr) {
			return ErrClosed
		}
	}
	b.nap = min(max(2*b.nap, 16*time.Microsecond), producerMaxNap)
	time.Sleep(b.nap)
	return nil
}

// consumerGone reports whether the ring's consumer closed or its process
// is gone (spec section 8). A ring nobody consumes yet is not closed.
func consumerGone(h *abi.Header) bool {
	switch h.ConsumerState.Load() {
	case abi.StateClosed:
		return true
	case abi.StateAttached:
		pid, start := h.ConsumerPID.Load(), h.ConsumerStart.Load()
		return !alive(pid, start) && h.ConsumerState.Load() == abi.StateAttached &&
			h.ConsumerPID.Load() == pid && h.ConsumerStart.Load() == start
	}
	return false
}
