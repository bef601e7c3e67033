//! Runs several `testprod` processes against one MPSC ring while this test
//! consumes with the crate's consumer, and checks every record with the
//! TEST-RECORDS checker.

use std::process::Command;
use std::time::Duration;

use logbuf_shm::testrec;
use logbuf_shm::{Mode, RecvError, Ring};

#[test]
fn three_testprod_processes() {
    let path = std::env::temp_dir().join(format!("logbuf-testprod-{}.ring", std::process::id()));
    let _ = std::fs::remove_file(&path);
    // SAFETY: this test and its testprod children follow the protocol.
    let ring = unsafe { Ring::create(&path, 1 << 14, Mode::Mpsc) }.unwrap();
    let mut c = ring.consumer().unwrap();
    const COUNT: u64 = 20_000;
    let mut kids: Vec<_> = (1..=3u32)
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
    let mut next = [0u64; 4];
    let mut got = 0;
    let mut bad = None;
    loop {
        match c.recv_batch(256, Some(Duration::from_secs(60)), |r| {
            match testrec::check(&r) {
                Ok((id, seq)) if id <= 3 && seq == next[id as usize] => next[id as usize] += 1,
                other => {
                    bad = bad
                        .take()
                        .or(Some(format!("{other:?} at {}", r.position())))
                }
            }
            got += 1;
        }) {
            Ok(_) => {}
            Err(RecvError::EndOfStream) => break,
            Err(e) => panic!("after {got} records: {e}"),
        }
    }
    assert_eq!(bad, None);
    assert_eq!(got, 3 * COUNT);
    for k in &mut kids {
        assert!(k.wait().unwrap().success());
    }
    let s = ring.stats();
    assert_eq!((s.records_written, s.records_read), (3 * COUNT, 3 * COUNT));
    assert_eq!(s.bytes_written, s.bytes_read);
    let _ = std::fs::remove_file(&path);
}

#[test]
fn testprod_errors() {
    let out = Command::new(env!("CARGO_BIN_EXE_testprod"))
        .args(["/nonexistent/ring", "1", "1", "1"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("testprod: logbuf: open ring file /nonexistent/ring"),
        "{stderr}"
    );
    let out = Command::new(env!("CARGO_BIN_EXE_testprod"))
        .args(["x", "1", "1", "0"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}
