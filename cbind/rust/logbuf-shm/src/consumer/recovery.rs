//! Recovering a stuck claim (spec section 9).

use std::fmt;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use super::Consumer;
use crate::error::CorruptError;
use crate::layout::Mode;
use crate::layout::*;
use crate::party;

/// How long the record at the read cursor may stay uncommitted, with `tail`
/// past it, before a waiting consumer recovers it (spec section 9). It must
/// be far longer than any pause a live producer can take between claim and
/// commit (see `Ring::open`'s safety contract).
pub const DEFAULT_UNBLOCK_TIMEOUT: Duration = Duration::from_secs(5);

/// A record that stayed uncommitted at the read cursor for longer than the
/// unblock timeout.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Stuck {
    /// Position of the record's header word.
    pub pos: u64,
    /// The word seen there: 0 (reserved, not stamped) or a CLAIMED stamp.
    pub word: u64,
    /// Bytes of the region, header word included.
    pub size: u64,
    /// Owner id from the stamp (table entry + 1); 0 when unknown.
    pub owner: u8,
    /// The owner's process id from its table entry's lease; 0 when unknown.
    pub pid: u32,
    /// Whether the owner's process may still be alive.
    pub alive: bool,
    /// How long the consumer saw the same word there.
    pub stuck_for: Duration,
    /// Whether the consumer turned the region into an UNBLOCKED skip and
    /// went on. False when it may not: an SPSC ring whose producer that made
    /// the claim is alive; the consumer then keeps waiting, and reports the
    /// record once.
    pub recovered: bool,
}

impl fmt::Display for Stuck {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "logbuf: record at {} (word {:#x}, {} bytes, owner {}, pid {}, alive {}) stuck for {:?}: {}",
            self.pos,
            self.word,
            self.size,
            self.owner,
            self.pid,
            self.alive,
            self.stuck_for,
            if self.recovered { "recovered" } else { "reported" }
        )
    }
}

/// A callback told of every recovery, and once of a stuck record the
/// consumer may not recover.
pub type StuckReport = Box<dyn FnMut(&Stuck) + Send>;

/// The consumer's recovery settings and the record under watch.
#[derive(Default)]
pub(super) struct Recovery {
    /// `None`: the default timeout. `Some(None)`: recovery off.
    timeout: Option<Option<Duration>>,
    report: Option<StuckReport>,
    watch: Option<Watch>,
}

impl fmt::Debug for Recovery {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Recovery")
            .field("timeout", &self.timeout)
            .field("watch", &self.watch)
            .finish()
    }
}

/// The record at the read cursor under watch.
#[derive(Clone, Copy, Debug)]
struct Watch {
    pos: u64,
    /// The word seen there: 0 or a CLAIMED stamp.
    word: u64,
    /// `tail` when the watch began: the scan of a 0 word stops there.
    tail0: u64,
    since: Instant,
    /// When to act next.
    next: Instant,
    /// Reported without recovery (SPSC, live owner).
    reported: bool,
}

