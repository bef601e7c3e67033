package logio

import (
	"sync/atomic"
	"time"
)

// alertGap is the least time between two calls of OnDrop: under overload
// records drop by the million, and one call per burst says as much as one
// per record, without taking a core from the producers.
const alertGap = 5 * time.Millisecond

// alerter calls OnDrop with the drops counted since its last call, on a
// goroutine of its own, so that a Write that drops does no more than two
// atomic operations (and a channel send when the alerter sleeps).
type alerter struct {
	dropped  *atomic.Uint64 // the Writer's count
	fn       func(uint64)
	armed    atomic.Bool   // a wake-up is on its way: later drops need not send one
	wake     chan struct{} // buffered, 1
	quit     chan struct{} // closed by stop
	finished chan struct{} // closed when the goroutine ends
}

func newAlerter(dropped *atomic.Uint64, fn func(uint64)) *alerter {
	a := &alerter{dropped: dropped, fn: fn,
		wake: make(chan struct{}, 1), quit: make(chan struct{}), finished: make(chan struct{})}
	go a.run()
	return a
}

// poke tells the alerter that a record was dropped. It never blocks.
func (a *alerter) poke() {
	if !a.armed.Load() && a.armed.CompareAndSwap(false, true) {
		select {
		case a.wake <- struct{}{}:
		default:
		}
	}
}

func (a *alerter) run() {
	defer close(a.finished)
	var told uint64 // drops reported so far
	report := func() {
		// Disarm before reading the count: a drop after the load pokes
		// again, so none is left unreported.
		a.armed.Store(false)
		if n := a.dropped.Load(); n != told {
			a.fn(n - told)
			told = n
		}
	}
	gap := time.NewTimer(0)
	defer gap.Stop()
	for {
		select {
		case <-a.wake:
		case <-a.quit:
			report()
			return
		}
		report()
		gap.Reset(alertGap)
		select {
		case <-gap.C:
		case <-a.quit:
			report()
			return
		}
	}
}

// stop makes the last report and ends the goroutine.
func (a *alerter) stop() {
	close(a.quit)
	<-a.finished
}
