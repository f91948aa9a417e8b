//! The transaction dependency graph: typed edges between committed (or
//! possibly committed) transactions, in compressed sparse rows, plus the
//! real-time and process orders.
//!
//! Nodes are dense ids (`0..n`) over the `ok` and `info` transactions;
//! `fail` transactions are never nodes. Each edge carries a bit set of
//! relations ([`rel`]). Self-edges are dropped when added; parallel edges
//! are merged (their relation bits or-ed) when the graph is built.
//!
//! The graph implements petgraph's visitor traits, so petgraph's
//! algorithms (iterative Kosaraju SCCs, cycle detection) run on it without
//! copying. petgraph's Tarjan SCC recurses once per node, which overflows
//! the stack on a million-transaction chain, so we use Kosaraju, which
//! needs the reverse adjacency kept here too.
//!
//! Real-time edges (`a` completed before `b` was invoked) are a sparse
//! transitive reduction, as in Elle: when `b` is invoked it gets an edge
//! from each transaction on the *frontier* (completed, and not yet known to
//! precede another completed transaction); when `b` completes, its
//! predecessors leave the frontier and `b` joins it. Every real-time pair
//! stays reachable; the edge count is about the concurrency per
//! transaction, not quadratic.

use fixedbitset::FixedBitSet;
use petgraph::{
    Direction,
    visit::{
        GraphBase, IntoNeighbors, IntoNeighborsDirected, IntoNodeIdentifiers, NodeCount,
        NodeIndexable, Visitable,
    },
};
use serde::{Deserialize, Serialize};

use crate::{history::Outcome, txn::model::ExtraOrders};

/// No node (a `fail` transaction) / no writer.
pub const NONE: u32 = u32::MAX;

/// Relation bits of an edge.
pub mod rel {
    /// Write-write: `b` overwrote (appended after) `a`'s write.
    pub const WW: u8 = 1;
    /// Write-read: `b` read `a`'s write.
    pub const WR: u8 = 2;
    /// Read-write (anti-dependency): `b` overwrote the version `a` read.
    pub const RW: u8 = 4;
    /// `a` and `b` are consecutive transactions of one process.
    pub const PROCESS: u8 = 8;
    /// `a` completed before `b` was invoked.
    pub const REALTIME: u8 = 16;
    /// The data dependencies.
    pub const DATA: u8 = WW | WR | RW;
}

/// One relation, for reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Rel {
    /// Write-write dependency.
    Ww,
    /// Write-read dependency.
    Wr,
    /// Read-write anti-dependency.
    Rw,
    /// Process order.
    Process,
    /// Real-time order.
    Realtime,
}

impl Rel {
    /// The relation of a single bit.
    pub fn of_bit(bit: u8) -> Option<Rel> {
        match bit {
            rel::WW => Some(Rel::Ww),
            rel::WR => Some(Rel::Wr),
            rel::RW => Some(Rel::Rw),
            rel::PROCESS => Some(Rel::Process),
            rel::REALTIME => Some(Rel::Realtime),
            _ => None,
        }
    }

    /// Short name (`ww`, `rt`, ...).
    pub fn name(self) -> &'static str {
        match self {
            Rel::Ww => "ww",
            Rel::Wr => "wr",
            Rel::Rw => "rw",
            Rel::Process => "process",
            Rel::Realtime => "rt",
        }
    }
}

/// Edges being collected: `(from, to, relation bits)`, at most `limit` of
/// them (hostile histories can ask for quadratically many; past the limit
/// edges are dropped and [`EdgeList::overflowed`] says so, and the check
/// answers `unknown`).
#[derive(Debug)]
pub struct EdgeList {
    edges: Vec<(u32, u32, u8)>,
    limit: usize,
    overflowed: bool,
}

impl Default for EdgeList {
    fn default() -> Self {
        EdgeList::with_limit(usize::MAX)
    }
}

impl EdgeList {
    /// An empty list that holds at most `limit` edges.
    pub fn with_limit(limit: usize) -> EdgeList {
        EdgeList {
            edges: Vec::new(),
            limit,
            overflowed: false,
        }
    }

    /// Adds an edge; self-edges are ignored.
    pub fn push(&mut self, from: u32, to: u32, rels: u8) {
        if from == to {
            return;
        }
        if self.edges.len() >= self.limit {
            self.overflowed = true;
            return;
        }
        self.edges.push((from, to, rels));
    }

    /// Whether the list is at its limit.
    pub fn full(&self) -> bool {
        self.edges.len() >= self.limit
    }

    /// Whether edges were dropped at the limit.
    pub fn overflowed(&self) -> bool {
        self.overflowed
    }

