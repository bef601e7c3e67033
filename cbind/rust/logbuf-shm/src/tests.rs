//! Unit tests: the producer and the consumer against each other, against
//! header values a test writes as another party would, and against
//! spec/vectors.

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::layout::*;
use crate::testrec;
use crate::{
    Consumer, CreateOptions, Discarded, Error, Mode, RecvError, Ring, Stuck, TryClaimError,
    TryWriteError,
};

mod hostile;

// ---------------------------------------------------------------- helpers

pub(crate) struct TmpFile(pub(crate) PathBuf);
impl Drop for TmpFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}
pub(crate) fn tmp() -> TmpFile {
    static N: AtomicUsize = AtomicUsize::new(0);
    let n = N.fetch_add(1, Ordering::Relaxed);
    let path =
        std::env::temp_dir().join(format!("logbuf-shm-test-{}-{n}.ring", std::process::id()));
    let _ = std::fs::remove_file(&path); // a leftover of a run with our pid
    TmpFile(path)
}

/// Create a ring at `f` (the tests are the only parties: open's contract).
pub(crate) fn create(f: &TmpFile, capacity: u64, mode: Mode) -> Ring {
    unsafe { Ring::create(&f.0, capacity, mode) }.unwrap()
}

/// Open the ring at `path`, as another process would.
pub(crate) fn open(path: &std::path::Path) -> Result<Ring, Error> {
    unsafe { Ring::open(path) }
}

/// Every record ready, released.
fn drain(c: &mut Consumer<'_>) -> Vec<Vec<u8>> {
    let mut v = Vec::new();
    c.read_batch(usize::MAX, |r| v.push(r.to_vec()))
        .expect("corrupt");
    v
}

/// Field `f` of producer entry `i`.
fn entry(ring: &Ring, i: usize, f: usize) -> u64 {
    ring.h64(entry_offset(i) + f).load(Ordering::SeqCst)
}
fn set_entry(ring: &Ring, i: usize, f: usize, v: u64) {
    ring.h64(entry_offset(i) + f).store(v, Ordering::SeqCst)
}
/// Field `f` of the consumer's record.
fn consumer_field(ring: &Ring, f: usize) -> u64 {
    ring.h64(OFF_CONSUMER + f).load(Ordering::SeqCst)
}
fn set_consumer_field(ring: &Ring, f: usize, v: u64) {
    ring.h64(OFF_CONSUMER + f).store(v, Ordering::SeqCst)
}
/// This process's lease in state `s`.
fn my_lease(s: u64) -> u64 {
    let (pid, start) = crate::proc::me();
    lease(s, pid, start)
}
/// An ATTACHED lease whose process is gone: our pid, another start time.
fn dead_lease() -> u64 {
    let (pid, start) = crate::proc::me();
    lease(STATE_ATTACHED, pid, start + 1)
}
/// Move an idle ring to position `pos`: head, tail and releasing (no
/// release under way).
fn set_positions(ring: &Ring, pos: u64) {
    ring.h64(OFF_HEAD).store(pos, Ordering::SeqCst);
    ring.h64(OFF_RELEASING).store(pos, Ordering::SeqCst);
    ring.h64(OFF_TAIL).store(pos, Ordering::SeqCst);
}
fn word_at(ring: &Ring, pos: u64) -> u64 {
    ring.word_at(pos).load(Ordering::SeqCst)
}

// ---------------------------------------------------------------- open

#[test]
fn create_then_open() {
    let f = tmp();
    let r = create(&f, 1024, Mode::Mpsc);
    assert_eq!(r.h64(0).load(Ordering::SeqCst), MAGIC);
    let bytes = std::fs::read(&f.0).unwrap();
    assert_eq!(&bytes[..8], b"LOGBUF\x00\x01");
    assert_eq!(bytes.len(), 4096 + 1024);
    let o = open(&f.0).unwrap();
    assert_eq!(o.capacity(), 1024);
    assert_eq!(o.max_payload(), 128);
    assert_eq!(o.mode(), Mode::Mpsc);
    assert!(unsafe { Ring::open_expect(&f.0, Mode::Mpsc) }.is_ok());
    // a random ring_id, another for every ring made
    let id = r.ring_id();
    assert_ne!(id, [0; 16]);
    assert_eq!(o.ring_id(), id);
    assert_eq!(o.stats().ring_id, id);
    let g = tmp();
    assert_ne!(create(&g, 1024, Mode::Mpsc).ring_id(), id);
    // no temporary file left beside it
    let dir = f.0.parent().unwrap();
    let stem = f.0.file_name().unwrap().to_string_lossy().into_owned();
    let left: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .starts_with(&format!(".{stem}.tmp"))
        })
        .collect();
    assert!(left.is_empty(), "{left:?}");
}

/// Creating over a ring file that a live process has mapped must not
/// truncate it under that process: plain `create` refuses the path, and
/// `overwrite` renames a new file over the name, leaving the old one (and
/// its mapping) as it was.
#[test]
fn create_never_truncates_a_mapped_file() {
    let f = tmp();
    let old = create(&f, 1024, Mode::Spsc);
    let mut p = old.producer().unwrap();
    p.try_write(b"kept").unwrap();
    let e = unsafe { Ring::create(&f.0, 1024, Mode::Spsc) }.unwrap_err();
    match &e {
        Error::Io { op, path, source } => {
            assert_eq!((*op, path), ("create ring file", &f.0));
            assert_eq!(source.kind(), std::io::ErrorKind::AlreadyExists);
        }
        e => panic!("{e}"),
    }
    // The live mapping still holds its ring and its record.
    assert_eq!(old.h64(OFF_MAGIC).load(Ordering::SeqCst), MAGIC);
    assert_eq!(old.tail(), 16);
    let opts = CreateOptions::new().overwrite(true).permissions(0o640);
    let new = unsafe { Ring::create_with(&f.0, 256, Mode::Mpsc, &opts) }.unwrap();
    assert_eq!((new.capacity(), new.tail()), (256, 0));
    assert_eq!(old.tail(), 16);
    assert_eq!(old.h64(OFF_CAPACITY).load(Ordering::SeqCst), 1024);
    let mut c = old.consumer().unwrap();
    assert_eq!(drain(&mut c), vec![b"kept".to_vec()]);
    // The name is the new ring's, with exactly the bits asked for.
    use std::os::unix::fs::PermissionsExt;
    let meta = std::fs::metadata(&f.0).unwrap();
    assert_eq!(meta.permissions().mode() & 0o7777, 0o640);
    assert_eq!(open(&f.0).unwrap().capacity(), 256);
}

#[test]
fn io_error_keeps_the_path_and_prints_its_source_once() {
    use std::error::Error as _;
    let path = std::path::Path::new("/nonexistent/dir/app.ring");
    let e = open(path).unwrap_err();
    let shown = e.to_string();
    let source = e.source().expect("the OS error is the source");
    assert_eq!(shown, "logbuf: open ring file /nonexistent/dir/app.ring");
    assert!(!shown.contains(&source.to_string()), "{shown}");
    assert_eq!(
        source.downcast_ref::<std::io::Error>().unwrap().kind(),
        std::io::ErrorKind::NotFound
    );
    assert!(matches!(e, Error::Io { ref path, .. } if path.ends_with("app.ring")));
    // a directory is not a ring file
    let e = open(&std::env::temp_dir()).unwrap_err();
    assert!(e.to_string().starts_with("logbuf: "), "{e}");
}

#[test]
fn rust_version_is_declared() {
    let v = env!("CARGO_PKG_RUST_VERSION");
    assert!(!v.is_empty(), "Cargo.toml declares no rust-version");
}

