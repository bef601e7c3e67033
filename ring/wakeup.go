package ring

import (
	"sync/atomic"
	"time"

	"github.com/logbuf/logbuf/abi"
)

// Spec section 7.3: how a consumer parks on the futex word consumer_wait and
// how producers wake it, at the cost of one load per commit when nobody is
// parked.
//
// A commit is followed by a load of consumer_wait, and a parking consumer
// stores 1 to it before it checks the ring a last time. That store-then-load
// pattern on both sides loses a wake-up if either side's load can pass its
// store. Either both sides pay a full fence (a sequentially consistent
// commit: XCHG on amd64), or the consumer pays for both with membarrier
// before it parks, and producers commit with a release store, a plain MOV.
// The second is the default wherever the kernel has membarrier; the first
// is the fallback.

// releaseCommits is whether this process's producers commit with release
// stores (registered for the consumer's barrier) or sequentially consistent
// ones. Set once at init; tests force the fallback with forceSeqCstCommits.
var releaseCommits = registerBarrier()

// forceSeqCstCommits makes this process's producers commit as if membarrier
// were refused, and returns the function that undoes it. For tests.
func forceSeqCstCommits() (restore func()) {
	was := releaseCommits
	releaseCommits = false
	return func() { releaseCommits = was }
}

// storeEnd stores the word that ends a claim (a commit or an abort, spec
// 5.3 and 5.4) with the order the wake-up check after it needs.
func storeEnd(w *atomic.Uint64, v uint64) {
	if releaseCommits {
		storeRelease(w, v)
	} else {
		w.Store(v)
	}
}

// wake is the producer's half of section 7.3: one load in the common case,
// and a system call only when the consumer is parked. The exchange to 0
// lets exactly one of several producers that saw the flag make the call; the
// futex is the shared kind, so a consumer parked in another process wakes.
func wake(h *abi.Header) {
	if h.ConsumerWait.Load() != 0 {
		wakeSlow(h)
	}
}

// wakeSlow is wake once the consumer is seen parked: kept out of wake so
// that wake's one load is inlined into every commit.
func wakeSlow(h *abi.Header) {
	if h.ConsumerWait.Swap(0) != 0 {
		futexWakeOne(&h.ConsumerWait)
	}
}

// readiness is what a parking consumer checks a last time: whether to give
// up parking (a record is ready, the wait is over for another reason).
type readiness interface{ parkable() bool }

// maxBlindPark bounds a futex wait when the barrier failed: a producer that
// commits with a release store may then lose its wake-up, and this is what
// that costs at most (spec 7.3, step 4).
const maxBlindPark = time.Millisecond

// park is the consumer's half of section 7.3: announce the wait, make the
// producers' stores visible, check once more, and sleep on the futex for at
// most d. It reports whether it slept and whether the sleep ran out its
// time.
func park(h *abi.Header, r readiness, d time.Duration) (slept, timedOut bool) {
	// Sequentially consistent: the store must be visible before the check
	// below reads the ring (spec 7.3, step 1).
	h.ConsumerWait.Store(1)
	if !barrier() {
		d = min(d, maxBlindPark)
	}
	if !r.parkable() {
		h.ConsumerWait.Store(0)
		return false, false
	}
	timedOut = futexSleep(&h.ConsumerWait, 1, d)
	// A waker exchanged it to 0 already; after a timeout or a spurious
	// wake-up it is still 1, and producers must not pay for a system call
	// (step 5: the consumer resets it).
	h.ConsumerWait.Store(0)
	return true, timedOut
}

// wakeParked wakes a consumer parked on this ring, whatever it waits for:
// Close uses it to interrupt a Recv blocked in another goroutine.
func wakeParked(h *abi.Header) {
	h.ConsumerWait.Store(0)
	futexWakeOne(&h.ConsumerWait)
}
