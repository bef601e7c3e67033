//! The producer (spec sections 5, 6, 7.1 and 8).

use std::fmt;
use std::ops::{Deref, DerefMut};
use std::sync::atomic::Ordering;
use std::sync::Arc;

use crate::error::{CorruptError, Error};
use crate::layout::*;
use crate::ring::{Mode, Ring, RingRef};
use crate::sys;
use crate::{party, proc};

/// Default number of claims between heartbeat refreshes (besides every reload
/// of `head`). 256 keeps the clock read out of the 99th percentile.
const HEARTBEAT_EVERY: u32 = 256;

/// Why `try_claim` refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum TryClaimError {
    /// Not enough free space now; try again later (`full_events` was bumped).
    Full,
    /// `len == 0`: zero-length records do not exist.
    ZeroLength,
    /// `len > max_payload`: can never succeed on this ring.
    TooLarge,
    /// No space, and the consumer has closed (`consumer_state == 2`) or its
    /// process is gone (spec section 8; checked at most every 10 ms): waiting
    /// is pointless. Returned instead of `Full` only then.
    Closed,
    /// A header field this producer loaded (`head`, `tail`,
    /// `consumer_state`) broke the protocol: another party wrote it. Nothing
    /// was claimed.
    Corrupt(CorruptError),
}

impl fmt::Display for TryClaimError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TryClaimError::Full => "logbuf: ring full",
            TryClaimError::ZeroLength => "logbuf: zero-length record",
            TryClaimError::TooLarge => "logbuf: record larger than max_payload",
            TryClaimError::Closed => "logbuf: consumer closed or gone",
            TryClaimError::Corrupt(e) => return e.fmt(f),
        })
    }
}
impl std::error::Error for TryClaimError {}

/// An MPSC commit lost to a consumer recovery (spec section 9): the record
/// was discarded and will not be delivered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Discarded;

impl fmt::Display for Discarded {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("logbuf: record discarded (recovered by the consumer before commit)")
    }
}
impl std::error::Error for Discarded {}

/// Errors of the one-call `try_write`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum TryWriteError {
    /// The claim was refused.
    Claim(TryClaimError),
    /// MPSC: the consumer recovered the claim before the commit.
    Discarded,
}

impl fmt::Display for TryWriteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TryWriteError::Claim(e) => e.fmt(f),
            TryWriteError::Discarded => Discarded.fmt(f),
        }
    }
}
impl std::error::Error for TryWriteError {}
impl From<TryClaimError> for TryWriteError {
    fn from(e: TryClaimError) -> Self {
        TryWriteError::Claim(e)
    }
}
impl From<Discarded> for TryWriteError {
    fn from(_: Discarded) -> Self {
        TryWriteError::Discarded
    }
}

/// A producer attached to a ring. One per thread; create several (from the
/// same `Ring`) for MPSC. The mode comes from the ring's `flags`.
///
/// On creation it takes a producer-table entry (owner id = entry + 1; owner id
/// 0 if the table is full); on drop it publishes its statistics, marks the
/// entry closed and wakes a parked consumer (spec sections 7.1 and 8).
///
/// `Producer<'r>` borrows its ring; `Ring::producer_owned` makes a
/// `Producer<'static>` that shares it through an `Arc`, to move to a thread.
pub struct Producer<'r> {
    ring: RingRef<'r>,
    mode: Mode,
    mask: u64,
    capacity: u64,
    max_payload: u64,
    /// SPSC: our own tail. MPSC: unused.
    tail: u64,
    cached_head: u64,
    entry: Option<usize>,
    owner: u64,
    /// Committed by this producer since it attached.
    records: u64,
    bytes: u64,
    /// The part of `records`/`bytes` already added to the table entry.
    published_records: u64,
    published_bytes: u64,
    hb_countdown: u32,
    hb_every: u32,
    /// CLOCK_MONOTONIC ns of the last consumer liveness check (when full).
    live_checked: u64,
}

