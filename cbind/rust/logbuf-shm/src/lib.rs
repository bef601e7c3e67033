//! Producer and consumer of logbuf shared-memory byte rings, protocol
//! version 2, written from `spec/PROTOCOL.md` alone. Linux x86-64 / aarch64,
//! std only.
//!
//! ```
//! use logbuf_shm::{Mode, Ring, TryClaimError};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let dir = std::env::temp_dir().join(format!("logbuf-doc-lib-{}", std::process::id()));
//! # std::fs::create_dir_all(&dir)?;
//! # let path = dir.join("app.ring");
//! # let _ = std::fs::remove_file(&path);
//! # drop(unsafe { Ring::create(&path, 1 << 16, Mode::Mpsc) }?);
//! // SAFETY: every process that maps the file follows spec/PROTOCOL.md.
//! let ring = unsafe { Ring::open(&path) }?;
//! let mut p = ring.producer()?;
//! match p.try_claim(5) {
//!     Ok(mut c) => {
//!         c.copy_from_slice(b"hello");
//!         c.commit()?;
//!     }
//!     Err(TryClaimError::Full) => { /* drop it, or retry later */ }
//!     Err(e) => return Err(e.into()),
//! }
//! let mut c = ring.consumer()?;
//! c.read_batch(16, |r| assert_eq!(&*r, b"hello"))?;
//! # std::fs::remove_dir_all(&dir)?;
//! # Ok(())
//! # }
//! ```
//!
//! The region's fields are reached only through [`Producer`] and
//! [`Consumer`], which validate everything they load: see [`Ring::open`] for
//! the contract that makes the mapping's payload bytes safe to hand out.

mod consumer;
mod error;
mod layout;
mod party;
mod proc;
mod producer;
mod ring;
mod stats;
mod sys;
mod wakeup;

/// The self-checking payload of `spec/TEST-RECORDS.md`, used by the
/// `testprod` program and the tests. A testing convention, not part of the
/// ring protocol or of this crate's API.
#[doc(hidden)]
pub mod testrec;

pub use consumer::{Consumer, Record, RecvError, Stuck, StuckReport, DEFAULT_UNBLOCK_TIMEOUT};
pub use error::{CorruptError, Error};
pub use layout::Mode;
pub use producer::{Discarded, Producer, TryClaimError, TryWriteError, WriteClaim};
pub use ring::{CreateOptions, Ring};
pub use stats::{Party, PartyState, Stats};

/// The README's examples, run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;

#[cfg(doctest)]
mod soundness;

#[cfg(test)]
mod tests;
