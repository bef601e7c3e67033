package main

import (
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// TODO(ring): use the ring package's liveness check once it exports one (a
// ring.Alive(pid, start), or liveness per entry in ring.Stats): ring/
// liveness_linux.go implements the same rule (spec section 8: pid and start
// time) but unexported, and stat must say who is alive.

// liveness is what this process can tell about another one.
type liveness int

const (
	livenessUnknown liveness = iota // no pid, or no way to tell
	livenessAlive
	livenessGone
)

func (l liveness) String() string {
	return [...]string{"unknown", "alive", "gone"}[l]
}

// processLiveness decides, as spec section 8 says, whether the process pid
// that recorded start (field 22 of /proc/<pid>/stat; 0 if it did not) is
// still running: it is gone when no process has that pid or the process
// with it started at another time.
func processLiveness(pid uint32, start uint64) liveness {
	if pid == 0 || pid > 1<<22 {
		return livenessUnknown
	}
	if err := unix.Kill(int(pid), 0); err == unix.ESRCH {
		return livenessGone
	}
	if start != 0 {
		if st, ok := processStart(pid); ok && st != start {
			return livenessGone
		}
	}
	return livenessAlive
}

// processStart reads field 22 (starttime, clock ticks since boot) of
// /proc/<pid>/stat. The command name (field 2) may hold spaces and
// parentheses, so fields are counted from the last ')'.
func processStart(pid uint32) (uint64, bool) {
	b, err := os.ReadFile("/proc/" + strconv.FormatUint(uint64(pid), 10) + "/stat")
	if err != nil {
		return 0, false
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, false
	}
	f := strings.Fields(s[i+1:])
	// f[0] is field 3 (state), so field 22 is f[19].
	if len(f) < 20 {
		return 0, false
	}
	v, err := strconv.ParseUint(f[19], 10, 64)
	return v, err == nil
}

// monotonicNow is CLOCK_MONOTONIC in nanoseconds, the clock of heartbeats.
func monotonicNow() (uint64, bool) {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts); err != nil {
		return 0, false
	}
	return uint64(ts.Nano()), true
}
