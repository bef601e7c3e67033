package ring

import (
	"context"
	"fmt"

	"github.com/logbuf/logbuf/abi"
)

// Producer is what both producers do: *SPSCProducer and *MPSCProducer
// satisfy it. Code that serves either mode takes a Producer; a hot loop that
// must not pay for an interface call takes the concrete type.
type Producer interface {
	// TryClaim reserves n bytes without waiting: ErrFull when there is no
	// room now.
	TryClaim(n int) (Claim, error)
	// Claim reserves n bytes, waiting while the ring is full.
	Claim(ctx context.Context, n int) (Claim, error)
	// TrySend copies b into the ring as one record without waiting.
	TrySend(b []byte) error
	// Send copies b into the ring as one record, waiting while the ring is
	// full.
	Send(ctx context.Context, b []byte) error
	// Close ends the producer and gives its producer table entry back.
	Close() error
	// Capacity is the size of the ring's data area in bytes.
	Capacity() int
	// MaxPayload is the largest record the ring accepts.
	MaxPayload() int
	// Stats reads the ring's counters and parties.
	Stats() Stats
	// CountDropped adds n to the producer's count of records its caller
	// gave up on because the ring stayed full.
	CountDropped(n uint64)
}

var (
	_ Producer = (*SPSCProducer)(nil)
	_ Producer = (*MPSCProducer)(nil)
)

// OpenProducer attaches a producer of the kind the region's mode calls for:
// an *SPSCProducer or an *MPSCProducer.
func OpenProducer(r *abi.Region) (Producer, error) {
	switch r.Mode() {
	case abi.SPSC:
		return NewSPSCProducer(r)
	case abi.MPSC:
		return NewMPSCProducer(r)
	}
	return nil, fmt.Errorf("logbuf: unknown ring mode %v", r.Mode())
}
