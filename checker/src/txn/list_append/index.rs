//! The append index (every append of the history, by key and element) and
//! the inferred order of each key.
//!
//! Invariants: a duplicate (key, element) is an input problem; an append's
//! `pos` is set once, when a read first shows it.

use crate::{
    history::Outcome,
    txn::{
        graph::NONE,
        history::{InputProblem, Mop, MopKind, TxnHistory},
        intern::{KeyId, Val},
        keyed::KeyedIndex,
    },
};

use super::scan::ListAppend;

/// Not (yet) at a position of its key's order.
pub(super) const UNOBSERVED: u32 = u32::MAX;

/// One append of the history.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct AppendRec {
    /// Index into `TxnHistory::txns`.
    pub(super) txn: u32,
    /// Index of the micro-op within its transaction.
    pub(super) mop: u32,
    /// Position in the key's order, or `UNOBSERVED`.
    pub(super) pos: u32,
    /// Whether its transaction appends to the same key again later.
    pub(super) intermediate: bool,
}

/// The inferred order of one key.
#[derive(Debug, Default, Clone)]
pub(super) struct KeyOrder {
    pub(super) elements: Vec<Val>,
    /// Writer transaction of each position (`NONE`: nobody, or a duplicate).
    pub(super) writers: Vec<u32>,
    /// Positions whose element no transaction appended.
    pub(super) garbage: Vec<u32>,
    /// Positions whose element a failed transaction appended.
    pub(super) aborted: Vec<u32>,
    /// Positions repeating an earlier element.
    pub(super) duplicate: Vec<u32>,
    /// Positions whose element was an intermediate append.
    pub(super) intermediate: Vec<u32>,
}

/// Every append, grouped by key and sorted by element.
pub(super) type AppendIndex = KeyedIndex<AppendRec>;

/// Indexes every append (any outcome) of `h`; fails on an element appended
/// twice to one key (reads would not name one writer).
pub(super) fn index_appends(h: &TxnHistory) -> Result<AppendIndex, InputProblem> {
    let mut index = KeyedIndex::build(h.interner().key_count(), |f| {
        for (t, txn) in h.txns().iter().enumerate() {
            for (i, mop) in h.mops(txn).iter().enumerate() {
                if mop.kind == MopKind::Append {
                    let rec = AppendRec {
                        txn: t as u32,
                        mop: i as u32,
                        pos: UNOBSERVED,
                        intermediate: false,
                    };
                    f(mop.key, mop.value, rec);
                }
            }
        }
    })
    .map_err(|(key, value, first, second)| InputProblem::DuplicateWrite {
        key: h.interner().key_json(key).to_string(),
        value: h.interner().value_json(value).to_string(),
        first: h.txns()[first.txn as usize].op,
        op: h.txns()[second.txn as usize].op,
    })?;
    mark_intermediate(h, &mut index);
    Ok(index)
}

/// An append followed, in its transaction, by another to the same key is
/// intermediate.
fn mark_intermediate(h: &TxnHistory, index: &mut AppendIndex) {
    let mut own: Vec<(KeyId, u32)> = Vec::new();
    for txn in h.txns() {
        own.clear();
        let mops = h.mops(txn);
        own.extend(
            mops.iter()
                .enumerate()
                .filter(|(_, m)| m.kind == MopKind::Append)
                .map(|(i, m)| (m.key, i as u32)),
        );
        own.sort_unstable();
        for pair in own.windows(2) {
            if pair[0].0 == pair[1].0 {
                let mop = &mops[pair[0].1 as usize];
                if let Some(rec) = index.get_mut(mop.key, mop.value) {
                    rec.intermediate = true;
                }
            }
        }
    }
}

