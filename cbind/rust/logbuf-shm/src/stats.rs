//! A snapshot of a ring's positions, counters and parties (spec section 3).

use std::sync::atomic::Ordering;

use crate::layout::*;
use crate::party;
use crate::ring::Ring;

/// A ring's positions, counters and parties, read from its header without
/// disturbing producers or the consumer. Fields are read one by one while
/// the ring runs, so each is exact but they are not mutually consistent;
/// they are shown as found, not validated.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Stats {
    /// SPSC or MPSC (`None` only in `Stats::default()`).
    pub mode: Option<Mode>,
    /// The ring's name (spec section 10).
    pub ring_id: [u8; RING_ID_SIZE],
    pub capacity: u64,
    /// The consumer's position: everything before it is released.
    pub head: u64,
    /// The end of the newest reservation.
    pub tail: u64,
    /// `tail - head`: bytes reserved and not yet released.
    pub used: u64,
    /// `capacity - used` (0 when `used` is out of range).
    pub free: u64,
    /// What producers with a table entry committed, summed over the table.
    /// Each producer publishes them in batches (at least whenever it
    /// reloads `head` and when it detaches), so they may lag by up to a
    /// ring's worth.
    pub records_written: u64,
    pub bytes_written: u64,
    /// Committed records released, ever: the sequence number of the next
    /// one (spec section 7.2); and their payload bytes.
    pub records_read: u64,
    pub bytes_read: u64,
    /// Claims refused because the ring was full.
    pub full_events: u64,
    /// Claims aborted.
    pub aborts: u64,
    /// Stuck claims the consumer recovered (spec section 9).
    pub unblocks: u64,
    /// Records producers' callers gave up on because the ring stayed full,
    /// and records refused as larger than `max_payload`, over the table.
    pub dropped: u64,
    pub refused: u64,
    /// Producer table entries held now (attached, by a live process).
    pub producers: usize,
    /// The consumer's party record.
    pub consumer: Party,
    /// The producer table entries that have ever been held (not FREE), in
    /// table order.
    pub entries: Vec<Party>,
}

/// A party record's state, from its lease (spec section 3).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum PartyState {
    /// Never held.
    #[default]
    Free,
    /// Held by the process the lease names, if it is alive.
    Attached,
    /// Its last holder left cleanly.
    Detached,
    /// The consumer closed the ring for good.
    Closed,
    /// A lease none of the spec's states describe: the raw word.
    Invalid(u64),
}

/// A party record as read from the header: the consumer's, or a producer
/// table entry's.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Party {
    /// The producer's owner id (entry + 1); 0 for the consumer.
    pub owner: u8,
    pub state: PartyState,
    /// The holder's (or last holder's) pid and process start time (modulo
    /// 2^36, 0 when unknown), from the lease.
    pub pid: u32,
    pub start: u64,
    /// Whether the record is held: ATTACHED by a live process (asks the
    /// kernel).
    pub held: bool,
    /// The holder's last sign of life, CLOCK_MONOTONIC ns.
    pub heartbeat: u64,
    /// The position at which the holder attached.
    pub since: u64,
    /// A producer entry's counters (spec section 3); 0 for the consumer.
    pub records: u64,
    pub bytes: u64,
    pub dropped: u64,
    pub refused: u64,
}

fn read_party(ring: &Ring, off: usize, owner: u8) -> Party {
    let load = |f| party::field(ring, off, f).load(Ordering::Relaxed);
    let l = load(PARTY_LEASE);
    let state = match lease_state(l) {
        STATE_FREE if l == 0 => PartyState::Free,
        STATE_ATTACHED => PartyState::Attached,
        STATE_DETACHED => PartyState::Detached,
        STATE_CLOSED => PartyState::Closed,
        _ => PartyState::Invalid(l),
    };
    Party {
        owner,
        state,
        pid: lease_pid(l),
        start: lease_start(l),
        held: party::is_held(l),
        heartbeat: load(PARTY_HEARTBEAT),
        since: load(PARTY_SINCE),
        records: if owner > 0 { load(PARTY_RECORDS) } else { 0 },
        bytes: if owner > 0 { load(PARTY_BYTES) } else { 0 },
        dropped: if owner > 0 { load(PARTY_DROPPED) } else { 0 },
        refused: if owner > 0 { load(PARTY_REFUSED) } else { 0 },
    }
}

impl Ring {
    /// Read the ring's positions, counters and parties. Asks the kernel
    /// whether each attached party's process lives.
    pub fn stats(&self) -> Stats {
        let load = |off| self.h64(off).load(Ordering::Relaxed);
        let mut s = Stats {
            mode: Some(self.mode()),
            ring_id: self.ring_id(),
            capacity: self.capacity(),
            head: self.head(),
            tail: self.tail(),
            records_read: load(OFF_READ_RECORDS),
            bytes_read: load(OFF_READ_BYTES),
            full_events: load(OFF_FULL_EVENTS),
            aborts: load(OFF_ABORTS),
            unblocks: load(OFF_UNBLOCKS),
            consumer: read_party(self, OFF_CONSUMER, 0),
            ..Stats::default()
        };
        s.used = s.tail.wrapping_sub(s.head);
        s.free = s.capacity.saturating_sub(s.used);
        for i in 0..PRODUCER_SLOTS {
            let p = read_party(self, entry_offset(i), i as u8 + 1);
            if p.state == PartyState::Free {
                continue;
            }
            s.records_written = s.records_written.wrapping_add(p.records);
            s.bytes_written = s.bytes_written.wrapping_add(p.bytes);
            s.dropped = s.dropped.wrapping_add(p.dropped);
            s.refused = s.refused.wrapping_add(p.refused);
            s.producers += p.held as usize;
            s.entries.push(p);
        }
        s
    }
}
