package fuzz

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math/bits"
	"strings"
	"testing"

	"github.com/logbuf/logbuf/abi"
	"github.com/logbuf/logbuf/ring"
)

// FuzzHostile hands the consumer and the producers memory that another,
// possibly broken or malicious, party wrote: a region header and data area
// built from the input. abi.Open must refuse it cleanly or accept it; the
// consumer must then deliver exactly the records that spec section 7's
// checks accept, in order, and stop with ErrEmpty or ErrCorrupt where the
// reference walk (refWalk) stops, never panic, never loop, and return only
// slices inside the data area. Then the other party keeps rewriting head,
// tail and record words while the consumer and a producer work: only
// clean errors and no access outside the region are allowed.
//
// The first input byte chooses the form: below 0xF0, a structured region
// (capacity, flags, head, tail and record words decoded from the input);
// otherwise the input is the region's bytes verbatim: the first rawHeader
// bytes of the header (the rest is zero), then the data area.
func FuzzHostile(f *testing.F) {
	f.Fuzz(func(t *testing.T, in []byte) { runHostile(t, in) })
}

const canary = 0xA5

// rawHeader is how many header bytes a raw-form input gives.
const rawHeader = 0x110

// hostileMem lays the region out in a guarded arena, canary bytes around it.
func hostileMem(t testing.TB, region []byte) (mem []byte, intact func() bool) {
	arena, lo := guarded(t, len(region))
	for i := range arena {
		arena[i] = canary
	}
	copy(arena[lo:], region)
	// mem's capacity ends with the region, so no slice derived from it
	// reaches the canaries by its capacity.
	mem = arena[lo : lo+len(region) : lo+len(region)]
	return mem, func() bool {
		for _, b := range arena[:lo] {
			if b != canary {
				return false
			}
		}
		for _, b := range arena[lo+len(region):] {
			if b != canary {
				return false
			}
		}
		return true
	}
}

// hostileRegion decodes a region image from the input.
func hostileRegion(in *input) []byte {
	if in.byte() >= 0xF0 {
		// The header's named fields end at 0x108 (tail); the rest of it is
		// reserved or a party's liveness, which the reader ignores. Taking
		// only its first rawHeader bytes from the input keeps inputs, and
		// the fuzzer's minimization of them, short.
		if len(in.b) < rawHeader {
			return bytes.Clone(in.b) // shorter than a header
		}
		data := in.b[rawHeader:min(len(in.b), rawHeader+8192)]
		img := make([]byte, abi.HeaderSize+len(data))
		copy(img, in.b[:rawHeader])
		copy(img[abi.HeaderSize:], data)
		in.b = in.b[rawHeader+len(data):]
		return img
	}
	capacity := capacityFrom(in.byte())
	size := abi.HeaderSize + int(capacity)
	if b := in.byte(); b >= 0xF8 {
		size -= int(b - 0xF7) // a region too short for its capacity
	}
	img := make([]byte, size)
	le := binary.LittleEndian
	le.PutUint64(img[abi.OffMagic:], abi.Magic)
	le.PutUint32(img[abi.OffVersion:], abi.Version)
	le.PutUint32(img[abi.OffHeaderSize:], abi.HeaderSize)
	le.PutUint64(img[abi.OffCapacity:], capacity)
	le.PutUint32(img[abi.OffLineSize:], abi.LineSize)
	le.PutUint32(img[abi.OffProducerSlots:], abi.ProducerSlots)
	copy(img[abi.OffRingID:], "hostile-ring-id!")
	if f := in.byte(); f >= 0xF0 {
		le.PutUint32(img[abi.OffFlags:], uint32(f)) // unknown flag bits
	} else {
		le.PutUint32(img[abi.OffFlags:], uint32(f&abi.FlagMPSC))
	}
	if b := in.byte(); b >= 0xF8 { // break one identity field
		fields := []int{abi.OffMagic, abi.OffVersion, abi.OffHeaderSize, abi.OffCapacity,
			abi.OffLineSize, abi.OffProducerSlots, abi.OffFlags, abi.OffHead}
		le.PutUint32(img[fields[b&7]:], uint32(in.u64()))
	}
	head := hostilePos(in, capacity)
	tail := head + hostileSpan(in, capacity)
	le.PutUint64(img[abi.OffHead:], head)
	le.PutUint64(img[abi.OffReleasing:], head) // no release under way (spec 7.2)
	le.PutUint64(img[abi.OffTail:], tail)
	// Record words and payload bytes: count, then (offset, word) pairs, laid
	// out from head so that well-formed chains are easy to reach.
	data := img[abi.HeaderSize:]
	pos := head
	for range int(in.byte() % 32) {
		w := hostileWord(in, capacity)
		step := uint64(in.byte())
		switch {
		case step < 0xC0: // the next word where this record ends, if it can
			off := pos % capacity
			if off+8 <= uint64(len(data)) {
				le.PutUint64(data[off:], w)
			}
			pos += recordExtent(w)
		case step < 0xF0: // payload bytes after the word
			off := pos % capacity
			for i := range uint64(step & 0x3F) {
				if off+8+i < uint64(len(data)) {
					data[off+8+i] = byte(i) ^ byte(step)
				}
			}
		default: // a word anywhere, aligned or not
			off := uint64(in.u16()) % capacity
			if off+8 <= uint64(len(data)) {
				le.PutUint64(data[off:], w)
			}
		}
	}
	return img
}

