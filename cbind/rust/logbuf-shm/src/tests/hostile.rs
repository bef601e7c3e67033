//! Memory another, possibly broken or malicious, party wrote, in the shape
//! of `fuzz/hostile_test.go`: a region image built from a seeded random
//! stream (header fields, positions, record words, the consumer's and the
//! producer table's fields), then the producer and the consumer run on it.
//!
//! Opening must refuse the image cleanly or accept it. The consumer must
//! then deliver exactly the records spec section 7's checks accept (the
//! reference walk below, written apart from the consumer), in order, and
//! stop where the walk stops: corrupt at that record, or nothing ready.
//! Then the other party keeps rewriting head, tail, record words and the
//! parties' fields between the calls of a producer and a consumer: only
//! typed errors, every slice inside the data area, no write outside the
//! region (canary bytes after it, and the identity fields, stay as they
//! were) and no hang (a watchdog).
//!
//! `LOGBUF_HOSTILE_CASES=N` runs N cases (default 3000) from seed
//! `LOGBUF_HOSTILE_SEED` (default 1); a failure names its seed.

use std::sync::atomic::Ordering;
use std::time::Duration;

use super::{open, tmp};
use crate::layout::*;
use crate::testrec::XorShift64Star;
use crate::{Error, Ring, TryClaimError};

const CANARY: u8 = 0xA5;
/// Canary bytes after the data area: a longer file is allowed (section
/// 10), and those bytes are not part of the ring.
const AFTER: usize = 4096;

/// The random stream a case is drawn from.
struct Input(XorShift64Star);

impl Input {
    fn u64(&mut self) -> u64 {
        self.0.next()
    }
    fn byte(&mut self) -> u8 {
        self.u64() as u8
    }
    fn u16(&mut self) -> u16 {
        self.u64() as u16
    }
}

/// A head position: small, near 2^64, arbitrary, or laps in.
fn hostile_pos(inp: &mut Input, capacity: u64) -> u64 {
    match inp.byte() % 4 {
        0 => inp.u16() as u64 * 8,
        1 => (inp.u16() as u64 * 8).wrapping_neg(),
        2 => inp.u64(),
        _ => inp.u16() as u64 * capacity + inp.byte() as u64 * 8,
    }
}

/// `tail - head`: mostly aligned and within capacity.
fn hostile_span(inp: &mut Input, capacity: u64) -> u64 {
    let v = inp.u16() as u64;
    match inp.byte() {
        0..0xE0 => (v % (capacity + 8)) & !7,
        0xE0..0xF0 => capacity,
        _ => v, // unaligned, or more than capacity
    }
}

/// A record header word: each kind with small lengths, sometimes lap and
/// owner bits, sometimes anything.
fn hostile_word(inp: &mut Input, capacity: u64) -> u64 {
    const KINDS: [u64; 8] = [
        0,
        KIND_CLAIMED,
        KIND_COMMITTED,
        KIND_PADDING,
        KIND_ABORTED,
        KIND_UNBLOCKED,
        KIND_COMMITTED,
        KIND_COMMITTED,
    ];
    let b = inp.byte();
    if b >= 0xF8 {
        return inp.u64();
    }
    let kind = KINDS[(b & 7) as usize];
    let mut n = inp.byte() as u64;
    match (b >> 3) & 3 {
        1 => n = n * 8 % (capacity + 8),
        2 => n = (capacity / 8 + n % 16).saturating_sub(8),
        3 => n |= (inp.byte() as u64) << 8,
        _ => {}
    }
    let mut w = kind << 56 | n;
    if b >> 5 == 7 {
        w |= (inp.u16() as u64) << 32; // lap and owner bits
    }
    w
}

/// How far a well-formed word of this kind reaches.
fn extent(w: u64) -> u64 {
    match word_kind(w) {
        KIND_COMMITTED | KIND_CLAIMED => record_size(word_len(w)),
        0 => 8,
        _ => (word_len(w) & !7).max(8),
    }
}

