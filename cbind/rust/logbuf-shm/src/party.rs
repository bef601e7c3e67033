//! Liveness of the parties named in the header (spec section 8): the
//! consumer and the producer table's entries. The one owner of "is this
//! party gone": producers, the consumer and recovery call it.

use std::sync::atomic::Ordering;

use crate::layout::*;
use crate::proc;
use crate::ring::Ring;

/// Whether the consumer has closed, or is recorded as attached but its
/// process is gone (spec section 8). Calls `kill(pid, 0)` and reads `/proc`:
/// not for hot paths.
pub(crate) fn consumer_gone(ring: &Ring) -> bool {
    let state = ring.h32(OFF_CONSUMER_STATE);
    match state.load(Ordering::SeqCst) {
        STATE_CLOSED => true,
        STATE_ATTACHED => {
            let pid = ring.h32(OFF_CONSUMER_PID).load(Ordering::SeqCst);
            let start = ring.h64(OFF_CONSUMER_START).load(Ordering::SeqCst);
            // Read again after the verdict: a consumer attaching just now
            // must not be judged by the pid or start it replaces.
            !proc::alive(pid, start)
                && state.load(Ordering::SeqCst) == STATE_ATTACHED
                && ring.h32(OFF_CONSUMER_PID).load(Ordering::SeqCst) == pid
                && ring.h64(OFF_CONSUMER_START).load(Ordering::SeqCst) == start
        }
        _ => false,
    }
}

/// Whether attached entry `i`'s process is gone. The entry is read again
/// after the verdict (section 8): a producer taking it over stores its pid
/// just after taking it, and must not be judged by the pid it replaces.
pub(crate) fn entry_gone(ring: &Ring, i: usize) -> bool {
    let pid = ring.ent32(i, ENT_PID).load(Ordering::SeqCst);
    let start = ring.ent64(i, ENT_START).load(Ordering::SeqCst);
    if proc::alive(pid, start) {
        return false;
    }
    ring.ent32(i, ENT_STATE).load(Ordering::SeqCst) == STATE_ATTACHED
        && ring.ent32(i, ENT_PID).load(Ordering::SeqCst) == pid
        && ring.ent64(i, ENT_START).load(Ordering::SeqCst) == start
}
