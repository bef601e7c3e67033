package ring

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/logbuf/logbuf/asm"
)

// The workloads of ../shared/SEED-FACTS.md, so the figures can be laid next
// to the Rust original's: single-goroutine producer and consumer cost at
// fixed sizes on a 64 KiB ring, and producer goroutine -> consumer goroutine
// throughput of random 8..1024 B payloads on a 2 MiB ring, next to a Go
// channel of []byte doing the same work.

var benchSizes = []int{8, 64, 256, 1024}

// BenchmarkProduce times claim + copy + commit on a 64 KiB ring. Whenever
// the ring fills, the consumer drains it; that time is measured and taken
// out of ns/op (b.StopTimer would cost more than what it hides).
func BenchmarkProduce(b *testing.B) {
	for _, size := range benchSizes {
		b.Run(fmt.Sprint(size), func(b *testing.B) {
			p, c := newSPSC(b, 64<<10)
			src := make([]byte, size)
			b.SetBytes(int64(size))
			b.ReportAllocs()
			var aside time.Duration
			for i := 0; i < b.N; i++ {
				cl, err := p.TryClaim(size)
				if err != nil {
					t0 := time.Now()
					c.ReadBatch(1<<20, func([]byte) {})
					aside += time.Since(t0)
					cl, _ = p.TryClaim(size)
				}
				copy(cl.Bytes(), src)
				cl.Commit()
			}
			reportAside(b, aside)
		})
	}
}

// BenchmarkConsume times read + release (zeroing) of one record; the
// producer refills the ring whenever it is empty, and that time is taken out.
func BenchmarkConsume(b *testing.B) {
	for _, size := range benchSizes {
		b.Run(fmt.Sprint(size), func(b *testing.B) {
			p, c := newSPSC(b, 64<<10)
			src := make([]byte, size)
			b.SetBytes(int64(size))
			b.ReportAllocs()
			sink := 0
			var aside time.Duration
			for i := 0; i < b.N; i++ {
				r, err := c.TryRead()
				if err != nil {
					t0 := time.Now()
					for p.TrySend(src) == nil {
					}
					aside += time.Since(t0)
					r, _ = c.TryRead()
				}
				sink += len(r.Bytes())
				c.Release()
			}
			reportAside(b, aside)
			_ = sink
		})
	}
}

// reportAside reports ns/op without the time spent on work set aside.
func reportAside(b *testing.B, aside time.Duration) {
	b.ReportMetric(float64(b.Elapsed()-aside)/float64(b.N), "ns/op")
}

// payloadLens draws payload lengths uniform in 8..1024 with the xorshift64*
// generator and multiply-shift range of the C reference (../shared/limit).
type payloadLens uint64

func (s *payloadLens) next() int {
	x := uint64(*s)
	x ^= x >> 12
	x ^= x << 25
	x ^= x >> 27
	*s = payloadLens(x)
	return 8 + int(((x*0x2545F4914F6CDD1D)>>32)*1017>>32)
}

// throughput reports payload GB/s and million messages per second.
func throughput(b *testing.B, bytes int64, elapsed time.Duration) {
	b.ReportMetric(float64(bytes)/elapsed.Seconds()/1e9, "GB/s")
	b.ReportMetric(float64(b.N)/elapsed.Seconds()/1e6, "Mmsg/s")
	b.ReportMetric(0, "ns/op")
}