/// A word a producer could have written at `pos`: a record or skip that
/// fits before the wrap point, or padding to it.
fn good_word(inp: &mut Input, capacity: u64, pos: u64) -> u64 {
    let off = pos % capacity;
    let max_payload = capacity / 8;
    let n = 1 + inp.u64() % max_payload;
    if off + record_size(n) > capacity {
        return word(KIND_PADDING, 0, 0, capacity - off);
    }
    match inp.byte() % 8 {
        0 => word(KIND_ABORTED, 0, 0, record_size(n)),
        1 => word(KIND_UNBLOCKED, 0, 0, record_size(n)),
        2 => word(
            KIND_CLAIMED,
            inp.byte() as u64 % 33,
            (pos / capacity) & 0xFFFF,
            n,
        ),
        _ => word(KIND_COMMITTED, 0, 0, n),
    }
}

/// A small move of a position: mostly by whole words.
fn nudge(inp: &mut Input, v: u64) -> u64 {
    let d = inp.byte() as i8 as i64;
    v.wrapping_add(if inp.byte() < 0xC0 { d * 8 } else { d } as u64)
}

fn put32(img: &mut [u8], off: usize, v: u32) {
    img[off..off + 4].copy_from_slice(&v.to_le_bytes());
}
fn put64(img: &mut [u8], off: usize, v: u64) {
    img[off..off + 8].copy_from_slice(&v.to_le_bytes());
}

/// A region image (without the canary bytes after it).
fn hostile_image(inp: &mut Input) -> Vec<u8> {
    let capacity = 64u64 << (inp.byte() % 7);
    let mut size = HEADER_SIZE + capacity as usize;
    if let b @ 0xF8.. = inp.byte() {
        size -= (b - 0xF7) as usize; // too short for its capacity
    }
    let mut img = vec![0u8; size];
    put64(&mut img, OFF_MAGIC, MAGIC);
    put32(&mut img, OFF_VERSION, VERSION);
    put32(&mut img, OFF_HEADER_SIZE, HEADER_SIZE as u32);
    put64(&mut img, OFF_CAPACITY, capacity);
    put32(&mut img, OFF_LINE_SIZE, LINE_SIZE);
    put32(&mut img, OFF_PRODUCER_SLOTS, PRODUCER_SLOTS as u32);
    let f = inp.byte();
    put32(
        &mut img,
        OFF_FLAGS,
        if f >= 0xF0 { f as u32 } else { (f & 1) as u32 },
    );
    if let b @ 0xF8.. = inp.byte() {
        // break one identity field, or head
        let fields = [
            OFF_MAGIC,
            OFF_VERSION,
            OFF_HEADER_SIZE,
            OFF_CAPACITY,
            OFF_LINE_SIZE,
            OFF_PRODUCER_SLOTS,
            OFF_FLAGS,
            OFF_HEAD,
        ];
        put32(&mut img, fields[(b & 7) as usize], inp.u64() as u32);
    }
    let head = hostile_pos(inp, capacity);
    let tail = head.wrapping_add(hostile_span(inp, capacity));
    put64(&mut img, OFF_HEAD, head);
    put64(&mut img, OFF_TAIL, tail);
    hostile_parties(inp, &mut img, head, tail);
    // Record words and payload bytes, laid out from head so that
    // well-formed chains are easy to reach.
    let data_len = size - HEADER_SIZE;
    // Half the images lay out mostly well-formed chains, as producers
    // would, so that the reader gets deep before it meets the broken word.
    let well_formed = inp.byte() < 0x80;
    let mut pos = head;
    for _ in 0..inp.byte() % 32 {
        let mut w = hostile_word(inp, capacity);
        if well_formed && inp.byte() < 0xE0 {
            w = good_word(inp, capacity, pos);
        }
        let step = inp.byte();
        let off = (pos % capacity) as usize;
        match step {
            0..0xC0 => {
                if off + 8 <= data_len {
                    put64(&mut img, HEADER_SIZE + off, w);
                }
                pos = pos.wrapping_add(extent(w));
            }
            0xC0..0xF0 => {
                for i in 0..(step & 0x3F) as usize {
                    if off + 8 + i < data_len {
                        img[HEADER_SIZE + off + 8 + i] = i as u8 ^ step;
                    }
                }
            }
            _ => {
                let off = (inp.u16() as u64 % capacity) as usize;
                if off + 8 <= data_len {
                    put64(&mut img, HEADER_SIZE + off, w);
                }
            }
        }
    }
    img
}

