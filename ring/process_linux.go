//go:build linux

package ring

import (
	"bytes"
	"math"
	"os"
	"strconv"
	"sync"

	"golang.org/x/sys/unix"

	"github.com/logbuf/logbuf/abi"
)

// Processes (spec section 8): a party is named by its pid and its process
// start time, field 22 of /proc/<pid>/stat, so that a reused pid is not
// mistaken for the party that had it. This file answers "is that process
// alive?"; parties.go decides what a lease means.

// monoNow is CLOCK_MONOTONIC in nanoseconds, the unit of heartbeats. Go's
// own monotonic clock counts from this process's start, so it cannot be
// compared across processes; this can.
func monoNow() uint64 {
	var ts unix.Timespec
	if unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts) != nil {
		return 0
	}
	return uint64(ts.Nano())
}

var self struct {
	once  sync.Once
	pid   uint32
	start uint64
}

// selfID is this process's pid and start time, read once.
func selfID() (uint32, uint64) {
	self.once.Do(func() {
		self.pid = uint32(os.Getpid())
		self.start, _, _ = procStat(int(self.pid))
	})
	return self.pid, self.start
}

// procStat reads the start time (field 22) of /proc/<pid>/stat and whether
// the process is a zombie (field 3 is Z or X). ok is false when the file
// cannot be read or parsed.
func procStat(pid int) (start uint64, zombie, ok bool) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, false, false
	}
	// Field 2, the command name in parentheses, may hold spaces and
	// parentheses: the fields that follow start after the last ')'.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, false, false
	}
	f := bytes.Fields(b[i+1:]) // f[0] is field 3
	if len(f) < 20 {
		return 0, false, false
	}
	start, err = strconv.ParseUint(string(f[22-3]), 10, 64)
	if err != nil {
		return 0, false, false
	}
	return start, f[0][0] == 'Z' || f[0][0] == 'X', true
}

// alive reports whether the process named by pid and start may still be
// running; start is compared modulo 2^36, as a lease holds it. It errs on
// the side of "alive": a start time of 0 (its owner could not read it) and a
// /proc entry this process may not read both count as alive. A zombie, dead
// but not yet reaped by its parent, is gone: it will never commit.
func alive(pid uint32, start uint64) bool {
	if pid == 0 || pid > math.MaxInt32 {
		return false // no such process; and kill(0 or -1, 0) must never be called
	}
	start &= abi.LeaseStartMask
	if me, myStart := selfID(); pid == me {
		return start == 0 || myStart == 0 || start == myStart&abi.LeaseStartMask
	}
	if err := unix.Kill(int(pid), 0); err == unix.ESRCH {
		return false // EPERM: it exists but is not ours, so alive
	}
	st, zombie, ok := procStat(int(pid))
	switch {
	case !ok:
		return true
	case zombie:
		return false
	}
	return start == 0 || st == 0 || st&abi.LeaseStartMask == start
}
