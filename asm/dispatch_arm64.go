//go:build !purego

package asm

const pauseName = "YIELD"

// zvaBlock is the DC ZVA block size in bytes, read by zeroZVA; 0 when DC ZVA
// is prohibited or its block is not 64 or 128 bytes (zeroZVA's head and tail
// stores cover at most 128).
var zvaBlock uintptr

func init() {
	id := dczid()
	if id&(1<<4) == 0 {
		if bs := uintptr(4) << (id & 15); bs == 64 || bs == 128 {
			zvaBlock = bs
		}
	}
	zeroPaths = append(zeroPaths,
		zeroPath{"stp", zeroSTPGo, true},
		zeroPath{"zva", zeroZVAGo, zvaBlock != 0},
	)
	// No arm64 hardware to measure on (qemu timings mean nothing): the
	// built-in clear, whose runtime version already uses DC ZVA, stays the
	// default until benchmarks on real arm64 show a kernel winning.
}

func zeroSTPGo(b []byte) { raceWrite(b); zeroSTP(b) }

func zeroZVAGo(b []byte) { raceWrite(b); zeroZVA(b) }