// BenchmarkThroughput moves b.N records of random 8..1024 B payloads from
// producer goroutines to a consumer goroutine over a 2 MiB ring, retrying
// after one PAUSE when full (as the Rust workload and ../shared/limit do);
// the consumer never reads the payload bytes.
func BenchmarkThroughput(b *testing.B) {
	spsc := func(take func(*Consumer) func() (int, error)) func(b *testing.B) {
		return func(b *testing.B) {
			p, c := newSPSC(b, 2<<20)
			runThroughput(b, 1, func(int) func([]byte) { return func(src []byte) { spin(p, src) } }, take(c))
		}
	}
	b.Run("bare", func(b *testing.B) {
		p, c := newBare(b, 2<<20)
		runThroughput(b, 1, func(int) func([]byte) { return p.write }, c.take)
	})
	b.Run("spsc", spsc(takeRecv))
	b.Run("spsc-nolinger", spsc(takeBatch))
	b.Run("spsc-perrecord", spsc(takeRecord))
	for _, n := range []int{1, 2} {
		b.Run(fmt.Sprintf("mpsc-%dp", n), func(b *testing.B) {
			p, c := newMPSC(b, 2<<20)
			runThroughput(b, n, func(int) func([]byte) { return func(src []byte) { spin(p, src) } }, takeRecv(c))
		})
	}
	b.Run("chan", func(b *testing.B) {
		// A channel of freshly allocated []byte, buffered to about the same
		// 2 MiB of mean payload: what a Go program would write without logbuf.
		ch := make(chan []byte, 4096)
		b.ReportAllocs()
		b.ResetTimer()
		start := time.Now()
		var total int64
		var wg sync.WaitGroup
		wg.Add(1)
		go func() {
			defer wg.Done()
			src := make([]byte, 1024)
			lens := payloadLens(0x9E3779B97F4A7C15)
			for i := 0; i < b.N; i++ {
				n := lens.next()
				m := make([]byte, n)
				copy(m, src[:n])
				ch <- m
			}
			close(ch)
		}()
		for m := range ch {
			total += int64(len(m))
		}
		wg.Wait()
		throughput(b, total, time.Since(start))
	})
}

// spin writes src, retrying after one asm.Pause while the ring is full.
func spin(p Producer, src []byte) {
	for {
		cl, err := p.TryClaim(len(src))
		if err == nil {
			copy(cl.Bytes(), src)
			cl.Commit()
			return
		}
		asm.Pause()
	}
}

// The ways runThroughput's consumer takes records; each returns how many.

// takeRecv: RecvBatch of up to 256, which lingers after a short batch.
func takeRecv(c *Consumer) func() (int, error) {
	ctx, nop := context.Background(), func([]byte) {}
	return func() (int, error) { return c.RecvBatch(ctx, 256, nop) }
}

// takeBatch: ReadBatch of up to 256, and one Pause when it finds none.
func takeBatch(c *Consumer) func() (int, error) {
	nop := func([]byte) {}
	return func() (int, error) {
		n, err := c.ReadBatch(256, nop)
		if n == 0 {
			asm.Pause()
		}
		return n, err
	}
}

// takeRecord: TryRead + Release per record, and one Pause when empty (the
// Rust workload).
func takeRecord(c *Consumer) func() (int, error) {
	return func() (int, error) {
		if _, err := c.TryRead(); err != nil {
			if err == ErrEmpty {
				asm.Pause()
				err = nil
			}
			return 0, err
		}
		c.Release()
		return 1, nil
	}
}

// runThroughput runs producers goroutines, each writing its share of b.N
// random-length records with send(id), and takes them with take.
func runThroughput(b *testing.B, producers int, send func(int) func([]byte), take func() (int, error)) {
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	var wg sync.WaitGroup
	var bytes [8]int64
	for id := 0; id < producers; id++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			f := send(id)
			src := make([]byte, 1024)
			lens := payloadLens(0x9E3779B97F4A7C15 + uint64(id))
			var sum int64
			for i := id; i < b.N; i += producers {
				n := lens.next()
				f(src[:n])
				sum += int64(n)
			}
			bytes[id] = sum
		}()
	}
	for got := 0; got < b.N; {
		n, err := take()
		if err != nil {
			b.Fatal(err)
		}
		got += n
	}
	wg.Wait()
	elapsed := time.Since(start)
	var total int64
	for _, s := range bytes {
		total += s
	}
	throughput(b, total, elapsed)
}