    /// The limit.
    pub fn limit(&self) -> usize {
        self.limit
    }

    /// Number of edges added (before merging).
    pub fn len(&self) -> usize {
        self.edges.len()
    }

    /// Whether no edge was added.
    pub fn is_empty(&self) -> bool {
        self.edges.is_empty()
    }
}

/// A directed graph with relation bits on its edges.
#[derive(Debug, Clone, Default)]
pub struct DepGraph {
    offsets: Vec<usize>,
    targets: Vec<u32>,
    rels: Vec<u8>,
    rev_offsets: Vec<usize>,
    sources: Vec<u32>,
}

impl DepGraph {
    /// Builds the graph on `n` nodes from `edges` (merging parallel edges).
    pub fn from_edges(n: usize, edges: EdgeList) -> DepGraph {
        let edges = edges.edges;
        debug_assert!(
            edges
                .iter()
                .all(|&(a, b, _)| (a as usize) < n && (b as usize) < n)
        );
        let mut offsets = vec![0usize; n + 1];
        for &(from, _, _) in &edges {
            offsets[from as usize + 1] += 1;
        }
        for i in 0..n {
            offsets[i + 1] += offsets[i];
        }
        let mut fill = offsets.clone();
        let mut slots: Vec<(u32, u8)> = vec![(0, 0); edges.len()];
        for (from, to, r) in edges {
            let at = &mut fill[from as usize];
            slots[*at] = (to, r);
            *at += 1;
        }
        let mut targets = Vec::with_capacity(slots.len());
        let mut rels = Vec::with_capacity(slots.len());
        let mut new_offsets = vec![0usize; n + 1];
        for v in 0..n {
            let row = &mut slots[offsets[v]..offsets[v + 1]];
            row.sort_unstable_by_key(|&(to, _)| to);
            for &(to, r) in row.iter() {
                if targets.len() > new_offsets[v] && targets.last() == Some(&to) {
                    if let Some(last) = rels.last_mut() {
                        *last |= r;
                    }
                } else {
                    targets.push(to);
                    rels.push(r);
                }
            }
            new_offsets[v + 1] = targets.len();
        }
        drop(slots);
        let (rev_offsets, sources) = reverse(n, &new_offsets, &targets);
        DepGraph {
            offsets: new_offsets,
            targets,
            rels,
            rev_offsets,
            sources,
        }
    }

    /// Number of nodes.
    pub fn nodes(&self) -> usize {
        self.offsets.len().saturating_sub(1)
    }

    /// Number of (merged) edges.
    pub fn edge_count(&self) -> usize {
        self.targets.len()
    }

    /// Out-edges of `v`: targets and their relation bits.
    pub fn out(&self, v: u32) -> impl Iterator<Item = (u32, u8)> + '_ {
        let range = self.offsets[v as usize]..self.offsets[v as usize + 1];
        self.targets[range.clone()]
            .iter()
            .copied()
            .zip(self.rels[range].iter().copied())
    }

    /// The relation bits of edge `a -> b` (0 if none).
    pub fn rels_between(&self, a: u32, b: u32) -> u8 {
        let range = self.offsets[a as usize]..self.offsets[a as usize + 1];
        match self.targets[range.clone()].binary_search(&b) {
            Ok(i) => self.rels[range.start + i],
            Err(_) => 0,
        }
    }

    /// How many edges carry each relation bit (`[ww, wr, rw, process,
    /// realtime]`).
    pub fn rel_counts(&self) -> [usize; 5] {
        let mut counts = [0usize; 5];
        for &r in &self.rels {
            for (i, count) in counts.iter_mut().enumerate() {
                if r & (1 << i) != 0 {
                    *count += 1;
                }
            }
        }
        counts
    }

    /// Whether the graph has a cycle. (petgraph's `is_cyclic_directed`
    /// recurses per node; its `toposort` is iterative.)
    pub fn is_cyclic(&self) -> bool {
        petgraph::algo::toposort(self, None).is_err()
    }

    /// The strongly connected components with more than one node, each
    /// sorted, ordered by their smallest node.
    pub fn nontrivial_sccs(&self) -> Vec<Vec<u32>> {
        let mut sccs: Vec<Vec<u32>> = petgraph::algo::kosaraju_scc(self)
            .into_iter()
            .filter(|c| c.len() > 1)
            .map(|mut c| {
                c.sort_unstable();
                c
            })
            .collect();
        sccs.sort_unstable_by_key(|c| c[0]);
        sccs
    }

    /// The subgraph induced by `nodes` (local id `i` is `nodes[i]`), keeping
    /// only relations in `mask`. `nodes` must be sorted.
    pub fn subgraph(&self, nodes: &[u32], mask: u8) -> DepGraph {
        let mut edges = EdgeList::default();
        for (i, &v) in nodes.iter().enumerate() {
            for (w, r) in self.out(v) {
                if r & mask == 0 {
                    continue;
                }
                if let Ok(j) = nodes.binary_search(&w) {
                    edges.push(i as u32, j as u32, r & mask);
                }
            }
        }
        DepGraph::from_edges(nodes.len(), edges)
    }
}

