//! hashes: RustCrypto hash crates through the `digest` 0.10 traits (generic code,
//! `GenericArray` outputs, block buffering): SHA-256, SHA-512 (sha2, portable code:
//! `force-soft`), SHA3-256, Keccak-256 and SHAKE128 (sha3/keccak), BLAKE2b-512 and
//! BLAKE2s-256 (blake2), and CRC-32 (crc32fast, no std). Buffers of many sizes (empty,
//! sub-block, block edges, tens of KiB), hashed in one shot and incrementally in
//! irregular pieces (which must agree), and a hash chain. The checksum folds digests.

use blake2::{Blake2b512, Blake2s256};
use sha2::{Digest, Sha256, Sha512};
use sha3::digest::{ExtendableOutput, Update, XofReader};
use sha3::{Keccak256, Sha3_256, Shake128};

struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u32 {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (self.0 >> 33) as u32
    }
    fn below(&mut self, n: u32) -> u32 {
        self.next() % n
    }
}

struct Acc(u32);

impl Acc {
    fn digest(&mut self, d: &[u8]) {
        for w in d.chunks(4) {
            let mut x = 0u32;
            for (i, &b) in w.iter().enumerate() {
                x |= (b as u32) << (8 * i);
            }
            self.add(x);
        }
    }
    fn add(&mut self, x: u32) {
        self.0 = (self.0 ^ x).wrapping_mul(0x9e37_79b1).rotate_left(13);
    }
}

/// One-shot digest, and the same data fed in pieces whose sizes come from `r`; they
/// must agree (a mismatch shows in the checksum).
fn both<D: Digest>(data: &[u8], r: &mut Lcg, acc: &mut Acc) {
    let one = D::digest(data);
    let mut h = D::new();
    let mut p = 0;
    while p < data.len() {
        let n = (1 + r.below(300) as usize).min(data.len() - p);
        Digest::update(&mut h, &data[p..p + n]);
        p += n;
    }
    let inc = h.finalize();
    acc.digest(&one);
    acc.add((one == inc) as u32);
}

#[no_mangle]
pub extern "C" fn run() -> u32 {
    let mut r = Lcg(0x4a5b_0000_0000_c0de);
    let mut acc = Acc(0x2545_f491);
    let mut pool = vec![0u8; 1 << 16];
    for b in pool.iter_mut() {
        *b = r.next() as u8;
    }

    // Sizes: every length 0..=200 (block boundaries of 64, 72, 128, 136, 168), then
    // random lengths up to 64 KiB.
    let mut sizes: Vec<usize> = (0..=200).collect();
    for _ in 0..60 {
        sizes.push(r.below(1 << 16) as usize);
    }
    for round in 0..2 {
        for &n in &sizes {
            let start = r.below((pool.len() - n + 1) as u32) as usize;
            let data = &pool[start..start + n];
            both::<Sha256>(data, &mut r, &mut acc);
            both::<Sha512>(data, &mut r, &mut acc);
            both::<Sha3_256>(data, &mut r, &mut acc);
            both::<Keccak256>(data, &mut r, &mut acc);
            both::<Blake2b512>(data, &mut r, &mut acc);
            both::<Blake2s256>(data, &mut r, &mut acc);
            let mut crc = crc32fast::Hasher::new();
            crc.update(data);
            acc.add(crc.finalize());
            acc.add(crc32fast::hash(data) ^ round);
        }
        // Mutate the pool from the digests so round 2 hashes different data.
        let d = Sha512::digest(&pool[..1024]);
        for (i, b) in pool.iter_mut().enumerate() {
            *b ^= d[i % 64].wrapping_add(i as u8);
        }
    }

    // SHAKE128 with long outputs.
    for k in 0..16usize {
        let mut x = Shake128::default();
        Update::update(&mut x, &pool[k * 1000..k * 1000 + 500 + k * 97]);
        let mut rd = x.finalize_xof();
        let mut out = vec![0u8; 4000 + k * 311];
        rd.read(&mut out);
        acc.digest(&out[out.len() - 64..]);
        acc.add(crc32fast::hash(&out));
    }

    // A hash chain: each digest, extended with a counter, is the next input.
    let mut cur = Sha256::digest(b"heldout6").to_vec();
    for i in 0u32..3000 {
        cur.extend_from_slice(&i.to_le_bytes());
        cur = match i % 3 {
            0 => Sha3_256::digest(&cur).to_vec(),
            1 => Blake2s256::digest(&cur).to_vec(),
            _ => Sha256::digest(&cur).to_vec(),
        };
    }
    acc.digest(&cur);
    acc.0
}