// hostilePos picks a head position: small, near 2^64, arbitrary or laps in.
func hostilePos(in *input, capacity uint64) uint64 {
	switch b := in.byte(); b % 4 {
	case 0:
		return uint64(in.u16()) * 8
	case 1:
		return -uint64(in.u16()) * 8
	case 2:
		return in.u64()
	default:
		return uint64(in.u16())*capacity + uint64(in.byte())*8
	}
}

// hostileSpan picks tail - head: mostly aligned and within capacity.
func hostileSpan(in *input, capacity uint64) uint64 {
	v := uint64(in.u16())
	switch b := in.byte(); {
	case b < 0xE0:
		return v % (capacity + 8) &^ 7
	case b < 0xF0:
		return capacity
	default:
		return v // unaligned, or more than capacity
	}
}

// hostileWord picks a record header word: each kind with small lengths,
// sometimes lap and owner bits, sometimes anything.
func hostileWord(in *input, capacity uint64) uint64 {
	kinds := []uint64{0, KindClaimed, KindCommitted, KindPadding, KindAborted, KindUnblocked, KindCommitted, KindCommitted}
	b := in.byte()
	if b >= 0xF8 {
		return in.u64()
	}
	kind := kinds[b&7]
	n := uint64(in.byte())
	switch b >> 3 & 3 {
	case 1:
		n = n * 8 % (capacity + 8)
	case 2:
		n = capacity/8 + n%16 - 8
	case 3:
		n |= uint64(in.byte()) << 8
	}
	w := kind<<56 | n
	if b>>5 == 7 {
		w |= uint64(in.u16()) << 32 // lap and owner bits
	}
	return w
}

// recordExtent is how far a well-formed word of this kind reaches.
func recordExtent(w uint64) uint64 {
	switch w >> 56 {
	case KindCommitted, KindClaimed:
		return RecordSize(int(uint32(w)))
	case 0:
		return 8
	}
	return max(uint64(uint32(w))&^7, 8)
}

// refRecord is a record refWalk accepts: its position and length.
type refRecord struct{ pos, n uint64 }

// refWalk applies spec section 7 to a snapshot of the data area, from head
// to tail, without releasing: it returns the committed records a consumer
// must deliver and where it must stop, with "corrupt" set if the word there
// breaks a rule, or clear if it says "nothing yet".
func refWalk(data []byte, capacity, head, tail uint64, mpsc bool) (recs []refRecord, stop uint64, corrupt bool) {
	maxPayload := capacity / 8
	lapShift := uint(bits.TrailingZeros64(capacity))
	for pos := head; ; {
		if pos-head == capacity {
			return recs, pos, false // a whole ring read: the word here is head's
		}
		off := pos % capacity
		w := binary.LittleEndian.Uint64(data[off:])
		kind, n := w>>56, w&0xFFFF_FFFF
		if w == 0 {
			return recs, pos, false
		}
		if kind != KindClaimed && w>>32&0xFF_FFFF != 0 {
			return recs, pos, true // lap or owner bits outside a stamp
		}
		var size uint64
		switch kind {
		case KindClaimed: // validated when seen (spec 7.1), then waited on
			lap, owner := w>>32&0xFFFF, w>>48&0xFF
			if n < 1 || n > maxPayload || lap != pos>>lapShift&0xFFFF ||
				!mpsc && owner != 1 || mpsc && owner > 32 {
				return recs, pos, true
			}
			size = RecordSize(int(n))
		case KindCommitted:
			if n < 1 || n > maxPayload {
				return recs, pos, true
			}
			size = RecordSize(int(n))
		case KindPadding, KindAborted, KindUnblocked:
			size = n
			if size < 8 || size%8 != 0 ||
				kind == KindAborted && size > RecordSize(int(maxPayload)) ||
				kind == KindPadding && off+size != capacity {
				return recs, pos, true
			}
		default:
			return recs, pos, true // an unknown kind, or EMPTY with bits set
		}
		if off+size > capacity || tail-pos < size {
			return recs, pos, true
		}
		if kind == KindClaimed {
			return recs, pos, false
		}
		if kind == KindCommitted {
			recs = append(recs, refRecord{pos, n})
		}
		pos += size
	}
}

