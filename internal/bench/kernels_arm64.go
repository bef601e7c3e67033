//go:build arm64 && !purego

package bench

// TODO(asm): ask package asm once it exports which paths it selected; this
// repeats asm/dispatch_arm64.go: no arm64 kernel is selected yet.

func kernels() string {
	return "asm (arm64): Zero = built-in clear (the STP/DC ZVA kernels are not selected until measured); payload copy = built-in copy"
}

func clockInfo() (name, unit string) {
	return "asm.Cycles: CNTVCT_EL0 (generic timer)", "timer ticks"
}
