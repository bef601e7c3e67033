//go:build !purego

package cycles

// Linux lets user space read CNTVCT_EL0 on every arm64 CPU.
const (
	hasCounter = true
	name       = "CNTVCT_EL0 (generic timer)"
	unit       = "timer ticks"
)

// counter reads the virtual counter CNTVCT_EL0 (cycles_arm64.s, written by
// hand: avo has no arm64 backend).
func counter() uint64
