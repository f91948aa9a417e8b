//! The non-cycle anomalies of list-append: aborted, garbage, duplicate,
//! intermediate and incompatible reads, internal inconsistency, future
//! reads, dirty updates and lost updates, each rendered for people.

use serde_json::Value;

use crate::{
    history::Outcome,
    txn::{
        anomaly::AnomalyType,
        explain::{Findings, atom_text, label, list_text, txn_refs},
        graph::NONE,
        history::Mop,
        intern::{FastMap, KeyId, Val},
        report::{Anomaly, AnomalyDetail},
    },
};

use super::scan::{KeyScratch, ListAppend, LostRec};

impl ListAppend<'_> {
    /// Aborted, garbage, duplicate and intermediate reads of one read.
    pub(super) fn check_read(
        &self,
        t: usize,
        i: usize,
        mop: &Mop,
        compatible: bool,
        last: Option<(u32, bool)>,
        findings: &mut Findings,
    ) {
        let h = self.h;
        let elements = h.read_elements(mop);
        let order = &self.orders[mop.key as usize];
        let len = elements.len() as u32;
        let before = |list: &[u32]| list.first().is_some_and(|&p| p < len);
        let (aborted, garbage, duplicate) = if compatible {
            (
                before(&order.aborted),
                before(&order.garbage),
                before(&order.duplicate),
            )
        } else {
            self.scan_incompatible(t, mop, findings)
        };
        if aborted {
            findings.add(AnomalyType::G1a, || {
                self.bad_read(t, i, mop, BadRead::Aborted)
            });
        }
        if garbage {
            findings.add(AnomalyType::GarbageRead, || {
                self.bad_read(t, i, mop, BadRead::Garbage)
            });
        }
        if duplicate {
            findings.add(AnomalyType::DuplicateElements, || {
                self.bad_read(t, i, mop, BadRead::Duplicate)
            });
        }
        if let Some((w, true)) = last
            && w as usize != t
        {
            findings.add(AnomalyType::G1b, || {
                self.bad_read(t, i, mop, BadRead::Intermediate)
            });
        }
    }

    /// An incompatible read: records the anomaly and checks its elements
    /// one by one (they are not all in the order).
    fn scan_incompatible(
        &self,
        t: usize,
        mop: &Mop,
        findings: &mut Findings,
    ) -> (bool, bool, bool) {
        let h = self.h;
        let elements = h.read_elements(mop);
        findings.add(AnomalyType::IncompatibleOrder, || {
            let order = &self.orders[mop.key as usize].elements;
            let key = h.interner().key_json(mop.key);
            Anomaly {
                kind: AnomalyType::IncompatibleOrder,
                explanation: format!(
                    "incompatible-order: {} read key {} = {}, which is not a prefix of {}, nor {} of it, as read earlier: no single order of appends explains both",
                    label(h, "T1", t),
                    atom_text(&key),
                    list_text(h, elements),
                    list_text(h, order),
                    list_text(h, order),
                ),
                txns: txn_refs(h, &[t]),
                detail: AnomalyDetail::Orders {
                    key,
                    orders: vec![h.list_json(elements), h.list_json(order)],
                },
            }
        });
        let mut aborted = false;
        let mut garbage = false;
        for e in elements {
            match self.appends.get(mop.key, *e) {
                None => garbage = true,
                Some(rec) => {
                    aborted |= h.txns()[rec.txn as usize].outcome == Outcome::Fail;
                }
            }
        }
        let mut sorted = elements.to_vec();
        sorted.sort_unstable();
        let duplicate = sorted.windows(2).any(|w| w[0] == w[1]);
        (aborted, garbage, duplicate)
    }

    fn bad_read(&self, t: usize, i: usize, mop: &Mop, what: BadRead) -> Anomaly {
        let h = self.h;
        let elements = h.read_elements(mop);
        let key = h.interner().key_json(mop.key);
        let mut seen: FastMap<Val, ()> = FastMap::default();
        let mut offending: Vec<Val> = Vec::new();
        let mut writer: Option<usize> = None;
        for &e in elements {
            let rec = self.appends.get(mop.key, e);
            let hit = match what {
                BadRead::Aborted => {
                    rec.is_some_and(|r| h.txns()[r.txn as usize].outcome == Outcome::Fail)
                }
                BadRead::Garbage => rec.is_none(),
                BadRead::Duplicate => seen.insert(e, ()).is_some() && !offending.contains(&e),
                BadRead::Intermediate => Some(&e) == elements.last(),
            };
            if hit && offending.len() < 16 {
                offending.push(e);
                if writer.is_none() && matches!(what, BadRead::Aborted | BadRead::Intermediate) {
                    writer = rec.map(|r| r.txn as usize);
                }
            }
        }
        let mut txns = vec![t];
        txns.extend(writer);
        let refs = txn_refs(h, &txns);
        let (kind, why) = match what {
            BadRead::Aborted => (
                AnomalyType::G1a,
                format!(
                    "it contains {}, appended by {} which failed",
                    list_text(h, &offending),
                    writer.map_or_else(String::new, |w| label(h, "T2", w))
                ),
            ),
            BadRead::Garbage => (
                AnomalyType::GarbageRead,
                format!("no transaction appended {}", list_text(h, &offending)),
            ),
            BadRead::Duplicate => (
                AnomalyType::DuplicateElements,
                format!("{} appear(s) more than once", list_text(h, &offending)),
            ),
            BadRead::Intermediate => (
                AnomalyType::G1b,
                format!(
                    "its last element {} was appended by {}, which appended to the key again later in the same transaction",
                    list_text(h, &offending),
                    writer.map_or_else(String::new, |w| label(h, "T2", w))
                ),
            ),
        };
        Anomaly {
            kind,
            explanation: format!(
                "{kind}: {} read key {} = {}, but {why}",
                label(h, "T1", t),
                atom_text(&key),
                list_text(h, elements)
            ),
            txns: refs,
            detail: AnomalyDetail::Read {
                key,
                mop: i,
                read: h.list_json(elements),
                values: offending
                    .iter()
                    .map(|&e| h.interner().value_json(e))
                    .collect(),
                writer: writer.map(|_| 1),
            },
        }
    }

    /// Elle's INT axiom for lists: a read must equal the transaction's last
    /// read of the key plus its appends since, or end with those appends.
    /// Returns whether an anomaly was recorded.
    pub(super) fn check_internal(
        &self,
        t: usize,
        i: usize,
        mop: &Mop,
        ks: &KeyScratch,
        findings: &mut Findings,
    ) -> bool {
        let h = self.h;
        let elements = h.read_elements(mop);
        let ok = match (ks.base, ks.suffix.is_empty()) {
            (None, true) => true,
            (None, false) => elements.ends_with(&ks.suffix),
            (Some(base), _) => {
                let prior = h.read_elements(&h.mops(&h.txns()[t])[base]);
                elements.len() == prior.len() + ks.suffix.len()
                    && elements.starts_with(prior)
                    && elements.ends_with(&ks.suffix)
            }
        };
        if ok {
            return false;
        }
        findings.add(AnomalyType::Internal, || {
            let key = h.interner().key_json(mop.key);
            let mut expected: Vec<Value> = match ks.base {
                Some(base) => h
                    .read_elements(&h.mops(&h.txns()[t])[base])
                    .iter()
                    .map(|&e| h.interner().value_json(e))
                    .collect(),
                None => vec![Value::from("...")],
            };
            expected.extend(ks.suffix.iter().map(|&e| h.interner().value_json(e)));
            let expected = Value::Array(expected);
            Anomaly {
                kind: AnomalyType::Internal,
                explanation: format!(
                    "internal: {} read key {} = {}, but its own earlier micro-ops imply {}",
                    label(h, "T1", t),
                    atom_text(&key),
                    list_text(h, elements),
                    expected
                ),
                txns: txn_refs(h, &[t]),
                detail: AnomalyDetail::Internal {
                    key,
                    mop: i,
                    read: h.list_json(elements),
                    expected,
                },
            }
        });
        true
    }

    /// A read that contains an element its own transaction appends later.
    ///
    /// A compatible read holds the order's first `len` elements, so it saw
    /// its own later append iff more positions there were written by this
    /// transaction than it had appended so far (`own_before`): a sequential
    /// scan, no hashing, on the hot path.
    pub(super) fn check_future_read(
        &self,
        t: usize,
        i: usize,
        mop: &Mop,
        compatible: bool,
        own_before: u32,
        findings: &mut Findings,
    ) -> bool {
        let h = self.h;
        let elements = h.read_elements(mop);
        if compatible {
            let writers = &self.orders[mop.key as usize].writers[..elements.len()];
            let own = writers.iter().filter(|&&w| w as usize == t).count();
            if own <= own_before as usize {
                return false;
            }
        }
        let future = elements.iter().find(|&&e| {
            self.appends
                .get(mop.key, e)
                .is_some_and(|r| r.txn as usize == t && r.mop as usize > i)
        });
        let Some(&later) = future else {
            return false;
        };
        findings.add(AnomalyType::FutureRead, || {
            let key = h.interner().key_json(mop.key);
            let element = h.interner().value_json(later);
            Anomaly {
                kind: AnomalyType::FutureRead,
                explanation: format!(
                    "future-read: {} read key {} = {}, which contains {}, an element it appends only later",
                    label(h, "T1", t),
                    atom_text(&key),
                    list_text(h, elements),
                    atom_text(&element)
                ),
                txns: txn_refs(h, &[t]),
                detail: AnomalyDetail::Read {
                    key,
                    mop: i,
                    read: h.list_json(elements),
                    values: vec![element],
                    writer: None,
                },
            }
        });
        true
    }

    /// Elle's dirty update: along a key's order, a committed append right
    /// after (possibly info appends after) a failed one.
    pub(super) fn dirty_updates(&self, findings: &mut Findings) {
        let h = self.h;
        for (key, order) in self.orders.iter().enumerate() {
            if order.aborted.is_empty() {
                continue;
            }
            // (outcome of the last decisive writer, its txn, versions since)
            let mut last: (Outcome, Option<u32>, Vec<Val>) = (Outcome::Ok, None, Vec::new());
            for (p, &w) in order.writers.iter().enumerate() {
                if w == NONE {
                    continue;
                }
                let e = order.elements[p];
                let outcome = h.txns()[w as usize].outcome;
                match (last.0, outcome) {
                    (Outcome::Fail, Outcome::Ok) => {
                        let mut values = std::mem::take(&mut last.2);
                        values.push(e);
                        let failed = last.1;
                        findings.add(AnomalyType::DirtyUpdate, || {
                            self.dirty_update(key as KeyId, failed, w, &values)
                        });
                        last = (outcome, Some(w), vec![e]);
                    }
                    (_, Outcome::Info) | (Outcome::Fail, Outcome::Fail) => last.2.push(e),
                    _ => last = (outcome, Some(w), vec![e]),
                }
            }
        }
    }

    fn dirty_update(&self, key: KeyId, failed: Option<u32>, ok: u32, values: &[Val]) -> Anomaly {
        let h = self.h;
        let txns: Vec<usize> = failed.into_iter().chain([ok]).map(|t| t as usize).collect();
        let key_json = h.interner().key_json(key);
        Anomaly {
            kind: AnomalyType::DirtyUpdate,
            explanation: format!(
                "dirty-update: on key {}, {} appended {} after the failed {} appended {}",
                atom_text(&key_json),
                label(h, "T2", ok as usize),
                atom_text(&h.interner().value_json(*values.last().unwrap_or(&0))),
                failed.map_or_else(String::new, |f| label(h, "T1", f as usize)),
                atom_text(&h.interner().value_json(*values.first().unwrap_or(&0))),
            ),
            txns: txn_refs(h, &txns),
            detail: AnomalyDetail::DirtyUpdate {
                key: key_json,
                values: values.iter().map(|&v| h.interner().value_json(v)).collect(),
            },
        }
    }

    pub(super) fn lost_updates(&self, lost: &mut [LostRec], findings: &mut Findings) {
        lost.sort_unstable();
        for group in lost.chunk_by(|a, b| (a.key, a.len, a.last) == (b.key, b.len, b.last)) {
            if group.len() < 2 {
                continue;
            }
            findings.add(AnomalyType::LostUpdate, || self.lost_update(group));
        }
    }

    fn lost_update(&self, group: &[LostRec]) -> Anomaly {
        let h = self.h;
        let txns: Vec<usize> = group.iter().map(|r| r.txn as usize).collect();
        let first = &group[0];
        let read_mop = &h.mops(&h.txns()[first.txn as usize])[first.mop as usize];
        let read = h.read_elements(read_mop);
        let key = h.interner().key_json(first.key);
        let names: Vec<String> = txns
            .iter()
            .enumerate()
            .map(|(i, &t)| label(h, &format!("T{}", i + 1), t))
            .collect();
        Anomaly {
            kind: AnomalyType::LostUpdate,
            explanation: format!(
                "lost-update: {} all read key {} = {} and then appended to it, so all but one of their updates were lost",
                names.join(", "),
                atom_text(&key),
                list_text(h, read)
            ),
            txns: txn_refs(h, &txns),
            detail: AnomalyDetail::SameRead {
                key,
                read: h.list_json(read),
            },
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum BadRead {
    Aborted,
    Garbage,
    Duplicate,
    Intermediate,
}
