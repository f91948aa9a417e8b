//! Replaying one operation of a history on a model's spec, with the
//! reason when it cannot follow: what the report's counterexamples show
//! step by step.
//!
//! An op replayed here is taken to have happened (as in a linearization:
//! `ok` ops, and `info` ops the search placed), so a cas is replayed as a
//! successful one. The transitions are the specs' own
//! ([`CasRegister`], [`AppendList`]); only the mapping from history values
//! to spec operations lives here.

use serde_json::Value;
use stateright::semantics::SequentialSpec;

use super::{AppendList, CasRegister, ListOp, ListRet, RegisterOp, RegisterRet};
use crate::{history::Op, linearizable::Model};

/// Why an op cannot follow a state.
#[derive(Clone, Debug, PartialEq)]
pub enum Refusal {
    /// A read saw `seen`, but the state was `state`.
    Read { seen: Value, state: Value },
    /// A cas expected `from`, but the state was `state`.
    Cas { from: Value, state: Value },
    /// The op's value does not fit the operation (a cas without `[from,
    /// to]`).
    Malformed(String),
    /// The model has no such operation.
    Unknown { model: String, f: String },
}

/// The state after `op`, or why `op` cannot follow `state`.
pub fn replay(model: &Model, state: &Value, op: &Op) -> Result<Value, Box<Refusal>> {
    match model {
        Model::Register { .. } => replay_register(state, op),
        Model::List => replay_list(state, op),
    }
}

/// The state before any op.
pub fn initial(model: &Model) -> Value {
    match model {
        Model::Register { init } => init.clone(),
        Model::List => Value::Array(Vec::new()),
    }
}

fn replay_register(state: &Value, op: &Op) -> Result<Value, Box<Refusal>> {
    let (spec_op, ret) = match op.f.as_str() {
        "read" => (RegisterOp::Read, RegisterRet::ReadOk(op.output.clone())),
        "write" => (RegisterOp::Write(op.input.clone()), RegisterRet::WriteOk),
        "cas" => match op.input.as_array().map(Vec::as_slice) {
            Some([from, to]) => (
                RegisterOp::Cas {
                    from: from.clone(),
                    to: to.clone(),
                },
                RegisterRet::CasOk,
            ),
            _ => {
                return Err(Box::new(Refusal::Malformed(format!(
                    "cas needs [from, to], not {}",
                    op.input
                ))));
            }
        },
        f => {
            return Err(Box::new(Refusal::Unknown {
                model: "register".into(),
                f: f.into(),
            }));
        }
    };
    let mut register = CasRegister(state.clone());
    if register.is_valid_step(&spec_op, &ret) {
        return Ok(register.0);
    }
    Err(Box::new(match spec_op {
        RegisterOp::Cas { from, .. } => Refusal::Cas {
            from,
            state: state.clone(),
        },
        _ => Refusal::Read {
            seen: op.output.clone(),
            state: state.clone(),
        },
    }))
}

fn replay_list(state: &Value, op: &Op) -> Result<Value, Box<Refusal>> {
    let items = |v: &Value| v.as_array().cloned().unwrap_or_default();
    let (spec_op, ret) = match op.f.as_str() {
        "append" => (ListOp::Append(op.input.clone()), ListRet::AppendOk),
        "read" => (ListOp::Read, ListRet::ReadOk(items(&op.output))),
        f => {
            return Err(Box::new(Refusal::Unknown {
                model: "list".into(),
                f: f.into(),
            }));
        }
    };
    let mut list = AppendList(items(state));
    if list.is_valid_step(&spec_op, &ret) {
        Ok(Value::Array(list.0))
    } else {
        Err(Box::new(Refusal::Read {
            seen: Value::Array(items(&op.output)),
            state: Value::Array(items(state)),
        }))
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::history::Outcome;

    fn op(f: &str, input: Value, output: Value) -> Op {
        Op {
            process: 0,
            f: f.into(),
            key: None,
            invoke: 0,
            complete: Some(1),
            outcome: Outcome::Ok,
            call_time: 0,
            return_time: Some(1),
            input,
            output,
            node: None,
        }
    }

    #[test]
    fn registers_replay_like_the_spec() {
        let m = Model::register();
        let s = initial(&m);
        let s = replay(&m, &s, &op("write", json!(1), Value::Null)).unwrap();
        assert_eq!(s, json!(1));
        let s = replay(&m, &s, &op("cas", json!([1, 2]), Value::Null)).unwrap();
        assert_eq!(s, json!(2));
        assert_eq!(
            replay(&m, &s, &op("read", Value::Null, json!(1))),
            Err(Box::new(Refusal::Read {
                seen: json!(1),
                state: json!(2)
            }))
        );
        assert_eq!(
            replay(&m, &s, &op("cas", json!([1, 3]), Value::Null)),
            Err(Box::new(Refusal::Cas {
                from: json!(1),
                state: json!(2)
            }))
        );
        assert!(matches!(
            replay(&m, &s, &op("cas", json!(5), Value::Null)),
            Err(r) if matches!(*r, Refusal::Malformed(_))
        ));
    }

    #[test]
    fn lists_replay_like_the_spec() {
        let m = Model::List;
        let s = replay(&m, &initial(&m), &op("append", json!(4), json!(4))).unwrap();
        assert_eq!(s, json!([4]));
        assert!(replay(&m, &s, &op("read", Value::Null, json!([4]))).is_ok());
        assert!(replay(&m, &s, &op("read", Value::Null, json!([]))).is_err());
        assert!(matches!(
            replay(&m, &s, &op("cas", json!([1, 2]), Value::Null)),
            Err(r) if matches!(*r, Refusal::Unknown { .. })
        ));
    }
}
