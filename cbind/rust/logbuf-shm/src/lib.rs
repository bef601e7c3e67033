//! Producer side of the logbuf shared-memory byte ring, protocol version 1,
//! written from `spec/PROTOCOL.md` alone. Linux x86-64 / aarch64, std only.
//!
//! ```no_run
//! use logbuf_shm::{Ring, TryClaimError};
//!
//! let ring = Ring::open("/dev/shm/app.ring")?;
//! let mut p = ring.producer()?;
//! match p.try_claim(5) {
//!     Ok(mut c) => {
//!         c.copy_from_slice(b"hello");
//!         c.commit()?;
//!     }
//!     Err(TryClaimError::Full) => { /* drop it, or retry later */ }
//!     Err(e) => return Err(e.into()),
//! }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod layout;
pub mod proc;
mod producer;
mod ring;
mod sys;
pub mod testrec;

pub use producer::{Discarded, Producer, TryClaimError, TryWriteError, WriteClaim};
pub use ring::{Error, Mode, Ring};

#[cfg(test)]
mod tests;
