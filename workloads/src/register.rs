//! The register workload: reads, writes and compare-and-sets over
//! independent keys. Every value written to a key is unique for that key,
//! so a read names exactly the write it observed.

use std::collections::BTreeMap;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::{Value, json};

use crate::{KeySlots, Mix, OpKind, OpRequest, keys::key_name};

pub struct RegisterWorkload {
    rng: ChaCha8Rng,
    mix: Mix,
    pub(crate) keys: KeySlots,
    /// Per key: the last value handed out for writing (values start at 1).
    last_value: BTreeMap<u64, u64>,
}

impl RegisterWorkload {
    pub fn new(seed: u64, mix: Mix, keys: KeySlots) -> Self {
        Self {
            rng: ChaCha8Rng::seed_from_u64(seed),
            mix,
            keys,
            last_value: BTreeMap::new(),
        }
    }

    pub fn next_op(&mut self) -> OpRequest {
        let id = self.keys.take(&mut self.rng);
        let kind = self.mix.pick(&mut self.rng);
        let value = match kind {
            OpKind::Write | OpKind::Append => json!(self.fresh_value(id)),
            OpKind::Cas => {
                let last = self.last_value.get(&id).copied().unwrap_or(0);
                // Expect one of the few latest values, so that many cas
                // operations succeed and some fail.
                let from = if last == 0 {
                    Value::Null
                } else {
                    json!(self.rng.random_range(last.saturating_sub(2).max(1)..=last))
                };
                json!([from, self.fresh_value(id)])
            }
            OpKind::Read => Value::Null,
        };
        let f = if kind == OpKind::Append {
            OpKind::Write
        } else {
            kind
        };
        OpRequest {
            f,
            key: key_name(id),
            value,
        }
    }

    fn fresh_value(&mut self, id: u64) -> u64 {
        let last = self.last_value.entry(id).or_insert(0);
        *last += 1;
        *last
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    fn workload(seed: u64) -> RegisterWorkload {
        let mix = Mix::new([("read", 1), ("write", 1), ("cas", 1)]).unwrap();
        RegisterWorkload::new(seed, mix, KeySlots::new(2, 50))
    }

    #[test]
    fn written_values_are_unique_per_key() {
        let mut w = workload(3);
        let mut seen = BTreeSet::new();
        for _ in 0..500 {
            let op = w.next_op();
            let written = match op.f {
                OpKind::Write => op.value.clone(),
                OpKind::Cas => op.value[1].clone(),
                _ => continue,
            };
            assert!(
                seen.insert((op.key.clone(), written.to_string())),
                "{op:?} repeats a value"
            );
        }
    }

    #[test]
    fn same_seed_same_ops() {
        let (mut a, mut b) = (workload(9), workload(9));
        for _ in 0..100 {
            assert_eq!(a.next_op(), b.next_op());
        }
    }
}