#[test]
fn open_checks_in_order() {
    let f = tmp();
    // 1: too small
    std::fs::write(&f.0, [0u8; 100]).unwrap();
    assert!(matches!(open(&f.0), Err(Error::TooSmall { len: 100 })));
    std::fs::remove_file(&f.0).unwrap();
    let r = create(&f, 256, Mode::Spsc);
    let e = |r: Result<Ring, Error>| r.unwrap_err().to_string();
    // 2 before 3: both broken, magic reported
    r.h32(OFF_VERSION).store(7, Ordering::SeqCst);
    r.h64(OFF_MAGIC).store(1, Ordering::SeqCst);
    assert!(e(open(&f.0)).contains("check 2 (magic)"));
    r.h64(OFF_MAGIC).store(MAGIC, Ordering::SeqCst);
    assert!(matches!(open(&f.0), Err(Error::BadVersion { found: 7 })));
    r.h32(OFF_VERSION).store(1, Ordering::SeqCst);
    assert!(
        matches!(open(&f.0), Err(Error::BadVersion { found: 1 })),
        "version 1 is refused"
    );
    r.h32(OFF_VERSION).store(2, Ordering::SeqCst);
    // 4
    for (off, good) in [
        (OFF_HEADER_SIZE, 4096),
        (OFF_LINE_SIZE, 128),
        (OFF_PRODUCER_SLOTS, 32),
    ] {
        r.h32(off).store(64, Ordering::SeqCst);
        let err = open(&f.0).unwrap_err();
        assert!(e(Err(open(&f.0).unwrap_err())).contains("check 4"));
        assert!(matches!(err, Error::BadGeometry { found: 64, want, .. } if want == good));
        r.h32(off).store(good, Ordering::SeqCst);
    }
    // 5
    for bad in [0u64, 32, 96, 1 << 32] {
        r.h64(OFF_CAPACITY).store(bad, Ordering::SeqCst);
        assert!(matches!(open(&f.0), Err(Error::BadCapacity { .. })));
    }
    r.h64(OFF_CAPACITY).store(512, Ordering::SeqCst);
    assert!(matches!(
        open(&f.0),
        Err(Error::Truncated {
            len: 4352,
            capacity: 512
        })
    ));
    r.h64(OFF_CAPACITY).store(256, Ordering::SeqCst);
    // 6
    r.h32(OFF_FLAGS).store(3, Ordering::SeqCst);
    assert!(matches!(open(&f.0), Err(Error::BadFlags { flags: 3 })));
    r.h32(OFF_FLAGS).store(0, Ordering::SeqCst);
    assert!(matches!(
        unsafe { Ring::open_expect(&f.0, Mode::Mpsc) },
        Err(Error::WrongMode {
            expected: Mode::Mpsc,
            found: Mode::Spsc
        })
    ));
    // 7
    let corrupt = |field: &str, value: u64| match open(&f.0) {
        Err(Error::Corrupt(c)) => assert_eq!((c.field(), c.value()), (field, value), "{c}"),
        other => panic!("{other:?}"),
    };
    set_positions(&r, 4);
    corrupt("head", 4);
    r.h64(OFF_HEAD).store(8, Ordering::SeqCst);
    corrupt("tail", 4);
    r.h64(OFF_TAIL).store(8 + 264, Ordering::SeqCst);
    corrupt("tail", 272);
    // tail - head is computed mod 2^64
    r.h64(OFF_HEAD).store(u64::MAX - 7, Ordering::SeqCst);
    r.h64(OFF_TAIL).store(248, Ordering::SeqCst);
    assert!(open(&f.0).is_ok());
    assert!(matches!(
        unsafe { Ring::create(&tmp().0, 100, Mode::Spsc) },
        Err(Error::InvalidCapacity { capacity: 100 })
    ));
}

/// layout.rs is written by hand from the spec's tables: every field of the
/// header, entry and word tables is there, at the spec's offset and size.
#[test]
fn layout_matches_spec_tables() {
    let spec = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../spec/PROTOCOL.md"),
    )
    .unwrap();
    let table = |name: &str| -> Vec<Vec<String>> {
        let begin = format!("<!-- {name}:begin -->");
        let end = format!("<!-- {name}:end -->");
        let t = &spec[spec.find(&begin).unwrap() + begin.len()..spec.find(&end).unwrap()];
        t.lines()
            .filter(|l| l.starts_with('|') && !l.starts_with("|--") && !l.starts_with("|-"))
            .skip(1)
            .map(|l| {
                l.trim_matches('|')
                    .split('|')
                    .map(|c| c.trim().to_string())
                    .collect()
            })
            .collect()
    };
    let num = |s: &str| -> usize {
        let s = s.trim_start_matches('+');
        match s.strip_prefix("0x") {
            Some(h) => usize::from_str_radix(h, 16).unwrap(),
            None => s.parse().unwrap(),
        }
    };
    let header: &[(&str, usize, usize)] = &[
        ("magic", OFF_MAGIC, 8),
        ("version", OFF_VERSION, 4),
        ("header_size", OFF_HEADER_SIZE, 4),
        ("capacity", OFF_CAPACITY, 8),
        ("flags", OFF_FLAGS, 4),
        ("line_size", OFF_LINE_SIZE, 4),
        ("producer_slots", OFF_PRODUCER_SLOTS, 4),
        ("ring_id", OFF_RING_ID, RING_ID_SIZE),
        ("head", OFF_HEAD, 8),
        ("read_records", OFF_READ_RECORDS, 8),
        ("read_bytes", OFF_READ_BYTES, 8),
        ("unblocks", OFF_UNBLOCKS, 8),
        ("releasing", OFF_RELEASING, 8),
        ("releasing_records", OFF_RELEASING_RECORDS, 8),
        ("releasing_bytes", OFF_RELEASING_BYTES, 8),
        ("tail", OFF_TAIL, 8),
        ("full_events", OFF_FULL_EVENTS, 8),
        ("aborts", OFF_ABORTS, 8),
        ("consumer", OFF_CONSUMER, PARTY_SIZE),
        ("consumer_wait", OFF_CONSUMER_WAIT, 4),
        (
            "producer table",
            OFF_PRODUCER_TABLE,
            PARTY_SIZE * PRODUCER_SLOTS,
        ),
    ];
    let rows = table("header-table");
    assert_eq!(rows.len(), header.len(), "{rows:?}");
    for (row, &(name, off, size)) in rows.iter().zip(header) {
        assert_eq!(
            (row[2].as_str(), num(&row[0]), num(&row[1])),
            (name, off, size)
        );
    }
    let party: &[(&str, usize, usize)] = &[
        ("lease", PARTY_LEASE, 8),
        ("heartbeat", PARTY_HEARTBEAT, 8),
        ("since", PARTY_SINCE, 8),
        ("records", PARTY_RECORDS, 8),
        ("bytes", PARTY_BYTES, 8),
        ("dropped", PARTY_DROPPED, 8),
        ("refused", PARTY_REFUSED, 8),
    ];
    let rows = table("party-table");
    assert_eq!(rows.len(), party.len(), "{rows:?}");
    for (row, &(name, off, size)) in rows.iter().zip(party) {
        assert_eq!(
            (row[2].as_str(), num(&row[0]), num(&row[1])),
            (name, off, size)
        );
    }
    let kinds = table("kind-table");
    let want = [
        ("EMPTY", KIND_EMPTY),
        ("CLAIMED", KIND_CLAIMED),
        ("COMMITTED", KIND_COMMITTED),
        ("PADDING", KIND_PADDING),
        ("ABORTED", KIND_ABORTED),
        ("UNBLOCKED", KIND_UNBLOCKED),
    ];
    assert_eq!(kinds.len(), want.len());
    for (row, (name, k)) in kinds.iter().zip(want) {
        assert_eq!((row[1].as_str(), num(&row[0]) as u64), (name, k));
    }
    // lease-table: pid 0-23, start 24-59, state 60-63
    let rows = table("lease-table");
    let names: Vec<_> = rows
        .iter()
        .map(|r| (r[0].as_str(), r[1].as_str()))
        .collect();
    assert_eq!(
        names,
        [("0-23", "pid"), ("24-59", "start"), ("60-63", "state")]
    );
    let l = lease(0xA, 0xFF_FFFF, 0xF_FFFF_FFFF);
    assert_eq!(l, 0xAFFF_FFFF_FFFF_FFFF);
    assert_eq!(
        (lease_state(l), lease_pid(l), lease_start(l)),
        (0xA, 0xFF_FFFF, 0xF_FFFF_FFFF)
    );
    assert_eq!(
        lease(1, 7, 1 << 36 | 5),
        lease(1, 7, 5),
        "start modulo 2^36"
    );
    assert_eq!(lease_with(l, STATE_DETACHED) >> 60, STATE_DETACHED);
    let states = table("state-table");
    let want = [
        ("FREE", STATE_FREE),
        ("ATTACHED", STATE_ATTACHED),
        ("DETACHED", STATE_DETACHED),
        ("CLOSED", STATE_CLOSED),
    ];
    assert_eq!(states.len(), want.len());
    for (row, (name, st)) in states.iter().zip(want) {
        assert_eq!((row[1].as_str(), num(&row[0]) as u64), (name, st));
    }
    let w = word(0xAB, 0xCD, 0x1234, 0x5678_9ABC);
    assert_eq!(
        w, 0xABCD_1234_5678_9ABC,
        "word-table: kind 56-63, owner 48-55, lap 32-47, len 0-31"
    );
    assert_eq!(table("word-table").len(), 4);
    assert!(spec.contains(&format!(
        "| 0x008 | 4 | version | creator | protocol version, `{VERSION}`"
    )));
}

// ---------------------------------------------------------------- produce

#[test]
fn claim_commit_abort() {
    let f = tmp();
    let ring = create(&f, 1024, Mode::Spsc);
    let mut c = ring.consumer().unwrap();
    {
        let mut p = ring.producer().unwrap();
        assert_eq!(p.owner_id(), 1);
        let mut cl = p.try_claim(10).unwrap();
        assert_eq!(cl.len(), 10);
        cl.copy_from_slice(b"0123456789");
        assert_eq!(word_at(&ring, cl.position()), cl.stamp());
        assert_eq!(drain(&mut c), Vec::<Vec<u8>>::new(), "CLAIMED: nothing yet");
        cl.commit().unwrap();
        p.try_claim(5).unwrap().abort();
        p.try_write(b"xyz").unwrap();
        {
            let mut g = p.try_claim(7).unwrap();
            g[0] = 1; // dropped without commit: aborted
        }
        p.try_write(b"last").unwrap();
        assert_eq!(p.committed(), 3);
        assert_eq!(ring.aborts(), 2);
    }
    assert_eq!(
        drain(&mut c),
        vec![b"0123456789".to_vec(), b"xyz".to_vec(), b"last".to_vec()]
    );
    assert_eq!(drain(&mut c).len(), 0);
    assert_eq!(ring.head(), ring.tail());
    // 24 + 16 + 16 + 16 + 16
    assert_eq!(ring.tail(), 88);
    // statistics: producer table and consumer side
    let s = ring.stats();
    assert_eq!((s.records_written, s.bytes_written), (3, 17));
    assert_eq!((s.records_read, s.bytes_read), (3, 17));
    assert_eq!((s.aborts, s.used, s.free, s.producers), (2, 0, 1024, 0));
    assert_eq!(entry(&ring, 0, PARTY_RECORDS), 3);
    // data area zeroed again by the consumer
    let all = std::fs::read(&f.0).unwrap();
    assert!(all[4096..].iter().all(|&b| b == 0));
}

