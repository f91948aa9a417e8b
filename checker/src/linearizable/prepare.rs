//! From a [`History`] to per-key search inputs.
//!
//! Invariants:
//! - ops are grouped by key (`None` is the key `""`), keeping history
//!   order; positions are event positions, so real-time order is history
//!   order;
//! - `fail` ops are dropped (they did not happen); `info` and unfinished
//!   reads are dropped (they change nothing and constrain nothing); other
//!   `info` ops return at infinity;
//! - values are interned per key to `u32` ids, so spec states are cheap to
//!   clone, hash and compare; [`Interner::value`] maps ids back to JSON;
//! - an op the model does not know makes the key unsupported (the check
//!   says `unknown`), never a false verdict;
//! - register keys keep only *needed* info ops (`relevance.rs`: an info
//!   write or cas whose value some needed op observes, as a least
//!   fixpoint from the completed ops); list keys drop info appends no read
//!   contains;
//! - an info op's `expires` is the last return position of an op that could
//!   observe its effect: for a register write/cas of `v`, a read of `v` or a
//!   cas from `v` (an info cas from `v` never returns: no expiry); for a
//!   list append of `e`, a read containing `e`. After all of those are
//!   linearized, a linearization using the op stays valid without it (no
//!   later op can tell), so the search may ignore it.

use std::collections::{BTreeMap, HashMap};

use serde_json::Value;

use super::{options::Model, relevance::retain_needed, wgl::SearchOp};
use crate::{
    history::{History, Op, Outcome},
    spec::{AppendList, CasRegister, ListOp, ListRet, RegisterOp, RegisterRet},
};

/// Interns JSON values to dense ids.
#[derive(Debug, Default, Clone)]
pub struct Interner {
    ints: HashMap<i64, u32>,
    other: HashMap<String, u32>,
    values: Vec<Value>,
}

impl Interner {
    /// The id of `v`, adding it if new.
    pub fn intern(&mut self, v: &Value) -> u32 {
        let next = self.values.len() as u32;
        let id = match v.as_i64() {
            Some(i) => *self.ints.entry(i).or_insert(next),
            None => *self.other.entry(v.to_string()).or_insert(next),
        };
        if id == next {
            self.values.push(v.clone());
        }
        id
    }

    /// The value of an id.
    pub fn value(&self, id: u32) -> &Value {
        &self.values[id as usize]
    }
}

/// The search input of one key.
#[derive(Debug, Clone)]
pub enum KeyInput {
    /// A register key.
    Register {
        /// Initial state.
        init: CasRegister<u32>,
        /// Ops sorted by call.
        ops: Vec<SearchOp<CasRegister<u32>>>,
        /// Value ids.
        values: Interner,
    },
    /// A list key.
    List {
        /// Ops sorted by call.
        ops: Vec<SearchOp<AppendList<u32>>>,
        /// Element ids.
        values: Interner,
    },
    /// The key has an op the model cannot check.
    Unsupported {
        /// Why.
        reason: String,
        /// How many ops the key has.
        ops: usize,
    },
}

impl KeyInput {
    /// Number of ops the search sees.
    pub fn len(&self) -> usize {
        match self {
            KeyInput::Register { ops, .. } => ops.len(),
            KeyInput::List { ops, .. } => ops.len(),
            KeyInput::Unsupported { ops, .. } => *ops,
        }
    }

