package ring

import (
	"testing"
	"unsafe"
)

// TestCacheLineAligned: producers and the consumer are written by different
// goroutines on every record, so none may share a cache line with another
// object. Go's allocator places objects of a size class back to back, so
// that holds when the class size is a multiple of 64 (SPSCProducer 256 B,
// MPSCProducer 384, Consumer 384 today); a field added or removed can
// move a type to a class that is not, and this test then fails. The bare
// sketch in bare_test.go lost half its throughput to exactly that.
func TestCacheLineAligned(t *testing.T) {
	check := func(name string, addr func() uintptr) {
		for range 32 {
			if a := addr(); a%64 != 0 {
				t.Fatalf("a new %s is at %#x, not on a 64-byte boundary: pad the type to a size class that is a multiple of 64", name, a)
			}
		}
	}
	check("SPSCProducer", func() uintptr { p := new(SPSCProducer); heapSink = p; return uintptr(unsafe.Pointer(p)) })
	check("MPSCProducer", func() uintptr { p := new(MPSCProducer); heapSink = p; return uintptr(unsafe.Pointer(p)) })
	check("Consumer", func() uintptr { c := new(Consumer); heapSink = c; return uintptr(unsafe.Pointer(c)) })
}

// heapSink makes the allocations above escape, so they come from the heap
// as the constructors' do.
var heapSink any
