//go:build !linux

package ring

import (
	"os"
	"time"
)

// Without /proc there is no start time and no cheap liveness check: every
// party counts as alive, so only detaching ends a ring, and only MPSC rings
// are recovered (spec section 9). Rings on these systems live on the Go heap
// of one process.

var epoch = time.Now()

func monoNow() uint64 { return uint64(time.Since(epoch)) }

func selfID() (uint32, uint64) { return uint32(os.Getpid()), 0 }

func alive(pid uint32, start uint64) bool { return pid != 0 }
