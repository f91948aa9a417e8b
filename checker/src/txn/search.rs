//! Cycle search: strongly connected components first, then, per
//! component, whether cycles of each class exist (linear time) and the
//! shortest cycle of each anomaly type (breadth-first search, bounded by a
//! budget).
//!
//! A valid history's graph is acyclic and costs one linear pass. In a
//! cyclic component, "a cycle exists in this subgraph" is decided exactly
//! by cycle detection on filtered copies of it:
//! - ww only (PL-1), ww+wr (PL-2), ww+wr+rw (PL-3), and the same with
//!   process or real-time edges;
//! - snapshot isolation needs "no two rw edges adjacent": a doubled graph
//!   with nodes `(v, arrived by rw?)` where an rw edge may only leave a node
//!   not arrived by rw. A cycle there is a closed walk without adjacent rw
//!   edges (Elle's PL-SI "sequential extension" of ww+wr by rw).
//!
//! Those decide the verdict. The named search then looks, in Elle's order
//! (G0, G1c, G-single, G-nonadjacent, G2-item, then the process and
//! real-time variants), for the shortest cycle of each type whose class
//! exists and which no cycle already found implies. It runs a BFS from
//! every node that can start such a cycle over (node, automaton state)
//! pairs; the automaton enforces the type's rule:
//! - G0: ww edges; G1c: ww/wr, starting with a wr edge (so at least one);
//! - G-single: starting with the one rw edge, then ww/wr only;
//! - G-nonadjacent: starting with an rw edge, no two rw adjacent, the last
//!   edge not rw (it is adjacent to the first), at least two rw;
//! - G2-item: starting with two rw edges in a row, then anything;
//! - a variant also allows its process or real-time edges and requires at
//!   least one (G0's variant starts with one).
//!
//! Every cycle of a type can be rotated to start as its rule says, so the
//! minimum over start nodes is the shortest cycle of the type. A found
//! cycle bounds the depth of later searches. Classifying the found cycle
//! with Elle's rule (count of rw edges, adjacency, wr present, variant
//! edges present) gives back exactly the type searched for.

use std::collections::{BTreeSet, VecDeque};

use crate::txn::{
    anomaly::{AnomalyType, implied_closure},
    graph::{DepGraph, EdgeList, rel},
    model::ExtraOrders,
};

/// A cycle in global node ids: `steps[i] = (node, relation bit)` is an edge
/// from `node` to the next step's node (the last wraps around).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeCycle {
    /// Its type.
    pub kind: AnomalyType,
    /// The edges.
    pub steps: Vec<(u32, u8)>,
    /// Whether it is provably shortest of its type in its component.
    pub shortest: bool,
}

/// What one strongly connected component holds.
#[derive(Debug, Clone, Default)]
pub struct Component {
    /// Its nodes (global ids, sorted).
    pub nodes: Vec<u32>,
    /// Named cycles found.
    pub cycles: Vec<NodeCycle>,
    /// The "cycle exists" anomaly types that hold in it.
    pub exists: Vec<AnomalyType>,
    /// If the budget ran out: the types searched for until then.
    pub timed_out: Option<Vec<AnomalyType>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shape {
    G0,
    G1c,
    GSingle,
    GNonadjacent,
    G2Item,
}

#[derive(Debug, Clone, Copy)]
struct Spec {
    kind: AnomalyType,
    shape: Shape,
    /// 0, `rel::PROCESS` or `rel::REALTIME`.
    variant: u8,
}

/// Automaton state bits (a state is an index below `STATES`).
const LAST_RW: u8 = 1; // G-nonadjacent: the last edge was rw
const PHASE2: u8 = 1; // G2-item: the two leading rw edges are done
const MANY: u8 = 2; // G-nonadjacent: at least two rw edges
const HAS_V: u8 = 4; // a variant edge was taken
const STATES: usize = 8;
const FROM_START: u8 = u8::MAX;

impl Spec {
    fn mask(&self) -> u8 {
        let data = match self.shape {
            Shape::G0 => rel::WW,
            Shape::G1c => rel::WW | rel::WR,
            _ => rel::DATA,
        };
        data | self.variant
    }

