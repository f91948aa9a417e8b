//! Generated transactional histories for tests and benchmarks: valid
//! (strictly serializable) executions with concurrency, `info` and `fail`
//! outcomes, optionally with one injected anomaly.
//!
//! [`TxnGen`] simulates clients against a real in-memory database that
//! applies each transaction atomically at one moment between its
//! invocation and completion, so the history is strictly serializable by
//! construction. Keys come from a pool of `active_keys`; a key retires
//! after `max_writes_per_key` writes and a fresh one takes its place
//! (Elle's generator does the same, which keeps reads short). Values
//! written are unique per key. Outcomes: `fail` transactions never apply;
//! `info` ones apply before their completion, never, or only later (after
//! the `info` event). After an `info` the client continues under a fresh
//! process id.
//!
//! [`TxnGen::inject`] adds, halfway through, a small *gadget*: a few
//! transactions on fresh keys and fresh processes, scheduled so that they
//! exhibit exactly one anomaly type ([`injectable`] lists them per
//! workload, [`detect_options`] says which options reveal each).
//!
//! Invariants: the same generator (seed included) gives the same history;
//! [`TxnGen::history`] and [`TxnGen::txn_history`] describe the same
//! execution (the second without JSON, for million-transaction benches).

use std::collections::BTreeMap;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::{Value, json};

use crate::{
    history::{Event, EventKind, History, HistoryError, Outcome, Process},
    txn::{
        anomaly::AnomalyType,
        history::{BuildMop, TxnHistory, TxnSpec},
        intern::Val,
        model::ConsistencyModel,
        options::{TxnOptions, TxnWorkload},
    },
};

/// A generated transactional workload.
#[derive(Debug, Clone)]
pub struct TxnGen {
    /// RNG seed.
    pub seed: u64,
    /// The workload.
    pub workload: TxnWorkload,
    /// Transactions to generate (the gadget's come on top).
    pub txns: usize,
    /// Concurrent clients.
    pub processes: usize,
    /// Keys in use at any time.
    pub active_keys: usize,
    /// Micro-ops per transaction, at least.
    pub min_mops: usize,
    /// Micro-ops per transaction, at most.
    pub max_mops: usize,
    /// Writes after which a key retires.
    pub max_writes_per_key: usize,
    /// Share of micro-ops that are reads.
    pub read_share: f64,
    /// Share of transactions that end `info`.
    pub info_rate: f64,
    /// Share of transactions that end `fail`.
    pub fail_rate: f64,
    /// An anomaly to inject, if any.
    pub inject: Option<AnomalyType>,
}

impl Default for TxnGen {
    fn default() -> Self {
        TxnGen {
            seed: 0,
            workload: TxnWorkload::ListAppend,
            txns: 1000,
            processes: 10,
            active_keys: 10,
            min_mops: 1,
            max_mops: 4,
            max_writes_per_key: 32,
            read_share: 0.5,
            info_rate: 0.02,
            fail_rate: 0.02,
            inject: None,
        }
    }
}

/// What a generated read saw.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Seen {
    List(Vec<u64>),
    Value(Option<u64>),
}

#[derive(Debug, Clone)]
enum GenMop {
    Read(u64, Option<Seen>),
    Append(u64, u64),
    Write(u64, u64),
}

/// A transaction in flight or done.
#[derive(Debug, Clone)]
struct GenTxn {
    op: usize,
    invoke_pos: usize,
    mops: Vec<GenMop>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fate {
    Ok,
    Fail,
    InfoApplied,
    InfoNever,
    InfoLater,
}

/// Where generated events go.
trait Sink {
    fn invoke(&mut self, txn: &mut GenTxn, process: u64, time: u64, pos: usize);
    fn complete(&mut self, txn: &GenTxn, process: u64, outcome: Outcome, time: u64, pos: usize);
}

impl TxnGen {
    /// The history's events.
    pub fn events(&self) -> Vec<Event> {
        let mut sink = EventSink::default();
        self.run(&mut sink);
        sink.events
    }

    /// The paired history.
    pub fn history(&self) -> Result<History, HistoryError> {
        History::from_events(self.events())
    }

    /// The same execution in compact form, without building JSON.
    pub fn txn_history(&self) -> TxnHistory {
        let mut sink = CompactSink {
            h: TxnHistory::empty(self.workload),
            invoked: 0,
            buffers: Vec::new(),
        };
        self.run(&mut sink);
        let mut h = sink.h;
        h.txns.sort_by_key(|t| t.op);
        h
    }

