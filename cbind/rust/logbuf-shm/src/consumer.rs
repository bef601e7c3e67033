//! The consumer (spec section 7): reading, validating and releasing
//! records. Waiting for them is in `wait.rs`, recovering stuck claims in
//! `recovery.rs`.

use std::fmt;
use std::ops::Deref;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use crate::error::{CorruptError, Error};
use crate::layout::*;
use crate::proc;
use crate::ring::{Mode, Ring, RingRef};
use crate::sys;

mod recovery;
mod wait;

pub use recovery::{Stuck, StuckReport, DEFAULT_UNBLOCK_TIMEOUT};
pub use wait::RecvError;

/// The consumer of a ring: reads the records in order, hands each to a
/// callback, zeroes it and gives the space back (spec section 7). There is
/// one consumer per ring at a time; attaching marks it in the header
/// (section 8), dropping it marks it closed.
///
/// [`read_batch`](Consumer::read_batch) reads what is ready without
/// waiting; [`recv_batch`](Consumer::recv_batch) waits for records (parking
/// on the futex word, section 7.1), recovers claims whose producers died
/// (section 9, [`set_recovery`](Consumer::set_recovery)) and reports the end
/// of the stream.
///
/// Every record word, `tail` and `head` it loads is validated before it is
/// trusted; the first broken one stops it with a [`CorruptError`] naming the
/// field (or the record's position), the same error from then on.
pub struct Consumer<'r> {
    ring: RingRef<'r>,
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
}

impl<'a> Record<'a> {
    /// The payload.
    pub fn bytes(&self) -> &'a [u8] {
        self.bytes
    }
    /// The ring position of the record's header word.
    pub fn position(&self) -> u64 {
        self.pos
    }
}

impl Deref for Record<'_> {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        self.bytes
    }
}

/// What the word at the read cursor says (spec section 7 steps 1-3).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Peek {
    /// Nothing to deliver yet: 0, CLAIMED, or a whole ring read.
    Empty,
    /// A skip of `size` bytes.
    Skip(u64),
    /// A committed record of `len` payload bytes.
    Record(u64),
}

impl Ring {
    /// Attach the consumer (spec section 8). `Corrupt` if `head` or `tail`
    /// breaks section 10 check 7.
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
        let (head, tail) = ring.positions()?;
        let total = (
            ring.h64(OFF_READ_RECORDS).load(Ordering::Relaxed),
            ring.h64(OFF_READ_BYTES).load(Ordering::Relaxed),
        );
        // Section 8: pid, start time and heartbeat before the state that
        // makes them count.
        let (pid, start) = proc::me();
        ring.h32(OFF_CONSUMER_PID).store(pid, Ordering::SeqCst);
        ring.h64(OFF_CONSUMER_START).store(start, Ordering::SeqCst);
        ring.h64(OFF_CONSUMER_HEARTBEAT)
            .store(sys::monotonic_ns(), Ordering::SeqCst);
        ring.h32(OFF_CONSUMER_STATE)
            .store(STATE_ATTACHED, Ordering::SeqCst);
        Ok(Consumer {
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
    /// section 7 step 5). Returns how many records `f` saw: 0 when none was
    /// ready. Never waits.
    ///
    /// Zeroing each record right after its callback, rather than in one pass
    /// at the end, walks the ring line by line just behind the read cursor,
    /// so the CPU fetches the next records' lines meanwhile (the spec's
    /// implementer note in section 7).
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
                    self.pending.0 += 1;
                    self.pending.1 += len;
                    f(Record { bytes, pos });
                    n += 1;
                    self.zero(off, record_size(len));
                    continue;
                }
            };
            let off = self.next & self.mask;
            self.next = self.next.wrapping_add(size);
            self.zero(off, size);
        }
        self.advance();
        match res {
            Err(e) if n == 0 => Err(e),
            _ => Ok(n),
        }
    }

    /// Zero `[off, off + size)` of the data area.
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
        let from = self.head & self.mask;
        let n = self.next.wrapping_sub(self.head);
        if from + n <= self.capacity {
            self.zero(from, n);
        } else {
            self.zero(from, self.capacity - from);
            self.zero(0, n - (self.capacity - from));
        }
        self.advance();
    }

    /// Publish the read counters and then `head` (release: after the
    /// zeroing stores), once `[head, next)` is zeroed.
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
    /// section 7 steps 1-3, in the spec's order).
    fn peek(&mut self) -> Result<Peek, CorruptError> {
        if let Some(e) = self.err {
            return Err(e);
        }
        let pos = self.next;
        if pos.wrapping_sub(self.head) >= self.capacity {
            // A whole ring read and not released: the word at pos is the
            // unreleased one at head, not a new record.
            return Ok(Peek::Empty);
        }
        let off = pos & self.mask;
        let w = self.ring.word_at(pos).load(Ordering::Acquire);
        let kind = word_kind(w);
        if w == 0 || kind == KIND_CLAIMED {
            return Ok(Peek::Empty);
        }
        let size = match record_extent(w, off, self.max_payload, self.capacity) {
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
        Ok(if kind == KIND_COMMITTED {
            Peek::Record(word_len(w))
        } else {
            Peek::Skip(size)
        })
    }

    /// Load `tail` (acquire) and check it against our released `head`: a
    /// multiple of 8, at most `capacity` ahead.
    fn reload_tail(&mut self) -> Result<u64, CorruptError> {
        let t = self.ring.h64(OFF_TAIL).load(Ordering::Acquire);
        if !t.is_multiple_of(8) || t.wrapping_sub(self.head) > self.capacity {
            let e = CorruptError::new(
                "tail",
                OFF_TAIL as u64,
                t,
                "not a multiple of 8 within capacity ahead of head",
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

/// Spec section 7 step 3, but for `tail`: the size of the record or skip
/// whose (non-zero, not CLAIMED) header word `w` sits at offset `off`, or
/// the rule it breaks. Checked in the spec's order.
fn record_extent(w: u64, off: u64, max_payload: u64, capacity: u64) -> Result<u64, &'static str> {
    if word_owner(w) != 0 || word_lap(w) != 0 {
        return Err("lap or owner bits outside a CLAIMED stamp");
    }
    let len = word_len(w);
    let kind = word_kind(w);
    let size = match kind {
        KIND_COMMITTED => {
            if len == 0 || len > max_payload {
                return Err("payload length not in [1, max_payload]");
            }
            record_size(len)
        }
        KIND_PADDING | KIND_ABORTED | KIND_UNBLOCKED => {
            if len < 8 || !len.is_multiple_of(8) {
                return Err("skip length not a positive multiple of 8");
            }
            if kind == KIND_ABORTED && len > record_size(max_payload) {
                return Err("aborted record larger than any claim");
            }
            if kind == KIND_PADDING && off + len != capacity {
                return Err("padding does not end at the wrap point");
            }
            len
        }
        _ => return Err("unknown kind"),
    };
    if off + size > capacity {
        return Err("record crosses the end of the data area");
    }
    Ok(size)
}

impl Drop for Consumer<'_> {
    /// Release what was read and mark the consumer closed (section 8).
    fn drop(&mut self) {
        if self.err.is_none() {
            self.release();
        }
        self.ring
            .h32(OFF_CONSUMER_STATE)
            .store(STATE_CLOSED, Ordering::SeqCst);
    }
}
