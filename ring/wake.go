package ring

import "github.com/logbuf/logbuf/abi"

// wakeConsumer wakes a consumer parked on h.ConsumerWait (spec section 7.1).
func wakeConsumer(h *abi.Header) {
	h.ConsumerWait.Store(0)
}
