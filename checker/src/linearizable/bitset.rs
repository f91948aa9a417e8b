//! Compact sets of op indices and the cheap hashing the search relies on.
//!
//! Invariants:
//! - [`Bitset`] has a fixed capacity set at construction; bits past it are
//!   always zero;
//! - a [`Zobrist`] hash of a set is the XOR of its members' keys, so adding
//!   or removing one member updates the hash in O(1); keys come from a fixed
//!   seed, so runs are reproducible.

use std::hash::{BuildHasherDefault, Hash, Hasher};

/// A fixed-capacity set of small integers.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Bitset {
    words: Vec<u64>,
}

impl Bitset {
    /// An empty set that can hold `0..capacity`.
    pub fn new(capacity: usize) -> Self {
        Bitset {
            words: vec![0; capacity.div_ceil(64)],
        }
    }

    /// Adds `i`.
    #[inline]
    pub fn set(&mut self, i: usize) {
        self.words[i / 64] |= 1 << (i % 64);
    }

    /// Removes `i`.
    #[inline]
    pub fn clear(&mut self, i: usize) {
        self.words[i / 64] &= !(1 << (i % 64));
    }

    /// Whether `i` is in the set.
    #[inline]
    pub fn contains(&self, i: usize) -> bool {
        self.words[i / 64] & (1 << (i % 64)) != 0
    }

    /// The raw words.
    #[inline]
    pub fn words(&self) -> &[u64] {
        &self.words
    }

    /// Number of members.
    pub fn count(&self) -> usize {
        self.words.iter().map(|w| w.count_ones() as usize).sum()
    }
}

/// Per-member random keys for incremental set hashing.
#[derive(Debug, Clone)]
pub struct Zobrist {
    keys: Vec<u64>,
}

impl Zobrist {
    /// Keys for members `0..n`.
    pub fn new(n: usize) -> Self {
        // splitmix64 from a fixed seed: deterministic and well mixed.
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        let keys = (0..n)
            .map(|_| {
                x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
                let mut z = x;
                z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
                z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
                z ^ (z >> 31)
            })
            .collect();
        Zobrist { keys }
    }

    /// The key of member `i`.
    #[inline]
    pub fn key(&self, i: usize) -> u64 {
        self.keys[i]
    }
}

/// A small, fast, non-cryptographic hasher (the Fx hash of rustc) for spec
/// states.
#[derive(Debug, Default, Clone, Copy)]
pub struct FxHasher {
    hash: u64,
}

const FX_SEED: u64 = 0x51_7c_c1_b7_27_22_0a_95;

impl FxHasher {
    #[inline]
    fn add(&mut self, word: u64) {
        self.hash = (self.hash.rotate_left(5) ^ word).wrapping_mul(FX_SEED);
    }
}

impl Hasher for FxHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let mut b = [0u8; 8];
            b.copy_from_slice(c);
            self.add(u64::from_le_bytes(b));
        }
        for &b in chunks.remainder() {
            self.add(u64::from(b));
        }
    }
    #[inline]
    fn write_u8(&mut self, i: u8) {
        self.add(u64::from(i));
    }
    #[inline]
    fn write_u32(&mut self, i: u32) {
        self.add(u64::from(i));
    }
    #[inline]
    fn write_u64(&mut self, i: u64) {
        self.add(i);
    }
    #[inline]
    fn write_usize(&mut self, i: usize) {
        self.add(i as u64);
    }
    #[inline]
    fn finish(&self) -> u64 {
        self.hash
    }
}

/// Hashes a value with [`FxHasher`].
#[inline]
pub fn fx_hash<T: Hash + ?Sized>(v: &T) -> u64 {
    let mut h = FxHasher::default();
    v.hash(&mut h);
    h.finish()
}

/// A hasher for keys that already are good hashes.
#[derive(Debug, Default, Clone, Copy)]
pub struct IdentityHasher(u64);

impl Hasher for IdentityHasher {
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(b);
        }
    }
    #[inline]
    fn write_u64(&mut self, i: u64) {
        self.0 = i;
    }
    #[inline]
    fn finish(&self) -> u64 {
        self.0
    }
}

/// `BuildHasher` for [`IdentityHasher`].
pub type BuildIdentity = BuildHasherDefault<IdentityHasher>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_clear_contains_count() {
        let mut b = Bitset::new(130);
        for i in [0, 63, 64, 129] {
            assert!(!b.contains(i));
            b.set(i);
            assert!(b.contains(i));
        }
        assert_eq!(b.count(), 4);
        b.clear(64);
        assert!(!b.contains(64) && b.contains(63) && b.contains(129));
        assert_eq!(b.count(), 3);
    }

    #[test]
    fn zobrist_keys_are_distinct() {
        let z = Zobrist::new(10_000);
        let mut keys: Vec<u64> = (0..10_000).map(|i| z.key(i)).collect();
        keys.sort_unstable();
        keys.dedup();
        assert_eq!(keys.len(), 10_000);
    }
}

/// A set of `0..n` that is mostly a full prefix: it tracks `lo`, the first
/// word that is not full, and `hi`, one past the last non-zero word, so the
/// set is described exactly by `(lo, words[lo..hi])` (its *window*).
/// Linearized sets in a search look like this: everything before the
/// concurrency frontier, plus a few ops after it.
#[derive(Debug, Clone)]
pub struct PrefixBitset {
    words: Vec<u64>,
    bits: usize,
    lo: usize,
    hi: usize,
}

impl PrefixBitset {
    /// An empty set of `0..bits`.
    pub fn new(bits: usize) -> Self {
        PrefixBitset {
            words: vec![0; bits.div_ceil(64)],
            bits,
            lo: 0,
            hi: 0,
        }
    }

    #[inline]
    fn full(&self, w: usize) -> u64 {
        let rem = self.bits - w * 64;
        if rem >= 64 {
            u64::MAX
        } else {
            (1u64 << rem) - 1
        }
    }

    /// Adds `i`.
    #[inline]
    pub fn set(&mut self, i: usize) {
        let w = i / 64;
        self.words[w] |= 1 << (i % 64);
        self.hi = self.hi.max(w + 1);
        while self.lo < self.words.len() && self.words[self.lo] == self.full(self.lo) {
            self.lo += 1;
        }
    }

    /// Removes `i`.
    #[inline]
    pub fn clear(&mut self, i: usize) {
        let w = i / 64;
        self.words[w] &= !(1 << (i % 64));
        self.lo = self.lo.min(w);
        while self.hi > 0 && self.words[self.hi - 1] == 0 {
            self.hi -= 1;
        }
    }

    /// `(lo, words[lo..hi])`: equal windows mean equal sets.
    #[inline]
    pub fn window(&self) -> (usize, &[u64]) {
        let hi = self.hi.max(self.lo);
        (self.lo, &self.words[self.lo..hi])
    }
}

#[cfg(test)]
mod prefix_tests {
    use super::*;

    #[test]
    fn windows_are_canonical() {
        let mut a = PrefixBitset::new(200);
        let mut b = PrefixBitset::new(200);
        for i in 0..130 {
            a.set(i);
        }
        for i in (0..130).rev() {
            b.set(i);
        }
        a.set(150);
        b.set(150);
        b.set(199);
        b.clear(199);
        assert_eq!(a.window(), b.window());
        assert_eq!(a.window().0, 2);
        a.clear(3);
        assert_eq!(a.window().0, 0);
        assert_ne!(a.window(), b.window());
        for i in 130..200 {
            a.set(i);
        }
        a.set(3);
        assert_eq!(a.window(), (4, &[][..]));
    }
}
