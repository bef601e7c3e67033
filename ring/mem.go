package ring

import (
	"sync/atomic"

	"github.com/logbuf/logbuf/asm"
)

// The memory primitives of the hot path, in one place so that package asm
// can serve them where a benchmark shows a kernel winning.

// publish stores v to p so that every store before it is visible to a party
// that loads v with acquire ordering (spec section 6). sync/atomic's store is
// sequentially consistent; an assembly release store measured no faster.
func publish(p *atomic.Uint64, v uint64) { p.Store(v) }

// zero clears a released region: asm.Zero picks its AVX2 kernel for the
// multi-KiB blocks of a batched release, the built-in clear otherwise.
func zero(b []byte) { asm.Zero(b) }
