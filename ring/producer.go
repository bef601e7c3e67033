package ring

import (
	"fmt"

	"github.com/logbuf/logbuf/abi"
)

// Producer writes records into an SPSC ring. It and its Claims belong to one
// goroutine at a time.
type Producer struct {
	core
	tail      uint64 // the producer owns tail: this is the truth, the header a copy
	headCache uint64 // head as last loaded; reloaded only when it says "full"
}

// core is the part of a producer that its claims use.
type core struct {
	geometry
	slot  *abi.Slot // producer table entry, nil when the table was full
	owner uint8     // slot index + 1, or 0
	mpsc  bool
	// SPSC only: closed, so that a claim committed after Close publishes
	// its count at once.
	closed bool
	// SPSC only: committed records and bytes not yet added to the slot.
	counts
}

// counts are records and their payload bytes.
type counts struct{ records, bytes uint64 }

// NewProducer attaches the single producer of an SPSC region. It resumes at
// the region's tail.
func NewProducer(r *abi.Region) (*Producer, error) {
	if r.Mode() != abi.SPSC {
		return nil, fmt.Errorf("logbuf: NewProducer needs an SPSC ring, this one is %v", r.Mode())
	}
	p := &Producer{core: core{geometry: newGeometry(r)}}
	var err error
	if p.headCache, p.tail, err = r.Positions(); err != nil {
		return nil, err
	}
	if p.slot, p.owner, err = attach(p.hdr, true); err != nil {
		return nil, err
	}
	return p, nil
}

// Capacity is the size of the ring's data area in bytes.
func (p *Producer) Capacity() int { return int(p.capacity) }

// MaxPayload is the largest record the ring accepts: Capacity/8.
func (p *Producer) MaxPayload() int { return int(p.maxPayload) }

// Stats reads the ring's counters from its header.
func (p *Producer) Stats() Stats { return ReadStats(p.reg) }

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

// TryClaim reserves n bytes at the tail of the ring (spec section 5.2) and
// returns a Claim whose Bytes the caller fills before Commit. It fails with
// ErrFull when the consumer has not freed enough space, ErrZeroLength or
// ErrTooLarge.
func (p *Producer) TryClaim(n int) (Claim, error) {
	if p.closed {
		return Claim{}, ErrClosed
	}
	size, err := p.recordSize(n)
	if err != nil {
		return Claim{}, err
	}
	t := p.tail
	off := t & p.mask
	need := size
	if off+size > p.capacity { // wrap rule: pad to the end, start at 0
		need += p.capacity - off
	}
	if need > p.capacity-(t-p.headCache) {
		if err := p.reloadHead(need); err != nil {
			return Claim{}, err
		}
	}
	p.tail = t + need
	publish(&p.hdr.Tail, p.tail)
	if need != size {
		publish(p.reg.WordAt(off), uint64(abi.SkipWord(abi.KindPadding, uint32(need-size))))
		t, off = t+need-size, 0
	}
	return p.stamp(t, off, n), nil
}

// reloadHead refreshes the cached head when the cache says "full", and
// publishes the producer's counters, which spec section 3 asks for at every
// head reload.
func (p *Producer) reloadHead(need uint64) error {
	h := p.hdr.Head.Load()
	if p.tail-h > p.capacity || h%abi.WordSize != 0 {
		return &abi.CorruptError{Field: "head", Offset: abi.OffHead, Value: h,
			Reason: fmt.Sprintf("not a multiple of 8 within capacity behind tail %d", p.tail)}
	}
	p.headCache = h
	p.publishCounts()
	if need > p.capacity-(p.tail-h) {
		p.hdr.FullEvents.Add(1)
		return ErrFull
	}
	return nil
}

func (p *core) publishCounts() {
	if p.slot != nil && p.records != 0 {
		p.slot.Records.Add(p.records)
		p.slot.Bytes.Add(p.bytes)
		p.records, p.bytes = 0, 0
	}
}

// stamp marks the record of n bytes at position t (data offset off) CLAIMED
// (spec section 5.2, step 6) and returns its claim.
func (c *core) stamp(t, off uint64, n int) Claim {
	publish(c.reg.WordAt(off), uint64(abi.ClaimedWord(uint32(n), t>>c.lapShift, c.owner)))
	return Claim{p: c, pos: t, n: uint32(n)}
}

// TryWrite copies b into the ring as one record: TryClaim, copy, Commit.
func (p *Producer) TryWrite(b []byte) error {
	c, err := p.TryClaim(len(b))
	if err != nil {
		return err
	}
	copy(c.Bytes(), b)
	return c.Commit()
}

// Close publishes the producer's counters and gives its producer table entry
// back. Claims after Close fail with ErrClosed.
func (p *Producer) Close() error {
	if p.closed {
		return nil
	}
	p.closed = true
	p.publishCounts()
	detach(p.slot)
	p.wake() // a parked consumer may have reached the end (spec section 8)
	return nil
}
