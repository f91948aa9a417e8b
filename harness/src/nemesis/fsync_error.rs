//! `fault: fsync-error`: every `fsync`, `fdatasync` and directory sync on
//! the target nodes' data directories fails with `EIO`, and makes nothing
//! durable, for `for`. One window at a time: a new one replaces the one in
//! force, and ending either ends the window.

use faults::{FaultError, FaultReport, NodeName};
use plan::FaultSpec;
use rand_chacha::ChaCha8Rng;
use systems::BoxFuture;

use super::{Fault, NemesisContext, Setup, Started, disk, join, resolve, started};

pub struct FsyncError;

impl Fault for FsyncError {
    fn name(&self) -> &'static str {
        "fsync-error"
    }

    fn fields(&self) -> &'static [&'static str] {
        &["target", "for"]
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
            let report = ctx.nemesis.lock().await.fsync_error(&nodes, &disks);
            let label = format!("fsync-error {}", join(&nodes));
            started(ctx, report, Started { label, nodes })
        })
    }

    fn stop<'a>(
        &'a self,
        ctx: &'a NemesisContext,
        _started: &'a Started,
    ) -> BoxFuture<'a, Result<FaultReport, FaultError>> {
        Box::pin(async move { Ok(ctx.nemesis.lock().await.fsync_ok()) })
    }
}
