package ring

import (
	"context"
	"io"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/logbuf/logbuf/abi"
	"github.com/logbuf/logbuf/asm"
)

// Consumer reads the records of a ring in order. A ring has one consumer at
// a time, in any process (spec section 8).
//
// Reading and releasing are separate steps: TryRead hands out records one by
// one and Release gives back everything read so far, zeroing it and storing
// head once; one head store for many records is where throughput comes from.
// ReadBatch does both for up to n records, and RecvBatch waits for them.
//
// The Consumer, its Records and ReadBatch belong to one goroutine at a time,
// with one exception: Close and CloseRing may be called from any goroutine,
// and interrupt a Recv, RecvTimeout or RecvBatch blocked in another.
type Consumer struct {
	reader
	party *abi.Party // the header's consumer record
	lease abi.Lease  // this process's lease in it
	rec   recovery

	// Tuning of the wait loop; zero means the default. Tests shorten them.
	spins, yields int
	slice         time.Duration

	waitCtx  context.Context // the context of the wait in progress, for parkable
	waker    *ctxWaker       // what a cancelled context runs while the consumer parks
	poll     time.Duration   // SetPoll: sleep this long instead of parking
	lastLive time.Time       // last liveness check of the producer table
	lastBeat time.Time       // last heartbeat stored
	linger   bool            // RecvBatch's last batch was short while the producer wrote

	// Counters for tests and monitoring.
	parks, timeouts uint64

	mu      sync.Mutex  // held by the Recv family while it runs; Close waits for it
	closing atomic.Bool // Close was called
	closed  bool        // Close is done: the consumer record is left

	// To 448 bytes, a size class of Go's allocator that is a multiple of
	// 64, so that no other object shares the consumer's cache lines
	// (TestCacheLineAligned fails when a field moves it off).
	_ [48]byte
}

// Defaults of the consumer's wait loop.
const (
	defaultSpins  = 64                     // TryRead retries, one asm.Pause apart, before yielding
	defaultYields = 16                     // then retries after runtime.Gosched, before parking
	defaultSlice  = 100 * time.Millisecond // longest single futex wait
	livenessEvery = 50 * time.Millisecond  // how often a waiting consumer asks the kernel who is alive

	// After a short batch taken while the producers were writing, RecvBatch
	// waits at most this long, while they go on writing, before reading
	// again. A time, not a count of asm.Pause: PAUSE takes 28 ns on the Zen3
	// this was measured on, other times on other cores, and nothing with
	// purego.
	lingerFor = 4 * time.Microsecond
)

// NewConsumer attaches the consumer of a region (spec section 8). It
// resumes at the region's head: records already released are not seen
// again, and records a previous consumer read but did not release are read
// again. It fails with an error wrapping ErrConsumerBusy, naming the
// holder's pid, when a live consumer holds the ring, in this process or
// another; a consumer whose process is gone is taken over.
func NewConsumer(r *abi.Region) (*Consumer, error) {
	c := &Consumer{reader: reader{geometry: newGeometry(r)}}
	c.party = &c.hdr.Consumer
	mine, holder, ok, err := takeParty(c.party, abi.OffConsumer, false)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, &BusyError{Err: ErrConsumerBusy, Lease: holder}
	}
	c.lease = mine
	if err := c.resume(); err != nil {
		leave(c.party, mine, abi.StateDetached)
		return nil, err
	}
	c.party.Since.Store(c.head)
	return c, nil
}

// Capacity is the size of the ring's data area in bytes.
func (c *Consumer) Capacity() int { return int(c.capacity) }

// Stats reads the ring's counters and parties from its header.
func (c *Consumer) Stats() Stats { return ReadStats(c.reg) }

// Err is the error that stopped the consumer (corruption, or ErrClosed), or
// nil.
func (c *Consumer) Err() error {
	if c.closing.Load() {
		return ErrClosed
	}
	return c.err
}

// TryRead returns the next committed record, passing over skips. It returns
// ErrEmpty when no committed record is ready, and an error wrapping
// ErrCorrupt (the same one from then on) when the ring breaks the protocol.
// The record stays valid, and its space held, until Release.
func (c *Consumer) TryRead() (Record, error) {
	// The flag goes down as an argument: this way TryRead stays within the
	// compiler's inlining budget, and the five-word Record is not copied
	// through the stack on its way back (a store-forwarding stall there cost
	// a fifth of a record's time in BenchmarkConsume).
	return c.tryRead(c.closing.Load())
}