    /// Whether the key has no op to check.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Groups client ops by key (in history order); keys without a name are
/// `""`.
pub fn ops_by_key(history: &History) -> BTreeMap<String, Vec<usize>> {
    let mut by_key: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    // Grouping through a HashMap first is much faster with many keys.
    let mut tmp: HashMap<&str, Vec<usize>> = HashMap::new();
    for (i, op) in history.ops.iter().enumerate() {
        tmp.entry(op.key.as_deref().unwrap_or(""))
            .or_default()
            .push(i);
    }
    for (k, v) in tmp {
        by_key.insert(k.to_owned(), v);
    }
    by_key
}

/// Builds the search input of one key from its ops (indices into
/// `history.ops`).
pub fn prepare_key(history: &History, model: &Model, op_ids: &[usize]) -> KeyInput {
    let result = match model {
        Model::Register { init } => prepare_register(history, init, op_ids),
        Model::List => prepare_list(history, op_ids),
    };
    result.unwrap_or_else(|reason| KeyInput::Unsupported {
        reason,
        ops: op_ids.len(),
    })
}

fn ret_pos(op: &Op) -> u64 {
    match (op.outcome, op.complete) {
        (Outcome::Ok, Some(c)) => c as u64,
        _ => u64::MAX,
    }
}

fn unsupported(history: &History, id: usize, what: &str) -> String {
    let op = &history.ops[id];
    let e = &history.events[op.invoke];
    format!(
        "{what} (op `{}` by process {} invoked at event index {})",
        op.f, op.process, e.index
    )
}

fn prepare_register(history: &History, init: &Value, op_ids: &[usize]) -> Result<KeyInput, String> {
    let mut values = Interner::default();
    let init = CasRegister(values.intern(init));
    let mut ops = Vec::with_capacity(op_ids.len());
    for &id in op_ids {
        let op = &history.ops[id];
        if op.outcome == Outcome::Fail {
            continue;
        }
        let ok = op.outcome == Outcome::Ok;
        let (spec_op, ret) = match op.f.as_str() {
            "read" => {
                if !ok {
                    continue;
                }
                (
                    RegisterOp::Read,
                    Some(RegisterRet::ReadOk(values.intern(&op.output))),
                )
            }
            "write" => {
                let v = if op.input.is_null() {
                    &op.output
                } else {
                    &op.input
                };
                (
                    RegisterOp::Write(values.intern(v)),
                    ok.then_some(RegisterRet::WriteOk),
                )
            }
            "cas" => {
                let pair = match &op.input {
                    Value::Array(a) if a.len() == 2 => a,
                    _ => return Err(unsupported(history, id, "cas value is not [from, to]")),
                };
                (
                    RegisterOp::Cas {
                        from: values.intern(&pair[0]),
                        to: values.intern(&pair[1]),
                    },
                    ok.then_some(RegisterRet::CasOk),
                )
            }
            _ => {
                return Err(unsupported(
                    history,
                    id,
                    "the register model has no such op",
                ));
            }
        };
        ops.push(SearchOp {
            op: spec_op,
            ret,
            call: op.invoke as u64,
            ret_pos: ret_pos(op),
            id,
            expires: u64::MAX,
        });
    }
    retain_needed(&mut ops);
    // Last return of an op observing each value (MAX: an info observer).
    let mut observed: HashMap<u32, u64> = HashMap::new();
    for o in &ops {
        let seen = match (&o.op, &o.ret) {
            (RegisterOp::Read, Some(RegisterRet::ReadOk(v))) => Some((*v, o.ret_pos)),
            (RegisterOp::Cas { from, .. }, Some(_)) => Some((*from, o.ret_pos)),
            (RegisterOp::Cas { from, .. }, None) => Some((*from, u64::MAX)),
            _ => None,
        };
        if let Some((v, until)) = seen {
            let e = observed.entry(v).or_insert(0);
            *e = (*e).max(until);
        }
    }
    for o in &mut ops {
        if o.ret.is_none() {
            let written = match &o.op {
                RegisterOp::Write(v) | RegisterOp::Cas { to: v, .. } => *v,
                RegisterOp::Read => continue,
            };
            o.expires = observed.get(&written).copied().unwrap_or(0);
        }
    }
    ops.retain(|o| o.ret.is_some() || o.expires > 0);
    Ok(KeyInput::Register { init, ops, values })
}

fn prepare_list(history: &History, op_ids: &[usize]) -> Result<KeyInput, String> {
    let mut values = Interner::default();
    let mut ops = Vec::with_capacity(op_ids.len());
    for &id in op_ids {
        let op = &history.ops[id];
        if op.outcome == Outcome::Fail {
            continue;
        }
        let ok = op.outcome == Outcome::Ok;
        let (spec_op, ret) = match op.f.as_str() {
            "append" => (
                ListOp::Append(values.intern(&op.input)),
                ok.then_some(ListRet::AppendOk),
            ),
            "read" => {
                if !ok {
                    continue;
                }
                let seen = match &op.output {
                    Value::Null => Vec::new(),
                    Value::Array(a) => a.iter().map(|v| values.intern(v)).collect(),
                    _ => return Err(unsupported(history, id, "list read value is not a list")),
                };
                (ListOp::Read, Some(ListRet::ReadOk(seen)))
            }
            _ => return Err(unsupported(history, id, "the list model has no such op")),
        };
        ops.push(SearchOp {
            op: spec_op,
            ret,
            call: op.invoke as u64,
            ret_pos: ret_pos(op),
            id,
            expires: u64::MAX,
        });
    }
    let mut observed: HashMap<u32, u64> = HashMap::new();
    for o in &ops {
        if let Some(ListRet::ReadOk(seen)) = &o.ret {
            for &e in seen {
                let x = observed.entry(e).or_insert(0);
                *x = (*x).max(o.ret_pos);
            }
        }
    }
    for o in &mut ops {
        if let (ListOp::Append(e), None) = (&o.op, &o.ret) {
            o.expires = observed.get(e).copied().unwrap_or(0);
        }
    }
    ops.retain(|o| o.ret.is_some() || o.expires > 0);
    Ok(KeyInput::List { ops, values })
}
