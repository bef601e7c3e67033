//! The consumer (spec section 7): attaching, reading, validating and
//! releasing records. Waiting for them is in `wait.rs`, recovering stuck
//! claims in `recovery.rs`.

use std::fmt;
use std::ops::Deref;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use crate::error::{CorruptError, Error};
use crate::layout::*;
use crate::party::{self, Refused};
use crate::ring::{Ring, RingRef};

mod recovery;
mod wait;

pub use recovery::{Stuck, StuckReport, DEFAULT_UNBLOCK_TIMEOUT};
pub use wait::RecvError;

/// The consumer of a ring: reads the records in order, hands each to a
/// callback, zeroes it and gives the space back (spec section 7). A ring has
/// one consumer at a time, in any process: attaching takes the consumer
/// record by compare-and-swap (section 8), refusing a live holder and taking
/// over a dead one; dropping the consumer detaches it (producers keep
/// producing, and the next consumer resumes at `head`), and
/// [`close_ring`](Consumer::close_ring) closes the ring for good.
///
/// [`read_batch`](Consumer::read_batch) reads what is ready without
/// waiting; [`recv_batch`](Consumer::recv_batch) waits for records (parking
/// on the futex word, section 7.3), recovers claims whose producers died
/// (section 9, [`set_recovery`](Consumer::set_recovery)) and reports the end
/// of the stream.
///
/// Every record word, `tail` and `head` it loads is validated before it is
/// trusted; the first broken one stops it with a [`CorruptError`] naming the
/// field (or the record's position), the same error from then on.
pub struct Consumer<'r> {
    ring: RingRef<'r>,
    /// This process's lease in the consumer record.
    lease: u64,
    /// The state the record is left in on drop: DETACHED, or CLOSED.
    leave_as: u64,
    mode: Mode,
    capacity: u64,
    mask: u64,
    shift: u32,
    max_payload: u64,
    /// Released: what the header's `head` says.
    head: u64,
    /// Read cursor: records in `[head, next)` are read, not yet released.
    next: u64,
    /// `tail` as last loaded and checked.
    tail_cache: u64,
    /// Committed records (and their bytes) in `[head, next)`.
    pending: (u64, u64),
    /// Records and bytes released so far, as published.
    total: (u64, u64),
    /// Sticky: set once the ring is found corrupt.
    err: Option<CorruptError>,
    pub(crate) wait: wait::WaitState,
    recovery: recovery::Recovery,
}

impl fmt::Debug for Consumer<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Consumer")
            .field("mode", &self.mode)
            .field("head", &self.head)
            .field("err", &self.err)
            .finish()
    }
}

/// A committed record, as the consumer hands it to a callback: derefs to its
/// payload. It lives only during the callback: the consumer zeroes it right
/// after.
#[derive(Clone, Copy, Debug)]
pub struct Record<'a> {
    bytes: &'a [u8],
    pos: u64,
    seq: u64,
}

impl<'a> Record<'a> {
    /// The payload.
    pub fn bytes(&self) -> &'a [u8] {
        self.bytes
    }
    /// The ring position of the record's header word: unique for the life
    /// of the ring, increasing from record to record.
    pub fn position(&self) -> u64 {
        self.pos
    }
    /// The record's sequence number in the ring: the number of committed
    /// records released before it, by any consumer (spec section 7.2).
    pub fn seq(&self) -> u64 {
        self.seq
    }
}

impl Deref for Record<'_> {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        self.bytes
    }
}

/// What the word at the read cursor says (spec section 7.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Peek {
    /// Nothing to deliver yet: 0, a valid CLAIMED stamp, or a whole ring
    /// read.
    Empty,
    /// A skip of `size` bytes.
    Skip(u64),
    /// A committed record of `len` payload bytes.
    Record(u64),
}

impl Ring {
    /// Attach the consumer (spec section 8). Fails with `ConsumerBusy`,
    /// naming the holder's pid, while a live consumer holds the ring, in
    /// this process or another; a consumer whose process is gone is taken
    /// over. Finishes a release a dead predecessor left (section 7.2).
    /// `Corrupt` if `head`, `tail` or `releasing` breaks its rule, or the
    /// consumer's lease is none of the spec's.
    pub fn consumer(&self) -> Result<Consumer<'_>, Error> {
        Consumer::attach(RingRef::borrowed(self))
    }

    /// `consumer`, holding the ring through the `Arc`, to move to a
    /// `'static` thread.
    pub fn consumer_owned(self: &Arc<Ring>) -> Result<Consumer<'static>, Error> {
        Consumer::attach(RingRef::shared(self))
    }
}

