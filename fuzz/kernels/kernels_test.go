// Package kernels fuzzes the exported kernels of package asm against the
// built-ins they stand in for. It is a package of its own so that the ring
// fuzzers in package fuzz do not depend on asm.
package kernels

import (
	"testing"

	"github.com/logbuf/logbuf/asm"
)

// sentinel fills the bytes around the range a kernel may touch.
const sentinel = 0xC3

// FuzzKernels runs asm.Zero on a fuzzer-chosen length (up to 80 KiB, which
// spans every size class the dispatcher may give to assembly) at a chosen
// offset from a 64-byte boundary, over bytes of a chosen pattern, and
// compares the buffer with what the built-in clear leaves, sentinels before
// and after the range included.
func FuzzKernels(f *testing.F) {
	for _, n := range []uint32{0, 1, 7, 8, 63, 64, 2047, 2048, 2049, 4096, 65535, 65536, 65537, 80 << 10} {
		f.Add(n, uint8(0), uint8(1))
		f.Add(n, uint8(13), uint8(0xFF))
	}
	f.Fuzz(func(t *testing.T, n uint32, off, seed uint8) {
		n %= 80<<10 + 1
		o := int(off % 64)
		const guard = 64
		got := make([]byte, guard+o+int(n)+guard)
		for i := range got {
			got[i] = seed + byte(i*7)
			if i < guard+o || i >= guard+o+int(n) {
				got[i] = sentinel
			}
		}
		want := append([]byte(nil), got...)
		asm.Zero(got[guard+o : guard+o+int(n)])
		clear(want[guard+o : guard+o+int(n)])
		if string(got) != string(want) {
			i := 0
			for got[i] == want[i] {
				i++
			}
			t.Fatalf("Zero(%d bytes at offset %d): byte %d is %#x, want %#x", n, o, i-guard-o, got[i], want[i])
		}
	})
}
