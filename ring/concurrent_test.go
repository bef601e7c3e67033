package ring

import (
	"math/rand/v2"
	"testing"
)

// TestSPSCConcurrent runs the producer and consumer of an SPSC ring in two
// goroutines over many laps of a small ring, checking every record.
func TestSPSCConcurrent(t *testing.T) {
	records := 200_000
	if raceEnabled || testing.Short() {
		records = 20_000
	}
	p, c := newSPSC(t, 4096)
	done := make(chan error, 1)
	go func() {
		rng := rand.New(rand.NewPCG(1, 2))
		for seq := uint64(0); seq < uint64(records); {
			n := 20 + rng.IntN(p.MaxPayload()-19)
			cl, err := p.TryClaim(n)
			if err == ErrFull {
				continue
			} else if err != nil {
				done <- err
				return
			}
			stressRecord(cl.Bytes(), 0, seq)
			cl.Commit()
			seq++
		}
		done <- nil
	}()
	var want uint64
	expect := make([]byte, 1024)
	for want < uint64(records) {
		_, err := c.ReadBatch(16, func(b []byte) {
			e := expect[:len(b)]
			stressRecord(e, 0, want)
			if string(b) != string(e) {
				t.Fatalf("record %d differs", want)
			}
			want++
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
