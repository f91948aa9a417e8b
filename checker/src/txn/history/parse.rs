//! Reading a [`History`]'s `txn` operations into a [`TxnHistory`], with a
//! typed [`InputProblem`] for anything malformed (never a panic).

use serde_json::Value;

use crate::{
    history::{History, Outcome, event::json_kind},
    txn::{
        intern::{KeyId, NIL, TooManyAtoms},
        options::TxnWorkload,
    },
};

use super::{InputProblem, Mop, MopKind, TXN_F, TxnHistory, UNKNOWN_READ};

impl TxnHistory {
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
}

enum ReadError {
    Bad(String),
    Problem(InputProblem),
}

/// Short JSON text of a value for messages (cut at 60 chars).
fn short_json(v: &Value) -> String {
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
