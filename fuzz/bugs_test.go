package fuzz

import (
	"errors"
	"testing"
	"unsafe"

	"github.com/logbuf/logbuf/abi"
	"github.com/logbuf/logbuf/ring"
)

// Minimal reproductions of the bugs the fuzz targets found, kept as
// regression tests; each failed until its fix went into ring/ or abi/.

// heapRegion formats a ring in heap memory followed by 64 canary bytes.
func heapRegion(t *testing.T, capacity uint64, mode abi.Mode) (*abi.Region, func() bool) {
	t.Helper()
	words := make([]uint64, (abi.HeaderSize+capacity+128+64)/8)
	buf := unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(words))), len(words)*8)
	lo := int((128 - uintptr(unsafe.Pointer(unsafe.SliceData(buf)))%128) % 128)
	end := lo + abi.HeaderSize + int(capacity)
	for i := end; i < len(buf); i++ {
		buf[i] = canary
	}
	reg, err := abi.Format(buf[lo:end], capacity, mode)
	if err != nil {
		t.Fatal(err)
	}
	return reg, func() bool {
		for _, b := range buf[end:] {
			if b != canary {
				return false
			}
		}
		return true
	}
}

// TestMPSCMisalignedTail: an MPSC producer trusts the shared tail, which any
// other producer (any process mapping the ring) writes. With tail = 61 the
// claim pads from offset 61 and stores the 8-byte padding word over data
// bytes 61..68: 5 bytes past the data area (FuzzHostile found it, first as a
// fault on its guard page; LOGBUF_FUZZ_STRICT=1 replays corpus entry
// bug-mpsc-misaligned-tail). The store is also a misaligned atomic. Want: a
// clean ErrCorrupt naming tail.
func TestMPSCMisalignedTail(t *testing.T) {
	reg, intact := heapRegion(t, 64, abi.MPSC)
	p, err := ring.NewMPSCProducer(reg)
	if err != nil {
		t.Fatal(err)
	}
	reg.Header().Head.Store(56)
	reg.Header().Tail.Store(61) // another party's bad write
	c, err := p.TryClaim(8)
	if err == nil {
		c.Abort()
	}
	if !intact() {
		t.Error("TryClaim wrote past the end of the data area")
	}
	if !errors.Is(err, ring.ErrCorrupt) {
		t.Errorf("TryClaim with tail 61 = %v, want ErrCorrupt", err)
	}
}

// TestRecordBytesCapped: Record.Bytes (and the slice ReadBatch passes) has
// the capacity of the rest of the data area, and beyond it whatever the
// caller's region memory has. append on it writes into the ring: here it
// overwrites the next record's header word, which the consumer then reports
// as corrupt. Claim.Bytes is capped already (a full slice expression).
func TestRecordBytesCapped(t *testing.T) {
	reg, _ := abi.NewHeap(1024, abi.SPSC)
	if c := cap(reg.Data()); c != 1024 {
		t.Errorf("Region.Data has capacity %d, want 1024", c)
	}
	p, _ := ring.NewSPSCProducer(reg)
	cons, _ := ring.NewConsumer(reg)
	p.TrySend([]byte("12345678"))
	p.TrySend([]byte("second"))
	rec, err := cons.TryRead()
	if err != nil {
		t.Fatal(err)
	}
	if b := rec.Bytes(); cap(b) != len(b) {
		t.Errorf("Record.Bytes: len %d, cap %d", len(b), cap(b))
		_ = append(b, "!!!!!!!!"...) // what a caller may innocently do
	}
	if rec, err := cons.TryRead(); err != nil || string(rec.Bytes()) != "second" {
		t.Errorf("next record after an append: %q, %v", rec.Bytes(), err)
	}
}

// TestMPSCClosedChecksLength: after Close, every claim of an SPSC producer
// fails with ErrClosed, as both Close methods document, but an MPSC producer
// checks the length first and returns ErrZeroLength or ErrTooLarge.
func TestMPSCClosedChecksLength(t *testing.T) {
	reg, _ := abi.NewHeap(1024, abi.MPSC)
	p, _ := ring.NewMPSCProducer(reg)
	p.Close()
	for _, n := range []int{0, 1 << 20} {
		if _, err := p.TryClaim(n); err != ring.ErrClosed {
			t.Errorf("TryClaim(%d) after Close = %v, want ErrClosed", n, err)
		}
	}
}

// TestAttachTrustsPositions: NewProducer (SPSC) and NewConsumer load tail
// and head from shared memory without the checks abi.Open made, so a value
// written after Open is trusted (FuzzHostile corpus entry
// bug-spsc-attach-misaligned-tail, with LOGBUF_FUZZ_STRICT=1). An SPSC producer attached at tail 61 pads
// from offset 61 past the end of the data area, as in TestMPSCMisalignedTail;
// a consumer attached at head 4 reads 8-byte words at offsets 4, 12, ...
// (at head capacity-4 it would read 4 bytes past the data area) and reports
// "empty" instead of a corrupt head.
func TestAttachTrustsPositions(t *testing.T) {
	reg, intact := heapRegion(t, 64, abi.SPSC)
	reg.Header().Head.Store(56)
	reg.Header().Tail.Store(61)
	if p, err := ring.NewSPSCProducer(reg); err == nil {
		c, err := p.TryClaim(8)
		if err == nil {
			c.Abort()
		}
		if !intact() || !errors.Is(err, ring.ErrCorrupt) {
			t.Errorf("SPSC producer attached at tail 61: TryClaim = %v, wrote past the data area: %v", err, !intact())
		}
	}
	reg, _ = heapRegion(t, 64, abi.SPSC)
	reg.Header().Head.Store(4)
	reg.Header().Tail.Store(4)
	if c, err := ring.NewConsumer(reg); err == nil {
		if _, err := c.TryRead(); !errors.Is(err, ring.ErrCorrupt) {
			t.Errorf("consumer attached at head 4: TryRead = %v, want ErrCorrupt", err)
		}
	}
}

// TestSPSCCommitAfterClose: an SPSC producer adds committed records to its
// table entry in batches, at head reloads and at Close. A claim committed
// after Close is delivered but never counted: Stats.RecordsWritten stays
// short for good. (MPSC Close documents that open claims may still commit,
// and its commits count at once.)
func TestSPSCCommitAfterClose(t *testing.T) {
	reg, _ := abi.NewHeap(1024, abi.SPSC)
	p, _ := ring.NewSPSCProducer(reg)
	c, err := p.TryClaim(8)
	if err != nil {
		t.Fatal(err)
	}
	p.Close()
	if err := c.Commit(); err != nil {
		t.Fatal(err)
	}
	if s := ring.ReadStats(reg); s.RecordsWritten != 1 || s.BytesWritten != 8 {
		t.Errorf("after a commit following Close: RecordsWritten %d, BytesWritten %d; want 1, 8", s.RecordsWritten, s.BytesWritten)
	}
}
