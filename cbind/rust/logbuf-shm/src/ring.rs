//! Opening, creating, validating and mapping a region (spec section 10).

use std::fmt;
use std::fs::{File, OpenOptions};
use std::io;
use std::marker::PhantomData;
use std::ops::Deref;
use std::os::fd::AsRawFd;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::ptr::NonNull;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::Arc;

use crate::error::{CorruptError, Error};
use crate::layout::*;
use crate::sys;

/// A mapped ring region. Unmapped on drop.
///
/// `Ring` is `Send + Sync`: every shared field is accessed atomically, and
/// claims and records are handed out only for the bytes the protocol gives
/// their holder. Producers and the consumer borrow it (`Ring::producer`,
/// `Ring::consumer`) or, for a thread that must own what it uses, share it
/// through an `Arc` (`Ring::producer_owned`, `Ring::consumer_owned`).
///
/// Its fields in shared memory are reached only through this crate's
/// producer and consumer, which validate what they load: no raw accessor is
/// public, since a safe one could alias an open claim or read a 64-bit
/// atomic over two 32-bit fields.
pub struct Ring {
    base: *mut u8,
    map_len: usize,
    capacity: u64,
    shift: u32,
    max_payload: u32,
    mode: Mode,
}

// SAFETY: the mapping is shared memory accessed only through atomics or
// through claims and records whose exclusivity the protocol guarantees (and
// `Ring::open`'s contract promises for other parties).
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

/// How `Ring::create_with` makes the file.
#[derive(Clone, Debug)]
pub struct CreateOptions {
    overwrite: bool,
    permissions: u32,
}

impl Default for CreateOptions {
    fn default() -> Self {
        CreateOptions::new()
    }
}

impl CreateOptions {
    /// Refuse an existing file; permissions 0600.
    pub fn new() -> Self {
        CreateOptions {
            overwrite: false,
            permissions: 0o600,
        }
    }
    /// Replace a file that exists at the path. The old file is not touched:
    /// the new one is renamed over its name, so processes that have the old
    /// one mapped keep their ring (and do not see this one).
    pub fn overwrite(mut self, yes: bool) -> Self {
        self.overwrite = yes;
        self
    }
    /// The file's permission bits (exactly: the umask does not apply).
    pub fn permissions(mut self, mode: u32) -> Self {
        self.permissions = mode & 0o7777;
        self
    }
}

fn map(file: &File, len: usize) -> io::Result<*mut u8> {
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
        return Err(io::Error::last_os_error());
    }
    Ok(p.cast())
}

fn valid_capacity(c: u64) -> bool {
    c.is_power_of_two() && (MIN_CAPACITY..=MAX_CAPACITY).contains(&c)
}

/// A name beside `path` for a file being made: `.NAME.tmpPID-N`.
fn temp_name(path: &Path, n: u64) -> PathBuf {
    let base = path.file_name().unwrap_or_default().to_string_lossy();
    path.with_file_name(format!(".{base}.tmp{}-{n}", std::process::id()))
}

impl Ring {
    /// Open an existing ring file of either mode, validated as spec section
    /// 10 says (the first failed check is named).
    ///
    /// # Safety
    ///
    /// The ring is memory that other parties (processes, or other `Ring`s
    /// and consumers in this one) read and write. This crate hands out
    /// `&mut [u8]` over a claim's payload and `&[u8]` over a record's, which
    /// Rust requires no one else to write while they live. The caller
    /// promises, for as long as the returned `Ring` lives, that every party
    /// that maps the file follows `spec/PROTOCOL.md`, in particular:
    ///
    /// - no party writes a claim's bytes while its producer holds it: every
    ///   consumer's unblock timeout (spec section 9; `Consumer::set_recovery`)
    ///   is longer than any `WriteClaim` is held;
    /// - no party writes a record's bytes between its commit and its release
    ///   by the consumer (which this crate's consumer does after the callback
    ///   that sees them returns);
    /// - nothing shrinks the file (a truncated mapping faults with `SIGBUS`).
    ///
    /// What the crate does check: everything it reads from the region before
    /// it acts on it (header fields, positions, record words), so broken or
    /// hostile values give errors, never an access outside the mapping. The
    /// contract is about the payload bytes only, which the crate never
    /// interprets. This is the contract of `memmap2::MmapMut::map_mut`, for
    /// the same reason.
    pub unsafe fn open<P: AsRef<Path>>(path: P) -> Result<Ring, Error> {
        Self::open_with(path.as_ref(), None)
    }