/// How often a producer that finds the ring full checks whether the
/// consumer's process is gone (it reads `/proc`).
const LIVE_CHECK_NS: u64 = 10_000_000;

impl fmt::Debug for Producer<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Producer")
            .field("mode", &self.mode)
            .field("owner", &self.owner)
            .field("records", &self.records)
            .finish()
    }
}

/// What a space check found.
enum Space {
    Fits,
    Full,
    /// MPSC: `tail` moved while we looked; claim again with the new one.
    Retry,
}

impl Ring {
    /// Attach a producer (spec section 8). On an SPSC ring this fails with
    /// `ProducerBusy` if another live producer is attached; `Corrupt` if
    /// `head` or `tail` breaks section 10 check 7.
    pub fn producer(&self) -> Result<Producer<'_>, Error> {
        Producer::attach(RingRef::borrowed(self))
    }

    /// `producer`, holding the ring through the `Arc`: the producer owns
    /// what it uses and can move to a `'static` thread.
    pub fn producer_owned(self: &Arc<Ring>) -> Result<Producer<'static>, Error> {
        Producer::attach(RingRef::shared(self))
    }
}

impl<'r> Producer<'r> {
    fn attach(ring: RingRef<'r>) -> Result<Producer<'r>, Error> {
        let (pid, start) = proc::me();
        let entry = take_entry(&ring, pid, start);
        let mut p = Producer {
            mode: ring.mode(),
            mask: ring.capacity() - 1,
            capacity: ring.capacity(),
            max_payload: ring.max_payload() as u64,
            ring,
            tail: 0,
            cached_head: 0,
            entry,
            owner: entry.map_or(0, |i| i as u64 + 1),
            records: 0,
            bytes: 0,
            published_records: 0,
            published_bytes: 0,
            hb_countdown: HEARTBEAT_EVERY,
            hb_every: HEARTBEAT_EVERY,
            live_checked: 0,
        };
        if p.mode == Mode::Spsc {
            // Exactly one producer at a time (section 8): refuse if another
            // entry is attaching, or attached by a live process. Our own
            // entry is visible (seq_cst) to one attaching at the same time,
            // so of two racing producers at least one refuses. Without an
            // entry (table full) the check is all we can do.
            if let Some((j, opid)) = other_live(&p.ring, entry) {
                // `p` drops here: it closes our entry.
                return Err(Error::ProducerBusy {
                    entry: j,
                    pid: opid,
                });
            }
        }
        // A producer that closed just before us published its tail before
        // its state, which our compare-and-swap read. Checked as at open:
        // another party may have written them since.
        (p.cached_head, p.tail) = p.ring.positions()?;
        Ok(p)
    }

    /// Owner id used in claim stamps (table entry + 1), or 0 if unattached.
    pub fn owner_id(&self) -> u8 {
        self.owner as u8
    }

    /// The ring this producer writes to.
    pub fn ring(&self) -> &Ring {
        &self.ring
    }

    /// The ring's positions and counters.
    pub fn stats(&self) -> crate::Stats {
        self.ring.stats()
    }

    /// Records committed by this producer since it attached.
    pub fn committed(&self) -> u64 {
        self.records
    }

    /// Refresh this producer's heartbeat (CLOCK_MONOTONIC ns). Done
    /// automatically every `heartbeat_every` claims (default 256) and on every
    /// reload of `head`. Heartbeats are informational (spec section 8: a
    /// monitor shows their age); liveness is decided by pid and start time.
    pub fn heartbeat(&mut self) {
        self.hb_countdown = self.hb_every;
        if let Some(i) = self.entry {
            self.ring
                .ent64(i, ENT_HEARTBEAT)
                .store(sys::monotonic_ns(), Ordering::Relaxed);
        }
    }

    /// Refresh the heartbeat every `n` claims (`n >= 1`).
    pub fn set_heartbeat_every(&mut self, n: u32) {
        self.hb_every = n.max(1);
        self.hb_countdown = self.hb_countdown.min(self.hb_every);
    }

    /// Add what this producer committed since the last call to the table
    /// entry's `records`/`bytes` (spec section 3: totals for the ring, which
    /// successive owners of an entry add to). Done automatically on every
    /// reload of `head` and on drop.
    pub fn publish_stats(&mut self) {
        if let Some(i) = self.entry {
            let records = self.records - self.published_records;
            if records != 0 {
                let bytes = self.bytes - self.published_bytes;
                self.ring
                    .ent64(i, ENT_RECORDS)
                    .fetch_add(records, Ordering::Relaxed);
                self.ring
                    .ent64(i, ENT_BYTES)
                    .fetch_add(bytes, Ordering::Relaxed);
                self.published_records = self.records;
                self.published_bytes = self.bytes;
            }
        }
    }

    /// Space check of spec 5.1 for `need` bytes at tail position `t`.
    #[inline(always)]
    fn space(&mut self, t: u64, need: u64) -> Result<Space, CorruptError> {
        let used = t.wrapping_sub(self.cached_head);
        if used <= self.capacity && need <= self.capacity - used {
            return Ok(Space::Fits);
        }
        self.reload_head(t, need)
    }

    /// Reload `head` (acquire, spec 5.1) for a claim of `need` bytes at `t`,
    /// and check it: a multiple of 8 and at most `capacity` behind `t`. In
    /// SPSC `t` is our own tail, so a failure is a broken `head`. In MPSC
    /// `t` may have gone stale while we looked (the consumer may even have
    /// passed it): only a `tail` that did not move makes the verdict.
    #[cold]
    #[inline(never)]
    fn reload_head(&mut self, t: u64, need: u64) -> Result<Space, CorruptError> {
        let h = self.ring.head();
        let used = t.wrapping_sub(h);
        if used > self.capacity || !h.is_multiple_of(8) {
            if h.is_multiple_of(8) && self.tail_moved(t) {
                return Ok(Space::Retry);
            }
            return Err(CorruptError::new(
                "head",
                OFF_HEAD as u64,
                h,
                "not a multiple of 8 within capacity behind tail",
            ));
        }
        self.cached_head = h;
        self.publish_stats();
        self.heartbeat();
        if need <= self.capacity - used {
            Ok(Space::Fits)
        } else if self.tail_moved(t) {
            Ok(Space::Retry) // our view of tail is stale; so may be the verdict
        } else {
            Ok(Space::Full)
        }
    }

    /// MPSC: whether `tail` is no longer `t`, which another producer's
    /// reservation made stale. Never in SPSC: `t` is ours.
    fn tail_moved(&self, t: u64) -> bool {
        self.mode == Mode::Mpsc && self.ring.tail() != t
    }

    /// A refused claim (5.1): count it, and turn "full" into "closed" when
    /// the consumer closed or its process is gone (section 8).
    #[cold]
    #[inline(never)]
    fn full(&mut self) -> TryClaimError {
        self.ring
            .h64(OFF_FULL_EVENTS)
            .fetch_add(1, Ordering::Relaxed);
        match self.ring.h32(OFF_CONSUMER_STATE).load(Ordering::Acquire) {
            STATE_FREE => TryClaimError::Full,
            STATE_CLOSED => TryClaimError::Closed,
            STATE_ATTACHED => {
                let now = sys::monotonic_ns();
                if now.wrapping_sub(self.live_checked) > LIVE_CHECK_NS {
                    self.live_checked = now;
                    if party::consumer_gone(&self.ring) {
                        return TryClaimError::Closed;
                    }
                }
                TryClaimError::Full
            }
            s => TryClaimError::Corrupt(CorruptError::new(
                "consumer_state",
                OFF_CONSUMER_STATE as u64,
                s as u64,
                "not 0 (none), 1 (attached) or 2 (closed)",
            )),
        }
    }

    /// Claim `len` payload bytes (spec 5.2). The returned guard derefs to
    /// exactly `len` bytes; it aborts on drop unless committed.
    #[inline(always)]
    pub fn try_claim(&mut self, len: usize) -> Result<WriteClaim<'_, 'r>, TryClaimError> {
        if len == 0 {
            return Err(TryClaimError::ZeroLength);
        }
        if len as u64 > self.max_payload {
            return Err(TryClaimError::TooLarge);
        }
        let n = len as u64;
        let size = record_size(n);
        let (t, pad) = match self.mode {
            Mode::Spsc => {
                // Our own tail: checked at attach, moved only by us.
                let t = self.tail;
                let (pad, need) = self.wrap(t, size);
                match self.space(t, need) {
                    Ok(Space::Fits) => {}
                    Ok(_) => return Err(self.full()),
                    Err(e) => return Err(TryClaimError::Corrupt(e)),
                }
                self.tail = t.wrapping_add(need);
                self.ring.h64(OFF_TAIL).store(self.tail, Ordering::Release);
                (t, pad)
            }
            Mode::Mpsc => {
                let mut t = self.ring.h64(OFF_TAIL).load(Ordering::Relaxed);
                loop {
                    if !t.is_multiple_of(8) {
                        // Another party wrote tail: a padding word at t
                        // would reach past the data area.
                        return Err(TryClaimError::Corrupt(CorruptError::new(
                            "tail",
                            OFF_TAIL as u64,
                            t,
                            "not a multiple of 8",
                        )));
                    }
                    let (pad, need) = self.wrap(t, size);
                    match self.space(t, need) {
                        Ok(Space::Fits) => {}
                        Ok(Space::Retry) => {
                            t = self.ring.h64(OFF_TAIL).load(Ordering::Acquire);
                            continue;
                        }
                        Ok(Space::Full) => return Err(self.full()),
                        Err(e) => return Err(TryClaimError::Corrupt(e)),
                    }
                    match self.ring.h64(OFF_TAIL).compare_exchange_weak(
                        t,
                        t.wrapping_add(need),
                        Ordering::AcqRel,
                        Ordering::Relaxed,
                    ) {
                        Ok(_) => break (t, pad),
                        Err(cur) => t = cur,
                    }
                }
            }
        };
        if pad > 0 {
            self.ring
                .word_at(t)
                .store(word(KIND_PADDING, 0, 0, pad), Ordering::Release);
        }
        let p = t.wrapping_add(pad);
        let lap = (p >> self.ring.shift()) & 0xFFFF;
        let stamp = word(KIND_CLAIMED, self.owner, lap, n);
        // Relaxed is enough (section 6: section 9 reads stamps only after a
        // timeout of seconds; the payload stores follow in program order).
        self.ring.word_at(p).store(stamp, Ordering::Relaxed);
        self.hb_countdown -= 1;
        if self.hb_countdown == 0 {
            self.heartbeat();
        }
        Ok(WriteClaim {
            producer: self,
            pos: p,
            len: n,
            stamp,
            done: false,
        })
    }

    /// Wrap rule (5.2 step 2): `(pad, need)` for a record of `size` at `t`.
    #[inline(always)]
    fn wrap(&self, t: u64, size: u64) -> (u64, u64) {
        let off = t & self.mask;
        if off + size > self.capacity {
            let pad = self.capacity - off;
            (pad, pad + size)
        } else {
            (0, size)
        }
    }

    /// Claim, copy `data`, commit.
    #[inline]
    pub fn try_write(&mut self, data: &[u8]) -> Result<(), TryWriteError> {
        let mut c = self.try_claim(data.len())?;
        c.copy_from_slice(data);
        c.commit()?;
        Ok(())
    }

    /// Section 7.1: after a commit, an abort or closing, wake a parked
    /// consumer. The common case is one load and no system call.
    #[inline(always)]
    fn wake_check(&self) {
        if self.ring.h32(OFF_CONSUMER_WAIT).load(Ordering::SeqCst) != 0 {
            self.wake();
        }
    }

    #[cold]
    #[inline(never)]
    fn wake(&self) {
        let w = self.ring.h32(OFF_CONSUMER_WAIT);
        // Exchange: of several producers seeing the flag, one makes the call.
        if w.swap(0, Ordering::SeqCst) != 0 {
            // SAFETY: the 4-aligned consumer_wait word in our live mapping.
            unsafe { sys::futex_wake(w.as_ptr(), 1) };
        }
    }

    /// Finish a claim with `value` (commit or abort word). Returns whether
    /// this producer's write landed (always true in SPSC).
    #[inline(always)]
    fn finish(&self, pos: u64, stamp: u64, value: u64) -> bool {
        let w = self.ring.word_at(pos);
        // Sequentially consistent (not just release): section 7.1 needs the
        // commit ordered before the load of `consumer_wait`.
        match self.mode {
            Mode::Spsc => {
                w.store(value, Ordering::SeqCst);
                true
            }
            Mode::Mpsc => w
                .compare_exchange(stamp, value, Ordering::SeqCst, Ordering::Relaxed)
                .is_ok(),
        }
    }
}

impl Drop for Producer<'_> {
    fn drop(&mut self) {
        self.publish_stats();
        if let Some(i) = self.entry {
            self.heartbeat();
            self.ring
                .ent32(i, ENT_STATE)
                .store(STATE_CLOSED, Ordering::SeqCst);
        }
        // Section 7.1: a parked consumer learns at once that it may have
        // reached the end.
        self.wake_check();
    }
}

