package ring

import (
	"fmt"

	"github.com/logbuf/logbuf/abi"
)

// reader is the consumer's side of spec sections 7.1 and 7.2, without
// waiting: it reads and validates record header words at its read cursor,
// hands out records and releases them. Consumer adds attaching, waiting,
// recovery and closing.
type reader struct {
	geometry
	head      uint64 // released: what the header's head says
	next      uint64 // read cursor: records in [head, next) are read, not released
	tailCache uint64 // tail as last loaded, for validation
	pending   counts // committed records in [head, next)
	total     counts // read_records and read_bytes as published
	err       error  // sticky: set once the ring is found corrupt
}

// Record is one committed record. Its Bytes stay valid until the Consumer's
// next Release (or ReadBatch, which releases).
type Record struct {
	b   []byte
	pos uint64
	seq uint64
}

// Bytes is the record's payload.
func (r Record) Bytes() []byte { return r.b }

// Position is the ring position of the record's header word: unique for
// the life of the ring, increasing from record to record.
func (r Record) Position() uint64 { return r.pos }

// Seq is the record's sequence number in the ring: the number of committed
// records released before it, by any consumer (spec section 7.2).
func (r Record) Seq() uint64 { return r.seq }

// resume positions a new reader at the region's head, after finishing a
// release that a consumer before it began and did not end (spec section
// 7.2): without that, the bytes it had zeroed would read as a reservation
// not yet stamped, and records it had delivered would be read again from
// half-zeroed bytes.
func (r *reader) resume() error {
	head, tail, err := r.reg.Positions()
	if err != nil {
		return err
	}
	h := r.hdr
	if rel := h.Releasing.Load(); rel != head {
		span := rel - head
		if rel%abi.WordSize != 0 || span > tail-head {
			return corruptPosition("releasing", abi.OffReleasing, rel,
				fmt.Sprintf("not a multiple of 8 between head %d and tail %d", head, tail))
		}
		recs, bytes := h.ReleasingRecords.Load(), h.ReleasingBytes.Load()
		if recs-h.ReadRecords.Load() > span/abi.RecordSize(1) {
			return corruptPosition("releasing_records", abi.OffReleasingRecords, recs,
				fmt.Sprintf("more records than %d bytes can hold after read_records %d", span, h.ReadRecords.Load()))
		}
		if bytes-h.ReadBytes.Load() > span {
			return corruptPosition("releasing_bytes", abi.OffReleasingBytes, bytes,
				fmt.Sprintf("more payload bytes than a span of %d after read_bytes %d", span, h.ReadBytes.Load()))
		}
		r.zeroSpan(head, span)
		h.ReadRecords.Store(recs)
		h.ReadBytes.Store(bytes)
		head = rel
		storeRelease(&h.Head, head)
	}
	r.head, r.next, r.tailCache = head, head, tail
	r.total = counts{h.ReadRecords.Load(), h.ReadBytes.Load()}
	return nil
}

// tryRead returns the next committed record, passing over skips (spec
// section 7.1): ErrEmpty when none is ready, an error wrapping ErrCorrupt
// (the same one from then on) when the ring breaks the protocol, and
// ErrClosed when closed is set (the consumer's Close was called).
func (r *reader) tryRead(closed bool) (Record, error) {
	if closed {
		return Record{}, ErrClosed
	}
	for {
		b, size, err := r.peek()
		if err != nil {
			if err == ErrEmpty && r.pending.records == 0 && r.next != r.head {
				r.release() // only skips were passed: give them back now
			}
			return Record{}, err
		}
		pos := r.next
		r.next += size
		if b != nil {
			seq := r.total.records + r.pending.records
			r.pending.records++
			r.pending.bytes += uint64(len(b))
			return Record{b, pos, seq}, nil
		}
	}
}

// readBatch calls fn with each committed record ready, up to max of them,
// zeroing each as soon as fn returns, and stores head once at the end.
//
// Zeroing record by record, not in one pass at the end, keeps the zeroing
// stores just behind the read cursor, so the CPU's prefetcher fetches the
// next records' lines while the cursor is still on this one. A pass over
// headers alone takes one cache miss per record in turn, each to a line the
// producer's core wrote last; where that is a slow cross-core transfer it
// made the consumer about 2.5 times slower.
func (r *reader) readBatch(max int, fn func([]byte)) (int, error) {
	r.release() // what tryRead handed out before is not ours to zero record by record
	n := 0
	var err error
	for n < max {
		var b []byte
		var size uint64
		if b, size, err = r.peek(); err != nil {
			break
		}
		pos := r.next
		r.next += size // first, so a panicking fn cannot have its record read twice
		if b != nil {
			r.pending.records++
			r.pending.bytes += uint64(len(b))
			fn(b)
			n++
		}
		r.announce()
		r.zeroSpan(pos, size)
	}
	r.advance()
	if err == ErrEmpty {
		err = nil
	}
	return n, err
}

