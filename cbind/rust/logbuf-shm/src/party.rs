//! Spec section 8, in one place: who holds a party record, attaching and
//! taking over, detaching and closing, the end of the stream, and whose
//! claim a stuck record is. A party record's lease names its holder and its
//! state in one word, so every decision here is a load, a verdict on that
//! value and, to act on it, a compare-and-swap from that same value.

use std::sync::atomic::{AtomicU64, Ordering};

use crate::error::CorruptError;
use crate::layout::*;
use crate::proc;
use crate::ring::Ring;
use crate::sys;

/// A field of the party record at header offset `off`.
#[inline(always)]
pub(crate) fn field(ring: &Ring, off: usize, f: usize) -> &AtomicU64 {
    ring.h64(off + f)
}

/// This process's ATTACHED lease.
pub(crate) fn self_lease() -> u64 {
    let (pid, start) = proc::me();
    lease(STATE_ATTACHED, pid, start)
}

/// Whether lease `l` is one of the spec's: FREE (the whole word 0),
/// ATTACHED, DETACHED or CLOSED.
fn valid(l: u64) -> bool {
    match lease_state(l) {
        STATE_FREE => l == 0,
        s => s <= STATE_CLOSED,
    }
}

/// Whether lease `l` holds its record: ATTACHED by a process that is alive.
/// Asks the kernel (`kill`, `/proc`) when `l` is ATTACHED.
pub(crate) fn is_held(l: u64) -> bool {
    lease_state(l) == STATE_ATTACHED && proc::alive(lease_pid(l), lease_start(l))
}

/// Why a party could not take its record.
pub(crate) enum Refused {
    /// A live process holds it: its pid.
    Held(u32),
    /// The lease is none of the spec's.
    Corrupt(CorruptError),
}

/// Make this process the holder of the party record at `off` (the
/// consumer's, or SPSC entry 0), unless a live party holds it. The
/// compare-and-swap is from the exact lease judged free or dead, so two
/// parties racing for one record never both win, and a take-over never
/// undoes a live holder's attach. Returns this process's lease, after
/// storing the heartbeat; the caller stores `since`.
pub(crate) fn take(ring: &Ring, off: usize) -> Result<u64, Refused> {
    let mine = self_lease();
    let word = field(ring, off, PARTY_LEASE);
    let mut l = word.load(Ordering::SeqCst);
    loop {
        if !valid(l) {
            return Err(Refused::Corrupt(CorruptError::new(
                "lease",
                (off + PARTY_LEASE) as u64,
                l,
                "a lease of no state the spec defines",
            )));
        }
        if is_held(l) {
            return Err(Refused::Held(lease_pid(l)));
        }
        match word.compare_exchange(l, mine, Ordering::SeqCst, Ordering::SeqCst) {
            Ok(_) => break,
            Err(now) => l = now, // changed meanwhile: judge the new value
        }
    }
    field(ring, off, PARTY_HEARTBEAT).store(sys::monotonic_ns(), Ordering::Relaxed);
    Ok(mine)
}

/// Attach an MPSC producer to the producer table: the first entry that is
/// FREE or DETACHED, else the first ATTACHED one whose holder is gone.
/// `None` when every entry is held (or broken): the producer then works
/// without one. Returns the entry and this process's lease.
pub(crate) fn take_entry(ring: &Ring) -> (Option<usize>, u64) {
    let mine = self_lease();
    for dead_only in [false, true] {
        for i in 0..PRODUCER_SLOTS {
            let word = field(ring, entry_offset(i), PARTY_LEASE);
            let l = word.load(Ordering::SeqCst);
            let st = lease_state(l);
            let takeable = if dead_only {
                st == STATE_ATTACHED && !is_held(l)
            } else {
                valid(l) && (st == STATE_FREE || st == STATE_DETACHED)
            };
            if takeable
                && word
                    .compare_exchange(l, mine, Ordering::SeqCst, Ordering::SeqCst)
                    .is_ok()
            {
                field(ring, entry_offset(i), PARTY_HEARTBEAT)
                    .store(sys::monotonic_ns(), Ordering::Relaxed);
                return (Some(i), mine);
            }
        }
    }
    (None, mine)
}

/// End this process's hold on the record at `off`, leaving it in `state`
/// (DETACHED, or CLOSED for a consumer that closes the ring). The
/// compare-and-swap from its own lease changes nothing if the record is no
/// longer its own.
pub(crate) fn leave(ring: &Ring, off: usize, mine: u64, state: u64) {
    let _ = field(ring, off, PARTY_LEASE).compare_exchange(
        mine,
        lease_with(mine, state),
        Ordering::SeqCst,
        Ordering::SeqCst,
    );
}

/// What a producer that finds the ring full needs to know of the consumer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Presence {
    /// Detached, gone, or never there: wait for the next one.
    Absent,
    /// Attached and alive.
    Present,
    /// Closed the ring for good: stop.
    RingClosed,
}

/// Judge the consumer record. With `check_live` false it does not ask the
/// kernel and takes an ATTACHED consumer for present.
pub(crate) fn consumer(ring: &Ring, check_live: bool) -> Presence {
    let l = field(ring, OFF_CONSUMER, PARTY_LEASE).load(Ordering::SeqCst);
    match lease_state(l) {
        STATE_CLOSED if valid(l) => Presence::RingClosed,
        STATE_ATTACHED if !check_live || is_held(l) => Presence::Present,
        _ => Presence::Absent,
    }
}

/// The producers' half of the end of the stream (section 8): the ring has
/// had a producer, ever (an entry is not FREE), and none holds an entry
/// now. With `check_live` false an ATTACHED entry counts as held without
/// asking the kernel, so a caller can look often and ask rarely.
pub(crate) fn producers_done(ring: &Ring, check_live: bool) -> bool {
    let mut seen = false;
    for i in 0..PRODUCER_SLOTS {
        let l = field(ring, entry_offset(i), PARTY_LEASE).load(Ordering::SeqCst);
        if l == 0 {
            continue;
        }
        if lease_state(l) == STATE_ATTACHED && (!check_live || is_held(l)) {
            return false;
        }
        seen = true;
    }
    seen
}

/// The owner of a stuck claim at `pos` on an SPSC ring (section 9): entry
/// 0's holder made it unless the entry is not held, or the claim is older
/// than the holder's attach (`pos - since >= 2^63`): then a previous
/// holder made it, which is gone (it died, or it detached, which an SPSC
/// producer does only with no claim open). Returns the pid and whether the
/// owner may be alive.
pub(crate) fn spsc_owner(ring: &Ring, pos: u64) -> (u32, bool) {
    let word = field(ring, entry_offset(0), PARTY_LEASE);
    let l = word.load(Ordering::SeqCst);
    let since = field(ring, entry_offset(0), PARTY_SINCE).load(Ordering::SeqCst);
    if word.load(Ordering::SeqCst) != l {
        return (lease_pid(l), true); // changing hands: judge it at the next look
    }
    let alive = is_held(l) && pos.wrapping_sub(since) < 1 << 63;
    (lease_pid(l), alive)
}

/// The holder of the entry of owner id `id` (1..=32) and whether it holds
/// it, for reports; `(0, false)` without an entry.
pub(crate) fn entry_owner(ring: &Ring, id: u8) -> (u32, bool) {
    if id == 0 || id as usize > PRODUCER_SLOTS {
        return (0, false);
    }
    let l = field(ring, entry_offset(id as usize - 1), PARTY_LEASE).load(Ordering::SeqCst);
    (lease_pid(l), is_held(l))
}
