//! The set workload: unique appends to independent keys, plus occasional
//! reads; the final reads decide whether acknowledged appends were lost.

use std::collections::BTreeMap;

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde_json::{Value, json};

use crate::{KeySlots, Mix, OpKind, OpRequest, keys::key_name};

pub struct SetWorkload {
    rng: ChaCha8Rng,
    mix: Mix,
    pub(crate) keys: KeySlots,
    next_element: BTreeMap<u64, u64>,
}

impl SetWorkload {
    pub fn new(seed: u64, mix: Mix, keys: KeySlots) -> Self {
        Self {
            rng: ChaCha8Rng::seed_from_u64(seed),
            mix,
            keys,
            next_element: BTreeMap::new(),
        }
    }

    pub fn next_op(&mut self) -> OpRequest {
        let id = self.keys.take(&mut self.rng);
        match self.mix.pick(&mut self.rng) {
            OpKind::Read => OpRequest {
                f: OpKind::Read,
                key: key_name(id),
                value: Value::Null,
            },
            _ => {
                let element = self.next_element.entry(id).or_insert(0);
                *element += 1;
                OpRequest {
                    f: OpKind::Append,
                    key: key_name(id),
                    value: json!(*element),
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn appends_are_unique_per_key() {
        let mix = Mix::new([("append", 5), ("read", 1)]).unwrap();
        let mut w = SetWorkload::new(1, mix, KeySlots::new(3, 40));
        let mut seen = std::collections::BTreeSet::new();
        let mut reads = 0;
        for _ in 0..600 {
            let op = w.next_op();
            match op.f {
                OpKind::Append => assert!(seen.insert((op.key.clone(), op.value.to_string()))),
                OpKind::Read => reads += 1,
                other => panic!("unexpected {other:?}"),
            }
        }
        assert!(reads > 0);
    }
}