#[test]
fn wrap_with_padding() {
    for mode in [Mode::Spsc, Mode::Mpsc] {
        let f = tmp();
        let ring = create(&f, 256, mode);
        let mut c = ring.consumer().unwrap();
        let mut p = ring.producer().unwrap();
        // payload 32 -> record 40; six of them end at offset 240
        for i in 0..6u8 {
            p.try_write(&[i; 32]).unwrap();
            assert_eq!(drain(&mut c), vec![vec![i; 32]]);
        }
        assert_eq!(ring.tail(), 240);
        let mut cl = p.try_claim(32).unwrap();
        assert_eq!(cl.position(), 256);
        assert_eq!(ring.tail(), 296);
        assert_eq!(word_at(&ring, 240), word(KIND_PADDING, 0, 0, 16));
        assert_eq!(word_at(&ring, 256), word(KIND_CLAIMED, 1, 1, 32));
        cl.fill(9);
        cl.commit().unwrap();
        assert_eq!(drain(&mut c), vec![vec![9; 32]]);
        assert_eq!(ring.head(), 296);
        assert!(std::fs::read(&f.0).unwrap()[4096..].iter().all(|&b| b == 0));
    }
}

#[test]
fn exact_fit_at_end() {
    let f = tmp();
    let ring = create(&f, 256, Mode::Spsc);
    let mut c = ring.consumer().unwrap();
    let mut p = ring.producer().unwrap();
    // payload 24 -> record 32: eight fill the ring exactly
    for i in 0..8u8 {
        p.try_write(&[i + 1; 24]).unwrap();
    }
    assert_eq!(ring.tail(), 256);
    let words: Vec<u64> = (0..8).map(|i| word_at(&ring, i * 32)).collect();
    assert!(words.iter().all(|&w| w == word(KIND_COMMITTED, 0, 0, 24)));
    assert_eq!(p.try_claim(1).unwrap_err(), TryClaimError::Full);
    assert_eq!(drain(&mut c).len(), 8);
    let cl = p.try_claim(24).unwrap();
    assert_eq!(cl.position(), 256);
    assert_eq!(cl.stamp(), word(KIND_CLAIMED, 1, 1, 24));
    cl.commit().unwrap();
    // last slot of a lap: offset 224, size 32 ends exactly at 256, no pad
    for _ in 0..6 {
        p.try_write(&[1; 24]).unwrap();
    }
    assert_eq!(drain(&mut c).len(), 7);
    let cl = p.try_claim(24).unwrap();
    assert_eq!(cl.position(), 256 + 224);
    assert_eq!(ring.tail(), 512);
    cl.commit().unwrap();
    assert_eq!(drain(&mut c), vec![vec![0; 24]]);
}

#[test]
fn full_then_space() {
    for mode in [Mode::Spsc, Mode::Mpsc] {
        let f = tmp();
        let ring = create(&f, 256, mode);
        let mut c = ring.consumer().unwrap();
        let mut p = ring.producer().unwrap();
        let mut n = 0;
        loop {
            match p.try_write(&[7; 20]) {
                Ok(()) => n += 1,
                Err(e) => {
                    assert_eq!(e, TryWriteError::Claim(TryClaimError::Full));
                    break;
                }
            }
        }
        assert_eq!(n, 8); // 8 * 32 = 256
        assert_eq!(ring.full_events(), 1);
        assert_eq!(p.try_claim(1).unwrap_err(), TryClaimError::Full);
        assert_eq!(ring.full_events(), 2);
        assert_eq!(c.read_batch(1, |_| {}), Ok(1));
        // one record released: 32 bytes free again, 33+ still full
        assert_eq!(p.try_claim(32).unwrap_err(), TryClaimError::Full);
        p.try_write(&[8; 24]).unwrap();
        assert_eq!(drain(&mut c).len(), 8);
        // stats were published when head was reloaded
        assert_eq!(entry(&ring, 0, PARTY_RECORDS), 8);
        // consumer detached: still Full (the next one resumes); closed for
        // good: RingClosed
        for _ in 0..8 {
            p.try_write(&[1; 24]).unwrap();
        }
        drop(c);
        assert_eq!(p.try_claim(8).unwrap_err(), TryClaimError::Full);
        ring.consumer().unwrap().close_ring();
        assert_eq!(p.try_claim(8).unwrap_err(), TryClaimError::RingClosed);
    }
}

#[test]
fn zero_length_and_too_large() {
    let f = tmp();
    let ring = create(&f, 1024, Mode::Mpsc);
    let mut p = ring.producer().unwrap();
    assert_eq!(p.try_claim(0).unwrap_err(), TryClaimError::ZeroLength);
    assert_eq!(p.try_claim(129).unwrap_err(), TryClaimError::TooLarge);
    assert_eq!(
        p.try_write(&[]).unwrap_err(),
        TryWriteError::Claim(TryClaimError::ZeroLength)
    );
    assert_eq!(ring.full_events(), 0);
    assert_eq!(ring.tail(), 0);
    let cl = p.try_claim(128).unwrap();
    assert_eq!(cl.len(), 128);
    cl.commit().unwrap();
    assert_eq!(ring.tail(), 136);
}

#[test]
fn stamps_and_lap() {
    let f = tmp();
    let ring = create(&f, 256, Mode::Mpsc);
    // second producer: owner id 2
    let _p1 = ring.producer().unwrap();
    // start at lap 0xFFFF, offset 224
    set_positions(&ring, (0xFFFF << 8) + 224);
    let mut c = ring.consumer().unwrap();
    let mut p = ring.producer().unwrap();
    assert_eq!(p.owner_id(), 2);
    let cl = p.try_claim(17).unwrap();
    let s = cl.stamp();
    assert_eq!(s, word(KIND_CLAIMED, 2, 0xFFFF, 17));
    assert_eq!(word_at(&ring, cl.position()), s);
    assert_eq!(word_kind(s), 1);
    assert_eq!(word_owner(s), 2);
    assert_eq!(word_lap(s), 0xFFFF);
    assert_eq!(word_len(s), 17);
    cl.commit().unwrap();
    // next one wraps (224 + 32 = 256 exact fit used it up), lands in lap 0x10000 -> 0
    let cl = p.try_claim(17).unwrap();
    assert_eq!(cl.position(), 0x10000 << 8);
    assert_eq!(word_lap(cl.stamp()), 0);
    cl.commit().unwrap();
    assert_eq!(drain(&mut c).len(), 2);
    drop(c);
    // positions wrapping past 2^64
    set_positions(&ring, 0u64.wrapping_sub(48));
    let mut c = ring.consumer().unwrap();
    let mut p = ring.producer().unwrap();
    for i in 0..20u8 {
        let mut cl = p.try_claim(25).unwrap();
        assert_eq!(word_lap(cl.stamp()), (cl.position() >> 8) & 0xFFFF);
        cl.fill(i);
        cl.commit().unwrap();
        assert_eq!(drain(&mut c), vec![vec![i; 25]]);
    }
    assert!(ring.tail() < 1024);
}

#[test]
fn mpsc_commit_discarded_after_recovery() {
    let f = tmp();
    let ring = create(&f, 1024, Mode::Mpsc);
    let mut c = ring.consumer().unwrap();
    let mut p = ring.producer().unwrap();
    let mut cl = p.try_claim(20).unwrap();
    cl.fill(3);
    // the consumer recovers it (section 9)
    let w = ring.word_at(cl.position());
    w.compare_exchange(
        cl.stamp(),
        word(KIND_UNBLOCKED, 0, 0, record_size(20)),
        Ordering::AcqRel,
        Ordering::Relaxed,
    )
    .unwrap();
    assert_eq!(cl.commit(), Err(Discarded));
    assert_eq!(p.committed(), 0);
    // an abort that loses the race leaves the UNBLOCKED word alone
    let cl = p.try_claim(8).unwrap();
    let pos = cl.position();
    let unb = word(KIND_UNBLOCKED, 0, 0, 16);
    ring.word_at(pos).store(unb, Ordering::SeqCst);
    cl.abort();
    assert_eq!(word_at(&ring, pos), unb);
    p.try_write(b"after").unwrap();
    assert_eq!(drain(&mut c), vec![b"after".to_vec()]);
    assert_eq!(
        p.try_write(b"x").map(|_| ()),
        Ok(()),
        "producer keeps working"
    );
}

