//! Deterministic generators of concurrent histories, for tests and
//! benchmarks.
//!
//! [`RegisterWorkload`] simulates clients against a real (sequential) CAS
//! register per key: each op takes effect at one moment between its
//! invocation and completion, so the history is linearizable by
//! construction. `info` ops take effect before their info, never, or only
//! *later* (after the info event). Definite failures (`fail`) are cas ops
//! whose `from` did not match. Written values are unique per key.
//! [`inject_stale_read`] then turns one read into a provably stale one.
//! [`InfoBursts`] cluster the `info` ops the way faults do, and
//! [`RegisterWorkload::hot_key`] is the hot-key run (one key,
//! 24k ops, 30 clients, faults every 2 s). [`concurrent_info_writes`]
//! builds the adversarial case of many concurrent indeterminate writes and
//! reads.
//!
//! Invariants: the same workload (seed included) gives the same history;
//! after an `info` the client continues under a fresh process id;
//! event `index` equals the event's position.

use std::collections::BTreeMap;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::{Value, json};

use crate::history::{Event, EventKind, History, HistoryError, Outcome, Process};

/// A simulated register workload.
#[derive(Debug, Clone)]
pub struct RegisterWorkload {
    /// RNG seed.
    pub seed: u64,
    /// Client ops to generate (over all keys).
    pub ops: usize,
    /// Keys `k0..k{keys-1}`.
    pub keys: usize,
    /// Concurrent clients.
    pub processes: usize,
    /// Share of ops that end `info`.
    pub info_rate: f64,
    /// Relative weights of read, write and cas.
    pub mix: [u32; 3],
    /// Fault-like bursts in which many more ops end `info`.
    pub info_bursts: Option<InfoBursts>,
}

/// Periodic bursts of `info` ops, as a fault produces: while a node is
/// paused or cut off, the ops sent to it time out together.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct InfoBursts {
    /// Ops invoked from the start of one burst to the start of the next.
    pub every: usize,
    /// Ops invoked during a burst.
    pub length: usize,
    /// Share of a burst's ops that end `info` (instead of
    /// [`RegisterWorkload::info_rate`]).
    pub info_rate: f64,
}

impl Default for RegisterWorkload {
    fn default() -> Self {
        RegisterWorkload {
            seed: 0,
            ops: 1000,
            keys: 1,
            processes: 5,
            info_rate: 0.05,
            mix: [5, 4, 1],
            info_bursts: None,
        }
    }
}

impl RegisterWorkload {
    /// The hot key measured in issue 15: one key, 24,387 ops, 30 clients,
    /// mix read 2 / write 1 / cas 2, and a fault every ~2,400 ops (2 s at
    /// that rate) during which ~18% of 300 ops end `info` (~540 in all).
    pub fn hot_key(seed: u64) -> Self {
        RegisterWorkload {
            seed,
            ops: 24_387,
            keys: 1,
            processes: 30,
            info_rate: 0.0,
            mix: [2, 1, 2],
            info_bursts: Some(InfoBursts {
                every: 2_400,
                length: 300,
                info_rate: 0.18,
            }),
        }
    }

