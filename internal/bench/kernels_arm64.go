//go:build arm64 && !purego

package bench

// clockInfo names asm.Cycles' clock and its unit.
func clockInfo() (name, unit string) {
	return "asm.Cycles: CNTVCT_EL0 (generic timer)", "timer ticks"
}