    fn run(&self, sink: &mut dyn Sink) {
        let mut sim = Sim::new(self);
        let procs = self.processes.max(1);
        let inject_at = self.txns / 2;
        let mut injected = self.inject.is_none();
        loop {
            if !injected && sim.invoked >= inject_at {
                injected = true;
                if let Some(kind) = self.inject {
                    sim.emit_gadget(self.workload, kind, sink);
                }
                continue;
            }
            if !sim.ghosts.is_empty() && sim.rng.random_bool(0.05) {
                let i = sim.rng.random_range(0..sim.ghosts.len());
                let mut ghost = sim.ghosts.swap_remove(i);
                sim.apply(&mut ghost);
                continue;
            }
            let all_idle = sim.slots.iter().all(|s| s.txn.is_none());
            if sim.invoked >= self.txns && all_idle {
                break;
            }
            let slot = sim.rng.random_range(0..procs);
            sim.advance(slot, self, sink);
        }
    }
}

struct Slot {
    process: u64,
    txn: Option<(GenTxn, Option<Fate>)>,
}

/// The simulated database and clients.
struct Sim {
    workload: TxnWorkload,
    rng: ChaCha8Rng,
    slots: Vec<Slot>,
    ghosts: Vec<GenTxn>,
    lists: BTreeMap<u64, Vec<u64>>,
    registers: BTreeMap<u64, u64>,
    active: Vec<u64>,
    writes: BTreeMap<u64, (usize, u64)>,
    next_key: u64,
    next_process: u64,
    invoked: usize,
    time: u64,
    pos: usize,
}

impl Sim {
    fn new(g: &TxnGen) -> Sim {
        let procs = g.processes.max(1);
        let keys = g.active_keys.max(1) as u64;
        Sim {
            workload: g.workload,
            rng: ChaCha8Rng::seed_from_u64(g.seed),
            slots: (0..procs)
                .map(|p| Slot {
                    process: p as u64,
                    txn: None,
                })
                .collect(),
            ghosts: Vec::new(),
            lists: BTreeMap::new(),
            registers: BTreeMap::new(),
            active: (0..keys).collect(),
            writes: BTreeMap::new(),
            next_key: keys,
            next_process: procs as u64,
            invoked: 0,
            time: 0,
            pos: 0,
        }
    }

    fn tick(&mut self) -> (u64, usize) {
        self.time += self.rng.random_range(1..1000);
        let pos = self.pos;
        self.pos += 1;
        (self.time, pos)
    }

    fn advance(&mut self, slot: usize, g: &TxnGen, sink: &mut dyn Sink) {
        match self.slots[slot].txn.take() {
            None if self.invoked < g.txns => {
                let mut txn = self.new_txn(g);
                let (time, pos) = self.tick();
                sink.invoke(&mut txn, self.slots[slot].process, time, pos);
                self.invoked += 1;
                self.slots[slot].txn = Some((txn, None));
            }
            None => {}
            Some((mut txn, None)) => {
                let roll: f64 = self.rng.random();
                let fate = if roll < g.fail_rate {
                    Fate::Fail
                } else if roll < g.fail_rate + g.info_rate {
                    match self.rng.random_range(0..3) {
                        0 => Fate::InfoApplied,
                        1 => Fate::InfoNever,
                        _ => Fate::InfoLater,
                    }
                } else {
                    Fate::Ok
                };
                if matches!(fate, Fate::Ok | Fate::InfoApplied) {
                    self.apply(&mut txn);
                }
                self.slots[slot].txn = Some((txn, Some(fate)));
            }
            Some((txn, Some(fate))) => {
                let outcome = match fate {
                    Fate::Ok => Outcome::Ok,
                    Fate::Fail => Outcome::Fail,
                    _ => Outcome::Info,
                };
                let (time, pos) = self.tick();
                sink.complete(&txn, self.slots[slot].process, outcome, time, pos);
                if outcome == Outcome::Info {
                    self.slots[slot].process = self.next_process;
                    self.next_process += 1;
                }
                if fate == Fate::InfoLater {
                    self.ghosts.push(txn);
                }
            }
        }
    }

