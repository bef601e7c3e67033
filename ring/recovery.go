package ring

import (
	"fmt"
	"time"

	"github.com/logbuf/logbuf/abi"
)

// DefaultUnblockTimeout is how long the record at head may stay uncommitted,
// with tail past it, before a waiting consumer recovers it (spec section 9).
// It must be far longer than any pause a live producer can take between
// claim and commit: a producer still writing into a region after it was
// recovered and reused would tear the records written there since.
const DefaultUnblockTimeout = 5 * time.Second

// Stuck describes a record that stayed uncommitted at the head of the ring
// for longer than the unblock timeout.
type Stuck struct {
	Pos   uint64        // position of the record's header word
	Word  uint64        // the word seen there: 0 (reserved, not stamped) or a CLAIMED stamp
	Size  uint64        // bytes of the region, header word included
	Owner uint8         // owner id from the stamp (slot index + 1); 0 when unknown
	PID   uint32        // the owner's process id from the producer table; 0 when unknown
	Alive bool          // whether the owner's process may still be alive
	For   time.Duration // how long the consumer saw the same word there

	// Recovered is true when the consumer turned the region into an
	// UNBLOCKED skip and went on. It is false when it may not: an SPSC ring
	// whose producer is alive (spec section 9), such as a claim leaked by a
	// goroutine of this process that never called Commit or Abort; the
	// consumer then keeps waiting, and reports the record once.
	Recovered bool
}

// String describes the stuck claim in one line, for logs.
func (s Stuck) String() string {
	what := "reported"
	if s.Recovered {
		what = "recovered"
	}
	return fmt.Sprintf("logbuf: record at %d (word %#x, %d bytes, owner %d, pid %d, alive %v) stuck for %v: %s",
		s.Pos, s.Word, s.Size, s.Owner, s.PID, s.Alive, s.For, what)
}

// SetRecovery sets how the consumer deals with a record that its producer
// claimed but neither committed nor aborted (spec section 9). When the
// consumer, waiting in Recv, RecvTimeout or RecvBatch, has seen the same
// uncommitted word at head for longer than timeout, it recovers the region
// if the ring is MPSC or the owner's process is gone: a compare-and-swap from
// the word it saw to an UNBLOCKED skip, so that a producer that was only
// slow gets ErrDiscarded from its Commit instead of corrupting the stream.
// It then adds 1 to the header's unblocks counter and goes on.
//
// report, if not nil, is called on the consumer's goroutine for every
// recovery, and once for a stuck record it may not recover (Stuck.Recovered
// false). It must not block.
//
// timeout 0 means DefaultUnblockTimeout; a negative timeout turns recovery
// off (nothing is reported either). Without SetRecovery, a consumer
// recovers with the default timeout and reports nothing.
func (c *Consumer) SetRecovery(timeout time.Duration, report func(Stuck)) {
	c.wait.timeout = timeout
	c.wait.report = report
}

// stuckWatch is the record at the read cursor under watch.
type stuckWatch struct {
	on       bool
	reported bool      // reported without recovery (SPSC, live owner)
	pos      uint64    // its position
	word     uint64    // the word seen there: 0 or a CLAIMED stamp
	tail0    uint64    // tail when the watch began: the scan of a 0 word stops there
	since    time.Time // when the watch began
	next     time.Time // when to act next
}

func (c *Consumer) unblockTimeout() time.Duration {
	if c.wait.timeout == 0 {
		return DefaultUnblockTimeout
	}
	return c.wait.timeout
}