#[test]
fn mpsc_threads() {
    const THREADS: u32 = 4;
    const PER: u64 = 20_000;
    let f = tmp();
    let ring = create(&f, 4096, Mode::Mpsc);
    let owners = std::thread::scope(|s| {
        let hs: Vec<_> = (0..THREADS)
            .map(|id| {
                let ring = &ring;
                s.spawn(move || {
                    let mut p = ring.producer().unwrap();
                    let mut g = testrec::TestRecords::new(id, 0x1234 + id as u64, 512).unwrap();
                    for _ in 0..PER {
                        let len = g.next_len();
                        let mut aborted = false;
                        loop {
                            match p.try_claim(len) {
                                Ok(mut c) => {
                                    g.fill(&mut c);
                                    if g.seq() % 97 == 5 && !aborted {
                                        // an abort now and then, then retry
                                        aborted = true;
                                        c.abort();
                                        continue;
                                    }
                                    c.commit().unwrap();
                                    break;
                                }
                                Err(TryClaimError::Full) => std::thread::yield_now(),
                                Err(e) => panic!("{e}"),
                            }
                        }
                        g.advance();
                    }
                    p.owner_id()
                })
            })
            .collect();
        let mut c = ring.consumer().unwrap();
        let mut next = [0u64; THREADS as usize];
        let mut got = 0;
        while got < THREADS as u64 * PER {
            let r = c.recv_batch(64, Some(Duration::from_secs(60)), |r| {
                let (id, seq) = testrec::check(&r).unwrap();
                assert_eq!(seq, next[id as usize], "producer {id} order");
                next[id as usize] += 1;
                got += 1;
            });
            assert!(r.is_ok(), "{r:?} after {got}");
        }
        hs.into_iter()
            .map(|h| h.join().unwrap())
            .collect::<Vec<_>>()
    });
    let mut o = owners.clone();
    o.sort();
    o.dedup();
    assert_eq!(o.len(), THREADS as usize, "distinct owner ids {owners:?}");
    let total: u64 = (0..THREADS as usize)
        .map(|i| entry(&ring, i, PARTY_RECORDS))
        .sum();
    assert_eq!(total, THREADS as u64 * PER);
    assert_eq!(
        ring.aborts(),
        (0..THREADS).map(|_| PER / 97 + 1).sum::<u64>()
    );
    assert_eq!(ring.head(), ring.tail());
}

/// A producer that owns its ring through an `Arc` moves to a `'static`
/// thread; so does a consumer.
#[test]
fn owned_producer_and_consumer_on_static_threads() {
    let f = tmp();
    let ring = Arc::new(create(&f, 4096, Mode::Mpsc));
    let producers: Vec<_> = (0..2u8)
        .map(|i| {
            let mut p = ring.producer_owned().unwrap();
            std::thread::spawn(move || {
                for _ in 0..1000 {
                    while let Err(TryWriteError::Claim(TryClaimError::Full)) = p.try_write(&[i; 40])
                    {
                        std::thread::yield_now();
                    }
                }
            })
        })
        .collect();
    let mut c = ring.consumer_owned().unwrap();
    let consumer = std::thread::spawn(move || {
        let mut n = [0u32; 2];
        loop {
            match c.recv_batch(100, Some(Duration::from_secs(60)), |r| {
                n[r[0] as usize] += 1
            }) {
                Ok(_) => {}
                Err(RecvError::EndOfStream) => return n,
                Err(e) => panic!("{e}"),
            }
        }
    });
    for p in producers {
        p.join().unwrap();
    }
    assert_eq!(consumer.join().unwrap(), [1000, 1000]);
    drop(f);
    assert_eq!(
        Arc::strong_count(&ring),
        1,
        "the threads gave their hold back"
    );
}

#[test]
fn wake_parked_consumer() {
    let f = tmp();
    let ring = create(&f, 1024, Mode::Spsc);
    let mut p = ring.producer().unwrap();
    // no parked consumer: the word stays 0
    p.try_write(b"a").unwrap();
    let wait = ring.h32(OFF_CONSUMER_WAIT);
    assert_eq!(wait.load(Ordering::SeqCst), 0);
    woken_by(&ring, || p.try_write(b"b").unwrap());
}

#[test]
fn producer_table() {
    let f = tmp();
    let ring = create(&f, 1024, Mode::Mpsc);
    let mut p1 = ring.producer().unwrap();
    let p2 = ring.producer().unwrap();
    assert_eq!((p1.owner_id(), p2.owner_id()), (1, 2));
    assert_eq!(entry(&ring, 0, PARTY_LEASE), my_lease(STATE_ATTACHED));
    assert!(entry(&ring, 0, PARTY_HEARTBEAT) > 0);
    assert_eq!(ring.stats().producers, 2);
    p1.try_write(b"hello").unwrap();
    drop(p1);
    assert_eq!(entry(&ring, 0, PARTY_LEASE), my_lease(STATE_DETACHED));
    assert_eq!(entry(&ring, 0, PARTY_RECORDS), 1);
    assert_eq!(entry(&ring, 0, PARTY_BYTES), 5);
    // the detached entry is reused; statistics accumulate; since = tail
    let mut p3 = ring.producer().unwrap();
    assert_eq!(p3.owner_id(), 1);
    assert_eq!(entry(&ring, 0, PARTY_SINCE), ring.tail());
    p3.try_write(b"abc").unwrap();
    drop(p3);
    assert_eq!(entry(&ring, 0, PARTY_RECORDS), 2);
    assert_eq!(entry(&ring, 0, PARTY_BYTES), 8);
    drop(p2);
    // take-over of an attached entry whose process is gone, only when no
    // entry is FREE or DETACHED
    for i in 0..PRODUCER_SLOTS {
        set_entry(&ring, i, PARTY_LEASE, my_lease(STATE_ATTACHED));
    }
    set_entry(
        &ring,
        5,
        PARTY_LEASE,
        lease(STATE_ATTACHED, 0x3F_FFF0, 12345),
    ); // no such process
    set_entry(&ring, 9, PARTY_LEASE, dead_lease());
    let p4 = ring.producer().unwrap();
    assert_eq!(p4.owner_id(), 6);
    assert_eq!(entry(&ring, 5, PARTY_LEASE), my_lease(STATE_ATTACHED));
    // a lease of no state the spec defines is not taken
    set_entry(&ring, 9, PARTY_LEASE, lease(7, 1, 1));
    // table full: owner id 0, still works
    let mut p5 = ring.producer().unwrap();
    assert_eq!(p5.owner_id(), 0);
    let cl = p5.try_claim(3).unwrap();
    assert_eq!(word_owner(cl.stamp()), 0);
    cl.commit().unwrap();
    // counters of an entry: refused claims, dropped records
    let mut p6 = {
        set_entry(&ring, 9, PARTY_LEASE, my_lease(STATE_DETACHED));
        ring.producer().unwrap()
    };
    assert_eq!(p6.owner_id(), 10);
    assert_eq!(p6.try_claim(129).unwrap_err(), TryClaimError::TooLarge);
    p6.count_dropped(3);
    let s = ring.stats();
    assert_eq!((s.refused, s.dropped), (1, 3));
    let e = s.entries.iter().find(|e| e.owner == 10).unwrap();
    assert_eq!((e.refused, e.dropped, e.held), (1, 3, true));
}

#[test]
fn spsc_single_producer() {
    let f = tmp();
    let ring = create(&f, 1024, Mode::Spsc);
    let mut c = ring.consumer().unwrap();
    let mut p = ring.producer().unwrap();
    assert_eq!(p.owner_id(), 1);
    p.try_write(b"one").unwrap();
    let (pid, _) = crate::proc::me();
    match ring.producer() {
        Err(e @ Error::ProducerBusy { .. }) => {
            assert!(matches!(e, Error::ProducerBusy { pid: p } if p == pid));
            assert!(
                e.to_string()
                    .contains(&format!("already has a live producer (pid {pid})")),
                "{e}"
            );
        }
        other => panic!("{other:?}"),
    }
    // entries 1..31 stay FREE on an SPSC ring
    assert!((1..PRODUCER_SLOTS).all(|i| entry(&ring, i, PARTY_LEASE) == 0));
    drop(p);
    assert_eq!(entry(&ring, 0, PARTY_LEASE), my_lease(STATE_DETACHED));
    // a later producer (another process, say) resumes from tail
    let other = unsafe { Ring::open_expect(&f.0, Mode::Spsc) }.unwrap();
    let mut p = other.producer().unwrap();
    p.try_write(b"two").unwrap();
    assert_eq!(drain(&mut c), vec![b"one".to_vec(), b"two".to_vec()]);
    drop(p);
    // a dead holder of entry 0 is taken over; a broken lease is refused
    set_entry(&ring, 0, PARTY_LEASE, dead_lease());
    drop(ring.producer().unwrap());
    set_entry(&ring, 0, PARTY_LEASE, lease(STATE_FREE, 9, 0));
    assert!(
        matches!(ring.producer(), Err(Error::Corrupt(e)) if e.field() == "lease" && e.offset() == 0x800)
    );
}

