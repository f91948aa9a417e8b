//! [`check`]: split per key, decide each key in parallel, report.
//!
//! Per key: a key without any `ok` op is `unknown` (a `valid` verdict
//! would be vacuous); otherwise the key is prepared (`prepare.rs`), a
//! register key goes to the version-order engine when its premises hold,
//! and everything else to the WGL search.
//!
//! Invariants: keys are checked largest first, on the caller's thread
//! (`threads == 1`), rayon's global pool (`0`) or a pool of `threads`; the
//! result map is a `BTreeMap` so the report does not depend on
//! scheduling; `valid` from the version-order engine only with a witness
//! that [`witness::verify`] accepted (else the search decides); an
//! unsupported op or a spent budget gives `unknown`, never `valid` or
//! `invalid`.

use std::{
    collections::BTreeMap,
    time::{Duration, Instant},
};

use rayon::prelude::*;

use super::{
    budget::{HeapSize, MemoryBudget, human_bytes},
    explain::{KeyView, explain},
    options::{LinOptions, Model},
    prepare::{Interner, KeyInput, ops_by_key, prepare_key},
    progress::{CheckEvent, Engine, ProgressSink},
    report::{
        Counterexample, DecidedThrough, KeyResult, LinearizabilityReport, OpRef, PREFIX_TAIL,
    },
    version_order::{self, BYTES_PER_OP, Decision},
    versions::NotApplicable,
    wgl::{Limits, Reached, SearchOp, SearchProgress, SearchResult, search_with},
    witness,
};
use crate::{
    history::{History, Outcome},
    results::Verdict,
    spec::{AppendList, CasRegister},
};

/// Checks that every key of `history` is linearizable with respect to
/// `model`.
pub fn check(history: &History, model: Model, options: &LinOptions) -> LinearizabilityReport {
    let start = Instant::now();
    let total_deadline = options.total_budget.map(|b| start + b);
    let memory = MemoryBudget::new(options.memory_budget);
    let mut keys: Vec<(String, Vec<usize>)> = ops_by_key(history).into_iter().collect();
    keys.sort_by_key(|(_, ops)| std::cmp::Reverse(ops.len()));
    let sink = options.progress.as_ref();
    emit(
        sink,
        CheckEvent::Started {
            keys: keys.len(),
            ops: history.ops.len(),
        },
    );
    let one = |(key, ids): &(String, Vec<usize>)| {
        let began = Instant::now();
        emit(
            sink,
            CheckEvent::KeyStarted {
                key: key.clone(),
                ops: ids.len(),
            },
        );
        let budget_end = began + options.time_budget;
        let limits = KeyLimits {
            deadline: total_deadline.map_or(budget_end, |t| t.min(budget_end)),
            budget: options.time_budget,
            memory: &memory,
            version_order: options.version_order,
            key,
            progress: sink,
        };
        let result = check_ids(history, &model, ids, &limits);
        emit(
            sink,
            CheckEvent::KeyFinished {
                key: key.clone(),
                verdict: result.verdict,
                engine: result.engine,
                elapsed: began.elapsed(),
            },
        );
        (key.clone(), result)
    };
    let results: Vec<(String, KeyResult)> = match options.threads {
        1 => keys.iter().map(one).collect(),
        0 => keys.par_iter().map(one).collect(),
        n => match rayon::ThreadPoolBuilder::new().num_threads(n).build() {
            Ok(pool) => pool.install(|| keys.par_iter().map(one).collect()),
            // Could not start threads: check on the caller's thread.
            Err(_) => keys.iter().map(one).collect(),
        },
    };
    let keys: BTreeMap<String, KeyResult> = results.into_iter().collect();
    let verdict = keys
        .values()
        .map(|k| k.verdict)
        .fold(Verdict::Valid, Verdict::compose);
    emit(
        sink,
        CheckEvent::Finished {
            verdict,
            elapsed: start.elapsed(),
        },
    );
    LinearizabilityReport {
        model: model.name().to_owned(),
        verdict,
        keys,
    }
}

fn emit(sink: Option<&ProgressSink>, event: CheckEvent) {
    if let Some(s) = sink {
        s.emit(&event);
    }
}

/// What bounds one key's check.
#[derive(Debug, Clone, Copy)]
pub struct KeyLimits<'a> {
    /// When the key's check must end (its time budget or the total one).
    pub deadline: Instant,
    /// The per-key time budget (for reasons).
    pub budget: Duration,
    /// The check's shared memory budget.
    pub memory: &'a MemoryBudget,
    /// Whether the version-order engine may decide register keys.
    pub version_order: bool,
    /// The key (for progress events).
    pub key: &'a str,
    /// Where progress goes.
    pub progress: Option<&'a ProgressSink>,
}

