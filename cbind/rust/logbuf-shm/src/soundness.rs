//! Code that must not compile: each block is a way safe code could break
//! Rust's rules, or a mistake the types catch, with the compiler error that
//! stops it. `cargo test --doc` checks that each still fails, with that
//! error code where the compiler gives one.

/// A safe raw word accessor would let safe code write a claim's payload
/// through an atomic while `&mut [u8]` over the same bytes is live: two
/// writers where Rust allows one. `Ring::word_at` is private (E0624).
///
/// ```compile_fail,E0624
/// use std::sync::atomic::Ordering;
/// fn alias(ring: &logbuf_shm::Ring) -> Result<(), Box<dyn std::error::Error>> {
///     let mut p = ring.producer()?;
///     let mut claim = p.try_claim(16)?;
///     let word = ring.word_at(claim.position() + 8); // the claim's first 8 payload bytes
///     let bytes: &mut [u8] = &mut claim;
///     word.store(1, Ordering::Relaxed); // a write under a live &mut
///     bytes[0] = 2;
///     claim.commit()?;
///     Ok(())
/// }
/// ```
pub struct WordAtIsPrivate;

/// `header_u64` took any 8-aligned header offset: `0x008` makes one 64-bit
/// atomic over `version` and `header_size`, two 32-bit fields that other
/// parties access as such. Private now (E0624).
///
/// ```compile_fail,E0624
/// use std::sync::atomic::Ordering;
/// fn mixed(ring: &logbuf_shm::Ring) {
///     ring.header_u64(0x008).store(0, Ordering::Relaxed);
/// }
/// ```
pub struct HeaderU64IsPrivate;

/// `header_u32` let safe code store into `head`'s low half, or any field,
/// behind the producer's and consumer's validation. Private now (E0624).
///
/// ```compile_fail,E0624
/// use std::sync::atomic::Ordering;
/// fn scribble(ring: &logbuf_shm::Ring) {
///     ring.header_u32(0x080).store(4, Ordering::Relaxed);
/// }
/// ```
pub struct HeaderU32IsPrivate;

/// `base_ptr` handed out the mapping's address to safe code, from which
/// anything in the region could be reached. It is gone (E0599).
///
/// ```compile_fail,E0599
/// fn base(ring: &logbuf_shm::Ring) -> *mut u8 {
///     ring.base_ptr()
/// }
/// ```
pub struct BasePtrIsGone;

/// Mapping a file that other processes write is a promise only the caller
/// can make (see `Ring::open`'s safety section): `open` is `unsafe` (E0133).
///
/// ```compile_fail,E0133
/// let ring = logbuf_shm::Ring::open("/dev/shm/app.ring");
/// ```
pub struct OpenIsUnsafe;

/// Likewise `create`: once the file has its name, other processes may map
/// it (E0133).
///
/// ```compile_fail,E0133
/// let ring = logbuf_shm::Ring::create("/dev/shm/app.ring", 1 << 16, logbuf_shm::Mode::Mpsc);
/// ```
pub struct CreateIsUnsafe;

/// A claim that is not used is aborted at once, when it drops: a statement
/// that discards it is almost certainly a mistake. `WriteClaim` is
/// `#[must_use]`, so `unused_must_use` (denied here) catches it.
///
/// ```compile_fail
/// #![deny(unused_must_use)]
/// fn lost(p: &mut logbuf_shm::Producer<'_>) -> Result<(), logbuf_shm::TryClaimError> {
///     p.try_claim(5)?; // claimed and aborted on the spot
///     Ok(())
/// }
/// ```
pub struct ClaimIsMustUse;

/// A record lives only during the callback: the consumer zeroes it right
/// after. It cannot escape (E0521).
///
/// ```compile_fail,E0521
/// fn keep<'a>(c: &'a mut logbuf_shm::Consumer<'_>) -> Vec<&'a [u8]> {
///     let mut kept = Vec::new();
///     let _ = c.read_batch(8, |r| kept.push(r.bytes()));
///     kept
/// }
/// ```
pub struct RecordDoesNotEscape;

/// The error enums are `#[non_exhaustive]`: a new condition is not a
/// breaking change, so a match needs a wildcard arm (E0004).
///
/// ```compile_fail,E0004
/// fn name(e: &logbuf_shm::Error) -> &'static str {
///     use logbuf_shm::Error::*;
///     match e {
///         Io { .. } => "io",
///         TooSmall { .. } => "too small",
///         BadMagic { .. } => "magic",
///         BadVersion { .. } => "version",
///         BadGeometry { .. } => "geometry",
///         BadCapacity { .. } => "capacity",
///         Truncated { .. } => "truncated",
///         BadFlags { .. } => "flags",
///         WrongMode { .. } => "mode",
///         Corrupt(_) => "corrupt",
///         InvalidCapacity { .. } => "invalid capacity",
///         ProducerBusy { .. } => "producer busy",
///         ConsumerBusy { .. } => "consumer busy",
///     }
/// }
/// ```
///
/// ```compile_fail,E0004
/// fn name(e: logbuf_shm::TryClaimError) -> &'static str {
///     use logbuf_shm::TryClaimError::*;
///     match e {
///         Full => "full",
///         ZeroLength => "zero length",
///         TooLarge => "too large",
///         RingClosed => "ring closed",
///         Corrupt(_) => "corrupt",
///     }
/// }
/// ```
///
/// ```compile_fail,E0004
/// fn name(e: logbuf_shm::TryWriteError) -> &'static str {
///     match e {
///         logbuf_shm::TryWriteError::Claim(_) => "claim",
///         logbuf_shm::TryWriteError::Discarded => "discarded",
///     }
/// }
/// ```
///
/// ```compile_fail,E0004
/// fn name(e: logbuf_shm::RecvError) -> &'static str {
///     match e {
///         logbuf_shm::RecvError::Timeout => "timeout",
///         logbuf_shm::RecvError::EndOfStream => "end",
///         logbuf_shm::RecvError::Corrupt(_) => "corrupt",
///     }
/// }
/// ```
pub struct ErrorsAreNonExhaustive;