/// Section 8: an SPSC producer does not detach while a claim of its is
/// open; a claim that never ends keeps the entry held until the process
/// exits.
#[test]
fn spsc_producer_keeps_its_entry_while_a_claim_is_open() {
    let f = tmp();
    let ring = create(&f, 1024, Mode::Spsc);
    let mut p = ring.producer().unwrap();
    std::mem::forget(p.try_claim(8).unwrap());
    drop(p);
    assert_eq!(entry(&ring, 0, PARTY_LEASE), my_lease(STATE_ATTACHED));
    assert!(matches!(ring.producer(), Err(Error::ProducerBusy { .. })));
    // An MPSC producer may detach with claims open.
    let f = tmp();
    let ring = create(&f, 1024, Mode::Mpsc);
    let mut p = ring.producer().unwrap();
    std::mem::forget(p.try_claim(8).unwrap());
    drop(p);
    assert_eq!(entry(&ring, 0, PARTY_LEASE), my_lease(STATE_DETACHED));
}

/// Spec 5.3: a claim ends by its word. A commit whose word is no longer the
/// stamp writes nothing and says the record was discarded.
#[test]
fn commit_checks_the_stamp() {
    for mode in [Mode::Spsc, Mode::Mpsc] {
        let f = tmp();
        let ring = create(&f, 1024, mode);
        let mut p = ring.producer().unwrap();
        let cl = p.try_claim(8).unwrap();
        let pos = cl.position();
        let other = word(KIND_ABORTED, 0, 0, 16);
        ring.word_at(pos).store(other, Ordering::SeqCst); // another party ended it
        assert_eq!(cl.commit(), Err(Discarded), "{mode}");
        assert_eq!(word_at(&ring, pos), other, "{mode}: nothing written");
        let cl = p.try_claim(8).unwrap();
        let pos = cl.position();
        ring.word_at(pos).store(other, Ordering::SeqCst);
        cl.abort();
        assert_eq!(word_at(&ring, pos), other, "{mode}: nothing written");
        assert_eq!(ring.aborts(), 0, "{mode}");
        assert_eq!(p.committed(), 0);
    }
}

/// Section 8: one consumer at a time. A live one (this process's, here) is
/// refused with its pid; a dead one is taken over; DETACHED and CLOSED are
/// free to take; close_ring leaves CLOSED and producers stop on it.
#[test]
fn consumer_attach_refuse_take_over_close() {
    let f = tmp();
    let ring = create(&f, 256, Mode::Spsc);
    let c = ring.consumer().unwrap();
    assert_eq!(consumer_field(&ring, PARTY_LEASE), my_lease(STATE_ATTACHED));
    let (pid, _) = crate::proc::me();
    match ring.consumer() {
        Err(e @ Error::ConsumerBusy { .. }) => {
            assert!(matches!(e, Error::ConsumerBusy { pid: p } if p == pid));
            assert!(
                e.to_string()
                    .contains(&format!("already has a live consumer (pid {pid})")),
                "{e}"
            );
        }
        other => panic!("{other:?}"),
    }
    drop(c);
    assert_eq!(consumer_field(&ring, PARTY_LEASE), my_lease(STATE_DETACHED));
    // a consumer whose process is gone is taken over
    set_consumer_field(&ring, PARTY_LEASE, dead_lease());
    let mut p = ring.producer().unwrap();
    while p.try_write(&[1; 24]).is_ok() {}
    assert_eq!(
        p.try_claim(8).unwrap_err(),
        TryClaimError::Full,
        "a dead consumer is absent, not closed"
    );
    assert!(!p.consumer_present());
    let c = ring.consumer().unwrap();
    assert!(p.consumer_present());
    assert_eq!(consumer_field(&ring, PARTY_SINCE), ring.head());
    c.close_ring();
    assert_eq!(consumer_field(&ring, PARTY_LEASE), my_lease(STATE_CLOSED));
    assert_eq!(p.try_claim(8).unwrap_err(), TryClaimError::RingClosed);
    // attaching to a CLOSED ring reopens it
    let mut c = ring.consumer().unwrap();
    assert_eq!(drain(&mut c).len(), 8);
    p.try_write(&[2; 24]).unwrap();
    // a broken lease is refused, naming the field
    drop(c);
    set_consumer_field(&ring, PARTY_LEASE, lease(9, pid, 0));
    assert!(
        matches!(ring.consumer(), Err(Error::Corrupt(e)) if e.field() == "lease" && e.offset() == 0x200)
    );
}

/// Section 7.2: a consumer publishes `releasing` before it zeroes, and a
/// consumer that attaches after one that died mid-release finishes it, so
/// read_records, the ring's sequence, stays exact.
#[test]
fn releasing_announced_then_finished() {
    let f = tmp();
    let ring = create(&f, 1024, Mode::Spsc);
    let mut p = ring.producer().unwrap();
    for i in 0..4u8 {
        p.try_write(&[i; 8]).unwrap(); // 16 bytes each
    }
    let mut c = ring.consumer().unwrap();
    let mut seqs = Vec::new();
    c.read_batch(3, |r| {
        // the record before this one was announced, then zeroed
        let rel = ring.h64(OFF_RELEASING).load(Ordering::SeqCst);
        assert_eq!(rel, r.position(), "releasing covers what was zeroed");
        assert_eq!(
            ring.h64(OFF_RELEASING_RECORDS).load(Ordering::SeqCst),
            r.seq()
        );
        seqs.push(r.seq());
    })
    .unwrap();
    assert_eq!(seqs, [0, 1, 2]);
    assert_eq!(ring.h64(OFF_RELEASING).load(Ordering::SeqCst), 48);
    assert_eq!(ring.head(), 48);
    drop(c);
    // A consumer that "died" after announcing [48, 64) and zeroing its
    // header word: the next one finishes the release.
    ring.h64(OFF_RELEASING_RECORDS).store(4, Ordering::SeqCst);
    ring.h64(OFF_RELEASING_BYTES).store(32, Ordering::SeqCst);
    ring.h64(OFF_RELEASING).store(64, Ordering::SeqCst);
    ring.word_at(48).store(0, Ordering::SeqCst);
    set_consumer_field(&ring, PARTY_LEASE, dead_lease());
    let mut c = ring.consumer().unwrap();
    let s = ring.stats();
    assert_eq!((s.head, s.records_read, s.bytes_read), (64, 4, 32));
    // SAFETY: inside the data area, released.
    let released = unsafe { std::slice::from_raw_parts(ring.data(48), 16) };
    assert_eq!(
        released, [0; 16],
        "the span the dead consumer began is zeroed"
    );
    p.try_write(b"fifth").unwrap();
    let mut got = Vec::new();
    c.read_batch(8, |r| got.push((r.seq(), r.to_vec())))
        .unwrap();
    assert_eq!(got, [(4, b"fifth".to_vec())]);
    drop(c);
    // releasing past tail, or unaligned: corrupt, and the record is left
    for bad in [ring.tail() + 8, ring.head() + 4] {
        ring.h64(OFF_RELEASING).store(bad, Ordering::SeqCst);
        assert!(
            matches!(ring.consumer(), Err(Error::Corrupt(e)) if e.field() == "releasing" && e.value() == bad)
        );
        assert_eq!(consumer_field(&ring, PARTY_LEASE), my_lease(STATE_DETACHED));
    }
}

// ---------------------------------------------------------------- corruption

/// A `head` another party broke is reported as corrupt, naming the field,
/// not as a ring that stays full forever.
#[test]
fn broken_head_is_corrupt_not_full() {
    for mode in [Mode::Spsc, Mode::Mpsc] {
        let f = tmp();
        let ring = create(&f, 256, mode);
        let mut p = ring.producer().unwrap();
        while p.try_write(&[1; 24]).is_ok() {}
        for bad in [4u64, 256 + 8, 1 << 40, u64::MAX - 7] {
            ring.h64(OFF_HEAD).store(bad, Ordering::SeqCst);
            match p.try_claim(8) {
                Err(TryClaimError::Corrupt(e)) => {
                    assert_eq!(
                        (e.field(), e.offset(), e.value()),
                        ("head", 0x80, bad),
                        "{e}"
                    );
                    assert!(e.to_string().contains("head at offset 0x080"), "{e}");
                }
                other => panic!("{mode} head {bad}: {other:?}"),
            }
        }
        // Mended, the producer goes on.
        ring.h64(OFF_HEAD).store(256, Ordering::SeqCst);
        p.try_write(&[2; 24]).unwrap();
        // And at attach.
        drop(p);
        ring.h64(OFF_HEAD).store(12, Ordering::SeqCst);
        assert!(matches!(ring.producer(), Err(Error::Corrupt(e)) if e.field() == "head"));
        assert!(matches!(ring.consumer(), Err(Error::Corrupt(e)) if e.field() == "head"));
    }
}

#[test]
fn broken_tail_is_corrupt() {
    let f = tmp();
    let ring = create(&f, 256, Mode::Mpsc);
    let mut p = ring.producer().unwrap();
    ring.h64(OFF_TAIL).store(12, Ordering::SeqCst);
    assert!(matches!(p.try_claim(8), Err(TryClaimError::Corrupt(e)) if e.field() == "tail"));
    // far ahead of head, and staying there: head is named (MPSC cannot
    // tell which of the two is wrong; the producer names what it reloaded)
    ring.h64(OFF_TAIL).store(5 * 256, Ordering::SeqCst);
    assert!(matches!(p.try_claim(8), Err(TryClaimError::Corrupt(e)) if e.field() == "head"));
    // the consumer names tail
    ring.h64(OFF_TAIL).store(0, Ordering::SeqCst);
    let mut c = ring.consumer().unwrap();
    p.try_write(b"x").unwrap();
    ring.h64(OFF_TAIL).store(4, Ordering::SeqCst);
    let e = c.read_batch(8, |_| {}).unwrap_err();
    assert_eq!((e.field(), e.value()), ("tail", 4));
    assert_eq!(c.read_batch(8, |_| {}), Err(e), "sticky");
    assert_eq!(c.err(), Some(e));
}

