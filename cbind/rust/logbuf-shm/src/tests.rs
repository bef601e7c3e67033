//! Unit tests, with a minimal consumer written from spec section 7.

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use crate::layout::*;
use crate::testrec;
use crate::{Discarded, Error, Mode, Ring, TryClaimError, TryWriteError};

// ---------------------------------------------------------------- helpers

struct TmpFile(PathBuf);
impl Drop for TmpFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}
fn tmp() -> TmpFile {
    static N: AtomicUsize = AtomicUsize::new(0);
    let n = N.fetch_add(1, Ordering::Relaxed);
    TmpFile(std::env::temp_dir().join(format!("logbuf-shm-test-{}-{n}.ring", std::process::id())))
}

/// What the consumer found at `head`.
#[derive(Debug, PartialEq)]
enum Poll {
    Record(Vec<u8>),
    /// `head == tail`.
    Empty,
    /// A reservation not yet committed: word 0 or CLAIMED.
    Pending(u64),
}

/// A validation failure of section 7 step 3.
#[derive(Debug, PartialEq)]
struct Corrupt {
    check: &'static str,
    pos: u64,
    word: u64,
}

/// Minimal single-threaded consumer (spec section 7, no parking/recovery).
struct Consumer<'r> {
    ring: &'r Ring,
    head: u64,
    tail: u64,
}

impl<'r> Consumer<'r> {
    fn new(ring: &'r Ring) -> Self {
        Consumer {
            ring,
            head: ring.head(),
            tail: ring.tail(),
        }
    }

    fn poll(&mut self) -> Result<Poll, Corrupt> {
        let ring = self.ring;
        let cap = ring.capacity();
        let maxp = ring.max_payload() as u64;
        loop {
            let h = self.head;
            let off = h & (cap - 1);
            let w = ring.word_at(h).load(Ordering::Acquire);
            if w == 0 || word_kind(w) == KIND_CLAIMED {
                self.tail = ring.tail();
                return Ok(if h == self.tail {
                    Poll::Empty
                } else {
                    Poll::Pending(w)
                });
            }
            let bad = |check| Corrupt {
                check,
                pos: h,
                word: w,
            };
            let kind = word_kind(w);
            let len = word_len(w);
            if ![KIND_COMMITTED, KIND_PADDING, KIND_ABORTED, KIND_UNBLOCKED].contains(&kind)
                || word_lap(w) != 0
                || word_owner(w) != 0
            {
                return Err(bad("kind/lap/owner"));
            }
            let size = if kind == KIND_COMMITTED {
                if len < 1 || len > maxp {
                    return Err(bad("committed len"));
                }
                record_size(len)
            } else {
                if !len.is_multiple_of(8) || len < 8 {
                    return Err(bad("skip len"));
                }
                if kind == KIND_ABORTED && len > record_size(maxp) {
                    return Err(bad("aborted size"));
                }
                if kind == KIND_PADDING && off + len != cap {
                    return Err(bad("padding end"));
                }
                len
            };
            if off + size > cap {
                return Err(bad("crosses end"));
            }
            if size > self.tail.wrapping_sub(h) {
                self.tail = ring.tail();
                if size > self.tail.wrapping_sub(h) {
                    return Err(bad("beyond tail"));
                }
            }
            if self.tail.wrapping_sub(h) > cap {
                return Err(bad("tail - head > capacity"));
            }
            let base = ring.base_ptr();
            let data = unsafe { base.add(HEADER_SIZE + off as usize) };
            let payload = (kind == KIND_COMMITTED).then(|| {
                // SAFETY: inside the data area, committed (acquire above).
                unsafe { std::slice::from_raw_parts(data.add(8), len as usize) }.to_vec()
            });
            // Release: zero, then publish head.
            unsafe { std::ptr::write_bytes(data, 0, size as usize) };
            self.head = h.wrapping_add(size);
            ring.header_u64(OFF_HEAD)
                .store(self.head, Ordering::Release);
            if let Some(p) = payload {
                ring.header_u64(OFF_READ_RECORDS)
                    .fetch_add(1, Ordering::Relaxed);
                ring.header_u64(OFF_READ_BYTES)
                    .fetch_add(len, Ordering::Relaxed);
                return Ok(Poll::Record(p));
            }
        }
    }

