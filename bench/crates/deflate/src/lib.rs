//! deflate: miniz_oxide (pure-Rust miniz) over generated semi-repetitive data. Raw
//! DEFLATE at levels 1 and 9, zlib at level 6 (Adler-32), a streaming compressor with
//! the RLE and Filtered strategies fed in odd-sized chunks, and streaming inflate into a
//! small output window; every result is decompressed and compared with the input. The
//! checksum folds compressed lengths and an FNV hash of the compressed bytes.

use miniz_oxide::deflate::core::{CompressionStrategy, CompressorOxide};
use miniz_oxide::deflate::{compress_to_vec, compress_to_vec_zlib};
use miniz_oxide::inflate::stream::{inflate, InflateState};
use miniz_oxide::inflate::{decompress_to_vec, decompress_to_vec_zlib};
use miniz_oxide::{DataFormat, MZFlush, MZStatus};

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

const WORDS: &[&str] = &[
    "lorem", "ipsum", "dolor", "sit", "amet", "consectetur", "adipiscing", "elit", "sed",
    "do", "eiusmod", "tempor", "incididunt", "ut", "labore", "et", "dolore", "magna",
    "aliqua", "enim", "ad", "minim", "veniam", "quis", "nostrud", "exercitation",
    "ullamco", "laboris", "nisi", "aliquip", "ex", "ea", "commodo", "consequat",
];

/// ~`n` bytes in four kinds of stretches: prose from a small vocabulary (Zipf-ish word
/// choice), CSV-like rows of numbers, runs of one byte, and noise from the LCG; plus
/// copies of earlier stretches at varying distances (long matches).
fn gen(r: &mut Lcg, n: usize) -> Vec<u8> {
    let mut v = Vec::with_capacity(n + 4096);
    while v.len() < n {
        match r.below(16) {
            0..=6 => {
                for _ in 0..20 + r.below(80) {
                    let a = r.below(WORDS.len() as u32);
                    let b = r.below(a + 1);
                    v.extend_from_slice(WORDS[b as usize].as_bytes());
                    v.push(if r.below(12) == 0 { b'.' } else { b' ' });
                }
                v.push(b'\n');
            }
            7..=9 => {
                for _ in 0..5 + r.below(30) {
                    let row = r.below(10_000);
                    for c in 0..6 {
                        let x = row * (c + 1) + r.below(50);
                        v.extend_from_slice(x.to_string().as_bytes());
                        v.push(if c == 5 { b'\n' } else { b',' });
                    }
                }
            }
            10 => {
                let b = r.below(256) as u8;
                for _ in 0..r.below(3000) {
                    v.push(b);
                }
            }
            11 => {
                for _ in 0..r.below(1500) {
                    v.push(r.next() as u8);
                }
            }
            _ => {
                if v.len() > 1000 {
                    let dist = 1 + r.below(v.len().min(40_000) as u32) as usize;
                    let len = 16 + r.below(2000) as usize;
                    let start = v.len() - dist;
                    for i in 0..len {
                        let b = v[start + i % dist];
                        v.push(b);
                    }
                }
            }
        }
    }
    v.truncate(n);
    v
}

struct Acc(u32);

impl Acc {
    fn add(&mut self, v: usize) {
        self.0 = (self.0 ^ v as u32).wrapping_mul(0x0100_0193).rotate_left(3);
    }
    fn bytes(&mut self, b: &[u8]) {
        let mut h: u32 = 0x811c_9dc5;
        for &x in b {
            h = (h ^ x as u32).wrapping_mul(0x0100_0193);
        }
        self.add(h as usize);
        self.add(b.len());
    }
}

/// Streaming compression through a 4 KiB output buffer, input fed in odd-sized chunks.
fn stream_compress(data: &[u8], c: &mut CompressorOxide, r: &mut Lcg) -> Vec<u8> {
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    let mut pos = 0;
    loop {
        let chunk = (1 + r.below(20_000) as usize).min(data.len() - pos);
        let last = pos + chunk == data.len();
        let flush = if last { MZFlush::Finish } else { MZFlush::None };
        let mut input = &data[pos..pos + chunk];
        loop {
            let res = miniz_oxide::deflate::stream::deflate(c, input, &mut buf, flush);
            input = &input[res.bytes_consumed..];
            out.extend_from_slice(&buf[..res.bytes_written]);
            match res.status {
                Ok(MZStatus::StreamEnd) => return out,
                Ok(_) => {}
                Err(e) => panic!("deflate: {e:?}"),
            }
            if input.is_empty() && !last {
                break;
            }
        }
        pos += chunk;
    }
}

/// Streaming decompression through a 3000-byte output window.
fn stream_decompress(data: &[u8], format: DataFormat) -> Vec<u8> {
    let mut st = InflateState::new_boxed(format);
    let mut out = Vec::new();
    let mut buf = [0u8; 3000];
    let mut input = data;
    loop {
        let res = inflate(&mut st, input, &mut buf, MZFlush::None);
        input = &input[res.bytes_consumed..];
        out.extend_from_slice(&buf[..res.bytes_written]);
        match res.status {
            Ok(MZStatus::StreamEnd) => return out,
            Ok(_) => {}
            Err(e) => panic!("inflate: {e:?}"),
        }
    }
}

#[no_mangle]
pub extern "C" fn run() -> u32 {
    let mut r = Lcg(0xdef1_a7e0_0000_0042);
    let mut acc = Acc(0x1234_5678);
    let data = gen(&mut r, 600_000);
    acc.bytes(&data);
    let mut ok = 0;

    for level in [1u8, 9] {
        let c = compress_to_vec(&data, level);
        acc.bytes(&c);
        let d = decompress_to_vec(&c).unwrap();
        ok += (d == data) as usize;
        let d2 = stream_decompress(&c, DataFormat::Raw);
        ok += (d2 == data) as usize;
    }

    let z = compress_to_vec_zlib(&data, 6);
    acc.bytes(&z);
    ok += (decompress_to_vec_zlib(&z).unwrap() == data) as usize;

    for (strategy, level) in [(CompressionStrategy::RLE, 6u8), (CompressionStrategy::Filtered, 4)] {
        let mut c = CompressorOxide::with_params(DataFormat::Zlib, level, strategy, 15);
        let s = stream_compress(&data, &mut c, &mut r);
        acc.bytes(&s);
        ok += (stream_decompress(&s, DataFormat::Zlib) == data) as usize;
    }

    // Many small independent messages (fresh compressor state each time).
    let mut off = 0;
    let mut small = 0;
    while off + 4096 <= data.len() {
        let len = 64 + r.below(4000) as usize;
        let msg = &data[off..off + len];
        let c = compress_to_vec(msg, 1 + (small % 9) as u8);
        acc.add(c.len());
        ok += (decompress_to_vec(&c).unwrap() == msg) as usize;
        off += len * 3;
        small += 1;
    }
    acc.add(small);
    acc.add(ok);
    acc.0
}