    fn new_txn(&mut self, g: &TxnGen) -> GenTxn {
        let lo = g.min_mops.max(1);
        let n = self.rng.random_range(lo..=g.max_mops.max(lo));
        let mut mops = Vec::with_capacity(n);
        for _ in 0..n {
            let k = self.rng.random_range(0..self.active.len());
            let key = self.active[k];
            if self.rng.random_bool(g.read_share.clamp(0.0, 1.0)) {
                mops.push(GenMop::Read(key, None));
                continue;
            }
            let (count, last) = self.writes.entry(key).or_insert((0, 0));
            *count += 1;
            *last += 1;
            let value = *last;
            if *count >= g.max_writes_per_key.max(1) {
                self.active[k] = self.next_key;
                self.next_key += 1;
            }
            mops.push(match g.workload {
                TxnWorkload::ListAppend => GenMop::Append(key, value),
                TxnWorkload::RwRegister => GenMop::Write(key, value),
            });
        }
        GenTxn {
            op: 0,
            invoke_pos: 0,
            mops,
        }
    }

    /// Runs a transaction on the database, recording what its reads saw.
    fn apply(&mut self, txn: &mut GenTxn) {
        for mop in &mut txn.mops {
            match mop {
                GenMop::Append(k, v) => self.lists.entry(*k).or_default().push(*v),
                GenMop::Write(k, v) => {
                    self.registers.insert(*k, *v);
                }
                GenMop::Read(k, seen) => {
                    *seen = Some(match self.workload {
                        TxnWorkload::ListAppend => {
                            Seen::List(self.lists.get(k).cloned().unwrap_or_default())
                        }
                        TxnWorkload::RwRegister => Seen::Value(self.registers.get(k).copied()),
                    });
                }
            }
        }
    }