fn reverse(n: usize, offsets: &[usize], targets: &[u32]) -> (Vec<usize>, Vec<u32>) {
    let mut rev_offsets = vec![0usize; n + 1];
    for &t in targets {
        rev_offsets[t as usize + 1] += 1;
    }
    for i in 0..n {
        rev_offsets[i + 1] += rev_offsets[i];
    }
    let mut fill = rev_offsets.clone();
    let mut sources = vec![0u32; targets.len()];
    for v in 0..n {
        for &t in &targets[offsets[v]..offsets[v + 1]] {
            let at = &mut fill[t as usize];
            sources[*at] = v as u32;
            *at += 1;
        }
    }
    (rev_offsets, sources)
}

impl GraphBase for DepGraph {
    type NodeId = u32;
    type EdgeId = usize;
}

impl NodeCount for DepGraph {
    fn node_count(&self) -> usize {
        self.nodes()
    }
}

impl NodeIndexable for DepGraph {
    fn node_bound(&self) -> usize {
        self.nodes()
    }
    fn to_index(&self, a: u32) -> usize {
        a as usize
    }
    fn from_index(&self, i: usize) -> u32 {
        i as u32
    }
}

impl Visitable for DepGraph {
    type Map = FixedBitSet;
    fn visit_map(&self) -> FixedBitSet {
        FixedBitSet::with_capacity(self.nodes())
    }
    fn reset_map(&self, map: &mut FixedBitSet) {
        map.clear();
        map.grow(self.nodes());
    }
}

impl<'a> IntoNeighbors for &'a DepGraph {
    type Neighbors = std::iter::Copied<std::slice::Iter<'a, u32>>;
    fn neighbors(self, a: u32) -> Self::Neighbors {
        self.targets[self.offsets[a as usize]..self.offsets[a as usize + 1]]
            .iter()
            .copied()
    }
}

impl<'a> IntoNeighborsDirected for &'a DepGraph {
    type NeighborsDirected = std::iter::Copied<std::slice::Iter<'a, u32>>;
    fn neighbors_directed(self, a: u32, d: Direction) -> Self::NeighborsDirected {
        let a = a as usize;
        match d {
            Direction::Outgoing => self.targets[self.offsets[a]..self.offsets[a + 1]].iter(),
            Direction::Incoming => {
                self.sources[self.rev_offsets[a]..self.rev_offsets[a + 1]].iter()
            }
        }
        .copied()
    }
}

impl IntoNodeIdentifiers for &DepGraph {
    type NodeIdentifiers = std::ops::Range<u32>;
    fn node_identifiers(self) -> Self::NodeIdentifiers {
        0..self.nodes() as u32
    }
}

/// What the order builder needs to know of a node.
#[derive(Debug, Clone, Copy)]
pub struct NodeTiming {
    /// Client process.
    pub process: u64,
    /// How the transaction ended.
    pub outcome: Outcome,
    /// Invocation position in the history's events.
    pub invoke: usize,
    /// Completion position, if any.
    pub complete: Option<usize>,
}

/// The graph would need more edges than its [`EdgeList`] allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TooDense {
    /// Edges allowed.
    pub limit: usize,
}

/// Adds process and/or real-time edges between nodes. `nodes` must be in
/// invocation order.
pub fn add_order_edges(
    nodes: &[NodeTiming],
    extra: ExtraOrders,
    edges: &mut EdgeList,
) -> Result<(), TooDense> {
    if extra.process {
        add_process_edges(nodes, edges);
    }
    if extra.realtime {
        add_realtime_edges(nodes, edges)?;
    }
    Ok(())
}

/// Process order: each transaction follows its process's last `ok` one. An
/// `info` transaction is never a source: it may take effect after later
/// transactions of its process (clients normally move to a fresh process
/// after an `info`, but imported histories need not).
fn add_process_edges(nodes: &[NodeTiming], edges: &mut EdgeList) {
    let mut last_ok: std::collections::BTreeMap<u64, u32> = std::collections::BTreeMap::new();
    for (i, node) in nodes.iter().enumerate() {
        if let Some(&prev) = last_ok.get(&node.process) {
            edges.push(prev, i as u32, rel::PROCESS);
        }
        if node.outcome == Outcome::Ok {
            last_ok.insert(node.process, i as u32);
        }
    }
}

