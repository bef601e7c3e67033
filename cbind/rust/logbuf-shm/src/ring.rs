//! Opening, validating and mapping a region (spec section 10).

use std::fmt;
use std::fs::{File, OpenOptions};
use std::io;
use std::os::fd::AsRawFd;
use std::path::Path;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};

use crate::layout::*;
use crate::sys;

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

/// Errors from opening or creating a ring, or attaching a producer.
///
/// The `Check*` variants name the check of spec section 10 that failed
/// (checked in that order; the first failure is reported).
#[derive(Debug)]
pub enum Error {
    /// The file could not be opened, sized or mapped.
    Io(io::Error),
    /// Check 1: the region is shorter than 4096 bytes.
    TooSmall { len: u64 },
    /// Check 2: wrong `magic`.
    BadMagic { found: u64 },
    /// Check 3: `version` is not 1.
    BadVersion { found: u32 },
    /// Check 4: `header_size`, `line_size` or `producer_slots` is wrong.
    BadGeometry {
        header_size: u32,
        line_size: u32,
        producer_slots: u32,
    },
    /// Check 5: `capacity` is not a power of two in `[64, 2^31]`.
    BadCapacity { capacity: u64 },
    /// Check 5: the region does not hold `4096 + capacity` bytes.
    Truncated { len: u64, capacity: u64 },
    /// Check 6: `flags` has a bit set other than bit 0.
    BadFlags { flags: u32 },
    /// Check 6: the mode is not the one the caller expects.
    WrongMode { expected: Mode, found: Mode },
    /// Check 7: `head`/`tail` not multiples of 8, or `tail - head > capacity`.
    BadPositions { head: u64, tail: u64 },
    /// `create` was given an invalid capacity.
    InvalidCapacity { capacity: u64 },
    /// SPSC ring: another live producer is attached to the producer table.
    ProducerBusy { entry: usize, pid: u32 },
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Io(e) => write!(f, "logbuf: i/o: {e}"),
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
            Error::BadGeometry {
                header_size,
                line_size,
                producer_slots,
            } => write!(
                f,
                "logbuf: open check 4 (header_size/line_size/producer_slots) failed: \
                 {header_size}/{line_size}/{producer_slots}, want {HEADER_SIZE}/{LINE_SIZE}/{PRODUCER_SLOTS}"
            ),
            Error::BadCapacity { capacity } => write!(
                f,
                "logbuf: open check 5 (capacity) failed: {capacity} is not a power of two in [64, 2^31]"
            ),
            Error::Truncated { len, capacity } => write!(
                f,
                "logbuf: open check 5 (region size) failed: {len} bytes, capacity {capacity} needs {}",
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
            Error::BadPositions { head, tail } => write!(
                f,
                "logbuf: open check 7 (positions) failed: head {head}, tail {tail}"
            ),
            Error::InvalidCapacity { capacity } => write!(
                f,
                "logbuf: create: capacity {capacity} is not a power of two in [64, 2^31]"
            ),
            Error::ProducerBusy { entry, pid } => write!(
                f,
                "logbuf: SPSC ring already has a live producer (table entry {entry}, pid {pid})"
            ),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Io(e) => Some(e),
            _ => None,
        }
    }
}

impl From<io::Error> for Error {
    fn from(e: io::Error) -> Self {
        Error::Io(e)
    }
}

/// A mapped ring region. Unmapped on drop.
///
/// `Ring` is `Send + Sync`: every shared field is accessed atomically, and
/// producers (`Ring::producer`) borrow it, one per thread.
pub struct Ring {
    base: *mut u8,
    map_len: usize,
    capacity: u64,
    shift: u32,
    max_payload: u32,
    mode: Mode,
}

// SAFETY: the mapping is shared memory accessed only through atomics or
// through claims whose exclusivity the protocol guarantees.
unsafe impl Send for Ring {}
unsafe impl Sync for Ring {}

impl Drop for Ring {
    fn drop(&mut self) {
        // SAFETY: `base`/`map_len` came from a successful mmap.
        unsafe { sys::munmap(self.base.cast(), self.map_len) };
    }
}

impl fmt::Debug for Ring {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Ring")
            .field("mode", &self.mode)
            .field("capacity", &self.capacity)
            .field("head", &self.head())
            .field("tail", &self.tail())
            .finish()
    }
}

fn map(file: &File, len: usize) -> Result<*mut u8, Error> {
    // SAFETY: plain mmap of an open descriptor; the result is checked.
    let p = unsafe {
        sys::mmap(
            std::ptr::null_mut(),
            len,
            sys::PROT_READ | sys::PROT_WRITE,
            sys::MAP_SHARED,
            file.as_raw_fd(),
            0,
        )
    };
    if p == sys::MAP_FAILED {
        return Err(io::Error::last_os_error().into());
    }
    Ok(p.cast())
}

fn valid_capacity(c: u64) -> bool {
    c.is_power_of_two() && (MIN_CAPACITY..=MAX_CAPACITY).contains(&c)
}