// release zeroes every record read since the last release (skips included)
// and gives the space back to the producers with one store of head (spec
// section 7.2).
func (r *reader) release() {
	if r.next == r.head {
		return
	}
	r.announce()
	r.zeroSpan(r.head, r.next-r.head)
	r.advance()
}

// announce publishes, before any byte of [head, next) is zeroed, where the
// release under way ends and what read_records and read_bytes will then
// be, for a consumer that takes over if this one dies mid-release (spec
// section 7.2, step 1). The stores are plain MOVs on amd64: they are read
// only after this process is gone.
func (r *reader) announce() {
	h := r.hdr
	storeRelease(&h.ReleasingRecords, r.total.records+r.pending.records)
	storeRelease(&h.ReleasingBytes, r.total.bytes+r.pending.bytes)
	storeRelease(&h.Releasing, r.next)
}

// advance publishes the read counters and then head, once [head, next) is
// zeroed (spec section 7.2, step 3).
func (r *reader) advance() {
	if r.next == r.head {
		return
	}
	if r.pending.records != 0 {
		r.total.records += r.pending.records
		r.total.bytes += r.pending.bytes
		r.pending = counts{}
		storeRelease(&r.hdr.ReadRecords, r.total.records)
		storeRelease(&r.hdr.ReadBytes, r.total.bytes)
	}
	r.head = r.next
	storeRelease(&r.hdr.Head, r.head)
}

// When to load tail (spec 7.1 loads it after the word, and only when the
// cached one falls short). On an SPSC ring the reader loads it right after
// the word, before looking at the word, wherever it may need a fresh one
// (caught up with the cached tail in peek; always in peekSlow): a record
// just committed on another core costs two cache misses, the word's line
// and tail's, and loaded back to back they overlap instead of following one
// another (round trip 8 B p50 660 -> 470 ticks, BENCHMARKS.md). The price
// is a load of tail on every empty poll, which an SPSC producer's plain
// store of tail absorbs. An MPSC producer claims by a compare-and-swap on
// tail, which stalls until it owns the line: a consumer polling tail took
// the line from under every claim (MPSC message rate at one producer
// 0.73x), so on an MPSC ring tail is loaded only once a committed word is
// seen (peekSlow: any word but 0 that needs it).

// peek decodes and validates the record header word at the read cursor
// (spec section 7.1). It returns the payload of a committed record, or nil
// for a skip, and the record's size; ErrEmpty when nothing is ready.
//
// The common case, a committed record inside the cached tail, or inside a
// fresh one when the reader has caught up with the cached one (a consumer
// that keeps up reads every record so; through peekSlow, `logbuf bench`
// consume 64 B took 94 ticks with the clock pair, here 75), is checked
// here in a few instructions (the same rules as peekSlow's, for that one
// kind); everything else, and every failure, is peekSlow's.
func (r *reader) peek() ([]byte, uint64, error) {
	pos := r.next
	off := pos & r.mask
	if r.err == nil && pos-r.head < r.capacity {
		w := r.reg.WordAt(off).Load()
		committed := w>>32 == uint64(abi.CommittedWord(0))>>32
		tail := r.tailCache
		if tail == pos && (!r.mpsc || committed) { // SPSC first: no wait on the word
			// Caught up with the cached tail: whatever is here needs a
			// newer one (when to load it: see above).
			tail = r.hdr.Tail.Load()
		}
		n := w & (1<<32 - 1)
		// COMMITTED, with zero lap and owner bits, and 1 <= len <= max_payload.
		if committed && n-1 < r.maxPayload {
			size := abi.RecordSize(n)
			if off+size <= r.capacity && tail-pos >= size && r.tailOK(tail, pos) {
				r.tailCache = tail
				end := off + abi.WordSize + n
				return r.data[off+abi.WordSize : end : end], size, nil
			}
		}
	}
	return r.peekSlow()
}

