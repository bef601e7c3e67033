//go:build !purego

package asm

// Hand-written in kernels_arm64.s (avo has no arm64 backend). Names,
// signatures and size classes mirror zeroAVX2 in the avo program in _gen.

// zeroSTP clears b with STP of the zero register: overlapping head and tail
// stores up to 128 bytes, then 64 bytes per iteration.
//
//go:noescape
func zeroSTP(b []byte)

// zeroZVA clears b like zeroSTP, but clears the whole zvaBlock-sized blocks
// of a large b with DC ZVA, which allocates zeroed lines without reading
// them. Only valid once zvaBlock is set from DCZID_EL0.
//
//go:noescape
func zeroZVA(b []byte)

// dczid reads DCZID_EL0: bit 4 set means DC ZVA is prohibited, bits 3:0
// are log2 of the block size in 4-byte words.
func dczid() uint64

// pause is one YIELD, the spin-wait hint.
func pause()
