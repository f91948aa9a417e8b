//! Read-write register analysis (Elle's `elle.rw-register`): writes are
//! unique per key, so each read names its writer ("recoverability"); the
//! version order is only partly known.
//!
//! Per transaction, the *external* read of a key is its first read before
//! any write of that key; the external write is its last write of the key.
//! Edges come from external micro-ops of `ok` transactions (reads) and
//! `ok`/`info` transactions (writes):
//! - wr: the writer of a version -> each external reader of it (a read of
//!   an `info` transaction's write means that transaction committed);
//! - version order: the initial state `nil` precedes every version; with
//!   [`TxnOptions::wfr_keys`](crate::txn::TxnOptions) a transaction that
//!   reads `v1` and then writes `v2` orders `v1` before `v2`. A key whose
//!   inferred order is cyclic is a `cyclic-versions` anomaly, and its
//!   writes-follow-reads edges are dropped;
//! - for each version edge `v1 -> v2`: ww from the writer of `v1`, rw from
//!   each external reader of `v1`, to the writer of `v2`.
//!
//! Non-cycle anomalies: G1a (read of a failed write), G1b (read of a
//! non-final write of another transaction), garbage reads, internal
//! inconsistency (a read that disagrees with the transaction's own last
//! read or write of the key), lost update.

use crate::{
    history::Outcome,
    txn::{
        anomaly::AnomalyType,
        explain::{EdgeExplainer, Findings, Justification, atom_text, label, txn_refs},
        graph::{DepGraph, EdgeList, NONE, rel},
        history::{InputProblem, Mop, MopKind, TxnHistory},
        intern::{KeyId, NIL, SmallKeyMap, Val},
        keyed::KeyedIndex,
        report::{Anomaly, AnomalyDetail},
    },
};

/// One write of the history.
#[derive(Debug, Clone, Copy, Default)]
struct WriteRec {
    txn: u32,
    mop: u32,
    /// Whether it is its transaction's last write of the key.
    last: bool,
}

/// The rw-register analysis of one history; kept to explain edges.
pub struct RwRegister<'h> {
    h: &'h TxnHistory,
    writes: KeyedIndex<WriteRec>,
    /// Keys whose writes-follow-reads order is in use.
    wfr: Vec<bool>,
}

/// External read or write of one key by one transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Ext {
    key: KeyId,
    value: Val,
    txn: u32,
}

