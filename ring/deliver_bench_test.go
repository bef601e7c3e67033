package ring

import (
	"context"
	"encoding/binary"
	"slices"
	"sync"
	"testing"
	"time"
)

// BenchmarkDeliver is what RecvBatch costs a record against Recv when the
// producer is not busy: its linger (consumer.go) must not delay a record
// that no other record follows. Two shapes, each with Recv and with
// RecvBatch(256):
//
//   - one: one goroutine sends a 64-byte record and receives it, b.N times;
//     ns/op is the whole loop.
//   - paced: a producer goroutine sends one record every 10 µs (spinning
//     between records) stamped with the time of its commit; the consumer
//     goroutine receives. deliver-ns is the median and deliver-mean-ns the
//     mean time from commit to the receive returning.
//
// scripts/perf.sh runs them in interleaved rounds and reports the ratios.
func BenchmarkDeliver(b *testing.B) {
	ctx := context.Background()
	type taker func(c *Consumer, fn func([]byte)) error
	takers := []struct {
		name string
		take taker
	}{
		{"recv", func(c *Consumer, fn func([]byte)) error {
			r, err := c.Recv(ctx)
			if err == nil {
				fn(r.Bytes())
			}
			return err
		}},
		{"recvbatch", func(c *Consumer, fn func([]byte)) error {
			_, err := c.RecvBatch(ctx, 256, fn)
			return err
		}},
	}
	for _, tk := range takers {
		b.Run("one/"+tk.name, func(b *testing.B) {
			p, c := newSPSC(b, 64<<10)
			src := make([]byte, 64)
			sink := 0
			fn := func(b []byte) { sink += len(b) }
			b.ReportAllocs()
			for b.Loop() {
				if err := p.TrySend(src); err != nil {
					b.Fatal(err)
				}
				if err := tk.take(c, fn); err != nil {
					b.Fatal(err)
				}
			}
			_ = sink
		})
	}
	for _, tk := range takers {
		b.Run("paced/"+tk.name, func(b *testing.B) {
			const gap = 10 * time.Microsecond
			p, c := newSPSC(b, 64<<10)
			lat := make([]time.Duration, 0, b.N)
			fn := func(r []byte) {
				lat = append(lat, time.Duration(monoNow()-binary.LittleEndian.Uint64(r)))
			}
			var wg sync.WaitGroup
			wg.Add(1)
			go func() {
				defer wg.Done()
				next := time.Now()
				for range b.N {
					next = next.Add(gap)
					for time.Now().Before(next) {
					}
					cl, err := p.Claim(ctx, 16)
					if err != nil {
						panic(err)
					}
					binary.LittleEndian.PutUint64(cl.Bytes(), monoNow())
					cl.Commit()
				}
			}()
			for len(lat) < b.N {
				if err := tk.take(c, fn); err != nil {
					b.Fatal(err)
				}
			}
			wg.Wait()
			var sum time.Duration
			for _, d := range lat {
				sum += d
			}
			slices.Sort(lat)
			b.ReportMetric(float64(lat[len(lat)/2]), "deliver-ns")
			b.ReportMetric(float64(sum)/float64(len(lat)), "deliver-mean-ns")
			b.ReportMetric(0, "ns/op")
		})
	}
}
