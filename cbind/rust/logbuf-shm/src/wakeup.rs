//! Spec section 7.3: how a consumer parks on the futex word `consumer_wait`
//! and how producers wake it, at the cost of one load per commit when
//! nobody is parked.
//!
//! A commit is followed by a load of `consumer_wait`, and a parking consumer
//! stores 1 to it before it checks the ring a last time. That store-then-load
//! pattern on both sides loses a wake-up if either side's load can pass its
//! store. Either both sides pay a full fence (a sequentially consistent
//! commit), or the consumer pays for both with `membarrier` before it parks,
//! and producers commit with a release store (a plain store on x86-64). The
//! second is what this process does when the kernel registers it; the first
//! is the fallback.

#[cfg(test)]
use std::cell::Cell;
use std::sync::atomic::{AtomicU64, AtomicU8, Ordering};
use std::time::Duration;

use crate::layout::OFF_CONSUMER_WAIT;
use crate::ring::Ring;
use crate::sys;

/// 0: not asked yet; 1: registered for the consumer's barrier; 2: not.
static BARRIER: AtomicU8 = AtomicU8::new(0);

/// Whether this process's producers may end claims with release stores:
/// registered with `membarrier(REGISTER_GLOBAL_EXPEDITED)`, asked once.
#[inline(always)]
pub(crate) fn release_commits() -> bool {
    #[cfg(test)]
    if FORCE_SEQ_CST.with(Cell::get) {
        return false;
    }
    match BARRIER.load(Ordering::Relaxed) {
        1 => true,
        2 => false,
        _ => register(),
    }
}

#[cold]
fn register() -> bool {
    let ok = sys::membarrier_register();
    BARRIER.store(if ok { 1 } else { 2 }, Ordering::Relaxed);
    ok
}

#[cfg(test)]
thread_local! {
    /// Tests: this thread's producers end claims as if the registration had
    /// failed, and its consumer parks as if the barrier had.
    pub(crate) static FORCE_SEQ_CST: Cell<bool> = const { Cell::new(false) };
    pub(crate) static FORCE_BARRIER_FAIL: Cell<bool> = const { Cell::new(false) };
}

/// The consumer's barrier (spec 7.3 step 2); tests can make it fail.
fn barrier() -> bool {
    #[cfg(test)]
    if FORCE_BARRIER_FAIL.with(Cell::get) {
        return false;
    }
    sys::membarrier_global()
}

/// The order of the operation that ends a claim (spec 5.3): release when
/// this process is registered for the consumer's barrier (`release`, from
/// `release_commits` at the producer's attach), sequentially consistent if
/// not.
#[inline(always)]
fn end_order(release: bool) -> Ordering {
    if release {
        Ordering::Release
    } else {
        Ordering::SeqCst
    }
}

/// Store the word that ends an SPSC claim (a commit or an abort).
#[inline(always)]
pub(crate) fn store_end(w: &AtomicU64, v: u64, release: bool) {
    w.store(v, end_order(release));
}

/// End an MPSC claim: compare-and-swap from its stamp. Whether it took
/// effect.
#[inline(always)]
pub(crate) fn cas_end(w: &AtomicU64, stamp: u64, v: u64, release: bool) -> bool {
    w.compare_exchange(stamp, v, end_order(release), Ordering::Relaxed)
        .is_ok()
}

/// The producer's half of section 7.3, after a commit, an abort or a
/// detach: one load in the common case (relaxed when `release`: the
/// consumer's barrier orders it), a system call only when the consumer is
/// parked. The exchange to 0 lets exactly one of several producers that saw
/// the flag make the call; the futex is the shared kind, so a consumer
/// parked in another process wakes.
#[inline(always)]
pub(crate) fn wake(ring: &Ring, release: bool) {
    let order = if release {
        Ordering::Relaxed
    } else {
        Ordering::SeqCst
    };
    if ring.h32(OFF_CONSUMER_WAIT).load(order) != 0 {
        wake_parked(ring);
    }
}

#[cold]
#[inline(never)]
fn wake_parked(ring: &Ring) {
    let w = ring.h32(OFF_CONSUMER_WAIT);
    if w.swap(0, Ordering::SeqCst) != 0 {
        // SAFETY: the 4-aligned consumer_wait word in our live mapping.
        unsafe { sys::futex_wake(w.as_ptr(), 1) };
    }
}

/// How long a park may last when the barrier failed: a producer that ends
/// claims with release stores may then lose its wake-up, and this is what
/// that costs at most (spec 7.3, step 4).
pub(crate) const MAX_BLIND_PARK: Duration = Duration::from_millis(1);

/// The consumer's half of section 7.3, steps 1 and 2: announce the wait
/// and make the producers' stores visible. Returns how long the park may
/// last: `d`, or at most `MAX_BLIND_PARK` when the barrier failed. The
/// caller then checks the ring once more (step 3) and calls `unpark` or
/// `sleep`.
pub(crate) fn prepare_park(ring: &Ring, d: Duration) -> Duration {
    // Sequentially consistent: visible before the check that follows.
    ring.h32(OFF_CONSUMER_WAIT).store(1, Ordering::SeqCst);
    if barrier() {
        d
    } else {
        d.min(MAX_BLIND_PARK)
    }
}

/// Step 3 found something: do not park after all.
pub(crate) fn unpark(ring: &Ring) {
    ring.h32(OFF_CONSUMER_WAIT).store(0, Ordering::SeqCst);
}

/// Steps 4 and 5: `FUTEX_WAIT` for at most `d`, then reset the word.
pub(crate) fn sleep(ring: &Ring, d: Duration) {
    let w = ring.h32(OFF_CONSUMER_WAIT);
    // SAFETY: the 4-aligned consumer_wait word in our live mapping.
    unsafe { sys::futex_wait(w.as_ptr(), 1, d.as_nanos().min(u64::MAX as u128) as u64) };
    // A waker exchanged it to 0 already; after a timeout or a spurious
    // wake-up it is still 1, and producers must not pay for a system call.
    w.store(0, Ordering::SeqCst);
}
