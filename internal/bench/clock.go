package bench

import "github.com/logbuf/logbuf/internal/cycles"

// now reads the latency clock: cycles.Now, the time-stamp counter (RDTSCP)
// on amd64, CNTVCT_EL0 on arm64, monotonic nanoseconds with purego or where
// neither exists.
func now() int64 { return int64(cycles.Now()) }

// clockInfo names the latency clock and its unit, for the report.
func clockInfo() (name, unit string) { return "cycles.Now: " + cycles.Name(), cycles.Unit() }
