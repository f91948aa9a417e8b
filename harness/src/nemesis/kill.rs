//! `fault: kill`: SIGKILL the target's process group; restart it with the
//! same command and data after `restart-after`.

use std::time::Duration;

use faults::{FaultError, FaultReport, NodeName};
use plan::FaultSpec;
use rand_chacha::ChaCha8Rng;
use systems::BoxFuture;

use super::{Fault, NemesisContext, Started, join, resolve, started};

/// How long a killed node stays down when the plan does not say.
pub const DEFAULT_RESTART_AFTER: Duration = Duration::from_secs(2);

pub struct Kill;

impl Fault for Kill {
    fn name(&self) -> &'static str {
        "kill"
    }

    fn fields(&self) -> &'static [&'static str] {
        &["target", "restart-after"]
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
            let report = ctx.nemesis.lock().await.kill(&nodes).await;
            let label = format!("kill {}", join(&nodes));
            started(ctx, report, Started { label, nodes })
        })
    }

    fn holds(&self, spec: &FaultSpec) -> Duration {
        spec.restart_after
            .as_ref()
            .map_or(DEFAULT_RESTART_AFTER, |d| d.value.get())
    }

    fn stop<'a>(
        &'a self,
        ctx: &'a NemesisContext,
        started: &'a Started,
    ) -> BoxFuture<'a, Result<FaultReport, FaultError>> {
        Box::pin(async move { ctx.nemesis.lock().await.restart(&started.nodes).await })
    }
}