impl Ring {
    /// Open an existing ring file of either mode (spec section 10).
    pub fn open<P: AsRef<Path>>(path: P) -> Result<Ring, Error> {
        Self::open_with(path, None)
    }

    /// Open an existing ring file and require `mode` (check 6).
    pub fn open_expect<P: AsRef<Path>>(path: P, mode: Mode) -> Result<Ring, Error> {
        Self::open_with(path, Some(mode))
    }

    fn open_with<P: AsRef<Path>>(path: P, expect: Option<Mode>) -> Result<Ring, Error> {
        let file = OpenOptions::new().read(true).write(true).open(path)?;
        let len = file.metadata()?.len();
        // Check 1, before mapping anything.
        if len < HEADER_SIZE as u64 {
            return Err(Error::TooSmall { len });
        }
        let map_len = usize::try_from(len).map_err(|_| Error::Truncated { len, capacity: 0 })?;
        let base = map(&file, map_len)?;
        drop(file); // the mapping keeps the file alive
        let mut ring = Ring {
            base,
            map_len,
            capacity: 0,
            shift: 0,
            max_payload: 0,
            mode: Mode::Spsc,
        };
        ring.validate(len, expect)?; // on error, `ring` drops and unmaps
        Ok(ring)
    }

    fn validate(&mut self, len: u64, expect: Option<Mode>) -> Result<(), Error> {
        // 2
        let magic = self.h64(OFF_MAGIC).load(Ordering::Acquire);
        if magic != MAGIC {
            return Err(Error::BadMagic { found: magic });
        }
        // 3
        let version = self.h32(OFF_VERSION).load(Ordering::Relaxed);
        if version != VERSION {
            return Err(Error::BadVersion { found: version });
        }
        // 4
        let header_size = self.h32(OFF_HEADER_SIZE).load(Ordering::Relaxed);
        let line_size = self.h32(OFF_LINE_SIZE).load(Ordering::Relaxed);
        let producer_slots = self.h32(OFF_PRODUCER_SLOTS).load(Ordering::Relaxed);
        if header_size as usize != HEADER_SIZE
            || line_size != LINE_SIZE
            || producer_slots as usize != PRODUCER_SLOTS
        {
            return Err(Error::BadGeometry {
                header_size,
                line_size,
                producer_slots,
            });
        }
        // 5
        let capacity = self.h64(OFF_CAPACITY).load(Ordering::Relaxed);
        if !valid_capacity(capacity) {
            return Err(Error::BadCapacity { capacity });
        }
        if len < HEADER_SIZE as u64 + capacity {
            return Err(Error::Truncated { len, capacity });
        }
        // 6
        let flags = self.h32(OFF_FLAGS).load(Ordering::Relaxed);
        if flags & !FLAG_MPSC != 0 {
            return Err(Error::BadFlags { flags });
        }
        let mode = if flags & FLAG_MPSC != 0 {
            Mode::Mpsc
        } else {
            Mode::Spsc
        };
        if let Some(expected) = expect {
            if expected != mode {
                return Err(Error::WrongMode {
                    expected,
                    found: mode,
                });
            }
        }
        // 7
        let head = self.h64(OFF_HEAD).load(Ordering::Acquire);
        let tail = self.h64(OFF_TAIL).load(Ordering::Acquire);
        if !head.is_multiple_of(8) || !tail.is_multiple_of(8) || tail.wrapping_sub(head) > capacity
        {
            return Err(Error::BadPositions { head, tail });
        }
        self.capacity = capacity;
        self.shift = capacity.trailing_zeros();
        self.max_payload = (capacity / 8) as u32;
        self.mode = mode;
        Ok(())
    }

    /// Create (or overwrite) a ring file: `4096 + capacity` zero bytes, then the
    /// immutable header fields (spec section 10). Meant for tests and tools; in
    /// production the Go side creates rings.
    pub fn create<P: AsRef<Path>>(path: P, capacity: u64, mode: Mode) -> Result<Ring, Error> {
        if !valid_capacity(capacity) {
            return Err(Error::InvalidCapacity { capacity });
        }
        let len = HEADER_SIZE as u64 + capacity;
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .open(path)?;
        file.set_len(len)?; // a fresh extent reads as zero
        let base = map(&file, len as usize)?;
        let ring = Ring {
            base,
            map_len: len as usize,
            capacity,
            shift: capacity.trailing_zeros(),
            max_payload: (capacity / 8) as u32,
            mode,
        };
        ring.h32(OFF_VERSION).store(VERSION, Ordering::Relaxed);
        ring.h32(OFF_HEADER_SIZE)
            .store(HEADER_SIZE as u32, Ordering::Relaxed);
        ring.h64(OFF_CAPACITY).store(capacity, Ordering::Relaxed);
        let flags = if mode == Mode::Mpsc { FLAG_MPSC } else { 0 };
        ring.h32(OFF_FLAGS).store(flags, Ordering::Relaxed);
        ring.h32(OFF_LINE_SIZE).store(LINE_SIZE, Ordering::Relaxed);
        ring.h32(OFF_PRODUCER_SLOTS)
            .store(PRODUCER_SLOTS as u32, Ordering::Relaxed);
        // magic last, with release: a reader that sees it sees the rest.
        ring.h64(OFF_MAGIC).store(MAGIC, Ordering::Release);
        Ok(ring)
    }

