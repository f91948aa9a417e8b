//! Semantic checks that need no knowledge of systems, workloads or fault
//! kinds: names, sizes and bounds, durations, the shape of the schedule,
//! and targets. What a system, a workload or a fault kind accepts is
//! checked by its own module, through [`crate::load_with`].
//!
//! Every problem is reported (not just the first), each at the place in
//! the file that causes it. Every number a plan can set is bounded, so a
//! typo (`rate: 1e-300`, `keys: 100000000`) is an error here, not a panic
//! or an exhausted machine later.

use std::time::Duration;

use serde_saphyr::{Location, Spanned};

use crate::{
    model::{FaultSpec, Plan, TargetKind, TargetSpec, WorkloadSpec},
    problem::Problem,
};

/// Largest cluster.
pub const MAX_NODES: usize = 50;
/// Most concurrent clients.
pub const MAX_CONCURRENCY: usize = 1_024;
/// Most keys in use at once.
pub const MAX_KEYS: usize = 100_000;
/// Most operations on one key (a hot key may take a whole run).
pub const MAX_OPS_PER_KEY: usize = 100_000_000;
/// Slowest and fastest total rate, in operations per second.
pub const RATE_RANGE: (f64, f64) = (0.01, 10_000_000.0);
/// Longest run, and longest single wait (timeouts, fault durations,
/// budgets).
pub const MAX_DURATION: Duration = Duration::from_secs(7 * 24 * 3600);

/// All generic problems of `plan`.
pub fn check(plan: &Plan, problems: &mut Vec<Problem>) {
    check_basics(plan, problems);
    check_workload(&plan.workload, problems);
    check_schedule(plan, problems);
    check_checks(plan, problems);
}

fn check_basics(plan: &Plan, problems: &mut Vec<Problem>) {
    if plan.name.trim().is_empty() || plan.name.contains(['/', '\\']) || plan.name.starts_with('.')
    {
        problems.push(Problem::anywhere(format!(
            "`name: {}` must be a non-empty file name (no slashes, not starting with a dot)",
            plan.name
        )));
    }
    let nodes = &plan.cluster.nodes;
    if nodes.value == 0 || nodes.value > MAX_NODES {
        problems.push(Problem::at(
            &nodes.referenced,
            format!("a cluster has 1 to {MAX_NODES} nodes, not {}", nodes.value),
        ));
    }
    let duration = &plan.duration;
    if duration.value.get().is_zero() {
        problems.push(Problem::at(
            &duration.referenced,
            "the duration must be positive",
        ));
    }
    bounded_duration(
        "duration",
        &duration.value.0,
        &duration.referenced,
        problems,
    );
    for (field, value) in [
        ("cluster.start-timeout", plan.cluster.start_timeout.get()),
        ("final.settle", plan.final_phase.settle.get()),
        (
            "final.recover-timeout",
            plan.final_phase.recover_timeout.get(),
        ),
    ] {
        bounded_duration(field, &value, &Location::UNKNOWN, problems);
    }
}

fn bounded_duration(field: &str, value: &Duration, at: &Location, problems: &mut Vec<Problem>) {
    if *value > MAX_DURATION {
        problems.push(Problem::at(
            at,
            format!(
                "`{field}` is longer than the longest the harness allows ({})",
                humantime::format_duration(MAX_DURATION)
            ),
        ));
    }
}

fn check_workload(w: &WorkloadSpec, problems: &mut Vec<Problem>) {
    for (field, value, max) in [
        ("keys", &w.keys, MAX_KEYS),
        ("ops-per-key", &w.ops_per_key, MAX_OPS_PER_KEY),
        ("concurrency", &w.concurrency, MAX_CONCURRENCY),
    ] {
        if value.value == 0 || value.value > max {
            problems.push(Problem::at(
                &value.referenced,
                format!(
                    "workload `{field}` must be from 1 to {max}, not {}",
                    value.value
                ),
            ));
        }
    }
    let rate = &w.rate;
    let (slowest, fastest) = RATE_RANGE;
    if !(rate.value.is_finite() && rate.value >= slowest && rate.value <= fastest) {
        problems.push(Problem::at(
            &rate.referenced,
            format!(
                "workload `rate` must be from {slowest} to {fastest} operations per second, not {:?}",
                rate.value
            ),
        ));
    }
    let timeout = &w.timeout;
    if timeout.value.get().is_zero() {
        problems.push(Problem::at(
            &timeout.referenced,
            "workload `timeout` must be positive",
        ));
    }
    bounded_duration("timeout", &timeout.value.0, &timeout.referenced, problems);
    if let Some(mix) = &w.mix
        && mix.value.values().all(|w| *w == 0)
    {
        problems.push(Problem::at(
            &mix.referenced,
            "the op mix sums to zero: nothing to do",
        ));
    }
}

