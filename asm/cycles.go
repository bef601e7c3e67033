package asm

import "time"

// Cycles returns a fast, monotonic (per core) tick count for latency
// benchmarks: the time-stamp counter via RDTSCP on amd64 (constant rate on
// current CPUs), CNTVCT_EL0 on arm64, and monotonic nanoseconds elsewhere and
// with the purego tag. Only differences between two calls on one machine are
// meaningful; the unit is not necessarily nanoseconds.
func Cycles() uint64 {
	if hasCycles {
		return cycles()
	}
	return cyclesGeneric()
}

// epoch anchors cyclesGeneric's monotonic clock.
var epoch = time.Now()

// cyclesGeneric is the twin of Cycles: monotonic nanoseconds since the
// package was initialised.
func cyclesGeneric() uint64 { return uint64(time.Since(epoch)) }
