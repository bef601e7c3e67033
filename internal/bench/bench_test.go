package bench

import (
	"testing"
	"time"
)

// The first lengths of the C reference (../shared/limit/limit.c, rndlen
// with seed 0x9E3779B97F4A7C15), so every implementation draws the same
// sequence.
func TestLensMatchesReference(t *testing.T) {
	// Computed from the C code's formula:
	// x ^= x>>12; x ^= x<<25; x ^= x>>27; 8 + (((x*0x2545F4914F6CDD1D)>>32)*1017 >> 32).
	ref := func(s *uint64) int {
		x := *s
		x ^= x >> 12
		x ^= x << 25
		x ^= x >> 27
		*s = x
		return 8 + int((((x*0x2545F4914F6CDD1D)>>32)*1017)>>32)
	}
	l, s := Lens(Seed), uint64(Seed)
	sum := 0
	const n = 1_000_000
	for i := range n {
		got, want := l.Next(), ref(&s)
		if got != want || got < MinLen || got > MaxLen {
			t.Fatalf("length %d: got %d, want %d in [%d, %d]", i, got, want, MinLen, MaxLen)
		}
		sum += got
	}
	if mean := float64(sum) / n; mean < 514 || mean > 518 {
		t.Errorf("mean length %.1f, want about 516", mean)
	}
}

func TestShare(t *testing.T) {
	for _, p := range []int{1, 2, 3, 4, 7} {
		total := 0
		for id := range p {
			total += share(1_000_000, p, id)
		}
		if total != 1_000_000 {
			t.Errorf("%d producers share %d messages", p, total)
		}
	}
}

func TestRunSmall(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Sizes = []int{8, 1024}
	cfg.Warmup, cfg.Samples = 10, 100
	cfg.Duration = 10 * time.Millisecond
	cfg.Messages = 1000
	cfg.Producers = []int{2}
	cfg.RateProducers = []int{3}
	pr := NewProgress()
	res, err := Run(cfg, pr)
	if err != nil {
		t.Fatal(err)
	}
	if s, _ := pr.Snapshot(); s.Index != s.Of || s.Of == 0 {
		t.Errorf("progress ended at stage %d of %d", s.Index, s.Of)
	}
	if len(res.Latency) != 16 || len(res.Throughput) != 5 || len(res.Rate) != 2 {
		t.Errorf("rows: %d latency, %d throughput, %d rate", len(res.Latency), len(res.Throughput), len(res.Rate))
	}
	if res.ClockPair.Samples != 100 {
		t.Errorf("clock pair: %+v", res.ClockPair)
	}
	if res.HandOff.Samples != 100 || res.HandOff.P50 == 0 {
		t.Errorf("cache-line hand-off: %+v", res.HandOff)
	}
}

func TestCheck(t *testing.T) {
	for _, mut := range []func(*Config){
		func(c *Config) { c.Samples = 0 },
		func(c *Config) { c.Sizes = []int{0} },
		func(c *Config) { c.Sizes = []int{9000} }, // over 64 KiB / 8
		func(c *Config) { c.ThroughputRing = 4096 },
		func(c *Config) { c.Producers = []int{33} },
		func(c *Config) { c.Duration = 0 },
	} {
		c := DefaultConfig()
		mut(&c)
		if c.Check() == nil {
			t.Errorf("%+v passed Check", c)
		}
	}
	c := DefaultConfig()
	if err := c.Check(); err != nil {
		t.Error(err)
	}
}
