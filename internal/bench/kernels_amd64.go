//go:build amd64 && !purego

package bench

import "github.com/klauspost/cpuid/v2"

// TODO(asm): ask package asm which paths it selected once it exports that
// (an asm.Kernels() or similar); until then this repeats its init-time rule
// (asm/dispatch_amd64.go): the AVX2 clear for 2 KiB..64 KiB releases when
// the CPU has AVX2, and RDTSCP for Cycles when the CPU has it.

func kernels() string {
	if cpuid.CPU.Supports(cpuid.AVX2) {
		return "asm (amd64): Zero = AVX2 kernel for 2 KiB..64 KiB releases, built-in clear otherwise; payload copy = built-in copy"
	}
	return "asm (amd64, no AVX2): Zero = built-in clear; payload copy = built-in copy"
}

func clockInfo() (name, unit string) {
	if cpuid.CPU.Supports(cpuid.RDTSCP) {
		return "asm.Cycles: RDTSCP (time-stamp counter)", "TSC ticks"
	}
	return "asm.Cycles: monotonic clock (no RDTSCP)", "ns"
}
