//! Process identity and liveness (spec section 8), from `kill(pid, 0)` and
//! `/proc/<pid>/stat`.

use std::sync::OnceLock;

use crate::layout::LEASE_START_MASK;
use crate::sys;

/// What `/proc/<pid>/stat` says: start time (field 22, clock ticks since
/// boot) and whether the process is a zombie (field 3 is `Z` or `X`). `None`
/// if the file cannot be read or parsed.
pub fn stat(pid: u32) -> Option<(u64, bool)> {
    if pid == 0 {
        return None;
    }
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Field 2 (comm) is parenthesised and may hold spaces or ')': fields 3..
    // follow the last ')'. Field 22 is therefore the 20th field after it.
    let rest = &stat[stat.rfind(')')? + 1..];
    let mut f = rest.split_ascii_whitespace();
    let state = f.next()?;
    let start = f.nth(22 - 4)?.parse().ok()?;
    Some((start, state == "Z" || state == "X"))
}

/// Start time of `pid`, `None` if unknown.
pub fn start_time(pid: u32) -> Option<u64> {
    stat(pid).map(|(s, _)| s)
}

/// Whether the process named by (`pid`, `start`) may still be running
/// (spec section 8); `start` is compared modulo 2^36, as a lease holds it.
/// It errs on the side of "alive": a start time of 0 (its owner could not
/// read it) and a `/proc` entry we cannot read count as alive. It is gone
/// when no process has that pid (`kill(pid, 0)` fails with `ESRCH`), the
/// process with that pid has another start time, or it is a zombie. Pid 0
/// names no process (and `kill(0, 0)` must never be called).
pub fn alive(pid: u32, start: u64) -> bool {
    if pid == 0 || pid > i32::MAX as u32 {
        return false; // no such process; and kill(0 or -1, 0) must never be called
    }
    let start = start & LEASE_START_MASK;
    let (me, my_start) = me();
    if pid == me {
        return start == 0 || my_start == 0 || start == my_start & LEASE_START_MASK;
    }
    if sys::no_such_process(pid) {
        return false;
    }
    match stat(pid) {
        None => true,
        Some((_, true)) => false,
        Some((s, false)) => start == 0 || s == 0 || s & LEASE_START_MASK == start,
    }
}

/// Our own pid and start time (0 if unreadable), read once per process (a
/// forked child reads its own again).
pub fn me() -> (u32, u64) {
    static ME: OnceLock<(u32, u64)> = OnceLock::new();
    let read = || {
        let pid = std::process::id();
        (pid, start_time(pid).unwrap_or(0))
    };
    let cached = *ME.get_or_init(read);
    if cached.0 == std::process::id() {
        cached
    } else {
        read()
    }
}