    fn start(&self, r: u8) -> Option<u8> {
        let (want, state) = match self.shape {
            Shape::G0 if self.variant != 0 => (self.variant, HAS_V),
            Shape::G0 => (rel::WW, 0),
            Shape::G1c => (rel::WR, 0),
            Shape::GSingle | Shape::G2Item => (rel::RW, 0),
            Shape::GNonadjacent => (rel::RW, LAST_RW),
        };
        (r == want).then_some(state)
    }

    fn step(&self, s: u8, r: u8) -> Option<u8> {
        let hv = if self.variant != 0 && r == self.variant {
            HAS_V
        } else {
            0
        };
        match self.shape {
            Shape::G0 | Shape::G1c => Some(s | hv),
            Shape::GSingle => (r != rel::RW).then_some(s | hv),
            Shape::GNonadjacent if r == rel::RW => (s & LAST_RW == 0).then_some(s | LAST_RW | MANY),
            Shape::GNonadjacent => Some((s & !LAST_RW) | hv),
            Shape::G2Item if s & PHASE2 == 0 => (r == rel::RW).then_some(s | PHASE2),
            Shape::G2Item => Some(s | hv),
        }
    }

    fn accept(&self, s: u8) -> bool {
        let variant_ok = self.variant == 0 || s & HAS_V != 0;
        variant_ok
            && match self.shape {
                Shape::GNonadjacent => s & MANY != 0 && s & LAST_RW == 0,
                Shape::G2Item => s & PHASE2 != 0,
                _ => true,
            }
    }
}

fn specs(extra: ExtraOrders) -> Vec<Spec> {
    use AnomalyType::*;
    let mut out = Vec::new();
    let mut family = |variant: u8, kinds: [AnomalyType; 5]| {
        let shapes = [
            Shape::G0,
            Shape::G1c,
            Shape::GSingle,
            Shape::GNonadjacent,
            Shape::G2Item,
        ];
        for (shape, kind) in shapes.into_iter().zip(kinds) {
            out.push(Spec {
                kind,
                shape,
                variant,
            });
        }
    };
    family(0, [G0, G1c, GSingle, GNonadjacent, G2Item]);
    if extra.process {
        family(
            rel::PROCESS,
            [
                G0Process,
                G1cProcess,
                GSingleProcess,
                GNonadjacentProcess,
                G2ItemProcess,
            ],
        );
    }
    if extra.realtime {
        family(
            rel::REALTIME,
            [
                G0Realtime,
                G1cRealtime,
                GSingleRealtime,
                GNonadjacentRealtime,
                G2ItemRealtime,
            ],
        );
    }
    out
}

/// Searches every cyclic component of `graph`; `budget` bounds the edge
/// relaxations of the named search per component.
pub fn search(graph: &DepGraph, extra: ExtraOrders, budget: u64) -> Vec<Component> {
    if !graph.is_cyclic() {
        return Vec::new();
    }
    graph
        .nontrivial_sccs()
        .into_iter()
        .map(|nodes| component(graph, nodes, extra, budget))
        .collect()
}

/// Which classes of cycle exist in a component (local graph).
#[derive(Debug, Clone, Copy, Default)]
struct Classes {
    ww: bool,
    g1: bool,
    si: bool,
    data: bool,
}

fn classes(local: &DepGraph, variant: u8) -> Classes {
    let all: Vec<u32> = (0..local.nodes() as u32).collect();
    let cyclic = |mask: u8| local.subgraph(&all, mask).is_cyclic();
    Classes {
        ww: cyclic(rel::WW | variant),
        g1: cyclic(rel::WW | rel::WR | variant),
        si: si_cyclic(local, variant),
        data: cyclic(rel::DATA | variant),
    }
}

/// A cycle without adjacent rw edges exists (module docs).
fn si_cyclic(local: &DepGraph, variant: u8) -> bool {
    let n = local.nodes() as u32;
    let mut edges = EdgeList::default();
    let plain = rel::WW | rel::WR | variant;
    for v in 0..n {
        for (w, r) in local.out(v) {
            if r & plain != 0 {
                edges.push(2 * v, 2 * w, rel::WW);
                edges.push(2 * v + 1, 2 * w, rel::WW);
            }
            if r & rel::RW != 0 {
                edges.push(2 * v, 2 * w + 1, rel::WW);
            }
        }
    }
    DepGraph::from_edges(2 * n as usize, edges).is_cyclic()
}

fn component(graph: &DepGraph, nodes: Vec<u32>, extra: ExtraOrders, budget: u64) -> Component {
    use AnomalyType::*;
    let local = graph.subgraph(&nodes, rel::DATA | rel::PROCESS | rel::REALTIME);
    let base = classes(&local, 0);
    let mut exists = Vec::new();
    for (holds, kind) in [
        (base.ww, Pl1CycleExists),
        (base.g1, Pl2CycleExists),
        (base.si, PlSiCycleExists),
        (base.data, Pl3CycleExists),
    ] {
        if holds {
            exists.push(kind);
        }
    }
    let process = extra.process.then(|| classes(&local, rel::PROCESS));
    if let Some(c) = process {
        if c.si {
            exists.push(StrongSessionSiCycleExists);
        }
        if c.data {
            exists.push(StrongSessionSerializableCycleExists);
        }
    }
    let realtime = extra.realtime.then(|| classes(&local, rel::REALTIME));
    if realtime.is_some_and(|c| c.data) {
        exists.push(PlSsCycleExists);
    }
    let possible = |spec: &Spec| {
        let c = match spec.variant {
            0 => base,
            rel::PROCESS => process.unwrap_or_default(),
            _ => realtime.unwrap_or_default(),
        };
        match spec.shape {
            Shape::G0 => c.ww,
            Shape::G1c => c.g1,
            Shape::GSingle | Shape::GNonadjacent => c.si,
            Shape::G2Item => c.data,
        }
    };
    let mut bfs = Bfs::new(&local, budget);
    let mut cycles = Vec::new();
    let mut implied: BTreeSet<AnomalyType> = BTreeSet::new();
    let mut searched = Vec::new();
    let mut timed_out = None;
    for spec in specs(extra) {
        if implied.contains(&spec.kind) || !possible(&spec) {
            continue;
        }
        searched.push(spec.kind);
        let (found, complete) = bfs.shortest(&spec);
        if let Some(steps) = found {
            implied.extend(implied_closure([spec.kind]));
            cycles.push(NodeCycle {
                kind: spec.kind,
                steps: steps
                    .into_iter()
                    .map(|(v, r)| (nodes[v as usize], r))
                    .collect(),
                shortest: complete,
            });
        }
        if !complete {
            timed_out = Some(searched.clone());
            break;
        }
    }
    Component {
        nodes,
        cycles,
        exists,
        timed_out,
    }
}

/// Breadth-first search over (node, automaton state) pairs of one local
/// graph, reusing its arrays across searches (stamped, never cleared).
struct Bfs<'g> {
    g: &'g DepGraph,
    stamp: Vec<u32>,
    parent: Vec<u32>,
    parent_state: Vec<u8>,
    parent_rel: Vec<u8>,
    run: u32,
    queue: VecDeque<(u32, u8, u32)>,
    steps: u64,
    budget: u64,
}

