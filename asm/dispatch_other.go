//go:build !(amd64 || arm64) || purego

package asm

// No assembly in this build: Zero is the built-in clear (faster than the
// twin at every size measured) and Cycles the twin. The twins stay reachable
// through forceZero for the tests.

const (
	hasCycles  = false
	pauseName  = "nothing (no spin-wait hint in this build)"
	cyclesName = "monotonic clock"
)

func cycles() uint64 { return cyclesGeneric() }

// pause is Pause's twin: no hint to give, so nothing.
func pause() {}