    /// All records up to the first gap.
    fn drain(&mut self) -> Vec<Vec<u8>> {
        let mut v = Vec::new();
        while let Poll::Record(r) = self.poll().expect("corrupt") {
            v.push(r);
        }
        v
    }
}

fn entry32(ring: &Ring, i: usize, f: usize) -> u32 {
    ring.header_u32(OFF_PRODUCER_TABLE + PRODUCER_ENTRY_SIZE * i + f)
        .load(Ordering::SeqCst)
}
fn entry64(ring: &Ring, i: usize, f: usize) -> u64 {
    ring.header_u64(OFF_PRODUCER_TABLE + PRODUCER_ENTRY_SIZE * i + f)
        .load(Ordering::SeqCst)
}
fn set_entry32(ring: &Ring, i: usize, f: usize, v: u32) {
    ring.header_u32(OFF_PRODUCER_TABLE + PRODUCER_ENTRY_SIZE * i + f)
        .store(v, Ordering::SeqCst)
}
fn set_entry64(ring: &Ring, i: usize, f: usize, v: u64) {
    ring.header_u64(OFF_PRODUCER_TABLE + PRODUCER_ENTRY_SIZE * i + f)
        .store(v, Ordering::SeqCst)
}
fn set_positions(ring: &Ring, pos: u64) {
    ring.header_u64(OFF_HEAD).store(pos, Ordering::SeqCst);
    ring.header_u64(OFF_TAIL).store(pos, Ordering::SeqCst);
}

// ---------------------------------------------------------------- open

#[test]
fn create_then_open() {
    let f = tmp();
    let r = Ring::create(&f.0, 1024, Mode::Mpsc).unwrap();
    assert_eq!(r.header_u64(0).load(Ordering::SeqCst), MAGIC);
    let bytes = std::fs::read(&f.0).unwrap();
    assert_eq!(&bytes[..8], b"LOGBUF\x00\x01");
    assert_eq!(bytes.len(), 4096 + 1024);
    let o = Ring::open(&f.0).unwrap();
    assert_eq!(o.capacity(), 1024);
    assert_eq!(o.max_payload(), 128);
    assert_eq!(o.mode(), Mode::Mpsc);
    assert!(Ring::open_expect(&f.0, Mode::Mpsc).is_ok());
}

