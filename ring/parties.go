package ring

import (
	"time"

	"github.com/logbuf/logbuf/abi"
)

// Spec section 8, in one place: who holds a party record, attaching and
// taking over, detaching and closing, the end of the stream, and whose claim
// a stuck record is. A party record's lease names its holder and its state
// in one word, so every decision here is a load, a verdict on that value,
// and, to act on it, a compare-and-swap from that same value.

// selfLease is this process's ATTACHED lease.
func selfLease() abi.Lease {
	pid, start := selfID()
	return abi.MakeLease(abi.StateAttached, pid, start)
}

// isHeld reports whether lease l holds its record: ATTACHED, by a process
// that is alive. It asks the kernel (/proc) when l is ATTACHED. A malformed
// lease holds nothing.
func isHeld(l abi.Lease) bool {
	return l.State() == abi.StateAttached && alive(l.PID(), l.Start())
}

// takeParty makes this process the holder of p, unless a live party holds
// it: then it returns that holder's lease and false. The compare-and-swap
// is from the exact lease judged free or dead, so two parties racing for
// one record never both win, and a take-over never undoes a live holder's
// attach. A malformed lease is refused as corrupt (spec section 8); off is
// the record's offset in the header, for the report. The caller stores
// heartbeat and since after winning.
func takeParty(p *abi.Party, off int, producerEntry bool) (mine, holder abi.Lease, ok bool, err error) {
	mine = selfLease()
	for {
		l := abi.Lease(p.Lease.Load())
		if l.Malformed(producerEntry) {
			return mine, l, false, corruptPosition("lease", off+abi.PartyOffLease, uint64(l),
				"a state the spec does not define for this record")
		}
		if isHeld(l) {
			return mine, l, false, nil
		}
		if p.Lease.CompareAndSwap(uint64(l), uint64(mine)) {
			p.Heartbeat.Store(monoNow())
			return mine, 0, true, nil
		}
	}
}

// takeEntry attaches an MPSC producer to the producer table: the first
// entry that is not ATTACHED, else the first whose holder is gone. It
// returns nil and owner id 0 when every entry is held: the producer then
// works without one.
func takeEntry(h *abi.Header) (p *abi.Party, owner uint8, mine abi.Lease) {
	mine = selfLease()
	for _, deadOnly := range []bool{false, true} {
		for i := range h.Producers {
			e := &h.Producers[i]
			l := abi.Lease(e.Lease.Load())
			if attached := l.State() == abi.StateAttached; attached != deadOnly || l.Malformed(true) || (attached && isHeld(l)) {
				continue
			}
			if e.Lease.CompareAndSwap(uint64(l), uint64(mine)) {
				e.Heartbeat.Store(monoNow())
				return e, uint8(i + 1), mine
			}
		}
	}
	return nil, 0, mine
}

// leave ends this process's hold on p, leaving it in state st (DETACHED, or
// CLOSED for a consumer that closes the ring). The compare-and-swap from
// its own lease changes nothing if the record is no longer its own.
func leave(p *abi.Party, mine abi.Lease, st abi.State) {
	if p != nil {
		p.Lease.CompareAndSwap(uint64(mine), uint64(mine.With(st)))
	}
}

// consumerPresence is what a producer waiting for space needs to know about
// the consumer.
type consumerPresence int

const (
	consumerAbsent  consumerPresence = iota // gone or detached: wait for the next one
	consumerPresent                         // attached and alive
	ringClosed                              // closed the ring for good: stop
)

// consumerOf judges the consumer record. With checkLive false it does not
// ask the kernel and takes an ATTACHED consumer for present.
func consumerOf(h *abi.Header, checkLive bool) consumerPresence {
	l := abi.Lease(h.Consumer.Lease.Load())
	switch {
	case l.State() == abi.StateClosed:
		return ringClosed
	case l.State() != abi.StateAttached:
		return consumerAbsent
	case checkLive && !alive(l.PID(), l.Start()):
		return consumerAbsent
	}
	return consumerPresent
}

// fullOrClosed is the error of a claim that found no room (spec section 8):
// the ring is full, or, when the consumer closed it for good, closed.
func fullOrClosed(h *abi.Header) error {
	if consumerOf(h, false) == ringClosed {
		return ErrRingClosed
	}
	return ErrFull
}

// producersDone is the producers' half of the end of the stream (section
// 8): the ring has had a producer, ever, and none holds an entry now. With
// checkLive false an ATTACHED entry counts as held without asking the
// kernel, so a caller can look often and ask rarely.
func producersDone(h *abi.Header, checkLive bool) bool {
	seen := false
	for i := range h.Producers {
		l := abi.Lease(h.Producers[i].Lease.Load())
		switch {
		case l.State() == abi.StateFree:
			continue
		case l.State() == abi.StateAttached && (!checkLive || isHeld(l)):
			return false
		}
		seen = true
	}
	return seen
}

// spscOwner judges the owner of a stuck claim at pos on an SPSC ring
// (section 9): the holder of entry 0 made it unless the entry is not held
// or the claim is older than the holder's attach (its since), in which case
// a previous holder made it, which is gone: it died, or it detached, which
// an SPSC producer does only with no claim open.
func spscOwner(h *abi.Header, pos uint64) (pid uint32, alive bool) {
	e := &h.Producers[0]
	l := abi.Lease(e.Lease.Load())
	since := e.Since.Load()
	if abi.Lease(e.Lease.Load()) != l {
		return l.PID(), true // changing hands: judge it at the next look
	}
	if !isHeld(l) || pos-since >= 1<<63 {
		return l.PID(), false
	}
	return l.PID(), true
}

// entryOwner names the holder of the entry of owner id id (1..32) and
// whether it holds it, for reports; 0 and false for no entry.
func entryOwner(h *abi.Header, id uint8) (pid uint32, alive bool) {
	if id == 0 || int(id) > len(h.Producers) {
		return 0, false
	}
	l := abi.Lease(h.Producers[id-1].Lease.Load())
	return l.PID(), isHeld(l)
}

// Party is one party record as read from a ring's header: the consumer's or
// a producer table entry's.
type Party struct {
	// Owner is the producer's owner id (entry index + 1), the value its
	// claim stamps carry; 0 for the consumer.
	Owner int
	// Lease is the record's lease: state, pid and start time of the holder
	// (or of the last holder).
	Lease abi.Lease
	// Held is whether the record is held: ATTACHED by a live process.
	Held bool
	// Heartbeat is the holder's last sign of life, CLOCK_MONOTONIC ns.
	Heartbeat uint64
	// Since is the position at which the holder attached.
	Since uint64
	// Records, Bytes, Dropped and Refused are a producer entry's counters
	// (spec section 3); zero for the consumer.
	Records, Bytes, Dropped, Refused uint64
}

// HeartbeatAge is how long ago the holder last gave a sign of life.
func (p Party) HeartbeatAge() time.Duration {
	now := monoNow()
	if p.Heartbeat == 0 || p.Heartbeat > now {
		return 0
	}
	return time.Duration(now - p.Heartbeat)
}

func readParty(p *abi.Party, owner int) Party {
	l := abi.Lease(p.Lease.Load())
	return Party{
		Owner: owner, Lease: l, Held: isHeld(l),
		Heartbeat: p.Heartbeat.Load(), Since: p.Since.Load(),
		Records: p.Records.Load(), Bytes: p.Bytes.Load(),
		Dropped: p.Dropped.Load(), Refused: p.Refused.Load(),
	}
}