// cleanErr reports whether a consumer or producer error is one a caller can
// handle: a sentinel, or a corruption report.
func cleanErr(err error) bool {
	var ce *abi.CorruptError
	switch {
	case err == nil, err == ring.ErrEmpty, err == ring.ErrFull, err == ring.ErrTooLarge,
		err == ring.ErrZeroLength, err == ring.ErrClosed, err == ring.ErrDiscarded, err == ring.ErrClaimEnded:
		return true
	}
	return errors.Is(err, ring.ErrCorrupt) && errors.As(err, &ce)
}

func runHostile(t *testing.T, raw []byte) {
	in := &input{raw}
	img := hostileRegion(in)
	if len(img) < abi.HeaderSize {
		img = append(img, make([]byte, abi.HeaderSize-len(img))...)
	}
	mem, intact := hostileMem(t, img)
	reg, err := abi.Open(mem)
	if err != nil {
		var ce *abi.CorruptError
		if reg != nil || !errors.Is(err, abi.ErrCorrupt) || !errors.As(err, &ce) {
			t.Fatalf("Open = %v, %v: want a *CorruptError and no region", reg, err)
		}
		return
	}
	capacity, data := reg.Capacity(), reg.Data()
	hdr := reg.Header()
	// Attaching finishes a release the header says is under way (spec
	// 7.2), or refuses a releasing field that breaks its rule.
	cons, err := ring.NewConsumer(reg)
	if err != nil {
		var ce *abi.CorruptError
		if !errors.As(err, &ce) || !strings.HasPrefix(ce.Field, "releasing") {
			t.Fatalf("NewConsumer = %v: want success or a corrupt releasing field", err)
		}
		return
	}
	head, tail := hdr.Head.Load(), hdr.Tail.Load()
	recs, stop, corrupt := refWalk(bytes.Clone(data), capacity, head, tail, reg.Mode() == abi.MPSC)

	// Phase 1: nobody else writes. The consumer must follow refWalk exactly.
	next := 0 // index in recs of the next record due
	deliver := func(b []byte) {
		off, inside := offsetIn(data, b)
		if next >= len(recs) {
			t.Fatalf("delivered a record (%d bytes at offset %d) after the %d refWalk accepts", len(b), off, len(recs))
		}
		r := recs[next]
		if !inside || uint64(off) != r.pos%capacity+8 || uint64(len(b)) != r.n {
			t.Fatalf("record %d: %d bytes at offset %d (inside %v), want %d at %d", next, len(b), off, inside, r.n, r.pos%capacity+8)
		}
		next++
	}
	var last error
	for calls := 0; calls < 2*len(recs)+64 && (next < len(recs) || last == nil); calls++ {
		op := in.byte() % 4
		if calls >= len(recs)+32 {
			op = 0 // the input asked for enough; finish with TryRead
		}
		switch op {
		case 0, 1:
			var rec ring.Record
			if rec, last = cons.TryRead(); last == nil {
				deliver(rec.Bytes())
			}
		case 2:
			_, last = cons.ReadBatch(1+int(in.byte()%8), deliver)
			if last == nil && next == len(recs) {
				_, last = cons.TryRead()
			}
		case 3:
			cons.Release()
		}
		if last != nil && last != ring.ErrEmpty && !errors.Is(last, ring.ErrCorrupt) {
			t.Fatalf("consumer error %v", last)
		}
	}
	if next != len(recs) {
		t.Fatalf("delivered %d records, refWalk accepts %d", next, len(recs))
	}
	var ce *abi.CorruptError
	switch {
	case !corrupt && last != ring.ErrEmpty:
		t.Fatalf("stopped with %v at position %d, want ErrEmpty", last, stop)
	case corrupt && (!errors.As(last, &ce) || ce.Field != "record" || ce.Offset != stop):
		t.Fatalf("stopped with %v, want a corrupt record at position %d", last, stop)
	case corrupt:
		if rec, err := cons.TryRead(); err != last || rec.Bytes() != nil {
			t.Fatalf("TryRead after %v = %v", last, err)
		}
	}
	if !intact() {
		t.Fatal("the consumer wrote outside the region")
	}

	// Phase 2: the other party rewrites head, tail and words between calls
	// of a new consumer and a producer. Only clean errors, no panic, slices
	// inside the data area, nothing written outside the region.
	cons.Close()
	runHostileParties(t, in, reg, intact)
}