/// A lease: FREE, this process's (held), a dead process's, DETACHED or
/// CLOSED with any holder, a state the spec does not define, or anything.
fn hostile_lease(inp: &mut Input) -> u64 {
    let (me, my_start) = crate::proc::me();
    let pid = match inp.byte() % 4 {
        0 => 0,
        1 => me,
        2 => 0x3F_FF00 | inp.byte() as u32, // no such process
        _ => inp.u64() as u32 & 0xFF_FFFF,
    };
    let start = match inp.byte() % 3 {
        0 => my_start,
        1 => my_start + 1,
        _ => inp.u64(),
    };
    match inp.byte() % 8 {
        0 => 0,
        1 => lease(STATE_ATTACHED, me, my_start),
        2 => lease(STATE_ATTACHED, me, my_start + 1), // gone
        3 | 4 => lease(inp.byte() as u64 % 4, pid, start),
        5 => lease(4 + inp.byte() as u64 % 12, pid, start), // no such state
        6 => lease(STATE_ATTACHED, pid, start),
        _ => inp.u64(),
    }
}

/// The parties' records and the release words: the consumer's lease and
/// some producer entries', and `releasing` with its counts (a consumer that
/// died mid-release, or garbage).
fn hostile_parties(inp: &mut Input, img: &mut [u8], head: u64, tail: u64) {
    if inp.byte() < 0x80 {
        let l = hostile_lease(inp);
        put64(img, OFF_CONSUMER + PARTY_LEASE, l);
    }
    for _ in 0..inp.byte() % 4 {
        let e = entry_offset(inp.byte() as usize % PRODUCER_SLOTS);
        let l = hostile_lease(inp);
        put64(img, e + PARTY_LEASE, l);
        put64(
            img,
            e + PARTY_SINCE,
            head.wrapping_add((inp.byte() as i8 as u64).wrapping_mul(8)),
        );
    }
    let b = inp.byte();
    if b >= 0xA0 {
        let rel = match b % 4 {
            0 => head.wrapping_add(inp.byte() as u64 * 8 % (tail.wrapping_sub(head) + 8)),
            1 => head.wrapping_add(inp.byte() as u64 * 8),
            2 => head.wrapping_add(inp.byte() as u64),
            _ => inp.u64(),
        };
        put64(img, OFF_RELEASING, rel);
        put64(img, OFF_READ_RECORDS, inp.byte() as u64);
        put64(img, OFF_RELEASING_RECORDS, inp.byte() as u64);
        put64(img, OFF_RELEASING_BYTES, inp.u64());
    } else {
        put64(img, OFF_RELEASING, head);
    }
}

/// What attaching a consumer must do (spec sections 8 and 7.2), from the
/// image alone: refuse a held or broken lease, refuse a broken `releasing`,
/// or finish the release it describes. `Ok(head)` is where reading starts.
fn ref_attach(img: &[u8], capacity: u64, head: u64, tail: u64) -> Result<u64, &'static str> {
    let get = |off: usize| u64::from_le_bytes(img[off..off + 8].try_into().unwrap());
    let l = get(OFF_CONSUMER + PARTY_LEASE);
    let st = l >> 60;
    if (st == 0 && l != 0) || st > 3 {
        return Err("lease");
    }
    if st == 1 && crate::proc::alive((l & 0xFF_FFFF) as u32, (l >> 24) & ((1 << 36) - 1)) {
        return Err("busy");
    }
    let rel = get(OFF_RELEASING);
    if rel == head {
        return Ok(head);
    }
    let span = rel.wrapping_sub(head);
    if rel % 8 != 0 || span > tail.wrapping_sub(head) {
        return Err("releasing");
    }
    if get(OFF_RELEASING_RECORDS).wrapping_sub(get(OFF_READ_RECORDS)) > span / 16 {
        return Err("releasing_records");
    }
    let _ = capacity;
    Ok(rel)
}

