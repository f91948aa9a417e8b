//! [`TxnHistory`]: the `txn` operations of a [`History`] in compact,
//! interned form, and the input problems that stop a check.
//!
//! Which value a transaction's micro-ops are read from:
//! - `ok`: the completion's value (it carries what reads saw). A `null`
//!   read inside it is an empty list (Jepsen writes `nil` for a missing
//!   key). If the completion has no value at all, reads are unknown;
//! - `info` and `fail`: the invocation's value; their reads are unknown
//!   (an `info` transaction may or may not have committed, and nothing it
//!   read is trusted).
//!
//! Invariants:
//! - `txns` are in invocation order (the order of `History::ops`);
//! - each [`Txn`]'s micro-ops are `mops[start..end]`, in transaction order;
//! - a list read's elements are `elements[value..value + len]`; arenas are
//!   indexed by `u32`, and inputs that would overflow them are a
//!   [`InputProblem::TooLarge`], never a panic.

use std::ops::Range;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::{
    history::{History, Outcome, event::json_kind},
    txn::{
        intern::{Interner, KeyId, NIL, TooManyAtoms, Val},
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
    /// elements in the arena; register read: the value read ([`NIL`] for
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

    /// Reads the `txn` operations of `history` as `workload`.
    pub fn from_history(history: &History, workload: TxnWorkload) -> TxnHistory {
        let mut out = TxnHistory::empty(workload);
        out.txns.reserve(history.ops.len());
        for (index, op) in history.ops.iter().enumerate() {
            if op.f != TXN_F {
                out.ignored_ops += 1;
                continue;
            }
            let (value, reads_known) = match op.outcome {
                Outcome::Ok if !op.output.is_null() => (&op.output, true),
                Outcome::Ok => (&op.input, false),
                Outcome::Info | Outcome::Fail => (&op.input, false),
            };
            let start = out.mops.len();
            if let Err(problem) = out.read_txn(index, value, reads_known) {
                out.mops.truncate(start);
                out.problem(problem);
                continue;
            }
            let Some(txn) =
                out.finish_txn(start, index, op.process, op.outcome, op.invoke, op.complete)
            else {
                break;
            };
            out.txns.push(txn);
        }
        out
    }

    fn read_txn(
        &mut self,
        op: usize,
        value: &Value,
        reads_known: bool,
    ) -> Result<(), InputProblem> {
        let Value::Array(mops) = value else {
            return Err(InputProblem::NotATxn {
                op,
                found: json_kind(value).to_owned(),
            });
        };
        for (i, mop) in mops.iter().enumerate() {
            self.read_mop(op, i, mop, reads_known)?;
        }
        Ok(())
    }

    fn read_mop(
        &mut self,
        op: usize,
        index: usize,
        mop: &Value,
        reads_known: bool,
    ) -> Result<(), InputProblem> {
        let bad = |what: String| InputProblem::BadMop {
            op,
            mop: index,
            what,
        };
        let too_many = |_: TooManyAtoms| InputProblem::TooLarge {
            what: "too many distinct keys and values".to_owned(),
        };
        let parts = match mop {
            Value::Array(parts) if parts.len() == 3 => parts,
            other => {
                return Err(bad(format!(
                    "expected [f, key, value], found {}",
                    short_json(other)
                )));
            }
        };
        let f = parts[0].as_str().ok_or_else(|| {
            bad(format!(
                "f must be a string, found {}",
                short_json(&parts[0])
            ))
        })?;
        let key = self
            .interner
            .key(&parts[1])
            .map_err(too_many)?
            .ok_or_else(|| {
                bad(format!(
                    "a key must be an integer or a string, found {}",
                    short_json(&parts[1])
                ))
            })?;
        let (kind, fits) = match f {
            "r" => (MopKind::Read, true),
            "append" => (MopKind::Append, self.workload == TxnWorkload::ListAppend),
            "w" => (MopKind::Write, self.workload == TxnWorkload::RwRegister),
            other => {
                return Err(bad(format!(
                    "unknown micro-op `{}` (expected r, append or w)",
                    short_text(other)
                )));
            }
        };
        if !fits {
            return Err(InputProblem::MixedWorkloads {
                op,
                f: f.to_owned(),
                workload: self.workload,
            });
        }
        let mop = match kind {
            MopKind::Append | MopKind::Write => {
                let value = self.interner.value(&parts[2]).map_err(too_many)?;
                match value {
                    Some(v) if v != NIL => Mop {
                        value: v,
                        key,
                        len: 0,
                        kind,
                    },
                    _ => {
                        return Err(bad(format!(
                            "a written value must be an integer or a string, found {}",
                            short_json(&parts[2])
                        )));
                    }
                }
            }
            MopKind::Read if !reads_known => Mop {
                value: NIL,
                key,
                len: UNKNOWN_READ,
                kind,
            },
            MopKind::Read => match self.workload {
                TxnWorkload::ListAppend => self.list_read(key, &parts[2]).map_err(|e| match e {
                    ReadError::Bad(what) => bad(what),
                    ReadError::Problem(p) => p,
                })?,
                TxnWorkload::RwRegister => {
                    let value = self.interner.value(&parts[2]).map_err(too_many)?;
                    let value = value.ok_or_else(|| {
                        bad(format!(
                            "a register read must be null, an integer or a string, found {}",
                            short_json(&parts[2])
                        ))
                    })?;
                    Mop {
                        value,
                        key,
                        len: 0,
                        kind,
                    }
                }
            },
        };
        self.mops.push(mop);
        Ok(())
    }

    fn list_read(&mut self, key: KeyId, value: &Value) -> Result<Mop, ReadError> {
        let start = self.elements.len();
        let items: &[Value] = match value {
            Value::Null => &[],
            Value::Array(items) => items,
            other => {
                return Err(ReadError::Bad(format!(
                    "a list read must be null or a list, found {}",
                    short_json(other)
                )));
            }
        };
        if start + items.len() >= u32::MAX as usize {
            return Err(ReadError::Problem(InputProblem::TooLarge {
                what: "more than 4 billion read elements".to_owned(),
            }));
        }
        for item in items {
            let v = self.interner.value(item).map_err(|_| {
                ReadError::Problem(InputProblem::TooLarge {
                    what: "too many distinct keys and values".to_owned(),
                })
            })?;
            match v {
                Some(v) if v != NIL => self.elements.push(v),
                _ => {
                    self.elements.truncate(start);
                    return Err(ReadError::Bad(format!(
                        "list elements must be integers or strings, found {}",
                        short_json(item)
                    )));
                }
            }
        }
        Ok(Mop {
            value: start as u32,
            key,
            len: items.len() as u32,
            kind: MopKind::Read,
        })
    }

    fn problem(&mut self, problem: InputProblem) {
        self.problem_count += 1;
        if self.problems.len() < MAX_PROBLEMS {
            self.problems.push(problem);
        }
    }

    /// Closes the transaction whose micro-ops start at `start`; `None` (with
    /// a problem recorded) if the arena is full.
    fn finish_txn(
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

    /// Adds a transaction built from `mops` (generators). As with
    /// [`TxnHistory::from_history`], reads of a transaction that is not `ok`
    /// are unknown whatever they say.
    pub(crate) fn push_txn(&mut self, txn: TxnSpec<'_>) {
        let start = self.mops.len();
        let known = txn.outcome == Outcome::Ok;
        for mop in txn.mops {
            let pushed = match *mop {
                BuildMop::Append(key, value) => Mop {
                    value,
                    key,
                    len: 0,
                    kind: MopKind::Append,
                },
                BuildMop::Write(key, value) => Mop {
                    value,
                    key,
                    len: 0,
                    kind: MopKind::Write,
                },
                BuildMop::ReadValue(key, value) if known => Mop {
                    value,
                    key,
                    len: 0,
                    kind: MopKind::Read,
                },
                BuildMop::ReadList(key, elements) if known => {
                    let start = self.elements.len() as u32;
                    self.elements.extend_from_slice(elements);
                    Mop {
                        value: start,
                        key,
                        len: elements.len() as u32,
                        kind: MopKind::Read,
                    }
                }
                BuildMop::ReadValue(key, _) | BuildMop::ReadList(key, _) => Mop {
                    value: NIL,
                    key,
                    len: UNKNOWN_READ,
                    kind: MopKind::Read,
                },
            };
            self.mops.push(pushed);
        }
        if let Some(t) = self.finish_txn(
            start,
            txn.op,
            txn.process,
            txn.outcome,
            txn.invoke,
            txn.complete,
        ) {
            self.txns.push(t);
        }
    }

    /// Interns a key (generators).
    pub(crate) fn intern_key(&mut self, key: u64) -> KeyId {
        let atom = match i64::try_from(key) {
            Ok(i) => crate::txn::intern::Atom::Int(i),
            Err(_) => crate::txn::intern::Atom::UInt(key),
        };
        self.interner.key_atom(atom).unwrap_or(0)
    }

    /// Interns an integer value (generators).
    pub(crate) fn intern_value(&mut self, value: u64) -> Val {
        self.interner.int_value(value).unwrap_or(NIL)
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

/// A transaction for [`TxnHistory::push_txn`].
pub(crate) struct TxnSpec<'a> {
    pub op: usize,
    pub process: u64,
    pub outcome: Outcome,
    pub invoke: usize,
    pub complete: Option<usize>,
    pub mops: &'a [BuildMop<'a>],
}

/// A micro-op for [`TxnHistory::push_txn`].
#[derive(Debug, Clone, Copy)]
pub(crate) enum BuildMop<'a> {
    /// Appends an element.
    Append(KeyId, Val),
    /// Writes a value.
    Write(KeyId, Val),
    /// A list read and what it saw.
    ReadList(KeyId, &'a [Val]),
    /// A register read and what it saw ([`NIL`] for `null`).
    ReadValue(KeyId, Val),
}

enum ReadError {
    Bad(String),
    Problem(InputProblem),
}

/// Short JSON text of a value for messages (cut at 60 chars).
pub(crate) fn short_json(v: &Value) -> String {
    short_text(&v.to_string())
}

fn short_text(s: &str) -> String {
    if s.chars().count() > 60 {
        let cut: String = s.chars().take(60).collect();
        format!("{cut}...")
    } else {
        s.to_owned()
    }
}
