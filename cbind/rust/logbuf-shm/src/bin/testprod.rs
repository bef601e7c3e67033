//! Test producer of spec/TEST-RECORDS.md.
//!
//! Usage: testprod RING-FILE PRODUCER-ID COUNT SEED
//!
//! Writes COUNT self-checking records to the ring (SPSC or MPSC, from its
//! flags), retrying a full ring after yielding the CPU (whether or not a
//! consumer is attached: the next one resumes), and exits 0. Errors go to
//! stderr with a non-zero exit: 2 usage, 1 open/attach/ring errors (the
//! consumer closing the ring for good included), 3 a record discarded by a
//! consumer recovery.

mod common;
use common::chain;

use std::process::ExitCode;

use logbuf_shm::testrec::TestRecords;
use logbuf_shm::{Ring, TryClaimError};

fn parse_u64(s: &str) -> Option<u64> {
    match s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        Some(h) => u64::from_str_radix(h, 16).ok(),
        None => s.parse().ok(),
    }
}

fn run() -> Result<(), (u8, String)> {
    let args: Vec<String> = std::env::args().collect();
    if args.len() != 5 {
        return Err((2, "usage: testprod RING-FILE PRODUCER-ID COUNT SEED".into()));
    }
    let usage = |what: &str, v: &str| (2, format!("testprod: bad {what}: {v:?}"));
    let id = parse_u64(&args[2])
        .and_then(|v| u32::try_from(v).ok())
        .ok_or_else(|| usage("PRODUCER-ID (u32)", &args[2]))?;
    let count = parse_u64(&args[3]).ok_or_else(|| usage("COUNT", &args[3]))?;
    let seed = parse_u64(&args[4])
        .filter(|&s| s != 0)
        .ok_or_else(|| usage("SEED (non-zero u64)", &args[4]))?;

    // SAFETY: the test rigs that run this program follow spec/PROTOCOL.md.
    let ring =
        unsafe { Ring::open(&args[1]) }.map_err(|e| (1, format!("testprod: {}", chain(&e))))?;
    let mut gen = TestRecords::new(id, seed, ring.max_payload()).ok_or_else(|| {
        (
            1,
            format!(
                "testprod: max_payload {} < 16: no test record fits",
                ring.max_payload()
            ),
        )
    })?;
    let mut p = ring
        .producer()
        .map_err(|e| (1, format!("testprod: {}", chain(&e))))?;

    for _ in 0..count {
        // One length per record: a retry after "full" keeps it.
        let len = gen.next_len();
        loop {
            match p.try_claim(len) {
                Ok(mut c) => {
                    gen.fill(&mut c);
                    c.commit()
                        .map_err(|e| (3, format!("testprod: id {id} seq {}: {e}", gen.seq())))?;
                    break;
                }
                // `RingClosed` ends the wait below.
                Err(TryClaimError::Full) => std::thread::yield_now(),
                Err(e) => {
                    return Err((1, format!("testprod: id {id} seq {}: {e}", gen.seq())));
                }
            }
        }
        gen.advance();
    }
    Ok(())
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err((code, msg)) => {
            eprintln!("{msg}");
            ExitCode::from(code)
        }
    }
}
