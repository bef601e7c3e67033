package archive

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"testing"

	"github.com/logbuf/logbuf/drain"
)

// BenchmarkWrite measures the archive Writer with SyncNever and 4 MiB
// segments, in batches of 1024 records of one size. (BENCHMARKS.md compares
// it with the writer it replaced, internal/segment, measured at commit
// 3b18d34 before that package was deleted.) Each segment is deleted (untimed)
// once the writer has moved past it, so that gigabytes of dirty pages do not
// pile up and the kernel's writeback throttling does not decide the result.
// LOGBUF_BENCH_DIR names the directory to write under (default: the test's
// temporary directory; /dev/shm measures the writer's own cost).
func BenchmarkWrite(b *testing.B) {
	const batch = 1024
	for _, size := range []int{64, 256, 1024} {
		recs := ringRecords(rand.New(rand.NewPCG(1, uint64(size))), batch, 0, 0, 1)
		payload := make([]byte, size)
		for i := range payload {
			payload[i] = byte(i)
		}
		for i := range recs {
			recs[i].Data = payload
			recs[i].Pos = uint64(i) * uint64(8+size)
		}
		b.Run(fmt.Sprintf("impl=archive/size=%d", size), func(b *testing.B) {
			w := openW(b, benchDir(b), &WriterOptions{MaxSize: benchSegment})
			defer w.Close()
			var seg string
			bt := &drain.Batch{RingID: ringA}
			b.SetBytes(int64(size))
			b.ReportAllocs()
			b.ResetTimer()
			for done := 0; done < b.N; done += batch {
				bt.Records = recs[:min(batch, b.N-done)]
				if err := w.Write(context.Background(), bt); err != nil {
					b.Fatal(err)
				}
				// The next batch's records follow in the ring; the drainer
				// fills these fields as it reads, so it is not timed.
				b.StopTimer()
				for i := range recs {
					recs[i].Pos += batch * uint64(8+size)
					recs[i].Seq += batch
				}
				dropPassed(b, &seg, w.Path())
				b.StartTimer()
			}
		})
	}
}

const benchSegment = 4 << 20

func benchDir(b *testing.B) string {
	parent := os.Getenv("LOGBUF_BENCH_DIR")
	if parent == "" {
		return b.TempDir()
	}
	dir, err := os.MkdirTemp(parent, "bench")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

// dropPassed deletes the segment *seg once the writer has gone on to cur.
func dropPassed(b *testing.B, seg *string, cur string) {
	if *seg != cur {
		if *seg != "" {
			if err := os.Remove(*seg); err != nil {
				b.Fatal(err)
			}
		}
		*seg = cur
	}
}
