package ring

import (
	"sync/atomic"

	"github.com/logbuf/logbuf/abi"
)

// Claim is space reserved in the ring for one record. Fill Bytes, then
// Commit; or Abort to give the space back. Until one of the two, the consumer
// waits at this record, so every claim must end in one of them.
//
// A Claim is three words, so that returning it by value costs nothing: the
// payload slice, header word and stamp are derived from the position.
type Claim struct {
	p     *core
	pos   uint64 // the record's position (its header word)
	n     uint32 // payload length
	ended bool
}

// Bytes is the claimed payload, exactly the length asked for. Its content is
// unspecified until written. It must not be used after Commit or Abort.
func (c *Claim) Bytes() []byte {
	if c.p == nil {
		return nil
	}
	off := c.pos&c.p.mask + abi.WordSize
	return c.p.data[off : off+uint64(c.n) : off+uint64(c.n)]
}

func (c *Claim) word() *atomic.Uint64 { return c.p.reg.WordAt(c.pos & c.p.mask) }

// stamp is the CLAIMED word the producer wrote at claim time.
func (c *Claim) stamp() uint64 {
	return uint64(abi.ClaimedWord(c.n, c.pos>>c.p.lapShift, c.p.owner))
}

// Commit publishes the record to the consumer (spec section 5.3). It returns
// ErrDiscarded when an MPSC consumer recovered the claim first, and
// ErrClaimEnded when the claim was already committed or aborted.
func (c *Claim) Commit() error {
	if c.ended || c.p == nil {
		return ErrClaimEnded
	}
	c.ended = true
	n := uint64(c.n)
	w := uint64(abi.CommittedWord(c.n))
	p := c.p
	if !p.mpsc {
		publish(c.word(), w)
		p.records++
		p.bytes += n
		if p.closed {
			p.publishCounts()
		}
	} else {
		// A CAS from our exact stamp: if the consumer turned the claim into
		// UNBLOCKED (spec section 9), exactly one of us wins.
		if !c.word().CompareAndSwap(c.stamp(), w) {
			return ErrDiscarded
		}
		if p.slot != nil {
			p.slot.Records.Add(1)
			p.slot.Bytes.Add(n)
		}
	}
	p.wake()
	return nil
}

// Abort gives the claim's space back: the consumer skips it (spec section
// 5.4). Abort after Commit or Abort does nothing, so "defer c.Abort()" right
// after a successful claim is safe.
func (c *Claim) Abort() {
	if c.ended || c.p == nil {
		return
	}
	c.ended = true
	w := uint64(abi.SkipWord(abi.KindAborted, uint32(abi.RecordSize(uint64(c.n)))))
	if !c.p.mpsc {
		publish(c.word(), w)
	} else if !c.word().CompareAndSwap(c.stamp(), w) {
		return // recovered by the consumer already: nothing left to give back
	}
	c.p.hdr.Aborts.Add(1)
	c.p.wake()
}

// wake is the producer's half of spec section 7.1: one load in the common
// case, and a wake-up only when the consumer is parked.
func (c *core) wake() {
	if c.hdr.ConsumerWait.Load() != 0 {
		wakeConsumer(c.hdr)
	}
}
