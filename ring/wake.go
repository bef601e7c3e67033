package ring

import "github.com/logbuf/logbuf/abi"

// wakeConsumer is the producer's half of spec section 7.1, called only when
// its sequentially consistent load of consumer_wait saw a parked consumer
// (core.wake). The exchange to 0 lets exactly one of several producers that
// saw the flag make the system call; the futex is the shared kind, so a
// consumer parked in another process wakes as well.
func wakeConsumer(h *abi.Header) {
	if h.ConsumerWait.Swap(0) != 0 {
		futexWakeOne(&h.ConsumerWait)
	}
}