/// Take a producer-table entry (spec section 8); `None` if every entry is
/// held by a live process.
///
/// An entry is ours once we compare-and-swap its `state` to 3 (attaching):
/// from 0 or 2 in a first pass, else from 1 where the entry's process is
/// gone. Then pid, start and heartbeat, then `state = 1`. All seq_cst, so an
/// SPSC producer attaching at the same time sees us (see `other_live`).
fn take_entry(ring: &Ring, pid: u32, start: u64) -> Option<usize> {
    let take = |i: usize| {
        ring.ent32(i, ENT_PID).store(pid, Ordering::SeqCst);
        ring.ent64(i, ENT_START).store(start, Ordering::SeqCst);
        ring.ent64(i, ENT_HEARTBEAT)
            .store(sys::monotonic_ns(), Ordering::SeqCst);
        ring.ent32(i, ENT_STATE)
            .store(STATE_ATTACHED, Ordering::SeqCst);
        Some(i)
    };
    for i in 0..PRODUCER_SLOTS {
        let state = ring.ent32(i, ENT_STATE);
        let s = state.load(Ordering::SeqCst);
        if (s == STATE_FREE || s == STATE_CLOSED)
            && state
                .compare_exchange(s, STATE_ATTACHING, Ordering::SeqCst, Ordering::Relaxed)
                .is_ok()
        {
            return take(i);
        }
    }
    // Take-over of an attached entry whose process is gone.
    for i in 0..PRODUCER_SLOTS {
        let state = ring.ent32(i, ENT_STATE);
        let dead_pid = ring.ent32(i, ENT_PID).load(Ordering::SeqCst);
        let dead_start = ring.ent64(i, ENT_START).load(Ordering::SeqCst);
        if state.load(Ordering::SeqCst) != STATE_ATTACHED
            || proc::alive(dead_pid, dead_start)
            || state
                .compare_exchange(
                    STATE_ATTACHED,
                    STATE_ATTACHING,
                    Ordering::SeqCst,
                    Ordering::Relaxed,
                )
                .is_err()
        {
            continue;
        }
        // Our CAS may have won against a producer that took the entry over
        // between our look and our CAS: then the pid or start is no longer
        // the dead one's, and the entry goes back to it. A CAS rather than
        // the spec's plain store, so that if that producer closed meanwhile
        // (state 2) the entry stays closed instead of looking attached.
        if ring.ent32(i, ENT_PID).load(Ordering::SeqCst) != dead_pid
            || ring.ent64(i, ENT_START).load(Ordering::SeqCst) != dead_start
        {
            let _ = state.compare_exchange(
                STATE_ATTACHING,
                STATE_ATTACHED,
                Ordering::SeqCst,
                Ordering::Relaxed,
            );
            continue;
        }
        return take(i);
    }
    None
}

