//! `fault: power-loss`: SIGKILL the target nodes, roll every file of their
//! data directories back to its last synced content, and start them again
//! after `restart-after`. With `target: all` it is a whole-cluster outage:
//! only what each node had synced survives.

use std::time::Duration;

use faults::{FaultError, FaultReport, NodeName};
use plan::FaultSpec;
use rand_chacha::ChaCha8Rng;
use systems::BoxFuture;

use super::{
    Fault, NemesisContext, Setup, Started, disk, join, kill::DEFAULT_RESTART_AFTER, resolve,
    started,
};

pub struct PowerLoss;

impl Fault for PowerLoss {
    fn name(&self) -> &'static str {
        "power-loss"
    }

    fn fields(&self) -> &'static [&'static str] {
        &["target", "restart-after"]
    }

    fn uses_mounts(&self) -> bool {
        true
    }

    fn setup(&self, setup: &mut Setup<'_>) -> Result<(), String> {
        disk::mount_all(setup)
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
            let disks = disk::disks(ctx).await?;
            let report = ctx.nemesis.lock().await.power_loss(&nodes, &disks).await;
            let label = format!("power-loss {}", join(&nodes));
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