#[test]
fn open_checks_in_order() {
    let f = tmp();
    // 1: too small
    std::fs::write(&f.0, [0u8; 100]).unwrap();
    assert!(matches!(
        Ring::open(&f.0),
        Err(Error::TooSmall { len: 100 })
    ));
    let r = Ring::create(&f.0, 256, Mode::Spsc).unwrap();
    let e = |r: Result<Ring, Error>| r.unwrap_err().to_string();
    // 2 before 3: both broken, magic reported
    r.header_u32(OFF_VERSION).store(7, Ordering::SeqCst);
    r.header_u64(OFF_MAGIC).store(1, Ordering::SeqCst);
    assert!(e(Ring::open(&f.0)).contains("check 2 (magic)"));
    r.header_u64(OFF_MAGIC).store(MAGIC, Ordering::SeqCst);
    assert!(matches!(
        Ring::open(&f.0),
        Err(Error::BadVersion { found: 7 })
    ));
    r.header_u32(OFF_VERSION).store(1, Ordering::SeqCst);
    // 4
    for (off, good) in [
        (OFF_HEADER_SIZE, 4096),
        (OFF_LINE_SIZE, 128),
        (OFF_PRODUCER_SLOTS, 32),
    ] {
        r.header_u32(off).store(64, Ordering::SeqCst);
        assert!(e(Ring::open(&f.0)).contains("check 4"));
        r.header_u32(off).store(good, Ordering::SeqCst);
    }
    // 5
    for bad in [0u64, 32, 96, 1 << 32] {
        r.header_u64(OFF_CAPACITY).store(bad, Ordering::SeqCst);
        assert!(matches!(Ring::open(&f.0), Err(Error::BadCapacity { .. })));
    }
    r.header_u64(OFF_CAPACITY).store(512, Ordering::SeqCst);
    assert!(matches!(
        Ring::open(&f.0),
        Err(Error::Truncated {
            len: 4352,
            capacity: 512
        })
    ));
    r.header_u64(OFF_CAPACITY).store(256, Ordering::SeqCst);
    // 6
    r.header_u32(OFF_FLAGS).store(3, Ordering::SeqCst);
    assert!(matches!(
        Ring::open(&f.0),
        Err(Error::BadFlags { flags: 3 })
    ));
    r.header_u32(OFF_FLAGS).store(0, Ordering::SeqCst);
    assert!(matches!(
        Ring::open_expect(&f.0, Mode::Mpsc),
        Err(Error::WrongMode {
            expected: Mode::Mpsc,
            found: Mode::Spsc
        })
    ));
    // 7
    r.header_u64(OFF_HEAD).store(4, Ordering::SeqCst);
    r.header_u64(OFF_TAIL).store(4, Ordering::SeqCst);
    assert!(e(Ring::open(&f.0)).contains("check 7"));
    r.header_u64(OFF_HEAD).store(8, Ordering::SeqCst);
    r.header_u64(OFF_TAIL).store(8 + 264, Ordering::SeqCst);
    assert!(matches!(Ring::open(&f.0), Err(Error::BadPositions { .. })));
    // tail - head is computed mod 2^64
    r.header_u64(OFF_HEAD).store(u64::MAX - 7, Ordering::SeqCst);
    r.header_u64(OFF_TAIL).store(248, Ordering::SeqCst);
    assert!(Ring::open(&f.0).is_ok());
    assert!(matches!(
        Ring::create(&f.0, 100, Mode::Spsc),
        Err(Error::InvalidCapacity { capacity: 100 })
    ));
}

// ---------------------------------------------------------------- produce

#[test]
fn claim_commit_abort() {
    let f = tmp();
    let ring = Ring::create(&f.0, 1024, Mode::Spsc).unwrap();
    let mut c = Consumer::new(&ring);
    {
        let mut p = ring.producer().unwrap();
        assert_eq!(p.owner_id(), 1);
        let mut cl = p.try_claim(10).unwrap();
        assert_eq!(cl.len(), 10);
        cl.copy_from_slice(b"0123456789");
        assert_eq!(c.poll(), Ok(Poll::Pending(cl.stamp())));
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
        c.drain(),
        vec![b"0123456789".to_vec(), b"xyz".to_vec(), b"last".to_vec()]
    );
    assert_eq!(c.poll(), Ok(Poll::Empty));
    assert_eq!(ring.head(), ring.tail());
    // 24 + 16 + 16 + 16 + 16
    assert_eq!(ring.tail(), 88);
    // statistics: producer table and consumer side
    assert_eq!(entry64(&ring, 0, ENT_RECORDS), 3);
    assert_eq!(entry64(&ring, 0, ENT_BYTES), 17);
    assert_eq!(ring.header_u64(OFF_READ_RECORDS).load(Ordering::SeqCst), 3);
    assert_eq!(ring.header_u64(OFF_READ_BYTES).load(Ordering::SeqCst), 17);
    // data area zeroed again by the consumer
    let all = std::fs::read(&f.0).unwrap();
    assert!(all[4096..].iter().all(|&b| b == 0));
}