    /// Open an existing ring file and require `mode` (check 6).
    ///
    /// # Safety
    ///
    /// As for [`Ring::open`].
    pub unsafe fn open_expect<P: AsRef<Path>>(path: P, mode: Mode) -> Result<Ring, Error> {
        Self::open_with(path.as_ref(), Some(mode))
    }

    fn open_with(path: &Path, expect: Option<Mode>) -> Result<Ring, Error> {
        let io = |op| move |e| Error::io(op, path, e);
        // O_NONBLOCK: a FIFO at path must not hang the open; it is refused
        // below as not a regular file.
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .custom_flags(sys::O_NONBLOCK)
            .open(path)
            .map_err(io("open ring file"))?;
        let meta = file.metadata().map_err(io("stat ring file"))?;
        if !meta.file_type().is_file() {
            return Err(Error::io(
                "open ring file",
                path,
                io::Error::new(io::ErrorKind::InvalidInput, "not a regular file"),
            ));
        }
        let len = meta.len();
        // Check 1, before mapping anything.
        if len < HEADER_SIZE as u64 {
            return Err(Error::TooSmall { len });
        }
        // No more than the largest valid ring needs; check 5 compares the
        // file's length, not the mapping's.
        let map_len = len.min(HEADER_SIZE as u64 + MAX_CAPACITY) as usize;
        let base = map(&file, map_len).map_err(io("map ring file"))?;
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
        for (field, off, want) in [
            ("header_size", OFF_HEADER_SIZE, HEADER_SIZE as u32),
            ("line_size", OFF_LINE_SIZE, LINE_SIZE),
            ("producer_slots", OFF_PRODUCER_SLOTS, PRODUCER_SLOTS as u32),
        ] {
            let found = self.h32(off).load(Ordering::Relaxed);
            if found != want {
                return Err(Error::BadGeometry { field, found, want });
            }
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
        // 7: a ring needs an identity, or records keyed by (ring_id,
        // position) could not tell it from the ring re-created after it.
        if (0..RING_ID_SIZE / 8).all(|i| self.h64(OFF_RING_ID + 8 * i).load(Ordering::Relaxed) == 0)
        {
            return Err(Error::Corrupt(CorruptError::new(
                "ring_id",
                OFF_RING_ID as u64,
                0,
                "all zero: a ring needs an identity",
            )));
        }
        self.capacity = capacity;
        self.shift = capacity.trailing_zeros();
        self.max_payload = (capacity / 8) as u32;
        self.mode = mode;
        // 8
        self.positions()?;
        Ok(())
    }

    /// `head` and `tail`, loaded and checked as section 10 check 8 says:
    /// multiples of 8, `tail - head <= capacity`. The one owner of that rule:
    /// opening, and attaching a producer or the consumer, call it.
    pub(crate) fn positions(&self) -> Result<(u64, u64), CorruptError> {
        let head = self.head();
        let tail = self.tail();
        if !head.is_multiple_of(8) {
            return Err(CorruptError::new(
                "head",
                OFF_HEAD as u64,
                head,
                "not a multiple of 8",
            ));
        }
        if !tail.is_multiple_of(8) {
            return Err(CorruptError::new(
                "tail",
                OFF_TAIL as u64,
                tail,
                "not a multiple of 8",
            ));
        }
        if tail.wrapping_sub(head) > self.capacity {
            return Err(CorruptError::new(
                "tail",
                OFF_TAIL as u64,
                tail,
                "more than capacity ahead of head",
            ));
        }
        Ok((head, tail))
    }

    /// Create a ring file: `4096 + capacity` zero bytes, then the immutable
    /// header fields and a fresh random `ring_id` (spec section 10), with
    /// permissions 0600. Refuses a path that
    /// exists (`Error::Io` whose source has kind `AlreadyExists`).
    ///
    /// The file is made under a temporary name in the same directory and
    /// renamed into place only when complete, so no process opens a
    /// half-made ring, and a file that exists is never truncated under a
    /// process that has it mapped.
    ///
    /// # Safety
    ///
    /// As for [`Ring::open`]: once the file has its name, other parties may
    /// open it.
    pub unsafe fn create<P: AsRef<Path>>(
        path: P,
        capacity: u64,
        mode: Mode,
    ) -> Result<Ring, Error> {
        Self::create_with(path, capacity, mode, &CreateOptions::new())
    }

    /// `create` with options: overwrite an existing file (by renaming over
    /// it), and the file's permissions.
    ///
    /// # Safety
    ///
    /// As for [`Ring::open`].
    pub unsafe fn create_with<P: AsRef<Path>>(
        path: P,
        capacity: u64,
        mode: Mode,
        opts: &CreateOptions,
    ) -> Result<Ring, Error> {
        let path = path.as_ref();
        if !valid_capacity(capacity) {
            return Err(Error::InvalidCapacity { capacity });
        }
        let exists = || io::Error::from(io::ErrorKind::AlreadyExists);
        // Fail early and clearly; the exclusive rename below is what makes
        // it race-free.
        if !opts.overwrite && path.symlink_metadata().is_ok() {
            return Err(Error::io("create ring file", path, exists()));
        }
        let (file, tmp) = create_temp(path, opts.permissions)?;
        let tmp_path = tmp.as_path();
        let made = (|| {
            let io = |op| move |e| Error::io(op, tmp_path, e);
            // fchmod: the requested bits exactly, whatever the umask took.
            file.set_permissions(std::fs::Permissions::from_mode(opts.permissions))
                .map_err(io("chmod ring file"))?;
            let len = HEADER_SIZE as u64 + capacity;
            // A fresh extent reads as zero, and no page is touched.
            file.set_len(len).map_err(io("size ring file"))?;
            let mut id = [0u8; RING_ID_SIZE];
            random(&mut id).map_err(io("read /dev/urandom for the ring id of"))?;
            let base = map(&file, len as usize).map_err(io("map ring file"))?;
            let ring = Ring {
                base,
                map_len: len as usize,
                capacity,
                shift: capacity.trailing_zeros(),
                max_payload: (capacity / 8) as u32,
                mode,
            };
            ring.write_identity(&id);
            publish(tmp_path, path, opts.overwrite)?;
            Ok(ring)
        })();
        if made.is_err() {
            let _ = std::fs::remove_file(&tmp);
        }
        made
    }

    /// The immutable header fields of a fresh region (spec section 10).
    fn write_identity(&self, id: &[u8; RING_ID_SIZE]) {
        for (i, half) in id.chunks_exact(8).enumerate() {
            let v = u64::from_le_bytes(half.try_into().unwrap());
            self.h64(OFF_RING_ID + 8 * i).store(v, Ordering::Relaxed);
        }
        self.h32(OFF_VERSION).store(VERSION, Ordering::Relaxed);
        self.h32(OFF_HEADER_SIZE)
            .store(HEADER_SIZE as u32, Ordering::Relaxed);
        self.h64(OFF_CAPACITY)
            .store(self.capacity, Ordering::Relaxed);
        let flags = if self.mode == Mode::Mpsc {
            FLAG_MPSC
        } else {
            0
        };
        self.h32(OFF_FLAGS).store(flags, Ordering::Relaxed);
        self.h32(OFF_LINE_SIZE).store(LINE_SIZE, Ordering::Relaxed);
        self.h32(OFF_PRODUCER_SLOTS)
            .store(PRODUCER_SLOTS as u32, Ordering::Relaxed);
        // magic last, with release: a reader that sees it sees the rest.
        self.h64(OFF_MAGIC).store(MAGIC, Ordering::Release);
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
    /// `ring_id`: the 16 random bytes that name this ring for as long as it
    /// exists (spec section 10). `(ring_id, position)` names one record.
    pub fn ring_id(&self) -> [u8; RING_ID_SIZE] {
        let mut id = [0u8; RING_ID_SIZE];
        for (i, half) in id.chunks_exact_mut(8).enumerate() {
            half.copy_from_slice(
                &self
                    .h64(OFF_RING_ID + 8 * i)
                    .load(Ordering::Relaxed)
                    .to_le_bytes(),
            );
        }
        id
    }
    /// Current `head`, as found (acquire): not validated, for display.
    pub fn head(&self) -> u64 {
        self.h64(OFF_HEAD).load(Ordering::Acquire)
    }
    /// Current `tail`, as found (acquire): not validated, for display.
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

    #[inline(always)]
    pub(crate) fn h64(&self, off: usize) -> &AtomicU64 {
        debug_assert!(off.is_multiple_of(8) && off + 8 <= HEADER_SIZE);
        // SAFETY: off is an 8-aligned offset inside the mapped header; the
        // mapping is page aligned and lives as long as `self`.
        unsafe { AtomicU64::from_ptr(self.base.add(off).cast()) }
    }
    #[inline(always)]
    pub(crate) fn h32(&self, off: usize) -> &AtomicU32 {
        debug_assert!(off.is_multiple_of(4) && off + 4 <= HEADER_SIZE);
        // SAFETY: as for h64, 4-aligned.
        unsafe { AtomicU32::from_ptr(self.base.add(off).cast()) }
    }
    /// Pointer to byte offset `off` of the data area; `off <= capacity`.
    #[inline(always)]
    pub(crate) fn data(&self, off: u64) -> *mut u8 {
        debug_assert!(off <= self.capacity);
        // SAFETY: callers pass off <= capacity: inside the mapping, or one
        // past the data area.
        unsafe { self.base.add(HEADER_SIZE + off as usize) }
    }
    /// The header word at position `pos` (masked to the data area and to 8).
    #[inline(always)]
    pub(crate) fn word_at(&self, pos: u64) -> &AtomicU64 {
        let off = pos & (self.capacity - 1) & !7;
        // SAFETY: off < capacity, 8-aligned.
        unsafe { AtomicU64::from_ptr(self.data(off).cast()) }
    }
    #[inline(always)]
    pub(crate) fn shift(&self) -> u32 {
        self.shift
    }
}

/// Fill `buf` from the kernel's cryptographic random source.
fn random(buf: &mut [u8]) -> io::Result<()> {
    use std::io::Read;
    File::open("/dev/urandom")?.read_exact(buf)
}

/// Create an empty file beside `path`, exclusively.
fn create_temp(path: &Path, perm: u32) -> Result<(File, PathBuf), Error> {
    static SEQ: AtomicU64 = AtomicU64::new(0);
    let mut i = 0;
    loop {
        let tmp = temp_name(path, SEQ.fetch_add(1, Ordering::Relaxed));
        match OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .mode(perm)
            .open(&tmp)
        {
            Ok(f) => return Ok((f, tmp)),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists && i < 100 => i += 1,
            Err(e) => return Err(Error::io("create ring file", tmp, e)),
        }
    }
}

/// Give the finished ring at `tmp` its name. Without overwrite:
/// `renameat2(RENAME_NOREPLACE)`, or link + unlink on file systems without
/// it; either fails if `path` exists, atomically.
fn publish(tmp: &Path, path: &Path, overwrite: bool) -> Result<(), Error> {
    let err = |e| Error::io("create ring file", path, e);
    if overwrite {
        return std::fs::rename(tmp, path).map_err(err);
    }
    match sys::rename_noreplace(tmp, path) {
        Err(e) if matches!(e.raw_os_error(), Some(sys::EINVAL | sys::ENOSYS)) => {
            std::fs::hard_link(tmp, path).map_err(err)?;
            let _ = std::fs::remove_file(tmp);
            Ok(())
        }
        r => r.map_err(err),
    }
}

/// A producer's or the consumer's hold on its ring: borrowed for `'r`, or
/// shared through an `Arc` it keeps (then `'r` may be `'static`). Derefs to
/// the ring at the cost of a plain reference.
pub(crate) struct RingRef<'r> {
    ptr: NonNull<Ring>,
    _keep: Option<Arc<Ring>>,
    _life: PhantomData<&'r Ring>,
}

// SAFETY: it is a `&Ring` or an `Arc<Ring>`, both Send + Sync because Ring is.
unsafe impl Send for RingRef<'_> {}
unsafe impl Sync for RingRef<'_> {}

impl<'r> RingRef<'r> {
    pub(crate) fn borrowed(ring: &'r Ring) -> Self {
        RingRef {
            ptr: NonNull::from(ring),
            _keep: None,
            _life: PhantomData,
        }
    }
    pub(crate) fn shared(ring: &Arc<Ring>) -> RingRef<'static> {
        RingRef {
            ptr: NonNull::from(&**ring),
            _keep: Some(Arc::clone(ring)),
            _life: PhantomData,
        }
    }
}

impl Deref for RingRef<'_> {
    type Target = Ring;
    #[inline(always)]
    fn deref(&self) -> &Ring {
        // SAFETY: the ring outlives 'r (borrowed) or is kept alive by the
        // Arc this holds (shared); the reference is tied to &self.
        unsafe { self.ptr.as_ref() }
    }
}