/// Spec section 7 applied to a snapshot of the data area, from head to
/// tail, without releasing: the committed records a consumer must deliver
/// (position, length), where it must stop, and whether the word there is
/// corrupt (or says "nothing yet"). Written from the spec apart from the
/// consumer, as fuzz/hostile_test.go's refWalk is.
fn ref_walk(
    data: &[u8],
    capacity: u64,
    mpsc: bool,
    head: u64,
    tail: u64,
) -> (Vec<(u64, u64)>, u64, bool) {
    let max_payload = capacity / 8;
    let mut recs = Vec::new();
    let mut pos = head;
    loop {
        if pos.wrapping_sub(head) == capacity {
            return (recs, pos, false); // a whole ring read: the word here is head's
        }
        let off = pos % capacity;
        let w = u64::from_le_bytes(data[off as usize..off as usize + 8].try_into().unwrap());
        let (kind, n) = (w >> 56, w & 0xFFFF_FFFF);
        let (owner, lap) = ((w >> 48) & 0xFF, (w >> 32) & 0xFFFF);
        if w == 0 {
            return (recs, pos, false);
        }
        if kind != KIND_CLAIMED && (w >> 32) & 0xFF_FFFF != 0 {
            return (recs, pos, true);
        }
        let size = match kind {
            KIND_CLAIMED
                if (1..=max_payload).contains(&n)
                    && lap == (pos / capacity) & 0xFFFF
                    && if mpsc { owner <= 32 } else { owner == 1 } =>
            {
                (8 + n + 7) & !7
            }
            KIND_COMMITTED if (1..=max_payload).contains(&n) => (8 + n + 7) & !7,
            KIND_PADDING | KIND_ABORTED | KIND_UNBLOCKED
                if n >= 8
                    && n % 8 == 0
                    && !(kind == KIND_ABORTED && n > (8 + max_payload + 7) & !7)
                    && !(kind == KIND_PADDING && off + n != capacity) =>
            {
                n
            }
            _ => return (recs, pos, true),
        };
        if off + size > capacity || tail.wrapping_sub(pos) < size {
            return (recs, pos, true);
        }
        if kind == KIND_CLAIMED {
            return (recs, pos, false); // a valid stamp: a producer is writing
        }
        if kind == KIND_COMMITTED {
            recs.push((pos, n));
        }
        pos = pos.wrapping_add(size);
    }
}

/// What must not change: the bytes after the region, and the identity
/// fields no party writes.
struct Guard {
    identity: Vec<u8>,
}

impl Guard {
    fn check(&self, seed: u64, what: &str, path: &std::path::Path, region: usize) {
        let img = std::fs::read(path).unwrap();
        assert!(
            img[region..].iter().all(|&b| b == CANARY),
            "seed {seed}: {what} wrote past the region"
        );
        assert_eq!(
            img[..0x24],
            self.identity[..],
            "seed {seed}: {what} wrote an identity field"
        );
    }
}

/// Whether `b` lies inside the data area of `ring`.
fn inside(ring: &Ring, b: &[u8]) -> bool {
    let lo = ring.data(0) as usize;
    let hi = lo + ring.capacity() as usize;
    let p = b.as_ptr() as usize;
    p >= lo && p + b.len() <= hi
}

