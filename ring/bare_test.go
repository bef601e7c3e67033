package ring

import (
	"testing"

	"github.com/logbuf/logbuf/abi"
	"github.com/logbuf/logbuf/asm"
)

// A bare SPSC ring: the protocol's stores and loads in the spec's order
// (tail, CLAIMED stamp, payload, COMMITTED word, the consumer_wait load;
// the consumer zeroing record by record and storing head once per batch,
// lingering after a short batch as RecvBatch does), over the same region, and
// nothing else: no validation of what it reads, no counters, no Claim value,
// no errors. BenchmarkThroughput/bare runs it on the same workload as
// BenchmarkThroughput/spsc, so the two measure what the rest costs.

type bareProducer struct {
	hdr        *abi.Header
	reg        *abi.Region
	data       []byte
	mask, cap  uint64
	lapShift   uint
	tail, head uint64
}

func (p *bareProducer) write(src []byte) {
	n := uint64(len(src))
	size := abi.RecordSize(n)
	for {
		t := p.tail
		off := t & p.mask
		need := size
		if off+size > p.cap {
			need += p.cap - off
		}
		if need > p.cap-(t-p.head) {
			if p.head = p.hdr.Head.Load(); need > p.cap-(t-p.head) {
				asm.Pause()
				continue
			}
		}
		p.tail = t + need
		p.hdr.Tail.Store(p.tail)
		if need != size {
			p.reg.WordAt(off).Store(uint64(abi.SkipWord(abi.KindPadding, uint32(need-size))))
			t, off = t+need-size, 0
		}
		w := p.reg.WordAt(off)
		w.Store(uint64(abi.ClaimedWord(uint32(n), t>>p.lapShift, 0)))
		copy(p.data[off+abi.WordSize:off+abi.WordSize+n], src)
		w.Store(uint64(abi.CommittedWord(uint32(n))))
		if p.hdr.ConsumerWait.Load() != 0 {
			panic("bare ring: nobody parks here")
		}
		return
	}
}

type bareConsumer struct {
	hdr        *abi.Header
	reg        *abi.Region
	data       []byte
	mask, cap  uint64
	head, next uint64
	short      bool
}

// readBatch delivers up to max records to fn and returns how many.
func (c *bareConsumer) readBatch(max int, fn func([]byte)) int {
	if c.short {
		lingerOn(c.hdr, c.next, c.cap)
	}
	n := 0
	for n < max && c.next-c.head < c.cap {
		off := c.next & c.mask
		w := abi.Word(c.reg.WordAt(off).Load())
		if w == 0 || w.Kind() == abi.KindClaimed {
			break
		}
		size := uint64(w.Len())
		if w.Kind() == abi.KindCommitted {
			size = abi.RecordSize(size)
			fn(c.data[off+abi.WordSize : off+abi.WordSize+uint64(w.Len())])
			n++
		}
		zero(c.data[off : off+size])
		c.next += size
	}
	c.short = n > 0 && n < max // as RecvBatch, which returns only with records
	if c.next != c.head {
		c.head = c.next
		c.hdr.Head.Store(c.head)
	}
	return n
}

func newBare(tb testing.TB, capacity uint64) (*bareProducer, *bareConsumer) {
	r, err := abi.NewHeap(capacity, abi.SPSC)
	if err != nil {
		tb.Fatal(err)
	}
	c := r.Capacity()
	g := newGeometry(r)
	// One allocation with the two sides a padding apart: two small objects
	// allocated one after the other can share a cache line, and the two
	// goroutines would then fight over it on every record.
	both := &struct {
		p bareProducer
		_ [128]byte
		c bareConsumer
		_ [128]byte
	}{
		p: bareProducer{hdr: r.Header(), reg: r, data: r.Data(), mask: c - 1, cap: c, lapShift: uint(g.lapShift)},
		c: bareConsumer{hdr: r.Header(), reg: r, data: r.Data(), mask: c - 1, cap: c},
	}
	return &both.p, &both.c
}

// take is takeBatch for the bare ring.
func (c *bareConsumer) take() (int, error) {
	n := c.readBatch(256, func([]byte) {})
	if n == 0 {
		asm.Pause()
	}
	return n, nil
}

// TestBareRing checks that the bare ring delivers what it is given, so that
// its benchmark measures a working ring.
func TestBareRing(t *testing.T) {
	p, c := newBare(t, 4096)
	lens := payloadLens(1)
	var sent, got []int
	src := make([]byte, 1024)
	for i := range 2000 {
		n := lens.next() % 500
		if n == 0 {
			n = 1
		}
		for j := range n {
			src[j] = byte(i + j)
		}
		// Drain when full: write spins otherwise.
		for {
			size := abi.RecordSize(uint64(n))
			off := p.tail & p.mask
			need := size
			if off+size > p.cap {
				need += p.cap - off
			}
			if need <= p.cap-(p.tail-c.head) {
				break
			}
			c.readBatch(1<<30, func(b []byte) { got = append(got, checkBare(t, b)) })
		}
		p.write(src[:n])
		sent = append(sent, n)
	}
	for c.readBatch(1<<30, func(b []byte) { got = append(got, checkBare(t, b)) }) > 0 {
	}
	if len(got) != len(sent) {
		t.Fatalf("got %d records, sent %d", len(got), len(sent))
	}
	for i := range sent {
		if got[i] != sent[i] {
			t.Fatalf("record %d: %d bytes, sent %d", i, got[i], sent[i])
		}
	}
}

// checkBare checks a bare record's bytes run on from its first one.
func checkBare(t *testing.T, b []byte) int {
	for j := range b {
		if b[j] != b[0]+byte(j) {
			t.Fatalf("record of %d bytes: byte %d is %d, want %d", len(b), j, b[j], b[0]+byte(j))
		}
	}
	return len(b)
}
