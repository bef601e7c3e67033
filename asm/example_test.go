package asm_test

import (
	"fmt"
	"sync/atomic"

	"github.com/logbuf/logbuf/asm"
)

// The consumer zeroes the region it releases, so that the next lap finds
// EMPTY header words there.
func ExampleZero() {
	region := []byte("a record that was read")
	asm.Zero(region)
	fmt.Println(region[:8])
	// Output: [0 0 0 0 0 0 0 0]
}

// A spin-wait: poll, and Pause between polls.
func ExamplePause() {
	var ready atomic.Bool
	go ready.Store(true)
	for !ready.Load() {
		asm.Pause()
	}
	fmt.Println("ready")
	// Output: ready
}

func ExampleKernels() {
	// Prints, on the AMD EPYC it was developed on:
	// Zero = avx2 for 2048 B..65535 B, built-in clear otherwise; Pause = PAUSE
	fmt.Println(asm.Kernels())
}
