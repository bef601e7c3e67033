//! The producer (spec sections 5, 6, 7.1 and 8).

use std::fmt;
use std::ops::{Deref, DerefMut};
use std::sync::atomic::{fence, Ordering};

use crate::layout::*;
use crate::proc;
use crate::ring::{Error, Mode, Ring};
use crate::sys;

/// Default number of claims between heartbeat refreshes (besides every reload
/// of `head`). 256 keeps the clock read out of the 99th percentile.
const HEARTBEAT_EVERY: u32 = 256;

/// Why `try_claim` refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TryClaimError {
    /// Not enough free space now; try again later (`full_events` was bumped).
    Full,
    /// `len == 0`: zero-length records do not exist.
    ZeroLength,
    /// `len > max_payload`: can never succeed on this ring.
    TooLarge,
    /// No space, and the consumer has closed (`consumer_state == 2`): waiting
    /// is pointless. Returned instead of `Full` only then.
    Closed,
}

impl fmt::Display for TryClaimError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TryClaimError::Full => "logbuf: ring full",
            TryClaimError::ZeroLength => "logbuf: zero-length record",
            TryClaimError::TooLarge => "logbuf: record larger than max_payload",
            TryClaimError::Closed => "logbuf: consumer closed",
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
pub enum TryWriteError {
    Claim(TryClaimError),
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
/// 0 if the table is full); on drop it publishes its statistics and marks the
/// entry closed.
pub struct Producer<'r> {
    ring: &'r Ring,
    mode: Mode,
    mask: u64,
    capacity: u64,
    max_payload: u64,
    /// SPSC: our own tail. MPSC: unused.
    tail: u64,
    cached_head: u64,
    entry: Option<usize>,
    owner: u64,
    base_records: u64,
    base_bytes: u64,
    records: u64,
    bytes: u64,
    published_records: u64,
    hb_countdown: u32,
    hb_every: u32,
}

impl fmt::Debug for Producer<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Producer")
            .field("mode", &self.mode)
            .field("owner", &self.owner)
            .field("records", &self.records)
            .finish()
    }
}

enum Space {
    Fits,
    Full,
}

impl Ring {
    /// Attach a producer (spec section 8). On an SPSC ring this fails with
    /// `ProducerBusy` if another live producer is attached.
    pub fn producer(&self) -> Result<Producer<'_>, Error> {
        Producer::attach(self)
    }
}

impl<'r> Producer<'r> {
    fn attach(ring: &'r Ring) -> Result<Producer<'r>, Error> {
        let (pid, start) = proc::me();
        let entry = take_entry(ring, pid, start);
        let mut p = Producer {
            ring,
            mode: ring.mode(),
            mask: ring.capacity() - 1,
            capacity: ring.capacity(),
            max_payload: ring.max_payload() as u64,
            tail: 0,
            cached_head: 0,
            entry,
            owner: entry.map_or(0, |i| i as u64 + 1),
            base_records: 0,
            base_bytes: 0,
            records: 0,
            bytes: 0,
            published_records: 0,
            hb_countdown: HEARTBEAT_EVERY,
            hb_every: HEARTBEAT_EVERY,
        };
        if let Some(i) = entry {
            // Statistics accumulate over the entry's successive owners.
            p.base_records = ring.ent64(i, ENT_RECORDS).load(Ordering::Relaxed);
            p.base_bytes = ring.ent64(i, ENT_BYTES).load(Ordering::Relaxed);
            p.heartbeat();
            if p.mode == Mode::Spsc {
                // Exactly one producer at a time: refuse if another is alive.
                for j in (0..PRODUCER_SLOTS).filter(|&j| j != i) {
                    if ring.ent32(j, ENT_STATE).load(Ordering::Acquire) != STATE_ATTACHED {
                        continue;
                    }
                    let opid = ring.ent32(j, ENT_PID).load(Ordering::Acquire);
                    let ostart = ring.ent64(j, ENT_START).load(Ordering::Acquire);
                    if opid != 0 && proc::alive(opid, ostart) {
                        // `p` drops here and closes our entry.
                        return Err(Error::ProducerBusy {
                            entry: j,
                            pid: opid,
                        });
                    }
                }
            }
        }
        p.cached_head = ring.head();
        p.tail = ring.tail();
        Ok(p)
    }

    /// Owner id used in claim stamps (table entry + 1), or 0 if unattached.
    pub fn owner_id(&self) -> u8 {
        self.owner as u8
    }

    /// The ring this producer writes to.
    pub fn ring(&self) -> &'r Ring {
        self.ring
    }

