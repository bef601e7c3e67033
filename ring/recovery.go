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

// recovery is the consumer's watch over a stuck claim and what to do about
// it (spec section 9).
type recovery struct {
	// timeout is how long a word may stay the same before recovery: 0 for
	// DefaultUnblockTimeout, negative to never recover.
	timeout time.Duration
	report  func(Stuck)
	watch   stuckWatch
}

// stuckWatch is the record at the read cursor under watch.
type stuckWatch struct {
	on       bool
	reported bool      // reported without recovery (SPSC, live owner)
	at       uint64    // its position
	seen     uint64    // the word seen there: 0 or a CLAIMED stamp
	tail0    uint64    // tail when the watch began: the scan of a 0 word stops there
	began    time.Time // when the watch began
	due      time.Time // when to act next
}

func (rc *recovery) unblockTimeout() time.Duration {
	if rc.timeout == 0 {
		return DefaultUnblockTimeout
	}
	return rc.timeout
}

// check watches the record at r's read cursor while the consumer waits,
// and recovers it once it has been stuck for longer than the timeout. It
// reports whether it recovered a record. The cursor is at head here (the
// consumer released everything before waiting), so the word cannot change
// under a new lap: the same word seen twice was there all along.
func (rc *recovery) check(r *reader, now time.Time) bool {
	w := &rc.watch
	if rc.timeout < 0 || r.err != nil {
		w.on = false
		return false
	}
	pos := r.next
	t := r.hdr.Tail.Load()
	if err := r.checkTail(t); err != nil {
		// The region at head would be sized by this tail: refuse it, as
		// peek does when a record runs past it.
		r.err = err
		w.on = false
		return false
	}
	word := r.reg.WordAt(pos & r.mask).Load()
	if t == pos || (word != 0 && abi.Word(word).Kind() != abi.KindClaimed) {
		w.on = false // empty, or readable
		return false
	}
	if !w.on || w.at != pos || w.seen != word {
		*w = stuckWatch{on: true, at: pos, seen: word, tail0: t, began: now,
			due: now.Add(rc.unblockTimeout())}
		return false
	}
	if now.Before(w.due) {
		return false
	}
	return rc.unblock(r, now)
}

// unblock recovers the record under watch (spec section 9), or reports it
// when the ring is SPSC and the producer that made the claim is alive.
func (rc *recovery) unblock(r *reader, now time.Time) bool {
	w := &rc.watch
	pos, word := w.at, abi.Word(w.seen)
	off := pos & r.mask
	st := Stuck{Pos: pos, Word: uint64(word), For: now.Sub(w.began)}
	if word == 0 {
		// Reserved, not stamped. A producer writes nothing before its
		// stamp (spec 5.2), so the region runs to the first non-zero word:
		// the next record's stamp or padding. The scan stops at the wrap
		// point, and at the tail seen when the watch began: a reservation
		// made since then is not stuck, only new, and must not be taken.
		limit := min(w.tail0-pos, r.capacity-off)
		st.Size = limit
		for s := uint64(abi.WordSize); s < limit; s += abi.WordSize {
			if r.reg.WordAt(off+s).Load() != 0 {
				st.Size = s
				break
			}
		}
	} else {
		// peek validated the stamp when it met it (spec 7.1).
		st.Size = abi.RecordSize(uint64(word.Len()))
		st.Owner = word.Owner()
	}
	if r.mpsc {
		st.PID, st.Alive = entryOwner(r.hdr, st.Owner)
	} else {
		st.Owner = 1
		st.PID, st.Alive = spscOwner(r.hdr, pos)
	}
	if r.mpsc || !st.Alive {
		// The compare-and-swap from the exact word seen: the owner's
		// commit is a compare-and-swap from its stamp (MPSC), so exactly
		// one of the two wins; if it fails the record was ended meanwhile
		// and is read as usual.
		if !r.reg.WordAt(off).CompareAndSwap(uint64(word), uint64(abi.SkipWord(abi.KindUnblocked, uint32(st.Size)))) {
			w.on = false
			return false
		}
		r.hdr.Unblocks.Add(1)
		st.Recovered = true
		w.on = false
	} else {
		// Look again later, in case the owner dies; report only once.
		w.due = now.Add(min(rc.unblockTimeout(), time.Second))
		if w.reported {
			return false
		}
		w.reported = true
	}
	if rc.report != nil {
		rc.report(st)
	}
	return st.Recovered
}