    /// Emits an injected anomaly's transactions, stage by stage.
    fn emit_gadget(&mut self, workload: TxnWorkload, kind: AnomalyType, sink: &mut dyn Sink) {
        let Some(gadget) = gadget(workload, kind) else {
            return;
        };
        let key_base = 1u64 << 40;
        let processes: Vec<u64> = (0..8).map(|i| self.next_process + i).collect();
        self.next_process += 8;
        let stages = gadget.iter().map(|t| t.complete_stage).max().unwrap_or(0);
        let mut open: Vec<Option<GenTxn>> = vec![None; gadget.len()];
        for stage in 0..=stages {
            for (i, t) in gadget.iter().enumerate() {
                if t.invoke_stage == stage {
                    let mut txn = GenTxn {
                        op: 0,
                        invoke_pos: 0,
                        mops: t.mops(workload, key_base),
                    };
                    let (time, pos) = self.tick();
                    sink.invoke(&mut txn, processes[t.process], time, pos);
                    open[i] = Some(txn);
                }
            }
            for (i, t) in gadget.iter().enumerate() {
                if t.complete_stage == stage
                    && let Some(txn) = open[i].take()
                {
                    let (time, pos) = self.tick();
                    sink.complete(&txn, processes[t.process], t.outcome, time, pos);
                }
            }
        }
    }
}

/// One transaction of a gadget: invoked at the start of `invoke_stage`,
/// completed at the end of `complete_stage`; keys are gadget-local slots.
#[derive(Debug, Clone)]
struct GadgetTxn {
    process: usize,
    outcome: Outcome,
    invoke_stage: usize,
    complete_stage: usize,
    mops: Vec<(char, u64, GadgetValue)>,
}

#[derive(Debug, Clone)]
enum GadgetValue {
    One(u64),
    Nil,
    List(Vec<u64>),
}

impl GadgetTxn {
    fn mops(&self, workload: TxnWorkload, key_base: u64) -> Vec<GenMop> {
        self.mops
            .iter()
            .map(|(f, k, v)| {
                let key = key_base + k;
                match (f, v) {
                    ('a', GadgetValue::One(e)) => GenMop::Append(key, *e),
                    ('w', GadgetValue::One(e)) => GenMop::Write(key, *e),
                    (_, GadgetValue::List(l)) => GenMop::Read(key, Some(Seen::List(l.clone()))),
                    (_, GadgetValue::One(e)) if workload == TxnWorkload::RwRegister => {
                        GenMop::Read(key, Some(Seen::Value(Some(*e))))
                    }
                    (_, GadgetValue::Nil) if workload == TxnWorkload::RwRegister => {
                        GenMop::Read(key, Some(Seen::Value(None)))
                    }
                    _ => GenMop::Read(key, Some(Seen::List(Vec::new()))),
                }
            })
            .collect()
    }
}

/// The anomaly types [`TxnGen::inject`] can produce for `workload`.
pub fn injectable(workload: TxnWorkload) -> Vec<AnomalyType> {
    AnomalyType::ALL
        .into_iter()
        .filter(|&a| gadget(workload, a).is_some())
        .collect()
}

/// Options under which an injected `kind` is reported as itself: process
/// variants need a strong-session model, rw-register ww edges need
/// writes-follow-reads.
pub fn detect_options(workload: TxnWorkload, kind: AnomalyType) -> TxnOptions {
    use AnomalyType::*;
    let consistency_model = match kind {
        G0Process | G1cProcess | GSingleProcess | GNonadjacentProcess | G2ItemProcess => {
            ConsistencyModel::StrongSessionSerializable
        }
        _ => ConsistencyModel::StrictSerializable,
    };
    TxnOptions {
        workload: Some(workload),
        consistency_model,
        wfr_keys: workload == TxnWorkload::RwRegister
            && matches!(kind, G0 | G0Realtime | G0Process | CyclicVersions),
        ..TxnOptions::default()
    }
}

/// `(process, outcome, invoke stage, complete stage, micro-ops)`.
type GadgetRow = (usize, Outcome, usize, usize, Vec<(char, u64, GadgetValue)>);

/// Builds gadget transactions from a terse table: `(process, outcome,
/// invoke stage, complete stage, micro-ops)` where a micro-op is
/// `(f, key slot, value)`: f `a`ppend, `w`rite or `r`ead.
fn txns(rows: Vec<GadgetRow>) -> Vec<GadgetTxn> {
    rows.into_iter()
        .map(
            |(process, outcome, invoke_stage, complete_stage, mops)| GadgetTxn {
                process,
                outcome,
                invoke_stage,
                complete_stage,
                mops,
            },
        )
        .collect()
}

/// The gadget of `kind` for `workload`, if there is one. Keys: x=0, y=1,
/// z=2, w=3. Concurrent transactions span stages (0, last); sequential
/// ones take one stage each, so real time orders them.
fn gadget(workload: TxnWorkload, kind: AnomalyType) -> Option<Vec<GadgetTxn>> {
    use AnomalyType::*;
    use GadgetValue::{List, Nil, One};
    use Outcome::{Fail, Ok};
    const X: u64 = 0;
    const Y: u64 = 1;
    const Z: u64 = 2;
    const W: u64 = 3;
    let l = |v: &[u64]| List(v.to_vec());
    let list = workload == TxnWorkload::ListAppend;
    // A write for the workload, and a read of "nothing" / of one value.
    let wr = if list { 'a' } else { 'w' };
    let empty = || if list { List(Vec::new()) } else { Nil };
    let saw = |v: u64| if list { List(vec![v]) } else { One(v) };
    let rows = match kind {
        G1a => vec![
            (0, Fail, 0, 1, vec![(wr, X, One(1))]),
            (1, Ok, 0, 1, vec![('r', X, saw(1))]),
        ],
        G1b => vec![
            (0, Ok, 0, 1, vec![(wr, X, One(1)), (wr, X, One(2))]),
            (1, Ok, 0, 1, vec![('r', X, saw(1))]),
        ],
        G1c => vec![
            (0, Ok, 0, 1, vec![(wr, X, One(1)), ('r', Y, saw(1))]),
            (1, Ok, 0, 1, vec![(wr, Y, One(1)), ('r', X, saw(1))]),
        ],
        GSingle => vec![
            (0, Ok, 0, 1, vec![('r', X, empty()), ('r', Y, saw(1))]),
            (1, Ok, 0, 1, vec![(wr, X, One(1)), (wr, Y, One(1))]),
        ],
        GNonadjacent => vec![
            (0, Ok, 0, 1, vec![('r', X, empty()), ('r', W, saw(1))]),
            (1, Ok, 0, 1, vec![(wr, X, One(1)), (wr, Y, One(1))]),
            (2, Ok, 0, 1, vec![('r', Y, saw(1)), ('r', Z, empty())]),
            (3, Ok, 0, 1, vec![(wr, Z, One(1)), (wr, W, One(1))]),
        ],
        G2Item => vec![
            (0, Ok, 0, 1, vec![('r', X, empty()), (wr, Y, One(1))]),
            (1, Ok, 0, 1, vec![('r', Y, empty()), (wr, X, One(1))]),
        ],
        LostUpdate => vec![
            (0, Ok, 0, 1, vec![('r', X, empty()), (wr, X, One(1))]),
            (1, Ok, 0, 1, vec![('r', X, empty()), (wr, X, One(2))]),
        ],
        GarbageRead => vec![(0, Ok, 0, 1, vec![('r', X, saw(7))])],
        Internal if list => vec![(0, Ok, 0, 1, vec![(wr, X, One(1)), ('r', X, empty())])],
        Internal => vec![
            (0, Ok, 0, 0, vec![(wr, X, One(2))]),
            (1, Ok, 1, 1, vec![(wr, X, One(1)), ('r', X, One(2))]),
        ],
        FutureRead if list => vec![(0, Ok, 0, 1, vec![('r', X, l(&[1])), (wr, X, One(1))])],
        DuplicateElements if list => vec![
            (0, Ok, 0, 1, vec![(wr, X, One(1))]),
            (1, Ok, 0, 1, vec![('r', X, l(&[1, 1]))]),
        ],
        IncompatibleOrder if list => vec![
            (0, Ok, 0, 1, vec![(wr, X, One(1))]),
            (1, Ok, 0, 1, vec![(wr, X, One(2))]),
            (2, Ok, 0, 1, vec![('r', X, l(&[1, 2]))]),
            (3, Ok, 0, 1, vec![('r', X, l(&[2, 1]))]),
        ],
        DirtyUpdate if list => vec![
            (0, Fail, 0, 1, vec![(wr, X, One(1))]),
            (1, Ok, 0, 1, vec![(wr, X, One(2))]),
            (2, Ok, 0, 1, vec![('r', X, l(&[1, 2]))]),
        ],
        G0 if list => vec![
            (0, Ok, 0, 1, vec![(wr, X, One(1)), (wr, Y, One(1))]),
            (1, Ok, 0, 1, vec![(wr, X, One(2)), (wr, Y, One(2))]),
            (
                2,
                Ok,
                0,
                1,
                vec![('r', X, l(&[1, 2])), ('r', Y, l(&[2, 1]))],
            ),
        ],
        // rw-register ww edges come from writes-follow-reads.
        G0 => vec![
            (
                0,
                Ok,
                0,
                1,
                vec![('w', X, One(1)), ('r', Y, One(2)), ('w', Y, One(3))],
            ),
            (
                1,
                Ok,
                0,
                1,
                vec![('r', X, One(1)), ('w', X, One(2)), ('w', Y, One(2))],
            ),
        ],
        CyclicVersions if !list => vec![
            (0, Ok, 0, 1, vec![('r', X, One(1)), ('w', X, One(2))]),
            (1, Ok, 0, 1, vec![('r', X, One(2)), ('w', X, One(1))]),
        ],
        G0Realtime | G0Process if list => vec![
            (0, Ok, 0, 0, vec![(wr, X, One(1))]),
            (0, Ok, 1, 1, vec![(wr, X, One(2))]),
            (1, Ok, 2, 2, vec![('r', X, l(&[2, 1]))]),
        ],
        G0Realtime | G0Process => vec![
            (0, Ok, 0, 0, vec![('r', X, One(2)), ('w', X, One(3))]),
            (0, Ok, 1, 1, vec![('w', X, One(2))]),
        ],
        G1cRealtime | G1cProcess => vec![
            (0, Ok, 0, 0, vec![('r', X, saw(1))]),
            (0, Ok, 1, 1, vec![(wr, X, One(1))]),
        ],
        GSingleRealtime | GSingleProcess => vec![
            (0, Ok, 0, 0, vec![(wr, X, One(1))]),
            (0, Ok, 1, 1, vec![('r', X, empty())]),
        ],
        GNonadjacentRealtime | GNonadjacentProcess => vec![
            (0, Ok, 0, 0, vec![(wr, W, One(1))]),
            (0, Ok, 1, 1, vec![('r', X, empty())]),
            (1, Ok, 0, 1, vec![(wr, X, One(1)), (wr, Y, One(1))]),
            (2, Ok, 0, 1, vec![('r', Y, saw(1)), ('r', W, empty())]),
        ],
        G2ItemRealtime | G2ItemProcess => vec![
            (0, Ok, 0, 0, vec![(wr, X, One(1))]),
            (0, Ok, 1, 1, vec![('r', Y, empty())]),
            (1, Ok, 0, 1, vec![('r', X, empty()), (wr, Y, One(1))]),
        ],
        _ => return None,
    };
    let mut out = txns(rows);
    // Real-time variants: the sequential pair runs on different processes
    // (no process order between them); process variants on one.
    let realtime = matches!(
        kind,
        G0Realtime | G1cRealtime | GSingleRealtime | GNonadjacentRealtime | G2ItemRealtime
    );
    if realtime {
        for (i, t) in out.iter_mut().enumerate() {
            t.process = i;
        }
    }
    Some(out)
}

/// Builds JSON events.
#[derive(Default)]
struct EventSink {
    events: Vec<Event>,
    ops: usize,
}

impl EventSink {
    fn json(txn: &GenTxn, with_reads: bool) -> Value {
        Value::Array(
            txn.mops
                .iter()
                .map(|m| match m {
                    GenMop::Append(k, v) => json!(["append", k, v]),
                    GenMop::Write(k, v) => json!(["w", k, v]),
                    GenMop::Read(k, seen) => {
                        let v = match (with_reads, seen) {
                            (true, Some(Seen::List(l))) => json!(l),
                            (true, Some(Seen::Value(v))) => json!(v),
                            _ => Value::Null,
                        };
                        json!(["r", k, v])
                    }
                })
                .collect(),
        )
    }
}

impl Sink for EventSink {
    fn invoke(&mut self, txn: &mut GenTxn, process: u64, time: u64, pos: usize) {
        txn.op = self.ops;
        txn.invoke_pos = pos;
        self.ops += 1;
        let mut e = Event::new(
            pos as u64,
            time,
            Process::Client(process),
            EventKind::Invoke,
            "txn",
        );
        e.value = EventSink::json(txn, false);
        self.events.push(e);
    }

