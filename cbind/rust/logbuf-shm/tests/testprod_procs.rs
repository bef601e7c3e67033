//! Runs several `testprod` processes against one MPSC ring while this test
//! consumes (a bare consumer: section 7 without validation) and checks every
//! record with the TEST-RECORDS checker.

use std::process::Command;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use logbuf_shm::layout::*;
use logbuf_shm::testrec;
use logbuf_shm::{Mode, Ring};

#[test]
fn three_testprod_processes() {
    let path = std::env::temp_dir().join(format!("logbuf-testprod-{}.ring", std::process::id()));
    let ring = Ring::create(&path, 1 << 14, Mode::Mpsc).unwrap();
    const COUNT: u64 = 20_000;
    let kids: Vec<_> = (1..=3u32)
        .map(|id| {
            Command::new(env!("CARGO_BIN_EXE_testprod"))
                .arg(&path)
                .arg(id.to_string())
                .arg(COUNT.to_string())
                .arg((0x9E37_79B9u64 * id as u64).to_string())
                .spawn()
                .unwrap()
        })
        .collect();
    let cap = ring.capacity();
    let mut next = [0u64; 4];
    let mut got = 0;
    let mut h = ring.head();
    let deadline = Instant::now() + Duration::from_secs(60);
    while got < 3 * COUNT {
        assert!(Instant::now() < deadline, "stuck at {h}, got {got}");
        let w = ring.word_at(h).load(Ordering::Acquire);
        let kind = word_kind(w);
        if w == 0 || kind == KIND_CLAIMED {
            std::thread::yield_now();
            continue;
        }
        let off = h & (cap - 1);
        let data = unsafe { ring.base_ptr().add(HEADER_SIZE + off as usize) };
        let size = if kind == KIND_COMMITTED {
            let rec = unsafe { std::slice::from_raw_parts(data.add(8), word_len(w) as usize) };
            let (id, seq) = testrec::check(rec).unwrap();
            assert_eq!(seq, next[id as usize], "producer {id}");
            next[id as usize] += 1;
            got += 1;
            record_size(word_len(w))
        } else {
            word_len(w)
        };
        unsafe { std::ptr::write_bytes(data, 0, size as usize) };
        h += size;
        ring.header_u64(OFF_HEAD).store(h, Ordering::Release);
    }
    for mut k in kids {
        assert!(k.wait().unwrap().success());
    }
    let recs: u64 = (0..3)
        .map(|i| {
            ring.header_u64(OFF_PRODUCER_TABLE + PRODUCER_ENTRY_SIZE * i + ENT_RECORDS)
                .load(Ordering::SeqCst)
        })
        .sum();
    assert_eq!(recs, 3 * COUNT);
    let _ = std::fs::remove_file(&path);
}

#[test]
fn testprod_errors() {
    let out = Command::new(env!("CARGO_BIN_EXE_testprod"))
        .args(["/nonexistent/ring", "1", "1", "1"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("testprod"));
    let out = Command::new(env!("CARGO_BIN_EXE_testprod"))
        .args(["x", "1", "1", "0"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}