#[test]
fn wrap_with_padding() {
    for mode in [Mode::Spsc, Mode::Mpsc] {
        let f = tmp();
        let ring = Ring::create(&f.0, 256, mode).unwrap();
        let mut c = Consumer::new(&ring);
        let mut p = ring.producer().unwrap();
        // payload 32 -> record 40; six of them end at offset 240
        for i in 0..6u8 {
            p.try_write(&[i; 32]).unwrap();
            assert_eq!(c.drain(), vec![vec![i; 32]]);
        }
        assert_eq!(ring.tail(), 240);
        let mut cl = p.try_claim(32).unwrap();
        assert_eq!(cl.position(), 256);
        assert_eq!(ring.tail(), 296);
        assert_eq!(
            ring.word_at(240).load(Ordering::SeqCst),
            word(KIND_PADDING, 0, 0, 16)
        );
        assert_eq!(
            ring.word_at(256).load(Ordering::SeqCst),
            word(KIND_CLAIMED, 1, 1, 32)
        );
        cl.fill(9);
        cl.commit().unwrap();
        assert_eq!(c.drain(), vec![vec![9; 32]]);
        assert_eq!(ring.head(), 296);
        assert!(std::fs::read(&f.0).unwrap()[4096..].iter().all(|&b| b == 0));
    }
}

#[test]
fn exact_fit_at_end() {
    let f = tmp();
    let ring = Ring::create(&f.0, 256, Mode::Spsc).unwrap();
    let mut c = Consumer::new(&ring);
    let mut p = ring.producer().unwrap();
    // payload 24 -> record 32: eight fill the ring exactly
    for i in 0..8u8 {
        p.try_write(&[i + 1; 24]).unwrap();
    }
    assert_eq!(ring.tail(), 256);
    let words: Vec<u64> = (0..8)
        .map(|i| ring.word_at(i * 32).load(Ordering::SeqCst))
        .collect();
    assert!(words.iter().all(|&w| w == word(KIND_COMMITTED, 0, 0, 24)));
    assert_eq!(p.try_claim(1).unwrap_err(), TryClaimError::Full);
    assert_eq!(c.drain().len(), 8);
    let cl = p.try_claim(24).unwrap();
    assert_eq!(cl.position(), 256);
    assert_eq!(cl.stamp(), word(KIND_CLAIMED, 1, 1, 24));
    cl.commit().unwrap();
    // last slot of a lap: offset 224, size 32 ends exactly at 256, no pad
    for _ in 0..6 {
        p.try_write(&[1; 24]).unwrap();
    }
    assert_eq!(c.drain().len(), 7);
    let cl = p.try_claim(24).unwrap();
    assert_eq!(cl.position(), 256 + 224);
    assert_eq!(ring.tail(), 512);
    cl.commit().unwrap();
    assert_eq!(c.drain(), vec![vec![0; 24]]);
}

#[test]
fn full_then_space() {
    for mode in [Mode::Spsc, Mode::Mpsc] {
        let f = tmp();
        let ring = Ring::create(&f.0, 256, mode).unwrap();
        let mut c = Consumer::new(&ring);
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
        assert!(matches!(c.poll(), Ok(Poll::Record(_))));
        // one record released: 32 bytes free again, 33+ still full
        assert_eq!(p.try_claim(32).unwrap_err(), TryClaimError::Full);
        p.try_write(&[8; 24]).unwrap();
        assert_eq!(c.drain().len(), 8);
        // stats were published when head was reloaded
        assert_eq!(entry64(&ring, 0, ENT_RECORDS), 8);
        // consumer closed: Closed instead of Full
        for _ in 0..8 {
            p.try_write(&[1; 24]).unwrap();
        }
        ring.header_u32(OFF_CONSUMER_STATE)
            .store(STATE_CLOSED, Ordering::SeqCst);
        assert_eq!(p.try_claim(8).unwrap_err(), TryClaimError::Closed);
    }
}