/// An entry other than `mine` that is attaching, or attached by a live
/// process: its index and pid.
fn other_live(ring: &Ring, mine: Option<usize>) -> Option<(usize, u32)> {
    (0..PRODUCER_SLOTS)
        .filter(|&j| Some(j) != mine)
        .find(|&j| match ring.ent32(j, ENT_STATE).load(Ordering::SeqCst) {
            STATE_ATTACHING => true,
            STATE_ATTACHED => !party::entry_gone(ring, j),
            _ => false,
        })
        .map(|j| (j, ring.ent32(j, ENT_PID).load(Ordering::SeqCst)))
}

/// A claim in progress: derefs to exactly `len` payload bytes. Aborts on drop
/// unless `commit` or `abort` consumed it, so a claim that is not used is
/// given back at once: `#[must_use]` makes the compiler say so.
#[must_use = "a claim that is dropped is aborted at once: write the payload, then commit()"]
pub struct WriteClaim<'p, 'r> {
    producer: &'p mut Producer<'r>,
    pos: u64,
    len: u64,
    stamp: u64,
    done: bool,
}

impl fmt::Debug for WriteClaim<'_, '_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WriteClaim")
            .field("pos", &self.pos)
            .field("len", &self.len)
            .field("stamp", &format_args!("{:#018x}", self.stamp))
            .finish()
    }
}