    /// Records committed by this producer since it attached.
    pub fn committed(&self) -> u64 {
        self.records
    }

    /// Refresh this producer's heartbeat (CLOCK_MONOTONIC ns). Done
    /// automatically every `heartbeat_every` claims (default 256) and on every
    /// reload of `head`; a producer that claims rarely should call it itself
    /// (spec section 8 wants a refresh at least every 100 ms while active).
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

    /// Publish `records`/`bytes` to the table entry (spec section 3). Done
    /// automatically on every reload of `head` and on drop.
    pub fn publish_stats(&mut self) {
        if let Some(i) = self.entry {
            if self.published_records != self.records {
                self.published_records = self.records;
                self.ring.ent64(i, ENT_RECORDS).store(
                    self.base_records.wrapping_add(self.records),
                    Ordering::Relaxed,
                );
                self.ring
                    .ent64(i, ENT_BYTES)
                    .store(self.base_bytes.wrapping_add(self.bytes), Ordering::Relaxed);
            }
        }
    }

    /// Space check of spec 5.1 for `need` bytes at tail position `t`.
    #[inline(always)]
    fn space(&mut self, t: u64, need: u64) -> Space {
        let used = t.wrapping_sub(self.cached_head);
        if used <= self.capacity && need <= self.capacity - used {
            return Space::Fits;
        }
        self.reload_head(t, need)
    }

    #[cold]
    #[inline(never)]
    fn reload_head(&mut self, t: u64, need: u64) -> Space {
        self.cached_head = self.ring.head();
        self.publish_stats();
        self.heartbeat();
        let used = t.wrapping_sub(self.cached_head);
        if used <= self.capacity && need <= self.capacity - used {
            Space::Fits
        } else {
            Space::Full
        }
    }

    #[cold]
    #[inline(never)]
    fn full(&self) -> TryClaimError {
        self.ring
            .h64(OFF_FULL_EVENTS)
            .fetch_add(1, Ordering::Relaxed);
        if self.ring.consumer_state() == STATE_CLOSED {
            TryClaimError::Closed
        } else {
            TryClaimError::Full
        }
    }