fn run_case(seed: u64) {
    let mut inp = Input(XorShift64Star::new(seed.max(1)).unwrap());
    let mut img = hostile_image(&mut inp);
    let region = img.len();
    let f = tmp();
    let capacity = u64::from_le_bytes(img[OFF_CAPACITY..OFF_CAPACITY + 8].try_into().unwrap());
    if (region as u64) < HEADER_SIZE as u64 + capacity {
        // Too short for its capacity: canary bytes after it would be read
        // as part of it, so none; open must refuse it.
        std::fs::write(&f.0, &img).unwrap();
        assert!(
            open(&f.0).is_err(),
            "seed {seed}: a truncated region opened"
        );
        return;
    }
    img.resize(region + AFTER, CANARY);
    std::fs::write(&f.0, &img).unwrap();
    let guard = Guard {
        identity: img[..0x24].to_vec(),
    };
    let ring = match open(&f.0) {
        Ok(r) => r,
        Err(e) => {
            assert!(!matches!(e, Error::Io { .. }), "seed {seed}: {e}");
            return;
        }
    };
    let cap = ring.capacity();
    let mut snapshot = img[HEADER_SIZE..HEADER_SIZE + cap as usize].to_vec();
    let (head, tail) = (ring.head(), ring.tail());
    let start = ref_attach(&img, cap, head, tail);
    let mut c = match (ring.consumer(), start) {
        (Ok(c), Ok(start)) => {
            assert_eq!(ring.head(), start, "seed {seed}: head after attach");
            c
        }
        (Err(Error::ConsumerBusy { .. }), Err("busy")) => {
            guard.check(seed, "a refused consumer", &f.0, region);
            return;
        }
        (Err(Error::Corrupt(e)), Err(field)) if e.field() == field => {
            guard.check(seed, "a refused consumer", &f.0, region);
            return;
        }
        (got, want) => panic!("seed {seed}: consumer attach gave {got:?}, want {want:?}"),
    };
    // The release attaching finished: those bytes read as zero now.
    for p in head..start.unwrap() {
        snapshot[(p % cap) as usize] = 0;
    }
    let (recs, stop, corrupt) = ref_walk(
        &snapshot,
        cap,
        ring.mode() == crate::Mode::Mpsc,
        ring.head(),
        tail,
    );

    // Phase 1: nobody else writes. The consumer follows the walk exactly.
    let mut next = 0;
    let mut last = Ok(0);
    for calls in 0.. {
        assert!(
            calls < recs.len() + 64,
            "seed {seed}: the consumer does not stop"
        );
        let max = 1 + inp.byte() as usize % 8;
        last = c.read_batch(max, |r| {
            assert!(
                inside(&ring, &r),
                "seed {seed}: a record outside the data area"
            );
            assert!(
                next < recs.len(),
                "seed {seed}: delivered more than the walk accepts"
            );
            assert_eq!(
                (r.position(), r.len() as u64),
                recs[next],
                "seed {seed}: record {next}"
            );
            next += 1;
        });
        if !matches!(last, Ok(1..)) {
            break;
        }
    }
    assert_eq!(next, recs.len(), "seed {seed}: records delivered");
    match last {
        Ok(0) if !corrupt => {}
        Err(e) if corrupt => assert_eq!(
            (e.field(), e.offset()),
            ("record", stop),
            "seed {seed}: {e}"
        ),
        other => {
            panic!("seed {seed}: stopped with {other:?}, walk says corrupt={corrupt} at {stop}")
        }
    }
    drop(c);
    guard.check(seed, "the consumer", &f.0, region);

    // Phase 2: the other party rewrites head, tail, words and the parties'
    // fields between the calls of a producer and a consumer.
    hostile_parties_run(&mut inp, &ring, seed);
    guard.check(seed, "a producer or the consumer", &f.0, region);
}

