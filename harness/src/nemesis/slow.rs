//! `fault: slow`: hold every packet between the target nodes and the
//! others (or on the named `links`) for `delay ± jitter`, for `for`.
//!
//! The mechanism is the firewall's NFQUEUE delay (`faults::net::slow`):
//! its rules sit after the partition rules, and a delayed packet runs
//! through them again when it is released, so a partition during a slow
//! window still drops everything. Ending a slow fault removes only the
//! slow rules; a partition or loss in force stays.

use faults::{
    FaultError, FaultReport, NodeName,
    net::slow::{MAX_DELAY, SlowParams, SlowScope},
};
use plan::{FaultSpec, Plan, Problem, is_node_name};
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use systems::BoxFuture;

use super::{Fault, NemesisContext, Started, join, resolve, started};

pub struct Slow;

impl Fault for Slow {
    fn name(&self) -> &'static str {
        "slow"
    }

    fn fields(&self) -> &'static [&'static str] {
        &["target", "links", "delay", "jitter", "reorder", "for"]
    }

    fn check(&self, plan: &Plan, spec: &FaultSpec, problems: &mut Vec<Problem>) {
        let here = &spec.fault.referenced;
        if spec.delay.is_none() {
            problems.push(Problem::at(here, "a slow fault needs a `delay`"));
        }
        for field in [&spec.delay, &spec.jitter].into_iter().flatten() {
            if field.value.get() > MAX_DELAY {
                problems.push(Problem::at(
                    &field.referenced,
                    format!(
                        "a slow fault holds packets at most {} (delay and jitter each)",
                        humantime::format_duration(MAX_DELAY)
                    ),
                ));
            }
        }
        let nodes = plan.cluster.nodes.value;
        if nodes < 2 {
            problems.push(Problem::at(
                here,
                format!("a slow network needs at least 2 nodes; this cluster has {nodes}"),
            ));
        }
        let Some(links) = &spec.links else { return };
        if spec.target.is_some() {
            problems.push(Problem::at(
                &links.referenced,
                "give either `target` (every link of those nodes) or `links`, not both",
            ));
        }
        if links.value.is_empty() {
            problems.push(Problem::at(&links.referenced, "`links` is empty"));
        }
        for [a, b] in &links.value {
            let bad = [a, b].into_iter().find(|name| {
                !is_node_name(name) || name[1..].parse::<usize>().map_or(true, |i| i > nodes)
            });
            if let Some(name) = bad {
                problems.push(Problem::at(
                    &links.referenced,
                    format!("there is no node `{name}` in a {nodes}-node cluster (n1..n{nodes})"),
                ));
            } else if a == b {
                problems.push(Problem::at(
                    &links.referenced,
                    format!("a link joins two nodes, not `{a}` to itself"),
                ));
            }
        }
    }

    fn uses_firewall(&self) -> bool {
        true
    }

    fn start<'a>(
        &'a self,
        ctx: &'a NemesisContext,
        spec: &'a FaultSpec,
        leader: Option<&'a NodeName>,
        rng: &'a mut ChaCha8Rng,
    ) -> BoxFuture<'a, Result<Option<Started>, String>> {
        Box::pin(async move {
            let (scope, at) = match &spec.links {
                Some(links) => {
                    let pairs: Vec<(NodeName, NodeName)> = links
                        .value
                        .iter()
                        .map(|[a, b]| (NodeName::new(a), NodeName::new(b)))
                        .collect();
                    let at = pairs
                        .iter()
                        .map(|(a, b)| format!("{a}-{b}"))
                        .collect::<Vec<_>>()
                        .join(",");
                    (SlowScope::Links(pairs), at)
                }
                None => {
                    let nodes = resolve(spec, &ctx.cluster.names(), leader, rng)?;
                    let at = join(&nodes);
                    (SlowScope::Nodes(nodes), at)
                }
            };
            let params = SlowParams {
                delay: spec
                    .delay
                    .as_ref()
                    .map_or_else(Default::default, |d| d.value.get()),
                jitter: spec
                    .jitter
                    .as_ref()
                    .map_or_else(Default::default, |j| j.value.get()),
                reorder: spec.reorder.as_ref().is_some_and(|r| r.value),
                seed: rng.random(),
            };
            let label = format!(
                "slow {at} {}ms±{}ms",
                params.delay.as_millis(),
                params.jitter.as_millis()
            );
            let nodes = scope.nodes().into_iter().collect();
            let report = ctx.nemesis.lock().await.slow(scope, params).await;
            started(ctx, report, Started { label, nodes })
        })
    }

    fn stop<'a>(
        &'a self,
        ctx: &'a NemesisContext,
        _started: &'a Started,
    ) -> BoxFuture<'a, Result<FaultReport, FaultError>> {
        Box::pin(async move { ctx.nemesis.lock().await.heal_slow().await })
    }
}