impl<'h> RwRegister<'h> {
    /// Runs the analysis (see the module docs).
    pub fn analyze(
        h: &'h TxnHistory,
        node_of: &[u32],
        wfr_keys: bool,
        findings: &mut Findings,
        edges: &mut EdgeList,
    ) -> Result<RwRegister<'h>, InputProblem> {
        let mut rr = RwRegister {
            h,
            writes: index_writes(h)?,
            wfr: vec![false; h.interner().key_count()],
        };
        let mut reads: Vec<Ext> = Vec::new();
        let mut writes: Vec<Ext> = Vec::new();
        let mut wfr: Vec<(KeyId, Val, Val, u32)> = Vec::new();
        let mut lost: Vec<(KeyId, Val, u32)> = Vec::new();
        let mut ext = SmallKeyMap::default();
        let mut state = SmallKeyMap::default();
        for (t, txn) in h.txns().iter().enumerate() {
            if node_of[t] == NONE {
                continue;
            }
            external(h.mops(txn), &mut ext);
            for &(key, (read, write)) in ext.entries() {
                if let Some(v) = write {
                    writes.push(Ext {
                        key,
                        value: v,
                        txn: t as u32,
                    });
                }
                if let Some(r) = read {
                    reads.push(Ext {
                        key,
                        value: r,
                        txn: t as u32,
                    });
                    if let Some(w) = write {
                        lost.push((key, r, t as u32));
                        if r != NIL {
                            wfr.push((key, r, w, t as u32));
                        }
                    }
                }
            }
            if txn.outcome == Outcome::Ok {
                rr.check_reads(t, findings);
                rr.check_internal(t, &mut state, findings);
            }
        }
        reads.sort_unstable();
        writes.sort_unstable();
        rr.wr_edges(node_of, &reads, edges);
        rr.initial_state_edges(node_of, &reads, &writes, edges);
        if wfr_keys {
            rr.wfr_edges(node_of, &reads, &mut wfr, findings, edges);
        }
        rr.lost_updates(&mut lost, findings);
        Ok(rr)
    }

    /// The committed writer (node) of `value`, if its write is external.
    fn writer_node(&self, key: KeyId, value: Val, node_of: &[u32]) -> Option<u32> {
        let w = self.writes.get(key, value)?;
        let node = node_of[w.txn as usize];
        (w.last && node != NONE).then_some(node)
    }

    fn wr_edges(&self, node_of: &[u32], reads: &[Ext], edges: &mut EdgeList) {
        for r in reads {
            if r.value == NIL {
                continue;
            }
            if let Some(w) = self.writer_node(r.key, r.value, node_of) {
                edges.push(w, node_of[r.txn as usize], rel::WR);
            }
        }
    }

    /// `nil` precedes every version: readers of `nil` -rw-> every writer.
    fn initial_state_edges(
        &self,
        node_of: &[u32],
        reads: &[Ext],
        writes: &[Ext],
        edges: &mut EdgeList,
    ) {
        let nil_readers = reads.iter().filter(|r| r.value == NIL);
        let mut at = 0usize;
        for r in nil_readers {
            at += writes[at..].partition_point(|w| w.key < r.key);
            for w in writes[at..].iter().take_while(|w| w.key == r.key) {
                if edges.full() {
                    return;
                }
                edges.push(node_of[r.txn as usize], node_of[w.txn as usize], rel::RW);
            }
        }
    }

    fn wfr_edges(
        &mut self,
        node_of: &[u32],
        reads: &[Ext],
        wfr: &mut [(KeyId, Val, Val, u32)],
        findings: &mut Findings,
        edges: &mut EdgeList,
    ) {
        wfr.sort_unstable();
        for group in wfr.chunk_by(|a, b| a.0 == b.0) {
            let key = group[0].0;
            if let Some(cycle) = version_cycle(group) {
                findings.add(AnomalyType::CyclicVersions, || {
                    self.cyclic_versions(key, &cycle)
                });
                continue;
            }
            self.wfr[key as usize] = true;
            for &(_, v1, _, t) in group {
                let b = node_of[t as usize];
                if let Some(a) = self.writer_node(key, v1, node_of) {
                    edges.push(a, b, rel::WW);
                }
                let from = reads.partition_point(|r| (r.key, r.value) < (key, v1));
                for r in reads[from..]
                    .iter()
                    .take_while(|r| r.key == key && r.value == v1)
                {
                    if edges.full() {
                        return;
                    }
                    edges.push(node_of[r.txn as usize], b, rel::RW);
                }
            }
        }
    }

    fn cyclic_versions(&self, key: KeyId, cycle: &[Val]) -> Anomaly {
        let h = self.h;
        let writers: Vec<usize> = cycle
            .iter()
            .filter_map(|&v| self.writes.get(key, v).map(|w| w.txn as usize))
            .collect();
        let key_json = h.interner().key_json(key);
        let values: Vec<String> = cycle
            .iter()
            .map(|&v| atom_text(&h.interner().value_json(v)))
            .collect();
        Anomaly {
            kind: AnomalyType::CyclicVersions,
            explanation: format!(
                "cyclic-versions: transactions that read a version of key {} and then wrote it order its versions {} -> {}, a cycle",
                atom_text(&key_json),
                values.join(" -> "),
                values.first().cloned().unwrap_or_default()
            ),
            txns: txn_refs(h, &writers),
            detail: AnomalyDetail::Orders {
                key: key_json,
                orders: vec![serde_json::Value::Array(
                    cycle.iter().map(|&v| h.interner().value_json(v)).collect(),
                )],
            },
        }
    }

    /// G1a, G1b and garbage reads among a committed transaction's reads.
    fn check_reads(&self, t: usize, findings: &mut Findings) {
        let h = self.h;
        for (i, mop) in h.mops(&h.txns()[t]).iter().enumerate() {
            if !mop.is_known_read() || mop.value == NIL {
                continue;
            }
            match self.writes.get(mop.key, mop.value) {
                None => findings.add(AnomalyType::GarbageRead, || {
                    self.bad_read(t, i, mop, None, AnomalyType::GarbageRead)
                }),
                Some(w) if h.txns()[w.txn as usize].outcome == Outcome::Fail => {
                    findings.add(AnomalyType::G1a, || {
                        self.bad_read(t, i, mop, Some(w.txn as usize), AnomalyType::G1a)
                    });
                }
                Some(w) if !w.last && w.txn as usize != t => {
                    findings.add(AnomalyType::G1b, || {
                        self.bad_read(t, i, mop, Some(w.txn as usize), AnomalyType::G1b)
                    });
                }
                Some(_) => {}
            }
        }
    }

    fn bad_read(
        &self,
        t: usize,
        i: usize,
        mop: &Mop,
        writer: Option<usize>,
        kind: AnomalyType,
    ) -> Anomaly {
        let h = self.h;
        let key = h.interner().key_json(mop.key);
        let value = h.interner().value_json(mop.value);
        let why = match (kind, writer) {
            (AnomalyType::G1a, Some(w)) => format!("{} wrote it and failed", label(h, "T2", w)),
            (AnomalyType::G1b, Some(w)) => format!(
                "{} wrote it and then wrote the key again in the same transaction",
                label(h, "T2", w)
            ),
            _ => "no transaction wrote it".to_owned(),
        };
        let txns: Vec<usize> = std::iter::once(t).chain(writer).collect();
        Anomaly {
            kind,
            explanation: format!(
                "{kind}: {} read key {} = {}, but {why}",
                label(h, "T1", t),
                atom_text(&key),
                atom_text(&value)
            ),
            txns: txn_refs(h, &txns),
            detail: AnomalyDetail::Read {
                key,
                mop: i,
                read: value.clone(),
                values: vec![value],
                writer: writer.map(|_| 1),
            },
        }
    }

    /// A read must equal the transaction's last read or write of the key.
    fn check_internal(&self, t: usize, state: &mut SmallKeyMap<Val>, findings: &mut Findings) {
        let h = self.h;
        let mops = h.mops(&h.txns()[t]);
        state.clear();
        for (i, mop) in mops.iter().enumerate() {
            match mop.kind {
                MopKind::Write => {
                    *state.slot(mop.key, || mop.value) = mop.value;
                }
                MopKind::Read if mop.is_known_read() => {
                    if let Some(&expected) = state.get(mop.key)
                        && expected != mop.value
                    {
                        findings.add(AnomalyType::Internal, || {
                            let key = h.interner().key_json(mop.key);
                            let read = h.interner().value_json(mop.value);
                            let expected = h.interner().value_json(expected);
                            Anomaly {
                                kind: AnomalyType::Internal,
                                explanation: format!(
                                    "internal: {} read key {} = {}, but its own earlier micro-ops left it {}",
                                    label(h, "T1", t),
                                    atom_text(&key),
                                    atom_text(&read),
                                    atom_text(&expected)
                                ),
                                txns: txn_refs(h, &[t]),
                                detail: AnomalyDetail::Internal { key, mop: i, read, expected },
                            }
                        });
                        return;
                    }
                    *state.slot(mop.key, || mop.value) = mop.value;
                }
                MopKind::Read | MopKind::Append => {}
            }
        }
    }

    fn lost_updates(&self, lost: &mut [(KeyId, Val, u32)], findings: &mut Findings) {
        let h = self.h;
        lost.sort_unstable();
        for group in lost.chunk_by(|a, b| (a.0, a.1) == (b.0, b.1)) {
            let committed: Vec<usize> = group
                .iter()
                .filter(|g| h.txns()[g.2 as usize].outcome == Outcome::Ok)
                .map(|g| g.2 as usize)
                .collect();
            if committed.len() < 2 {
                continue;
            }
            findings.add(AnomalyType::LostUpdate, || {
                let key = h.interner().key_json(group[0].0);
                let read = h.interner().value_json(group[0].1);
                let names: Vec<String> = committed
                    .iter()
                    .enumerate()
                    .map(|(i, &t)| label(h, &format!("T{}", i + 1), t))
                    .collect();
                Anomaly {
                    kind: AnomalyType::LostUpdate,
                    explanation: format!(
                        "lost-update: {} all read key {} = {} and then wrote it, so all but one of their updates were lost",
                        names.join(", "),
                        atom_text(&key),
                        atom_text(&read)
                    ),
                    txns: txn_refs(h, &committed),
                    detail: AnomalyDetail::SameRead { key, read },
                }
            });
        }
    }
}

