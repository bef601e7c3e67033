package abi

import (
	"crypto/rand"
	"fmt"
	"math/bits"
	"sync/atomic"
	"unsafe"
)

// Mode is a ring's producer discipline, fixed when the region is formatted.
type Mode uint32

const (
	// SPSC rings have one producer, which publishes tail with plain stores.
	SPSC Mode = 0
	// MPSC rings have any number of producers, which reserve with a CAS.
	MPSC Mode = FlagMPSC
)

// String returns "spsc" or "mpsc".
func (m Mode) String() string {
	if m == MPSC {
		return "mpsc"
	}
	return "spsc"
}

// Region is a validated view of a ring's memory: header and data area. The
// values it validated (capacity, mode) are copied out of the header when the
// Region is made and never read from shared memory again, so a party that
// rewrites the header later cannot change the bounds the ring code uses.
type Region struct {
	mem      []byte
	hdr      *Header
	data     []byte
	capacity uint64
	mode     Mode
	id       RingID
}

// Format lays out a new region in mem for a data area of capacity bytes, a
// power of two in [MinCapacity, MaxCapacity]: it zeroes the first
// HeaderSize+capacity bytes and writes the identity fields. mem must be
// 128-byte aligned and hold at least HeaderSize+capacity bytes.
func Format(mem []byte, capacity uint64, mode Mode) (*Region, error) {
	if err := checkCapacity(capacity); err != nil {
		return nil, err
	}
	if mode != SPSC && mode != MPSC {
		return nil, fmt.Errorf("logbuf: unknown mode %d", mode)
	}
	if uint64(len(mem)) < HeaderSize+capacity {
		return nil, fmt.Errorf("logbuf: %d bytes cannot hold a ring of capacity %d (need %d)",
			len(mem), capacity, HeaderSize+capacity)
	}
	if uintptr(unsafe.Pointer(unsafe.SliceData(mem)))%LineSize != 0 {
		return nil, fmt.Errorf("logbuf: region memory is not %d-byte aligned", LineSize)
	}
	mem = mem[: HeaderSize+capacity : HeaderSize+capacity]
	clear(mem)
	h := (*Header)(unsafe.Pointer(unsafe.SliceData(mem)))
	writeIdentity(h, capacity, mode)
	return &Region{mem: mem, hdr: h, data: mem[HeaderSize:], capacity: capacity, mode: mode, id: h.RingID}, nil
}

// Open validates a region someone else formatted (spec section 10) and
// returns a view of it. The first check that fails is returned as a
// *CorruptError naming the field. Open reads the header once; it does not
// change the region.
func Open(mem []byte) (*Region, error) {
	if len(mem) < HeaderSize {
		return nil, &CorruptError{Field: "region size", Value: uint64(len(mem)),
			Reason: fmt.Sprintf("shorter than the %d-byte header", HeaderSize)}
	}
	if uintptr(unsafe.Pointer(unsafe.SliceData(mem)))%LineSize != 0 {
		return nil, fmt.Errorf("logbuf: region memory is not %d-byte aligned", LineSize)
	}
	h := (*Header)(unsafe.Pointer(unsafe.SliceData(mem)))
	bad := func(field string, off int, v uint64, reason string, args ...any) error {
		return &CorruptError{Field: field, Offset: uint64(off), Value: v, Reason: fmt.Sprintf(reason, args...)}
	}
	if m := h.Magic; m != Magic {
		return nil, bad("magic", OffMagic, m, "not a logbuf ring (want %#x)", Magic)
	}
	if v := h.Version; v != Version {
		return nil, bad("version", OffVersion, uint64(v), "unsupported protocol version (want %d; a version-1 ring must be re-created)", Version)
	}
	if v := h.HeaderSize; v != HeaderSize {
		return nil, bad("header_size", OffHeaderSize, uint64(v), "want %d", HeaderSize)
	}
	if v := h.LineSize; v != LineSize {
		return nil, bad("line_size", OffLineSize, uint64(v), "want %d", LineSize)
	}
	if v := h.ProducerSlots; v != ProducerSlots {
		return nil, bad("producer_slots", OffProducerSlots, uint64(v), "want %d", ProducerSlots)
	}
	capacity := h.Capacity
	if err := checkCapacity(capacity); err != nil {
		return nil, bad("capacity", OffCapacity, capacity, "%v", err)
	}
	if uint64(len(mem)) < HeaderSize+capacity {
		return nil, bad("capacity", OffCapacity, capacity,
			"the region holds %d bytes, fewer than header + capacity = %d", len(mem), HeaderSize+capacity)
	}
	flags := h.Flags
	if flags&^knownFlags != 0 {
		return nil, bad("flags", OffFlags, uint64(flags), "unknown flag bits %#x", flags&^knownFlags)
	}
	if h.RingID == (RingID{}) {
		return nil, bad("ring_id", OffRingID, 0, "all zero: a ring needs an identity (spec section 10)")
	}
	mem = mem[: HeaderSize+capacity : HeaderSize+capacity]
	r := &Region{mem: mem, hdr: h, data: mem[HeaderSize:], capacity: capacity, mode: Mode(flags & FlagMPSC), id: h.RingID}
	if _, _, err := r.Positions(); err != nil {
		return nil, err
	}
	return r, nil
}

