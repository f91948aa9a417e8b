//! Loading plans with every rule: the generic ones of the `plan` crate,
//! and those of the system, the workload and the fault kinds a plan names
//! (each owned by its seam: `systems`, `workloads`, [`crate::nemesis`]).

use std::path::Path;

use plan::{Plan, PlanError, Problem};

/// The default plan, embedded so that `harness run` works anywhere.
pub use plan::DEFAULT_PLAN;

/// What the embedded default plan is called in messages.
pub const DEFAULT_PLAN_NAME: &str = "<embedded plans/default.yaml>";

/// Reads, parses and validates the plan at `path`.
pub fn load(path: &Path) -> Result<Plan, PlanError> {
    plan::load_with(path, &rules)
}

/// Parses and validates plan text; `file` names it in errors.
pub fn load_str(text: &str, file: &str) -> Result<Plan, PlanError> {
    plan::load_str_with(text, file, &rules)
}

/// Every rule beyond the generic ones.
fn rules(plan: &Plan, problems: &mut Vec<Problem>) {
    systems::check_plan(plan, problems);
    check_workload(plan, problems);
    crate::nemesis::check_plan(plan, problems);
}

/// The workload exists and can run the plan's mix.
fn check_workload(plan: &Plan, problems: &mut Vec<Problem>) {
    let spec = &plan.workload;
    let Some(workload) = workloads::find(&spec.kind.value) else {
        problems.push(Problem::at(
            &spec.kind.referenced,
            format!(
                "unknown workload `{}`; expected one of {}",
                spec.kind.value,
                workloads::names().join(", ")
            ),
        ));
        return;
    };
    if let Some(system) = systems::find(&plan.cluster.system.value) {
        let issued = spec.mix.as_ref().map_or_else(
            || {
                workload
                    .default_mix()
                    .iter()
                    .map(|(kind, _)| *kind)
                    .collect()
            },
            |mix| {
                mix.value
                    .iter()
                    .filter(|(_, weight)| **weight > 0)
                    .filter_map(|(op, _)| workloads::OpKind::parse(op))
                    .collect::<Vec<_>>()
            },
        );
        if let Some(why) = unsupported(system.name(), workload.name(), &issued, |f| {
            system.supports(f)
        }) {
            problems.push(Problem::at(&spec.kind.referenced, why));
        }
    }
    let Some(mix) = &spec.mix else { return };
    let weights = mix.value.iter().map(|(op, w)| (op.as_str(), *w));
    match workloads::mix_for(workload, Some(weights)) {
        Ok(built) => {
            if let Err(why) = workload.check_mix(&built) {
                problems.push(Problem::at(&mix.referenced, why));
            }
        }
        Err(workloads::MixError::UnknownOp(op)) => problems.push(Problem::at(
            &mix.referenced,
            format!(
                "the {} workload has no `{op}` operation; expected one of {}",
                workload.name(),
                workload
                    .ops()
                    .iter()
                    .map(|o| o.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        )),
        // A zero mix is a generic problem, reported by the plan crate.
        Err(workloads::MixError::Empty) => {}
    }
}

/// Why `system` cannot run the ops `issued` by `workload`, if it cannot.
fn unsupported(
    system: &str,
    workload: &str,
    issued: &[workloads::OpKind],
    supports: impl Fn(workloads::OpKind) -> bool,
) -> Option<String> {
    let lacking: Vec<&str> = issued
        .iter()
        .filter(|f| !supports(**f))
        .map(|f| f.as_str())
        .collect();
    (!lacking.is_empty()).then(|| {
        format!(
            "system `{system}` cannot run `{}` operations, which the {workload} workload issues",
            lacking.join("`, `")
        )
    })
}

/// The mix the plan's workload runs with: its own, else the workload's
/// default.
pub fn mix(plan: &Plan) -> workloads::Mix {
    let workload = workloads::find(&plan.workload.kind.value).expect("validated plans");
    let weights = plan
        .workload
        .mix
        .as_ref()
        .map(|m| m.value.iter().map(|(op, w)| (op.as_str(), *w)));
    workloads::mix_for(workload, weights).expect("validated plans have a usable mix")
}

#[cfg(test)]
mod tests {
    use workloads::OpKind;

    use super::*;

    #[test]
    fn a_workload_whose_ops_the_system_lacks_is_refused() {
        let no_txn = |f: OpKind| f != OpKind::Txn;
        assert_eq!(
            unsupported("zookeeper", "list-append", &[OpKind::Txn], no_txn).as_deref(),
            Some(
                "system `zookeeper` cannot run `txn` operations, which the list-append workload issues"
            )
        );
        assert_eq!(
            unsupported(
                "zookeeper",
                "register",
                &[OpKind::Read, OpKind::Cas],
                no_txn
            ),
            None
        );
    }

    #[test]
    fn every_registered_system_runs_list_append_plans() {
        for system in systems::ALL {
            let text = format!(
                "name: t\ncluster: {{ system: {}, nodes: 3 }}\nworkload: {{ kind: list-append }}\nduration: 10s\n",
                system.name()
            );
            let loaded = load_str(&text, "t.yaml");
            if system.supports(OpKind::Txn) {
                let refused = loaded.err().map(|e| e.to_string()).unwrap_or_default();
                assert!(
                    !refused.contains("cannot run"),
                    "{}: {refused}",
                    system.name()
                );
            } else {
                let error = loaded.expect_err("refused").to_string();
                assert!(error.contains("t.yaml:3:"), "located: {error}");
            }
        }
    }
}
