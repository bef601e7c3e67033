//! Single-thread producer latency: claim + copy 64 B + commit, in TSC ticks.
//!
//! Usage: bench64 RING-FILE [CAPACITY spsc|mpsc]
//!
//! With CAPACITY and a mode, (re)creates RING-FILE first. Nothing else may use
//! the ring meanwhile: the benchmark is its own consumer, draining the ring
//! (zeroing records and advancing `head`) outside the timed region whenever
//! free space runs low. 10,000 warm-up operations, then 100,000 samples, each
//! bracketed by RDTSCP. Prints one JSON line.

#[cfg(target_arch = "x86_64")]
fn main() -> std::process::ExitCode {
    match bench::run() {
        Ok(line) => {
            println!("{line}");
            std::process::ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("bench64: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

#[cfg(not(target_arch = "x86_64"))]
fn main() -> std::process::ExitCode {
    eprintln!("bench64: RDTSCP needs x86-64");
    std::process::ExitCode::FAILURE
}

#[cfg(target_arch = "x86_64")]
mod bench {
    use core::arch::x86_64::__rdtscp;
    use std::hint::black_box;

    use logbuf_shm::{Consumer, Mode, Producer, Ring};

    const PAYLOAD: usize = 64;
    const WARMUP: usize = 10_000;
    const SAMPLES: usize = 100_000;

    #[inline(always)]
    fn tsc() -> u64 {
        let mut aux = 0u32;
        // SAFETY: RDTSCP is available on every x86-64 CPU this targets.
        unsafe { __rdtscp(&mut aux) }
    }

    /// Act as the consumer: release everything committed.
    fn drain(c: &mut Consumer<'_>) -> Result<(), String> {
        while c
            .read_batch(usize::MAX, |_| {})
            .map_err(|e| e.to_string())?
            > 0
        {}
        Ok(())
    }

    #[inline(always)]
    fn op(p: &mut Producer<'_>, payload: &[u8; PAYLOAD]) {
        let mut c = p.try_claim(PAYLOAD).expect("claim");
        c.copy_from_slice(black_box(payload));
        c.commit().expect("commit");
    }

    fn percentile(sorted: &[u64], pct: usize) -> u64 {
        sorted[(sorted.len() * pct / 100).min(sorted.len() - 1)]
    }

    pub fn run() -> Result<String, String> {
        let args: Vec<String> = std::env::args().collect();
        let ring = match args.len() {
            // SAFETY: the benchmark is alone on the ring (usage above).
            2 => unsafe { Ring::open(&args[1]) }.map_err(|e| e.to_string())?,
            4 => {
                let cap: u64 = args[2].parse().map_err(|_| "bad CAPACITY")?;
                let mode = match args[3].as_str() {
                    "spsc" => Mode::Spsc,
                    "mpsc" => Mode::Mpsc,
                    m => return Err(format!("bad mode {m:?}")),
                };
                let _ = std::fs::remove_file(&args[1]);
                // SAFETY: as for open.
                unsafe { Ring::create(&args[1], cap, mode) }.map_err(|e| e.to_string())?
            }
            _ => return Err("usage: bench64 RING-FILE [CAPACITY spsc|mpsc]".into()),
        };
        if ring.max_payload() < PAYLOAD {
            return Err(format!("max_payload {} < {PAYLOAD}", ring.max_payload()));
        }
        let mut c = ring.consumer().map_err(|e| e.to_string())?;
        drain(&mut c)?;
        let mut p = ring.producer().map_err(|e| e.to_string())?;
        let payload = [0xA5u8; PAYLOAD];
        // Worst case per operation: padding (< one record) + one record.
        let reserve = 2 * (8 + PAYLOAD as u64);
        let cap = ring.capacity();
        let low = |r: &Ring| cap - r.tail().wrapping_sub(r.head()) < reserve;

        for _ in 0..WARMUP {
            if low(&ring) {
                drain(&mut c)?;
            }
            op(&mut p, &payload);
        }
        let mut samples = Vec::with_capacity(SAMPLES);
        for _ in 0..SAMPLES {
            if low(&ring) {
                drain(&mut c)?;
            }
            let t0 = tsc();
            op(&mut p, &payload);
            let t1 = tsc();
            samples.push(t1.wrapping_sub(t0));
        }
        let mut overhead: Vec<u64> = (0..SAMPLES)
            .map(|_| {
                let t0 = tsc();
                let t1 = tsc();
                t1.wrapping_sub(t0)
            })
            .collect();
        drop(p);
        drain(&mut c)?;
        samples.sort_unstable();
        overhead.sort_unstable();
        Ok(format!(
            "{{\"bench\":\"claim+copy+commit\",\"payload\":{PAYLOAD},\"mode\":\"{}\",\"capacity\":{cap},\
             \"samples\":{SAMPLES},\"unit\":\"tsc_ticks\",\"p50\":{},\"p99\":{},\"max\":{},\
             \"rdtscp_pair_p50\":{}}}",
            match ring.mode() {
                Mode::Spsc => "spsc",
                Mode::Mpsc => "mpsc",
            },
            percentile(&samples, 50),
            percentile(&samples, 99),
            samples[SAMPLES - 1],
            percentile(&overhead, 50),
        ))
    }
}
