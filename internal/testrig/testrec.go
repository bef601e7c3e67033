package testrig

import (
	"encoding/binary"
	"fmt"
	"hash/fnv"
)

// The self-checking payload of spec/TEST-RECORDS.md, which every producer
// of the cross-process tests writes, in Go, C and Rust alike.

// RecGen yields the lengths of one producer's records: xorshift64* seeded
// with the producer's seed, lengths 16..min(1024, max_payload).
type RecGen struct {
	x uint64 // xorshift64* state, non-zero
	l uint64 // min(1024, max_payload)
}

// NewRecGen starts the length sequence of a producer. seed must not be 0
// and maxPayload must be at least 16.
func NewRecGen(seed uint64, maxPayload int) *RecGen {
	return &RecGen{x: seed, l: min(1024, uint64(maxPayload))}
}

// NextLen draws the next record's length.
func (g *RecGen) NextLen() int {
	g.x ^= g.x >> 12
	g.x ^= g.x << 25
	g.x ^= g.x >> 27
	r := g.x * 0x2545F4914F6CDD1D
	return int(16 + r%(g.l-15))
}

// FillRecord writes record seq of producer id into b (16 bytes or more).
func FillRecord(b []byte, id uint32, seq uint64) {
	binary.LittleEndian.PutUint32(b, id)
	binary.LittleEndian.PutUint64(b[4:], seq)
	for i := range b[16:] {
		b[16+i] = byte(seq*31 + uint64(i)*7 + uint64(id))
	}
	h := fnv.New32a()
	h.Write(b[16:])
	binary.LittleEndian.PutUint32(b[12:], h.Sum32())
}

// CheckRecord validates a record and returns its producer id and sequence.
func CheckRecord(b []byte) (uint32, uint64, error) {
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

// RecChecker checks a stream of records from several producers: each
// intact, in sequence per producer with nothing missing or repeated, and,
// for producers given a generator, of the length it draws.
type RecChecker struct {
	Next map[uint32]uint64  // the sequence number due next, per producer
	Gens map[uint32]*RecGen // optional: producers whose lengths are checked
}

// NewRecChecker is an empty checker.
func NewRecChecker() *RecChecker {
	return &RecChecker{Next: map[uint32]uint64{}, Gens: map[uint32]*RecGen{}}
}

// Check takes the next record of the stream.
func (c *RecChecker) Check(b []byte) error {
	id, seq, err := CheckRecord(b)
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
	gen *RecGen
	buf []byte
}

// NewProducer starts producer id's records; seed 0 means id+1.
func NewProducer(id uint32, seed uint64, maxPayload int) *Producer {
	if seed == 0 {
		seed = uint64(id) + 1
	}
	return &Producer{ID: id, gen: NewRecGen(seed, maxPayload), buf: make([]byte, min(1024, maxPayload))}
}

// Next is the next record, valid until the next call.
func (p *Producer) Next() []byte {
	b := p.buf[:p.gen.NextLen()]
	FillRecord(b, p.ID, p.Seq)
	p.Seq++
	return b
}