    /// Data area size in bytes.
    pub fn capacity(&self) -> u64 {
        self.capacity
    }
    /// `capacity / 8`: the largest payload a claim may ask for.
    pub fn max_payload(&self) -> usize {
        self.max_payload as usize
    }
    /// SPSC or MPSC.
    pub fn mode(&self) -> Mode {
        self.mode
    }
    /// Current `head` (acquire).
    pub fn head(&self) -> u64 {
        self.h64(OFF_HEAD).load(Ordering::Acquire)
    }
    /// Current `tail` (acquire).
    pub fn tail(&self) -> u64 {
        self.h64(OFF_TAIL).load(Ordering::Acquire)
    }
    /// `full_events` counter.
    pub fn full_events(&self) -> u64 {
        self.h64(OFF_FULL_EVENTS).load(Ordering::Relaxed)
    }
    /// `aborts` counter.
    pub fn aborts(&self) -> u64 {
        self.h64(OFF_ABORTS).load(Ordering::Relaxed)
    }
    /// `consumer_state`: 0 none, 1 attached, 2 closed.
    pub fn consumer_state(&self) -> u32 {
        self.h32(OFF_CONSUMER_STATE).load(Ordering::Acquire)
    }
    /// Whether the consumer has closed, or is recorded as attached but its
    /// process is gone (spec section 8). Calls `kill(pid, 0)` and reads
    /// `/proc`: not for hot paths.
    pub fn consumer_gone(&self) -> bool {
        match self.consumer_state() {
            STATE_CLOSED => true,
            STATE_ATTACHED => {
                let pid = self.h32(OFF_CONSUMER_PID).load(Ordering::SeqCst);
                let start = self.h64(OFF_CONSUMER_START).load(Ordering::SeqCst);
                // Read again after the verdict: a consumer attaching just now
                // must not be judged by the pid or start it replaces.
                !crate::proc::alive(pid, start)
                    && self.consumer_state() == STATE_ATTACHED
                    && self.h32(OFF_CONSUMER_PID).load(Ordering::SeqCst) == pid
                    && self.h64(OFF_CONSUMER_START).load(Ordering::SeqCst) == start
            }
            _ => false,
        }
    }

    /// Base address of the mapping (header at offset 0, data at 4096). For
    /// tools and tests that inspect or act as a consumer; all shared fields
    /// must be accessed atomically as spec section 6 says.
    pub fn base_ptr(&self) -> *mut u8 {
        self.base
    }

    /// Atomic view of the 8-byte header field at `off`.
    pub fn header_u64(&self, off: usize) -> &AtomicU64 {
        assert!(off.is_multiple_of(8) && off + 8 <= HEADER_SIZE);
        self.h64(off)
    }
    /// Atomic view of the 4-byte header field at `off`.
    pub fn header_u32(&self, off: usize) -> &AtomicU32 {
        assert!(off.is_multiple_of(4) && off + 4 <= HEADER_SIZE);
        self.h32(off)
    }

    #[inline(always)]
    pub(crate) fn h64(&self, off: usize) -> &AtomicU64 {
        // SAFETY: off is an 8-aligned offset inside the mapped header; the
        // mapping is page aligned and lives as long as `self`.
        unsafe { AtomicU64::from_ptr(self.base.add(off).cast()) }
    }
    #[inline(always)]
    pub(crate) fn h32(&self, off: usize) -> &AtomicU32 {
        // SAFETY: as for h64, 4-aligned.
        unsafe { AtomicU32::from_ptr(self.base.add(off).cast()) }
    }
    /// Pointer to byte offset `off` (already masked) of the data area.
    #[inline(always)]
    pub(crate) fn data(&self, off: u64) -> *mut u8 {
        // SAFETY: callers pass off < capacity.
        unsafe { self.base.add(HEADER_SIZE + off as usize) }
    }
    /// The header word at position `pos`.
    #[inline(always)]
    pub fn word_at(&self, pos: u64) -> &AtomicU64 {
        let off = pos & (self.capacity - 1) & !7;
        // SAFETY: off < capacity, 8-aligned.
        unsafe { AtomicU64::from_ptr(self.data(off).cast()) }
    }
    #[inline(always)]
    pub(crate) fn shift(&self) -> u32 {
        self.shift
    }
    /// Producer table entry `i`, field at `field`.
    #[inline(always)]
    pub(crate) fn ent64(&self, i: usize, field: usize) -> &AtomicU64 {
        self.h64(OFF_PRODUCER_TABLE + PRODUCER_ENTRY_SIZE * i + field)
    }
    #[inline(always)]
    pub(crate) fn ent32(&self, i: usize, field: usize) -> &AtomicU32 {
        self.h32(OFF_PRODUCER_TABLE + PRODUCER_ENTRY_SIZE * i + field)
    }
}
