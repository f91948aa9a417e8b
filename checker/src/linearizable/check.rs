//! [`check`]: split per key, search each key in parallel, report.
//!
//! Invariants: keys are searched largest first, on the caller's thread
//! (`threads == 1`), rayon's global pool (`0`) or a pool of `threads`; the result map is a `BTreeMap` so the report does not
//! depend on scheduling; an unsupported op or a spent budget gives
//! `unknown`, never `valid` or `invalid`.

use std::{
    collections::BTreeMap,
    time::{Duration, Instant},
};

use rayon::prelude::*;
use serde_json::Value;

use super::{
    options::{LinOptions, Model},
    prepare::{Interner, KeyInput, ops_by_key, prepare_key},
    report::{Counterexample, KeyResult, LinearizabilityReport, OpRef, PREFIX_TAIL},
    wgl::{SearchOp, SearchResult, search},
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
    let mut keys: Vec<(String, Vec<usize>)> = ops_by_key(history).into_iter().collect();
    keys.sort_by_key(|(_, ops)| std::cmp::Reverse(ops.len()));
    let one = |(key, ids): &(String, Vec<usize>)| {
        let input = prepare_key(history, &model, ids);
        let budget_end = Instant::now() + options.time_budget;
        let deadline = total_deadline.map_or(budget_end, |t| t.min(budget_end));
        (
            key.clone(),
            check_key(history, &input, deadline, options.time_budget),
        )
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
    LinearizabilityReport {
        model: model.name().to_owned(),
        verdict: keys
            .values()
            .map(|k| k.verdict)
            .fold(Verdict::Valid, Verdict::compose),
        keys,
    }
}

/// Searches one key's input and reports.
pub fn check_key(
    history: &History,
    input: &KeyInput,
    deadline: Instant,
    budget: Duration,
) -> KeyResult {
    match input {
        KeyInput::Register { init, ops, values } => {
            let r = search(init, ops, Some(deadline));
            key_result(history, ops, r, budget, |s: &CasRegister<u32>| {
                values.value(s.0).clone()
            })
        }
        KeyInput::List { ops, values } => {
            let r = search(&AppendList::default(), ops, Some(deadline));
            key_result(history, ops, r, budget, |s: &AppendList<u32>| {
                list_json(values, &s.0)
            })
        }
        KeyInput::Unsupported { reason, ops } => KeyResult {
            verdict: Verdict::Unknown,
            ops: *ops,
            explored: 0,
            reason: Some(reason.clone()),
            counterexample: None,
        },
    }
}

fn list_json(values: &Interner, ids: &[u32]) -> Value {
    Value::Array(ids.iter().map(|&i| values.value(i).clone()).collect())
}

fn key_result<S>(
    history: &History,
    ops: &[SearchOp<S>],
    result: SearchResult<S>,
    budget: Duration,
    state_json: impl Fn(&S) -> Value,
) -> KeyResult
where
    S: stateright::semantics::SequentialSpec,
{
    match result {
        SearchResult::Linearizable { explored, .. } => KeyResult {
            verdict: Verdict::Valid,
            ops: ops.len(),
            explored,
            reason: None,
            counterexample: None,
        },
        SearchResult::Timeout { explored } => KeyResult {
            verdict: Verdict::Unknown,
            ops: ops.len(),
            explored,
            reason: Some(format!(
                "time budget of {budget:?} spent after {explored} configurations"
            )),
            counterexample: None,
        },
        SearchResult::NotLinearizable {
            prefix,
            state,
            blocked,
            explored,
        } => {
            let prefix: Vec<usize> = prefix.iter().map(|&k| ops[k].id).collect();
            let blocked_id = ops[blocked].id;
            KeyResult {
                verdict: Verdict::Invalid,
                ops: ops.len(),
                explored,
                reason: None,
                counterexample: Some(Counterexample {
                    op: OpRef::new(history, blocked_id),
                    prefix_tail: prefix[prefix.len().saturating_sub(PREFIX_TAIL)..]
                        .iter()
                        .map(|&id| OpRef::new(history, id))
                        .collect(),
                    prefix,
                    state: state_json(&state),
                    concurrent: concurrent_ops(history, ops, blocked),
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
