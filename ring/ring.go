package ring

import (
	"fmt"
	"math/bits"

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

// attach takes a producer table entry (spec section 8): a free or closed
// one, or one whose owner's process is gone, in that order. It returns the
// entry and its owner id, or nil and 0 when every entry is held by a live
// process: the producer then works anonymously. With single set (SPSC), it
// fails with ErrBusy when another live producer is attached.
func attach(h *abi.Header, single bool) (*abi.Slot, uint8, error) {
	pid, start := selfID()
	take := func(i int) (*abi.Slot, uint8, error) {
		s := &h.Producers[i]
		s.PID.Store(pid)
		s.Start.Store(start)
		s.Heartbeat.Store(monoNow())
		s.State.Store(abi.StateAttached)
		if single && otherLive(h, s) {
			detach(s)
			return nil, 0, ErrBusy
		}
		return s, uint8(i + 1), nil
	}
	for i := range h.Producers {
		s := &h.Producers[i]
		if s.State.CompareAndSwap(abi.StateFree, abi.StateAttaching) ||
			s.State.CompareAndSwap(abi.StateClosed, abi.StateAttaching) {
			return take(i)
		}
	}
	for i := range h.Producers {
		s := &h.Producers[i]
		deadPID, deadStart := s.PID.Load(), s.Start.Load()
		if s.State.Load() != abi.StateAttached || alive(deadPID, deadStart) ||
			!s.State.CompareAndSwap(abi.StateAttached, abi.StateAttaching) {
			continue
		}
		// The CAS may have won against a producer that took the entry over
		// between our look and our CAS; then its pid is no longer the dead
		// one, and the entry goes back to it: by a CAS, since that owner may
		// have closed it meanwhile, and its close must stand.
		if s.PID.Load() != deadPID || s.Start.Load() != deadStart {
			s.State.CompareAndSwap(abi.StateAttaching, abi.StateAttached)
			continue
		}
		return take(i)
	}
	if single && otherLive(h, nil) {
		return nil, 0, ErrBusy
	}
	return nil, 0, nil
}

// otherLive reports whether an entry other than mine is attaching, or
// attached by a live process.
func otherLive(h *abi.Header, mine *abi.Slot) bool {
	for i := range h.Producers {
		s := &h.Producers[i]
		if s == mine {
			continue
		}
		switch s.State.Load() {
		case abi.StateAttaching:
			return true
		case abi.StateAttached:
			if !slotGone(s) {
				return true
			}
		}
	}
	return false
}

func detach(s *abi.Slot) {
	if s != nil {
		s.State.Store(abi.StateClosed)
	}
}