#[test]
fn consumer_validation() {
    let f = tmp();
    let ring = create(&f, 256, Mode::Spsc);
    let cases: [(u64, &str); 12] = [
        (
            word(KIND_CLAIMED, 1, 0, 33),
            "CLAIMED stamp with a payload length",
        ),
        (
            word(KIND_CLAIMED, 1, 0, 0),
            "CLAIMED stamp with a payload length",
        ),
        (word(KIND_CLAIMED, 1, 1, 8), "CLAIMED stamp of another lap"),
        (
            word(KIND_CLAIMED, 2, 0, 8),
            "CLAIMED stamp of an owner other than 1",
        ),
        (word(0x03, 0, 0, 8), "unknown kind"),
        (word(KIND_COMMITTED, 1, 0, 8), "lap or owner bits"),
        (word(KIND_COMMITTED, 0, 3, 8), "lap or owner bits"),
        (word(KIND_COMMITTED, 0, 0, 33), "payload length"),
        (word(KIND_ABORTED, 0, 0, 12), "skip length"),
        (word(KIND_ABORTED, 0, 0, 48), "aborted record larger"),
        (word(KIND_PADDING, 0, 0, 16), "padding does not end"),
        (word(KIND_UNBLOCKED, 0, 0, 64), "record runs past tail"),
    ];
    for (w, reason) in cases {
        set_positions(&ring, 0);
        let mut c = ring.consumer().unwrap();
        let mut p = ring.producer().unwrap();
        drop(p.try_claim(8).unwrap()); // aborted, 16 bytes
        ring.word_at(0).store(w, Ordering::SeqCst);
        let e = c.read_batch(1, |_| panic!("delivered")).unwrap_err();
        assert_eq!((e.field(), e.offset(), e.value()), ("record", 0, w));
        assert!(e.reason().starts_with(reason), "{e}");
        ring.word_at(0).store(0, Ordering::SeqCst);
    }
}

// ---------------------------------------------------------------- consume

/// Each record is zeroed right after its callback, and head is stored once
/// for the batch, after all of them.
#[test]
fn read_batch_zeroes_each_record_and_stores_head_once() {
    let f = tmp();
    let ring = create(&f, 1024, Mode::Spsc);
    let mut p = ring.producer().unwrap();
    for i in 1..=5u8 {
        p.try_write(&[i; 20]).unwrap();
    }
    let mut c = ring.consumer().unwrap();
    let mut seen = Vec::new();
    let n = c
        .read_batch(4, |r| {
            let pos = r.position();
            // head has not moved during the batch
            assert_eq!(ring.head(), 0);
            if pos > 0 {
                // the record before this one is zeroed already, word and all
                let prev = pos - 32;
                // SAFETY: inside the data area; released by this consumer.
                let b = unsafe { std::slice::from_raw_parts(ring.data(prev), 32) };
                assert!(b.iter().all(|&x| x == 0), "record at {prev} not zeroed");
            }
            seen.push((pos, r[0]));
        })
        .unwrap();
    assert_eq!(n, 4);
    assert_eq!(seen, [(0, 1), (32, 2), (64, 3), (96, 4)]);
    assert_eq!(ring.head(), 128);
    let s = ring.stats();
    assert_eq!((s.records_read, s.bytes_read), (4, 80));
    assert_eq!(drain(&mut c), vec![vec![5; 20]]);
    assert_eq!(c.position(), 160);
}

/// A callback that panics does not have its record delivered again, and the
/// next batch zeroes and releases what was read.
#[test]
fn read_batch_survives_a_panicking_callback() {
    let f = tmp();
    let ring = create(&f, 1024, Mode::Spsc);
    let mut p = ring.producer().unwrap();
    for i in 1..=3u8 {
        p.try_write(&[i; 8]).unwrap();
    }
    let mut c = ring.consumer().unwrap();
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        c.read_batch(8, |r| assert_ne!(r[0], 2, "boom")).unwrap()
    }));
    assert!(r.is_err());
    assert_eq!(ring.head(), 0, "nothing released by the unwound batch");
    assert_eq!(drain(&mut c), vec![vec![3; 8]]);
    assert_eq!(ring.head(), 48);
    assert!(std::fs::read(&f.0).unwrap()[4096..].iter().all(|&b| b == 0));
}

#[test]
fn recv_batch_times_out_then_ends() {
    let f = tmp();
    let ring = create(&f, 1024, Mode::Mpsc);
    let mut c = ring.consumer().unwrap();
    // No producer ever attached: not the end, only nothing yet.
    assert_eq!(
        c.recv_batch(8, Some(Duration::from_millis(30)), |_| {}),
        Err(RecvError::Timeout)
    );
    assert!(c.wait.parks > 0, "parked on the futex word");
    let mut p = ring.producer().unwrap();
    p.try_write(b"a").unwrap();
    let mut got = Vec::new();
    assert_eq!(c.recv_batch(8, None, |r| got.push(r.to_vec())), Ok(1));
    assert_eq!(
        c.recv_batch(8, Some(Duration::from_millis(30)), |_| {}),
        Err(RecvError::Timeout),
        "a producer is attached"
    );
    p.try_write(b"b").unwrap();
    drop(p);
    assert_eq!(c.recv_batch(8, None, |r| got.push(r.to_vec())), Ok(1));
    assert_eq!(c.recv_batch(8, None, |_| {}), Err(RecvError::EndOfStream));
    assert_eq!(got, [b"a".to_vec(), b"b".to_vec()]);
    // Not final: a new producer is read.
    ring.producer().unwrap().try_write(b"c").unwrap();
    assert_eq!(c.recv_batch(8, None, |r| got.push(r.to_vec())), Ok(1));
    // A producer whose process is gone ends the stream too; a live one
    // (this process's lease) keeps it open.
    set_entry(&ring, 3, PARTY_LEASE, dead_lease());
    assert_eq!(c.recv_batch(8, None, |_| {}), Err(RecvError::EndOfStream));
    set_entry(&ring, 3, PARTY_LEASE, my_lease(STATE_ATTACHED));
    assert_eq!(
        c.recv_batch(8, Some(Duration::from_millis(30)), |_| {}),
        Err(RecvError::Timeout)
    );
}

/// A consumer parked in recv_batch is woken by a commit from another
/// thread, whether the producer ends claims with release stores (registered
/// for the consumer's barrier) or sequentially consistent ones (spec 7.3).
#[test]
fn recv_batch_wakes_on_commit() {
    assert!(
        crate::sys::membarrier_register(),
        "this kernel has no membarrier: the release path is not tested"
    );
    for seq_cst in [false, true] {
        wakes_on_commit(seq_cst);
    }
    // A failed barrier bounds each park by 1 ms (spec 7.3 step 4).
    crate::wakeup::FORCE_BARRIER_FAIL.with(|f| f.set(true));
    let f = tmp();
    let ring = create(&f, 1024, Mode::Spsc);
    let d = crate::wakeup::prepare_park(&ring, Duration::from_secs(60));
    crate::wakeup::unpark(&ring);
    assert_eq!(d, crate::wakeup::MAX_BLIND_PARK);
    crate::wakeup::FORCE_BARRIER_FAIL.with(|f| f.set(false));
    assert_eq!(
        crate::wakeup::prepare_park(&ring, Duration::from_secs(60)),
        Duration::from_secs(60)
    );
    crate::wakeup::unpark(&ring);
}

fn wakes_on_commit(seq_cst: bool) {
    let f = tmp();
    let ring = create(&f, 1024, Mode::Spsc);
    let mut c = ring.consumer().unwrap();
    // A lost wake-up would leave the consumer parked for the whole slice,
    // past its receive timeout.
    c.wait.slice = Duration::from_secs(600);
    std::thread::scope(|s| {
        s.spawn(|| {
            crate::wakeup::FORCE_SEQ_CST.with(|f| f.set(seq_cst));
            let mut p = ring.producer().unwrap();
            assert_eq!(p.release, !seq_cst);
            // Wait until the consumer is parked, then commit.
            let deadline = Instant::now() + Duration::from_secs(60);
            while ring.h32(OFF_CONSUMER_WAIT).load(Ordering::SeqCst) == 0 {
                assert!(Instant::now() < deadline, "never parked");
                std::thread::sleep(Duration::from_millis(1));
            }
            p.try_write(b"wake").unwrap();
        });
        let mut got = Vec::new();
        assert_eq!(
            c.recv_batch(4, Some(Duration::from_secs(60)), |r| got.push(r.to_vec())),
            Ok(1),
            "seq_cst {seq_cst}"
        );
        assert_eq!(got, [b"wake".to_vec()]);
    });
}

