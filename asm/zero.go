package asm

import "encoding/binary"

// Zero sets every byte of b to zero, like the built-in clear(b). It accepts
// any length and alignment; the ring calls it on 8-byte aligned regions whose
// lengths are multiples of 8 when it releases records.
func Zero(b []byte) {
	if len(b) < zeroCut || len(b) >= zeroMax {
		clear(b)
		return
	}
	zeroFn(b)
}

// zeroGeneric is Zero's pure-Go twin and the reference in tests: 8-byte
// little-endian stores (one MOVQ each on 64-bit targets), then single bytes.
func zeroGeneric(b []byte) {
	for len(b) >= 8 {
		binary.LittleEndian.PutUint64(b, 0)
		b = b[8:]
	}
	for i := range b {
		b[i] = 0
	}
}

// zeroBuiltin is the built-in clear as a path of its own.
func zeroBuiltin(b []byte) { clear(b) }