// Positions loads head and tail and checks them (spec section 10, step 7):
// both multiples of 8, tail at most Capacity ahead of head. Other parties
// write them while the ring runs, so a producer or consumer that attaches
// checks them again rather than trusting what Open saw.
func (r *Region) Positions() (head, tail uint64, err error) {
	head, tail = r.hdr.Head.Load(), r.hdr.Tail.Load()
	bad := func(field string, off int, v uint64, reason string) error {
		return &CorruptError{Field: field, Offset: uint64(off), Value: v, Reason: reason}
	}
	switch {
	case head%WordSize != 0:
		return 0, 0, bad("head", OffHead, head, "not a multiple of 8")
	case tail%WordSize != 0:
		return 0, 0, bad("tail", OffTail, tail, "not a multiple of 8")
	case tail-head > r.capacity:
		return 0, 0, bad("tail", OffTail, tail, fmt.Sprintf("more than capacity (%d) ahead of head (%d)", r.capacity, head))
	}
	return head, tail, nil
}

func checkCapacity(c uint64) error {
	if c < MinCapacity || c > MaxCapacity || c&(c-1) != 0 {
		return fmt.Errorf("capacity %d is not a power of two in [%d, %d]", c, MinCapacity, MaxCapacity)
	}
	return nil
}

// RoundCapacity returns the smallest valid capacity that is at least n.
func RoundCapacity(n uint64) (uint64, error) {
	if n <= MinCapacity {
		return MinCapacity, nil
	}
	if n > MaxCapacity {
		return 0, fmt.Errorf("logbuf: capacity %d is larger than the maximum %d", n, uint64(MaxCapacity))
	}
	return 1 << bits.Len64(n-1), nil
}

// Header is the region's header. Identity fields must not be trusted from it
// after Open: use Capacity and Mode.
func (r *Region) Header() *Header { return r.hdr }

// Data is the data area: Capacity bytes.
func (r *Region) Data() []byte { return r.data }

// Bytes is the whole region, header and data area.
func (r *Region) Bytes() []byte { return r.mem }

// Capacity is the data area's size, as validated.
func (r *Region) Capacity() uint64 { return r.capacity }

// Mode is the ring's mode, as validated.
func (r *Region) Mode() Mode { return r.mode }

// MaxPayload is the largest payload the ring accepts.
func (r *Region) MaxPayload() uint64 { return MaxPayload(r.capacity) }

// ID is the ring's identity: the ring_id its creator wrote, as validated
// (read once, like Capacity and Mode).
func (r *Region) ID() RingID { return r.id }

// WordAt returns the record header word at byte offset off of the data area.
// off must be a multiple of 8 below Capacity.
func (r *Region) WordAt(off uint64) *atomic.Uint64 {
	return (*atomic.Uint64)(unsafe.Pointer(&r.data[off]))
}

// writeIdentity writes the identity fields of a region header whose bytes are
// all zero (spec section 10, "Create"), with a fresh random ring id.
func writeIdentity(h *Header, capacity uint64, mode Mode) {
	h.Magic = Magic
	h.Version = Version
	h.HeaderSize = HeaderSize
	h.Capacity = capacity
	h.Flags = uint32(mode)
	h.LineSize = LineSize
	h.ProducerSlots = ProducerSlots
	rand.Read(h.RingID[:]) // never fails (crypto/rand, Go 1.24 and later)
}