    /// Share of `info` ops for the op invoked after `invoked` others.
    fn info_rate_at(&self, invoked: usize) -> f64 {
        match self.info_bursts {
            Some(b) if b.every > 0 && invoked % b.every < b.length => b.info_rate,
            _ => self.info_rate,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Fate {
    Ok,
    /// Takes effect, then reports info.
    InfoApplied,
    /// Never takes effect.
    InfoNever,
    /// Reports info first and takes effect some time later.
    InfoLater,
}

#[derive(Debug)]
struct InFlight {
    key: usize,
    f: &'static str,
    input: Value,
    fate: Fate,
    applied: bool,
    output: Value,
    failed: bool,
}

struct Slot {
    process: u64,
    op: Option<InFlight>,
}

impl RegisterWorkload {
    /// Generates the history's events.
    pub fn events(&self) -> Vec<Event> {
        let mut rng = ChaCha8Rng::seed_from_u64(self.seed);
        let procs = self.processes.max(1);
        let keys = self.keys.max(1);
        let key_names: Vec<String> = (0..keys).map(|k| format!("k{k}")).collect();
        let mut state: Vec<Value> = vec![Value::Null; keys];
        let mut counter: Vec<u64> = vec![0; keys];
        let mut slots: Vec<Slot> = (0..procs)
            .map(|p| Slot {
                process: p as u64,
                op: None,
            })
            .collect();
        let mut ghosts: Vec<InFlight> = Vec::new();
        let mut events = Vec::with_capacity(self.ops * 2 + 16);
        let mut time: u64 = 0;
        let mut invoked = 0usize;
        let mut busy = 0usize;
        let total_mix: u32 = self.mix.iter().sum::<u32>().max(1);

        let emit = |events: &mut Vec<Event>,
                    time: u64,
                    process: u64,
                    kind: EventKind,
                    op: &InFlight,
                    value: Value| {
            let mut e = Event::new(
                events.len() as u64,
                time,
                Process::Client(process),
                kind,
                op.f,
            );
            e.key = Some(key_names[op.key].clone());
            e.value = value;
            if kind == EventKind::Info {
                e.error = Some("timeout".to_owned());
            }
            events.push(e);
        };

        while invoked < self.ops || busy > 0 || !ghosts.is_empty() {
            time += rng.random_range(1_000..50_000);
            // Late info ops take effect now and then.
            if !ghosts.is_empty() && (rng.random_bool(0.05) || invoked >= self.ops && busy == 0) {
                let i = rng.random_range(0..ghosts.len());
                let g = ghosts.swap_remove(i);
                apply(&mut state[g.key], &g);
                continue;
            }
            let s = rng.random_range(0..procs);
            let slot = &mut slots[s];
            match &mut slot.op {
                None => {
                    if invoked >= self.ops {
                        continue;
                    }
                    invoked += 1;
                    busy += 1;
                    let key = rng.random_range(0..keys);
                    let pick = rng.random_range(0..total_mix);
                    let (f, input) = if pick < self.mix[0] {
                        ("read", Value::Null)
                    } else if pick < self.mix[0] + self.mix[1] {
                        counter[key] += 1;
                        ("write", json!(counter[key]))
                    } else {
                        counter[key] += 1;
                        let from = if rng.random_bool(0.6) || counter[key] < 2 {
                            state[key].clone()
                        } else {
                            json!(rng.random_range(1..counter[key]))
                        };
                        ("cas", json!([from, counter[key]]))
                    };
                    let fate = if rng.random_bool(self.info_rate_at(invoked).clamp(0.0, 1.0)) {
                        match rng.random_range(0..3) {
                            0 => Fate::InfoApplied,
                            1 => Fate::InfoNever,
                            _ => Fate::InfoLater,
                        }
                    } else {
                        Fate::Ok
                    };
                    let op = InFlight {
                        key,
                        f,
                        input,
                        fate,
                        applied: false,
                        output: Value::Null,
                        failed: false,
                    };
                    emit(
                        &mut events,
                        time,
                        slot.process,
                        EventKind::Invoke,
                        &op,
                        op.input.clone(),
                    );
                    slot.op = Some(op);
                }
                Some(op) if !op.applied => {
                    op.applied = true;
                    match op.fate {
                        Fate::Ok | Fate::InfoApplied => {
                            let (out, failed) = apply(&mut state[op.key], op);
                            op.output = out;
                            op.failed = failed;
                        }
                        Fate::InfoNever | Fate::InfoLater => {}
                    }
                }
                Some(_) => {
                    let Some(op) = slot.op.take() else { continue };
                    busy -= 1;
                    let process = slot.process;
                    match op.fate {
                        Fate::Ok if op.failed => {
                            emit(
                                &mut events,
                                time,
                                process,
                                EventKind::Fail,
                                &op,
                                op.input.clone(),
                            );
                        }
                        Fate::Ok => {
                            let v = if op.f == "read" {
                                op.output.clone()
                            } else {
                                op.input.clone()
                            };
                            emit(&mut events, time, process, EventKind::Ok, &op, v);
                        }
                        _ => {
                            emit(
                                &mut events,
                                time,
                                process,
                                EventKind::Info,
                                &op,
                                op.input.clone(),
                            );
                            slot.process += procs as u64;
                            if op.fate == Fate::InfoLater && op.f != "read" {
                                ghosts.push(op);
                            }
                        }
                    }
                }
            }
        }
        events
    }

    /// Generates and pairs the history.
    pub fn history(&self) -> History {
        History::from_events(self.events()).unwrap_or_else(|e| {
            unreachable!("generated histories pair: {e}");
        })
    }
}

/// Applies an op to a register value: (read result, whether a cas failed).
fn apply(state: &mut Value, op: &InFlight) -> (Value, bool) {
    match op.f {
        "read" => (state.clone(), false),
        "write" => {
            *state = op.input.clone();
            (Value::Null, false)
        }
        _ => {
            let (from, to) = (&op.input[0], &op.input[1]);
            if state == from {
                *state = to.clone();
                (Value::Null, false)
            } else {
                (Value::Null, true)
            }
        }
    }
}

/// Makes one `ok` read (the last one that can be made stale, at or after
/// `not_before` of the ops) return a value that was overwritten before the
/// read began: a write `w` returned before a write `w2` began, and `w2`
/// returned before the read began, so the read cannot see `w`'s value.
/// Returns the op index of the read, or `None` if no read qualifies.
pub fn inject_stale_read(history: &mut History, not_before: usize) -> Option<usize> {
    // Per key: ok write-like ops (value, invoke pos, complete pos).
    let mut writes: BTreeMap<&str, Vec<(Value, usize, usize)>> = BTreeMap::new();
    let mut target = None;
    for (i, op) in history.ops.iter().enumerate() {
        let (Outcome::Ok, Some(done)) = (op.outcome, op.complete) else {
            continue;
        };
        let key = op.key.as_deref().unwrap_or("");
        match op.f.as_str() {
            "write" => writes
                .entry(key)
                .or_default()
                .push((op.input.clone(), op.invoke, done)),
            "cas" => writes
                .entry(key)
                .or_default()
                .push((op.input[1].clone(), op.invoke, done)),
            "read" if i >= not_before => {
                let Some(ws) = writes.get(key) else { continue };
                // w2: latest write done before the read began; w: a write
                // done before w2 began, with another value than the read's.
                let Some(w2) = ws.iter().rev().find(|w| w.2 < op.invoke) else {
                    continue;
                };
                if let Some(w) = ws
                    .iter()
                    .rev()
                    .find(|w| w.2 < w2.1 && w.0 != op.output && w.0 != w2.0)
                {
                    target = Some((i, w.0.clone()));
                    break;
                }
            }
            _ => {}
        }
    }
    let (i, stale) = target?;
    let complete = history.ops[i].complete?;
    history.events[complete].value = stale.clone();
    history.ops[i].output = stale;
    Some(i)
}

/// A register workload with one stale read injected into its second half.
pub fn register_with_stale_read(w: &RegisterWorkload) -> Result<(History, usize), HistoryError> {
    let mut h = History::from_events(w.events())?;
    let half = h.ops.len() / 2;
    let i = inject_stale_read(&mut h, half)
        .or_else(|| inject_stale_read(&mut h, 0))
        .unwrap_or(usize::MAX);
    Ok((h, i))
}

/// The adversarial hot key of issue 15, on each of `keys` keys: `writes`
/// concurrent writes that never complete (they end `info`), and `reads`
/// reads, concurrent with each other and with every write, each returning
/// the value of a random write (or the initial `null`). Linearizable: the
/// reads can take effect in any order. With `stale_tail`, one more read,
/// invoked after all others returned, returns the initial `null` again,
/// which no linearization allows once a read saw a written value: a search
/// must then rule out every order of the concurrent reads.
pub fn concurrent_info_writes(
    seed: u64,
    keys: usize,
    writes: usize,
    reads: usize,
    stale_tail: bool,
) -> History {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut events = Vec::with_capacity(keys * 2 * (writes + reads));
    let mut push = |process: u64, kind: EventKind, f: &str, key: usize, value: Value| {
        let i = events.len() as u64;
        let mut e = Event::new(i, i * 1_000, Process::Client(process), kind, f);
        e.key = Some(format!("k{key}"));
        e.value = value;
        if kind == EventKind::Info {
            e.error = Some("timeout".to_owned());
        }
        events.push(e);
    };
    for key in 0..keys {
        let base = (key * (writes + reads + 1)) as u64;
        for w in 0..writes {
            push(
                base + w as u64,
                EventKind::Invoke,
                "write",
                key,
                json!(w + 1),
            );
        }
        for r in 0..reads {
            push(
                base + (writes + r) as u64,
                EventKind::Invoke,
                "read",
                key,
                Value::Null,
            );
        }
        for r in 0..reads {
            let seen = match rng.random_range(0..=writes) {
                0 => Value::Null,
                w => json!(w),
            };
            push(base + (writes + r) as u64, EventKind::Ok, "read", key, seen);
        }
        if stale_tail {
            let p = base + (writes + reads) as u64;
            push(p, EventKind::Invoke, "read", key, Value::Null);
            push(p, EventKind::Ok, "read", key, Value::Null);
        }
        for w in 0..writes {
            push(base + w as u64, EventKind::Info, "write", key, json!(w + 1));
        }
    }
    History::from_events(events).unwrap_or_else(|e| unreachable!("generated histories pair: {e}"))
}
