//! Waiting for records (spec section 7.3) and the end of the stream
//! (section 8).
//!
//! A waiting consumer spins a little, yields a little, then parks on the
//! futex word `consumer_wait`. Producers load that word once after every
//! commit and make a system call only when it is set. A parked consumer
//! wakes at least every park slice to look at the producers' liveness and at
//! a stuck claim (recovery.rs).

use std::fmt;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use super::{Consumer, Peek, Record};
use crate::error::CorruptError;
use crate::layout::*;
use crate::{party, sys, wakeup};

const SPINS: u32 = 64; // peeks, one spin-loop hint apart, before yielding
const YIELDS: u32 = 16; // then peeks after yielding the CPU, before parking
const PARK_SLICE: Duration = Duration::from_millis(100); // longest futex wait
const LIVENESS_EVERY: Duration = Duration::from_millis(50); // how often to ask the kernel who is alive

/// Why `recv_batch` returned without records.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum RecvError {
    /// No record came within the timeout.
    Timeout,
    /// The end of the stream (spec section 8): at least one producer
    /// attached to the ring, ever; none holds an entry now (detached, or
    /// its process is gone); and nothing is left to read. Not final: a
    /// producer that attaches later is read by the next call. Producers
    /// without an entry (MPSC, all 32 held) are not seen by this rule.
    EndOfStream,
    /// The ring broke the protocol (the consumer's error from then on).
    Corrupt(CorruptError),
}

impl fmt::Display for RecvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RecvError::Timeout => f.write_str("logbuf: no record within the timeout"),
            RecvError::EndOfStream => {
                f.write_str("logbuf: end of stream: every producer gone, ring drained")
            }
            RecvError::Corrupt(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for RecvError {}

impl From<CorruptError> for RecvError {
    fn from(e: CorruptError) -> Self {
        RecvError::Corrupt(e)
    }
}

/// The consumer's waiting state.
#[derive(Debug)]
pub(crate) struct WaitState {
    /// When the producer table was last judged by the kernel.
    last_live: Option<Instant>,
    /// When the heartbeat was last stored.
    last_beat: Option<Instant>,
    /// Longest single futex wait; tests shorten it.
    pub(crate) slice: Duration,
    /// Futex waits, for tests.
    pub(crate) parks: u64,
}

impl Default for WaitState {
    fn default() -> Self {
        WaitState {
            last_live: None,
            last_beat: None,
            slice: PARK_SLICE,
            parks: 0,
        }
    }
}

impl Consumer<'_> {
    /// `read_batch` that waits, until at least one record is ready (or
    /// `timeout`, if given, has passed): it then calls `f` with up to `max`
    /// records and releases them. Returns how many records `f` saw, at
    /// least 1 (unless `max` is 0).
    ///
    /// While it waits it parks on the futex word (spec section 7.3), and
    /// recovers claims that stay uncommitted past the unblock timeout
    /// (section 9; `set_recovery`). It returns `EndOfStream` once every
    /// producer that attached has closed or died and the ring is drained.
    pub fn recv_batch<F>(
        &mut self,
        max: usize,
        timeout: Option<Duration>,
        mut f: F,
    ) -> Result<usize, RecvError>
    where
        F: FnMut(Record<'_>),
    {
        let deadline = timeout.and_then(|d| Instant::now().checked_add(d));
        let forever = timeout.is_some() && deadline.is_none(); // too far to represent
        loop {
            let n = self.read_batch(max, &mut f)?;
            if n > 0 || max == 0 {
                return Ok(n);
            }
            self.await_ready(if forever { None } else { deadline })?;
        }
    }

    /// Whether the word at the read cursor holds something to act on: a
    /// record, a skip, or a broken rule (which `read_batch` then returns).
    fn ready(&mut self) -> bool {
        !matches!(self.peek(), Ok(Peek::Empty))
    }

    /// Return once the word at the read cursor is ready, or with the reason
    /// the wait ends. Everything read is released before (read_batch did).
    fn await_ready(&mut self, deadline: Option<Instant>) -> Result<(), RecvError> {
        let mut i = 0u32;
        loop {
            if self.ready() {
                return Ok(());
            }
            if i < SPINS {
                i += 1;
                std::hint::spin_loop();
                continue;
            }
            if i < SPINS + YIELDS {
                i += 1;
                std::thread::yield_now();
                continue;
            }
            let now = Instant::now();
            if deadline.is_some_and(|d| now >= d) {
                return Err(RecvError::Timeout);
            }
            if self.drained(now)? {
                return Err(RecvError::EndOfStream);
            }
            if self.check_stuck(now)? {
                continue; // a claim was recovered: read on
            }
            let mut d = self.wait.slice;
            if let Some(deadline) = deadline {
                d = d.min(deadline - now);
            }
            if let Some(next) = self.recovery_due() {
                d = d.min(next.saturating_duration_since(now) + Duration::from_millis(1));
            }
            if self
                .wait
                .last_beat
                .is_none_or(|t| now.duration_since(t) >= LIVENESS_EVERY)
            {
                self.wait.last_beat = Some(now);
                party::field(&self.ring, OFF_CONSUMER, PARTY_HEARTBEAT)
                    .store(sys::monotonic_ns(), Ordering::Relaxed);
            }
            self.park(d);
        }
    }

    /// The consumer's half of spec section 7.3 (wakeup.rs has the steps):
    /// park only if nothing is ready and the stream has not ended.
    fn park(&mut self, d: Duration) {
        let d = wakeup::prepare_park(&self.ring, d);
        if self.ready() || (party::producers_done(&self.ring, false) && self.tail_is_next()) {
            wakeup::unpark(&self.ring);
            return;
        }
        self.wait.parks += 1;
        wakeup::sleep(&self.ring, d);
    }

    /// Whether `tail` (loaded, not validated: compared only) is the read
    /// cursor: no reservation outstanding.
    fn tail_is_next(&self) -> bool {
        self.ring.h64(OFF_TAIL).load(Ordering::Acquire) == self.next
    }

    /// Whether the stream has ended (section 8): every producer that
    /// attached has closed or is gone, nothing is left to read and no
    /// reservation is outstanding. The producer table is read before the
    /// ring, so a record committed before its producer closed is seen.
    fn drained(&mut self, now: Instant) -> Result<bool, CorruptError> {
        let live = self
            .wait
            .last_live
            .is_none_or(|t| now.duration_since(t) >= LIVENESS_EVERY);
        if live {
            self.wait.last_live = Some(now);
        }
        if !party::producers_done(&self.ring, live) || self.ready() {
            return Ok(false);
        }
        if let Some(e) = self.err {
            return Err(e);
        }
        Ok(self.tail_is_next())
    }
}
