//! List-append analysis: version orders inferred from reads, the
//! non-cycle anomalies, and the ww/wr/rw edges (Elle's `elle.list-append`).
//!
//! Version order: every committed read of a key must be a prefix of one
//! order of its appends. Reads are taken in history order; each is compared
//! with the longest order seen so far for its key and either is a prefix
//! of it, extends it, or is an `incompatible-order` (and then keeps out of
//! the order). Position `p` of the order is the `p`-th element appended;
//! a read of length `L` observed the state after `L` appends.
//!
//! Edges, for committed (`ok`) and possibly committed (`info`) writers only:
//! - ww: the writer of position `p - 1` -> the writer of position `p`;
//! - wr: the writer of a read's last element -> the reader;
//! - rw: a reader of state `p` -> the writer of position `p`;
//! - an append no read observed came after every observed element: ww from
//!   the writer of the last observed element, rw from readers of the full
//!   observed state. Sound for committed appends: a read is a prefix of
//!   the final order, so an element it lacks comes after all it has.
//!
//! Only `ok` transactions' reads count; `info` transactions add their
//! appends only, so an `info` transaction has out-edges only if one of its
//! appends was observed, i.e. it committed. Nothing ever assumes an
//! unobserved `info` append took effect.

use serde_json::Value;

use crate::{
    history::Outcome,
    txn::{
        anomaly::AnomalyType,
        explain::{EdgeExplainer, Findings, Justification, atom_text, label, list_text, txn_refs},
        graph::{EdgeList, rel},
        history::{InputProblem, Mop, MopKind, TxnHistory},
        intern::{FastMap, KeyId, Val},
        report::{Anomaly, AnomalyDetail},
    },
};

/// No node / no writer.
pub const NONE: u32 = u32::MAX;
const UNOBSERVED: u32 = u32::MAX;

/// One append of the history.
#[derive(Debug, Clone, Copy)]
struct AppendRec {
    /// Index into `TxnHistory::txns`.
    txn: u32,
    /// Index of the micro-op within its transaction.
    mop: u32,
    /// Position in the key's order, or `UNOBSERVED`.
    pos: u32,
    /// Whether its transaction appends to the same key again later.
    intermediate: bool,
}

/// The inferred order of one key.
#[derive(Debug, Default, Clone)]
struct KeyOrder {
    elements: Vec<Val>,
    /// Writer transaction of each position (`NONE`: nobody, or a duplicate).
    writers: Vec<u32>,
    /// Positions whose element no transaction appended.
    garbage: Vec<u32>,
    /// Positions whose element a failed transaction appended.
    aborted: Vec<u32>,
    /// Positions repeating an earlier element.
    duplicate: Vec<u32>,
    /// Positions whose element was an intermediate append.
    intermediate: Vec<u32>,
}

/// A committed read, for rw edges: it saw `state` elements of `key`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct ReadRec {
    key: KeyId,
    state: u32,
    txn: u32,
}

/// A committed transaction that read `key` and then appended to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct LostRec {
    key: KeyId,
    len: u32,
    last: Val,
    txn: u32,
    mop: u32,
}

/// The list-append analysis of one history; kept to explain edges.
pub struct ListAppend<'h> {
    h: &'h TxnHistory,
    appends: FastMap<(KeyId, Val), AppendRec>,
    orders: Vec<KeyOrder>,
}

/// Per-key scratch of the transaction being scanned.
#[derive(Debug, Default)]
struct KeyScratch {
    /// Internal consistency: the last read of the key in this transaction
    /// (micro-op index), if any, and the elements appended since.
    base: Option<usize>,
    suffix: Vec<Val>,
    /// Lost update: (length, last element, micro-op) of the first read, if
    /// it came before any append.
    first_read: Option<(u32, Val, u32)>,
    appended: bool,
    /// Appends to the key later in the transaction.
    appends_left: u32,
    /// Appends to the key so far.
    appended_count: u32,
}

