//! Hash maps keyed by addresses the allocator gave (exnrefs, payload starts). Neither
//! wasm nor JS chooses those, so the maps need no defence against chosen keys, and
//! SipHash was the largest cost of reclaiming exceptions (a third of the instructions,
//! with 260,000 kept exceptions per reclamation).

use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasherDefault, Hasher};

/// A multiplicative hash of one word, folded so that the low bits (the table's bucket
/// index) depend on all of it: addresses share their low bits (alignment) and often
/// their high ones.
#[derive(Default, Clone, Copy)]
pub(crate) struct AddressHasher(u64);

impl Hasher for AddressHasher {
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.write_u64(self.0.rotate_left(8) ^ u64::from(b));
        }
    }

    fn write_u64(&mut self, word: u64) {
        let h = (self.0 ^ word).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        self.0 = h ^ (h >> 32);
    }

    fn write_usize(&mut self, word: usize) {
        self.write_u64(word as u64);
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

pub(crate) type AddressMap<K, V> = HashMap<K, V, BuildHasherDefault<AddressHasher>>;
pub(crate) type AddressSet<K> = HashSet<K, BuildHasherDefault<AddressHasher>>;