/// Section 9: a claim left open by an MPSC producer is recovered after the
/// timeout, whatever its owner; a producer that was only slow gets
/// `Discarded`; the records after it are read.
#[test]
fn recovery_mpsc() {
    let f = tmp();
    let ring = create(&f, 1024, Mode::Mpsc);
    let mut c = ring.consumer().unwrap();
    let reports = Arc::new(std::sync::Mutex::new(Vec::<Stuck>::new()));
    let r2 = reports.clone();
    c.set_recovery(
        Some(Duration::from_millis(20)),
        Some(Box::new(move |s: &Stuck| {
            r2.lock().unwrap().push(s.clone())
        })),
    );
    let mut slow = ring.producer().unwrap();
    let mut p = ring.producer().unwrap();
    let mut cl = slow.try_claim(10).unwrap();
    cl.fill(1);
    p.try_write(b"after").unwrap();
    let mut got = Vec::new();
    assert_eq!(
        c.recv_batch(8, Some(Duration::from_secs(60)), |r| got.push(r.to_vec())),
        Ok(1)
    );
    assert_eq!(got, [b"after".to_vec()]);
    assert_eq!(cl.commit(), Err(Discarded));
    let s = reports.lock().unwrap().clone();
    assert_eq!(s.len(), 1);
    let (pid, _) = crate::proc::me();
    assert_eq!(
        (
            s[0].pos,
            s[0].size,
            s[0].owner,
            s[0].pid,
            s[0].alive,
            s[0].recovered
        ),
        (0, 24, 1, pid, true, true)
    );
    assert!(s[0].stuck_for >= Duration::from_millis(20));
    assert_eq!(ring.stats().unblocks, 1);

    // A reservation never stamped (a 0 word with tail past it): the extent
    // runs to the next non-zero word.
    let t = ring.tail();
    ring.h64(OFF_TAIL).store(t + 40, Ordering::SeqCst); // a dead producer's 40 bytes
    p.try_write(b"next").unwrap();
    assert_eq!(
        c.recv_batch(8, Some(Duration::from_secs(60)), |r| got.push(r.to_vec())),
        Ok(1)
    );
    assert_eq!(got.last().unwrap(), b"next");
    let s = reports.lock().unwrap().clone();
    assert_eq!(
        (s[1].pos, s[1].word, s[1].size, s[1].recovered),
        (t, 0, 40, true)
    );
    assert_eq!(ring.stats().unblocks, 2);
}

/// Section 9 on SPSC: never while the holder that made the claim lives
/// (reported once); once entry 0 is not held; and when the claim is older
/// than the current holder's attach (`head - since >= 2^63`).
#[test]
fn recovery_spsc_only_when_the_claims_producer_is_gone() {
    let f = tmp();
    let ring = create(&f, 1024, Mode::Spsc);
    let mut c = ring.consumer().unwrap();
    let reports = Arc::new(std::sync::Mutex::new(Vec::<Stuck>::new()));
    let r2 = reports.clone();
    c.set_recovery(
        Some(Duration::from_millis(10)),
        Some(Box::new(move |s: &Stuck| {
            r2.lock().unwrap().push(s.clone())
        })),
    );
    let mut p = ring.producer().unwrap();
    let cl = p.try_claim(10).unwrap();
    let stamp = cl.stamp();
    std::mem::forget(cl); // left open by a live producer, which keeps entry 0
    drop(p);
    assert_eq!(
        c.recv_batch(8, Some(Duration::from_millis(150)), |_| {}),
        Err(RecvError::Timeout)
    );
    {
        let s = reports.lock().unwrap();
        assert_eq!(s.len(), 1, "reported once: {s:?}");
        assert!(!s[0].recovered && s[0].alive && s[0].owner == 1);
    }
    assert_eq!(word_at(&ring, 0), stamp);
    // A holder that attached after the claim was made (its since is past
    // the claim) did not make it: the claim's producer is gone.
    set_entry(&ring, 0, PARTY_SINCE, 24);
    assert_eq!(
        c.recv_batch(8, Some(Duration::from_millis(150)), |_| {}),
        Err(RecvError::Timeout),
        "entry 0 is held: not the end of the stream"
    );
    let s = reports.lock().unwrap().clone();
    assert_eq!(s.len(), 2);
    assert!(s[1].recovered && !s[1].alive);
    assert_eq!(ring.head(), 24);
    assert_eq!(ring.stats().unblocks, 1);
    // Entry 0 not held (its process gone): recovered too.
    set_entry(&ring, 0, PARTY_LEASE, dead_lease());
    ring.h64(OFF_TAIL).store(48, Ordering::SeqCst);
    ring.word_at(24)
        .store(word(KIND_CLAIMED, 1, 0, 16), Ordering::SeqCst);
    assert_eq!(
        c.recv_batch(8, Some(Duration::from_millis(150)), |_| {}),
        Err(RecvError::EndOfStream)
    );
    assert_eq!(ring.stats().unblocks, 2);
    assert_eq!(ring.head(), 48);
}

#[test]
fn recovery_off() {
    let f = tmp();
    let ring = create(&f, 1024, Mode::Mpsc);
    let mut c = ring.consumer().unwrap();
    c.set_recovery(None, None);
    let mut p = ring.producer().unwrap();
    std::mem::forget(p.try_claim(10).unwrap());
    assert_eq!(
        c.recv_batch(8, Some(Duration::from_millis(50)), |_| {}),
        Err(RecvError::Timeout)
    );
    assert_eq!(ring.stats().unblocks, 0);
}

/// A CLAIMED word that cannot be a stamp of this position is corrupt when
/// recovery looks at it.
#[test]
fn recovery_checks_the_stamp() {
    let f = tmp();
    let ring = create(&f, 1024, Mode::Mpsc);
    let mut c = ring.consumer().unwrap();
    c.set_recovery(Some(Duration::from_millis(5)), None);
    ring.h64(OFF_TAIL).store(64, Ordering::SeqCst);
    ring.word_at(0)
        .store(word(KIND_CLAIMED, 1, 7, 8), Ordering::SeqCst); // lap 7 at lap 0
    match c.recv_batch(8, Some(Duration::from_secs(60)), |_| {}) {
        Err(RecvError::Corrupt(e)) => assert_eq!((e.field(), e.offset()), ("record", 0)),
        other => panic!("{other:?}"),
    }
}

#[test]
fn test_records() {
    assert_eq!(testrec::fnv1a32(b""), 0x811C_9DC5);
    assert_eq!(testrec::fnv1a32(b"a"), 0xE40C_292C);
    assert_eq!(testrec::fnv1a32(b"foobar"), 0xBF9C_F968);
    let mut x = testrec::XorShift64Star::new(1).unwrap();
    assert_eq!(x.next(), 0x47E4_CE4B_896C_DD1D);
    assert!(testrec::XorShift64Star::new(0).is_none());
    assert!(testrec::TestRecords::new(1, 1, 8).is_none());
    let mut g = testrec::TestRecords::new(7, 99, 2048).unwrap();
    let mut seen_max = 0;
    for _ in 0..5000 {
        let n = g.next_len();
        assert!((16..=1024).contains(&n));
        seen_max = seen_max.max(n);
        let mut b = vec![0; n];
        g.fill(&mut b);
        assert_eq!(testrec::check(&b), Ok((7, g.seq())));
        g.advance();
    }
    assert!(seen_max > 1000);
    let mut g = testrec::TestRecords::new(1, 5, 16).unwrap();
    assert_eq!(g.next_len(), 16);
}

// ---------------------------------------------------------------- section 8

#[test]
fn liveness_pid_start_zombie() {
    use crate::proc::alive;
    let (pid, start) = crate::proc::me();
    assert!(alive(pid, start) && alive(pid, 0));
    assert!(alive(pid, start + (1 << 36)), "start compared modulo 2^36");
    assert!(!alive(0, 0), "pid 0 names no process");
    assert!(!alive(pid, start + 1));
    assert!(!alive(0x7FFF_FFF0, 0), "no such pid");
    assert!(!alive(u32::MAX, 0), "never kill(-1, 0)");
    // a child that exited but is not reaped yet is a zombie: gone
    let mut child = std::process::Command::new("true").spawn().unwrap();
    let cpid = child.id();
    let cstart = crate::proc::start_time(cpid).unwrap_or(0);
    let deadline = Instant::now() + Duration::from_secs(30);
    while crate::proc::stat(cpid).is_some_and(|(_, z)| !z) {
        assert!(Instant::now() < deadline, "child never became a zombie");
        std::thread::sleep(Duration::from_millis(1));
    }
    assert!(!alive(cpid, cstart));
    child.wait().unwrap();
}

#[test]
fn aborts_counted_when_they_take_effect() {
    let f = tmp();
    let ring = create(&f, 1024, Mode::Mpsc);
    let mut p = ring.producer().unwrap();
    p.try_claim(8).unwrap().abort();
    assert_eq!(ring.aborts(), 1);
    let cl = p.try_claim(8).unwrap();
    ring.word_at(cl.position())
        .store(word(KIND_UNBLOCKED, 0, 0, 16), Ordering::SeqCst);
    drop(cl); // loses to the recovery: not counted
    assert_eq!(ring.aborts(), 1);
}