/// Real-time edges per the module docs. Only `ok` transactions complete;
/// `info` ones are targets only (they may take effect at any time after
/// their invocation, so nothing is known to follow them).
fn add_realtime_edges(nodes: &[NodeTiming], edges: &mut EdgeList) -> Result<(), TooDense> {
    let mut completions: Vec<(usize, u32)> = nodes
        .iter()
        .enumerate()
        .filter(|(_, n)| n.outcome == Outcome::Ok)
        .filter_map(|(i, n)| n.complete.map(|c| (c, i as u32)))
        .collect();
    completions.sort_unstable();
    // Where each node's real-time in-edges start in `edges`, and how many.
    let mut preds: Vec<(usize, u32)> = vec![(0, 0); nodes.len()];
    let mut frontier: Vec<u32> = Vec::new();
    let mut covered = FixedBitSet::with_capacity(nodes.len());
    let mut next_completion = 0usize;
    for (b, node) in nodes.iter().enumerate() {
        while let Some(&(at, done)) = completions.get(next_completion) {
            if at > node.invoke {
                break;
            }
            next_completion += 1;
            complete(done, &preds, edges, &mut covered, &mut frontier);
        }
        // Frontier members completed before `b` was invoked, so none is `b`
        // and every push below lands: the range stays contiguous.
        if edges.len() + frontier.len() > edges.limit() {
            return Err(TooDense {
                limit: edges.limit(),
            });
        }
        let start = edges.len();
        for &a in &frontier {
            edges.push(a, b as u32, rel::REALTIME);
        }
        preds[b] = (start, frontier.len() as u32);
    }
    Ok(())
}

fn complete(
    b: u32,
    preds: &[(usize, u32)],
    edges: &EdgeList,
    covered: &mut FixedBitSet,
    frontier: &mut Vec<u32>,
) {
    let (start, len) = preds[b as usize];
    for &(a, _, _) in &edges.edges[start..start + len as usize] {
        covered.insert(a as usize);
    }
    frontier.retain(|&a| !covered.contains(a as usize));
    frontier.push(b);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn timing(invoke: usize, complete: Option<usize>, outcome: Outcome) -> NodeTiming {
        NodeTiming {
            process: invoke as u64,
            outcome,
            invoke,
            complete,
        }
    }

    #[test]
    fn parallel_edges_merge_and_reverse_matches() {
        let mut e = EdgeList::default();
        e.push(0, 1, rel::WW);
        e.push(0, 1, rel::RW);
        e.push(1, 1, rel::WW);
        e.push(2, 0, rel::WR);
        let g = DepGraph::from_edges(3, e);
        assert_eq!(g.edge_count(), 2);
        assert_eq!(g.rels_between(0, 1), rel::WW | rel::RW);
        assert_eq!(g.rels_between(1, 0), 0);
        let incoming: Vec<u32> = (&g).neighbors_directed(0, Direction::Incoming).collect();
        assert_eq!(incoming, vec![2]);
        assert!(!g.is_cyclic());
    }

    #[test]
    fn sccs_of_a_long_chain_do_not_overflow_the_stack() {
        let n = 300_000u32;
        let mut e = EdgeList::default();
        for i in 0..n {
            e.push(i, (i + 1) % n, rel::WW);
        }
        let g = DepGraph::from_edges(n as usize, e);
        assert!(g.is_cyclic());
        let sccs = g.nontrivial_sccs();
        assert_eq!(sccs.len(), 1);
        assert_eq!(sccs[0].len(), n as usize);
    }

    #[test]
    fn realtime_edges_are_a_reduction_that_keeps_reachability() {
        // events: 0 inv A, 1 ok A, 2 inv B, 3 inv C, 4 ok B, 5 ok C, 6 inv D, 7 inv E (info)
        let nodes = [
            timing(0, Some(1), Outcome::Ok),
            timing(2, Some(4), Outcome::Ok),
            timing(3, Some(5), Outcome::Ok),
            timing(6, Some(8), Outcome::Ok),
            timing(7, None, Outcome::Info),
        ];
        let mut e = EdgeList::default();
        add_realtime_edges(&nodes, &mut e).expect("small");
        let mut got = e.edges.clone();
        got.sort_unstable();
        // A->B, A->C; then B and C cover A: D gets B and C, not A.
        assert_eq!(
            got,
            vec![
                (0, 1, rel::REALTIME),
                (0, 2, rel::REALTIME),
                (1, 3, rel::REALTIME),
                (1, 4, rel::REALTIME),
                (2, 3, rel::REALTIME),
                (2, 4, rel::REALTIME),
            ]
        );
    }
}
