//! The compact history types: [`TxnHistory`], [`Txn`], [`Mop`], and
//! [`InputProblem`] (see the module docs of [`crate::txn::history`]).

use std::ops::Range;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::{
    history::{History, Outcome},
    txn::{
        intern::{Interner, KeyId, Val},
        options::TxnWorkload,
    },
};

/// The `f` of transactional operations.
pub const TXN_F: &str = "txn";
/// A read whose value is unknown (`info`/`fail` transactions).
pub const UNKNOWN_READ: u32 = u32::MAX;
/// Problems kept in [`TxnHistory::problems`] (all are counted).
const MAX_PROBLEMS: usize = 10;

/// What a micro-op does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MopKind {
    /// `["r", k, v]`.
    Read,
    /// `["append", k, e]`.
    Append,
    /// `["w", k, v]`.
    Write,
}

/// One micro-op.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Mop {
    /// Append: the element; write: the value; list read: start of its
    /// elements in the arena; register read: the value read ([`NIL`](crate::txn::intern::NIL) for
    /// `null`).
    pub value: u32,
    /// The key.
    pub key: KeyId,
    /// List read: number of elements; any read: [`UNKNOWN_READ`] when its
    /// value is unknown; 0 otherwise.
    pub len: u32,
    /// What it does.
    pub kind: MopKind,
}

impl Mop {
    /// Whether this is a read whose value is known.
    pub fn is_known_read(&self) -> bool {
        self.kind == MopKind::Read && self.len != UNKNOWN_READ
    }
}

/// One transaction: a `txn` operation of the history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Txn {
    /// Index of the operation in `History::ops`.
    pub op: usize,
    /// The client process.
    pub process: u64,
    /// How it ended.
    pub outcome: Outcome,
    /// Position of its invocation in `History::events`.
    pub invoke: usize,
    /// Position of its completion, if any.
    pub complete: Option<usize>,
    mops: (u32, u32),
}

impl Txn {
    /// Range of its micro-ops in the arena.
    pub fn mop_range(&self) -> Range<usize> {
        self.mops.0 as usize..self.mops.1 as usize
    }
}

/// Why a history cannot be checked as transactions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, thiserror::Error)]
#[serde(tag = "problem", rename_all = "kebab-case")]
pub enum InputProblem {
    /// A `txn` value that is not a list of micro-ops.
    #[error("op {op}: a txn value must be a list of micro-ops, found {found}")]
    NotATxn {
        /// Index in `History::ops`.
        op: usize,
        /// What was found.
        found: String,
    },
    /// A malformed micro-op.
    #[error("op {op}, micro-op {mop}: {what}")]
    BadMop {
        /// Index in `History::ops`.
        op: usize,
        /// Position in the transaction.
        mop: usize,
        /// What is wrong.
        what: String,
    },
    /// Writes (appends) must be unique per key: a read names one writer.
    #[error("ops {first} and {op} both write {value} to key {key}; writes must be unique per key")]
    DuplicateWrite {
        /// The key (JSON).
        key: String,
        /// The value written twice (JSON).
        value: String,
        /// The first writer (index in `History::ops`).
        first: usize,
        /// The second writer.
        op: usize,
    },
    /// A history mixing list-append and rw-register micro-ops.
    #[error("op {op}: `{f}` micro-ops mix with {workload} ones")]
    MixedWorkloads {
        /// Index in `History::ops`.
        op: usize,
        /// The function that does not fit.
        f: String,
        /// The workload of the rest.
        workload: TxnWorkload,
    },
    /// Beyond what the compact form can hold.
    #[error("the history is too large: {what}")]
    TooLarge {
        /// What overflowed.
        what: String,
    },
}

/// The transactions of a history in compact form.
#[derive(Debug, Clone)]
pub struct TxnHistory {
    /// The workload the micro-ops were read as.
    pub workload: TxnWorkload,
    /// Client operations whose `f` is not `txn` (ignored).
    pub ignored_ops: usize,
    /// The first problems found (see [`TxnHistory::problem_count`]).
    pub problems: Vec<InputProblem>,
    /// How many problems there were in all.
    pub problem_count: usize,
    pub(crate) txns: Vec<Txn>,
    pub(crate) mops: Vec<Mop>,
    pub(crate) elements: Vec<Val>,
    pub(crate) interner: Interner,
}

/// Whether `history` is transactional: it has client operations and all of
/// them are `txn`s.
pub fn is_transactional(history: &History) -> bool {
    !history.ops.is_empty() && history.ops.iter().all(|op| op.f == TXN_F)
}

