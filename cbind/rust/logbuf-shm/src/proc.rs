//! Process identity and liveness (spec section 8), from `/proc`.

/// Start time of `pid`: field 22 of `/proc/<pid>/stat` (clock ticks since boot).
/// `None` if the process does not exist (or `/proc` is unreadable).
pub fn start_time(pid: u32) -> Option<u64> {
    if pid == 0 {
        return None;
    }
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Field 2 (comm) is parenthesised and may hold spaces or ')': fields 3..
    // follow the last ')'. Field 22 is therefore the 20th field after it.
    let rest = &stat[stat.rfind(')')? + 1..];
    rest.split_ascii_whitespace().nth(22 - 3)?.parse().ok()
}

/// Whether the process named by (`pid`, `start`) is alive. A `start` of 0
/// means "not known (yet)": only the pid is checked.
pub fn alive(pid: u32, start: u64) -> bool {
    match start_time(pid) {
        None => false,
        Some(s) => start == 0 || s == start,
    }
}

/// Our own pid and start time.
pub fn me() -> (u32, u64) {
    let pid = std::process::id();
    (pid, start_time(pid).unwrap_or(0))
}
