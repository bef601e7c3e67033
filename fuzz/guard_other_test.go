//go:build !linux

package fuzz

import (
	"testing"
	"unsafe"
)

// guarded returns an aligned heap arena: without guard pages, only the
// canary bytes around the region catch an overrun.
func guarded(t testing.TB, size int) (arena []byte, lo int) {
	words := make([]uint64, (size+256)/8)
	arena = unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(words))), len(words)*8)
	lo = int((128 - uintptr(unsafe.Pointer(unsafe.SliceData(arena)))%128) % 128)
	return arena, lo
}