/// Park a "consumer" thread on `consumer_wait`, run `act`, and check that it
/// was woken (not timed out) and the word cleared.
fn woken_by(ring: &Ring, act: impl FnOnce()) {
    let wait = ring.h32(OFF_CONSUMER_WAIT);
    std::thread::scope(|s| {
        wait.store(1, Ordering::SeqCst);
        let h = s.spawn(|| {
            // SAFETY: the word lives in the mapping for the scope.
            let r = unsafe { crate::sys::futex_wait(wait.as_ptr(), 1, 60_000_000_000) };
            // 0: woken; EAGAIN: the word was 0 already (woken before we slept)
            (r, std::io::Error::last_os_error().raw_os_error())
        });
        std::thread::sleep(Duration::from_millis(50));
        act();
        let (r, errno) = h.join().unwrap();
        assert!(
            r == 0 || errno == Some(11),
            "futex_wait: {r}, errno {errno:?}"
        );
    });
    assert_eq!(wait.load(Ordering::SeqCst), 0);
}

#[test]
fn wake_after_abort_and_close() {
    for mode in [Mode::Spsc, Mode::Mpsc] {
        let f = tmp();
        let ring = create(&f, 1024, mode);
        let mut p = ring.producer().unwrap();
        let cl = p.try_claim(4).unwrap();
        woken_by(&ring, || cl.abort());
        woken_by(&ring, || drop(p));
    }
}

// ---------------------------------------------------------------- vectors

/// One file of spec/vectors (format: spec/vectors/README.md).
struct Vector {
    name: String,
    image: Vec<u8>,
    steps: Vec<Step>,
}

/// An `expect` line (its words after "expect"), or a `set` line: bytes to
/// write at a region offset before the next expectation.
enum Step {
    Expect(Vec<String>),
    Set(usize, Vec<u8>),
}

impl Vector {
    /// A plain image: no `set` steps, no corruption expected.
    fn clean(&self) -> bool {
        self.steps.iter().all(|s| match s {
            Step::Expect(e) => e[0] != "corrupt",
            Step::Set(..) => false,
        })
    }
}

fn load_vectors() -> Vec<Vector> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../spec/vectors");
    let mut paths: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "vec"))
        .collect();
    paths.sort();
    assert!(paths.len() >= 26, "vectors in {}", dir.display());
    let bytes = |off: &str, bytes: &[&str]| {
        let off = usize::from_str_radix(off.trim_end_matches(':'), 16).unwrap();
        let b: Vec<u8> = bytes
            .iter()
            .map(|b| u8::from_str_radix(b, 16).unwrap())
            .collect();
        (off, b)
    };
    paths
        .iter()
        .map(|p| {
            let mut v = Vector {
                name: p.file_stem().unwrap().to_string_lossy().into(),
                image: Vec::new(),
                steps: Vec::new(),
            };
            for line in std::fs::read_to_string(p).unwrap().lines() {
                let line = line.split('#').next().unwrap();
                let f: Vec<&str> = line.split_whitespace().collect();
                match f.as_slice() {
                    [] => {}
                    ["size", n] => v.image = vec![0; n.parse().unwrap()],
                    ["expect", rest @ ..] => v
                        .steps
                        .push(Step::Expect(rest.iter().map(|s| s.to_string()).collect())),
                    ["set", off, b @ ..] => {
                        let (off, b) = bytes(off, b);
                        v.steps.push(Step::Set(off, b));
                    }
                    [off, b @ ..] => {
                        let (off, b) = bytes(off, b);
                        v.image[off..off + b.len()].copy_from_slice(&b);
                    }
                }
            }
            v
        })
        .collect()
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// Every vector through this crate's open checks, consumer attach (which
/// may finish a release, spec 7.2) and reader.
#[test]
fn spec_vectors_consumed() {
    use std::os::unix::fs::FileExt;
    for v in load_vectors() {
        let f = tmp();
        std::fs::write(&f.0, &v.image).unwrap();
        let head0 = u64::from_le_bytes(v.image[OFF_HEAD..OFF_HEAD + 8].try_into().unwrap());
        let mut attached = open(&f.0).and_then(|ring| {
            let ring = Arc::new(ring);
            let c = ring.consumer_owned()?;
            Ok((ring, c))
        });
        let file = std::fs::OpenOptions::new().write(true).open(&f.0).unwrap();
        let mut first = true;
        for step in &v.steps {
            let e = match step {
                Step::Set(off, b) => {
                    file.write_all_at(b, *off as u64).unwrap();
                    continue;
                }
                Step::Expect(e) => e,
            };
            let e: Vec<&str> = e.iter().map(String::as_str).collect();
            let (ring, c) = match (&mut attached, e.as_slice()) {
                (Ok((ring, c)), _) => (&*ring, c),
                (Err(err), ["corrupt", field, at]) if first => {
                    let at_err = match err {
                        Error::Corrupt(c) => c.offset(),
                        Error::BadMagic { .. } => OFF_MAGIC as u64,
                        Error::BadVersion { .. } => OFF_VERSION as u64,
                        err => panic!("{}: {err}", v.name),
                    };
                    assert_eq!(
                        (err.field(), at_err.to_string()),
                        (Some(*field), at.to_string()),
                        "{}: {err}",
                        v.name
                    );
                    break;
                }
                (Err(err), _) => panic!("{}: {err}, want {e:?}", v.name),
            };
            first = false;
            match e.as_slice() {
                ["record", want] => {
                    let mut got = None;
                    let r = c.read_batch(1, |r| got = Some(hex(&r)));
                    assert_eq!((r, got.as_deref()), (Ok(1), Some(*want)), "{}", v.name);
                }
                ["empty"] => assert_eq!(c.read_batch(1, |_| {}), Ok(0), "{}", v.name),
                ["corrupt", field, at] => {
                    let x = c.read_batch(1, |_| {}).unwrap_err();
                    assert_eq!(
                        (x.field(), x.offset().to_string()),
                        (*field, at.to_string()),
                        "{}: {x}",
                        v.name
                    );
                    assert_eq!(c.read_batch(1, |_| {}), Err(x), "{}: stays stopped", v.name);
                }
                ["read_records", n] => assert_eq!(
                    ring.h64(OFF_READ_RECORDS)
                        .load(Ordering::SeqCst)
                        .to_string(),
                    *n,
                    "{}",
                    v.name
                ),
                ["head", n] => {
                    assert_eq!(ring.head().to_string(), *n, "{}", v.name);
                    let cap = ring.capacity();
                    let img = std::fs::read(&f.0).unwrap();
                    let mut pos = head0;
                    while pos != ring.head() {
                        let off = HEADER_SIZE + (pos & (cap - 1)) as usize;
                        assert_eq!(img[off], 0, "{}: released byte at {pos}", v.name);
                        pos = pos.wrapping_add(1);
                    }
                }
                other => panic!("{}: unknown expect {other:?}", v.name),
            }
        }
    }
}

/// The vectors a producer can write (committed, aborted and claimed records,
/// padding at the wrap), written again by this producer from the vector's
/// starting head: the data area and `tail` come out byte for byte the same.
#[test]
fn spec_vectors_produced() {
    let mut reproduced = Vec::new();
    for v in load_vectors() {
        if !v.clean() {
            continue;
        }
        let src = tmp();
        std::fs::write(&src.0, &v.image).unwrap();
        let want = open(&src.0).unwrap();
        let (cap, head, tail) = (want.capacity(), want.head(), want.tail());
        let f = tmp();
        let ring = create(&f, cap, want.mode());
        set_positions(&ring, head);
        let mut p = ring.producer().unwrap();
        let data = |pos: u64, n: u64| {
            let off = HEADER_SIZE + (pos & (cap - 1)) as usize + 8;
            &v.image[off..off + n as usize]
        };
        let mut pos = head;
        let mut ok = true;
        while pos != tail {
            let w = word_at(&want, pos);
            let n = word_len(w);
            pos = pos.wrapping_add(match word_kind(w) {
                KIND_COMMITTED => {
                    p.try_write(data(pos, n)).unwrap();
                    record_size(n)
                }
                KIND_ABORTED => {
                    let mut cl = p.try_claim(n as usize - 8).unwrap();
                    cl.copy_from_slice(data(pos, n - 8));
                    cl.abort();
                    n
                }
                KIND_CLAIMED if word_owner(w) == p.owner_id() as u64 => {
                    let mut cl = p.try_claim(n as usize).unwrap();
                    cl.copy_from_slice(data(pos, n));
                    std::mem::forget(cl); // left open, as in the vector
                    record_size(n)
                }
                KIND_PADDING => n, // the producer writes it by itself
                _ => {
                    ok = false; // e.g. reserved, not stamped
                    break;
                }
            });
        }
        if !ok {
            continue;
        }
        let got = std::fs::read(&f.0).unwrap();
        assert_eq!(ring.tail(), tail, "{}", v.name);
        assert!(
            got[HEADER_SIZE..] == v.image[HEADER_SIZE..],
            "{}: data area differs",
            v.name
        );
        reproduced.push(v.name);
    }
    reproduced.sort();
    assert_eq!(
        reproduced,
        [
            "abort",
            "claimed-not-committed",
            "exact-fit",
            "position-wraps",
            "wrap-padding"
        ]
    );
}
