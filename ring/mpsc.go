package ring

import (
	"context"
	"fmt"
	"sync/atomic"
	"unsafe"

	"github.com/logbuf/logbuf/abi"
)

// MPSCProducer writes records into an MPSC ring. It is safe for concurrent
// use by any number of goroutines; each Claim belongs to the goroutine that
// made it. Producers in other processes may share the ring too.
type MPSCProducer struct {
	core
	// headCache on a line of its own, and the whole 384 bytes, a size class
	// that is a multiple of 64 (TestCacheLineAligned).
	_         [2*abi.LineSize - unsafe.Sizeof(core{})]byte
	headCache atomic.Uint64 // head as last loaded by any goroutine; may be stale, never ahead
	_         [abi.LineSize - 8]byte
}

// NewMPSCProducer attaches a producer to an MPSC region: it takes a free
// producer table entry, or one whose holder is gone, or works without one
// when all 32 are held (spec section 8).
func NewMPSCProducer(r *abi.Region) (*MPSCProducer, error) {
	if r.Mode() != abi.MPSC {
		return nil, fmt.Errorf("logbuf: NewMPSCProducer needs an MPSC ring, this one is %v", r.Mode())
	}
	p := &MPSCProducer{core: core{geometry: newGeometry(r)}}
	head, tail, err := r.Positions()
	if err != nil {
		return nil, err
	}
	p.headCache.Store(head)
	p.party, p.owner, p.lease = takeEntry(p.hdr)
	if p.party != nil {
		p.party.Since.Store(tail)
	}
	return p, nil
}

// Capacity is the size of the ring's data area in bytes.
func (p *MPSCProducer) Capacity() int { return int(p.capacity) }

// MaxPayload is the largest record the ring accepts: Capacity/8.
func (p *MPSCProducer) MaxPayload() int { return int(p.maxPayload) }

// Stats reads the ring's counters and parties from its header.
func (p *MPSCProducer) Stats() Stats { return ReadStats(p.reg) }

// TryClaim reserves n bytes with a compare-and-swap on the shared tail
// (spec section 5.2) and returns the Claim. Errors are as for
// SPSCProducer.TryClaim.
func (p *MPSCProducer) TryClaim(n int) (Claim, error) {
	if p.shut.Load() {
		return Claim{}, ErrClosed
	}
	size, err := p.recordSize(n)
	if err != nil {
		return Claim{}, p.refused(err)
	}
	var t, need uint64
	for {
		t = p.hdr.Tail.Load()
		if t%abi.WordSize != 0 {
			// Another party wrote tail: a padding word at t would reach
			// past the data area.
			return Claim{}, corruptPosition("tail", abi.OffTail, t, "not a multiple of 8")
		}
		off := t & p.mask
		need = size
		if off+size > p.capacity {
			need += p.capacity - off
		}
		h := p.headCache.Load()
		// t-h > capacity when t is older than the cached head: tail moved on.
		if used := t - h; used > p.capacity || need > p.capacity-used {
			retry, err := p.reloadHead(t, need)
			if err != nil {
				return Claim{}, err
			}
			if retry {
				continue
			}
		}
		if p.hdr.Tail.CompareAndSwap(t, t+need) {
			break
		}
	}
	off := t & p.mask
	if need != size {
		storeRelease(p.reg.WordAt(off), uint64(abi.SkipWord(abi.KindPadding, uint32(need-size))))
		t, off = t+need-size, 0
	}
	return p.stamp(t, off, n), nil
}

// reloadHead loads head for a claim of need bytes at tail t. It asks for a
// retry when t went stale meanwhile, and fails with ErrFull, or ErrCorrupt
// when head is inconsistent with a tail that did not move.
func (p *MPSCProducer) reloadHead(t, need uint64) (retry bool, err error) {
	h := p.hdr.Head.Load()
	if err := p.checkHead(h, t); err != nil {
		if p.hdr.Tail.Load() != t && h%abi.WordSize == 0 {
			return true, nil // another producer moved tail while we looked
		}
		return false, err
	}
	if h != p.headCache.Load() {
		// Stored only when it moved: producers spinning on a full ring would
		// otherwise bounce this line between them on every retry.
		p.headCache.Store(h)
	}
	if need > p.capacity-(t-h) {
		if p.hdr.Tail.Load() != t {
			return true, nil // our view of tail is stale; so may be the verdict
		}
		p.hdr.FullEvents.Add(1)
		return false, fullOrClosed(p.hdr)
	}
	return false, nil
}

// TrySend copies b into the ring as one record: TryClaim, copy, Commit.
func (p *MPSCProducer) TrySend(b []byte) error {
	c, err := p.TryClaim(len(b))
	if err != nil {
		return err
	}
	copy(c.Bytes(), b)
	return c.Commit()
}

// Claim reserves n bytes like TryClaim, waiting while the ring is full, as
// SPSCProducer.Claim does. A Close from another goroutine ends the wait
// with ErrClosed.
func (p *MPSCProducer) Claim(ctx context.Context, n int) (Claim, error) {
	cl, err := p.TryClaim(n)
	if err == ErrFull {
		return claimWait(ctx, p, &p.core, n)
	}
	return cl, err
}

// Send copies b into the ring as one record, waiting for space as Claim
// does. It returns ErrDiscarded when the consumer recovered the claim as
// stuck before the commit (spec section 9).
func (p *MPSCProducer) Send(ctx context.Context, b []byte) error {
	cl, err := p.Claim(ctx, len(b))
	if err != nil {
		return err
	}
	copy(cl.Bytes(), b)
	return cl.Commit()
}

// Close gives the producer table entry back. Claims after Close fail with
// ErrClosed, and a Claim or Send waiting for space in another goroutine
// returns ErrClosed; claims already made may still be committed (an MPSC
// claim left open is recovered by the consumer's timeout, spec section 9).
// Close is idempotent and safe for concurrent use.
func (p *MPSCProducer) Close() error {
	if p.shut.Swap(true) {
		return nil
	}
	p.detach()
	return nil
}
