//go:build linux

package ring

import (
	"sync/atomic"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// The futex operations of spec section 7.1, with the values of the kernel's
// <linux/futex.h>. golang.org/x/sys/unix has the system call number but no
// wrapper and no FUTEX_* constants, so they are defined here, once. These are
// the shared operations: FUTEX_PRIVATE_FLAG (128) is left out on purpose,
// because consumer_wait may live in a mapping shared by processes, and a
// private futex is keyed by this process's address space, so a waker in
// another process would never find the waiter.
const (
	_FUTEX_WAIT = 0 // sleep while *addr == val, at most the relative timeout
	_FUTEX_WAKE = 1 // wake up to val sleepers on addr
)

// futexSleep blocks while *addr == val, for at most d. It reports whether the
// wait ran out its time; a wake-up, a signal, or *addr != val on entry
// (EAGAIN) all return false, and the caller checks again what it waits for.
func futexSleep(addr *atomic.Uint32, val uint32, d time.Duration) (timedOut bool) {
	ts := unix.NsecToTimespec(int64(max(d, time.Microsecond)))
	// unix.Syscall6, not RawSyscall6: the runtime must know this thread is
	// blocked so that it hands the P to another thread.
	_, _, errno := unix.Syscall6(unix.SYS_FUTEX, uintptr(unsafe.Pointer(addr)),
		_FUTEX_WAIT, uintptr(val), uintptr(unsafe.Pointer(&ts)), 0, 0)
	return errno == unix.ETIMEDOUT
}

// futexWakeOne wakes one sleeper on addr, in any process that maps it.
func futexWakeOne(addr *atomic.Uint32) {
	unix.Syscall6(unix.SYS_FUTEX, uintptr(unsafe.Pointer(addr)), _FUTEX_WAKE, 1, 0, 0, 0)
}