/// Indexes every write (any outcome); fails on a value written twice to
/// one key (reads would not name one writer).
fn index_writes(h: &TxnHistory) -> Result<KeyedIndex<WriteRec>, InputProblem> {
    KeyedIndex::build(h.interner().key_count(), |f| {
        let mut own: Vec<(KeyId, u32)> = Vec::new();
        for (t, txn) in h.txns().iter().enumerate() {
            let mops = h.mops(txn);
            own.clear();
            own.extend(
                mops.iter()
                    .enumerate()
                    .filter(|(_, m)| m.kind == MopKind::Write)
                    .map(|(i, m)| (m.key, i as u32)),
            );
            // Sorted by key then position: a key's last write ends its run.
            own.sort_unstable();
            for (j, &(key, i)) in own.iter().enumerate() {
                let last = own.get(j + 1).is_none_or(|next| next.0 != key);
                let rec = WriteRec {
                    txn: t as u32,
                    mop: i,
                    last,
                };
                f(key, mops[i as usize].value, rec);
            }
        }
    })
    .map_err(|(key, value, first, second)| InputProblem::DuplicateWrite {
        key: h.interner().key_json(key).to_string(),
        value: h.interner().value_json(value).to_string(),
        first: h.txns()[first.txn as usize].op,
        op: h.txns()[second.txn as usize].op,
    })
}

