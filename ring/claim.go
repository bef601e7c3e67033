package ring

import (
	"sync/atomic"

	"github.com/logbuf/logbuf/abi"
)

// core is what a producer's claims need: the ring, the producer's party
// record and, for an SPSC producer, its tail and open claims.
type core struct {
	geometry
	party *abi.Party // producer table entry; nil for an MPSC producer without one
	lease abi.Lease  // this process's lease in party
	owner uint8      // entry index + 1, or 0
	shut  atomic.Bool

	// SPSC only; the producer and its claims belong to one goroutine.
	tail    uint64 // the producer owns tail: this is the truth, the header a copy
	open    int    // claims not yet ended: an SPSC producer detaches only at 0
	closing bool   // Close was called while claims were open
	counts         // committed records and bytes not yet added to the entry
}

// counts are records and their payload bytes.
type counts struct{ records, bytes uint64 }

// Claim is space reserved in the ring for one record. Fill Bytes, then
// Commit; or Abort to give the space back. Until one of the two, the consumer
// waits at this record, so every claim must end in one of them.
//
// A Claim is a small value that may be copied: it is ended by the ring, not
// by the copy (spec section 5.3). Commit and Abort on any copies, in any
// order and any number of times, end the record once; the others do
// nothing. So "defer c.Abort()" right after a successful claim is safe.
type Claim struct {
	p   *core
	pos uint64 // the record's position (its header word)
	n   uint32 // payload length
}

// Bytes is the claimed payload, exactly the length asked for. Its content is
// unspecified until written. It must not be used after Commit or Abort.
func (c Claim) Bytes() []byte {
	if c.p == nil {
		return nil
	}
	off := c.pos&c.p.mask + abi.WordSize
	return c.p.data[off : off+uint64(c.n) : off+uint64(c.n)]
}

// Len is the claimed payload length.
func (c Claim) Len() int { return int(c.n) }

func (c Claim) word() *atomic.Uint64 { return c.p.reg.WordAt(c.pos & c.p.mask) }

// stamp is the CLAIMED word the producer wrote at claim time.
func (c Claim) stamp() uint64 {
	return uint64(abi.ClaimedWord(c.n, c.pos>>c.p.lapShift, c.p.owner))
}

// end replaces the claim's stamp with w, the committed or aborted word,
// and reports whether this call did it (spec section 5.3). An MPSC claim
// ends by a compare-and-swap from the stamp, which also decides the race
// with a recovery. An SPSC claim ends by a check and a store: nobody else
// ends it while this producer lives. A claim older than a lap of the SPSC
// producer's own tail was released long ago, whatever the word says now.
func (c Claim) end(w uint64) bool {
	p := c.p
	if p == nil {
		return false
	}
	word := c.word()
	if p.mpsc {
		return word.CompareAndSwap(c.stamp(), w)
	}
	if p.tail-c.pos > p.capacity || word.Load() != c.stamp() {
		return false
	}
	storeEnd(word, w)
	return true
}

// Commit publishes the record to the consumer (spec section 5.3). It
// returns ErrClaimEnded when the claim was already committed or aborted,
// and ErrDiscarded, on an MPSC ring, when the consumer recovered the claim
// first (or, for a claim ended twice, when its record is already read and
// released: the ring can no longer tell the two apart, so commit once).
func (c Claim) Commit() error {
	if !c.end(uint64(abi.CommittedWord(c.n))) {
		return c.whyNot()
	}
	p := c.p
	if p.mpsc {
		if p.party != nil {
			p.party.Records.Add(1)
			p.party.Bytes.Add(uint64(c.n))
		}
	} else {
		p.records++
		p.bytes += uint64(c.n)
		if p.open--; p.closing {
			p.ended()
		}
	}
	wake(p.hdr)
	return nil
}

// whyNot says why end did nothing.
func (c Claim) whyNot() error {
	if c.p == nil || !c.p.mpsc {
		return ErrClaimEnded
	}
	w := abi.Word(c.word().Load())
	if (w == abi.CommittedWord(c.n) || w == abi.SkipWord(abi.KindAborted, uint32(abi.RecordSize(uint64(c.n))))) &&
		c.p.hdr.Tail.Load()-c.pos <= c.p.capacity {
		return ErrClaimEnded
	}
	return ErrDiscarded
}

// Abort gives the claim's space back: the consumer skips it (spec section
// 5.4). Abort of a claim already ended does nothing, so "defer c.Abort()"
// right after a successful claim is safe.
func (c Claim) Abort() {
	if !c.end(uint64(abi.SkipWord(abi.KindAborted, uint32(abi.RecordSize(uint64(c.n)))))) {
		return
	}
	p := c.p
	p.hdr.Aborts.Add(1)
	if !p.mpsc {
		p.open--
		p.ended()
	}
	wake(p.hdr)
}

// ended detaches the SPSC producer when Close waits for its last open
// claim and this one, just ended, was it (spec section 8).
func (p *core) ended() {
	if p.closing && p.open == 0 {
		p.detach()
	}
}

// stamp marks the record of n bytes at position t (data offset off) CLAIMED
// (spec section 5.2, step 6) and returns its claim.
func (p *core) stamp(t, off uint64, n int) Claim {
	storeRelease(p.reg.WordAt(off), uint64(abi.ClaimedWord(uint32(n), t>>p.lapShift, p.owner)))
	return Claim{p: p, pos: t, n: uint32(n)}
}

// publishCounts adds the SPSC producer's committed records to its entry,
// which spec section 3 asks for at every head reload and at detach.
func (p *core) publishCounts() {
	if p.party != nil && p.records != 0 {
		p.party.Records.Add(p.records)
		p.party.Bytes.Add(p.bytes)
		p.records, p.bytes = 0, 0
	}
}

// detach publishes the counters, gives the entry back and wakes a parked
// consumer, which may have reached the end of the stream (spec section 8).
func (p *core) detach() {
	p.publishCounts()
	leave(p.party, p.lease, abi.StateDetached)
	wake(p.hdr)
}

// refused counts a claim refused as too large in the producer's entry.
func (p *core) refused(err error) error {
	if err == ErrTooLarge && p.party != nil {
		p.party.Refused.Add(1)
	}
	return err
}

// CountDropped adds n to the dropped counter of the producer's entry: the
// records its caller gave up on because the ring stayed full (spec section
// 3). Writers with a drop policy call it; it shows in Stats and in
// "logbuf stat".
func (p *core) CountDropped(n uint64) {
	if p.party != nil && n != 0 {
		p.party.Dropped.Add(n)
	}
}
