//go:build !(amd64 || arm64) || purego

package bench

// clockInfo names asm.Cycles' clock and its unit.
func clockInfo() (name, unit string) {
	return "asm.Cycles: monotonic clock (purego)", "ns"
}
