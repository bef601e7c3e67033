//! The handful of libc calls this crate needs, declared by hand (no `libc` crate).
//!
//! Constant values are the Linux ones, identical on x86-64 and aarch64 except
//! for the `futex` system call number. Files are opened, sized and closed with
//! `std::fs`; `std::process::id()` stands in for `getpid`.

use std::os::raw::{c_int, c_long, c_void};

/// `PROT_READ | PROT_WRITE`.
pub const PROT_READ: c_int = 0x1;
pub const PROT_WRITE: c_int = 0x2;
/// `MAP_SHARED`.
pub const MAP_SHARED: c_int = 0x01;
/// `MAP_FAILED` is `(void *)-1`.
pub const MAP_FAILED: *mut c_void = !0usize as *mut c_void;
/// `CLOCK_MONOTONIC`.
pub const CLOCK_MONOTONIC: c_int = 1;
/// `FUTEX_WAIT` / `FUTEX_WAKE`, shared variant (no `FUTEX_PRIVATE_FLAG` = 128).
pub const FUTEX_WAIT: c_int = 0;
pub const FUTEX_WAKE: c_int = 1;

#[cfg(target_arch = "x86_64")]
pub const SYS_FUTEX: c_long = 202;
#[cfg(target_arch = "aarch64")]
pub const SYS_FUTEX: c_long = 98;
#[cfg(target_arch = "x86_64")]
pub const SYS_RENAMEAT2: c_long = 316;
#[cfg(target_arch = "aarch64")]
pub const SYS_RENAMEAT2: c_long = 276;
/// `AT_FDCWD` and `RENAME_NOREPLACE` for `renameat2`.
#[cfg(target_arch = "x86_64")]
pub const SYS_MEMBARRIER: c_long = 324;
#[cfg(target_arch = "aarch64")]
pub const SYS_MEMBARRIER: c_long = 283;
/// `membarrier` commands, from the kernel's <linux/membarrier.h>.
const MEMBARRIER_CMD_GLOBAL_EXPEDITED: c_long = 1 << 1;
const MEMBARRIER_CMD_REGISTER_GLOBAL_EXPEDITED: c_long = 1 << 2;
/// Passed as `long`: `syscall(2)` reads every argument as one.
const AT_FDCWD: c_long = -100;
const RENAME_NOREPLACE: c_long = 1;
#[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
compile_error!("logbuf-shm supports Linux x86-64 and aarch64 only");

#[cfg(not(target_os = "linux"))]
compile_error!("logbuf-shm supports Linux only");

/// `struct timespec` on 64-bit Linux.
#[repr(C)]
pub struct Timespec {
    pub tv_sec: i64,
    pub tv_nsec: i64,
}

extern "C" {
    pub fn mmap(
        addr: *mut c_void,
        len: usize,
        prot: c_int,
        flags: c_int,
        fd: c_int,
        off: i64,
    ) -> *mut c_void;
    pub fn munmap(addr: *mut c_void, len: usize) -> c_int;
    pub fn syscall(num: c_long, ...) -> c_long;
    pub fn clock_gettime(clk: c_int, tp: *mut Timespec) -> c_int;
    pub fn kill(pid: c_int, sig: c_int) -> c_int;
}

/// `ESRCH`: no such process.
pub const ESRCH: i32 = 3;
/// `EINVAL`, `ENOSYS`: what `renameat2` fails with where it is not supported.
pub const EINVAL: i32 = 22;
pub const ENOSYS: i32 = 38;
/// `O_NONBLOCK` (the same value on x86-64 and aarch64).
pub const O_NONBLOCK: c_int = 0o4000;

/// Whether `kill(pid, 0)` fails with `ESRCH` (no process with that pid). EPERM
/// means the process exists but is not ours. `pid` must be positive.
pub fn no_such_process(pid: u32) -> bool {
    debug_assert!(pid > 0 && pid <= i32::MAX as u32);
    // SAFETY: signal 0 only checks for existence; pid > 0 names one process.
    let r = unsafe { kill(pid as c_int, 0) };
    r != 0 && std::io::Error::last_os_error().raw_os_error() == Some(ESRCH)
}

