//! The search's memory of configurations that are known to fail.
//!
//! A configuration is (set of linearized ops, spec state). The set splits
//! into completed ops `C` and `info` ops `I`. (C, I', s) *dominates*
//! (C, I, s) when I' ⊆ I: the one that linearized fewer info ops can do
//! everything the other can (info ops may always be left out and never
//! constrain other ops). So once (C, I', s) has been fully explored and
//! failed, any dominated configuration fails too and is skipped.
//!
//! Invariants:
//! - only *finished* (fully explored, failed) configurations are inserted
//!   (see `wgl.rs` for why this keeps dominance pruning complete);
//! - lookups hash only (C, s) (a Zobrist hash of C, maintained by the
//!   search, mixed with the state's hash); entries with the same hash are
//!   chained and compared exactly;
//! - entries are compact: C as its [`PrefixBitset`] window, I in full
//!   (info ops are few).

use std::collections::HashMap;

use super::bitset::{Bitset, BuildIdentity, PrefixBitset};

const NONE: u32 = u32::MAX;

#[derive(Debug, Clone, Copy)]
struct Entry {
    next: u32,
    lo: u32,
    /// Start of the C window, then the I words, in `words`.
    at: u32,
    len: u32,
}

/// Failed configurations, with dominance lookups.
#[derive(Debug)]
pub(crate) struct FailedCache<S> {
    heads: HashMap<u64, u32, BuildIdentity>,
    entries: Vec<Entry>,
    words: Vec<u64>,
    states: Vec<S>,
    /// Heap bytes the stored states own (as their owners reported).
    states_heap: usize,
}

impl<S: Eq> FailedCache<S> {
    /// An empty cache.
    pub(crate) fn new() -> Self {
        FailedCache {
            heads: HashMap::default(),
            entries: Vec::new(),
            words: Vec::new(),
            states: Vec::new(),
            states_heap: 0,
        }
    }

    /// Bytes the cache holds (from capacities; a hash table slot is
    /// counted as its key, value and control byte).
    pub(crate) fn bytes(&self) -> usize {
        self.heads.capacity() * (size_of::<(u64, u32)>() + 1)
            + self.entries.capacity() * size_of::<Entry>()
            + self.words.capacity() * size_of::<u64>()
            + self.states.capacity() * size_of::<S>()
            + self.states_heap
    }

    /// Bytes the next [`insert`](Self::insert) of a configuration of
    /// `words` words (window and info) may newly allocate: the new buffer
    /// of each container that is full (the old one is in
    /// [`bytes`](Self::bytes) until the copy is done). 0 when all have
    /// room.
    pub(crate) fn insert_growth(&self, words: usize) -> usize {
        fn grown<T>(v: &Vec<T>, add: usize) -> usize {
            if v.len() + add <= v.capacity() {
                0
            } else {
                (v.capacity() * 2).max(v.len() + add).max(4) * size_of::<T>()
            }
        }
        let heads = if self.heads.len() >= self.heads.capacity() {
            (self.heads.capacity() * 2).max(4) * (size_of::<(u64, u32)>() + 1)
        } else {
            0
        };
        heads + grown(&self.entries, 1) + grown(&self.words, words) + grown(&self.states, 1)
    }

    /// Whether a stored configuration dominates (`done`, `info`, `state`).
    pub(crate) fn dominated(
        &self,
        hash: u64,
        done: &PrefixBitset,
        info: &Bitset,
        state: &S,
    ) -> bool {
        let Some(&head) = self.heads.get(&hash) else {
            return false;
        };
        let (lo, window) = done.window();
        let info = info.words();
        let mut e = head;
        while e != NONE {
            let entry = self.entries[e as usize];
            let at = entry.at as usize;
            if entry.lo as usize == lo
                && entry.len as usize == window.len()
                && &self.words[at..at + window.len()] == window
                && &self.states[e as usize] == state
            {
                let stored_info = &self.words[at + window.len()..at + window.len() + info.len()];
                if stored_info.iter().zip(info).all(|(&s, &c)| s & !c == 0) {
                    return true;
                }
            }
            e = entry.next;
        }
        false
    }

    /// Records that (`done`, `info`, `state`) was fully explored and failed;
    /// `state_heap` is the heap bytes `state` owns.
    pub(crate) fn insert(
        &mut self,
        hash: u64,
        done: &PrefixBitset,
        info: &Bitset,
        state: S,
        state_heap: usize,
    ) {
        self.states_heap += state_heap;
        let id = self.entries.len() as u32;
        let next = self.heads.insert(hash, id).unwrap_or(NONE);
        let (lo, window) = done.window();
        self.entries.push(Entry {
            next,
            lo: lo as u32,
            at: self.words.len() as u32,
            len: window.len() as u32,
        });
        self.words.extend_from_slice(window);
        self.words.extend_from_slice(info.words());
        self.states.push(state);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dominance_needs_same_completed_ops_and_fewer_info_ops() {
        let mut cache = FailedCache::new();
        let mut done = PrefixBitset::new(100);
        done.set(0);
        done.set(70);
        let mut info = Bitset::new(4);
        info.set(2);
        assert!(cache.insert_growth(3) > 0, "an empty cache allocates");
        cache.insert(7, &done, &info, 5u32, 0);
        assert!(cache.bytes() > 0);

        let mut more_info = info.clone();
        more_info.set(3);
        assert!(cache.dominated(7, &done, &info, &5));
        assert!(cache.dominated(7, &done, &more_info, &5));
        assert!(!cache.dominated(7, &done, &more_info, &6), "other state");
        assert!(!cache.dominated(8, &done, &more_info, &5), "other hash");
        assert!(
            !cache.dominated(7, &done, &Bitset::new(4), &5),
            "stored has more info ops"
        );
        let mut other = done.clone();
        other.set(1);
        assert!(!cache.dominated(7, &other, &info, &5));
    }
}