// checkStuck watches the record at the read cursor while the consumer waits,
// and recovers it once it has been stuck for longer than the timeout. It
// reports whether it recovered a record. The cursor is at head here (await
// released everything), so the word cannot change under a new lap: the same
// word seen twice was there all along.
func (c *Consumer) checkStuck(now time.Time) bool {
	w := &c.wait.watch
	if c.wait.timeout < 0 || c.err != nil {
		w.on = false
		return false
	}
	pos := c.next
	t := c.hdr.Tail.Load()
	if t-c.head > c.capacity || t%abi.WordSize != 0 {
		// The region at head would be sized by this tail: refuse it, as
		// peek does when a record runs past it.
		c.err = &abi.CorruptError{Field: "tail", Offset: abi.OffTail, Value: t,
			Reason: fmt.Sprintf("not a multiple of 8 within capacity ahead of head %d", c.head)}
		w.on = false
		return false
	}
	word := c.reg.WordAt(pos & c.mask).Load()
	if t == pos || (word != 0 && abi.Word(word).Kind() != abi.KindClaimed) {
		w.on = false // empty, or readable
		return false
	}
	if !w.on || w.pos != pos || w.word != word {
		*w = stuckWatch{on: true, pos: pos, word: word, tail0: t, since: now,
			next: now.Add(c.unblockTimeout())}
		return false
	}
	if now.Before(w.next) {
		return false
	}
	return c.unblock(now)
}

// unblock recovers the record under watch (spec section 9), or reports it
// when the ring is SPSC and its producer is alive.
func (c *Consumer) unblock(now time.Time) bool {
	w := &c.wait.watch
	pos, word := w.pos, abi.Word(w.word)
	off := pos & c.mask
	st := Stuck{Pos: pos, Word: uint64(word), For: now.Sub(w.since)}
	if word == 0 {
		// Reserved, not stamped. A producer writes nothing before its
		// stamp (spec 5.2), so the region runs to the first non-zero word:
		// the next record's stamp or padding. The scan stops at the wrap
		// point, and at the tail seen when the watch began: a reservation
		// made since then is not stuck, only new, and must not be taken.
		limit := min(w.tail0-pos, c.capacity-off)
		st.Size = limit
		for s := uint64(abi.WordSize); s < limit; s += abi.WordSize {
			if c.reg.WordAt(off+s).Load() != 0 {
				st.Size = s
				break
			}
		}
	} else {
		n := uint64(word.Len())
		if n == 0 || n > c.maxPayload || word.Lap() != uint16(pos>>c.lapShift) {
			c.fail(pos, word, "CLAIMED stamp with a length out of range or another lap")
			return false
		}
		st.Size = abi.RecordSize(n)
		if off+st.Size > c.capacity || w.tail0-pos < st.Size {
			c.fail(pos, word, fmt.Sprintf("claim of %d bytes runs past the wrap point or tail %d", st.Size, w.tail0))
			return false
		}
		st.Owner = word.Owner()
	}
	st.PID, st.Alive = c.owner(st.Owner)
	if c.reg.Mode() == abi.MPSC || !st.Alive {
		// The compare-and-swap from the exact word seen: the owner's
		// commit is a compare-and-swap from its stamp (MPSC), so exactly
		// one of the two wins; if it fails the record was ended meanwhile
		// and is read as usual.
		if !c.reg.WordAt(off).CompareAndSwap(uint64(word), uint64(abi.SkipWord(abi.KindUnblocked, uint32(st.Size)))) {
			w.on = false
			return false
		}
		c.hdr.Unblocks.Add(1)
		st.Recovered = true
		w.on = false
	} else {
		// Look again later, in case the owner dies; report only once.
		w.next = now.Add(min(c.unblockTimeout(), time.Second))
		if w.reported {
			return false
		}
		w.reported = true
	}
	if r := c.wait.report; r != nil {
		r(st)
	}
	return st.Recovered
}

// owner returns the pid of the producer that owns a stuck record and
// whether its process may be alive. An owner id names a table entry; an
// entry that is closed but whose process lives may still commit a claim it
// made before closing, so only the process's death counts. Without an owner
// id (a 0 word, or an anonymous producer) the owner is alive while any
// attached entry is: on an SPSC ring that is the one producer.
func (c *Consumer) owner(id uint8) (uint32, bool) {
	if id > 0 && int(id) <= len(c.hdr.Producers) {
		s := &c.hdr.Producers[id-1]
		pid := s.PID.Load()
		if s.State.Load() == abi.StateFree {
			return pid, false
		}
		return pid, alive(pid, s.Start.Load())
	}
	for i := range c.hdr.Producers {
		s := &c.hdr.Producers[i]
		if s.State.Load() == abi.StateAttached && !slotGone(s) {
			return s.PID.Load(), true
		}
	}
	return 0, false
}
