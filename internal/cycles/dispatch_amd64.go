//go:build !purego

package cycles

import "github.com/klauspost/cpuid/v2"

//go:generate bash ../../asm/_gen/regen.sh

var hasCounter = cpuid.CPU.Supports(cpuid.RDTSCP)

var name, unit = func() (string, string) {
	if hasCounter {
		return "RDTSCP (time-stamp counter)", "TSC ticks"
	}
	return "monotonic clock (no RDTSCP)", "ns"
}()