// peekSlow is peek for every word: it validates the word at the read cursor
// by every rule of spec section 7.1, reloading the tail when the cached one
// is behind.
func (r *reader) peekSlow() ([]byte, uint64, error) {
	if r.err != nil {
		return nil, 0, r.err
	}
	pos := r.next
	if pos-r.head >= r.capacity {
		// A whole ring read and not released: the word at pos is the
		// unreleased one at head, not a new record.
		return nil, 0, ErrEmpty
	}
	off := pos & r.mask
	w := abi.Word(r.reg.WordAt(off).Load())
	var t uint64
	if !r.mpsc {
		t = r.hdr.Tail.Load() // when to load it: see above peek
	}
	if w == 0 {
		return nil, 0, ErrEmpty
	}
	size, bad := r.wordRule(pos, w)
	if bad != "" {
		return nil, 0, r.fail(pos, w, bad)
	}
	if avail := r.tailCache - pos; avail > r.capacity || avail < size {
		if r.mpsc {
			t = r.hdr.Tail.Load()
		}
		if err := r.reloadTail(pos, size, w, t); err != nil {
			return nil, 0, err
		}
	}
	switch w.Kind() {
	case abi.KindCommitted:
		end := off + abi.WordSize + uint64(w.Len())
		return r.data[off+abi.WordSize : end : end], size, nil
	case abi.KindClaimed:
		return nil, 0, ErrEmpty // a producer is writing it
	}
	return nil, size, nil
}

// wordRule applies the rules of spec section 7.1 that a non-zero header
// word at position pos must meet on its own, every one but the check
// against tail, and returns the record's size, or the rule it breaks. A
// CLAIMED word is validated when it is first seen: a stamp is written once
// with its final values, so one that breaks these rules is never a claim in
// progress.
func (g *geometry) wordRule(pos uint64, w abi.Word) (size uint64, bad string) {
	off := pos & g.mask
	switch k := w.Kind(); {
	case !w.Valid():
		return 0, "unknown kind, or lap/owner bits outside a CLAIMED stamp"
	case k == abi.KindCommitted || k == abi.KindClaimed:
		n := uint64(w.Len())
		switch {
		case n == 0 || n > g.maxPayload:
			return 0, fmt.Sprintf("%v word with payload length %d, not in [1, %d]", k, n, g.maxPayload)
		case k == abi.KindClaimed && w.Lap() != g.lap(pos):
			return 0, fmt.Sprintf("CLAIMED stamp of lap %d at a position of lap %d", w.Lap(), g.lap(pos))
		case k == abi.KindClaimed && !g.mpsc && w.Owner() != 1:
			return 0, fmt.Sprintf("CLAIMED stamp of owner %d on an SPSC ring, whose producer is owner 1", w.Owner())
		case k == abi.KindClaimed && g.mpsc && int(w.Owner()) > abi.ProducerSlots:
			return 0, fmt.Sprintf("CLAIMED stamp of owner %d, above the %d table entries", w.Owner(), abi.ProducerSlots)
		}
		size = abi.RecordSize(n)
	default: // a skip
		size = uint64(w.Len())
		switch {
		case size < abi.WordSize || size%abi.WordSize != 0:
			return 0, fmt.Sprintf("skip of %d bytes is not a positive multiple of 8", size)
		case k == abi.KindAborted && size > abi.RecordSize(g.maxPayload):
			return 0, fmt.Sprintf("aborted record of %d bytes is larger than any claim", size)
		case k == abi.KindPadding && off+size != g.capacity:
			return 0, fmt.Sprintf("padding at offset %d of %d bytes does not end at the wrap point %d", off, size, g.capacity)
		}
	}
	if off+size > g.capacity {
		return 0, fmt.Sprintf("record of %d bytes at offset %d crosses the end of the data area", size, off)
	}
	return size, ""
}

// reloadTail refreshes the cached tail with t, a tail loaded after the
// word at pos, when the record at pos seems to run past the cached one, and
// fails if it really does.
func (r *reader) reloadTail(pos, size uint64, w abi.Word, t uint64) error {
	if err := r.checkTail(t); err != nil {
		r.err = err
		return err
	}
	r.tailCache = t
	if avail := t - pos; avail > r.capacity || avail < size {
		return r.fail(pos, w, fmt.Sprintf("record of %d bytes runs past tail %d", size, t))
	}
	return nil
}

// tailOK is spec section 7.1's rule (step 3) for a tail the reader loaded
// at its read cursor next:
// a multiple of 8, not behind the read cursor (tail never moves back,
// whether or not the records before the cursor are released yet), at most
// capacity ahead of the released head.
func (r *reader) tailOK(tail, next uint64) bool {
	// tail-next wraps to above capacity when tail is behind next.
	return tail-next <= r.capacity && tail%abi.WordSize == 0 && tail-r.head <= r.capacity
}

// checkTail is tailOK as an error that names the field.
func (r *reader) checkTail(tail uint64) error {
	if !r.tailOK(tail, r.next) {
		return corruptPosition("tail", abi.OffTail, tail,
			"not a multiple of 8 between the read cursor "+utoa(r.next)+" and capacity ahead of head "+utoa(r.head))
	}
	return nil
}

func (r *reader) fail(pos uint64, w abi.Word, reason string) error {
	r.err = corrupt(pos, w, reason)
	return r.err
}