#[test]
fn zero_length_and_too_large() {
    let f = tmp();
    let ring = Ring::create(&f.0, 1024, Mode::Mpsc).unwrap();
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
    let ring = Ring::create(&f.0, 256, Mode::Mpsc).unwrap();
    // second producer: owner id 2
    let _p1 = ring.producer().unwrap();
    // start at lap 0xFFFF, offset 224
    set_positions(&ring, (0xFFFF << 8) + 224);
    let mut c = Consumer::new(&ring);
    let mut p = ring.producer().unwrap();
    assert_eq!(p.owner_id(), 2);
    let cl = p.try_claim(17).unwrap();
    let s = cl.stamp();
    assert_eq!(s, word(KIND_CLAIMED, 2, 0xFFFF, 17));
    assert_eq!(ring.word_at(cl.position()).load(Ordering::SeqCst), s);
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
    assert_eq!(c.drain().len(), 2);
    // positions wrapping past 2^64
    set_positions(&ring, 0u64.wrapping_sub(48));
    let mut c = Consumer::new(&ring);
    for i in 0..20u8 {
        let mut cl = p.try_claim(25).unwrap();
        assert_eq!(word_lap(cl.stamp()), (cl.position() >> 8) & 0xFFFF);
        cl.fill(i);
        cl.commit().unwrap();
        assert_eq!(c.drain(), vec![vec![i; 25]]);
    }
    assert!(ring.tail() < 1024);
}

