//go:build amd64 && !purego

package cbind

import (
	"encoding/json"
	"fmt"
	"os"
	"runtime"
	"slices"
	"testing"

	"github.com/logbuf/logbuf/abi"
	"github.com/logbuf/logbuf/internal/cycles"
	"github.com/logbuf/logbuf/ring"
)

// TestProducerCost measures one producer's single-thread claim + copy 64 B +
// commit, in TSC ticks (RDTSCP around each operation), for the Rust crate
// (its bench64 program) and for Go's ring package, on the same ring file,
// alternating the two for several rounds. Each side warms up with 10,000
// operations, then takes 100,000 samples; the ring is drained outside the
// timed region whenever it runs low. It only reports; it asserts nothing.
//
//	LOGBUF_MEASURE=1 go test ./cbind -run TestProducerCost -v -count=1
func TestProducerCost(t *testing.T) {
	if os.Getenv("LOGBUF_MEASURE") != "1" {
		t.Skip("skipping: a measurement, not a test; set LOGBUF_MEASURE=1 to run it")
	}
	if raceEnabled {
		t.Skip("skipping: the race detector distorts the Go side")
	}
	bench64 := rustProg(t, "bench64")
	const rounds = 6
	for _, mode := range []abi.Mode{abi.SPSC, abi.MPSC} {
		f, path := createRing(t, 1<<16, mode)
		var rust, goside []costResult
		for r := range rounds {
			for i := range 2 {
				if (r+i)%2 == 0 { // ABBA: each side goes first in half the rounds
					out := start(t, procTimeout, bench64, path).mustSucceed(t)
					var res costResult
					if err := json.Unmarshal([]byte(out), &res); err != nil {
						t.Fatalf("bench64 said %q: %v", out, err)
					}
					rust = append(rust, res)
				} else {
					res, err := goCost(f.Region())
					if err != nil {
						t.Fatal(err)
					}
					goside = append(goside, res)
				}
			}
		}
		for r := range rounds {
			t.Logf("%s round %d: rust %v | go %v", mode, r+1, rust[r], goside[r])
		}
		t.Logf("%s, %d rounds, median of rounds: rust %v | go %v", mode, rounds, median(rust), median(goside))
	}
}

// costResult is bench64's JSON line (the fields used here), and the Go side's.
type costResult struct {
	P50  uint64 `json:"p50"`
	P99  uint64 `json:"p99"`
	Pair uint64 `json:"rdtscp_pair_p50"`
}

func (c costResult) String() string {
	return fmt.Sprintf("p50 %3d p99 %4d pair %2d", c.P50, c.P99, c.Pair)
}

func median(rs []costResult) costResult {
	pick := func(f func(costResult) uint64) uint64 {
		v := make([]uint64, len(rs))
		for i, r := range rs {
			v[i] = f(r)
		}
		slices.Sort(v)
		return v[len(v)/2]
	}
	return costResult{
		P50:  pick(func(c costResult) uint64 { return c.P50 }),
		P99:  pick(func(c costResult) uint64 { return c.P99 }),
		Pair: pick(func(c costResult) uint64 { return c.Pair }),
	}
}

const (
	costPayload = 64
	costWarmup  = 10_000
	costSamples = 100_000
)

// goCost is bench64's loop in Go: attach a producer and a consumer, time
// TryClaim + copy + Commit with cycles.Now (RDTSCP), drain outside the timed
// region, and close both, so that bench64 finds the ring as it left it.
func goCost(reg *abi.Region) (costResult, error) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	c, err := ring.NewConsumer(reg)
	if err != nil {
		return costResult{}, err
	}
	defer c.Close()
	h := reg.Header()
	capacity := reg.Capacity()
	reserve := 2 * uint64(abi.RecordSize(costPayload)) // padding + one record at worst
	drain := func() {
		for {
			n, err := c.ReadBatch(1<<20, func([]byte) {})
			if n == 0 || err != nil {
				return
			}
		}
	}
	low := func() bool { return capacity-(h.Tail.Load()-h.Head.Load()) < reserve }
	var payload [costPayload]byte
	for i := range payload {
		payload[i] = 0xA5
	}
	samples := make([]uint64, costSamples)
	// The loop twice, with concrete types: no interface call in the timed
	// region, as in Rust.
	if reg.Mode() == abi.MPSC {
		p, err := ring.NewMPSCProducer(reg)
		if err != nil {
			return costResult{}, err
		}
		defer p.Close()
		for i := -costWarmup; i < costSamples; i++ {
			if low() {
				drain()
			}
			t0 := cycles.Now()
			cl, err := p.TryClaim(costPayload)
			if err == nil {
				copy(cl.Bytes(), payload[:])
				err = cl.Commit()
			}
			t1 := cycles.Now()
			if err != nil {
				return costResult{}, err
			}
			if i >= 0 {
				samples[i] = t1 - t0
			}
		}
	} else {
		p, err := ring.NewSPSCProducer(reg)
		if err != nil {
			return costResult{}, err
		}
		defer p.Close()
		for i := -costWarmup; i < costSamples; i++ {
			if low() {
				drain()
			}
			t0 := cycles.Now()
			cl, err := p.TryClaim(costPayload)
			if err == nil {
				copy(cl.Bytes(), payload[:])
				err = cl.Commit()
			}
			t1 := cycles.Now()
			if err != nil {
				return costResult{}, err
			}
			if i >= 0 {
				samples[i] = t1 - t0
			}
		}
	}
	pairs := make([]uint64, costSamples)
	for i := range pairs {
		t0 := cycles.Now()
		t1 := cycles.Now()
		pairs[i] = t1 - t0
	}
	drain()
	slices.Sort(samples)
	slices.Sort(pairs)
	pct := func(s []uint64, p int) uint64 { return s[min(len(s)*p/100, len(s)-1)] }
	return costResult{P50: pct(samples, 50), P99: pct(samples, 99), Pair: pct(pairs, 50)}, nil
}