    /// Claim `len` payload bytes (spec 5.2). The returned guard derefs to
    /// exactly `len` bytes; it aborts on drop unless committed.
    #[inline]
    pub fn try_claim(&mut self, len: usize) -> Result<WriteClaim<'_, 'r>, TryClaimError> {
        if len == 0 {
            return Err(TryClaimError::ZeroLength);
        }
        if len as u64 > self.max_payload {
            return Err(TryClaimError::TooLarge);
        }
        let n = len as u64;
        let size = record_size(n);
        let ring = self.ring;
        let (t, pad) = match self.mode {
            Mode::Spsc => {
                let t = self.tail;
                let (pad, need) = self.wrap(t, size);
                if let Space::Full = self.space(t, need) {
                    return Err(self.full());
                }
                self.tail = t.wrapping_add(need);
                ring.h64(OFF_TAIL).store(self.tail, Ordering::Release);
                (t, pad)
            }
            Mode::Mpsc => {
                let tail = ring.h64(OFF_TAIL);
                let mut t = tail.load(Ordering::Relaxed);
                loop {
                    let (pad, need) = self.wrap(t, size);
                    if let Space::Full = self.space(t, need) {
                        // Our `t` may be stale (the consumer may even have
                        // passed it): retry with a fresh tail before giving up.
                        let cur = tail.load(Ordering::Acquire);
                        if cur != t {
                            t = cur;
                            continue;
                        }
                        return Err(self.full());
                    }
                    match tail.compare_exchange_weak(
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
            ring.word_at(t)
                .store(word(KIND_PADDING, 0, 0, pad), Ordering::Release);
        }
        let p = t.wrapping_add(pad);
        let lap = (p >> ring.shift()) & 0xFFFF;
        let stamp = word(KIND_CLAIMED, self.owner, lap, n);
        ring.word_at(p).store(stamp, Ordering::Release);
        // The payload stores below must not become visible before the stamp
        // (section 9's scan). Release on the stamp orders only what precedes
        // it; this fence orders it before what follows (no-op on x86-64).
        fence(Ordering::Release);
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

    /// Section 7.1: after a commit, wake a parked consumer. The common case
    /// is one load and no system call.
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
        w.store(0, Ordering::SeqCst);
        // SAFETY: the 4-aligned consumer_wait word in our live mapping.
        unsafe { sys::futex_wake(w.as_ptr(), 1) };
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
                .store(STATE_CLOSED, Ordering::Release);
        }
    }
}

/// Take a producer-table entry for (`pid`, `start`). See the report/README for
/// the races this guards against; returns `None` if the table is full.
fn take_entry(ring: &Ring, pid: u32, start: u64) -> Option<usize> {
    // First pass: free (0) or closed (2) entries.
    for i in 0..PRODUCER_SLOTS {
        let state = ring.ent32(i, ENT_STATE);
        let s = state.load(Ordering::Acquire);
        if s != STATE_FREE && s != STATE_CLOSED {
            continue;
        }
        if state
            .compare_exchange(s, STATE_ATTACHED, Ordering::AcqRel, Ordering::Relaxed)
            .is_err()
        {
            continue;
        }
        // We hold state = 1 with the previous owner's pid still in place.
        // Zero `start` first ("identity unknown": looks alive to others), then
        // take the pid by CAS so that a concurrent take-over of a dead pid
        // (second pass, below) and we cannot both win.
        let old = ring.ent32(i, ENT_PID).load(Ordering::Acquire);
        ring.ent64(i, ENT_START).store(0, Ordering::Release);
        if ring
            .ent32(i, ENT_PID)
            .compare_exchange(old, pid, Ordering::AcqRel, Ordering::Relaxed)
            .is_err()
        {
            continue; // someone took it over; it is theirs
        }
        ring.ent64(i, ENT_START).store(start, Ordering::Release);
        return Some(i);
    }
    // Second pass: attached entries whose process is gone.
    for i in 0..PRODUCER_SLOTS {
        if ring.ent32(i, ENT_STATE).load(Ordering::Acquire) != STATE_ATTACHED {
            continue;
        }
        let opid = ring.ent32(i, ENT_PID).load(Ordering::Acquire);
        let ostart = ring.ent64(i, ENT_START).load(Ordering::Acquire);
        if opid == 0 || ostart == 0 || proc::alive(opid, ostart) {
            continue; // attaching in progress, identity unknown, or alive
        }
        // Claim by CAS on start (unique winner), then the pid.
        if ring
            .ent64(i, ENT_START)
            .compare_exchange(ostart, 0, Ordering::AcqRel, Ordering::Relaxed)
            .is_err()
        {
            continue;
        }
        if ring
            .ent32(i, ENT_PID)
            .compare_exchange(opid, pid, Ordering::AcqRel, Ordering::Relaxed)
            .is_err()
        {
            continue;
        }
        ring.ent64(i, ENT_START).store(start, Ordering::Release);
        return Some(i);
    }
    None
}

/// A claim in progress: derefs to exactly `len` payload bytes. Aborts on drop
/// unless `commit` or `abort` consumed it.
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

    /// Give the claim back (spec 5.4).
    #[inline]
    pub fn abort(mut self) {
        self.do_abort();
    }

    fn do_abort(&mut self) {
        self.done = true;
        let p = &*self.producer;
        let value = word(KIND_ABORTED, 0, 0, record_size(self.len));
        p.ring.h64(OFF_ABORTS).fetch_add(1, Ordering::Relaxed);
        if p.finish(self.pos, self.stamp, value) {
            // A consumer parked at this record waits for it: wake it too.
            p.wake_check();
        }
    }
}

impl Drop for WriteClaim<'_, '_> {
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