/// CLOCK_MONOTONIC in nanoseconds.
pub fn monotonic_ns() -> u64 {
    let mut ts = Timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec.
    unsafe { clock_gettime(CLOCK_MONOTONIC, &mut ts) };
    (ts.tv_sec as u64)
        .wrapping_mul(1_000_000_000)
        .wrapping_add(ts.tv_nsec as u64)
}

/// `FUTEX_WAKE` (shared) on a 4-byte word, waking at most `n` waiters.
///
/// # Safety
/// `addr` must point to a live, 4-byte aligned word.
pub unsafe fn futex_wake(addr: *const u32, n: i32) -> c_long {
    syscall(
        SYS_FUTEX,
        addr,
        FUTEX_WAKE,
        n as c_int,
        std::ptr::null::<Timespec>(),
        std::ptr::null::<u32>(),
        0 as c_int,
    )
}

/// `FUTEX_WAIT` (shared) on a 4-byte word with a relative timeout in nanoseconds.
/// Returns the raw system call result (0, or -1 with errno set).
///
/// # Safety
/// `addr` must point to a live, 4-byte aligned word.
pub unsafe fn futex_wait(addr: *const u32, expected: u32, timeout_ns: u64) -> c_long {
    let ts = Timespec {
        tv_sec: (timeout_ns / 1_000_000_000) as i64,
        tv_nsec: (timeout_ns % 1_000_000_000) as i64,
    };
    syscall(
        SYS_FUTEX,
        addr,
        FUTEX_WAIT,
        expected as c_int,
        &ts as *const Timespec,
        std::ptr::null::<u32>(),
        0 as c_int,
    )
}

/// `renameat2(AT_FDCWD, from, AT_FDCWD, to, RENAME_NOREPLACE)`: give `from`
/// the name `to`, atomically, failing with `EEXIST` if `to` exists. File
/// systems without it fail with `EINVAL`; kernels before 3.15 with `ENOSYS`.
pub fn rename_noreplace(from: &std::path::Path, to: &std::path::Path) -> std::io::Result<()> {
    use std::os::unix::ffi::OsStrExt;
    let cstr = |p: &std::path::Path| {
        std::ffi::CString::new(p.as_os_str().as_bytes())
            .map_err(|_| std::io::Error::from(std::io::ErrorKind::InvalidInput))
    };
    let (from, to) = (cstr(from)?, cstr(to)?);
    // SAFETY: two NUL-terminated paths that outlive the call.
    let r = unsafe {
        syscall(
            SYS_RENAMEAT2,
            AT_FDCWD,
            from.as_ptr(),
            AT_FDCWD,
            to.as_ptr(),
            RENAME_NOREPLACE,
        )
    };
    if r == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

/// `membarrier(MEMBARRIER_CMD_REGISTER_GLOBAL_EXPEDITED, 0, 0)`: register
/// this process, so that another's `membarrier(GLOBAL_EXPEDITED)` runs a
/// barrier on the CPUs running its threads. Whether the kernel agreed.
pub fn membarrier_register() -> bool {
    // SAFETY: a system call with integer arguments only.
    unsafe {
        syscall(
            SYS_MEMBARRIER,
            MEMBARRIER_CMD_REGISTER_GLOBAL_EXPEDITED,
            0 as c_long,
            0 as c_long,
        ) == 0
    }
}

/// `membarrier(MEMBARRIER_CMD_GLOBAL_EXPEDITED, 0, 0)`: a full memory
/// barrier on every CPU that runs a thread of a registered process.
/// Whether the kernel did it (Linux 4.16 and later, and no seccomp filter).
pub fn membarrier_global() -> bool {
    // SAFETY: a system call with integer arguments only.
    unsafe {
        syscall(
            SYS_MEMBARRIER,
            MEMBARRIER_CMD_GLOBAL_EXPEDITED,
            0 as c_long,
            0 as c_long,
        ) == 0
    }
}
