package ring

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"
	"math/rand/v2"
	"sync"
	"testing"

	"github.com/logbuf/logbuf/abi"
)

func newMPSC(t testing.TB, capacity int) (*MPSCProducer, *Consumer) {
	t.Helper()
	p, c, err := NewMPSC(capacity)
	if err != nil {
		t.Fatal(err)
	}
	return p, c
}

func TestMPSCOutOfOrderCommit(t *testing.T) {
	p, c := newMPSC(t, 1024)
	a, _ := p.TryClaim(3)
	b, _ := p.TryClaim(3)
	copy(a.Bytes(), "aaa")
	copy(b.Bytes(), "bbb")
	if err := b.Commit(); err != nil {
		t.Fatal(err)
	}
	if _, err := c.TryRead(); err != ErrEmpty {
		t.Fatalf("read past the uncommitted oldest claim: %v", err)
	}
	if err := a.Commit(); err != nil {
		t.Fatal(err)
	}
	if got := read(t, c); string(got) != "aaa" {
		t.Fatalf("got %q", got)
	}
	if got := read(t, c); string(got) != "bbb" {
		t.Fatalf("got %q", got)
	}
}

func TestMPSCWrapAndAbort(t *testing.T) {
	p, c := newMPSC(t, 256)
	for i := 0; i < 6; i++ {
		write(t, p, fill(32, byte(i)))
	}
	for i := 0; i < 6; i++ {
		read(t, c)
	}
	c.Release()
	cl, err := p.TryClaim(24) // pad 16 at 240, record at 0
	if err != nil {
		t.Fatal(err)
	}
	if w := wordAt(c, 240); w != abi.SkipWord(abi.KindPadding, 16) {
		t.Fatalf("padding word %#x", uint64(w))
	}
	if w := wordAt(c, 0); w.Kind() != abi.KindClaimed || w.Lap() != 1 || w.Owner() != 1 {
		t.Fatalf("stamp %#x (want lap 1, owner 1)", uint64(w))
	}
	write(t, p, []byte("next"))
	cl.Abort()
	if got := read(t, c); string(got) != "next" {
		t.Fatalf("got %q", got)
	}
}

// TestMPSCDiscarded plays the consumer's recovery of spec section 9 by hand:
// a late commit must lose to it and say so.
func TestMPSCDiscarded(t *testing.T) {
	p, c := newMPSC(t, 1024)
	cl, _ := p.TryClaim(8)
	word := c.reg.WordAt(0)
	if !word.CompareAndSwap(cl.stamp(), uint64(abi.SkipWord(abi.KindUnblocked, 16))) {
		t.Fatal("recovery CAS failed")
	}
	if err := cl.Commit(); err != ErrDiscarded {
		t.Fatalf("late commit = %v, want ErrDiscarded", err)
	}
	if _, err := c.TryRead(); err != ErrEmpty {
		t.Fatalf("TryRead = %v", err)
	}
	if c.Stats().Head != 16 {
		t.Fatal("the recovered region was not released")
	}
}

// stressRecord is a self-checking payload: producer id, sequence number and
// a CRC of the rest.
func stressRecord(b []byte, id, seq uint64) {
	binary.LittleEndian.PutUint64(b[0:], id)
	binary.LittleEndian.PutUint64(b[8:], seq)
	for i := 20; i < len(b); i++ {
		b[i] = byte(seq*31 + uint64(i)*7 + id)
	}
	binary.LittleEndian.PutUint32(b[16:], crc32.ChecksumIEEE(b[20:]))
}

// runStress runs producers goroutines writing perProducer records each into
// an MPSC ring while one consumer checks that nothing is lost, duplicated,
// reordered within a producer, or torn.
func runStress(t *testing.T, producers, perProducer, capacity int) {
	p, c := newMPSC(t, capacity)
	maxLen := min(p.MaxPayload(), 1024)
	var wg sync.WaitGroup
	for id := 0; id < producers; id++ {
		wg.Add(1)
		go func(id uint64) {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(id, 42))
			for seq := uint64(0); seq < uint64(perProducer); {
				n := 20 + rng.IntN(maxLen-19)
				cl, err := p.TryClaim(n)
				if err == ErrFull {
					continue
				} else if err != nil {
					t.Error(err)
					return
				}
				stressRecord(cl.Bytes(), id, seq)
				if rng.IntN(50) == 0 { // some aborts, which must not be seen
					cl.Abort()
					continue
				}
				if err := cl.Commit(); err != nil {
					t.Error(err)
					return
				}
				seq++
			}
		}(uint64(id))
	}
	next := make([]uint64, producers)
	total, want := 0, producers*perProducer
	var bad error
	check := func(b []byte) {
		id, seq := binary.LittleEndian.Uint64(b), binary.LittleEndian.Uint64(b[8:])
		switch {
		case bad != nil:
		case len(b) < 20 || id >= uint64(producers):
			bad = errorf("record %d: bad id %d or length %d", total, id, len(b))
		case seq != next[id]:
			bad = errorf("producer %d: seq %d, want %d (lost, duplicated or reordered)", id, seq, next[id])
		case crc32.ChecksumIEEE(b[20:]) != binary.LittleEndian.Uint32(b[16:]):
			bad = errorf("producer %d seq %d: torn record (checksum)", id, seq)
		default:
			expect := make([]byte, len(b))
			stressRecord(expect, id, seq)
			if !bytes.Equal(b, expect) {
				bad = errorf("producer %d seq %d: payload differs", id, seq)
			}
		}
		next[id]++
		total++
	}
	for total < want && bad == nil {
		if _, err := c.ReadBatch(64, check); err != nil {
			t.Fatal(err)
		}
	}
	wg.Wait()
	if bad != nil {
		t.Fatal(bad)
	}
	if _, err := c.TryRead(); err != ErrEmpty {
		t.Fatalf("extra record after %d: %v", want, err)
	}
	s := c.Stats()
	if s.RecordsRead != uint64(want) || s.Used != 0 {
		t.Fatalf("stats %+v", s)
	}
}

// TestMPSCStress is the quick variant, run by default and under -race; set
// LOGBUF_STRESS=full for 4 x 1e6 records.
func TestMPSCStress(t *testing.T) {
	per := 20_000
	if stressFull() {
		per = 1_000_000
	} else if testing.Short() {
		per = 2_000
	}
	runStress(t, 4, per, 64<<10)
}

// TestMPSCStressSmallRing wraps a tiny ring constantly.
func TestMPSCStressSmallRing(t *testing.T) {
	per := 5_000
	if testing.Short() {
		per = 500
	}
	runStress(t, 3, per, 1024)
}