fn hostile_parties_run(inp: &mut Input, ring: &Ring, seed: u64) {
    let cap = ring.capacity();
    let max_payload = ring.max_payload();
    let b = inp.byte();
    if b & 1 != 0 {
        let h = nudge(inp, ring.head());
        ring.h64(OFF_HEAD).store(h, Ordering::SeqCst);
    }
    if b & 2 != 0 {
        let t = nudge(inp, ring.tail());
        ring.h64(OFF_TAIL).store(t, Ordering::SeqCst);
    }
    let attach_ok = |e: &Error| {
        matches!(
            e,
            Error::Corrupt(_) | Error::ProducerBusy { .. } | Error::ConsumerBusy { .. }
        )
    };
    let mut p = match ring.producer() {
        Ok(p) => p,
        Err(e) => return assert!(attach_ok(&e), "seed {seed}: producer: {e}"),
    };
    let mut c = match ring.consumer() {
        Ok(c) => c,
        Err(e) => return assert!(attach_ok(&e), "seed {seed}: consumer: {e}"),
    };
    c.set_recovery(Some(Duration::ZERO), None);
    let record_ok = |r: &[u8]| {
        assert!(
            inside(ring, r) && r.len() <= max_payload,
            "seed {seed}: record outside"
        )
    };
    // One step of the other party or of the consumer.
    let mut step = |inp: &mut Input, b: u8| match b % 9 {
        0 => {
            // the other party moves tail or head
            let mut v = nudge(inp, ring.tail());
            if b & 16 != 0 {
                v = inp.u64();
            }
            let off = if b & 32 != 0 { OFF_HEAD } else { OFF_TAIL };
            ring.h64(off).store(v, Ordering::SeqCst);
        }
        1 => {
            // or writes a word anywhere in the data area
            let pos = (inp.u16() as u64 % cap) & !7;
            let w = if b & 16 != 0 {
                good_word(inp, cap, pos)
            } else {
                hostile_word(inp, cap)
            };
            ring.word_at(pos).store(w, Ordering::SeqCst);
        }
        5 | 6 => {
            let _ = c.read_batch(inp.byte() as usize % 8, |r| record_ok(&r));
        }
        7 => {
            let timeout = Duration::from_micros(inp.byte() as u64 % 3 * 500);
            // Records, Timeout, EndOfStream or Corrupt: each is an answer.
            let _ = c.recv_batch(1 + inp.byte() as usize % 8, Some(timeout), |r| {
                record_ok(&r)
            });
        }
        8 => {
            // or the parties' records and the release words
            let off = match inp.byte() % 3 {
                0 => OFF_CONSUMER + PARTY_LEASE,
                1 => entry_offset(inp.byte() as usize % PRODUCER_SLOTS) + PARTY_LEASE,
                _ => OFF_RELEASING,
            };
            let v = if off == OFF_RELEASING {
                nudge(inp, ring.head())
            } else {
                hostile_lease(inp)
            };
            ring.h64(off).store(v, Ordering::SeqCst);
        }
        _ => {}
    };
    let mut steps = 0;
    while steps < 64 {
        steps += 1;
        let b = inp.byte();
        if !matches!(b % 9, 2 | 3) {
            step(inp, b);
            continue;
        }
        let n = inp.byte() as usize % (max_payload + 2);
        let mut cl = match p.try_claim(n) {
            Ok(cl) => cl,
            Err(TryClaimError::ZeroLength) => {
                assert_eq!(n, 0, "seed {seed}");
                continue;
            }
            Err(TryClaimError::TooLarge) => {
                assert!(n > max_payload, "seed {seed}");
                continue;
            }
            Err(_) => continue, // Full, Closed, Corrupt: each is an answer
        };
        assert!(
            inside(ring, &cl) && cl.len() == n,
            "seed {seed}: claim outside"
        );
        for (i, x) in cl.iter_mut().enumerate() {
            *x = i as u8;
        }
        // Other steps while the claim is open, until one ends it.
        loop {
            let b = inp.byte();
            if b % 9 == 4 || steps >= 64 {
                match b >> 6 {
                    0 => cl.abort(),
                    1 => std::mem::forget(cl), // a claim its producer never ends
                    _ => {
                        let _ = cl.commit();
                    }
                }
                break;
            }
            steps += 1;
            step(inp, b);
        }
    }
}

#[test]
fn hostile_regions() {
    let cases: u64 = std::env::var("LOGBUF_HOSTILE_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3000);
    let seed0: u64 = std::env::var("LOGBUF_HOSTILE_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1);
    // The watchdog: a case that hangs fails the test, naming its seed.
    let (tx, rx) = std::sync::mpsc::channel();
    let current = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(seed0));
    let cur = current.clone();
    std::thread::spawn(move || {
        let r = std::panic::catch_unwind(|| {
            for seed in seed0..seed0 + cases {
                cur.store(seed, Ordering::SeqCst);
                run_case(seed);
            }
        });
        let _ = tx.send(r);
    });
    let mut last = (seed0, std::time::Instant::now());
    loop {
        match rx.recv_timeout(Duration::from_secs(1)) {
            Ok(Ok(())) => return,
            Ok(Err(p)) => std::panic::resume_unwind(p),
            Err(_) => {
                let seed = current.load(Ordering::SeqCst);
                if seed != last.0 {
                    last = (seed, std::time::Instant::now());
                } else {
                    assert!(
                        last.1.elapsed() < Duration::from_secs(60),
                        "seed {seed} hangs (LOGBUF_HOSTILE_SEED={seed} LOGBUF_HOSTILE_CASES=1 to rerun)"
                    );
                }
            }
        }
    }
}