impl<'g> Bfs<'g> {
    fn new(g: &'g DepGraph, budget: u64) -> Bfs<'g> {
        let size = g.nodes() * STATES;
        Bfs {
            g,
            stamp: vec![0; size],
            parent: vec![0; size],
            parent_state: vec![0; size],
            parent_rel: vec![0; size],
            run: 0,
            queue: VecDeque::new(),
            steps: 0,
            budget,
        }
    }

    /// The shortest cycle of `spec`'s type, and whether the search finished
    /// within the budget (if not, a found cycle may not be shortest).
    fn shortest(&mut self, spec: &Spec) -> (Option<Vec<(u32, u8)>>, bool) {
        let mut best: Option<Vec<(u32, u8)>> = None;
        for s in 0..self.g.nodes() as u32 {
            let bound = best.as_ref().map_or(usize::MAX, Vec::len);
            if bound <= 2 {
                break;
            }
            match self.through(s, spec, bound) {
                Ok(Some(cycle)) => best = Some(cycle),
                Ok(None) => {}
                Err(OutOfBudget) => return (best, false),
            }
        }
        (best, true)
    }

    /// The shortest cycle of `spec` through `s` shorter than `bound`.
    fn through(
        &mut self,
        s: u32,
        spec: &Spec,
        bound: usize,
    ) -> Result<Option<Vec<(u32, u8)>>, OutOfBudget> {
        let mask = spec.mask();
        if !self
            .g
            .out(s)
            .any(|(_, r)| bits(r & mask).any(|b| spec.start(b).is_some()))
        {
            return Ok(None);
        }
        self.run = self.run.wrapping_add(1);
        if self.run == 0 {
            self.stamp.fill(0);
            self.run = 1;
        }
        self.queue.clear();
        for (w, r) in self.g.out(s) {
            for b in bits(r & mask) {
                if let Some(st) = spec.start(b) {
                    self.visit(w, st, s, FROM_START, b, 1);
                }
            }
        }
        while let Some((v, st, depth)) = self.queue.pop_front() {
            if depth as usize + 1 >= bound {
                continue;
            }
            for (w, r) in self.g.out(v) {
                self.steps += 1;
                if self.steps > self.budget {
                    return Err(OutOfBudget);
                }
                for b in bits(r & mask) {
                    let Some(next) = spec.step(st, b) else {
                        continue;
                    };
                    if w == s {
                        if spec.accept(next) {
                            return Ok(Some(self.path(s, v, st, b)));
                        }
                    } else {
                        self.visit(w, next, v, st, b, depth + 1);
                    }
                }
            }
        }
        Ok(None)
    }

    fn visit(&mut self, w: u32, st: u8, from: u32, from_state: u8, b: u8, depth: u32) {
        let i = w as usize * STATES + st as usize;
        if self.stamp[i] != self.run {
            self.stamp[i] = self.run;
            self.parent[i] = from;
            self.parent_state[i] = from_state;
            self.parent_rel[i] = b;
            self.queue.push_back((w, st, depth));
        }
    }

    /// The cycle `s -> ... -> v -b-> s` as (node, rel) steps from `s`.
    fn path(&self, s: u32, v: u32, st: u8, b: u8) -> Vec<(u32, u8)> {
        let mut back = vec![(v, b)];
        let (mut node, mut state) = (v, st);
        loop {
            let i = node as usize * STATES + state as usize;
            let (p, ps, r) = (self.parent[i], self.parent_state[i], self.parent_rel[i]);
            back.push((p, r));
            if ps == FROM_START {
                debug_assert_eq!(p, s);
                break;
            }
            node = p;
            state = ps;
        }
        back.reverse();
        back
    }
}

#[derive(Debug, Clone, Copy)]
struct OutOfBudget;

/// The set bits of `r`, lowest first.
fn bits(r: u8) -> impl Iterator<Item = u8> {
    (0..8).map(|i| 1u8 << i).filter(move |b| r & b != 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn graph(n: usize, edges: &[(u32, u32, u8)]) -> DepGraph {
        let mut e = EdgeList::default();
        for &(a, b, r) in edges {
            e.push(a, b, r);
        }
        DepGraph::from_edges(n, e)
    }

    fn kinds(g: &DepGraph, extra: ExtraOrders) -> Vec<AnomalyType> {
        search(g, extra, u64::MAX)
            .iter()
            .flat_map(|c| c.cycles.iter().map(|c| c.kind))
            .collect()
    }

    #[test]
    fn classifies_each_shape() {
        use AnomalyType::*;
        use rel::*;
        let none = ExtraOrders::default();
        let rt = ExtraOrders {
            process: false,
            realtime: true,
        };
        #[rustfmt::skip]
        type Case<'a> = (&'a [(u32, u32, u8)], ExtraOrders, &'a [AnomalyType]);
        let table: &[Case] = &[
            (&[(0, 1, WW), (1, 0, WW)], none, &[G0]),
            (&[(0, 1, WW), (1, 0, WR)], none, &[G1c]),
            (&[(0, 1, RW), (1, 0, WR)], none, &[GSingle]),
            (&[(0, 1, RW), (1, 0, RW)], none, &[G2Item]),
            (
                &[(0, 1, RW), (1, 2, WR), (2, 3, RW), (3, 0, WR)],
                none,
                &[GNonadjacent],
            ),
            (&[(0, 1, RW), (1, 0, REALTIME)], rt, &[GSingleRealtime]),
            (&[(0, 1, WW), (1, 0, REALTIME)], rt, &[G0Realtime]),
            (
                &[(0, 1, REALTIME), (1, 2, RW), (2, 0, RW)],
                rt,
                &[G2ItemRealtime],
            ),
            // both a ww/wr cycle and a G-single: G0 is found, G1c implied by it
            (
                &[(0, 1, WW | RW), (1, 0, WW), (1, 2, WR), (2, 1, RW)],
                none,
                &[G0, GSingle],
            ),
            (&[(0, 1, RW), (1, 0, REALTIME)], none, &[]),
        ];
        for (edges, extra, want) in table {
            let g = graph(4, edges);
            assert_eq!(&kinds(&g, *extra), want, "{edges:?}");
        }
    }

    #[test]
    fn finds_the_shortest_cycle_and_reports_exists() {
        use rel::*;
        // a long G-single 0 -rw-> 1 -> 2 -> 3 -> 0 and a short one 4 -rw-> 5 -> 4,
        // joined into one component.
        let g = graph(
            6,
            &[
                (0, 1, RW),
                (1, 2, WR),
                (2, 3, WW),
                (3, 0, WR),
                (3, 4, WW),
                (4, 5, RW),
                (5, 4, WR),
                (4, 0, WW),
            ],
        );
        let comps = search(&g, ExtraOrders::default(), u64::MAX);
        assert_eq!(comps.len(), 1);
        let c = &comps[0];
        assert_eq!(c.cycles.len(), 1);
        assert_eq!(c.cycles[0].steps, vec![(4, RW), (5, WR)]);
        assert!(c.cycles[0].shortest);
        assert!(c.exists.contains(&AnomalyType::Pl3CycleExists));
        assert!(!c.exists.contains(&AnomalyType::Pl1CycleExists));
    }

    #[test]
    fn budget_bounds_the_search() {
        use rel::*;
        let n = 2000u32;
        let mut edges: Vec<(u32, u32, u8)> = (0..n - 1).map(|i| (i, i + 1, WR)).collect();
        edges.push((n - 1, 0, RW));
        let g = graph(n as usize, &edges);
        let comps = search(&g, ExtraOrders::default(), 100);
        assert!(comps[0].timed_out.is_some());
        assert!(comps[0].exists.contains(&AnomalyType::PlSiCycleExists));
        let full = search(&g, ExtraOrders::default(), u64::MAX);
        assert_eq!(full[0].cycles[0].steps.len(), n as usize);
    }
}
