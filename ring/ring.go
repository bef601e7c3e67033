package ring

import (
	"fmt"
	"math/bits"
	"os"

	"github.com/logbuf/logbuf/abi"
)

// NewSPSC makes a single-producer ring on the Go heap with at least capacity
// bytes of data area (rounded up to a power of two, at least 64), and returns
// its producer and consumer.
func NewSPSC(capacity int) (*Producer, *Consumer, error) {
	r, err := newHeap(capacity, abi.SPSC)
	if err != nil {
		return nil, nil, err
	}
	p, err := NewProducer(r)
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

// geometry is what every party derives from a validated region.
type geometry struct {
	reg        *abi.Region
	hdr        *abi.Header
	data       []byte
	capacity   uint64
	mask       uint64
	maxPayload uint64
	lapShift   uint8
}

func newGeometry(r *abi.Region) geometry {
	c := r.Capacity()
	return geometry{
		reg: r, hdr: r.Header(), data: r.Data(),
		capacity: c, mask: c - 1, maxPayload: r.MaxPayload(),
		lapShift: uint8(bits.TrailingZeros64(c)),
	}
}

// attach takes a free producer table entry (spec section 8) and returns it
// and its owner id, or nil and 0 when the table is full: the producer then
// works anonymously.
func attach(h *abi.Header) (*abi.Slot, uint8) {
	pid := uint32(os.Getpid())
	for i := range h.Producers {
		s := &h.Producers[i]
		if s.State.CompareAndSwap(abi.StateFree, abi.StateAttached) ||
			s.State.CompareAndSwap(abi.StateClosed, abi.StateAttached) {
			s.PID.Store(pid)
			return s, uint8(i + 1)
		}
	}
	return nil, 0
}

func detach(s *abi.Slot) {
	if s != nil {
		s.State.Store(abi.StateClosed)
	}
}
