package fuzz

import (
	"encoding/binary"
	"errors"
	"math/bits"
)

// The model's verdicts. They mirror the ring's sentinels by meaning; the
// tests map them (model.go imports nothing of ours, so that the model cannot
// borrow the code it checks).
var (
	ErrFull       = errors.New("model: full")
	ErrZeroLength = errors.New("model: zero length")
	ErrTooLarge   = errors.New("model: too large")
	ErrEmpty      = errors.New("model: empty")
	ErrDiscarded  = errors.New("model: discarded")
	ErrClaimEnded = errors.New("model: claim already ended")
	ErrClosed     = errors.New("model: closed")
)

// Kinds of the record header word, spelled out from spec/PROTOCOL.md section
// 4 rather than taken from package abi.
const (
	KindClaimed   = 0x01
	KindCommitted = 0x02
	KindPadding   = 0x81
	KindAborted   = 0x82
	KindUnblocked = 0x83
)

// Entry is one stretch of the data area between head and tail: a padding
// skip or a claim in one of its states.
type Entry struct {
	Pos     uint64 // free-running position of its header word
	Size    uint64 // bytes it occupies, header word included
	Kind    uint8  // one of the Kind constants
	N       int    // payload length (claims)
	Owner   uint8  // owner id in the stamp
	Payload []byte // what the producer wrote; zero where it wrote nothing
	ended   bool   // Commit or Abort was called
}

// Model is a plain reference of one ring: the records between head and tail
// as a list, and a byte-exact picture of the data area. It predicts what the
// ring's producer and consumer calls return. It is not safe for concurrent
// use; the fuzz targets drive it from one goroutine.
type Model struct {
	Capacity   uint64
	MaxPayload int
	Head       uint64 // released position
	Next       uint64 // read cursor: entries in [Head, Next) are read
	Tail       uint64
	Data       []byte // the data area as it must be, byte for byte

	entries []*Entry // covering [Head, Tail) exactly, in position order
	cursor  int      // entries[:cursor] are read, not released
	closed  map[uint8]bool

	pendingRecords, pendingBytes uint64
	RecordsRead, BytesRead       uint64
	RecordsWritten, BytesWritten uint64
	Aborts, FullEvents           uint64
}

// NewModel models an empty ring of the given capacity, a power of two.
func NewModel(capacity uint64) *Model {
	return &Model{
		Capacity:   capacity,
		MaxPayload: int(capacity / 8),
		Data:       make([]byte, capacity),
		closed:     map[uint8]bool{},
	}
}

func (m *Model) off(pos uint64) uint64 { return pos % m.Capacity }

func (m *Model) putWord(pos uint64, w uint64) {
	binary.LittleEndian.PutUint64(m.Data[m.off(pos):], w)
}

func word(kind uint8, owner uint8, lap uint64, n uint64) uint64 {
	return uint64(kind)<<56 | uint64(owner)<<48 | (lap&0xFFFF)<<32 | n
}

// RecordSize is align8(8 + n).
func RecordSize(n int) uint64 { return (uint64(n) + 8 + 7) / 8 * 8 }

// Close marks the producer with this owner id closed: its later claims fail.
func (m *Model) Close(owner uint8) { m.closed[owner] = true }

// Claim reserves a record of n payload bytes for the producer owner (spec
// section 5.2): padding first when the record would cross the end. Claims
// after Close fail with ErrClosed whatever their length, as the producers'
// Close documents.
func (m *Model) Claim(owner uint8, n int) (*Entry, error) {
	switch {
	case m.closed[owner]:
		return nil, ErrClosed
	case n == 0:
		return nil, ErrZeroLength
	case n < 0 || n > m.MaxPayload:
		return nil, ErrTooLarge
	}
	size := RecordSize(n)
	off := m.off(m.Tail)
	var pad uint64
	if off+size > m.Capacity {
		pad = m.Capacity - off
	}
	if pad+size > m.Capacity-(m.Tail-m.Head) {
		m.FullEvents++
		return nil, ErrFull
	}
	if pad > 0 {
		m.entries = append(m.entries, &Entry{Pos: m.Tail, Size: pad, Kind: KindPadding})
		m.putWord(m.Tail, word(KindPadding, 0, 0, pad))
	}
	p := m.Tail + pad
	e := &Entry{Pos: p, Size: size, Kind: KindClaimed, N: n, Owner: owner, Payload: make([]byte, n)}
	m.entries = append(m.entries, e)
	lap := p >> bits.TrailingZeros64(m.Capacity)
	m.putWord(p, word(KindClaimed, owner, lap, uint64(n)))
	m.Tail = p + size
	return e, nil
}