/// The workload of a transactional history, from its micro-ops: appends
/// mean list-append, writes rw-register; with reads only, list values mean
/// list-append. `None` if nothing tells (no micro-ops, or only `null` reads).
pub fn detect_workload(history: &History) -> Option<TxnWorkload> {
    let mut from_reads = None;
    for op in history.ops.iter().filter(|op| op.f == TXN_F) {
        for value in [&op.input, &op.output] {
            let Value::Array(mops) = value else { continue };
            for mop in mops {
                let Value::Array(parts) = mop else { continue };
                match (parts.first().and_then(Value::as_str), parts.get(2)) {
                    (Some("append"), _) => return Some(TxnWorkload::ListAppend),
                    (Some("w"), _) => return Some(TxnWorkload::RwRegister),
                    (Some("r"), Some(Value::Array(_))) => {
                        from_reads.get_or_insert(TxnWorkload::ListAppend);
                    }
                    (Some("r"), Some(Value::Number(_) | Value::String(_))) => {
                        from_reads.get_or_insert(TxnWorkload::RwRegister);
                    }
                    _ => {}
                }
            }
        }
    }
    from_reads
}

impl TxnHistory {
    /// An empty history of `workload`, to be filled with the builder
    /// methods (generators use them).
    pub(crate) fn empty(workload: TxnWorkload) -> TxnHistory {
        TxnHistory {
            workload,
            ignored_ops: 0,
            problems: Vec::new(),
            problem_count: 0,
            txns: Vec::new(),
            mops: Vec::new(),
            elements: Vec::new(),
            interner: Interner::default(),
        }
    }

    pub(super) fn problem(&mut self, problem: InputProblem) {
        self.problem_count += 1;
        if self.problems.len() < MAX_PROBLEMS {
            self.problems.push(problem);
        }
    }

    /// Closes the transaction whose micro-ops start at `start`; `None` (with
    /// a problem recorded) if the arena is full.
    pub(super) fn finish_txn(
        &mut self,
        start: usize,
        op: usize,
        process: u64,
        outcome: Outcome,
        invoke: usize,
        complete: Option<usize>,
    ) -> Option<Txn> {
        if self.mops.len() >= u32::MAX as usize {
            self.problem(InputProblem::TooLarge {
                what: "more than 4 billion micro-ops".to_owned(),
            });
            return None;
        }
        Some(Txn {
            op,
            process,
            outcome,
            invoke,
            complete,
            mops: (start as u32, self.mops.len() as u32),
        })
    }

    /// The transactions, in invocation order.
    pub fn txns(&self) -> &[Txn] {
        &self.txns
    }

    /// The micro-ops of `txn`.
    pub fn mops(&self, txn: &Txn) -> &[Mop] {
        &self.mops[txn.mop_range()]
    }

    /// The elements of a known list read.
    pub fn read_elements(&self, mop: &Mop) -> &[Val] {
        if mop.kind != MopKind::Read
            || mop.len == UNKNOWN_READ
            || self.workload != TxnWorkload::ListAppend
        {
            return &[];
        }
        let start = mop.value as usize;
        self.elements
            .get(start..start + mop.len as usize)
            .unwrap_or(&[])
    }

    /// The interned keys and values.
    pub fn interner(&self) -> &Interner {
        &self.interner
    }

    /// A micro-op's JSON form, as in the history (`["r", k, [1, 2]]`);
    /// unknown reads show `null`.
    pub fn mop_json(&self, mop: &Mop) -> Value {
        let key = self.interner.key_json(mop.key);
        match mop.kind {
            MopKind::Append => Value::Array(vec![
                "append".into(),
                key,
                self.interner.value_json(mop.value),
            ]),
            MopKind::Write => {
                Value::Array(vec!["w".into(), key, self.interner.value_json(mop.value)])
            }
            MopKind::Read if mop.len == UNKNOWN_READ => {
                Value::Array(vec!["r".into(), key, Value::Null])
            }
            MopKind::Read => {
                let value = match self.workload {
                    TxnWorkload::ListAppend => self.list_json(self.read_elements(mop)),
                    TxnWorkload::RwRegister => self.interner.value_json(mop.value),
                };
                Value::Array(vec!["r".into(), key, value])
            }
        }
    }

    /// A list of elements as JSON.
    pub fn list_json(&self, elements: &[Val]) -> Value {
        Value::Array(
            elements
                .iter()
                .map(|&e| self.interner.value_json(e))
                .collect(),
        )
    }

    /// All micro-ops of `txn` as JSON.
    pub fn txn_json(&self, txn: &Txn) -> Value {
        Value::Array(self.mops(txn).iter().map(|m| self.mop_json(m)).collect())
    }
}
