//go:build !linux

package ring

import (
	"sync/atomic"
	"time"
)

// Without futexes the parked consumer polls: it sleeps a millisecond at a time
// (or less, when d is shorter) and producers' wake-ups do nothing. Rings on
// these systems live on the Go heap, shared by goroutines only.

func futexSleep(addr *atomic.Uint32, val uint32, d time.Duration) (timedOut bool) {
	time.Sleep(min(d, time.Millisecond))
	return false
}

func futexWakeOne(addr *atomic.Uint32) {}
