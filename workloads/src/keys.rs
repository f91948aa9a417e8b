//! Independent keys: a few in use at once, each retired after a fixed
//! number of operations.

use rand::Rng;

/// The keys in use, and how many operations each has had.
#[derive(Clone, Debug)]
pub struct KeySlots {
    /// `(key id, operations handed out)` per slot.
    active: Vec<(u64, usize)>,
    next_id: u64,
    ops_per_key: usize,
}

impl KeySlots {
    pub fn new(slots: usize, ops_per_key: usize) -> KeySlots {
        let slots = slots.max(1);
        KeySlots {
            active: (0..slots as u64).map(|id| (id, 0)).collect(),
            next_id: slots as u64,
            ops_per_key: ops_per_key.max(1),
        }
    }

    /// Picks a key for the next operation; a key that has had its share of
    /// operations is replaced by a fresh one.
    pub fn take(&mut self, rng: &mut impl Rng) -> u64 {
        let slot = rng.random_range(0..self.active.len());
        let (id, ops) = &mut self.active[slot];
        let key = *id;
        *ops += 1;
        if *ops >= self.ops_per_key {
            self.active[slot] = (self.next_id, 0);
            self.next_id += 1;
        }
        key
    }

    /// Every key id handed out so far (fresh keys may not have been used).
    pub fn used(&self) -> Vec<String> {
        (0..self.next_id).map(key_name).collect()
    }
}

pub fn key_name(id: u64) -> String {
    format!("k{id}")
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    use super::*;

    #[test]
    fn no_key_gets_more_than_its_share() {
        let mut slots = KeySlots::new(3, 10);
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let mut counts: BTreeMap<u64, usize> = BTreeMap::new();
        for _ in 0..1000 {
            *counts.entry(slots.take(&mut rng)).or_default() += 1;
        }
        assert!(counts.values().all(|c| *c <= 10));
        assert!(counts.len() >= 100, "keys are retired and replaced");
    }
}
