//! The producer (spec sections 5, 6, 7.3 and 8).

use std::fmt;
use std::ops::{Deref, DerefMut};
use std::sync::atomic::Ordering;
use std::sync::Arc;

use crate::error::{CorruptError, Error};
use crate::layout::*;
use crate::party::{self, Presence, Refused};
use crate::ring::{Ring, RingRef};
use crate::sys;
use crate::wakeup;

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
    /// No space, and the consumer closed the ring for good (its lease is
    /// CLOSED, spec section 8): waiting is pointless. Returned instead of
    /// `Full` only then. A consumer that is detached or gone is not this:
    /// the next one resumes where it left (`Full`, and `Producer::consumer_present`).
    RingClosed,
    /// A header field this producer loaded (`head` or `tail`) broke the
    /// protocol: another party wrote it. Nothing was claimed.
    Corrupt(CorruptError),
}

impl fmt::Display for TryClaimError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TryClaimError::Full => "logbuf: ring full",
            TryClaimError::ZeroLength => "logbuf: zero-length record",
            TryClaimError::TooLarge => "logbuf: record larger than max_payload",
            TryClaimError::RingClosed => "logbuf: ring closed by its consumer",
            TryClaimError::Corrupt(e) => return e.fmt(f),
        })
    }
}
impl std::error::Error for TryClaimError {}

/// A commit that did not take effect: the claim's word was no longer its
/// stamp (spec 5.3), so the record was discarded and will not be delivered.
/// On an MPSC ring that is the consumer's recovery of a claim held past its
/// unblock timeout (section 9); on an SPSC ring only another party breaking
/// the protocol does it.
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
/// On creation it takes its party record (spec section 8): entry 0 on an
/// SPSC ring (owner id 1; refused while a live producer holds it), the
/// first free or dead entry on an MPSC ring (owner id = entry + 1; 0 if all
/// 32 are held). On drop it publishes its statistics, detaches (DETACHED)
/// and wakes a parked consumer; an SPSC producer with a claim that never
/// ended (`std::mem::forget`) does not detach: its entry stays held until
/// its process exits (section 8 forbids detaching with a claim open).
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
    /// Our table entry, if any, and our lease in it.
    entry: Option<usize>,
    lease: u64,
    owner: u64,
    /// SPSC: claims made and not yet ended.
    open: u32,
    /// Whether claims end with release stores (this process registered for
    /// the consumer's barrier, spec 7.3) or sequentially consistent ones.
    pub(crate) release: bool,
    /// Committed by this producer since it attached.
    records: u64,
    bytes: u64,
    /// The part of `records`/`bytes` already added to the table entry.
    published_records: u64,
    published_bytes: u64,
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

/// What a space check found.
enum Space {
    Fits,
    Full,
    /// MPSC: `tail` moved while we looked; claim again with the new one.
    Retry,
}