fn check_schedule(plan: &Plan, problems: &mut Vec<Problem>) {
    let faults = &plan.faults;
    let random = faults.every.is_some() || !faults.pick.is_empty();
    if random && !faults.timeline.is_empty() {
        problems.push(Problem::at(
            &faults.timeline[0].fault.referenced,
            "use either a random schedule (`every` + `pick`) or a `timeline`, not both",
        ));
    }
    match (&faults.every, faults.pick.is_empty()) {
        (Some(every), true) => problems.push(Problem::at(
            &every.referenced,
            "`every` needs a `pick` list",
        )),
        (None, false) => problems.push(Problem::at(
            &faults.pick[0].fault.referenced,
            "`pick` needs an `every` interval",
        )),
        (Some(every), false) if every.value.get().is_zero() => {
            problems.push(Problem::at(&every.referenced, "`every` must be positive"))
        }
        (Some(every), false) => {
            bounded_duration("every", &every.value.0, &every.referenced, problems)
        }
        _ => {}
    }
    for fault in &faults.pick {
        check_entry(plan, fault, Place::Pick, problems);
    }
    for fault in &faults.timeline {
        check_entry(plan, fault, Place::Timeline, problems);
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Place {
    Pick,
    Timeline,
}

/// What every schedule entry must get right, whatever its kind.
fn check_entry(plan: &Plan, f: &FaultSpec, place: Place, problems: &mut Vec<Problem>) {
    let here = &f.fault.referenced;
    if place == Place::Timeline {
        if let Some(weight) = &f.weight {
            problems.push(Problem::at(
                &weight.referenced,
                "`weight` belongs to `pick` entries, not the timeline",
            ));
        }
        match &f.at {
            None => problems.push(Problem::at(here, "a timeline entry needs `at`")),
            Some(at) if at.value >= plan.duration.value => problems.push(Problem::at(
                &at.referenced,
                format!(
                    "a fault at {} is after the end of the {} plan",
                    at.value, plan.duration.value
                ),
            )),
            Some(_) => {}
        }
    } else {
        if let Some(at) = &f.at {
            problems.push(Problem::at(
                &at.referenced,
                "`at` belongs to timeline entries, not `pick`",
            ));
        }
        if let Some(weight) = f.weight.as_ref().filter(|w| w.value == 0) {
            problems.push(Problem::at(
                &weight.referenced,
                "a `weight` of 0 can never be picked; remove the entry",
            ));
        }
    }
    for field in [&f.lasts, &f.restart_after].into_iter().flatten() {
        bounded_duration("for", &field.value.0, &field.referenced, problems);
    }
    for (name, field) in [("delay", &f.delay), ("jitter", &f.jitter)] {
        if let Some(field) = field {
            bounded_duration(name, &field.value.0, &field.referenced, problems);
        }
    }
    if let Some(offset) = &f.offset {
        bounded_duration(
            "offset",
            &offset.value.magnitude,
            &offset.referenced,
            problems,
        );
    }
    if let Some(strobe) = &f.strobe {
        let at = &strobe.referenced;
        bounded_duration(
            "strobe.offset",
            &strobe.value.offset.magnitude,
            at,
            problems,
        );
        bounded_duration("strobe.period", &strobe.value.period.0, at, problems);
    }
    if let Some(p) = &f.probability
        && !(p.value > 0.0 && p.value <= 1.0)
    {
        problems.push(Problem::at(
            &p.referenced,
            format!("`probability` must be in (0, 1], not {}", p.value),
        ));
    }
    if let Some(target) = &f.target {
        check_target(
            &target.value,
            plan.cluster.nodes.value,
            &target.referenced,
            problems,
        );
    }
}

fn check_target(target: &TargetSpec, nodes: usize, at: &Location, problems: &mut Vec<Problem>) {
    match target {
        TargetSpec::Kind(TargetKind::Minority) if nodes < 3 => problems.push(Problem::at(
            at,
            format!("a {nodes}-node cluster has no minority to target (needs 3 or more nodes)"),
        )),
        TargetSpec::Kind(_) => {}
        TargetSpec::Named(names) => {
            for name in names {
                let index: usize = name[1..].parse().unwrap_or(0);
                if index > nodes {
                    problems.push(Problem::at(
                        at,
                        format!(
                            "there is no node `{name}` in a {nodes}-node cluster (n1..n{nodes})"
                        ),
                    ));
                }
            }
        }
    }
}

fn check_checks(plan: &Plan, problems: &mut Vec<Problem>) {
    let check = &plan.check;
    bounded_duration(
        "check.time-budget",
        &check.time_budget.0,
        &Location::UNKNOWN,
        problems,
    );
    if let Some(share) = &check.min_ok_share
        && !(share.value >= 0.0 && share.value <= 1.0)
    {
        problems.push(Problem::at(
            &share.referenced,
            format!("`min-ok-share` is a share from 0 to 1, not {}", share.value),
        ));
    }
}

/// Where a field is, or `fallback` when it is absent.
pub fn location_of<'a, T>(field: &'a Option<Spanned<T>>, fallback: &'a Location) -> &'a Location {
    field.as_ref().map_or(fallback, |s| &s.referenced)
}
