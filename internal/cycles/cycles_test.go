package cycles

import (
	"testing"
	"time"
)

// TestNow: the counter moves forward across a sleep, as its twin does, and
// at a rate within reason of the monotonic clock's.
func TestNow(t *testing.T) {
	for _, c := range []struct {
		name string
		now  func() uint64
	}{{"Now", Now}, {"generic", generic}} {
		t0, w0 := c.now(), time.Now()
		time.Sleep(20 * time.Millisecond)
		t1, el := c.now(), time.Since(w0)
		if t1 <= t0 {
			t.Fatalf("%s: %d after sleeping, %d before", c.name, t1, t0)
		}
		// Ticks per ns: 1 for nanoseconds, about 1..5 for a TSC, and far
		// less for arm64's generic timer (tens of MHz).
		if rate := float64(t1-t0) / float64(el.Nanoseconds()); rate > 10 {
			t.Errorf("%s: %.2f ticks per ns over %v", c.name, rate, el)
		}
	}
	if Name() == "" || Unit() == "" {
		t.Errorf("Name %q, Unit %q: want both", Name(), Unit())
	}
}

// BenchmarkNow is the cost of one read: half of the clock pair that every
// latency figure includes.
func BenchmarkNow(b *testing.B) {
	var s uint64
	b.Run("Now", func(b *testing.B) {
		for b.Loop() {
			s += Now()
		}
	})
	b.Run("generic", func(b *testing.B) {
		for b.Loop() {
			s += generic()
		}
	})
	sink = s
}

var sink uint64
