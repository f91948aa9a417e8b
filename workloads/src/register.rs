//! The register workload: reads, writes and compare-and-sets over
//! independent keys, checked for linearizability. Every value written to a
//! key is unique for that key, so a read names exactly the write it
//! observed.

use std::collections::BTreeMap;

use checker::{Availability, CheckSettings, Checker, Linearizable, StatsChecker};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::{Value, json};

use crate::{
    FinalReads, Generator, GeneratorParams, KeySlots, Mix, OpKind, OpRequest, Workload,
    keys::key_name,
};

/// `kind: register`.
pub struct Register;

impl Workload for Register {
    fn name(&self) -> &'static str {
        "register"
    }

    fn ops(&self) -> &'static [OpKind] {
        &[OpKind::Read, OpKind::Write, OpKind::Cas]
    }

    fn default_mix(&self) -> &'static [(OpKind, u32)] {
        &[(OpKind::Read, 2), (OpKind::Write, 1), (OpKind::Cas, 1)]
    }

    fn final_reads(&self) -> FinalReads {
        FinalReads::IfPlanned
    }

    fn checkers(&self, settings: &CheckSettings) -> Vec<Box<dyn Checker>> {
        vec![
            Box::new(Linearizable::register(settings.clone())),
            Box::new(Availability {
                min_ok_share: settings.min_ok_share,
            }),
            Box::new(StatsChecker),
        ]
    }

    fn generator(&self, params: GeneratorParams) -> Box<dyn Generator> {
        Box::new(RegisterGenerator::new(
            params.seed,
            params.mix,
            KeySlots::new(params.keys, params.ops_per_key),
        ))
    }
}

/// The register workload's op stream.
pub struct RegisterGenerator {
    rng: ChaCha8Rng,
    mix: Mix,
    keys: KeySlots,
    /// Per key: the last value handed out for writing (values start at 1).
    last_value: BTreeMap<u64, u64>,
}

impl RegisterGenerator {
    pub fn new(seed: u64, mix: Mix, keys: KeySlots) -> Self {
        Self {
            rng: ChaCha8Rng::seed_from_u64(seed),
            mix,
            keys,
            last_value: BTreeMap::new(),
        }
    }

    fn fresh_value(&mut self, id: u64) -> u64 {
        let last = self.last_value.entry(id).or_insert(0);
        *last += 1;
        *last
    }
}

impl Generator for RegisterGenerator {
    fn next_op(&mut self) -> OpRequest {
        let id = self.keys.take(&mut self.rng);
        let f = self.mix.pick(&mut self.rng);
        let value = match f {
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
            OpKind::Txn => unreachable!("mix_for refuses ops the register workload lacks"),
        };
        OpRequest {
            f: if f == OpKind::Append {
                OpKind::Write
            } else {
                f
            },
            key: key_name(id),
            value,
        }
    }

    fn keys_used(&self) -> Vec<String> {
        self.keys.used()
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    fn generator(seed: u64) -> RegisterGenerator {
        let mix = Mix::new([("read", 1), ("write", 1), ("cas", 1)]).unwrap();
        RegisterGenerator::new(seed, mix, KeySlots::new(2, 50))
    }

    #[test]
    fn written_values_are_unique_per_key() {
        let mut w = generator(3);
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
        let (mut a, mut b) = (generator(9), generator(9));
        for _ in 0..100 {
            assert_eq!(a.next_op(), b.next_op());
        }
    }
}