// Write stores b into the payload of claim e at offset at.
func (m *Model) Write(e *Entry, at int, b []byte) {
	copy(e.Payload[at:], b)
	copy(m.Data[m.off(e.Pos)+8+uint64(at):], b)
}

// Commit publishes claim e (spec section 5.3).
func (m *Model) Commit(e *Entry) error {
	if e.ended {
		return ErrClaimEnded
	}
	e.ended = true
	if e.Kind == KindUnblocked {
		return ErrDiscarded
	}
	e.Kind = KindCommitted
	m.putWord(e.Pos, word(KindCommitted, 0, 0, uint64(e.N)))
	m.RecordsWritten++
	m.BytesWritten += uint64(e.N)
	return nil
}

// Abort gives claim e back (spec section 5.4); a second end does nothing.
func (m *Model) Abort(e *Entry) {
	if e.ended {
		return
	}
	e.ended = true
	if e.Kind == KindUnblocked {
		return
	}
	e.Kind = KindAborted
	m.putWord(e.Pos, word(KindAborted, 0, 0, e.Size))
	m.Aborts++
}

// Recover turns open claim e into an UNBLOCKED skip, as a consumer does in
// spec section 9. It reports whether e was still CLAIMED.
func (m *Model) Recover(e *Entry) bool {
	if e.Kind != KindClaimed {
		return false
	}
	e.Kind = KindUnblocked
	m.putWord(e.Pos, word(KindUnblocked, 0, 0, e.Size))
	return true
}

// peek returns the entry at the read cursor when the consumer may pass it:
// nil when there is none (cursor at tail) or it is a claim not yet ended.
func (m *Model) peek() *Entry {
	if m.cursor == len(m.entries) || m.entries[m.cursor].Kind == KindClaimed {
		return nil
	}
	return m.entries[m.cursor]
}

func (m *Model) advance(e *Entry) {
	m.cursor++
	m.Next += e.Size
	if e.Kind == KindCommitted {
		m.pendingRecords++
		m.pendingBytes += uint64(e.N)
	}
}

// TryRead returns the next committed record, passing skips. On ErrEmpty,
// when only skips were passed since the last release, it releases them, as
// ring.Consumer.TryRead documents.
func (m *Model) TryRead() (*Entry, error) {
	for {
		e := m.peek()
		if e == nil {
			if m.pendingRecords == 0 && m.Next != m.Head {
				m.Release()
			}
			return nil, ErrEmpty
		}
		m.advance(e)
		if e.Kind == KindCommitted {
			return e, nil
		}
	}
}

// ReadBatch delivers up to max committed records, then releases.
func (m *Model) ReadBatch(max int) []*Entry {
	var got []*Entry
	for len(got) < max {
		e := m.peek()
		if e == nil {
			break
		}
		m.advance(e)
		if e.Kind == KindCommitted {
			got = append(got, e)
		}
	}
	m.Release()
	return got
}

// Release zeroes everything read and gives it back (spec section 7, step 5).
func (m *Model) Release() {
	for p := m.Head; p != m.Next; p++ {
		m.Data[m.off(p)] = 0
	}
	m.RecordsRead += m.pendingRecords
	m.BytesRead += m.pendingBytes
	m.pendingRecords, m.pendingBytes = 0, 0
	m.Head = m.Next
	m.entries = m.entries[m.cursor:]
	m.cursor = 0
}

// Open lists the claims not yet ended, oldest first.
func (m *Model) Open() []*Entry {
	var open []*Entry
	for _, e := range m.entries {
		if e.Kind == KindClaimed {
			open = append(open, e)
		}
	}
	return open
}

// Check verifies the model's own invariants: the entries cover [Head, Tail)
// without gaps, no record crosses the end, padding ends exactly at it.
func (m *Model) Check() error {
	p := m.Head
	for i, e := range m.entries {
		if e.Pos != p {
			return errors.New("model: entries leave a gap")
		}
		if m.off(p)+e.Size > m.Capacity {
			return errors.New("model: entry crosses the end of the data area")
		}
		if e.Kind == KindPadding && m.off(p)+e.Size != m.Capacity {
			return errors.New("model: padding does not end at the wrap")
		}
		if i == m.cursor && p != m.Next {
			return errors.New("model: cursor and Next disagree")
		}
		p += e.Size
	}
	if m.cursor == len(m.entries) && p != m.Next {
		return errors.New("model: cursor and Next disagree")
	}
	if p != m.Tail || m.Tail-m.Head > m.Capacity {
		return errors.New("model: entries do not end at Tail")
	}
	return nil
}
