//! Region layout and record-word encoding (spec sections 3 and 4), written
//! by hand from the spec's tables (`tests.rs` checks them against the
//! tables in `spec/PROTOCOL.md`).

use std::fmt;

/// Ring mode, from bit 0 of `flags`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Exactly one producer at a time.
    Spsc,
    /// Any number of producers (threads and processes).
    Mpsc,
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Mode::Spsc => "SPSC",
            Mode::Mpsc => "MPSC",
        })
    }
}

/// `magic` as a little-endian u64: bytes `4C 4F 47 42 55 46 00 01`.
pub const MAGIC: u64 = 0x0100_4655_4247_4F4C;
pub const VERSION: u32 = 2;
pub const HEADER_SIZE: usize = 4096;
pub const LINE_SIZE: u32 = 128;
pub const PRODUCER_SLOTS: usize = 32;
pub const MIN_CAPACITY: u64 = 64;
pub const MAX_CAPACITY: u64 = 1 << 31;

// Header offsets.
pub const OFF_MAGIC: usize = 0x000;
pub const OFF_VERSION: usize = 0x008;
pub const OFF_HEADER_SIZE: usize = 0x00C;
pub const OFF_CAPACITY: usize = 0x010;
pub const OFF_FLAGS: usize = 0x018;
pub const OFF_LINE_SIZE: usize = 0x01C;
pub const OFF_PRODUCER_SLOTS: usize = 0x020;
pub const OFF_RING_ID: usize = 0x030;
pub const RING_ID_SIZE: usize = 16;
pub const OFF_HEAD: usize = 0x080;
pub const OFF_READ_RECORDS: usize = 0x088;
pub const OFF_READ_BYTES: usize = 0x090;
pub const OFF_UNBLOCKS: usize = 0x098;
pub const OFF_RELEASING: usize = 0x0A0;
pub const OFF_RELEASING_RECORDS: usize = 0x0A8;
pub const OFF_RELEASING_BYTES: usize = 0x0B0;
pub const OFF_TAIL: usize = 0x100;
pub const OFF_FULL_EVENTS: usize = 0x180;
pub const OFF_ABORTS: usize = 0x188;
pub const OFF_CONSUMER: usize = 0x200;
pub const OFF_CONSUMER_WAIT: usize = 0x280;
pub const OFF_PRODUCER_TABLE: usize = 0x800;
pub const PARTY_SIZE: usize = 64;

// Party record offsets (the consumer's at OFF_CONSUMER, producer entry i at
// OFF_PRODUCER_TABLE + PARTY_SIZE * i).
pub const PARTY_LEASE: usize = 0x00;
pub const PARTY_HEARTBEAT: usize = 0x08;
pub const PARTY_SINCE: usize = 0x10;
pub const PARTY_RECORDS: usize = 0x18;
pub const PARTY_BYTES: usize = 0x20;
pub const PARTY_DROPPED: usize = 0x28;
pub const PARTY_REFUSED: usize = 0x30;

/// The header offset of producer entry `i`'s party record.
#[inline(always)]
pub const fn entry_offset(i: usize) -> usize {
    OFF_PRODUCER_TABLE + PARTY_SIZE * i
}

/// `flags` bit 0.
pub const FLAG_MPSC: u32 = 1;

/// Party states (bits 60-63 of a lease).
pub const STATE_FREE: u64 = 0;
pub const STATE_ATTACHED: u64 = 1;
pub const STATE_DETACHED: u64 = 2;
/// Consumer only: the ring is closed for good.
pub const STATE_CLOSED: u64 = 3;

/// A lease holds the pid in bits 0-23 and the start time, modulo 2^36, in
/// bits 24-59.
pub const LEASE_PID_MASK: u64 = (1 << 24) - 1;
pub const LEASE_START_MASK: u64 = (1 << 36) - 1;

/// Build a lease word.
#[inline]
pub const fn lease(state: u64, pid: u32, start: u64) -> u64 {
    (state << 60) | ((start & LEASE_START_MASK) << 24) | (pid as u64 & LEASE_PID_MASK)
}
#[inline]
pub const fn lease_state(l: u64) -> u64 {
    l >> 60
}
#[inline]
pub const fn lease_pid(l: u64) -> u32 {
    (l & LEASE_PID_MASK) as u32
}
#[inline]
pub const fn lease_start(l: u64) -> u64 {
    (l >> 24) & LEASE_START_MASK
}
/// The same holder in state `s`.
#[inline]
pub const fn lease_with(l: u64, s: u64) -> u64 {
    (l & !(0xF << 60)) | (s << 60)
}

// Record kinds (bits 56-63 of the header word).
#[allow(dead_code)] // a whole word of 0: tested as `w == 0`
pub const KIND_EMPTY: u64 = 0x00;
pub const KIND_CLAIMED: u64 = 0x01;
pub const KIND_COMMITTED: u64 = 0x02;
pub const KIND_PADDING: u64 = 0x81;
pub const KIND_ABORTED: u64 = 0x82;
pub const KIND_UNBLOCKED: u64 = 0x83;

/// `align8(n) = (n + 7) & !7`.
#[inline]
pub const fn align8(n: u64) -> u64 {
    (n + 7) & !7
}

/// `record_size(n) = align8(8 + n)`.
#[inline]
pub const fn record_size(n: u64) -> u64 {
    align8(8 + n)
}

/// Build a header word.
#[inline]
pub const fn word(kind: u64, owner: u64, lap: u64, len: u64) -> u64 {
    (kind << 56) | ((owner & 0xFF) << 48) | ((lap & 0xFFFF) << 32) | (len & 0xFFFF_FFFF)
}

#[inline]
pub const fn word_kind(w: u64) -> u64 {
    w >> 56
}
#[inline]
pub const fn word_owner(w: u64) -> u64 {
    (w >> 48) & 0xFF
}
#[inline]
pub const fn word_lap(w: u64) -> u64 {
    (w >> 32) & 0xFFFF
}
#[inline]
pub const fn word_len(w: u64) -> u64 {
    w & 0xFFFF_FFFF
}