impl Ring {
    /// Attach a producer (spec section 8). On an SPSC ring this fails with
    /// `ProducerBusy` (naming the holder's pid) while a live producer holds
    /// entry 0, in this process or another; `Corrupt` if `head` or `tail`
    /// breaks section 10 check 7, or entry 0's lease is none of the spec's.
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
        // Asked now, not at the first commit: the answer decides the order
        // of every commit, and a consumer's barrier must cover us from the
        // first one on.
        let release = wakeup::release_commits();
        let (entry, lease, head, tail) = match ring.mode() {
            Mode::Spsc => {
                let lease = party::take(&ring, entry_offset(0)).map_err(|r| match r {
                    Refused::Held(pid) => Error::ProducerBusy { pid },
                    Refused::Corrupt(e) => Error::Corrupt(e),
                })?;
                // Positions after winning the entry: no other producer moves
                // tail now.
                match ring.positions() {
                    Ok((h, t)) => (Some(0), lease, h, t),
                    Err(e) => {
                        party::leave(&ring, entry_offset(0), lease, STATE_DETACHED);
                        return Err(e.into());
                    }
                }
            }
            Mode::Mpsc => {
                let (head, tail) = ring.positions()?;
                let (entry, lease) = party::take_entry(&ring);
                (entry, lease, head, tail)
            }
        };
        if let Some(i) = entry {
            party::field(&ring, entry_offset(i), PARTY_SINCE).store(tail, Ordering::Relaxed);
        }
        Ok(Producer {
            mode: ring.mode(),
            mask: ring.capacity() - 1,
            capacity: ring.capacity(),
            max_payload: ring.max_payload() as u64,
            ring,
            tail,
            cached_head: head,
            entry,
            lease,
            owner: entry.map_or(0, |i| i as u64 + 1),
            open: 0,
            release,
            records: 0,
            bytes: 0,
            published_records: 0,
            published_bytes: 0,
            hb_countdown: HEARTBEAT_EVERY,
            hb_every: HEARTBEAT_EVERY,
        })
    }

    /// Owner id used in claim stamps (table entry + 1), or 0 without an
    /// entry (MPSC only).
    pub fn owner_id(&self) -> u8 {
        self.owner as u8
    }

    /// The ring this producer writes to.
    pub fn ring(&self) -> &Ring {
        &self.ring
    }

    /// The ring's positions, counters and parties.
    pub fn stats(&self) -> crate::Stats {
        self.ring.stats()
    }

    /// Records committed by this producer since it attached.
    pub fn committed(&self) -> u64 {
        self.records
    }

    /// Whether a consumer is attached and its process alive (spec section
    /// 8; asks the kernel). A producer that finds the ring full can tell a
    /// slow consumer from none: records wait for the next consumer either
    /// way, and its policy decides how long to wait.
    pub fn consumer_present(&self) -> bool {
        party::consumer(&self.ring, true) == Presence::Present
    }

    /// Add `n` to this producer's entry's `dropped` counter: records its
    /// caller gave up on because the ring stayed full (spec section 3).
    pub fn count_dropped(&self, n: u64) {
        self.add(PARTY_DROPPED, n);
    }

    /// Add `n` to a counter of this producer's entry, if it has one.
    fn add(&self, f: usize, n: u64) {
        if let Some(i) = self.entry {
            if n != 0 {
                party::field(&self.ring, entry_offset(i), f).fetch_add(n, Ordering::Relaxed);
            }
        }
    }

    /// Refresh this producer's heartbeat (CLOCK_MONOTONIC ns). Done
    /// automatically every `heartbeat_every` claims (default 256) and on every
    /// reload of `head`. Heartbeats are informational (spec section 8: a
    /// monitor shows their age); liveness is decided by the lease.
    pub fn heartbeat(&mut self) {
        self.hb_countdown = self.hb_every;
        if let Some(i) = self.entry {
            party::field(&self.ring, entry_offset(i), PARTY_HEARTBEAT)
                .store(sys::monotonic_ns(), Ordering::Relaxed);
        }
    }

    /// Refresh the heartbeat every `n` claims (`n >= 1`).
    pub fn set_heartbeat_every(&mut self, n: u32) {
        self.hb_every = n.max(1);
        self.hb_countdown = self.hb_countdown.min(self.hb_every);
    }

    /// Add what this producer committed since the last call to the table
    /// entry's `records`/`bytes` (spec section 3: totals for the entry,
    /// which successive holders add to). Done automatically on every reload
    /// of `head` and on drop.
    pub fn publish_stats(&mut self) {
        let records = self.records - self.published_records;
        if records != 0 {
            self.add(PARTY_RECORDS, records);
            self.add(PARTY_BYTES, self.bytes - self.published_bytes);
            self.published_records = self.records;
            self.published_bytes = self.bytes;
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

    /// A refused claim (5.1): count it, and turn "full" into "ring closed"
    /// when the consumer closed the ring for good (section 8).
    #[cold]
    #[inline(never)]
    fn full(&mut self) -> TryClaimError {
        self.ring
            .h64(OFF_FULL_EVENTS)
            .fetch_add(1, Ordering::Relaxed);
        match party::consumer(&self.ring, false) {
            Presence::RingClosed => TryClaimError::RingClosed,
            _ => TryClaimError::Full,
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
            self.add(PARTY_REFUSED, 1);
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
                    // Relaxed is enough (section 6); acq_rel is customary.
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
        // Release (section 6): never visible before the tail store above,
        // or a consumer on arm64 could see the stamp past the tail it
        // loads and call the ring corrupt (7.1).
        self.ring.word_at(p).store(stamp, Ordering::Release);
        self.hb_countdown -= 1;
        if self.hb_countdown == 0 {
            self.heartbeat();
        }
        self.open += 1;
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

    /// End the claim at `pos` with `value` (the commit or abort word), from
    /// its exact stamp (spec 5.3): a compare-and-swap in MPSC, which also
    /// decides the race with a recovery; a load, a check and a store in
    /// SPSC, where nobody else ends a claim while its producer lives. A
    /// claim older than a lap of the SPSC producer's own tail was released
    /// long ago, whatever the word says now. Returns whether this call
    /// ended it; either way the claim is no longer open.
    #[inline(always)]
    fn end(&mut self, pos: u64, stamp: u64, value: u64) -> bool {
        self.open -= 1;
        let w = self.ring.word_at(pos);
        match self.mode {
            Mode::Mpsc => wakeup::cas_end(w, stamp, value, self.release),
            Mode::Spsc => {
                if self.tail.wrapping_sub(pos) > self.capacity || w.load(Ordering::Relaxed) != stamp
                {
                    return false;
                }
                wakeup::store_end(w, value, self.release);
                true
            }
        }
    }
}

impl Drop for Producer<'_> {
    fn drop(&mut self) {
        self.publish_stats();
        if let Some(i) = self.entry {
            self.heartbeat();
            // An SPSC producer does not detach with a claim open (section
            // 8): a claim that was forgotten keeps the entry held, so
            // recovery knows whose claim it is, until the process exits.
            if self.mode == Mode::Mpsc || self.open == 0 {
                party::leave(&self.ring, entry_offset(i), self.lease, STATE_DETACHED);
            }
        }
        // Section 7.3: a parked consumer learns at once that it may have
        // reached the end.
        wakeup::wake(&self.ring, self.release);
    }
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

    /// Make the record visible (spec 5.3), then wake a parked consumer
    /// (7.3). `Err(Discarded)` if the claim's word was no longer its stamp:
    /// on an MPSC ring, the consumer recovered the claim first. A claim ends
    /// once: `commit` and `abort` take it by value.
    #[inline]
    pub fn commit(mut self) -> Result<(), Discarded> {
        self.done = true;
        let p = &mut *self.producer;
        let ended = p.end(self.pos, self.stamp, word(KIND_COMMITTED, 0, 0, self.len));
        if ended {
            p.records += 1;
            p.bytes += self.len;
            wakeup::wake(&p.ring, p.release);
            Ok(())
        } else {
            Err(Discarded)
        }
    }

    /// Give the claim back (spec 5.4), then wake a parked consumer (7.3).
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
        let p = &mut *self.producer;
        if p.end(
            self.pos,
            self.stamp,
            word(KIND_ABORTED, 0, 0, record_size(self.len)),
        ) {
            p.ring.h64(OFF_ABORTS).fetch_add(1, Ordering::Relaxed);
            // A consumer parked at this record waits for it.
            wakeup::wake(&p.ring, p.release);
        }
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
