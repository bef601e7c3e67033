//! Errors of opening, creating and attaching, and the corruption report
//! shared by every reader of memory another party wrote.

use std::fmt;
use std::io;
use std::path::PathBuf;

use crate::layout::{Mode, HEADER_SIZE, MAGIC, VERSION};

/// Memory another party wrote broke a rule of the protocol: what, where,
/// the value found and the rule, in words.
///
/// `field` is a header field as spec section 3 names it (`"head"`, `"tail"`,
/// `"releasing"`, `"lease"`) or `"record"` for a record header word, whose
/// `offset` is then the record's position (free-running) rather than a
/// header offset.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CorruptError {
    field: &'static str,
    offset: u64,
    value: u64,
    reason: &'static str,
}

impl CorruptError {
    pub(crate) const fn new(
        field: &'static str,
        offset: u64,
        value: u64,
        reason: &'static str,
    ) -> Self {
        CorruptError {
            field,
            offset,
            value,
            reason,
        }
    }

    /// The broken field: a header field's name, or `"record"`.
    pub fn field(&self) -> &'static str {
        self.field
    }
    /// The header field's byte offset in the region, or the record's position.
    pub fn offset(&self) -> u64 {
        self.offset
    }
    /// The value found there.
    pub fn value(&self) -> u64 {
        self.value
    }
    /// The rule it broke.
    pub fn reason(&self) -> &'static str {
        self.reason
    }
}

impl fmt::Display for CorruptError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.field == "record" {
            write!(
                f,
                "logbuf: corrupt record at position {}: header word {:#018x}: {}",
                self.offset, self.value, self.reason
            )
        } else {
            write!(
                f,
                "logbuf: corrupt ring: {} at offset {:#05x} is {:#x}: {}",
                self.field, self.offset, self.value, self.reason
            )
        }
    }
}

impl std::error::Error for CorruptError {}

/// Errors from opening or creating a ring, or attaching a producer or the
/// consumer.
///
/// The `Bad*`, `TooSmall` and `Truncated` variants name the check of spec
/// section 10 that failed (checked in that order; the first failure is
/// reported). Check 7 (positions) reports `Corrupt`, as a producer or the
/// consumer does when it finds the same fields broken later.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// The file could not be opened, created, sized or mapped. `op` says
    /// what was being done (`"open ring file"`), `path` to which file; the
    /// operating system's reason is the error's `source()`.
    Io {
        op: &'static str,
        path: PathBuf,
        source: io::Error,
    },
    /// Check 1: the region is shorter than 4096 bytes.
    TooSmall { len: u64 },
    /// Check 2: wrong `magic`.
    BadMagic { found: u64 },
    /// Check 3: `version` is not the one this crate speaks.
    BadVersion { found: u32 },
    /// Check 4: `header_size`, `line_size` or `producer_slots` (`field`) is
    /// not the value the spec fixes.
    BadGeometry {
        field: &'static str,
        found: u32,
        want: u32,
    },
    /// Check 5: `capacity` is not a power of two in `[64, 2^31]`.
    BadCapacity { capacity: u64 },
    /// Check 5: the region does not hold `4096 + capacity` bytes.
    Truncated { len: u64, capacity: u64 },
    /// Check 6: `flags` has a bit set other than bit 0.
    BadFlags { flags: u32 },
    /// Check 6: the mode is not the one the caller expects.
    WrongMode { expected: Mode, found: Mode },
    /// Check 7, or a later look at the same fields: `head` or `tail` broke
    /// a rule (not a multiple of 8, or `tail - head > capacity`).
    Corrupt(CorruptError),
    /// `create` was given an invalid capacity.
    InvalidCapacity { capacity: u64 },
    /// SPSC ring: entry 0 is held by a live producer, process `pid`.
    ProducerBusy { pid: u32 },
    /// The consumer record is held by a live consumer, process `pid` (this
    /// process, if it already has a consumer of this ring).
    ConsumerBusy { pid: u32 },
}

impl Error {
    /// The field a report names for an open check that failed (spec
    /// section 10: `region size`, `magic`, `version`, `header_size`,
    /// `line_size`, `producer_slots`, `capacity`, `flags`, `head`, `tail`),
    /// or the field of a `Corrupt`; `None` for other errors.
    pub fn field(&self) -> Option<&'static str> {
        Some(match self {
            Error::TooSmall { .. } => "region size",
            Error::BadMagic { .. } => "magic",
            Error::BadVersion { .. } => "version",
            Error::BadGeometry { field, .. } => field,
            Error::BadCapacity { .. } | Error::Truncated { .. } => "capacity",
            Error::BadFlags { .. } | Error::WrongMode { .. } => "flags",
            Error::Corrupt(e) => e.field(),
            _ => return None,
        })
    }

    pub(crate) fn io(op: &'static str, path: impl Into<PathBuf>, source: io::Error) -> Self {
        Error::Io {
            op,
            path: path.into(),
            source,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            // The source is not repeated here: it is `source()`, and error
            // reporters print the chain.
            Error::Io { op, path, .. } => write!(f, "logbuf: {op} {}", path.display()),
            Error::TooSmall { len } => write!(
                f,
                "logbuf: open check 1 (region size) failed: {len} bytes, need at least {HEADER_SIZE}"
            ),
            Error::BadMagic { found } => write!(
                f,
                "logbuf: open check 2 (magic) failed: {found:#018x}, want {MAGIC:#018x}"
            ),
            Error::BadVersion { found } => write!(
                f,
                "logbuf: open check 3 (version) failed: {found}, want {VERSION}"
            ),
            Error::BadGeometry { field, found, want } => write!(
                f,
                "logbuf: open check 4 ({field}) failed: {found}, want {want}"
            ),
            Error::BadCapacity { capacity } => write!(
                f,
                "logbuf: open check 5 (capacity) failed: {capacity} is not a power of two in [64, 2^31]"
            ),
            Error::Truncated { len, capacity } => write!(
                f,
                "logbuf: open check 5 (capacity) failed: {len} bytes, capacity {capacity} needs {}",
                HEADER_SIZE as u64 + capacity
            ),
            Error::BadFlags { flags } => write!(
                f,
                "logbuf: open check 6 (flags) failed: {flags:#x} has bits other than bit 0"
            ),
            Error::WrongMode { expected, found } => write!(
                f,
                "logbuf: open check 6 (mode) failed: ring is {found}, caller expects {expected}"
            ),
            Error::Corrupt(e) => e.fmt(f),
            Error::InvalidCapacity { capacity } => write!(
                f,
                "logbuf: create: capacity {capacity} is not a power of two in [64, 2^31]"
            ),
            Error::ProducerBusy { pid } => write!(
                f,
                "logbuf: the SPSC ring already has a live producer (pid {pid})"
            ),
            Error::ConsumerBusy { pid } => write!(
                f,
                "logbuf: the ring already has a live consumer (pid {pid})"
            ),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Io { source, .. } => Some(source),
            _ => None,
        }
    }
}

impl From<CorruptError> for Error {
    fn from(e: CorruptError) -> Self {
        Error::Corrupt(e)
    }
}
