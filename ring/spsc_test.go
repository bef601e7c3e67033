package ring

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"testing"

	"github.com/logbuf/logbuf/abi"
)

func newSPSC(t testing.TB, capacity int) (*SPSCProducer, *Consumer) {
	t.Helper()
	p, c, err := NewSPSC(capacity)
	if err != nil {
		t.Fatal(err)
	}
	return p, c
}

// newRing makes a heap ring of the mode named "spsc" or "mpsc", for tests
// that run on both.
func newRing(t testing.TB, mode string, capacity int) (Producer, *Consumer) {
	t.Helper()
	if mode == "spsc" {
		return newSPSC(t, capacity)
	}
	return newMPSC(t, capacity)
}

func write(t testing.TB, p Producer, b []byte) {
	t.Helper()
	if err := p.TrySend(b); err != nil {
		t.Fatalf("TrySend(%d bytes): %v", len(b), err)
	}
}

func read(t testing.TB, c *Consumer) []byte {
	t.Helper()
	r, err := c.TryRead()
	if err != nil {
		t.Fatalf("TryRead: %v", err)
	}
	return bytes.Clone(r.Bytes())
}

func fill(n int, seed byte) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = seed + byte(i*7)
	}
	return b
}

// wordAt is the header word at data offset off.
func wordAt(c *Consumer, off uint64) abi.Word { return abi.Word(c.reg.WordAt(off).Load()) }

func TestCapacityRounding(t *testing.T) {
	for in, want := range map[int]int{0: 64, 1: 64, 64: 64, 100: 128, 4096: 4096, 5000: 8192} {
		p, _ := newSPSC(t, in)
		if p.Capacity() != want || p.MaxPayload() != want/8 {
			t.Errorf("NewSPSC(%d): capacity %d max payload %d, want %d", in, p.Capacity(), p.MaxPayload(), want)
		}
	}
	if _, _, err := NewSPSC(-1); err == nil {
		t.Error("negative capacity accepted")
	}
	if _, _, err := NewSPSC(1<<31 + 1); err == nil {
		t.Error("capacity above 2^31 accepted")
	}
}

func TestClaimErrors(t *testing.T) {
	p, _ := newSPSC(t, 1024)
	if _, err := p.TryClaim(0); err != ErrZeroLength {
		t.Errorf("TryClaim(0) = %v", err)
	}
	if _, err := p.TryClaim(-3); err != ErrTooLarge {
		t.Errorf("TryClaim(-3) = %v", err)
	}
	if _, err := p.TryClaim(129); err != ErrTooLarge {
		t.Errorf("TryClaim(129) on capacity 1024 = %v", err)
	}
	if c, err := p.TryClaim(128); err != nil {
		t.Errorf("TryClaim(max payload) = %v", err)
	} else {
		c.Abort()
	}
}

func TestWriteRead(t *testing.T) {
	p, c := newSPSC(t, 1024)
	if _, err := c.TryRead(); err != ErrEmpty {
		t.Fatalf("empty ring: TryRead = %v", err)
	}
	msgs := [][]byte{[]byte("hello"), fill(8, 1), fill(9, 2), fill(128, 3)}
	for _, m := range msgs {
		write(t, p, m)
	}
	for _, m := range msgs {
		if got := read(t, c); !bytes.Equal(got, m) {
			t.Fatalf("read %q, want %q", got, m)
		}
	}
	c.Release()
	if _, err := c.TryRead(); err != ErrEmpty {
		t.Fatalf("drained ring: TryRead = %v", err)
	}
	// Release zeroed everything it gave back.
	for i, b := range c.data {
		if b != 0 {
			t.Fatalf("data[%d] = %#x after release", i, b)
		}
	}
	s := c.Stats()
	if s.RecordsRead != 4 || s.BytesRead != 150 || s.Head != s.Tail || s.Used != 0 || s.Free != 1024 {
		t.Fatalf("stats %+v", s)
	}
}

func TestClaimedNotCommitted(t *testing.T) {
	p, c := newSPSC(t, 1024)
	cl, err := p.TryClaim(10)
	if err != nil {
		t.Fatal(err)
	}
	w := wordAt(c, 0)
	if w.Kind() != abi.KindClaimed || w.Len() != 10 || w.Owner() != 1 || w.Lap() != 0 {
		t.Fatalf("stamp %#x: kind %v len %d owner %d", uint64(w), w.Kind(), w.Len(), w.Owner())
	}
	if c.Stats().Tail != 24 {
		t.Fatalf("tail %d after claim of 10, want 24", c.Stats().Tail)
	}
	write(t, p, []byte("second")) // behind the open claim
	if _, err := c.TryRead(); err != ErrEmpty {
		t.Fatalf("TryRead past an open claim = %v", err)
	}
	copy(cl.Bytes(), "0123456789")
	if err := cl.Commit(); err != nil {
		t.Fatal(err)
	}
	if err := cl.Commit(); err != ErrClaimEnded {
		t.Fatalf("second Commit = %v", err)
	}
	cl.Abort() // no-op after Commit
	if got := read(t, c); string(got) != "0123456789" {
		t.Fatalf("got %q", got)
	}
	if got := read(t, c); string(got) != "second" {
		t.Fatalf("got %q", got)
	}
	if s := c.Stats(); s.Aborts != 0 {
		t.Fatalf("Abort after Commit counted: %+v", s)
	}
	var zero Claim
	if zero.Commit() != ErrClaimEnded {
		t.Fatal("zero Claim committed")
	}
	zero.Abort()
}

