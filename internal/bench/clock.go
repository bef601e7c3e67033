package bench

import "github.com/logbuf/logbuf/asm"

// now reads the latency clock: asm.Cycles, the time-stamp counter (RDTSCP)
// on amd64, CNTVCT_EL0 on arm64, monotonic nanoseconds with purego or where
// neither exists. clockInfo (kernels_*.go) says which, for the report.
func now() int64 { return int64(asm.Cycles()) }