    fn complete(&mut self, txn: &GenTxn, process: u64, outcome: Outcome, time: u64, pos: usize) {
        let kind = match outcome {
            Outcome::Ok => EventKind::Ok,
            Outcome::Fail => EventKind::Fail,
            Outcome::Info => EventKind::Info,
        };
        let mut e = Event::new(pos as u64, time, Process::Client(process), kind, "txn");
        e.value = EventSink::json(txn, outcome == Outcome::Ok);
        e.error = match outcome {
            Outcome::Ok => None,
            Outcome::Fail => Some("aborted".to_owned()),
            Outcome::Info => Some("timeout".to_owned()),
        };
        self.events.push(e);
    }
}

/// Builds the compact history directly.
struct CompactSink {
    h: TxnHistory,
    invoked: usize,
    buffers: Vec<Vec<Val>>,
}

impl Sink for CompactSink {
    fn invoke(&mut self, txn: &mut GenTxn, _process: u64, _time: u64, pos: usize) {
        txn.op = self.invoked;
        txn.invoke_pos = pos;
        self.invoked += 1;
    }

    fn complete(&mut self, txn: &GenTxn, process: u64, outcome: Outcome, _time: u64, pos: usize) {
        let mut keys = Vec::with_capacity(txn.mops.len());
        self.buffers.resize_with(txn.mops.len(), Vec::new);
        for (i, m) in txn.mops.iter().enumerate() {
            let (GenMop::Read(k, _) | GenMop::Append(k, _) | GenMop::Write(k, _)) = m;
            keys.push(self.h.intern_key(*k));
            self.buffers[i].clear();
            if let GenMop::Read(_, Some(Seen::List(l))) = m {
                for &e in l {
                    let v = self.h.intern_value(e);
                    self.buffers[i].push(v);
                }
            }
        }
        let mut mops = Vec::with_capacity(txn.mops.len());
        for (i, m) in txn.mops.iter().enumerate() {
            mops.push(match m {
                GenMop::Append(_, v) => BuildMop::Append(keys[i], self.h.intern_value(*v)),
                GenMop::Write(_, v) => BuildMop::Write(keys[i], self.h.intern_value(*v)),
                GenMop::Read(_, Some(Seen::Value(Some(v)))) => {
                    BuildMop::ReadValue(keys[i], self.h.intern_value(*v))
                }
                GenMop::Read(_, Some(Seen::Value(None))) => {
                    BuildMop::ReadValue(keys[i], crate::txn::intern::NIL)
                }
                GenMop::Read(_, _) => BuildMop::ReadList(keys[i], &self.buffers[i]),
            });
        }
        self.h.push_txn(TxnSpec {
            op: txn.op,
            process,
            outcome,
            invoke: txn.invoke_pos,
            complete: Some(pos),
            mops: &mops,
        });
    }
}
