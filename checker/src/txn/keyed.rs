//! [`KeyedIndex`]: one record per (key, value) of a history (an append's
//! element, a register write), grouped by key.
//!
//! Invariants: each key's records are one contiguous slice of `entries`,
//! sorted by value, so the records of a busy key share a few cache lines (a
//! hash table would scatter them, and lookups were then mostly cache
//! misses); a (key, value) given twice is reported, never kept twice.

use crate::txn::intern::{KeyId, Val};

/// Records by key, then value.
#[derive(Debug, Clone, Default)]
pub struct KeyedIndex<R> {
    /// `entries[offsets[k]..offsets[k + 1]]` are key `k`'s records.
    offsets: Vec<u32>,
    entries: Vec<(Val, R)>,
}

/// A (key, value) given twice: the key, the value and both records, in the
/// order they were given.
pub type Duplicate<R> = (KeyId, Val, R, R);

impl<R: Copy + Default> KeyedIndex<R> {
    /// Builds the index of `keys` keys from the records `each` yields; `each`
    /// is called twice and must yield the same records both times.
    pub fn build(
        keys: usize,
        each: impl Fn(&mut dyn FnMut(KeyId, Val, R)),
    ) -> Result<KeyedIndex<R>, Duplicate<R>> {
        let mut offsets = vec![0u32; keys + 1];
        each(&mut |k, _, _| offsets[k as usize + 1] += 1);
        for k in 0..keys {
            offsets[k + 1] += offsets[k];
        }
        let mut entries = vec![(0, R::default()); offsets[keys] as usize];
        let mut fill = offsets.clone();
        each(&mut |k, v, r| {
            let at = &mut fill[k as usize];
            entries[*at as usize] = (v, r);
            *at += 1;
        });
        for k in 0..keys {
            let slice = &mut entries[offsets[k] as usize..offsets[k + 1] as usize];
            // Stable: equal values stay in the order given.
            slice.sort_by_key(|&(v, _)| v);
            if let Some(pair) = slice.windows(2).find(|w| w[0].0 == w[1].0) {
                return Err((k as KeyId, pair[0].0, pair[0].1, pair[1].1));
            }
        }
        Ok(KeyedIndex { offsets, entries })
    }

    fn range(&self, key: KeyId) -> Option<(usize, usize)> {
        let a = *self.offsets.get(key as usize)?;
        let b = *self.offsets.get(key as usize + 1)?;
        Some((a as usize, b as usize))
    }

    /// The record of (`key`, `value`), if any.
    pub fn get(&self, key: KeyId, value: Val) -> Option<&R> {
        let (a, b) = self.range(key)?;
        let slice = &self.entries[a..b];
        let i = slice.binary_search_by_key(&value, |&(v, _)| v).ok()?;
        Some(&slice[i].1)
    }

    /// The record of (`key`, `value`), if any, to update.
    pub fn get_mut(&mut self, key: KeyId, value: Val) -> Option<&mut R> {
        let (a, b) = self.range(key)?;
        let slice = &mut self.entries[a..b];
        let i = slice.binary_search_by_key(&value, |&(v, _)| v).ok()?;
        Some(&mut slice[i].1)
    }

    /// Every record as (key, value, record), by key then value.
    pub fn iter(&self) -> impl Iterator<Item = (KeyId, Val, &R)> + '_ {
        self.offsets.windows(2).enumerate().flat_map(move |(k, w)| {
            self.entries[w[0] as usize..w[1] as usize]
                .iter()
                .map(move |(v, r)| (k as KeyId, *v, r))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_by_key_finds_values_and_reports_duplicates() {
        let items = [(1u32, 9u32, 'a'), (0, 5, 'b'), (1, 3, 'c'), (0, 7, 'd')];
        let index = KeyedIndex::build(3, |f| {
            for &(k, v, r) in &items {
                f(k, v, r);
            }
        })
        .expect("no duplicates");
        assert_eq!(index.get(1, 3), Some(&'c'));
        assert_eq!(index.get(0, 9), None);
        assert_eq!(index.get(7, 1), None, "unknown key");
        let all: Vec<(KeyId, Val, char)> = index.iter().map(|(k, v, r)| (k, v, *r)).collect();
        assert_eq!(
            all,
            vec![(0, 5, 'b'), (0, 7, 'd'), (1, 3, 'c'), (1, 9, 'a')]
        );
        let dup = KeyedIndex::build(2, |f| {
            f(1, 4, 'x');
            f(0, 4, 'y');
            f(1, 4, 'z');
        });
        assert_eq!(dup.err(), Some((1, 4, 'x', 'z')));
    }
}
