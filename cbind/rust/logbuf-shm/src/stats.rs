//! A snapshot of a ring's positions and counters (spec section 3).

use std::sync::atomic::Ordering;

use crate::layout::*;
use crate::ring::{Mode, Ring};

/// A ring's positions and counters, read from its header without disturbing
/// producers or the consumer. Fields are read one by one while the ring
/// runs, so each is exact but they are not mutually consistent; they are
/// shown as found, not validated.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Stats {
    /// SPSC or MPSC (`None` only in `Stats::default()`).
    pub mode: Option<Mode>,
    pub capacity: u64,
    /// The consumer's position.
    pub head: u64,
    /// The end of the newest reservation.
    pub tail: u64,
    /// `tail - head`: bytes reserved and not yet released.
    pub used: u64,
    /// `capacity - used` (0 when `used` is out of range).
    pub free: u64,
    /// What producers committed, summed over the producer table. Each
    /// producer publishes them in batches (at least whenever it reloads
    /// `head` and when it closes), so they may lag by up to a ring's worth.
    pub records_written: u64,
    pub bytes_written: u64,
    /// Committed records the consumer released, and their payload bytes.
    pub records_read: u64,
    pub bytes_read: u64,
    /// Claims refused because the ring was full.
    pub full_events: u64,
    /// Claims aborted.
    pub aborts: u64,
    /// Stuck claims the consumer recovered (spec section 9).
    pub unblocks: u64,
    /// Producer table entries attached now.
    pub producers: usize,
}

impl Ring {
    /// Read the ring's positions and counters.
    pub fn stats(&self) -> Stats {
        let load = |off| self.h64(off).load(Ordering::Relaxed);
        let mut s = Stats {
            mode: Some(self.mode()),
            capacity: self.capacity(),
            head: self.head(),
            tail: self.tail(),
            records_read: load(OFF_READ_RECORDS),
            bytes_read: load(OFF_READ_BYTES),
            full_events: load(OFF_FULL_EVENTS),
            aborts: load(OFF_ABORTS),
            unblocks: load(OFF_UNBLOCKS),
            ..Stats::default()
        };
        s.used = s.tail.wrapping_sub(s.head);
        s.free = s.capacity.saturating_sub(s.used);
        for i in 0..PRODUCER_SLOTS {
            s.records_written = s
                .records_written
                .wrapping_add(self.ent64(i, ENT_RECORDS).load(Ordering::Relaxed));
            s.bytes_written = s
                .bytes_written
                .wrapping_add(self.ent64(i, ENT_BYTES).load(Ordering::Relaxed));
            if self.ent32(i, ENT_STATE).load(Ordering::Relaxed) == STATE_ATTACHED {
                s.producers += 1;
            }
        }
        s
    }
}