/// Checks the key made of `history.ops[ids]`.
fn check_ids(history: &History, model: &Model, ids: &[usize], limits: &KeyLimits<'_>) -> KeyResult {
    if !ids.iter().any(|&i| history.ops[i].outcome == Outcome::Ok) {
        return unknown(
            ids.len(),
            Engine::None,
            format!(
                "no operation on this key succeeded ({} attempted, all failed or indeterminate): \
                 nothing to check, so `valid` would be vacuous",
                ids.len()
            ),
        );
    }
    check_key(history, &prepare_key(history, model, ids), limits)
}

fn unknown(ops: usize, engine: Engine, reason: String) -> KeyResult {
    KeyResult {
        verdict: Verdict::Unknown,
        ops,
        explored: 0,
        engine,
        reason: Some(reason),
        decided_through: None,
        counterexample: None,
    }
}

/// Decides one prepared key.
pub fn check_key(history: &History, input: &KeyInput, limits: &KeyLimits<'_>) -> KeyResult {
    if Instant::now() >= limits.deadline {
        return unknown(
            input.len(),
            Engine::None,
            format!(
                "time budget of {:?} spent before the key's check began",
                limits.budget
            ),
        );
    }
    match input {
        KeyInput::Register { init, ops, values } => {
            let mut skipped = None;
            if limits.version_order {
                match by_version_order(history, init.0, ops, values, limits) {
                    Ok(result) => return result,
                    Err(why) => skipped = Some(why),
                }
            }
            let r = search_limited(init, ops, limits);
            let mut result = key_result(history, ops, r, limits, |s: &CasRegister<u32>| {
                values.value(s.0).clone()
            });
            if let (Some(why), Some(reason)) = (skipped, &mut result.reason) {
                *reason = format!("{reason} (the version order did not apply: {why})");
            }
            result
        }
        KeyInput::List { ops, values } => {
            let r = search_limited(&AppendList::default(), ops, limits);
            key_result(history, ops, r, limits, |s: &AppendList<u32>| {
                serde_json::Value::Array(s.0.iter().map(|&i| values.value(i).clone()).collect())
            })
        }
        KeyInput::Unsupported { reason, ops } => unknown(*ops, Engine::None, reason.clone()),
    }
}

