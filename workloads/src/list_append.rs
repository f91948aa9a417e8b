//! The list-append workload (Elle's): transactions of 1 to
//! [`MAX_MICRO_OPS`] micro-ops, each a read of a whole list (`["r", k,
//! null]`) or an append of an element (`["append", k, e]`), over a rotating
//! pool of keys; checked by the transactional checker against a
//! consistency model (strict-serializable unless the check says
//! otherwise).
//!
//! Invariants:
//! - every element appended to a key is unique for that key (1, 2, 3, ...
//!   per key), so a read names exactly which appends it saw, in which
//!   order; this is what lets the checker infer every key's version order;
//! - keys rotate as in the other workloads ([`KeySlots`]): each micro-op
//!   takes a key from the pool, and a key retires after `ops_per_key`
//!   micro-ops, which keeps lists (and reads) short;
//! - final reads are transactions too (one read micro-op each), so they
//!   feed the same checker: an acknowledged append missing from a final
//!   read is an anti-dependency against real time.

use std::collections::BTreeMap;

use checker::{
    Availability, CheckSettings, Checker, ConsistencyModel, StatsChecker, TxnChecker, TxnOptions,
    TxnWorkload,
};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::{Value, json};

use crate::{
    FinalReads, Generator, GeneratorParams, KeySlots, OpKind, OpRequest, Workload, keys::key_name,
};

/// Most micro-ops in one transaction.
pub const MAX_MICRO_OPS: usize = 4;

/// The model our systems promise, and the default of a run's check.
pub const DEFAULT_MODEL: ConsistencyModel = ConsistencyModel::StrictSerializable;

/// `kind: list-append`.
pub struct ListAppend;

impl Workload for ListAppend {
    fn name(&self) -> &'static str {
        "list-append"
    }

    fn ops(&self) -> &'static [OpKind] {
        &[OpKind::Txn]
    }

    fn default_mix(&self) -> &'static [(OpKind, u32)] {
        &[(OpKind::Txn, 1)]
    }

    fn final_reads(&self) -> FinalReads {
        FinalReads::Always
    }

    fn checkers(&self, settings: &CheckSettings) -> Vec<Box<dyn Checker>> {
        txn_checkers(settings, Some(TxnWorkload::ListAppend))
    }

    fn generator(&self, params: GeneratorParams) -> Box<dyn Generator> {
        Box::new(ListAppendGenerator::new(
            params.seed,
            KeySlots::new(params.keys, params.ops_per_key),
        ))
    }
}

/// The checkers of a transactional history: the transactional checker for
/// `workload` (`None`: told from the micro-ops), judged against the
/// settings' model (default [`DEFAULT_MODEL`]), plus availability and
/// stats.
pub fn txn_checkers(
    settings: &CheckSettings,
    workload: Option<TxnWorkload>,
) -> Vec<Box<dyn Checker>> {
    let options = TxnOptions {
        workload,
        consistency_model: settings.consistency_model.unwrap_or(DEFAULT_MODEL),
        ..TxnOptions::default()
    };
    vec![
        Box::new(TxnChecker::new(options)),
        Box::new(Availability {
            min_ok_share: settings.min_ok_share,
        }),
        Box::new(StatsChecker),
    ]
}

/// The list-append workload's op stream.
pub struct ListAppendGenerator {
    rng: ChaCha8Rng,
    keys: KeySlots,
    /// Per key id: the last element handed out (elements start at 1).
    last_element: BTreeMap<u64, u64>,
}

impl ListAppendGenerator {
    pub fn new(seed: u64, keys: KeySlots) -> Self {
        Self {
            rng: ChaCha8Rng::seed_from_u64(seed),
            keys,
            last_element: BTreeMap::new(),
        }
    }

    fn micro_op(&mut self) -> Value {
        let id = self.keys.take(&mut self.rng);
        if self.rng.random_bool(0.5) {
            json!(["r", key_name(id), null])
        } else {
            let element = self.last_element.entry(id).or_insert(0);
            *element += 1;
            json!(["append", key_name(id), *element])
        }
    }
}

