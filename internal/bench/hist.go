package bench

import "github.com/HdrHistogram/hdrhistogram-go"

// Percentiles summarizes one latency histogram, in clock units.
type Percentiles struct {
	P50     int64 `json:"p50"`
	P99     int64 `json:"p99"`
	P999    int64 `json:"p999"`
	Max     int64 `json:"max"`
	Samples int64 `json:"samples"`
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
	return Percentiles{
		P50:     h.ValueAtQuantile(50),
		P99:     h.ValueAtQuantile(99),
		P999:    h.ValueAtQuantile(99.9),
		Max:     h.Max(),
		Samples: h.TotalCount(),
	}
}
