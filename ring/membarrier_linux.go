//go:build linux

package ring

import "golang.org/x/sys/unix"

// The asymmetric barrier of spec section 7.3, with the values of the
// kernel's <linux/membarrier.h> (x/sys/unix has the system call number but
// not the commands).
const (
	_MEMBARRIER_CMD_GLOBAL_EXPEDITED          = 1 << 1
	_MEMBARRIER_CMD_REGISTER_GLOBAL_EXPEDITED = 1 << 2
)

// registerBarrier registers this process for MEMBARRIER_CMD_GLOBAL_EXPEDITED,
// so that a consumer's barrier (in this process or another) also runs on the
// CPUs that run this process's threads. It reports whether the kernel
// agreed; only then may this process's producers commit with release stores.
func registerBarrier() bool {
	_, _, errno := unix.Syscall(unix.SYS_MEMBARRIER, _MEMBARRIER_CMD_REGISTER_GLOBAL_EXPEDITED, 0, 0)
	return errno == 0
}

// barrier runs a full memory barrier on every CPU that runs a thread of a
// registered process, and reports whether the kernel did it.
func barrier() bool {
	_, _, errno := unix.Syscall(unix.SYS_MEMBARRIER, _MEMBARRIER_CMD_GLOBAL_EXPEDITED, 0, 0)
	return errno == 0
}
