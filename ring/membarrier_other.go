//go:build !linux

package ring

// Without membarrier, producers commit with sequentially consistent stores
// and the consumer's barrier is a no-op (spec section 7.3).
func registerBarrier() bool { return false }

func barrier() bool { return false }