func TestAbort(t *testing.T) {
	p, c := newSPSC(t, 1024)
	cl, _ := p.TryClaim(20)
	write(t, p, []byte("after"))
	cl.Abort()
	if w := wordAt(c, 0); w != abi.SkipWord(abi.KindAborted, 32) {
		t.Fatalf("aborted word %#x", uint64(w))
	}
	if got := read(t, c); string(got) != "after" {
		t.Fatalf("got %q", got)
	}
	c.Release()
	if s := c.Stats(); s.Aborts != 1 || s.RecordsRead != 1 {
		t.Fatalf("stats %+v", s)
	}
}

// TestAbortOnlyReleases checks that skips are given back even when no record
// follows them, so a producer is never blocked by a consumer that has seen
// only skips.
func TestAbortOnlyReleases(t *testing.T) {
	p, c := newSPSC(t, 64) // max payload 8, record 16: 4 records fill it
	for i := 0; i < 4; i++ {
		cl, err := p.TryClaim(8)
		if err != nil {
			t.Fatal(err)
		}
		cl.Abort()
	}
	if _, err := p.TryClaim(8); err != ErrFull {
		t.Fatalf("claim on a ring of aborts = %v", err)
	}
	if _, err := c.TryRead(); err != ErrEmpty {
		t.Fatalf("TryRead = %v", err)
	}
	if _, err := p.TryClaim(8); err != nil {
		t.Fatalf("claim after the consumer passed the aborts: %v", err)
	}
}

func TestFull(t *testing.T) {
	p, c := newSPSC(t, 256) // max payload 32, record 40
	var n int
	for ; ; n++ {
		if err := p.TrySend(fill(32, byte(n))); err == ErrFull {
			break
		} else if err != nil {
			t.Fatal(err)
		}
	}
	if n != 6 { // 6 * 40 = 240, a 7th needs 16 bytes of padding + 40
		t.Fatalf("wrote %d records of 40 bytes into 256", n)
	}
	if s := p.Stats(); s.FullEvents != 1 || s.RecordsWritten != 6 {
		t.Fatalf("stats %+v (counters are published at the head reload, before the verdict)", s)
	}
	read(t, c)
	if err := p.TrySend(fill(32, 9)); err != ErrFull {
		t.Fatalf("write before Release = %v", err)
	}
	c.Release()
	if err := p.TrySend(fill(32, 9)); err != nil { // wraps: padding 16, record at 0
		t.Fatalf("write after Release = %v", err)
	}
	p.Close()
	if s := p.Stats(); s.RecordsWritten != 7 || s.BytesWritten != 7*32 {
		t.Fatalf("stats %+v", s)
	}
}

func TestWrapPadding(t *testing.T) {
	p, c := newSPSC(t, 256)
	write(t, p, fill(32, 0)) // 0..40
	write(t, p, fill(32, 1)) // 40..80
	write(t, p, fill(32, 2)) // 80..120
	write(t, p, fill(32, 3)) // 120..160
	write(t, p, fill(32, 4)) // 160..200
	write(t, p, fill(32, 5)) // 200..240
	for i := 0; i < 6; i++ {
		read(t, c)
	}
	c.Release()
	write(t, p, fill(24, 6)) // needs 32 at 240: pad 16, record at 256 (offset 0)
	if w := wordAt(c, 240); w != abi.SkipWord(abi.KindPadding, 16) {
		t.Fatalf("word at 240 = %#x, want padding of 16", uint64(w))
	}
	if w := wordAt(c, 0); w.Kind() != abi.KindCommitted || w.Len() != 24 {
		t.Fatalf("word at 0 = %#x", uint64(w))
	}
	if got := read(t, c); !bytes.Equal(got, fill(24, 6)) {
		t.Fatal("wrapped record differs")
	}
	c.Release()
	if s := c.Stats(); s.Head != 288 || s.Tail != 288 {
		t.Fatalf("head %d tail %d, want 288", s.Head, s.Tail)
	}
}

func TestExactFit(t *testing.T) {
	p, c := newSPSC(t, 256)
	for i := 0; i < 6; i++ {
		write(t, p, fill(32, byte(i))) // up to 240
	}
	for i := 0; i < 6; i++ {
		read(t, c)
	}
	c.Release()
	write(t, p, fill(8, 7)) // record of 16 at 240: ends exactly at 256, no padding
	if w := wordAt(c, 240); w.Kind() != abi.KindCommitted {
		t.Fatalf("word at 240 = %#x, want a record", uint64(w))
	}
	write(t, p, fill(8, 8)) // next one at offset 0, no padding either
	if got := read(t, c); !bytes.Equal(got, fill(8, 7)) {
		t.Fatal("exact-fit record differs")
	}
	if got := read(t, c); !bytes.Equal(got, fill(8, 8)) {
		t.Fatal("record after the exact fit differs")
	}
	c.Release()
	if s := c.Stats(); s.Tail != 272 || s.Head != 272 {
		t.Fatalf("head %d tail %d, want 272 (no padding)", s.Head, s.Tail)
	}
}

