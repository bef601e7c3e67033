package fuzz

import (
	"math/rand/v2"
	"testing"
)

// TestRandomOps runs pseudo-random inputs through both targets' bodies, so
// that plain "go test" covers more than the committed corpus.
func TestRandomOps(t *testing.T) {
	runs := 300
	if testing.Short() {
		runs = 50
	}
	rng := rand.New(rand.NewPCG(6, 6))
	for i := range runs {
		in := make([]byte, 64+rng.IntN(1500))
		for j := range in {
			in[j] = byte(rng.Uint32())
		}
		runOps(t, in, i%2 == 1)
	}
}