// ReadBatch calls fn with each committed record ready, up to max of them,
// then gives their space back with one store of head. It returns how many it
// delivered: 0 with a nil error when none was ready. fn must not keep the
// slice after it returns. Each record is zeroed as soon as fn returns (see
// spec section 7.2 for why that is fast).
func (c *Consumer) ReadBatch(max int, fn func([]byte)) (int, error) {
	if c.closing.Load() {
		return 0, ErrClosed
	}
	return c.readBatch(max, fn)
}

// Release zeroes every record read since the last Release (skips included)
// and gives the space back to the producers with one store of head (spec
// section 7.2). Records read before it must not be used after it.
func (c *Consumer) Release() {
	if !c.closing.Load() {
		c.release()
	}
}

// SetRecovery sets how the consumer deals with a record that its producer
// claimed but neither committed nor aborted (spec section 9). When the
// consumer, waiting in Recv, RecvTimeout or RecvBatch, has seen the same
// uncommitted word at head for longer than timeout, it recovers the region
// if the ring is MPSC or the producer that made the claim is gone: a
// compare-and-swap from the word it saw to an UNBLOCKED skip, so that a
// producer that was only slow gets ErrDiscarded from its Commit instead of
// corrupting the stream. It then adds 1 to the header's unblocks counter and
// goes on.
//
// report, if not nil, is called on the consumer's goroutine for every
// recovery, and once for a stuck record it may not recover (Stuck.Recovered
// false). It must not block.
//
// timeout 0 means DefaultUnblockTimeout; a negative timeout turns recovery
// off (nothing is reported either). Without SetRecovery, a consumer
// recovers with the default timeout and reports nothing.
func (c *Consumer) SetRecovery(timeout time.Duration, report func(Stuck)) {
	c.rec.timeout = timeout
	c.rec.report = report
}

// Recv returns the next committed record, waiting for one if none is ready.
// It returns ctx.Err() when ctx is done first; io.EOF at the end of the
// stream: the ring is drained and every producer that attached to it has
// detached or died (and at least one did attach); ErrClosed when Close is
// called, from any goroutine; and an error wrapping ErrCorrupt when the
// ring breaks the protocol.
//
// The record's Bytes stay valid until the next call of Recv, RecvTimeout,
// RecvBatch, ReadBatch or Release: Recv gives back the records read before
// it in batches, and always before it waits.
//
// io.EOF is not final: a producer that attaches later is read by the next
// Recv. Producers that work without a producer table entry (when all 32
// are taken) are not seen by this rule. While it waits, Recv also recovers
// stuck claims (SetRecovery).
func (c *Consumer) Recv(ctx context.Context) (Record, error) {
	return c.recv(ctx, time.Time{})
}

// RecvTimeout is Recv with a timeout instead of a context. It returns
// os.ErrDeadlineExceeded when no record came within d.
func (c *Consumer) RecvTimeout(d time.Duration) (Record, error) {
	return c.recv(nil, time.Now().Add(d))
}

// RecvUntil is Recv that also gives up at deadline, with
// os.ErrDeadlineExceeded: a wait that must wake now and then (to flush, to
// report progress) without a context per wait. A zero deadline is none.
func (c *Consumer) RecvUntil(ctx context.Context, deadline time.Time) (Record, error) {
	return c.recv(ctx, deadline)
}

// SetPoll makes a waiting consumer sleep d at a time instead of parking on
// the ring's futex word (d <= 0 parks, the default). Producers then never
// make the system call that wakes a parked consumer, which a producer pays
// inside its own caller's locks (a logger's, say); the price is a consumer
// that wakes every d while the ring stays empty, and a record that may wait
// up to d. It must be set before the consumer waits.
func (c *Consumer) SetPoll(d time.Duration) { c.poll = d }

func (c *Consumer) recv(ctx context.Context, deadline time.Time) (Record, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.next-c.head >= c.capacity/4 {
		c.release() // in batches: one head store per quarter ring, not per record
	}
	for {
		r, err := c.TryRead()
		if err != ErrEmpty {
			return r, err
		}
		if err := c.await(ctx, deadline); err != nil {
			return Record{}, err
		}
	}
}

