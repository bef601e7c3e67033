//! Region layout and record-word encoding (spec sections 3 and 4),
//! written by hand from the spec's tables (`tests.rs` checks them against
//! the tables in `spec/PROTOCOL.md`).

/// `magic` as a little-endian u64: bytes `4C 4F 47 42 55 46 00 01`.
pub const MAGIC: u64 = 0x0100_4655_4247_4F4C;
pub const VERSION: u32 = 1;
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
pub const OFF_HEAD: usize = 0x080;
pub const OFF_READ_RECORDS: usize = 0x088;
pub const OFF_READ_BYTES: usize = 0x090;
pub const OFF_UNBLOCKS: usize = 0x098;
pub const OFF_TAIL: usize = 0x100;
pub const OFF_FULL_EVENTS: usize = 0x180;
pub const OFF_ABORTS: usize = 0x188;
pub const OFF_CONSUMER_PID: usize = 0x200;
pub const OFF_CONSUMER_STATE: usize = 0x204;
pub const OFF_CONSUMER_START: usize = 0x208;
pub const OFF_CONSUMER_HEARTBEAT: usize = 0x210;
pub const OFF_CONSUMER_WAIT: usize = 0x280;
pub const OFF_PRODUCER_TABLE: usize = 0x800;
pub const PRODUCER_ENTRY_SIZE: usize = 64;

// Producer table entry offsets.
pub const ENT_PID: usize = 0x00;
pub const ENT_STATE: usize = 0x04;
pub const ENT_START: usize = 0x08;
pub const ENT_HEARTBEAT: usize = 0x10;
pub const ENT_RECORDS: usize = 0x18;
pub const ENT_BYTES: usize = 0x20;

/// `flags` bit 0.
pub const FLAG_MPSC: u32 = 1;

/// Entry / consumer states (3 only in producer-table entries).
pub const STATE_FREE: u32 = 0;
pub const STATE_ATTACHED: u32 = 1;
pub const STATE_CLOSED: u32 = 2;
/// Producer-table entry taken, its pid/start/heartbeat being written (spec
/// section 8): readers treat it as alive.
pub const STATE_ATTACHING: u32 = 3;

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