/// External (first-before-write) reads and (last) writes of a transaction:
/// `(key, read, write)` per key, in order of first appearance. Reads of
/// unknown value are not external reads.
fn external(mops: &[Mop], out: &mut SmallKeyMap<(Option<Val>, Option<Val>)>) {
    out.clear();
    for mop in mops {
        let entry = out.slot(mop.key, || (None, None));
        match mop.kind {
            MopKind::Read if mop.is_known_read() && entry.1.is_none() && entry.0.is_none() => {
                entry.0 = Some(mop.value);
            }
            MopKind::Write => entry.1 = Some(mop.value),
            _ => {}
        }
    }
}

/// A cycle among one key's writes-follow-reads version edges
/// `(key, from, to, txn)`, as the versions of one strongly connected
/// component (sorted), if any.
fn version_cycle(group: &[(KeyId, Val, Val, u32)]) -> Option<Vec<Val>> {
    let mut values: Vec<Val> = group.iter().flat_map(|g| [g.1, g.2]).collect();
    values.sort_unstable();
    values.dedup();
    let id = |v: Val| values.binary_search(&v).unwrap_or(0) as u32;
    let mut edges = EdgeList::default();
    for &(_, a, b, _) in group {
        edges.push(id(a), id(b), rel::WW);
    }
    let g = DepGraph::from_edges(values.len(), edges);
    if !g.is_cyclic() {
        return None;
    }
    let scc = g.nontrivial_sccs().into_iter().next()?;
    Some(scc.into_iter().map(|i| values[i as usize]).collect())
}

impl EdgeExplainer for RwRegister<'_> {
    fn explain(&self, a: usize, b: usize, bit: u8, names: (&str, &str)) -> Option<Justification> {
        let h = self.h;
        let (ta, tb) = (&h.txns()[a], &h.txns()[b]);
        let (mut ea, mut eb) = (SmallKeyMap::default(), SmallKeyMap::default());
        external(h.mops(ta), &mut ea);
        external(h.mops(tb), &mut eb);
        let (ea, eb) = (ea.entries(), eb.entries());
        let key_text = |k: KeyId| atom_text(&h.interner().key_json(k));
        let val_text = |v: Val| atom_text(&h.interner().value_json(v));
        let mop_of = |mops: &[Mop], kind: MopKind, key: KeyId, value: Val| {
            mops.iter()
                .position(|m| m.kind == kind && m.key == key && m.value == value)
        };
        let just = |key: KeyId, from_mop, to_mop, text| Justification {
            key: Some(h.interner().key_json(key)),
            from_mop,
            to_mop,
            text,
        };
        match bit {
            rel::WR => eb.iter().find_map(|&(k, (read, _))| {
                let v = read.filter(|&v| v != NIL)?;
                let w = self.writes.get(k, v)?;
                (w.txn as usize == a && w.last).then(|| {
                    just(
                        k,
                        Some(w.mop as usize),
                        mop_of(h.mops(tb), MopKind::Read, k, v),
                        format!("{} wrote key {} = {} and {} read it", names.0, key_text(k), val_text(v), names.1),
                    )
                })
            }),
            rel::WW => eb.iter().find_map(|&(k, (read, write))| {
                let (v1, v2) = (read?, write?);
                if v1 == NIL || !self.wfr[k as usize] {
                    return None;
                }
                let w = self.writes.get(k, v1)?;
                (w.txn as usize == a && w.last).then(|| {
                    just(
                        k,
                        Some(w.mop as usize),
                        mop_of(h.mops(tb), MopKind::Write, k, v2),
                        format!(
                            "{} wrote key {} = {}, and {} read it and then wrote {} (writes follow reads)",
                            names.0,
                            key_text(k),
                            val_text(v1),
                            names.1,
                            val_text(v2)
                        ),
                    )
                })
            }),
            rel::RW => ea.iter().find_map(|&(k, (read, _))| {
                let v1 = read?;
                let &(_, (b_read, b_write)) = eb.iter().find(|e| e.0 == k)?;
                let v2 = b_write?;
                let from_mop = mop_of(h.mops(ta), MopKind::Read, k, v1);
                let to_mop = mop_of(h.mops(tb), MopKind::Write, k, v2);
                if v1 == NIL {
                    Some(just(
                        k,
                        from_mop,
                        to_mop,
                        format!(
                            "{} read key {} = nil, the initial state, and {} wrote {}, a later version",
                            names.0,
                            key_text(k),
                            names.1,
                            val_text(v2)
                        ),
                    ))
                } else if self.wfr[k as usize] && b_read == Some(v1) {
                    Some(just(
                        k,
                        from_mop,
                        to_mop,
                        format!(
                            "{} read key {} = {}, and {} read it too and then wrote {} over it (writes follow reads)",
                            names.0,
                            key_text(k),
                            val_text(v1),
                            names.1,
                            val_text(v2)
                        ),
                    ))
                } else {
                    None
                }
            }),
            _ => None,
        }
    }
}
