//! `fault: clock`: shift the target nodes' clocks through libfaketime:
//! jump them (`offset`), make them run fast or slow (`rate`), or jump
//! them back and forth (`strobe`), for `for`; then back to real time.
//!
//! Owns the clock rig of a run (a `faults::clock::ClockControl`, set up
//! before the nodes start by preloading libfaketime into every node) and
//! the plan rules of clock entries.
//!
//! Invariants:
//! - A plan whose node program libfaketime cannot reach (statically
//!   linked, or Go) is refused: at `validate` when the program can be
//!   found then (`check`), else before any node starts (`setup`). It is
//!   never run with its clocks untouched.
//! - Every change is a `start-clock` event and every end a `stop-clock`
//!   (`ClockControl` makes them); a strobe that ran its course is polled
//!   (`finished_strobes`) when its entry ends and at heal, so its stop is
//!   recorded too.
//! - Two clock entries of a timeline that may hit the same node never
//!   overlap: a node has one clock fault at a time, and the end of the
//!   first would otherwise reset the second.

use faults::{
    FaultError, FaultReport, NodeName, NodeSpec,
    clock::{
        ClockControl, ClockSetup, MAX_STROBE, RATE_BOUNDS, STROBE_PERIOD_BOUNDS,
        check_clock_reachable,
    },
};
use plan::{FaultSpec, Plan, Problem, TargetSpec};
use rand_chacha::ChaCha8Rng;
use systems::{BoxFuture, Programs};

use super::{DEFAULT_FOR, Fault, NemesisContext, Setup, Started, entries, join, resolve, started};

/// The name of the clock rig in [`super::Rigs`].
const RIG: &str = "clock";

pub struct Clock;

/// What one clock entry does.
enum Change {
    Offset(i64),
    Rate(f64),
    Strobe {
        delta_ms: i64,
        period: std::time::Duration,
    },
}

impl Change {
    fn of(spec: &FaultSpec) -> Option<Change> {
        if let Some(offset) = &spec.offset {
            return Some(Change::Offset(offset.value.millis()));
        }
        if let Some(rate) = &spec.rate {
            return Some(Change::Rate(rate.value));
        }
        spec.strobe.as_ref().map(|s| Change::Strobe {
            delta_ms: s.value.offset.millis(),
            period: s.value.period.get(),
        })
    }

    /// For the progress line: `-10s`, `x0.5`, `strobe 200ms/50ms`.
    fn describe(&self) -> String {
        match self {
            Change::Offset(ms) => format!("{ms:+}ms"),
            Change::Rate(factor) => format!("x{factor}"),
            Change::Strobe { delta_ms, period } => {
                format!("strobe {delta_ms:+}ms/{}ms", period.as_millis())
            }
        }
    }
}

impl Fault for Clock {
    fn name(&self) -> &'static str {
        "clock"
    }

    fn fields(&self) -> &'static [&'static str] {
        &["target", "offset", "rate", "strobe", "for"]
    }

    fn check(&self, plan: &Plan, spec: &FaultSpec, problems: &mut Vec<Problem>) {
        let here = &spec.fault.referenced;
        let given = [
            spec.offset.is_some(),
            spec.rate.is_some(),
            spec.strobe.is_some(),
        ];
        if given.iter().filter(|g| **g).count() != 1 {
            problems.push(Problem::at(
                here,
                "a clock fault needs exactly one of `offset` (a jump), `rate` (a speed) and \
                 `strobe` (jumps back and forth)",
            ));
        }
        check_bounds(self.holds(spec), spec, problems);
        check_overlaps(plan, spec, problems);
        let first_clock_entry = entries(plan).find(|e| e.fault.value == self.name());
        if first_clock_entry.is_some_and(|first| std::ptr::eq(first, spec)) {
            check_program(plan, spec, problems);
        }
    }

    fn setup(&self, setup: &mut Setup<'_>) -> Result<(), String> {
        let clocks = ClockSetup::new(setup.dir.nodes()).map_err(|e| e.to_string())?;
        let mut control = ClockControl::new(setup.rigs.ids());
        for node in setup.nodes.iter_mut() {
            let (spec, file) = clocks
                .prepare(node.spec.clone())
                .map_err(|e| e.to_string())?;
            node.spec = spec;
            control.add(file).map_err(|e| e.to_string())?;
        }
        setup.rigs.insert(RIG, control);
        Ok(())
    }

    fn start<'a>(
        &'a self,
        ctx: &'a NemesisContext,
        spec: &'a FaultSpec,
        leader: Option<&'a NodeName>,
        rng: &'a mut ChaCha8Rng,
    ) -> BoxFuture<'a, Result<Option<Started>, String>> {
        Box::pin(async move {
            let change = Change::of(spec).ok_or("a clock fault without a change")?;
            let nodes = resolve(spec, &ctx.cluster.names(), leader, rng)?;
            let mut rigs = ctx.rigs.lock().await;
            let control = rigs
                .get_mut::<ClockControl>(RIG)
                .ok_or("the clocks were not set up")?;
            let report = match change {
                Change::Offset(ms) => control.offset(&nodes, ms).await,
                Change::Rate(factor) => control.rate(&nodes, factor).await,
                Change::Strobe { delta_ms, period } => {
                    let lasts = self.holds(spec);
                    control.strobe(&nodes, delta_ms, period, lasts).await
                }
            };
            let label = format!("clock {} {}", join(&nodes), change.describe());
            started(ctx, report, Started { label, nodes })
        })
    }

    fn stop<'a>(
        &'a self,
        ctx: &'a NemesisContext,
        started: &'a Started,
    ) -> BoxFuture<'a, Result<FaultReport, FaultError>> {
        Box::pin(async move {
            let mut rigs = ctx.rigs.lock().await;
            let Some(control) = rigs.get_mut::<ClockControl>(RIG) else {
                return Ok(FaultReport::skipped("the clocks were not set up"));
            };
            // A strobe that ran its course has put its clocks back already;
            // its stop event comes from the poll, and the reset skips it.
            let mut report = control.finished_strobes();
            let reset = control.reset(&started.nodes).await?;
            report.events.extend(reset.events);
            report.outcome = reset.outcome;
            Ok(report)
        })
    }

    fn recover<'a>(&'a self, ctx: &'a NemesisContext) -> BoxFuture<'a, Vec<FaultReport>> {
        Box::pin(async move {
            let mut rigs = ctx.rigs.lock().await;
            let Some(control) = rigs.get_mut::<ClockControl>(RIG) else {
                return Vec::new();
            };
            let mut reports = vec![control.finished_strobes()];
            match control.reset_all().await {
                Ok(report) => reports.push(report),
                Err(e) => ctx.problem(format!("cannot reset the clocks at heal: {e}")),
            }
            reports
        })
    }
}

