//! The set workload: unique appends to independent keys, plus occasional
//! reads; the final reads decide whether acknowledged appends were lost.

use std::collections::BTreeMap;

use checker::{Availability, CheckSettings, Checker, SetChecker, StatsChecker};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde_json::{Value, json};

use crate::{
    FinalReads, Generator, GeneratorParams, KeySlots, Mix, OpKind, OpRequest, Workload,
    keys::key_name,
};

/// `kind: set`.
pub struct Set;

impl Workload for Set {
    fn name(&self) -> &'static str {
        "set"
    }

    fn ops(&self) -> &'static [OpKind] {
        &[OpKind::Append, OpKind::Read]
    }

    fn default_mix(&self) -> &'static [(OpKind, u32)] {
        &[(OpKind::Append, 10), (OpKind::Read, 1)]
    }

    fn check_mix(&self, mix: &Mix) -> Result<(), String> {
        if mix.contains(OpKind::Append) {
            Ok(())
        } else {
            Err("the set workload needs `append` in its mix".into())
        }
    }

    fn final_reads(&self) -> FinalReads {
        FinalReads::Always
    }

    fn checkers(&self, settings: &CheckSettings) -> Vec<Box<dyn Checker>> {
        vec![
            Box::new(SetChecker),
            Box::new(Availability {
                min_ok_share: settings.min_ok_share,
            }),
            Box::new(StatsChecker),
        ]
    }

    fn generator(&self, params: GeneratorParams) -> Box<dyn Generator> {
        Box::new(SetGenerator::new(
            params.seed,
            params.mix,
            KeySlots::new(params.keys, params.ops_per_key),
        ))
    }
}

/// The set workload's op stream.
pub struct SetGenerator {
    rng: ChaCha8Rng,
    mix: Mix,
    keys: KeySlots,
    next_element: BTreeMap<u64, u64>,
}

impl SetGenerator {
    pub fn new(seed: u64, mix: Mix, keys: KeySlots) -> Self {
        Self {
            rng: ChaCha8Rng::seed_from_u64(seed),
            mix,
            keys,
            next_element: BTreeMap::new(),
        }
    }
}

impl Generator for SetGenerator {
    fn next_op(&mut self) -> OpRequest {
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

    fn keys_used(&self) -> Vec<String> {
        self.keys.used()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn appends_are_unique_per_key() {
        let mix = Mix::new([("append", 5), ("read", 1)]).unwrap();
        let mut w = SetGenerator::new(1, mix, KeySlots::new(3, 40));
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