impl<'r> Consumer<'r> {
    fn attach(ring: RingRef<'r>) -> Result<Consumer<'r>, Error> {
        let lease = party::take(&ring, OFF_CONSUMER).map_err(|r| match r {
            Refused::Held(pid) => Error::ConsumerBusy { pid },
            Refused::Corrupt(e) => Error::Corrupt(e),
        })?;
        let (head, tail) = match resume(&ring) {
            Ok(p) => p,
            Err(e) => {
                party::leave(&ring, OFF_CONSUMER, lease, STATE_DETACHED);
                return Err(e.into());
            }
        };
        party::field(&ring, OFF_CONSUMER, PARTY_SINCE).store(head, Ordering::Relaxed);
        let total = (
            ring.h64(OFF_READ_RECORDS).load(Ordering::Relaxed),
            ring.h64(OFF_READ_BYTES).load(Ordering::Relaxed),
        );
        Ok(Consumer {
            lease,
            leave_as: STATE_DETACHED,
            mode: ring.mode(),
            capacity: ring.capacity(),
            mask: ring.capacity() - 1,
            shift: ring.shift(),
            max_payload: ring.max_payload() as u64,
            ring,
            head,
            next: head,
            tail_cache: tail,
            pending: (0, 0),
            total,
            err: None,
            wait: wait::WaitState::default(),
            recovery: recovery::Recovery::default(),
        })
    }

    /// Detach and close the ring for good (spec section 8): producers that
    /// find it full stop with `RingClosed`. A consumer that attaches later
    /// reopens it.
    pub fn close_ring(mut self) {
        self.leave_as = STATE_CLOSED;
    }

    /// The ring this consumer reads.
    pub fn ring(&self) -> &Ring {
        &self.ring
    }

    /// The ring's positions and counters.
    pub fn stats(&self) -> crate::Stats {
        self.ring.stats()
    }

    /// The position of the next record to read (everything before it is
    /// released).
    pub fn position(&self) -> u64 {
        self.next
    }

    /// The error that stopped this consumer, if the ring was found corrupt.
    pub fn err(&self) -> Option<CorruptError> {
        self.err
    }

    /// Call `f` with each committed record ready, in order, up to `max` of
    /// them, passing over skips; zero each record (skips too) as soon as `f`
    /// returns; then give them all back with one store of `head` (spec
    /// section 7.2). Returns how many records `f` saw: 0 when none was
    /// ready. Never waits.
    ///
    /// Zeroing each record right after its callback, rather than in one pass
    /// at the end, walks the ring line by line just behind the read cursor,
    /// so the CPU fetches the next records' lines meanwhile (the spec's
    /// implementer note in section 7.2).
    ///
    /// A corrupt record stops the batch: the records before it are delivered
    /// and released, and `Ok(n)` says how many; the next call returns the
    /// error, as every call after it does.
    pub fn read_batch<F>(&mut self, max: usize, mut f: F) -> Result<usize, CorruptError>
    where
        F: FnMut(Record<'_>),
    {
        // Whatever an unwinding callback left read and not released.
        self.release();
        let mut n = 0;
        let mut res = Ok(());
        while n < max {
            let size = match self.peek() {
                Ok(Peek::Empty) => break,
                Err(e) => {
                    res = Err(e);
                    break;
                }
                Ok(Peek::Skip(size)) => size,
                Ok(Peek::Record(len)) => {
                    let pos = self.next;
                    let off = pos & self.mask;
                    // SAFETY: peek checked off + record_size(len) <= capacity;
                    // the record is committed (acquire load of its word) and
                    // ours until released; no one writes it meanwhile (the
                    // contract of Ring::open).
                    let bytes = unsafe {
                        std::slice::from_raw_parts(self.ring.data(off + 8), len as usize)
                    };
                    // Advanced first, so a panicking `f` cannot have its
                    // record delivered twice.
                    self.next = pos.wrapping_add(record_size(len));
                    let seq = self.total.0.wrapping_add(self.pending.0);
                    self.pending.0 += 1;
                    self.pending.1 += len;
                    f(Record { bytes, pos, seq });
                    n += 1;
                    self.announce();
                    self.zero(off, record_size(len));
                    continue;
                }
            };
            let off = self.next & self.mask;
            self.next = self.next.wrapping_add(size);
            self.announce();
            self.zero(off, size);
        }
        self.advance();
        match res {
            Err(e) if n == 0 => Err(e),
            _ => Ok(n),
        }
    }

    /// Zero `[off, off + size)` of the data area (one record: it does not
    /// wrap).
    #[inline(always)]
    fn zero(&self, off: u64, size: u64) {
        debug_assert!(off + size <= self.capacity);
        // SAFETY: inside the data area (validated); released by no one but us.
        unsafe { std::ptr::write_bytes(self.ring.data(off), 0, size as usize) };
    }

    /// Zero everything read since the last release and give it back.
    fn release(&mut self) {
        if self.next == self.head {
            return;
        }
        self.announce();
        zero_span(&self.ring, self.head, self.next.wrapping_sub(self.head));
        self.advance();
    }

    /// Spec section 7.2 step 1: before any byte of `[head, next)` is
    /// zeroed, publish where the release under way ends and what
    /// `read_records` and `read_bytes` will then be, for a consumer that
    /// takes over if this one dies mid-release. Relaxed: they are read only
    /// after this process is gone.
    fn announce(&self) {
        let r = &self.ring;
        r.h64(OFF_RELEASING_RECORDS)
            .store(self.total.0.wrapping_add(self.pending.0), Ordering::Relaxed);
        r.h64(OFF_RELEASING_BYTES)
            .store(self.total.1.wrapping_add(self.pending.1), Ordering::Relaxed);
        r.h64(OFF_RELEASING).store(self.next, Ordering::Relaxed);
    }

    /// Publish the read counters and then `head` (release: after the
    /// zeroing stores), once `[head, next)` is zeroed (section 7.2 step 3).
    fn advance(&mut self) {
        if self.next == self.head {
            return;
        }
        if self.pending.0 != 0 {
            self.total.0 = self.total.0.wrapping_add(self.pending.0);
            self.total.1 = self.total.1.wrapping_add(self.pending.1);
            self.pending = (0, 0);
            self.ring
                .h64(OFF_READ_RECORDS)
                .store(self.total.0, Ordering::Relaxed);
            self.ring
                .h64(OFF_READ_BYTES)
                .store(self.total.1, Ordering::Relaxed);
        }
        self.head = self.next;
        self.ring.h64(OFF_HEAD).store(self.head, Ordering::Release);
    }

    /// Decode and validate the record header word at the read cursor (spec
    /// section 7.1, in the spec's order).
    fn peek(&mut self) -> Result<Peek, CorruptError> {
        if let Some(e) = self.err {
            return Err(e);
        }
        let pos = self.next;
        if pos.wrapping_sub(self.head) >= self.capacity {
            // Step 1: a whole ring read and not released: the word at pos is
            // the unreleased one at head, not a new record.
            return Ok(Peek::Empty);
        }
        let w = self.ring.word_at(pos).load(Ordering::Acquire);
        if w == 0 {
            return Ok(Peek::Empty);
        }
        let size = match self.extent(pos, w) {
            Ok(size) => size,
            Err(reason) => return Err(self.fail(pos, w, reason)),
        };
        let avail = self.tail_cache.wrapping_sub(pos);
        if avail > self.capacity || avail < size {
            self.reload_tail()?;
            let avail = self.tail_cache.wrapping_sub(pos);
            if avail > self.capacity || avail < size {
                return Err(self.fail(pos, w, "record runs past tail"));
            }
        }
        Ok(match word_kind(w) {
            KIND_COMMITTED => Peek::Record(word_len(w)),
            KIND_CLAIMED => Peek::Empty, // a producer is writing it
            _ => Peek::Skip(size),
        })
    }

    /// Spec section 7.1 step 3, but for `tail`: the size of the record,
    /// claim or skip whose non-zero header word `w` sits at position `pos`,
    /// or the rule it breaks. A CLAIMED stamp is written once with its final
    /// values, so one that breaks these rules is never a claim in progress.
    fn extent(&self, pos: u64, w: u64) -> Result<u64, &'static str> {
        let off = pos & self.mask;
        let len = word_len(w);
        let kind = word_kind(w);
        if kind != KIND_CLAIMED && (word_owner(w) != 0 || word_lap(w) != 0) {
            return Err("lap or owner bits outside a CLAIMED stamp");
        }
        let size = match kind {
            KIND_CLAIMED => {
                if len == 0 || len > self.max_payload {
                    return Err("CLAIMED stamp with a payload length not in [1, max_payload]");
                }
                if word_lap(w) != (pos >> self.shift) & 0xFFFF {
                    return Err("CLAIMED stamp of another lap than its position's");
                }
                let owner = word_owner(w);
                if self.mode == Mode::Spsc && owner != 1 {
                    return Err("CLAIMED stamp of an owner other than 1 on an SPSC ring");
                }
                if owner > PRODUCER_SLOTS as u64 {
                    return Err("CLAIMED stamp of an owner above the 32 table entries");
                }
                record_size(len)
            }
            KIND_COMMITTED => {
                if len == 0 || len > self.max_payload {
                    return Err("payload length not in [1, max_payload]");
                }
                record_size(len)
            }
            KIND_PADDING | KIND_ABORTED | KIND_UNBLOCKED => {
                if len < 8 || !len.is_multiple_of(8) {
                    return Err("skip length not a positive multiple of 8");
                }
                if kind == KIND_ABORTED && len > record_size(self.max_payload) {
                    return Err("aborted record larger than any claim");
                }
                if kind == KIND_PADDING && off + len != self.capacity {
                    return Err("padding does not end at the wrap point");
                }
                len
            }
            _ => return Err("unknown kind"),
        };
        if off + size > self.capacity {
            return Err("record crosses the end of the data area");
        }
        Ok(size)
    }

    /// Load `tail` (acquire) and check it (spec 7.1, step 3): a multiple of
    /// 8, not behind the read cursor `next` (tail never moves back, whether
    /// or not what is before `next` is released yet), at most `capacity`
    /// ahead of the released `head`.
    fn reload_tail(&mut self) -> Result<u64, CorruptError> {
        let t = self.ring.h64(OFF_TAIL).load(Ordering::Acquire);
        let ahead = t.wrapping_sub(self.head);
        if !t.is_multiple_of(8)
            || ahead > self.capacity
            || ahead < self.next.wrapping_sub(self.head)
        {
            let e = CorruptError::new(
                "tail",
                OFF_TAIL as u64,
                t,
                "not a multiple of 8 between the read cursor and capacity ahead of head",
            );
            self.err = Some(e);
            return Err(e);
        }
        self.tail_cache = t;
        Ok(t)
    }

    fn fail(&mut self, pos: u64, w: u64, reason: &'static str) -> CorruptError {
        let e = CorruptError::new("record", pos, w, reason);
        self.err = Some(e);
        e
    }
}

/// Zero the `n` bytes at position `pos`, which may wrap past the end of
/// the data area.
fn zero_span(ring: &Ring, pos: u64, n: u64) {
    let cap = ring.capacity();
    let from = pos & (cap - 1);
    let first = n.min(cap - from);
    // SAFETY: [from, from + first) and [0, n - first) lie inside the data
    // area (n <= capacity); the span is the consumer's to release.
    unsafe {
        std::ptr::write_bytes(ring.data(from), 0, first as usize);
        std::ptr::write_bytes(ring.data(0), 0, (n - first) as usize);
    }
}

/// Position a new consumer at the region's head, after finishing a release
/// that a consumer before it began and did not end (spec section 7.2):
/// without that, the bytes it had zeroed would read as a reservation not
/// yet stamped, and records it had delivered would be read again from
/// half-zeroed bytes. Returns `(head, tail)`.
fn resume(ring: &Ring) -> Result<(u64, u64), CorruptError> {
    let (head, tail) = ring.positions()?;
    let rel = ring.h64(OFF_RELEASING).load(Ordering::Relaxed);
    if rel == head {
        return Ok((head, tail));
    }
    let span = rel.wrapping_sub(head);
    if !rel.is_multiple_of(8) || span > tail.wrapping_sub(head) {
        return Err(CorruptError::new(
            "releasing",
            OFF_RELEASING as u64,
            rel,
            "not a multiple of 8 between head and tail",
        ));
    }
    let records = ring.h64(OFF_RELEASING_RECORDS).load(Ordering::Relaxed);
    let read = ring.h64(OFF_READ_RECORDS).load(Ordering::Relaxed);
    if records.wrapping_sub(read) > span / record_size(1) {
        // So that a broken count cannot make read_records, the ring's
        // sequence, jump (spec 7.2).
        return Err(CorruptError::new(
            "releasing_records",
            OFF_RELEASING_RECORDS as u64,
            records,
            "more records after read_records than the releasing span can hold",
        ));
    }
    let bytes = ring.h64(OFF_RELEASING_BYTES).load(Ordering::Relaxed);
    let read_bytes = ring.h64(OFF_READ_BYTES).load(Ordering::Relaxed);
    if bytes.wrapping_sub(read_bytes) > span {
        return Err(CorruptError::new(
            "releasing_bytes",
            OFF_RELEASING_BYTES as u64,
            bytes,
            "more payload bytes after read_bytes than the releasing span holds",
        ));
    }
    zero_span(ring, head, span);
    ring.h64(OFF_READ_RECORDS).store(records, Ordering::Relaxed);
    ring.h64(OFF_READ_BYTES).store(bytes, Ordering::Relaxed);
    ring.h64(OFF_HEAD).store(rel, Ordering::Release);
    Ok((rel, tail))
}

impl Drop for Consumer<'_> {
    /// Release what was read (only a callback that panicked leaves any),
    /// then detach (or close the ring, after `close_ring`) by a
    /// compare-and-swap from our own lease (section 8).
    fn drop(&mut self) {
        if self.err.is_none() {
            self.release();
        }
        party::leave(&self.ring, OFF_CONSUMER, self.lease, self.leave_as);
    }
}
