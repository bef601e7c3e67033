//go:build amd64 && !race

package ring

import (
	"sync/atomic"
	"unsafe"
)

// The stores of the hot path. Go's sync/atomic has only sequentially
// consistent stores, an XCHG on amd64, which waits for the store buffer to
// drain: after a payload copy, for every line of it. The protocol needs
// release order for tail, padding, stamps, head and the releasing words
// (spec section 6), and x86-64 gives every plain store release order: stores
// become visible in program order, and never before an earlier load.
//
// What is relied on from the Go compiler: the store below goes through a
// pointer the compiler cannot see the end of, so it is neither removed nor
// merged; and the compiler keeps memory operations in program order with
// respect to other stores, atomic operations and calls (its SSA form threads
// one memory state through them), so the payload copy before it stays before
// it and the load of consumer_wait after a commit stays after it. The race
// detector cannot see this store, so race builds use store_atomic.go.

// storeRelease stores v to p with release order (a plain MOV).
func storeRelease(p *atomic.Uint64, v uint64) { *(*uint64)(unsafe.Pointer(p)) = v }