// RecvBatch is ReadBatch that waits, as Recv does, until at least one record
// is ready; it then calls fn with up to max records and releases them. It
// returns how many it delivered, at least 1 when the error is nil (unless
// max < 1). Its errors are Recv's.
//
// After a batch that came back short of max while the producers were still
// writing (the tail moved while it read), the next RecvBatch first lingers
// while they go on writing, at most a few microseconds (lingerFor), so that
// records pile up. A consumer that keeps catching up with a busy producer
// reads each record's header while that producer is still writing the cache
// line, and the line then crosses between the two cores several times per
// record; on the development machine that halved the throughput or worse
// (BenchmarkThroughput/spsc against spsc-nolinger). The linger ends as soon
// as the tail stands still between two polls, so a record that no other
// follows is not held back (BenchmarkDeliver).
func (c *Consumer) RecvBatch(ctx context.Context, max int, fn func([]byte)) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.linger {
		c.linger = false
		c.lingerWhileWriting()
	}
	for {
		if c.closing.Load() {
			return 0, ErrClosed
		}
		tail := c.hdr.Tail.Load()
		n, err := c.readBatch(max, fn)
		if n > 0 || err != nil || max < 1 {
			c.linger = n < max && c.hdr.Tail.Load() != tail
			return n, err
		}
		if err := c.await(ctx, time.Time{}); err != nil {
			return 0, err
		}
	}
}

// lingerWhileWriting waits while a producer is writing, so that records pile
// up: it polls tail every few asm.Pause and returns as soon as tail stood
// still between two polls (nobody is writing: waiting longer would only
// delay what is there), a quarter of the ring is ready ahead of the read
// cursor, or lingerFor has passed. It returns how many times it polled, for
// tests.
func (c *Consumer) lingerWhileWriting() (polls int) { return lingerOn(c.hdr, c.next, c.capacity) }

// lingerOn is lingerWhileWriting for a consumer whose read cursor is next;
// the bare ring of the benchmarks shares it.
func lingerOn(h *abi.Header, next, capacity uint64) (polls int) {
	start := time.Now()
	last := h.Tail.Load()
	for {
		for range lingerPauses {
			asm.Pause()
		}
		polls++
		t := h.Tail.Load()
		if t == last || t-next >= capacity/4 || time.Since(start) >= lingerFor {
			return polls
		}
		last = t
	}
}

// lingerPauses is how many asm.Pause the linger spins between two polls
// of tail: with 1 or 16 the throughput was the same within the noise
// (BENCHMARKS.md).
const lingerPauses = 4

// ready reports whether the word at the read cursor holds something to act
// on: a record, a skip, or a broken rule (which TryRead then returns).
func (c *Consumer) ready() bool {
	_, _, err := c.peek()
	return err != ErrEmpty
}

// parkable is the last check before the consumer parks (wakeup.go): park
// only if nothing is ready, nobody closes the consumer, and the producers
// have not all gone with the ring drained.
func (c *Consumer) parkable() bool {
	return !c.ready() && !c.closing.Load() &&
		(c.waitCtx == nil || c.waitCtx.Err() == nil) &&
		!(producersDone(c.hdr, false) && c.hdr.Tail.Load() == c.next)
}

// await returns nil once the word at the read cursor is ready, or the error
// that ends the wait. It first gives back everything read: producers waiting
// for space must not wait for a parked consumer.
func (c *Consumer) await(ctx context.Context, deadline time.Time) error {
	c.release()
	spins, yields := c.spins, c.yields
	if spins == 0 {
		spins, yields = defaultSpins, defaultYields
	}
	c.waitCtx = ctx
	var stop func() bool
	defer func() {
		if stop != nil {
			stop()
			c.waker.arm(false)
		}
	}()
	for i := 0; ; i++ {
		if c.closing.Load() {
			return ErrClosed
		}
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
			return io.EOF
		}
		if c.rec.check(&c.reader, now) {
			continue // a claim was recovered: read on
		}
		if c.err != nil {
			return nil // the watch found corruption: TryRead reports it
		}
		if now.Sub(c.lastBeat) >= livenessEvery {
			c.lastBeat = now
			c.party.Heartbeat.Store(monoNow())
		}
		if stop == nil && c.poll <= 0 && ctx != nil && ctx.Done() != nil {
			// Only on the way to the first park of this call (a polling
			// consumer looks at ctx after each nap): cancelling ctx wakes
			// the futex as a producer would, and parkable's look at ctx
			// covers a cancel just before the park.
			if c.waker == nil {
				c.waker = newCtxWaker(c.hdr)
			}
			c.waker.arm(true)
			stop = context.AfterFunc(ctx, c.waker.fn)
		}
		c.parkFor(ctx, deadline, now)
	}
}

