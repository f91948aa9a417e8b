//! Semantic checks: plans that parse but cannot run as written.
//!
//! Every problem is reported (not just the first), each at the place in
//! the file that causes it.

use std::collections::BTreeMap;

use serde_saphyr::Spanned;

use super::{
    load::Problem,
    model::{
        FaultKind, FaultSpec, NetworkMode, Plan, System, TargetKind, TargetSpec, WorkloadKind,
        WorkloadSpec,
    },
};
use crate::run::command::Template;

const MAX_NODES: usize = 50;

/// Operation weights of a workload, defaults filled in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mix(pub BTreeMap<String, u32>);

impl Mix {
    /// The operations a workload kind understands.
    pub fn allowed(kind: WorkloadKind) -> &'static [&'static str] {
        match kind {
            WorkloadKind::Register => &["read", "write", "cas"],
            WorkloadKind::Set => &["append", "read"],
        }
    }

    /// The plan's mix, or the kind's default.
    pub fn of(spec: &WorkloadSpec) -> Mix {
        match &spec.mix {
            Some(mix) => Mix(mix.value.clone()),
            None => match spec.kind {
                WorkloadKind::Register => Mix(BTreeMap::from([
                    ("read".to_owned(), 2),
                    ("write".to_owned(), 1),
                    ("cas".to_owned(), 1),
                ])),
                WorkloadKind::Set => Mix(BTreeMap::from([
                    ("append".to_owned(), 10),
                    ("read".to_owned(), 1),
                ])),
            },
        }
    }
}

/// All problems of `plan`, or `Ok` if it can run.
pub fn check(plan: &Plan) -> Result<(), Vec<Problem>> {
    let mut problems = Vec::new();
    check_basics(plan, &mut problems);
    check_cluster(plan, &mut problems);
    check_workload(&plan.workload, &mut problems);
    check_schedule(plan, &mut problems);
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems)
    }
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
    if plan.duration.value.get().is_zero() {
        problems.push(Problem::at(
            &plan.duration.referenced,
            "the duration must be positive",
        ));
    }
}

fn check_cluster(plan: &Plan, problems: &mut Vec<Problem>) {
    let c = &plan.cluster;
    match (&c.start, c.system) {
        (None, System::Command) => problems.push(Problem::at(
            &c.nodes.referenced,
            "`system: command` needs a `start` command template (see docs/bring-your-own.md)",
        )),
        (Some(start), System::Command) => {
            if let Err(e) = Template::parse(&start.value) {
                // Exact for single-line plain scalars, the usual form.
                let mut at = Problem::at(&start.referenced, format!("in `start`: {e}"));
                at.column += e.column.saturating_sub(1) as u64;
                problems.push(at);
            }
        }
        (Some(start), _) => problems.push(Problem::at(
            &start.referenced,
            "`start` belongs to `system: command`",
        )),
        (None, _) => {}
    }
    if let Some(flag) = c
        .serializable_reads
        .as_ref()
        .filter(|_| c.system != System::Etcd)
    {
        problems.push(Problem::at(
            &flag.referenced,
            "`serializable-reads` belongs to `system: etcd`",
        ));
    }
    if c.port.is_some() && c.system != System::Command {
        problems.push(Problem::anywhere(
            "cluster `port` belongs to `system: command`",
        ));
    }
    let partitions = plan
        .faults
        .pick
        .iter()
        .chain(&plan.faults.timeline)
        .find(|f| matches!(f.fault.value, FaultKind::Partition | FaultKind::Loss));
    if let Some(fault) = partitions
        && c.system == System::Etcd
        && c.network_mode() == NetworkMode::Loopback
    {
        problems.push(Problem::at(
            &fault.fault.referenced,
            "etcd cannot bind its outgoing connections to its node's address, so loopback rules cannot tell \
             its nodes apart; use `network: namespaces` (the default for etcd)",
        ));
    }
}

