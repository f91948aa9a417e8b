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
//! - only *finished* (fully explored, failed) configurations are inserted;
//!   this is what makes dominance pruning complete (see `wgl.rs`);
//! - lookups hash only (C, s) (a Zobrist hash of C, maintained by the
//!   search, mixed with the state's hash); entries with the same hash are
//!   chained and compared exactly.

use std::collections::HashMap;

use super::bitset::{Bitset, BuildIdentity};

const NONE: u32 = u32::MAX;

/// Failed configurations, with dominance lookups.
#[derive(Debug)]
pub(crate) struct FailedCache<S> {
    heads: HashMap<u64, u32, BuildIdentity>,
    next: Vec<u32>,
    words: Vec<u64>,
    states: Vec<S>,
    nwords: usize,
    /// Bits of `info` ops.
    info_mask: Vec<u64>,
    has_info: bool,
}

impl<S: Eq> FailedCache<S> {
    /// A cache for sets of `n` ops whose info ops are `info_mask`.
    pub(crate) fn new(info_mask: &Bitset) -> Self {
        let info_mask = info_mask.words().to_vec();
        FailedCache {
            heads: HashMap::default(),
            next: Vec::new(),
            words: Vec::new(),
            states: Vec::new(),
            nwords: info_mask.len(),
            has_info: info_mask.iter().any(|&w| w != 0),
            info_mask,
        }
    }

    /// Whether a stored configuration dominates (`bits`, `state`).
    pub(crate) fn dominated(&self, hash: u64, bits: &Bitset, state: &S) -> bool {
        let Some(&head) = self.heads.get(&hash) else {
            return false;
        };
        let b = bits.words();
        let mut e = head;
        while e != NONE {
            let i = e as usize;
            if &self.states[i] == state {
                let stored = &self.words[i * self.nwords..(i + 1) * self.nwords];
                let ok = if self.has_info {
                    stored
                        .iter()
                        .zip(b)
                        .zip(&self.info_mask)
                        .all(|((&s, &c), &m)| {
                            // same completed ops, stored info ops a subset
                            (s ^ c) & !m == 0 && s & m & !c == 0
                        })
                } else {
                    stored == b
                };
                if ok {
                    return true;
                }
            }
            e = self.next[i];
        }
        false
    }

    /// Records that (`bits`, `state`) was fully explored and failed.
    pub(crate) fn insert(&mut self, hash: u64, bits: &Bitset, state: S) {
        let id = u32::try_from(self.states.len()).unwrap_or(NONE - 1);
        let prev = self.heads.insert(hash, id).unwrap_or(NONE);
        self.next.push(prev);
        self.words.extend_from_slice(bits.words());
        self.states.push(state);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dominance_needs_same_completed_ops_and_fewer_info_ops() {
        // ops 0,1 completed; 2,3 info
        let mut info = Bitset::new(4);
        info.set(2);
        info.set(3);
        let mut cache = FailedCache::new(&info);
        let mut stored = Bitset::new(4);
        stored.set(0);
        stored.set(2);
        cache.insert(7, &stored, 5u32);

        let mut more_info = stored.clone();
        more_info.set(3);
        assert!(cache.dominated(7, &stored, &5));
        assert!(cache.dominated(7, &more_info, &5));
        assert!(!cache.dominated(7, &more_info, &6), "other state");
        assert!(!cache.dominated(8, &more_info, &5), "other hash");

        let mut fewer_info = Bitset::new(4);
        fewer_info.set(0);
        assert!(
            !cache.dominated(7, &fewer_info, &5),
            "stored has more info ops"
        );
        let mut other_completed = stored.clone();
        other_completed.set(1);
        assert!(!cache.dominated(7, &other_completed, &5));
    }
}
