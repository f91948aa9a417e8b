//! `fault: partition`: drop packets between groups of nodes (a grudge of
//! the plan's `shape`, drawn with the run's rng), heal after `for`.

use faults::{FaultError, FaultReport, NodeName, PartitionShape};
use plan::{FaultSpec, Plan, Problem, ShapeSpec};
use rand_chacha::ChaCha8Rng;
use systems::BoxFuture;

use super::{Fault, NemesisContext, Started, started};

pub struct Partition;

impl Fault for Partition {
    fn name(&self) -> &'static str {
        "partition"
    }

    fn fields(&self) -> &'static [&'static str] {
        &["shape", "for"]
    }

    fn check(&self, plan: &Plan, spec: &FaultSpec, problems: &mut Vec<Problem>) {
        let here = &spec.fault.referenced;
        if spec.shape.is_none() {
            problems.push(Problem::at(here, "a partition needs a `shape`"));
        }
        let nodes = plan.cluster.nodes.value;
        if nodes < 2 {
            problems.push(Problem::at(
                here,
                format!("a partition needs at least 2 nodes; this cluster has {nodes}"),
            ));
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
            let shape = shape(spec.shape.as_ref().map_or(ShapeSpec::Halves, |s| s.value));
            let nodes = ctx.cluster.names();
            let grudge = shape
                .grudge(&nodes, leader, rng)
                .map_err(|e| format!("{}: {e}", shape.name()))?;
            let report = ctx
                .nemesis
                .lock()
                .await
                .partition(grudge, Some(shape))
                .await;
            let label = format!("partition {}", shape.name());
            started(ctx, report, Started { label, nodes })
        })
    }

    fn stop<'a>(
        &'a self,
        ctx: &'a NemesisContext,
        _started: &'a Started,
    ) -> BoxFuture<'a, Result<FaultReport, FaultError>> {
        // Only the partition: a slow network or loss in force stays.
        Box::pin(async move { ctx.nemesis.lock().await.heal_partition().await })
    }
}

fn shape(spec: ShapeSpec) -> PartitionShape {
    match spec {
        ShapeSpec::IsolateOne => PartitionShape::IsolateOne,
        ShapeSpec::IsolateLeader => PartitionShape::IsolateLeader,
        ShapeSpec::Halves => PartitionShape::Halves,
        ShapeSpec::MajoritiesRing => PartitionShape::MajoritiesRing,
        ShapeSpec::Bridge => PartitionShape::Bridge,
    }
}