func runHostileParties(t *testing.T, in *input, reg *abi.Region, intact func() bool) {
	capacity, data, hdr := reg.Capacity(), reg.Data(), reg.Header()
	maxPayload := int(reg.MaxPayload())
	// The other party may move head and tail between Open and attaching.
	if b := in.byte(); b&3 != 0 {
		h, t := hdr.Head.Load()+uint64(int64(int8(in.byte()))), hdr.Tail.Load()+uint64(int64(int8(in.byte())))
		if b&1 != 0 {
			hdr.Head.Store(h)
		}
		if b&2 != 0 {
			hdr.Tail.Store(t)
		}
	}
	var claimer ring.Producer
	if reg.Mode() == abi.SPSC {
		if _, err := ring.NewMPSCProducer(reg); err == nil {
			t.Fatal("an MPSC producer attached to an SPSC ring")
		}
		p, err := ring.NewSPSCProducer(reg)
		if err != nil {
			attachErr(t, err)
			return
		}
		claimer = p
	} else {
		if _, err := ring.NewSPSCProducer(reg); err == nil {
			t.Fatal("an SPSC producer attached to an MPSC ring")
		}
		p, err := ring.NewMPSCProducer(reg)
		if err != nil {
			attachErr(t, err)
			return
		}
		claimer = p
	}
	cons, err := ring.NewConsumer(reg)
	if err != nil {
		attachErr(t, err)
		return
	}
	var open []ring.Claim
	check := func(what string, b []byte, err error) {
		if !cleanErr(err) {
			t.Fatalf("%s: %v", what, err)
		}
		if _, inside := offsetIn(data, b); !inside || len(b) > maxPayload {
			t.Fatalf("%s: a slice of %d bytes outside the data area", what, len(b))
		}
	}
	for range 64 {
		if !in.more() {
			break
		}
		switch b := in.byte(); b % 8 {
		case 0: // the other party moves tail or head
			v := hdr.Tail.Load() + uint64(int64(int8(in.byte())))
			if b&8 != 0 {
				v = in.u64()
			}
			if b&16 != 0 {
				hdr.Head.Store(v)
			} else {
				hdr.Tail.Store(v)
			}
		case 1: // or writes a word anywhere in the data area
			off := uint64(in.u16()) % capacity &^ 7
			reg.WordAt(off).Store(hostileWord(in, capacity))
		case 2, 3:
			n := int(in.byte()) % (maxPayload + 2)
			c, err := claimer.TryClaim(n)
			check("TryClaim", c.Bytes(), err)
			if err == nil {
				if len(c.Bytes()) != n {
					t.Fatalf("TryClaim(%d) gave %d bytes", n, len(c.Bytes()))
				}
				for i := range c.Bytes() {
					c.Bytes()[i] = byte(i)
				}
				open = append(open, c)
			}
		case 4:
			if len(open) > 0 {
				c := &open[int(in.byte())%len(open)]
				if b&8 != 0 {
					c.Abort()
				} else {
					check("Commit", nil, c.Commit())
				}
			}
		case 5, 6:
			rec, err := cons.TryRead()
			check("TryRead", rec.Bytes(), err)
		case 7:
			_, err := cons.ReadBatch(int(in.byte()%8), func(b []byte) { check("ReadBatch", b, nil) })
			check("ReadBatch", nil, err)
		}
	}
	if !intact() {
		t.Fatal("a producer or the consumer wrote outside the region")
	}
}

// attachErr accepts the errors attaching to a hostile region may give: the
// positions another party wrote are checked again at attach (ErrCorrupt), and
// its producer table may name a live SPSC producer (ErrBusy).
func attachErr(t *testing.T, err error) {
	t.Helper()
	if !errors.Is(err, ring.ErrCorrupt) && !errors.Is(err, ring.ErrProducerBusy) {
		t.Fatalf("attach: %v", err)
	}
}
