//! Building a [`TxnHistory`] directly, without JSON (generators).

use crate::{
    history::Outcome,
    txn::intern::{KeyId, NIL, Val},
};

use super::{Mop, MopKind, TxnHistory, UNKNOWN_READ};

impl TxnHistory {
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
