package abi

import "unsafe"

// NewHeap allocates a zeroed, 128-byte aligned region on the Go heap and
// formats it, for rings that live inside one process.
func NewHeap(capacity uint64, mode Mode) (*Region, error) {
	if err := checkCapacity(capacity); err != nil {
		return nil, err
	}
	// Allocate as []uint64 so the base is 8-byte aligned, then slide to a line.
	n := HeaderSize + capacity + LineSize
	words := make([]uint64, n/8)
	mem := unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(words))), n)
	skip := uint64((LineSize - uintptr(unsafe.Pointer(unsafe.SliceData(mem)))%LineSize) % LineSize)
	return Format(mem[skip:skip+HeaderSize+capacity], capacity, mode)
}