// ctxWaker is what a cancelled context runs, on a goroutine of its own,
// while the consumer parks: a wake-up of the futex. It acts only while
// armed, and await disarms it, under mu, before it returns: a wake-up that
// starts late, after await returned and the ring was perhaps unmapped,
// touches nothing.
type ctxWaker struct {
	mu    sync.Mutex
	armed bool
	h     *abi.Header
	fn    func() // wake, as a func value made once
}

func newCtxWaker(h *abi.Header) *ctxWaker {
	w := &ctxWaker{h: h}
	w.fn = w.wake
	return w
}

func (w *ctxWaker) wake() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.armed {
		wake(w.h)
	}
}

func (w *ctxWaker) arm(on bool) {
	w.mu.Lock()
	w.armed = on
	w.mu.Unlock()
}

// parkFor parks on the ring's futex word until a producer wakes the
// consumer, Close does, or a slice of time passes: the slice is short
// enough to look at ctx, the deadline, the producers' liveness and a stuck
// claim regularly.
func (c *Consumer) parkFor(ctx context.Context, deadline, now time.Time) {
	d := c.slice
	if d <= 0 {
		d = defaultSlice
	}
	if !deadline.IsZero() {
		d = min(d, deadline.Sub(now))
	}
	if ctx != nil {
		if dl, ok := ctx.Deadline(); ok {
			d = min(d, dl.Sub(now))
		}
	}
	if c.rec.watch.on {
		d = min(d, c.rec.watch.due.Sub(now)+time.Millisecond)
	}
	if c.poll > 0 {
		// Polling: no consumer_wait, so no producer makes a system call.
		time.Sleep(min(d, c.poll))
		return
	}
	if slept, timedOut := park(c.hdr, c, d); slept {
		c.parks++
		if timedOut {
			c.timeouts++
		}
	}
}

// drained reports whether Recv has reached the end of the stream (spec
// section 8): every producer that attached has left or is gone, nothing is
// left to read and no reservation is outstanding. The producer table is
// read before the ring, so a record committed before its producer detached
// is always seen.
func (c *Consumer) drained(now time.Time) bool {
	live := now.Sub(c.lastLive) >= livenessEvery
	if live {
		c.lastLive = now
	}
	return producersDone(c.hdr, live) && !c.ready() && c.hdr.Tail.Load() == c.next
}

// Close detaches the consumer from the ring. Records it read and did not
// release stay in the ring: the next consumer to attach reads them (spec
// section 8). Producers keep producing; when the ring is full they wait for
// a consumer or give up by their own policy.
//
// Close may be called from any goroutine: a Recv, RecvTimeout or RecvBatch
// blocked in another returns ErrClosed, and Close returns once it has. It
// must not run concurrently with TryRead, ReadBatch or Release. Methods
// called after Close return ErrClosed. Close is idempotent.
func (c *Consumer) Close() error { return c.close(abi.StateDetached) }

// CloseRing closes the ring for good, as Close does, and tells producers
// that no consumer will come back: those waiting for space, and those that
// find it full from now on, stop with ErrRingClosed (spec section 8). A
// consumer that attaches later reopens the ring.
func (c *Consumer) CloseRing() error { return c.close(abi.StateClosed) }

func (c *Consumer) close(st abi.State) error {
	first := !c.closing.Swap(true)
	if first {
		wakeParked(c.hdr)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.closed {
		c.closed = true
		leave(c.party, c.lease, st)
	} else if st == abi.StateClosed {
		// Close, then CloseRing: the record is DETACHED by this process.
		c.party.Lease.CompareAndSwap(uint64(c.lease.With(abi.StateDetached)), uint64(c.lease.With(st)))
	}
	return nil
}
