package bench

import "github.com/HdrHistogram/hdrhistogram-go"

// Percentiles summarizes one latency histogram, in clock units.
type Percentiles struct {
	// Mean is the mean of all samples. Where the clock moves in coarse
	// steps it resolves what the percentiles cannot, but one preemption in
	// the middle of a sample (a millisecond: millions of ticks) moves it by
	// tens of ticks per 100,000 samples on a busy machine.
	Mean float64 `json:"mean"`
	// Mean999 is the mean of the samples at or below P999: the mean
	// without the slowest 0.1%, where preemptions and interrupts land.
	Mean999 float64 `json:"mean_999"`
	P50     int64   `json:"p50"`
	P99     int64   `json:"p99"`
	P999    int64   `json:"p999"`
	Max     int64   `json:"max"`
	Samples int64   `json:"samples"`
}

// histMax is the largest sample recorded as itself; larger ones (a
// preemption in the middle of a sample, say) are clamped to it. An hour in
// nanoseconds, or about 20 minutes of a 3 GHz TSC.
const histMax = 3_600_000_000_000

// newHist is an HDR histogram at 3 significant digits, like the Rust
// original's.
func newHist() *hdrhistogram.Histogram { return hdrhistogram.New(1, histMax, 3) }

// record adds one sample. A clock that went backwards (a goroutine moved to
// a core whose counter lags) counts as the smallest value.
func record(h *hdrhistogram.Histogram, v int64) {
	h.RecordValue(min(max(v, 1), histMax))
}

func summarize(h *hdrhistogram.Histogram) Percentiles {
	p := Percentiles{
		Mean:    h.Mean(),
		P50:     h.ValueAtQuantile(50),
		P99:     h.ValueAtQuantile(99),
		P999:    h.ValueAtQuantile(99.9),
		Max:     h.Max(),
		Samples: h.TotalCount(),
	}
	p.Mean999 = meanUpTo(h, p.P999)
	return p
}

// meanUpTo is the mean of the samples whose value is at most limit, each
// counted at the middle of its histogram bucket (exact below 2048, where
// the 3-digit buckets are 1 wide).
func meanUpTo(h *hdrhistogram.Histogram, limit int64) float64 {
	var sum float64
	var n int64
	for _, b := range h.Distribution() {
		if b.Count == 0 || b.From > limit {
			continue
		}
		sum += float64(b.Count) * float64(b.From+b.To) / 2
		n += b.Count
	}
	if n == 0 {
		return 0
	}
	return sum / float64(n)
}