fn check_workload(w: &WorkloadSpec, problems: &mut Vec<Problem>) {
    for (field, value) in [
        ("keys", w.keys),
        ("ops-per-key", w.ops_per_key),
        ("concurrency", w.concurrency),
    ] {
        if value == 0 {
            problems.push(Problem::anywhere(format!(
                "workload `{field}` must be at least 1"
            )));
        }
    }
    if !(w.rate.is_finite() && w.rate > 0.0) {
        problems.push(Problem::anywhere(format!(
            "workload `rate` must be a positive number of operations per second, not {}",
            w.rate
        )));
    }
    if w.timeout.get().is_zero() {
        problems.push(Problem::anywhere("workload `timeout` must be positive"));
    }
    if let Some(mix) = &w.mix {
        let allowed = Mix::allowed(w.kind);
        for op in mix.value.keys() {
            if !allowed.contains(&op.as_str()) {
                problems.push(Problem::at(
                    &mix.referenced,
                    format!(
                        "the {:?} workload has no `{op}` operation; expected one of {}",
                        w.kind,
                        allowed.join(", ")
                    )
                    .to_lowercase(),
                ));
            }
        }
        if mix.value.values().all(|w| *w == 0) {
            problems.push(Problem::at(
                &mix.referenced,
                "the op mix sums to zero: nothing to do",
            ));
        }
        if w.kind == WorkloadKind::Set && mix.value.get("append").copied().unwrap_or(0) == 0 {
            problems.push(Problem::at(
                &mix.referenced,
                "the set workload needs `append` in its mix",
            ));
        }
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
        _ => {}
    }
    for fault in &faults.pick {
        check_fault(plan, fault, Place::Pick, problems);
    }
    for fault in &faults.timeline {
        check_fault(plan, fault, Place::Timeline, problems);
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Place {
    Pick,
    Timeline,
}

fn check_fault(plan: &Plan, f: &FaultSpec, place: Place, problems: &mut Vec<Problem>) {
    let kind = f.fault.value;
    let name = format!("{kind:?}").to_lowercase();
    let nodes = plan.cluster.nodes.value;
    let mut not_for = |present: bool, field: &str, location: &serde_saphyr::Location| {
        if present {
            let hint = if field == "for" {
                " (a killed node comes back after `restart-after`)"
            } else {
                ""
            };
            problems.push(Problem::at(
                location,
                format!("`{field}` does not apply to a {name} fault{hint}"),
            ));
        }
    };
    let here = &f.fault.referenced;
    let uses_target = matches!(kind, FaultKind::Kill | FaultKind::Pause | FaultKind::Loss);
    not_for(
        !uses_target && f.target.is_some(),
        "target",
        loc(&f.target, here),
    );
    not_for(
        kind != FaultKind::Partition && f.shape.is_some(),
        "shape",
        loc(&f.shape, here),
    );
    not_for(
        kind == FaultKind::Kill && f.lasts.is_some(),
        "for",
        loc(&f.lasts, here),
    );
    not_for(
        kind != FaultKind::Kill && f.restart_after.is_some(),
        "restart-after",
        loc(&f.restart_after, here),
    );
    not_for(
        kind != FaultKind::Loss && f.probability.is_some(),
        "probability",
        loc(&f.probability, here),
    );
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
    if kind == FaultKind::Partition {
        if f.shape.is_none() {
            problems.push(Problem::at(here, "a partition needs a `shape`"));
        }
        if nodes < 2 {
            problems.push(Problem::at(
                here,
                format!("a partition needs at least 2 nodes; this cluster has {nodes}"),
            ));
        }
    }
    if let Some(p) = &f.probability {
        if !(p.value > 0.0 && p.value <= 1.0) {
            problems.push(Problem::at(
                &p.referenced,
                format!("`probability` must be in (0, 1], not {}", p.value),
            ));
        }
    } else if kind == FaultKind::Loss {
        problems.push(Problem::at(here, "a loss fault needs a `probability`"));
    }
    if let Some(target) = &f.target {
        check_target(&target.value, nodes, &target.referenced, problems);
    }
}

fn loc<'a, T>(
    field: &'a Option<Spanned<T>>,
    fallback: &'a serde_saphyr::Location,
) -> &'a serde_saphyr::Location {
    field.as_ref().map_or(fallback, |s| &s.referenced)
}

fn check_target(
    target: &TargetSpec,
    nodes: usize,
    at: &serde_saphyr::Location,
    problems: &mut Vec<Problem>,
) {
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
