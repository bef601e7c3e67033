//go:build !amd64 || race

package ring

import "sync/atomic"

// storeRelease stores v to p with at least release order. Off amd64 (arm64:
// STLR) and in race builds, where the race detector must see every shared
// access, it is sync/atomic's store. store_tso.go says why amd64 differs.
func storeRelease(p *atomic.Uint64, v uint64) { p.Store(v) }
