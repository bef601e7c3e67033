//go:build !linux

package main

type liveness int

const (
	livenessUnknown liveness = iota
	livenessAlive
	livenessGone
)

func (l liveness) String() string {
	return [...]string{"unknown", "alive", "gone"}[l]
}

// processLiveness cannot tell on this system.
func processLiveness(pid uint32, start uint64) liveness { return livenessUnknown }

func monotonicNow() (uint64, bool) { return 0, false }