impl Consumer<'_> {
    /// Set how the consumer deals with a claim that its producer made but
    /// neither committed nor aborted (spec section 9). When `recv_batch`
    /// has seen the same uncommitted word at the read cursor for longer than
    /// `timeout`, it recovers the region if the ring is MPSC or the owner's
    /// process is gone: a compare-and-swap from the word it saw to an
    /// UNBLOCKED skip, so that a producer that was only slow gets
    /// `Discarded` from its commit. It then adds 1 to `unblocks` and goes
    /// on. `report`, if given, is called for every recovery, and once for a
    /// stuck record it may not recover.
    ///
    /// `timeout` `None` turns recovery off. Without `set_recovery`, the
    /// consumer recovers after [`DEFAULT_UNBLOCK_TIMEOUT`] and reports
    /// nothing. The timeout must be longer than any producer (of any
    /// process) holds a claim: see the safety contract of `Ring::open`.
    pub fn set_recovery(&mut self, timeout: Option<Duration>, report: Option<StuckReport>) {
        self.recovery.timeout = Some(timeout);
        self.recovery.report = report;
        self.recovery.watch = None;
    }

    fn unblock_timeout(&self) -> Option<Duration> {
        self.recovery
            .timeout
            .unwrap_or(Some(DEFAULT_UNBLOCK_TIMEOUT))
    }

    /// When the record under watch is due for another look.
    pub(super) fn recovery_due(&self) -> Option<Instant> {
        self.recovery.watch.map(|w| w.next)
    }

    /// Watch the record at the read cursor while the consumer waits, and
    /// recover it once it has been stuck for longer than the timeout.
    /// Returns whether it recovered a record. The cursor is at `head` here
    /// (everything read was released), so the word cannot change under a
    /// new lap: the same word seen twice was there all along.
    pub(super) fn check_stuck(&mut self, now: Instant) -> Result<bool, CorruptError> {
        let Some(timeout) = self.unblock_timeout() else {
            self.recovery.watch = None;
            return Ok(false);
        };
        if let Some(e) = self.err {
            return Err(e);
        }
        let pos = self.next;
        // The region at the cursor would be sized by this tail: check it
        // as the reader does.
        let t = self.reload_tail()?;
        let w = self.ring.word_at(pos).load(Ordering::Acquire);
        if t == pos || (w != 0 && word_kind(w) != KIND_CLAIMED) {
            self.recovery.watch = None; // empty, or readable
            return Ok(false);
        }
        if w != 0 {
            // Validated as the reader validates it (spec 7.1): the word may
            // be newer than the reader's last look.
            match self.extent(pos, w) {
                Ok(size) if t.wrapping_sub(pos) >= size => {}
                Ok(_) => return Err(self.fail(pos, w, "record runs past tail")),
                Err(reason) => return Err(self.fail(pos, w, reason)),
            }
        }
        match self.recovery.watch {
            Some(watch) if watch.pos == pos && watch.word == w => {
                if now < watch.next {
                    return Ok(false);
                }
                self.unblock(watch, now, timeout)
            }
            _ => {
                self.recovery.watch = Some(Watch {
                    pos,
                    word: w,
                    tail0: t,
                    since: now,
                    next: now + timeout,
                    reported: false,
                });
                Ok(false)
            }
        }
    }

    /// Recover the record under watch (spec section 9), or report it when
    /// the ring is SPSC and its producer is alive.
    fn unblock(
        &mut self,
        mut watch: Watch,
        now: Instant,
        timeout: Duration,
    ) -> Result<bool, CorruptError> {
        let (pos, w) = (watch.pos, watch.word);
        let off = pos & self.mask;
        let mut st = Stuck {
            pos,
            word: w,
            size: 0,
            owner: 0,
            pid: 0,
            alive: false,
            stuck_for: now.duration_since(watch.since),
            recovered: false,
        };
        if w == 0 {
            // Reserved, not stamped. A producer writes nothing before its
            // stamp (spec 5.2), so the region runs to the first non-zero
            // word: the next record's stamp or padding. The scan stops at
            // the wrap point (a reservation that crossed it is recovered in
            // two steps), and at the tail seen when the watch began: a
            // reservation made since then is not stuck, only new.
            let limit = watch.tail0.wrapping_sub(pos).min(self.capacity - off);
            st.size = (8..limit)
                .step_by(8)
                .find(|&s| {
                    self.ring
                        .word_at(pos.wrapping_add(s))
                        .load(Ordering::Acquire)
                        != 0
                })
                .unwrap_or(limit);
        } else {
            // peek validated the stamp when it met it (spec 7.1).
            st.size = record_size(word_len(w));
            st.owner = word_owner(w) as u8;
        }
        (st.pid, st.alive) = match self.mode {
            Mode::Mpsc => party::entry_owner(&self.ring, st.owner),
            Mode::Spsc => {
                st.owner = 1;
                party::spsc_owner(&self.ring, pos)
            }
        };
        if self.mode == Mode::Mpsc || !st.alive {
            // The compare-and-swap from the exact word seen: the owner's
            // MPSC commit is a compare-and-swap from its stamp, so exactly
            // one of the two wins; if ours fails, the record was ended
            // meanwhile and is read as usual.
            let unblocked = word(KIND_UNBLOCKED, 0, 0, st.size);
            self.recovery.watch = None;
            if self
                .ring
                .word_at(pos)
                .compare_exchange(w, unblocked, Ordering::AcqRel, Ordering::Acquire)
                .is_err()
            {
                return Ok(false);
            }
            self.ring.h64(OFF_UNBLOCKS).fetch_add(1, Ordering::Relaxed);
            st.recovered = true;
        } else {
            // Look again later, in case the owner dies; report only once.
            watch.next = now + timeout.min(Duration::from_secs(1));
            let first = !watch.reported;
            watch.reported = true;
            self.recovery.watch = Some(watch);
            if !first {
                return Ok(false);
            }
        }
        if let Some(report) = self.recovery.report.as_mut() {
            report(&st);
        }
        Ok(st.recovered)
    }
}
