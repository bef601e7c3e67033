package ring

import "sync/atomic"

// The memory primitives of the hot path, in one place so that package asm
// can replace them with kernels where a benchmark shows a win.

// publish stores v to p so that every store before it is visible to a party
// that loads v with acquire ordering (spec section 6).
func publish(p *atomic.Uint64, v uint64) { p.Store(v) }

// zero clears a released region.
func zero(b []byte) { clear(b) }
