package ring

import (
	"context"
	"fmt"
	"unsafe"

	"github.com/logbuf/logbuf/abi"
)

// SPSCProducer writes records into an SPSC ring. It and its Claims belong to
// one goroutine at a time.
type SPSCProducer struct {
	core
	headCache uint64 // head as last loaded; reloaded only when it says "full"
	// Up to 256 bytes, a size class of Go's allocator that is a multiple of
	// 64, so that no other object shares this one's cache lines
	// (TestCacheLineAligned).
	_ [2*abi.LineSize - unsafe.Sizeof(core{}) - 8]byte
}

// NewSPSCProducer attaches the single producer of an SPSC region: it takes
// producer table entry 0 (spec section 8) and resumes at the region's tail.
// It fails with an error wrapping ErrProducerBusy, naming the holder's pid,
// when a live producer holds the ring, in this process or another.
func NewSPSCProducer(r *abi.Region) (*SPSCProducer, error) {
	if r.Mode() != abi.SPSC {
		return nil, fmt.Errorf("logbuf: NewSPSCProducer needs an SPSC ring, this one is %v", r.Mode())
	}
	p := &SPSCProducer{core: core{geometry: newGeometry(r), owner: 1}}
	e := &p.hdr.Producers[0]
	mine, holder, ok, err := takeParty(e, abi.OffProducerTable, true)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, &BusyError{Err: ErrProducerBusy, Lease: holder}
	}
	p.party, p.lease = e, mine
	// Positions after winning the entry: no other producer moves tail now.
	head, tail, err := r.Positions()
	if err != nil {
		leave(e, mine, abi.StateDetached)
		return nil, err
	}
	e.Since.Store(tail)
	p.headCache, p.tail = head, tail
	return p, nil
}

// Capacity is the size of the ring's data area in bytes.
func (p *SPSCProducer) Capacity() int { return int(p.capacity) }

// MaxPayload is the largest record the ring accepts: Capacity/8.
func (p *SPSCProducer) MaxPayload() int { return int(p.maxPayload) }

// Stats reads the ring's counters and parties from its header.
func (p *SPSCProducer) Stats() Stats { return ReadStats(p.reg) }

// TryClaim reserves n bytes at the tail of the ring (spec section 5.2) and
// returns a Claim whose Bytes the caller fills before Commit. It fails with
// ErrFull when the consumer has not freed enough space, ErrZeroLength,
// ErrTooLarge, or ErrClosed after Close; ErrRingClosed instead of ErrFull
// when the consumer has closed the ring for good.
func (p *SPSCProducer) TryClaim(n int) (Claim, error) {
	// The common case first, in as few instructions as the rules allow: a
	// valid length, no wrap, room by the cached head. Everything else, and
	// every error, is tryClaimSlow's.
	t := p.tail
	off := t & p.mask
	size := abi.RecordSize(uint64(n))
	if uint64(n)-1 < p.maxPayload && off+size <= p.capacity && size <= p.capacity-(t-p.headCache) && !p.shut.Load() {
		p.tail = t + size
		storeRelease(&p.hdr.Tail, p.tail)
		p.open++
		return p.stamp(t, off, n), nil
	}
	return p.tryClaimSlow(n)
}

// tryClaimSlow is TryClaim for every case: checks, the wrap rule, a reload
// of head when the cache says "full".
func (p *SPSCProducer) tryClaimSlow(n int) (Claim, error) {
	if p.shut.Load() {
		return Claim{}, ErrClosed
	}
	size, err := p.recordSize(n)
	if err != nil {
		return Claim{}, p.refused(err)
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
	storeRelease(&p.hdr.Tail, p.tail)
	if need != size {
		storeRelease(p.reg.WordAt(off), uint64(abi.SkipWord(abi.KindPadding, uint32(need-size))))
		t, off = t+need-size, 0
	}
	p.open++
	return p.stamp(t, off, n), nil
}

// reloadHead refreshes the cached head when the cache says "full", and
// publishes the producer's counters, which spec section 3 asks for at every
// head reload.
func (p *SPSCProducer) reloadHead(need uint64) error {
	h := p.hdr.Head.Load()
	if err := p.checkHead(h, p.tail); err != nil {
		return err
	}
	p.headCache = h
	p.publishCounts()
	if need > p.capacity-(p.tail-h) {
		p.hdr.FullEvents.Add(1)
		return fullOrClosed(p.hdr)
	}
	return nil
}

// TrySend copies b into the ring as one record: TryClaim, copy, Commit.
func (p *SPSCProducer) TrySend(b []byte) error {
	c, err := p.TryClaim(len(b))
	if err != nil {
		return err
	}
	copy(c.Bytes(), b)
	return c.Commit()
}

// Claim reserves n bytes like TryClaim, waiting while the ring is full
// (backoff.go says how). It returns ctx's error when ctx is done first,
// wrapped together with ErrNoConsumer when no consumer was attached then;
// ErrRingClosed when the consumer closed the ring for good. ctx is only
// consulted while the ring is full.
func (p *SPSCProducer) Claim(ctx context.Context, n int) (Claim, error) {
	cl, err := p.TryClaim(n)
	if err == ErrFull {
		return claimWait(ctx, p, &p.core, n)
	}
	return cl, err
}

// Send copies b into the ring as one record, waiting for space as Claim
// does.
func (p *SPSCProducer) Send(ctx context.Context, b []byte) error {
	cl, err := p.Claim(ctx, len(b))
	if err != nil {
		return err
	}
	copy(cl.Bytes(), b)
	return cl.Commit()
}

// Close ends the producer: claims after it fail with ErrClosed. It gives
// the producer table entry back at once, or, when claims are still open,
// when the last of them is committed or aborted: an SPSC producer never
// leaves a claim behind its detach (spec section 8). Close is idempotent.
func (p *SPSCProducer) Close() error {
	if p.shut.Swap(true) {
		return nil
	}
	if p.open > 0 {
		p.closing = true
		return nil
	}
	p.detach()
	return nil
}