impl<'h> ListAppend<'h> {
    /// Runs the analysis: records non-cycle anomalies in `findings` and
    /// dependency edges (between `node_of` ids) in `edges`. Fails if two
    /// appends of one element to one key make reads ambiguous.
    pub fn analyze(
        h: &'h TxnHistory,
        node_of: &[u32],
        findings: &mut Findings,
        edges: &mut EdgeList,
    ) -> Result<ListAppend<'h>, InputProblem> {
        let appends = h
            .txns()
            .iter()
            .map(|t| {
                h.mops(t)
                    .iter()
                    .filter(|m| m.kind == MopKind::Append)
                    .count()
            })
            .sum();
        let mut la = ListAppend {
            h,
            appends: FastMap::with_capacity_and_hasher(appends, Default::default()),
            orders: vec![KeyOrder::default(); h.interner().key_count()],
        };
        la.index_appends()?;
        let mut reads = Vec::new();
        let mut lost = Vec::new();
        let mut scratch: FastMap<KeyId, KeyScratch> = FastMap::default();
        for (t, txn) in h.txns().iter().enumerate() {
            if txn.outcome != Outcome::Ok {
                continue;
            }
            scratch.clear();
            if scratch.capacity() > 1024 {
                scratch = FastMap::default();
            }
            la.scan_txn(
                t,
                node_of,
                findings,
                edges,
                &mut reads,
                &mut lost,
                &mut scratch,
            );
        }
        reads.sort_unstable();
        la.add_order_edges(node_of, &reads, edges);
        la.add_unobserved_edges(node_of, &reads, edges);
        la.dirty_updates(findings);
        la.lost_updates(&mut lost, findings);
        Ok(la)
    }

    /// Pass 1: every append (any outcome) into the index.
    fn index_appends(&mut self) -> Result<(), InputProblem> {
        let h = self.h;
        let mut own: Vec<(KeyId, u32)> = Vec::new();
        for (t, txn) in h.txns().iter().enumerate() {
            own.clear();
            for (i, mop) in h.mops(txn).iter().enumerate() {
                if mop.kind != MopKind::Append {
                    continue;
                }
                own.push((mop.key, i as u32));
                let rec = AppendRec {
                    txn: t as u32,
                    mop: i as u32,
                    pos: UNOBSERVED,
                    intermediate: false,
                };
                if let Some(first) = self.appends.insert((mop.key, mop.value), rec) {
                    return Err(InputProblem::DuplicateWrite {
                        key: h.interner().key_json(mop.key).to_string(),
                        value: h.interner().value_json(mop.value).to_string(),
                        first: h.txns()[first.txn as usize].op,
                        op: txn.op,
                    });
                }
            }
            // An append followed by another to the same key is intermediate.
            own.sort_unstable();
            for pair in own.windows(2) {
                if pair[0].0 == pair[1].0 {
                    let mop = &h.mops(txn)[pair[0].1 as usize];
                    if let Some(rec) = self.appends.get_mut(&(mop.key, mop.value)) {
                        rec.intermediate = true;
                    }
                }
            }
        }
        Ok(())
    }

    #[expect(clippy::too_many_arguments, reason = "one pass fills several outputs")]
    fn scan_txn(
        &mut self,
        t: usize,
        node_of: &[u32],
        findings: &mut Findings,
        edges: &mut EdgeList,
        reads: &mut Vec<ReadRec>,
        lost: &mut Vec<LostRec>,
        scratch: &mut FastMap<KeyId, KeyScratch>,
    ) {
        let h = self.h;
        let txn = &h.txns()[t];
        let mops = h.mops(txn);
        let mut internal_done = false;
        let mut future_done = false;
        for mop in mops.iter().filter(|m| m.kind == MopKind::Append) {
            scratch.entry(mop.key).or_default().appends_left += 1;
        }
        for (i, mop) in mops.iter().enumerate() {
            let ks = scratch.entry(mop.key).or_default();
            match mop.kind {
                MopKind::Append => {
                    ks.appends_left -= 1;
                    ks.appended_count += 1;
                    ks.suffix.push(mop.value);
                    if !ks.appended {
                        ks.appended = true;
                        if let Some((len, last, read_mop)) = ks.first_read {
                            lost.push(LostRec {
                                key: mop.key,
                                len,
                                last,
                                txn: t as u32,
                                mop: read_mop,
                            });
                        }
                    }
                }
                MopKind::Read if mop.is_known_read() => {
                    let elements = h.read_elements(mop);
                    if !ks.appended && ks.first_read.is_none() {
                        let last = elements.last().copied().unwrap_or(Val::MAX);
                        ks.first_read = Some((mop.len, last, i as u32));
                    }
                    if !internal_done {
                        internal_done = self.check_internal(t, i, mop, ks, findings);
                    }
                    ks.base = Some(i);
                    ks.suffix.clear();
                    let compatible = self.observe(mop.key, elements);
                    let last = self.last_writer(mop, compatible);
                    self.check_read(t, i, mop, compatible, last, findings);
                    // Only a transaction that appends to the key later can
                    // have read its own future (keeps this linear).
                    if !future_done && ks.appends_left > 0 {
                        let own_before = ks.appended_count;
                        future_done =
                            self.check_future_read(t, i, mop, compatible, own_before, findings);
                    }
                    self.wr_edge(t, last, node_of, edges);
                    if let Some(state) = self.read_state(mop.key, elements, compatible) {
                        reads.push(ReadRec {
                            key: mop.key,
                            state,
                            txn: t as u32,
                        });
                    }
                }
                MopKind::Read | MopKind::Write => {}
            }
        }
    }

    /// Compares a read with the key's order, extending the order if the
    /// read is longer and agrees; returns whether it is compatible.
    fn observe(&mut self, key: KeyId, elements: &[Val]) -> bool {
        let order = &self.orders[key as usize];
        let known = order.elements.len();
        if elements.len() <= known {
            return order.elements[..elements.len()] == *elements;
        }
        if order.elements[..] != elements[..known] {
            return false;
        }
        for (p, &e) in elements.iter().enumerate().skip(known) {
            let (writer, kind) = match self.appends.get_mut(&(key, e)) {
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
    fn read_state(&self, key: KeyId, elements: &[Val], compatible: bool) -> Option<u32> {
        if compatible {
            return Some(elements.len() as u32);
        }
        let last = elements.last()?;
        let rec = self.appends.get(&(key, *last))?;
        (rec.pos != UNOBSERVED).then(|| rec.pos + 1)
    }

    /// The state a read micro-op observed, judged against the final orders.
    fn final_read_state(&self, mop: &Mop) -> Option<u32> {
        let elements = self.h.read_elements(mop);
        let order = &self.orders[mop.key as usize].elements;
        let compatible = elements.len() <= order.len() && order[..elements.len()] == *elements;
        self.read_state(mop.key, elements, compatible)
    }

    /// The writer of a read's last element and whether that append was
    /// intermediate. A compatible read's last element sits at a known
    /// position of the order, so no hash lookup is needed.
    fn last_writer(&self, mop: &Mop, compatible: bool) -> Option<(u32, bool)> {
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
        let rec = self.appends.get(&(mop.key, last))?;
        Some((rec.txn, rec.intermediate))
    }

    fn wr_edge(&self, t: usize, last: Option<(u32, bool)>, node_of: &[u32], edges: &mut EdgeList) {
        if let Some((w, _)) = last
            && w as usize != t
            && node_of[w as usize] != NONE
        {
            edges.push(node_of[w as usize], node_of[t], rel::WR);
        }
    }

    /// Aborted, garbage, duplicate and intermediate reads of one read.
    fn check_read(
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
            match self.appends.get(&(mop.key, *e)) {
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
            let rec = self.appends.get(&(mop.key, e));
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
    fn check_internal(
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
    fn check_future_read(
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
                .get(&(mop.key, e))
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

    /// ww edges along each key's order, rw edges from readers of each state
    /// to the writer of the next position.
    fn add_order_edges(&self, node_of: &[u32], reads: &[ReadRec], edges: &mut EdgeList) {
        for order in &self.orders {
            for pair in order.writers.windows(2) {
                let (a, b) = (pair[0], pair[1]);
                if a != NONE
                    && b != NONE
                    && node_of[a as usize] != NONE
                    && node_of[b as usize] != NONE
                {
                    edges.push(node_of[a as usize], node_of[b as usize], rel::WW);
                }
            }
        }
        for r in reads {
            let writers = &self.orders[r.key as usize].writers;
            if let Some(&w) = writers.get(r.state as usize)
                && w != NONE
                && w != r.txn
                && node_of[w as usize] != NONE
            {
                edges.push(node_of[r.txn as usize], node_of[w as usize], rel::RW);
            }
        }
    }

    /// Edges into appends no read observed (see the module docs).
    fn add_unobserved_edges(&self, node_of: &[u32], reads: &[ReadRec], edges: &mut EdgeList) {
        let mut unobserved: Vec<(KeyId, u32)> = self
            .appends
            .iter()
            .filter(|(_, r)| r.pos == UNOBSERVED && node_of[r.txn as usize] != NONE)
            .map(|(&(k, _), r)| (k, r.txn))
            .collect();
        unobserved.sort_unstable();
        unobserved.dedup();
        for (key, t) in unobserved {
            let order = &self.orders[key as usize];
            let b = node_of[t as usize];
            if let Some(&w) = order.writers.last()
                && w != NONE
                && w != t
                && node_of[w as usize] != NONE
            {
                edges.push(node_of[w as usize], b, rel::WW);
            }
            let state = order.elements.len() as u32;
            let from = reads.partition_point(|r| (r.key, r.state) < (key, state));
            for r in reads[from..]
                .iter()
                .take_while(|r| r.key == key && r.state == state)
            {
                if edges.full() {
                    return;
                }
                if r.txn != t {
                    edges.push(node_of[r.txn as usize], b, rel::RW);
                }
            }
        }
    }

    /// Elle's dirty update: along a key's order, a committed append right
    /// after (possibly info appends after) a failed one.
    fn dirty_updates(&self, findings: &mut Findings) {
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

    fn lost_updates(&self, lost: &mut [LostRec], findings: &mut Findings) {
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

    /// Where an appended element sits: the state before it and the element
    /// before it (the last observed one for unobserved appends).
    fn previous(&self, key: KeyId, e: Val) -> Option<Previous> {
        let rec = self.appends.get(&(key, e))?;
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
struct Previous {
    /// How many elements precede the append.
    state: u32,
    /// The element right before it and its writer; `None`: the empty list.
    before: Option<(Val, u32)>,
    /// Whether a read observed the append itself.
    observed: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PosKind {
    Garbage,
    Aborted,
    Duplicate,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum BadRead {
    Aborted,
    Garbage,
    Duplicate,
    Intermediate,
}

impl EdgeExplainer for ListAppend<'_> {
    fn explain(&self, a: usize, b: usize, bit: u8, names: (&str, &str)) -> Option<Justification> {
        let h = self.h;
        let (ta, tb) = (&h.txns()[a], &h.txns()[b]);
        let key_text = |k: KeyId| atom_text(&h.interner().key_json(k));
        let val_text = |v: Val| atom_text(&h.interner().value_json(v));
        let a_mops = h.mops(ta);
        let b_mops = h.mops(tb);
        match bit {
            rel::WW => b_mops.iter().enumerate().find_map(|(j, m)| {
                if m.kind != MopKind::Append {
                    return None;
                }
                let Previous { before, observed, .. } = self.previous(m.key, m.value)?;
                let (pe, pw) = before?;
                if pw as usize != a {
                    return None;
                }
                let from_mop = a_mops
                    .iter()
                    .position(|x| x.kind == MopKind::Append && x.key == m.key && x.value == pe);
                let text = if observed {
                    format!(
                        "{} appended {} to key {} and {} appended {} right after it",
                        names.0,
                        val_text(pe),
                        key_text(m.key),
                        names.1,
                        val_text(m.value)
                    )
                } else {
                    format!(
                        "{} appended {} to key {}, which no read observed, so it came after every observed element, the last of which, {}, {} appended",
                        names.1,
                        val_text(m.value),
                        key_text(m.key),
                        val_text(pe),
                        names.0
                    )
                };
                Some(Justification {
                    key: Some(h.interner().key_json(m.key)),
                    from_mop,
                    to_mop: Some(j),
                    text,
                })
            }),
            rel::WR => b_mops.iter().enumerate().find_map(|(j, m)| {
                if !m.is_known_read() {
                    return None;
                }
                let elements = h.read_elements(m);
                let last = *elements.last()?;
                let rec = self.appends.get(&(m.key, last))?;
                if rec.txn as usize != a {
                    return None;
                }
                Some(Justification {
                    key: Some(h.interner().key_json(m.key)),
                    from_mop: Some(rec.mop as usize),
                    to_mop: Some(j),
                    text: format!(
                        "{} appended {} to key {} and {} read {}, which ends with it",
                        names.0,
                        val_text(last),
                        key_text(m.key),
                        names.1,
                        list_text(h, elements)
                    ),
                })
            }),
            rel::RW => b_mops.iter().enumerate().find_map(|(j, m)| {
                if m.kind != MopKind::Append {
                    return None;
                }
                let Previous {
                    state,
                    before: prev,
                    observed,
                } = self.previous(m.key, m.value)?;
                let (i, read) = a_mops.iter().enumerate().find(|(_, r)| {
                    r.is_known_read() && r.key == m.key && self.final_read_state(r) == Some(state)
                })?;
                let seen = list_text(h, h.read_elements(read));
                let text = match (prev, observed) {
                    (None, true) => format!(
                        "{} read key {} as empty and {} appended its first element, {}",
                        names.0,
                        key_text(m.key),
                        names.1,
                        val_text(m.value)
                    ),
                    (Some((pe, _)), true) => format!(
                        "{} read key {} = {} without {}, which {} appended right after {}",
                        names.0,
                        key_text(m.key),
                        seen,
                        val_text(m.value),
                        names.1,
                        val_text(pe)
                    ),
                    (_, false) => format!(
                        "{} read key {} = {} and {} appended {}, which no read observed, so it came after everything {} saw",
                        names.0,
                        key_text(m.key),
                        seen,
                        names.1,
                        val_text(m.value),
                        names.0
                    ),
                };
                Some(Justification {
                    key: Some(h.interner().key_json(m.key)),
                    from_mop: Some(i),
                    to_mop: Some(j),
                    text,
                })
            }),
            _ => None,
        }
    }
}
