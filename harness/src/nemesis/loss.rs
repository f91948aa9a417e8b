//! `fault: loss`: drop a random share (`probability`) of the packets to
//! the target nodes, heal after `for`.

use faults::{FaultError, FaultReport, NodeName};
use plan::{FaultSpec, Plan, Problem};
use rand_chacha::ChaCha8Rng;
use systems::BoxFuture;

use super::{Fault, NemesisContext, Started, join, resolve, started};

pub struct Loss;

impl Fault for Loss {
    fn name(&self) -> &'static str {
        "loss"
    }

    fn fields(&self) -> &'static [&'static str] {
        &["target", "probability", "for"]
    }

    fn check(&self, _plan: &Plan, spec: &FaultSpec, problems: &mut Vec<Problem>) {
        if spec.probability.is_none() {
            problems.push(Problem::at(
                &spec.fault.referenced,
                "a loss fault needs a `probability`",
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
            let nodes = resolve(spec, &ctx.cluster.names(), leader, rng)?;
            let p = spec.probability.as_ref().map_or(0.5, |p| p.value);
            let report = ctx.nemesis.lock().await.loss(&nodes, p).await;
            let label = format!("loss {}", join(&nodes));
            started(ctx, report, Started { label, nodes })
        })
    }

    fn stop<'a>(
        &'a self,
        ctx: &'a NemesisContext,
        _started: &'a Started,
    ) -> BoxFuture<'a, Result<FaultReport, FaultError>> {
        // Only the loss: a partition or slow network in force stays.
        Box::pin(async move { ctx.nemesis.lock().await.heal_loss().await })
    }
}
