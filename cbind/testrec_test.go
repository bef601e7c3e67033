package cbind

import (
	"encoding/binary"
	"fmt"
	"hash/fnv"
)

// The self-checking payload of spec/TEST-RECORDS.md, in Go.

// recGen yields the lengths of one producer's records.
type recGen struct {
	x uint64 // xorshift64* state, non-zero
	l uint64 // min(1024, max_payload)
}

func newRecGen(seed uint64, maxPayload int) *recGen {
	return &recGen{x: seed, l: min(1024, uint64(maxPayload))}
}

func (g *recGen) nextLen() int {
	g.x ^= g.x >> 12
	g.x ^= g.x << 25
	g.x ^= g.x >> 27
	r := g.x * 0x2545F4914F6CDD1D
	return int(16 + r%(g.l-15))
}

// fillRecord writes record seq of producer id into b.
func fillRecord(b []byte, id uint32, seq uint64) {
	binary.LittleEndian.PutUint32(b, id)
	binary.LittleEndian.PutUint64(b[4:], seq)
	for i := range b[16:] {
		b[16+i] = byte(seq*31 + uint64(i)*7 + uint64(id))
	}
	h := fnv.New32a()
	h.Write(b[16:])
	binary.LittleEndian.PutUint32(b[12:], h.Sum32())
}

// checkRecord validates a record and returns its producer id and sequence.
func checkRecord(b []byte) (uint32, uint64, error) {
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

// recChecker checks a stream of records from several producers: each intact,
// in sequence per producer, and (when the seed is known) of the length that
// producer's generator gives.
type recChecker struct {
	next map[uint32]uint64
	gens map[uint32]*recGen // optional: producers whose lengths are checked
}

func newRecChecker() *recChecker {
	return &recChecker{next: map[uint32]uint64{}, gens: map[uint32]*recGen{}}
}

func (c *recChecker) check(b []byte) error {
	id, seq, err := checkRecord(b)
	if err != nil {
		return err
	}
	if want := c.next[id]; seq != want {
		return fmt.Errorf("producer %d: seq %d, want %d", id, seq, want)
	}
	if g := c.gens[id]; g != nil {
		if want := g.nextLen(); len(b) != want {
			return fmt.Errorf("producer %d seq %d: %d bytes, want %d", id, seq, len(b), want)
		}
	}
	c.next[id]++
	return nil
}
