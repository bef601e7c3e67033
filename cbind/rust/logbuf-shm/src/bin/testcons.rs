//! Test consumer of spec/TEST-RECORDS.md, with the crate's consumer.
//!
//! Usage: `testcons RING-FILE COUNT [STOP]`
//!
//! Reads COUNT records from the ring (waiting for them with `recv_batch`)
//! and checks each one: intact, and in sequence per producer. On success it
//! prints "ok N" and one line "producer ID RECORDS" per producer, in id
//! order, and exits 0, as cbind/tests/consumer.c does. With STOP, it reads
//! and releases exactly STOP records and then waits, attached, until it is
//! killed: the cross-process tests take it over.
//!
//! Exit status: 2 bad usage, 1 open/attach errors, 6 the ring has a live
//! consumer (the message names its pid), 5 a bad record, 3 the ring is
//! corrupt (the fault is printed), 4 no record for 20 seconds, or the end of
//! the stream before COUNT records.

mod common;
use common::chain;

use std::collections::BTreeMap;
use std::process::ExitCode;
use std::time::Duration;

use logbuf_shm::testrec;
use logbuf_shm::{Error, RecvError, Ring};

fn run() -> Result<String, (u8, String)> {
    let args: Vec<String> = std::env::args().collect();
    let num = |what: &str, v: &str| {
        v.parse::<u64>()
            .map_err(|_| (2, format!("testcons: bad {what} {v:?}")))
    };
    let (count, stop) = match args.as_slice() {
        [_, _, n] => (num("COUNT", n)?, None),
        [_, _, n, s] => (num("COUNT", n)?, Some(num("STOP", s)?)),
        _ => return Err((2, "usage: testcons RING-FILE COUNT [STOP]".into())),
    };
    // SAFETY: the test rigs that run this program follow spec/PROTOCOL.md.
    let ring =
        unsafe { Ring::open(&args[1]) }.map_err(|e| (1, format!("testcons: {}", chain(&e))))?;
    let mut c = ring.consumer().map_err(|e| {
        let code = if matches!(e, Error::ConsumerBusy { .. }) {
            6
        } else {
            1
        };
        (code, format!("testcons: {}", chain(&e)))
    })?;
    let mut next: BTreeMap<u32, u64> = BTreeMap::new();
    let mut got = 0u64;
    let mut bad = None;
    let until = stop.unwrap_or(count).min(count);
    while got < until {
        let want = (until - got).min(256) as usize;
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
    if stop.is_some() {
        // Attached, everything read released: wait to be killed.
        loop {
            std::thread::sleep(Duration::from_secs(3600));
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
