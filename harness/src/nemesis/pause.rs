//! `fault: pause`: SIGSTOP the target's process group; SIGCONT after
//! `for`.

use faults::{FaultError, FaultReport, NodeName};
use plan::FaultSpec;
use rand_chacha::ChaCha8Rng;
use systems::BoxFuture;

use super::{Fault, NemesisContext, Started, join, resolve, started};

pub struct Pause;

impl Fault for Pause {
    fn name(&self) -> &'static str {
        "pause"
    }

    fn fields(&self) -> &'static [&'static str] {
        &["target", "for"]
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
            let report = ctx.nemesis.lock().await.pause(&nodes).await;
            let label = format!("pause {}", join(&nodes));
            started(ctx, report, Started { label, nodes })
        })
    }

    fn stop<'a>(
        &'a self,
        ctx: &'a NemesisContext,
        started: &'a Started,
    ) -> BoxFuture<'a, Result<FaultReport, FaultError>> {
        Box::pin(async move { ctx.nemesis.lock().await.resume(&started.nodes).await })
    }
}