impl ListAppend<'_> {
    /// Compares a read with the key's order, extending the order if the
    /// read is longer and agrees; returns whether it is compatible.
    pub(super) fn observe(&mut self, key: KeyId, elements: &[Val]) -> bool {
        let order = &self.orders[key as usize];
        let known = order.elements.len();
        if elements.len() <= known {
            return order.elements[..elements.len()] == *elements;
        }
        if order.elements[..] != elements[..known] {
            return false;
        }
        for (p, &e) in elements.iter().enumerate().skip(known) {
            let (writer, kind) = match self.appends.get_mut(key, e) {
                None => (NONE, Some(PosKind::Garbage)),
                Some(rec) if rec.pos != UNOBSERVED => (NONE, Some(PosKind::Duplicate)),
                Some(rec) => {
                    rec.pos = p as u32;
                    if rec.intermediate {
                        self.orders[key as usize].intermediate.push(p as u32);
                    }
                    let failed = self.h.txns()[rec.txn as usize].outcome == Outcome::Fail;
                    (rec.txn, failed.then_some(PosKind::Aborted))
                }
            };
            let order = &mut self.orders[key as usize];
            order.elements.push(e);
            order.writers.push(writer);
            match kind {
                Some(PosKind::Garbage) => order.garbage.push(p as u32),
                Some(PosKind::Aborted) => order.aborted.push(p as u32),
                Some(PosKind::Duplicate) => order.duplicate.push(p as u32),
                None => {}
            }
        }
        true
    }

    /// The state a read observed: its length if compatible, else one past
    /// its last element's position (Elle indexes reads by last element).
    pub(super) fn read_state(&self, key: KeyId, elements: &[Val], compatible: bool) -> Option<u32> {
        if compatible {
            return Some(elements.len() as u32);
        }
        let last = elements.last()?;
        let rec = self.appends.get(key, *last)?;
        (rec.pos != UNOBSERVED).then(|| rec.pos + 1)
    }

    /// The state a read micro-op observed, judged against the final orders.
    pub(super) fn final_read_state(&self, mop: &Mop) -> Option<u32> {
        let elements = self.h.read_elements(mop);
        let order = &self.orders[mop.key as usize].elements;
        let compatible = elements.len() <= order.len() && order[..elements.len()] == *elements;
        self.read_state(mop.key, elements, compatible)
    }

    /// The writer of a read's last element and whether that append was
    /// intermediate. A compatible read's last element sits at a known
    /// position of the order, so no hash lookup is needed.
    pub(super) fn last_writer(&self, mop: &Mop, compatible: bool) -> Option<(u32, bool)> {
        let elements = self.h.read_elements(mop);
        let &last = elements.last()?;
        if compatible {
            let p = elements.len() - 1;
            let order = &self.orders[mop.key as usize];
            let w = order.writers[p];
            if w != NONE {
                return Some((w, order.intermediate.binary_search(&(p as u32)).is_ok()));
            }
        }
        let rec = self.appends.get(mop.key, last)?;
        Some((rec.txn, rec.intermediate))
    }

    /// Where an appended element sits: the state before it and the element
    /// before it (the last observed one for unobserved appends).
    pub(super) fn previous(&self, key: KeyId, e: Val) -> Option<Previous> {
        let rec = self.appends.get(key, e)?;
        let order = &self.orders[key as usize];
        let (state, observed) = if rec.pos == UNOBSERVED {
            (order.elements.len() as u32, false)
        } else {
            (rec.pos, true)
        };
        let before = state
            .checked_sub(1)
            .map(|p| (order.elements[p as usize], order.writers[p as usize]));
        Some(Previous {
            state,
            before,
            observed,
        })
    }
}

/// See [`ListAppend::previous`].
#[derive(Debug, Clone, Copy)]
pub(super) struct Previous {
    /// How many elements precede the append.
    pub(super) state: u32,
    /// The element right before it and its writer; `None`: the empty list.
    pub(super) before: Option<(Val, u32)>,
    /// Whether a read observed the append itself.
    pub(super) observed: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PosKind {
    Garbage,
    Aborted,
    Duplicate,
}
