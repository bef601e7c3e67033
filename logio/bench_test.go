package logio

import (
	"testing"

	"github.com/logbuf/logbuf/ring"
)

// BenchmarkWrite is Write into an MPSC heap ring, read back in batches by
// the same goroutine so that the ring never fills, against the producer's
// own TrySend (the ring with no Writer around it): the Writer's cost is
// the difference.
func BenchmarkWrite(b *testing.B) {
	msg := event(1, 2)
	for _, name := range []string{"Writer", "TrySend"} {
		b.Run(name, func(b *testing.B) {
			p, c, err := ring.NewMPSC(1 << 20)
			if err != nil {
				b.Fatal(err)
			}
			w := NewWriter(p, Options{})
			b.SetBytes(int64(len(msg)))
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				if name == "Writer" {
					w.Write(msg)
				} else {
					p.TrySend(msg)
				}
				if i%256 == 255 {
					c.ReadBatch(256, func([]byte) {})
				}
			}
			if d := w.Stats().Dropped; d != 0 {
				b.Fatalf("%d dropped", d)
			}
		})
	}
}
