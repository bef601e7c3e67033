package ring

import (
	"fmt"

	"github.com/logbuf/logbuf/abi"
)

// NewSPSC makes a single-producer ring on the Go heap with at least capacity
// bytes of data area (rounded up to a power of two, at least 64), and returns
// its producer and consumer.
func NewSPSC(capacity int) (*SPSCProducer, *Consumer, error) {
	r, err := newHeap(capacity, abi.SPSC)
	if err != nil {
		return nil, nil, err
	}
	p, err := NewSPSCProducer(r)
	if err != nil {
		return nil, nil, err
	}
	c, err := NewConsumer(r)
	return p, c, err
}

// NewMPSC makes a multi-producer ring on the Go heap, like NewSPSC. The
// returned *MPSCProducer may be shared by any number of goroutines.
func NewMPSC(capacity int) (*MPSCProducer, *Consumer, error) {
	r, err := newHeap(capacity, abi.MPSC)
	if err != nil {
		return nil, nil, err
	}
	p, err := NewMPSCProducer(r)
	if err != nil {
		return nil, nil, err
	}
	c, err := NewConsumer(r)
	return p, c, err
}

func newHeap(capacity int, mode abi.Mode) (*abi.Region, error) {
	if capacity < 0 {
		return nil, fmt.Errorf("logbuf: negative capacity %d", capacity)
	}
	c, err := abi.RoundCapacity(uint64(capacity))
	if err != nil {
		return nil, err
	}
	return abi.NewHeap(c, mode)
}
