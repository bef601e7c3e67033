//go:build !race

package asm

// Without the race detector the annotations compile to nothing.

func raceWrite(b []byte) {}

// raceEnabled reports whether the race detector is on: slow tests then
// sample instead of sweeping.
const raceEnabled = false