impl WriteClaim<'_, '_> {
    /// Position of the record (its header word) in the ring.
    pub fn position(&self) -> u64 {
        self.pos
    }

    /// The stamp written at claim time (spec 5.2 step 6).
    pub fn stamp(&self) -> u64 {
        self.stamp
    }

    /// Make the record visible (spec 5.3), then wake a parked consumer (7.1).
    /// MPSC: `Err(Discarded)` if the consumer recovered the claim first.
    #[inline]
    pub fn commit(mut self) -> Result<(), Discarded> {
        self.done = true;
        let p = &mut *self.producer;
        if p.finish(self.pos, self.stamp, word(KIND_COMMITTED, 0, 0, self.len)) {
            p.records += 1;
            p.bytes += self.len;
            p.wake_check();
            Ok(())
        } else {
            Err(Discarded)
        }
    }

    /// Give the claim back (spec 5.4), then wake a parked consumer (7.1).
    /// `aborts` counts it only if it took effect (an MPSC abort can lose to a
    /// recovery, like a commit).
    #[inline]
    pub fn abort(mut self) {
        self.do_abort();
    }

    #[cold]
    #[inline(never)]
    fn do_abort(&mut self) {
        self.done = true;
        let p = &*self.producer;
        let value = word(KIND_ABORTED, 0, 0, record_size(self.len));
        if p.finish(self.pos, self.stamp, value) {
            p.ring.h64(OFF_ABORTS).fetch_add(1, Ordering::Relaxed);
        }
        // A consumer parked at this record waits for it.
        p.wake_check();
    }
}

impl Drop for WriteClaim<'_, '_> {
    #[inline(always)]
    fn drop(&mut self) {
        if !self.done {
            self.do_abort();
        }
    }
}

impl Deref for WriteClaim<'_, '_> {
    type Target = [u8];
    #[inline(always)]
    fn deref(&self) -> &[u8] {
        let off = (self.pos & self.producer.mask) + 8;
        // SAFETY: [off, off + len) lies inside the data area (no record
        // crosses the end) and belongs to this claim until commit/abort.
        unsafe { std::slice::from_raw_parts(self.producer.ring.data(off), self.len as usize) }
    }
}

impl DerefMut for WriteClaim<'_, '_> {
    #[inline(always)]
    fn deref_mut(&mut self) -> &mut [u8] {
        let off = (self.pos & self.producer.mask) + 8;
        // SAFETY: as for deref; `&mut self` makes the borrow unique.
        unsafe { std::slice::from_raw_parts_mut(self.producer.ring.data(off), self.len as usize) }
    }
}
