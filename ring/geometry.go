package ring

import (
	"math/bits"

	"github.com/logbuf/logbuf/abi"
)

// geometry is what every party derives from a validated region: the values
// abi.Open checked, copied out so that a party that rewrites the header
// later cannot move the bounds this package slices by.
type geometry struct {
	reg        *abi.Region
	hdr        *abi.Header
	data       []byte
	capacity   uint64
	mask       uint64
	maxPayload uint64
	lapShift   uint8
	mpsc       bool
}

func newGeometry(r *abi.Region) geometry {
	c := r.Capacity()
	return geometry{
		reg: r, hdr: r.Header(), data: r.Data(),
		capacity: c, mask: c - 1, maxPayload: r.MaxPayload(),
		lapShift: uint8(bits.TrailingZeros64(c)),
		mpsc:     r.Mode() == abi.MPSC,
	}
}

// lap is the lap field a CLAIMED stamp at position pos carries (spec
// section 4).
func (g *geometry) lap(pos uint64) uint16 { return uint16(pos >> g.lapShift) }

// recordSize checks a claim's length and returns its record size.
func (g *geometry) recordSize(n int) (uint64, error) {
	switch {
	case n == 0:
		return 0, ErrZeroLength
	case n < 0 || uint64(n) > g.maxPayload:
		return 0, ErrTooLarge
	}
	return abi.RecordSize(uint64(n)), nil
}

// zeroSpan zeroes the n bytes at position pos, which may wrap past the end
// of the data area.
func (g *geometry) zeroSpan(pos, n uint64) {
	from := pos & g.mask
	if from+n <= g.capacity {
		zero(g.data[from : from+n])
		return
	}
	zero(g.data[from:])
	zero(g.data[:n-(g.capacity-from)])
}

// checkHead validates a head loaded from the header against tail.
func (g *geometry) checkHead(head, tail uint64) error {
	if head%abi.WordSize != 0 || tail-head > g.capacity {
		return corruptPosition("head", abi.OffHead, head,
			"not a multiple of 8 within capacity behind tail "+utoa(tail))
	}
	return nil
}