fn search_limited<S>(init: &S, ops: &[SearchOp<S>], limits: &KeyLimits<'_>) -> SearchResult<S>
where
    S: stateright::semantics::SequentialSpec + Clone + Eq + std::hash::Hash + HeapSize,
{
    let report = |p: &SearchProgress| {
        emit(
            limits.progress,
            CheckEvent::KeyProgress {
                key: limits.key.to_owned(),
                explored: p.explored,
                linearized: p.reached.linearized,
                of: p.reached.of,
                memory: p.bytes,
                elapsed: p.elapsed,
            },
        );
    };
    search_with(
        init,
        ops,
        &Limits {
            deadline: Some(limits.deadline),
            memory: Some(limits.memory),
            progress: limits
                .progress
                .map(|_| &report as &(dyn Fn(&SearchProgress) + Sync)),
        },
    )
}

/// The version-order engine on a register key: its result, or why it did
/// not apply (then the search decides).
fn by_version_order(
    history: &History,
    init: u32,
    ops: &[SearchOp<CasRegister<u32>>],
    values: &Interner,
    limits: &KeyLimits<'_>,
) -> Result<KeyResult, String> {
    let mut reservation = limits.memory.reserve();
    let need = ops.len().saturating_mul(BYTES_PER_OP);
    if !reservation.cover(need) {
        return Ok(unknown(
            ops.len(),
            Engine::VersionOrder,
            format!(
                "memory budget of {} spent: the version-order check needs about {} more",
                human_bytes(limits.memory.limit()),
                human_bytes(need)
            ),
        ));
    }
    let decided = |verdict, counterexample| KeyResult {
        verdict,
        ops: ops.len(),
        explored: 0,
        engine: Engine::VersionOrder,
        reason: None,
        decided_through: None,
        counterexample,
    };
    match version_order::decide(init, ops) {
        Decision::Linearizable(order) => match witness::verify(&CasRegister(init), ops, &order) {
            Ok(_) => Ok(decided(Verdict::Valid, None)),
            Err(e) => {
                // A bug in the engine, never a verdict: the search decides.
                debug_assert!(false, "version-order witness rejected: {e}");
                Err(format!("its witness was rejected ({e})"))
            }
        },
        Decision::NotLinearizable(violation) => {
            let view = KeyView {
                history,
                ops,
                values,
                init,
            };
            let cex = refutation(&view, violation, Some(limits.deadline));
            Ok(decided(Verdict::Invalid, Some(cex)))
        }
        Decision::NotApplicable(why) => Err(match why {
            NotApplicable::Ambiguous { value } => format!(
                "value {} is observed but has more than one possible writer",
                values.value(value)
            ),
            NotApplicable::Unmodelled { op } => format!("op {} is not modelled", ops[op].id),
            NotApplicable::TooManyOps => "too many ops".to_owned(),
            NotApplicable::SharedPositions => "events share positions".to_owned(),
        }),
    }
}

/// The counterexample of a key the version-order engine refuted: the
/// history cut where it stops being linearizable, or (if that cannot be
/// found in time) the violation alone.
fn refutation(
    view: &KeyView<'_>,
    violation: super::violation::Violation,
    deadline: Option<Instant>,
) -> Counterexample {
    let ops = view.ops;
    let (prefix, state, blocked, violation) = match version_order::refute(view.init, ops, deadline)
    {
        Some(r) => (r.prefix, r.state, r.blocked, r.violation),
        None => (
            Vec::new(),
            view.init,
            violation.main_op(|k| ops[k].ret_pos),
            violation,
        ),
    };
    let prefix: Vec<usize> = prefix.iter().map(|&k| ops[k].id).collect();
    Counterexample {
        op: OpRef::new(view.history, ops[blocked].id),
        prefix_tail: tail(view.history, &prefix),
        prefix,
        state: view.values.value(state).clone(),
        concurrent: concurrent_ops(view.history, ops, blocked),
        explanation: Some(explain(view, &violation)),
    }
}

fn tail(history: &History, prefix: &[usize]) -> Vec<OpRef> {
    prefix[prefix.len().saturating_sub(PREFIX_TAIL)..]
        .iter()
        .map(|&id| OpRef::new(history, id))
        .collect()
}

fn gave_up(
    ops_len: usize,
    explored: u64,
    reached: Reached,
    why: String,
    undecided_from_index: Option<u64>,
) -> KeyResult {
    let from = undecided_from_index.map_or(String::new(), |i| {
        format!(" (from the completion at event index {i})")
    });
    KeyResult {
        verdict: Verdict::Unknown,
        ops: ops_len,
        explored,
        engine: Engine::Wgl,
        reason: Some(format!(
            "{why} after {explored} configurations; linearizable through op {} of {} \
             (completed ops in return order), undecided after{from}",
            reached.linearized, reached.of
        )),
        decided_through: Some(DecidedThrough {
            ops: reached.linearized,
            of: reached.of,
            undecided_from_index,
        }),
        counterexample: None,
    }
}

fn key_result<S>(
    history: &History,
    ops: &[SearchOp<S>],
    result: SearchResult<S>,
    limits: &KeyLimits<'_>,
    state_json: impl Fn(&S) -> serde_json::Value,
) -> KeyResult
where
    S: stateright::semantics::SequentialSpec,
{
    let ret_index = |k: usize| {
        history.ops[ops[k].id]
            .complete
            .map(|c| history.events[c].index)
    };
    match result {
        SearchResult::Linearizable { explored, .. } => KeyResult {
            verdict: Verdict::Valid,
            ops: ops.len(),
            explored,
            engine: Engine::Wgl,
            reason: None,
            decided_through: None,
            counterexample: None,
        },
        SearchResult::Timeout { explored, reached } => gave_up(
            ops.len(),
            explored,
            reached,
            format!("time budget of {:?} spent", limits.budget),
            reached.next.and_then(ret_index),
        ),
        SearchResult::OutOfMemory {
            explored,
            reached,
            bytes,
        } => gave_up(
            ops.len(),
            explored,
            reached,
            format!(
                "memory budget of {} spent (the search needed {})",
                human_bytes(limits.memory.limit()),
                human_bytes(bytes)
            ),
            reached.next.and_then(ret_index),
        ),
        SearchResult::NotLinearizable {
            prefix,
            state,
            blocked,
            explored,
        } => {
            let prefix: Vec<usize> = prefix.iter().map(|&k| ops[k].id).collect();
            KeyResult {
                verdict: Verdict::Invalid,
                ops: ops.len(),
                explored,
                engine: Engine::Wgl,
                reason: None,
                decided_through: None,
                counterexample: Some(Counterexample {
                    op: OpRef::new(history, ops[blocked].id),
                    prefix_tail: tail(history, &prefix),
                    prefix,
                    state: state_json(&state),
                    concurrent: concurrent_ops(history, ops, blocked),
                    explanation: None,
                }),
            }
        }
    }
}

/// Ops of the key whose interval overlaps `ops[k]`'s (excluding it).
fn concurrent_ops<S: stateright::semantics::SequentialSpec>(
    history: &History,
    ops: &[SearchOp<S>],
    k: usize,
) -> Vec<OpRef> {
    let target = &ops[k];
    let end = |o: &SearchOp<S>| {
        if o.ret.is_some() { o.ret_pos } else { u64::MAX }
    };
    let t_end = end(target);
    ops.iter()
        .enumerate()
        .filter(|&(i, o)| i != k && o.call < t_end && target.call < end(o))
        .map(|(_, o)| OpRef::new(history, o.id))
        .filter(|r| r.outcome != Outcome::Fail)
        .collect()
}