impl Generator for ListAppendGenerator {
    fn next_op(&mut self) -> OpRequest {
        let len = self.rng.random_range(1..=MAX_MICRO_OPS);
        let mops: Vec<Value> = (0..len).map(|_| self.micro_op()).collect();
        OpRequest {
            f: OpKind::Txn,
            key: String::new(),
            value: Value::Array(mops),
        }
    }

    fn keys_used(&self) -> Vec<String> {
        self.keys.used()
    }

    fn final_read(&self, key: &str) -> OpRequest {
        OpRequest {
            f: OpKind::Txn,
            key: key.to_owned(),
            value: json!([["r", key, null]]),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    fn generator(seed: u64) -> ListAppendGenerator {
        ListAppendGenerator::new(seed, KeySlots::new(3, 20))
    }

    #[test]
    fn transactions_mix_reads_and_unique_appends() {
        let mut g = generator(1);
        let mut appended = BTreeSet::new();
        let (mut reads, mut appends, mut lengths) = (0, 0, BTreeSet::new());
        for _ in 0..500 {
            let op = g.next_op();
            assert_eq!(op.f, OpKind::Txn);
            assert_eq!(
                op.history_key(),
                None,
                "a transaction's keys are in its micro-ops"
            );
            let mops = op.value.as_array().expect("a list of micro-ops");
            lengths.insert(mops.len());
            for mop in mops {
                match mop[0].as_str() {
                    Some("r") => {
                        assert!(mop[2].is_null(), "reads are invoked with null");
                        reads += 1;
                    }
                    Some("append") => {
                        let fresh = appended.insert((mop[1].to_string(), mop[2].to_string()));
                        assert!(fresh, "element appended twice to one key: {mop}");
                        appends += 1;
                    }
                    _ => panic!("unexpected micro-op {mop}"),
                }
            }
        }
        assert_eq!(lengths, (1..=MAX_MICRO_OPS).collect(), "1 to 4 micro-ops");
        assert!(
            reads > 400 && appends > 400,
            "{reads} reads, {appends} appends"
        );
        assert!(g.keys_used().len() > 40, "keys rotate");
    }

    #[test]
    fn the_same_seed_gives_the_same_transactions() {
        let (mut a, mut b, mut c) = (generator(7), generator(7), generator(8));
        let take = |g: &mut ListAppendGenerator| (0..50).map(|_| g.next_op()).collect::<Vec<_>>();
        let first = take(&mut a);
        assert_eq!(first, take(&mut b));
        assert_ne!(first, take(&mut c));
    }

    #[test]
    fn a_final_read_is_a_transaction_reading_its_key() {
        let read = generator(1).final_read("k4");
        assert_eq!(read.f, OpKind::Txn);
        assert_eq!(read.value, json!([["r", "k4", null]]));
        assert_eq!(read.key, "k4", "the run names keys no node could read");
        assert_eq!(read.history_key(), None);
    }

    #[test]
    fn its_checker_judges_strict_serializability_unless_told_otherwise() {
        use checker::{Checked, Verdict, txn::generate::TxnGen};
        // A stale read: serializable, but not in real-time order.
        let history = TxnGen {
            seed: 5,
            txns: 100,
            inject: Some(checker::txn::AnomalyType::GSingleRealtime),
            ..TxnGen::default()
        }
        .history()
        .expect("pairs");
        let verdict = |settings: CheckSettings| {
            let checked = Checked::run(&history, &ListAppend.checkers(&settings));
            assert!(checked.get(checker::txn::NAME).is_some());
            checked.verdict()
        };
        assert_eq!(verdict(CheckSettings::default()), Verdict::Invalid);
        let serializable = CheckSettings {
            consistency_model: Some(ConsistencyModel::Serializable),
            ..CheckSettings::default()
        };
        assert_eq!(verdict(serializable), Verdict::Valid);
    }
}
