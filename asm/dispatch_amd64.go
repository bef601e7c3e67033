//go:build !purego

package asm

import "github.com/klauspost/cpuid/v2"

//go:generate bash _gen/regen.sh

const pauseName = "PAUSE"

func init() {
	avx2 := cpuid.CPU.Supports(cpuid.AVX2)
	zeroPaths = append(zeroPaths, zeroPath{"avx2", zeroAVX2Go, avx2})
	if avx2 {
		// From 2 KiB the runtime's clear switches from its AVX2 loop to REP
		// STOSQ, which on Zen3 took about twice as long as zeroAVX2 at 2..4 KiB
		// and 10..45% longer at 8..16 KiB. Below 2 KiB the inlined call to the
		// runtime's own AVX2 code wins or ties; from 64 KiB the two were within
		// the noise of this machine, so large batches keep the runtime's
		// choice (which also turns non-temporal at 32 MiB).
		zeroCut, zeroMax, zeroFn, zeroName = 2<<10, 64<<10, zeroAVX2Go, "avx2"
	}
}

// zeroAVX2Go tells the race detector what the assembly writes.
func zeroAVX2Go(b []byte) { raceWrite(b); zeroAVX2(b) }
