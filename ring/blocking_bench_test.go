package ring

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/logbuf/logbuf/abi"
)

// commitNoWake is Commit without the check for a parked consumer (spec
// section 7.3): the ring with no blocking layer at all, for comparison.
func commitNoWake(c Claim) {
	if c.end(uint64(abi.CommittedWord(c.n))) && !c.p.mpsc {
		c.p.records++
		c.p.bytes += uint64(c.n)
		c.p.open--
	}
}

// BenchmarkSend is what the blocking layer adds to a send when no consumer
// is parked. The three ways of sending take turns in blocks of 256 records
// on the same ring, so that a noisy machine slows them alike, and the
// median block of each is reported: "nowake" is claim + copy + commit
// without the load of consumer_wait, "try" the ring as shipped (TryClaim,
// Commit with that load), "send" the blocking Send(ctx, b). 64-byte
// records on a 64 KiB ring, drained between blocks.
func BenchmarkSend(b *testing.B) {
	const size, block = 64, 256
	ctx := context.Background()
	for _, mode := range []string{"spsc", "mpsc"} {
		b.Run(mode, func(b *testing.B) {
			p, c := newRing(b, mode, 64<<10)
			src := make([]byte, size)
			b.SetBytes(size)
			b.ReportAllocs()
			var times [3][]time.Duration
			for i := 0; i < b.N; i += block {
				kind := i / block % 3
				c.ReadBatch(1<<20, func([]byte) {}) // 256 records fit: no send waits
				t0 := time.Now()
				for range block {
					switch kind {
					case 0:
						cl, _ := p.TryClaim(size)
						copy(cl.Bytes(), src)
						commitNoWake(cl)
					case 1:
						cl, _ := p.TryClaim(size)
						copy(cl.Bytes(), src)
						cl.Commit()
					case 2:
						p.Send(ctx, src)
					}
				}
				times[kind] = append(times[kind], time.Since(t0))
			}
			for k, name := range []string{"nowake", "try", "send"} {
				if len(times[k]) == 0 {
					continue
				}
				slices.Sort(times[k])
				b.ReportMetric(float64(times[k][len(times[k])/2])/block, name+"-ns/op")
			}
		})
	}
}