/// Rates, strobe periods and strobe lengths within what the clock control
/// accepts (offsets and durations are bounded by the plan crate).
fn check_bounds(lasts: std::time::Duration, spec: &FaultSpec, problems: &mut Vec<Problem>) {
    if let Some(rate) = &spec.rate {
        let (slowest, fastest) = RATE_BOUNDS;
        if !(rate.value.is_finite() && rate.value >= slowest && rate.value <= fastest) {
            problems.push(Problem::at(
                &rate.referenced,
                format!(
                    "a clock `rate` is from {slowest} to {fastest} times real speed, not {}",
                    rate.value
                ),
            ));
        }
    }
    if let Some(strobe) = &spec.strobe {
        let (shortest, longest) = STROBE_PERIOD_BOUNDS;
        let period = strobe.value.period.get();
        if period < shortest || period > longest {
            problems.push(Problem::at(
                &strobe.referenced,
                format!(
                    "a strobe `period` is from {} to {}, not {}",
                    humantime::format_duration(shortest),
                    humantime::format_duration(longest),
                    strobe.value.period
                ),
            ));
        }
        if lasts > MAX_STROBE {
            problems.push(Problem::at(
                &strobe.referenced,
                format!(
                    "a strobe lasts at most {} (its `for`)",
                    humantime::format_duration(MAX_STROBE)
                ),
            ));
        }
        if strobe.value.offset.magnitude.is_zero() {
            problems.push(Problem::at(
                &strobe.referenced,
                "a strobe needs a non-zero `offset`",
            ));
        }
    }
}

/// Timeline clock entries whose windows overlap, unless they name
/// disjoint nodes.
fn check_overlaps(plan: &Plan, spec: &FaultSpec, problems: &mut Vec<Problem>) {
    let window = |e: &FaultSpec| {
        let at = e.at.as_ref()?.value.get();
        let lasts = e.lasts.as_ref().map_or(DEFAULT_FOR, |d| d.value.get());
        Some((at, at + lasts))
    };
    let Some((start, end)) = window(spec) else {
        return;
    };
    let clocks = plan
        .faults
        .timeline
        .iter()
        .filter(|e| e.fault.value == "clock");
    for earlier in clocks.take_while(|e| !std::ptr::eq(*e, spec)) {
        let Some((other_start, other_end)) = window(earlier) else {
            continue;
        };
        if start < other_end && other_start < end && !disjoint(earlier, spec) {
            problems.push(Problem::at(
                &spec.fault.referenced,
                format!(
                    "this clock fault overlaps the one at line {} (from {} for {}); a node has \
                     one clock fault at a time, so start this one after that one ends, or \
                     name disjoint nodes in `target`",
                    earlier.fault.referenced.line(),
                    humantime::format_duration(other_start),
                    humantime::format_duration(other_end - other_start),
                ),
            ));
        }
    }
}

/// Whether two entries name disjoint node lists (other targets are
/// chosen when the fault starts, and may meet).
fn disjoint(a: &FaultSpec, b: &FaultSpec) -> bool {
    match (
        a.target.as_ref().map(|t| &t.value),
        b.target.as_ref().map(|t| &t.value),
    ) {
        (Some(TargetSpec::Named(a)), Some(TargetSpec::Named(b))) => {
            a.iter().all(|name| !b.contains(name))
        }
        _ => false,
    }
}

/// Refuses the plan if its node program is one whose clock libfaketime
/// cannot reach. The program is the one `harness run` would use without
/// `--node-binary`; when it cannot be found now, `setup` judges the one
/// the run finds.
fn check_program(plan: &Plan, spec: &FaultSpec, problems: &mut Vec<Problem>) {
    let Some(system) = systems::find(&plan.cluster.system.value) else {
        return;
    };
    let programs = Programs {
        node_binary: None,
        harness_dir: std::env::current_exe()
            .ok()
            .and_then(|exe| exe.parent().map(Into::into)),
    };
    let Ok(program) = system.program(plan, &programs) else {
        return;
    };
    let probe = NodeSpec::new(NodeName::from("n1"), &program, "/dev/null");
    if let Err(e @ FaultError::ClockUnreachable { .. }) = check_clock_reachable(&probe) {
        problems.push(Problem::at(
            &spec.fault.referenced,
            format!(
                "clock faults cannot run against this `system: {}`: {e}",
                system.name()
            ),
        ));
    }
}