#[test]
fn mpsc_commit_discarded_after_recovery() {
    let f = tmp();
    let ring = Ring::create(&f.0, 1024, Mode::Mpsc).unwrap();
    let mut c = Consumer::new(&ring);
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
    assert_eq!(ring.word_at(pos).load(Ordering::SeqCst), unb);
    p.try_write(b"after").unwrap();
    assert_eq!(c.drain(), vec![b"after".to_vec()]);
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
    let ring = Ring::create(&f.0, 4096, Mode::Mpsc).unwrap();
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
        let mut c = Consumer::new(&ring);
        let mut next = [0u64; THREADS as usize];
        let mut got = 0;
        let deadline = Instant::now() + Duration::from_secs(60);
        while got < THREADS as u64 * PER {
            match c.poll().unwrap() {
                Poll::Record(r) => {
                    let (id, seq) = testrec::check(&r).unwrap();
                    assert_eq!(seq, next[id as usize], "producer {id} order");
                    next[id as usize] += 1;
                    got += 1;
                }
                _ => {
                    assert!(Instant::now() < deadline, "stuck");
                    std::thread::yield_now();
                }
            }
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
        .map(|i| entry64(&ring, i, ENT_RECORDS))
        .sum();
    assert_eq!(total, THREADS as u64 * PER);
    assert_eq!(
        ring.aborts(),
        (0..THREADS).map(|_| PER / 97 + 1).sum::<u64>()
    );
    assert_eq!(ring.head(), ring.tail());
}

#[test]
fn wake_parked_consumer() {
    let f = tmp();
    let ring = Ring::create(&f.0, 1024, Mode::Spsc).unwrap();
    let mut p = ring.producer().unwrap();
    // no parked consumer: the word stays 0
    p.try_write(b"a").unwrap();
    let wait = ring.header_u32(OFF_CONSUMER_WAIT);
    assert_eq!(wait.load(Ordering::SeqCst), 0);
    woken_by(&ring, || p.try_write(b"b").unwrap());
}

#[test]
fn producer_table() {
    let f = tmp();
    let ring = Ring::create(&f.0, 1024, Mode::Mpsc).unwrap();
    let (pid, start) = crate::proc::me();
    assert!(start > 0);
    let mut p1 = ring.producer().unwrap();
    let p2 = ring.producer().unwrap();
    assert_eq!((p1.owner_id(), p2.owner_id()), (1, 2));
    assert_eq!(entry32(&ring, 0, ENT_PID), pid);
    assert_eq!(entry32(&ring, 0, ENT_STATE), STATE_ATTACHED);
    assert_eq!(entry64(&ring, 0, ENT_START), start);
    assert!(entry64(&ring, 0, ENT_HEARTBEAT) > 0);
    p1.try_write(b"hello").unwrap();
    drop(p1);
    assert_eq!(entry32(&ring, 0, ENT_STATE), STATE_CLOSED);
    assert_eq!(entry64(&ring, 0, ENT_RECORDS), 1);
    assert_eq!(entry64(&ring, 0, ENT_BYTES), 5);
    // the closed entry is reused; statistics accumulate
    let mut p3 = ring.producer().unwrap();
    assert_eq!(p3.owner_id(), 1);
    p3.try_write(b"abc").unwrap();
    drop(p3);
    assert_eq!(entry64(&ring, 0, ENT_RECORDS), 2);
    assert_eq!(entry64(&ring, 0, ENT_BYTES), 8);
    drop(p2);
    // take-over of an attached entry whose process is gone
    for i in 0..PRODUCER_SLOTS {
        set_entry32(&ring, i, ENT_STATE, STATE_ATTACHED);
        set_entry32(&ring, i, ENT_PID, pid);
        set_entry64(&ring, i, ENT_START, start);
    }
    set_entry32(&ring, 5, ENT_PID, 0x3FFF_FFF0); // no such process
    set_entry64(&ring, 5, ENT_START, 12345);
    let p4 = ring.producer().unwrap();
    assert_eq!(p4.owner_id(), 6);
    assert_eq!(entry32(&ring, 5, ENT_PID), pid);
    assert_eq!(entry64(&ring, 5, ENT_START), start);
    // table full: owner id 0, still works
    let mut p5 = ring.producer().unwrap();
    assert_eq!(p5.owner_id(), 0);
    let cl = p5.try_claim(3).unwrap();
    assert_eq!(word_owner(cl.stamp()), 0);
    cl.commit().unwrap();
}

#[test]
fn spsc_single_producer() {
    let f = tmp();
    let ring = Ring::create(&f.0, 1024, Mode::Spsc).unwrap();
    let mut c = Consumer::new(&ring);
    let mut p = ring.producer().unwrap();
    p.try_write(b"one").unwrap();
    assert!(matches!(
        ring.producer(),
        Err(Error::ProducerBusy { entry: 0, .. })
    ));
    assert_eq!(entry32(&ring, 1, ENT_STATE), STATE_CLOSED);
    drop(p);
    // a later producer (another process, say) resumes from tail
    let other = Ring::open_expect(&f.0, Mode::Spsc).unwrap();
    let mut p = other.producer().unwrap();
    p.try_write(b"two").unwrap();
    assert_eq!(c.drain(), vec![b"one".to_vec(), b"two".to_vec()]);
}

#[test]
fn consumer_validation() {
    let f = tmp();
    let ring = Ring::create(&f.0, 256, Mode::Spsc).unwrap();
    let cases: [(u64, &str); 7] = [
        (word(0x03, 0, 0, 8), "kind/lap/owner"),
        (word(KIND_COMMITTED, 1, 0, 8), "kind/lap/owner"),
        (word(KIND_COMMITTED, 0, 0, 33), "committed len"),
        (word(KIND_ABORTED, 0, 0, 12), "skip len"),
        (word(KIND_ABORTED, 0, 0, 48), "aborted size"),
        (word(KIND_PADDING, 0, 0, 16), "padding end"),
        (word(KIND_UNBLOCKED, 0, 0, 64), "beyond tail"),
    ];
    for (w, check) in cases {
        set_positions(&ring, 0);
        let mut c = Consumer::new(&ring);
        let mut p = ring.producer().unwrap();
        let cl = p.try_claim(8).unwrap();
        drop(cl); // aborted, 16 bytes
        ring.word_at(0).store(w, Ordering::SeqCst);
        assert_eq!(
            c.poll(),
            Err(Corrupt {
                check,
                pos: 0,
                word: w
            })
        );
        ring.word_at(0).store(0, Ordering::SeqCst);
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
fn attaching_entries_are_skipped_and_alive() {
    let f = tmp();
    let ring = Ring::create(&f.0, 1024, Mode::Mpsc).unwrap();
    // Entry 0 is being attached by someone else (state 3, pid not written).
    set_entry32(&ring, 0, ENT_STATE, STATE_ATTACHING);
    let p = ring.producer().unwrap();
    assert_eq!(p.owner_id(), 2);
    assert_eq!(entry32(&ring, 0, ENT_STATE), STATE_ATTACHING);
    drop(p);
    // On SPSC an attaching entry counts as a live producer.
    let f = tmp();
    let ring = Ring::create(&f.0, 1024, Mode::Spsc).unwrap();
    set_entry32(&ring, 3, ENT_STATE, STATE_ATTACHING);
    assert!(matches!(
        ring.producer(),
        Err(Error::ProducerBusy { entry: 3, .. })
    ));
    // our own entry was given back
    assert_eq!(entry32(&ring, 0, ENT_STATE), STATE_CLOSED);
    set_entry32(&ring, 3, ENT_STATE, STATE_CLOSED);
    assert_eq!(ring.producer().unwrap().owner_id(), 1);
}

#[test]
fn take_over_only_gone_entries() {
    let f = tmp();
    let ring = Ring::create(&f.0, 1024, Mode::Mpsc).unwrap();
    let (pid, start) = crate::proc::me();
    for i in 0..PRODUCER_SLOTS {
        set_entry32(&ring, i, ENT_STATE, STATE_ATTACHED);
        set_entry32(&ring, i, ENT_PID, pid);
        set_entry64(&ring, i, ENT_START, start);
    }
    // pid 0 / start 0: "not known yet", alive; our pid with another start
    // time: a process that is gone.
    set_entry32(&ring, 1, ENT_PID, 0);
    set_entry64(&ring, 2, ENT_START, 0);
    set_entry64(&ring, 7, ENT_START, start + 1);
    set_entry64(&ring, 7, ENT_RECORDS, 40);
    let mut p = ring.producer().unwrap();
    assert_eq!(p.owner_id(), 8);
    assert_eq!(entry32(&ring, 7, ENT_STATE), STATE_ATTACHED);
    assert_eq!(entry64(&ring, 7, ENT_START), start);
    p.try_write(b"x").unwrap();
    drop(p);
    assert_eq!(entry64(&ring, 7, ENT_RECORDS), 41, "totals for the ring");
    assert_eq!(entry32(&ring, 7, ENT_STATE), STATE_CLOSED);
    for i in [1, 2] {
        assert_eq!(entry32(&ring, i, ENT_STATE), STATE_ATTACHED);
    }
}

#[test]
fn spsc_busy_without_an_entry() {
    let f = tmp();
    let ring = Ring::create(&f.0, 1024, Mode::Spsc).unwrap();
    let (pid, start) = crate::proc::me();
    for i in 0..PRODUCER_SLOTS {
        set_entry32(&ring, i, ENT_STATE, STATE_ATTACHED);
        set_entry32(&ring, i, ENT_PID, pid);
        set_entry64(&ring, i, ENT_START, start);
    }
    // table full of live entries: no entry for us, and busy
    assert!(matches!(
        ring.producer(),
        Err(Error::ProducerBusy { entry: 0, .. })
    ));
}

#[test]
fn liveness_pid_start_zombie() {
    use crate::proc::alive;
    let (pid, start) = crate::proc::me();
    assert!(alive(pid, start) && alive(pid, 0) && alive(0, 0));
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
fn closed_when_consumer_gone() {
    let f = tmp();
    let ring = Ring::create(&f.0, 256, Mode::Mpsc).unwrap();
    let mut p = ring.producer().unwrap();
    while p.try_write(&[1; 24]).is_ok() {}
    let (pid, start) = crate::proc::me();
    ring.header_u32(OFF_CONSUMER_PID)
        .store(pid, Ordering::SeqCst);
    ring.header_u64(OFF_CONSUMER_START)
        .store(start, Ordering::SeqCst);
    ring.header_u32(OFF_CONSUMER_STATE)
        .store(STATE_ATTACHED, Ordering::SeqCst);
    std::thread::sleep(Duration::from_millis(11));
    assert_eq!(p.try_claim(8).unwrap_err(), TryClaimError::Full);
    // the consumer's process is gone (another start time)
    ring.header_u64(OFF_CONSUMER_START)
        .store(start + 1, Ordering::SeqCst);
    std::thread::sleep(Duration::from_millis(11));
    assert_eq!(p.try_claim(8).unwrap_err(), TryClaimError::Closed);
}

#[test]
fn aborts_counted_when_they_take_effect() {
    let f = tmp();
    let ring = Ring::create(&f.0, 1024, Mode::Mpsc).unwrap();
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
    let wait = ring.header_u32(OFF_CONSUMER_WAIT);
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
        let ring = Ring::create(&f.0, 1024, mode).unwrap();
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
    expect: Vec<Vec<String>>,
}

fn load_vectors() -> Vec<Vector> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../spec/vectors");
    let mut paths: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "vec"))
        .collect();
    paths.sort();
    assert!(paths.len() >= 16, "vectors in {}", dir.display());
    paths
        .iter()
        .map(|p| {
            let mut v = Vector {
                name: p.file_stem().unwrap().to_string_lossy().into(),
                image: Vec::new(),
                expect: Vec::new(),
            };
            for line in std::fs::read_to_string(p).unwrap().lines() {
                let line = line.split('#').next().unwrap();
                let f: Vec<&str> = line.split_whitespace().collect();
                match f.as_slice() {
                    [] => {}
                    ["size", n] => v.image = vec![0; n.parse().unwrap()],
                    ["expect", rest @ ..] => {
                        v.expect.push(rest.iter().map(|s| s.to_string()).collect())
                    }
                    [off, bytes @ ..] => {
                        let off = usize::from_str_radix(off.trim_end_matches(':'), 16).unwrap();
                        for (i, b) in bytes.iter().enumerate() {
                            v.image[off + i] = u8::from_str_radix(b, 16).unwrap();
                        }
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

/// Every vector through this crate's open checks and its test consumer.
#[test]
fn spec_vectors_consumed() {
    for v in load_vectors() {
        let f = tmp();
        std::fs::write(&f.0, &v.image).unwrap();
        let ring = match Ring::open(&f.0) {
            Ok(r) => r,
            Err(e) => {
                let (field, at) = match e {
                    Error::BadMagic { .. } => ("magic", OFF_MAGIC),
                    Error::BadVersion { .. } => ("version", OFF_VERSION),
                    Error::BadPositions { .. } => ("tail", OFF_TAIL),
                    e => panic!("{}: unexpected {e}", v.name),
                };
                assert_eq!(
                    v.expect[0],
                    ["corrupt", field, &at.to_string()],
                    "{}: {e}",
                    v.name
                );
                continue;
            }
        };
        let head0 = ring.head();
        let mut c = Consumer::new(&ring);
        for e in &v.expect {
            match e.iter().map(String::as_str).collect::<Vec<_>>().as_slice() {
                ["record", want] => match c.poll() {
                    Ok(Poll::Record(r)) => assert_eq!(hex(&r), *want, "{}", v.name),
                    other => panic!("{}: {other:?}, want record {want}", v.name),
                },
                ["empty"] => assert!(
                    matches!(c.poll(), Ok(Poll::Empty | Poll::Pending(_))),
                    "{}",
                    v.name
                ),
                ["corrupt", "record", at] => match c.poll() {
                    Err(x) => assert_eq!(x.pos.to_string(), *at, "{}: {x:?}", v.name),
                    other => panic!("{}: {other:?}, want corrupt at {at}", v.name),
                },
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
        if v.expect.iter().any(|e| e[0] == "corrupt") {
            continue;
        }
        let src = tmp();
        std::fs::write(&src.0, &v.image).unwrap();
        let want = Ring::open(&src.0).unwrap();
        let (cap, head, tail) = (want.capacity(), want.head(), want.tail());
        let f = tmp();
        let ring = Ring::create(&f.0, cap, want.mode()).unwrap();
        set_positions(&ring, head);
        let mut p = ring.producer().unwrap();
        let data = |pos: u64, n: u64| {
            let off = HEADER_SIZE + (pos & (cap - 1)) as usize + 8;
            &v.image[off..off + n as usize]
        };
        let mut pos = head;
        let mut ok = true;
        while pos != tail {
            let w = want.word_at(pos).load(Ordering::SeqCst);
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