// TestEverySize writes and reads every payload size from 1 to the maximum,
// over many laps, so every offset at the wrap point is met.
func TestEverySize(t *testing.T) {
	for _, capacity := range []int{64, 256, 4096} {
		p, c := newSPSC(t, capacity)
		for lap := 0; lap < 3; lap++ {
			for n := 1; n <= p.MaxPayload(); n++ {
				m := fill(n, byte(n+lap))
				write(t, p, m)
				if got := read(t, c); !bytes.Equal(got, m) {
					t.Fatalf("capacity %d size %d: read differs", capacity, n)
				}
				c.Release()
			}
		}
		if _, err := c.TryRead(); err != ErrEmpty {
			t.Fatalf("capacity %d: %v", capacity, err)
		}
	}
}

func TestBatch(t *testing.T) {
	p, c := newSPSC(t, 4096)
	for i := 0; i < 50; i++ {
		write(t, p, []byte(fmt.Sprint(i)))
	}
	var got []string
	n, err := c.ReadBatch(30, func(b []byte) { got = append(got, string(b)) })
	if n != 30 || err != nil {
		t.Fatalf("ReadBatch = %d, %v", n, err)
	}
	n, err = c.ReadBatch(100, func(b []byte) { got = append(got, string(b)) })
	if n != 20 || err != nil {
		t.Fatalf("ReadBatch = %d, %v", n, err)
	}
	for i, s := range got {
		if s != fmt.Sprint(i) {
			t.Fatalf("record %d = %q", i, s)
		}
	}
	if n, err := c.ReadBatch(10, func([]byte) {}); n != 0 || err != nil {
		t.Fatalf("ReadBatch on empty = %d, %v", n, err)
	}
	if s := c.Stats(); s.Used != 0 || s.RecordsRead != 50 {
		t.Fatalf("stats %+v", s)
	}
}

func TestClosed(t *testing.T) {
	p, c := newSPSC(t, 1024)
	write(t, p, []byte("x"))
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	if err := p.TrySend([]byte("y")); err != ErrClosed {
		t.Fatalf("write after Close = %v", err)
	}
	if s := p.Stats(); s.RecordsWritten != 1 || s.Producers != 0 || s.Entries[0].Lease.State() != abi.StateDetached {
		t.Fatalf("stats after Close %+v", s)
	}
	c.Close()
	if _, err := c.TryRead(); !errors.Is(err, ErrClosed) {
		t.Fatalf("read after Close = %v", err)
	}
}

func TestModeMismatch(t *testing.T) {
	r, _ := abi.NewHeap(1024, abi.MPSC)
	if _, err := NewSPSCProducer(r); err == nil {
		t.Error("SPSC producer on an MPSC ring")
	}
	r, _ = abi.NewHeap(1024, abi.SPSC)
	if _, err := NewMPSCProducer(r); err == nil {
		t.Error("MPSC producer on an SPSC ring")
	}
}

// TestBatchZeroes: whatever mix of TryRead, ReadBatch, aborts and wraps
// came before, released space is zero (spec section 7, step 5), and a fn
// that panics loses no record and repeats none.
func TestBatchZeroes(t *testing.T) {
	p, c := newSPSC(t, 1024)
	data := p.reg.Data()
	next := 0 // the next record to write
	want := 0 // the next record the consumer must see
	see := func(b []byte) {
		if got := int(binary.LittleEndian.Uint32(b)); got != want {
			t.Fatalf("record %d, want %d", got, want)
		}
		want++
	}
	for round := 0; round < 200; round++ {
		for i := 0; i < 1+round%5; i++ {
			b := make([]byte, 4+(round*7+i*13)%90)
			binary.LittleEndian.PutUint32(b, uint32(next))
			if round%7 == 3 && i == 0 { // an abort the consumer must skip
				cl, err := p.TryClaim(len(b))
				if err != nil {
					t.Fatal(err)
				}
				cl.Abort()
			}
			if err := p.TrySend(b); err != nil {
				t.Fatalf("round %d: %v", round, err)
			}
			next++
		}
		switch round % 3 {
		case 0: // one by TryRead first, the rest by ReadBatch
			r, err := c.TryRead()
			if err != nil {
				t.Fatal(err)
			}
			see(r.Bytes())
		case 1: // a fn that panics on its first record
			func() {
				defer func() { recover() }()
				c.ReadBatch(100, func(b []byte) { see(b); panic("fn") })
			}()
		}
		if _, err := c.ReadBatch(100, see); err != nil {
			t.Fatal(err)
		}
		if want != next {
			t.Fatalf("round %d: read %d of %d records", round, want, next)
		}
		for i, x := range data {
			if x != 0 {
				t.Fatalf("round %d: byte %d of the drained ring is %#x", round, i, x)
			}
		}
	}
}
