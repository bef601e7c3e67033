//! Test consumer of spec/TEST-RECORDS.md, with the crate's consumer.
//!
//! Usage: testcons RING-FILE COUNT
//!
//! Reads COUNT records from the ring (waiting for them with `recv_batch`)
//! and checks each one: intact, and in sequence per producer. On success it
//! prints "ok N" and one line "producer ID RECORDS" per producer, in id
//! order, and exits 0, as cbind/tests/consumer.c does. Exit status: 2 bad
//! usage, 1 open/attach errors, 5 a bad record, 3 the ring is corrupt (the
//! fault is printed), 4 no record for 20 seconds, or the end of the stream
//! before COUNT records.

mod common;
use common::chain;

use std::collections::BTreeMap;
use std::process::ExitCode;
use std::time::Duration;

use logbuf_shm::testrec;
use logbuf_shm::{RecvError, Ring};

fn run() -> Result<String, (u8, String)> {
    let args: Vec<String> = std::env::args().collect();
    let count: u64 = match args.as_slice() {
        [_, _, n] => n
            .parse()
            .map_err(|_| (2, format!("testcons: bad COUNT {n:?}")))?,
        _ => return Err((2, "usage: testcons RING-FILE COUNT".into())),
    };
    // SAFETY: the test rigs that run this program follow spec/PROTOCOL.md.
    let ring =
        unsafe { Ring::open(&args[1]) }.map_err(|e| (1, format!("testcons: {}", chain(&e))))?;
    let mut c = ring
        .consumer()
        .map_err(|e| (1, format!("testcons: {}", chain(&e))))?;
    let mut next: BTreeMap<u32, u64> = BTreeMap::new();
    let mut got = 0u64;
    let mut bad = None;
    while got < count {
        let want = (count - got).min(256) as usize;
        let r = c.recv_batch(want, Some(Duration::from_secs(20)), |r| {
            if bad.is_some() {
                return;
            }
            match testrec::check(&r) {
                Ok((id, seq)) => {
                    let n = next.entry(id).or_insert(0);
                    if seq != *n {
                        bad = Some(format!("record {got}: producer {id}: seq {seq}, want {n}"));
                    }
                    *n += 1;
                }
                Err(why) => bad = Some(format!("record {got} ({} bytes): {why}", r.len())),
            }
            got += 1;
        });
        if let Some(why) = bad {
            return Err((5, format!("testcons: {why}")));
        }
        match r {
            Ok(_) => {}
            Err(RecvError::Corrupt(e)) => return Err((3, format!("testcons: {e}"))),
            Err(e) => return Err((4, format!("testcons: after {got} of {count} records: {e}"))),
        }
    }
    let mut out = format!("ok {got}\n");
    for (id, n) in next {
        out += &format!("producer {id} {n}\n");
    }
    Ok(out)
}

fn main() -> ExitCode {
    match run() {
        Ok(out) => {
            print!("{out}");
            ExitCode::SUCCESS
        }
        Err((code, msg)) => {
            eprintln!("{msg}");
            ExitCode::from(code)
        }
    }
}
