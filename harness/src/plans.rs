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
