//! The pass over committed transactions (reads checked against the key
//! orders, per-transaction checks) and the edges it yields.

use crate::{
    history::Outcome,
    txn::{
        explain::Findings,
        graph::{EdgeList, NONE, rel},
        history::{InputProblem, MopKind, TxnHistory},
        intern::{KeyId, SmallKeyMap, Val},
    },
};

use super::index::{AppendIndex, KeyOrder, UNOBSERVED, index_appends};

/// A committed read, for rw edges: it saw `state` elements of `key`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(super) struct ReadRec {
    pub(super) key: KeyId,
    pub(super) state: u32,
    pub(super) txn: u32,
}

/// A committed transaction that read `key` and then appended to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(super) struct LostRec {
    pub(super) key: KeyId,
    pub(super) len: u32,
    pub(super) last: Val,
    pub(super) txn: u32,
    pub(super) mop: u32,
}

/// Per-key scratch of the transaction being scanned.
#[derive(Debug, Default)]
pub(super) struct KeyScratch {
    /// Internal consistency: the last read of the key in this transaction
    /// (micro-op index), if any, and the elements appended since.
    pub(super) base: Option<usize>,
    pub(super) suffix: Vec<Val>,
    /// Lost update: (length, last element, micro-op) of the first read, if
    /// it came before any append.
    pub(super) first_read: Option<(u32, Val, u32)>,
    pub(super) appended: bool,
    /// Appends to the key later in the transaction.
    pub(super) appends_left: u32,
    /// Appends to the key so far.
    pub(super) appended_count: u32,
}

/// The list-append analysis of one history; kept to explain edges.
pub struct ListAppend<'h> {
    pub(super) h: &'h TxnHistory,
    pub(super) appends: AppendIndex,
    pub(super) orders: Vec<KeyOrder>,
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
        let mut la = ListAppend {
            h,
            appends: index_appends(h)?,
            orders: vec![KeyOrder::default(); h.interner().key_count()],
        };
        let mut reads = Vec::new();
        let mut lost = Vec::new();
        let mut scratch: SmallKeyMap<KeyScratch> = SmallKeyMap::default();
        for (t, txn) in h.txns().iter().enumerate() {
            if txn.outcome != Outcome::Ok {
                continue;
            }
            scratch.clear();
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

    #[expect(clippy::too_many_arguments, reason = "one pass fills several outputs")]
    fn scan_txn(
        &mut self,
        t: usize,
        node_of: &[u32],
        findings: &mut Findings,
        edges: &mut EdgeList,
        reads: &mut Vec<ReadRec>,
        lost: &mut Vec<LostRec>,
        scratch: &mut SmallKeyMap<KeyScratch>,
    ) {
        let h = self.h;
        let txn = &h.txns()[t];
        let mops = h.mops(txn);
        let mut internal_done = false;
        let mut future_done = false;
        for mop in mops.iter().filter(|m| m.kind == MopKind::Append) {
            scratch.slot(mop.key, KeyScratch::default).appends_left += 1;
        }
        for (i, mop) in mops.iter().enumerate() {
            let ks = scratch.slot(mop.key, KeyScratch::default);
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

    fn wr_edge(&self, t: usize, last: Option<(u32, bool)>, node_of: &[u32], edges: &mut EdgeList) {
        if let Some((w, _)) = last
            && w as usize != t
            && node_of[w as usize] != NONE
        {
            edges.push(node_of[w as usize], node_of[t], rel::WR);
        }
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
            .filter(|(_, _, r)| r.pos == UNOBSERVED && node_of[r.txn as usize] != NONE)
            .map(|(k, _, r)| (k, r.txn))
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
}
