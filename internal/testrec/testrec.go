// Package testrec is the self-checking record payload of
// spec/TEST-RECORDS.md in Go: what `logbuf produce` and every producer of
// the cross-process tests write (in Go, C and Rust alike), and the checker
// that verifies a stream of them, whatever wrote it.
package testrec

import (
	"encoding/binary"
	"fmt"
	"hash/fnv"
)

// Gen yields the lengths of one producer's records: xorshift64* seeded
// with the producer's seed, lengths 16..min(1024, max_payload).
type Gen struct {
	x uint64 // xorshift64* state, non-zero
	l uint64 // min(1024, max_payload)
}

// NewGen starts the length sequence of a producer. seed must not be 0
// and maxPayload must be at least 16.
func NewGen(seed uint64, maxPayload int) *Gen {
	return &Gen{x: seed, l: min(1024, uint64(maxPayload))}
}

// NextLen draws the next record's length.
func (g *Gen) NextLen() int {
	g.x ^= g.x >> 12
	g.x ^= g.x << 25
	g.x ^= g.x >> 27
	r := g.x * 0x2545F4914F6CDD1D
	return int(16 + r%(g.l-15))
}

// Fill writes record seq of producer id into b (16 bytes or more).
func Fill(b []byte, id uint32, seq uint64) {
	binary.LittleEndian.PutUint32(b, id)
	binary.LittleEndian.PutUint64(b[4:], seq)
	for i := range b[16:] {
		b[16+i] = byte(seq*31 + uint64(i)*7 + uint64(id))
	}
	h := fnv.New32a()
	h.Write(b[16:])
	binary.LittleEndian.PutUint32(b[12:], h.Sum32())
}

// Verify validates a record and returns its producer id and sequence.
func Verify(b []byte) (uint32, uint64, error) {
	if len(b) < 16 {
		return 0, 0, fmt.Errorf("record of %d bytes, shorter than 16", len(b))
	}
	id := binary.LittleEndian.Uint32(b)
	seq := binary.LittleEndian.Uint64(b[4:])
	h := fnv.New32a()
	h.Write(b[16:])
	if got := binary.LittleEndian.Uint32(b[12:]); got != h.Sum32() {
		return id, seq, fmt.Errorf("producer %d seq %d (%d bytes): hash %#x, want %#x", id, seq, len(b), got, h.Sum32())
	}
	for i, c := range b[16:] {
		if want := byte(seq*31 + uint64(i)*7 + uint64(id)); c != want {
			return id, seq, fmt.Errorf("producer %d seq %d: fill byte %d is %#x, want %#x", id, seq, i, c, want)
		}
	}
	return id, seq, nil
}

// Checker checks a stream of records from several producers: each
// intact, in sequence per producer with nothing missing or repeated, and,
// for producers given a generator, of the length it draws.
type Checker struct {
	Next map[uint32]uint64 // the sequence number due next, per producer
	Gens map[uint32]*Gen   // optional: producers whose lengths are checked
}

// NewChecker is an empty checker.
func NewChecker() *Checker {
	return &Checker{Next: map[uint32]uint64{}, Gens: map[uint32]*Gen{}}
}

// Check takes the next record of the stream.
func (c *Checker) Check(b []byte) error {
	id, seq, err := Verify(b)
	if err != nil {
		return err
	}
	if want := c.Next[id]; seq != want {
		what := "missing records"
		if seq < want {
			what = "a duplicate"
		}
		return fmt.Errorf("producer %d: seq %d, want %d (%s)", id, seq, want, what)
	}
	if g := c.Gens[id]; g != nil {
		if want := g.NextLen(); len(b) != want {
			return fmt.Errorf("producer %d seq %d: %d bytes, want %d", id, seq, len(b), want)
		}
	}
	c.Next[id]++
	return nil
}

// Producer writes the records of one producer id: Next returns each in
// turn, in a buffer reused from call to call.
type Producer struct {
	ID  uint32
	Seq uint64
	gen *Gen
	buf []byte
}

// NewProducer starts producer id's records; seed 0 means id+1.
func NewProducer(id uint32, seed uint64, maxPayload int) *Producer {
	if seed == 0 {
		seed = uint64(id) + 1
	}
	return &Producer{ID: id, gen: NewGen(seed, maxPayload), buf: make([]byte, min(1024, maxPayload))}
}

// Next is the next record, valid until the next call.
func (p *Producer) Next() []byte {
	b := p.buf[:p.gen.NextLen()]
	Fill(b, p.ID, p.Seq)
	p.Seq++
	return b
}
