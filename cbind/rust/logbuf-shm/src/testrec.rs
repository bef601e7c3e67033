//! The self-checking payload of spec/TEST-RECORDS.md (a testing convention,
//! not part of the ring protocol).

/// FNV-1a 32-bit.
pub fn fnv1a32(data: &[u8]) -> u32 {
    let mut h: u32 = 0x811C_9DC5;
    for &b in data {
        h ^= b as u32;
        h = h.wrapping_mul(0x0100_0193);
    }
    h
}

/// xorshift64* generator; the state must be non-zero.
#[derive(Clone, Debug)]
pub struct XorShift64Star(u64);

impl XorShift64Star {
    /// `None` if `seed == 0`.
    pub fn new(seed: u64) -> Option<Self> {
        (seed != 0).then_some(XorShift64Star(seed))
    }
    /// Advance and return the next `r`.
    #[allow(clippy::should_implement_trait)]
    pub fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
}

/// Generator of one producer's test records.
#[derive(Clone, Debug)]
pub struct TestRecords {
    id: u32,
    seq: u64,
    rng: XorShift64Star,
    limit: u64,
}

impl TestRecords {
    /// `max_payload` of the target ring; `None` if `seed == 0` or
    /// `max_payload < 16` (no test record fits).
    pub fn new(id: u32, seed: u64, max_payload: usize) -> Option<Self> {
        if max_payload < 16 {
            return None;
        }
        Some(TestRecords {
            id,
            seq: 0,
            rng: XorShift64Star::new(seed)?,
            limit: (max_payload as u64).min(1024),
        })
    }

    /// Sequence number of the next record.
    pub fn seq(&self) -> u64 {
        self.seq
    }

    /// Length of the next record; draws one value from the generator. Call
    /// exactly once per record, then `fill` (possibly several times, on retry).
    pub fn next_len(&mut self) -> usize {
        (16 + self.rng.next() % (self.limit - 15)) as usize
    }

    /// Write record `seq` into `buf` (its whole length).
    pub fn fill(&self, buf: &mut [u8]) {
        fill(self.id, self.seq, buf)
    }

    /// Move on to the next sequence number.
    pub fn advance(&mut self) {
        self.seq += 1;
    }
}

/// Write test record (`id`, `seq`) into `buf`, `buf.len() >= 16`.
pub fn fill(id: u32, seq: u64, buf: &mut [u8]) {
    let k = seq.wrapping_mul(31).wrapping_add(id as u64);
    for (i, b) in buf[16..].iter_mut().enumerate() {
        *b = k.wrapping_add((i as u64).wrapping_mul(7)) as u8;
    }
    let h = fnv1a32(&buf[16..]);
    buf[0..4].copy_from_slice(&id.to_le_bytes());
    buf[4..12].copy_from_slice(&seq.to_le_bytes());
    buf[12..16].copy_from_slice(&h.to_le_bytes());
}

/// Check a test record; returns (id, seq).
pub fn check(buf: &[u8]) -> Result<(u32, u64), String> {
    if buf.len() < 16 {
        return Err(format!("record of {} bytes, < 16", buf.len()));
    }
    let id = u32::from_le_bytes(buf[0..4].try_into().unwrap());
    let seq = u64::from_le_bytes(buf[4..12].try_into().unwrap());
    let h = u32::from_le_bytes(buf[12..16].try_into().unwrap());
    if fnv1a32(&buf[16..]) != h {
        return Err(format!("id {id} seq {seq}: bad hash"));
    }
    let mut want = vec![0u8; buf.len()];
    fill(id, seq, &mut want);
    if want != buf {
        return Err(format!("id {id} seq {seq}: bad fill"));
    }
    Ok((id, seq))
}
