//! [`TxnGen`] and its simulation: clients, the in-memory database, and
//! outcomes (see the module docs of [`crate::txn::generate`]).

use std::collections::BTreeMap;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::{
    history::{Event, History, HistoryError, Outcome},
    txn::{anomaly::AnomalyType, history::TxnHistory, options::TxnWorkload},
};

use super::{
    gadget::gadget,
    sink::{CompactSink, EventSink},
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

/// What a generated read saw.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Seen {
    List(Vec<u64>),
    Value(Option<u64>),
}

#[derive(Debug, Clone)]
pub(super) enum GenMop {
    Read(u64, Option<Seen>),
    Append(u64, u64),
    Write(u64, u64),
}

/// A transaction in flight or done.
#[derive(Debug, Clone)]
pub(super) struct GenTxn {
    pub(super) op: usize,
    pub(super) invoke_pos: usize,
    pub(super) mops: Vec<GenMop>,
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
pub(super) trait Sink {
    fn invoke(&mut self, txn: &mut GenTxn, process: u64, time: u64, pos: usize);
    fn complete(&mut self, txn: &GenTxn, process: u64, outcome: Outcome, time: u64, pos: usize);
}
