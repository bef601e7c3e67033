//go:build race

package asm

import (
	"runtime"
	"unsafe"
)

// The race detector cannot see memory that assembly touches: the assembly
// paths report it here before they run.

func raceWrite(b []byte) {
	if len(b) > 0 {
		runtime.RaceWriteRange(unsafe.Pointer(&b[0]), len(b))
	}
}

// raceEnabled reports whether the race detector is on: slow tests then
// sample instead of sweeping.
const raceEnabled = true
