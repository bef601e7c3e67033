//go:build amd64 && !purego

package bench

import "github.com/klauspost/cpuid/v2"

// clockInfo names asm.Cycles' clock on this machine and its unit.
func clockInfo() (name, unit string) {
	if cpuid.CPU.Supports(cpuid.RDTSCP) {
		return "asm.Cycles: RDTSCP (time-stamp counter)", "TSC ticks"
	}
	return "asm.Cycles: monotonic clock (no RDTSCP)", "ns"
}
