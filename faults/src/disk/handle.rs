//! [`DurableFs`]: one durable mount, served by a FUSE session on a
//! background thread of the controller, and the verbs on it.
//!
//! Invariants:
//! - A mount exists only inside a private mount namespace (checked at
//!   every mount), so it is invisible to the host and vanishes with the
//!   run's last process even if no destructor runs.
//! - `mount` returns only once the kernel's handshake is done: the mount
//!   point serves requests from then on.
//! - `unmount` (and `Drop`) is a clean shutdown: whatever was written is
//!   kept, as the page cache would reach the disk on a clean shutdown.

use std::{
    collections::BTreeMap,
    fs, io,
    path::{Path, PathBuf},
    sync::Arc,
};

use fuser::{Config, MountOption, SessionACL};

use super::{
    DiskError,
    passthrough::PassThrough,
    state::{PowerLossReport, Shared, State},
    sync_faults::{CrashPoint, FsyncTrigger},
};
use crate::netns;

/// The name the mounts show in `/proc/*/mountinfo`: their source, and
/// their FUSE subtype where the mount helper records one.
pub const FS_TYPE: &str = "durablefs";

/// Counters of a mount, for reports.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DiskStats {
    /// Sync calls (`fsync`, `fdatasync`, directory `fsync`) since mount.
    pub syncs: u64,
    /// The same, by mount-relative path (the root is the empty path).
    pub syncs_by_path: BTreeMap<PathBuf, u64>,
    /// Of those, failed by `fsync-error`.
    pub failed_syncs: u64,
    /// Files with writes not yet synced.
    pub pending_files: usize,
    /// Bytes written to them since their last sync.
    pub pending_bytes: u64,
    /// Directory operations not yet made durable by a directory sync.
    pub pending_names: usize,
    /// Whether a crash trigger is armed.
    pub crash_armed: bool,
}

/// A mounted durable file system: a pass-through view of `backing` at
/// `mountpoint` that remembers what has not been synced.
pub struct DurableFs {
    shared: Arc<Shared>,
    session: Option<fuser::BackgroundSession>,
    backing: PathBuf,
    mountpoint: PathBuf,
}

impl DurableFs {
    /// Mount `backing` (created if missing) at `mountpoint` (created if
    /// missing; must be empty). Everything already in `backing` counts as
    /// durable.
    ///
    /// Refuses unless the process is in a private mount namespace (see
    /// [`netns::enter_private_mount_namespace`]).
    pub fn mount(
        backing: impl AsRef<Path>,
        mountpoint: impl AsRef<Path>,
    ) -> Result<Self, DiskError> {
        let (backing, mountpoint) = prepare(backing.as_ref(), mountpoint.as_ref())?;
        netns::ensure_mount_isolated().map_err(|e| DiskError::NotIsolated {
            mountpoint: mountpoint.clone(),
            reason: e.to_string(),
        })?;
        let state = State::new(&backing)
            .map_err(|e| DiskError::io(format!("preparing {}", backing.display()), e))?;
        let shared = Shared::new(state);
        let fs = PassThrough {
            shared: shared.clone(),
        };
        let mut config = Config::default();
        config.mount_options = vec![
            MountOption::FSName(FS_TYPE.into()),
            MountOption::Subtype(FS_TYPE.into()),
            MountOption::NoDev,
            MountOption::NoSuid,
        ];
        config.acl = SessionACL::Owner;
        config.n_threads = Some(1);
        let session =
            fuser::spawn_mount(fs, &mountpoint, &config).map_err(|source| DiskError::Mount {
                mountpoint: mountpoint.clone(),
                source,
            })?;
        tracing::info!(backing = %backing.display(), mountpoint = %mountpoint.display(), "durable mount");
        Ok(Self {
            shared,
            session: Some(session),
            backing,
            mountpoint,
        })
    }

    /// Where the mount is (the node's data directory).
    pub fn mountpoint(&self) -> &Path {
        &self.mountpoint
    }

    /// The backing directory.
    pub fn backing(&self) -> &Path {
        &self.backing
    }

    /// Lose power: every file goes back to its content at its last sync,
    /// and every directory operation not made durable by a directory sync
    /// is undone, newest first. Unsynced writes vanish whole (no torn
    /// prefix survives).
    ///
    /// # Correctness
    /// Kill every process using the mount first (and restart them after):
    /// the call does not stop them, and a process that keeps running would
    /// see its open files answer `EBADF`.
    pub fn power_loss(&self) -> Result<PowerLossReport, DiskError> {
        let mut st = self.shared.state();
        let fail = |source| DiskError::PowerLoss {
            mountpoint: self.mountpoint.clone(),
            source,
        };
        let names = st.names.roll_back().map_err(fail)?;
        let data = st.data.roll_back().map_err(fail)?;
        st.inodes.reset();
        st.files.clear();
        st.dirs.clear();
        let report = PowerLossReport::from((data, names));
        tracing::info!(mountpoint = %self.mountpoint.display(), ?report, "power loss");
        Ok(report)
    }

    /// Open (`true`) or close an `fsync-error` window: while open, every
    /// `fsync`, `fdatasync` and directory `fsync` fails with `EIO` and
    /// makes nothing durable (the writes stay pending: a later successful
    /// sync makes them durable; Linux's dropping of dirty pages after a
    /// writeback error is not modelled).
    pub fn set_fsync_error(&self, on: bool) {
        self.shared.faults().set_failing(on);
    }

    /// Arm `crash-at-fsync`: at the sync call that `trigger` names, run
    /// `action` *before* the call returns, then fail the call without
    /// syncing. The action must SIGKILL the caller's process group and
    /// return without waiting for it to exit (it cannot exit before the
    /// call is answered). A typical nemesis then reaps the node, calls
    /// [`DurableFs::power_loss`] and restarts it: a crash exactly there.
    /// Replaces an armed trigger (returns `true` then).
    pub fn crash_at_fsync(
        &self,
        trigger: FsyncTrigger,
        action: impl FnOnce(&CrashPoint) + Send + 'static,
    ) -> bool {
        self.shared.faults().arm(trigger, Box::new(action))
    }

    /// Disarm `crash-at-fsync`; `true` if a trigger was armed.
    pub fn disarm_crash(&self) -> bool {
        self.shared.faults().disarm()
    }

    /// The mount's counters.
    pub fn stats(&self) -> DiskStats {
        let (syncs, syncs_by_path, failed_syncs, crash_armed) = {
            let f = self.shared.faults();
            (f.syncs(), f.by_path().clone(), f.failed(), f.armed())
        };
        let st = self.shared.state();
        DiskStats {
            syncs,
            syncs_by_path,
            failed_syncs,
            pending_files: st.data.files(),
            pending_bytes: st.data.bytes(),
            pending_names: st.names.len(),
            crash_armed,
        }
    }

    /// Unmount cleanly: everything written is kept. Fails if a process
    /// still uses the mount.
    pub fn unmount(mut self) -> Result<(), DiskError> {
        self.shutdown()
    }

    fn shutdown(&mut self) -> Result<(), DiskError> {
        let Some(session) = self.session.take() else {
            return Ok(());
        };
        {
            let mut st = self.shared.state();
            st.data.clear();
            if let Err(e) = st.names.commit_all() {
                tracing::warn!(error = %e, "cannot empty the graveyard of a durable mount");
            }
        }
        session
            .umount_and_join()
            .map_err(|source| DiskError::Unmount {
                mountpoint: self.mountpoint.clone(),
                source,
            })
    }
}

impl Drop for DurableFs {
    fn drop(&mut self) {
        if let Err(e) = self.shutdown() {
            // Busy: detach it; the kernel ends the session when the last
            // user goes, and the namespace ends the mount at the latest.
            tracing::warn!(error = %e, "detaching a busy durable mount");
            if let Err(e) = nix::mount::umount2(&self.mountpoint, nix::mount::MntFlags::MNT_DETACH)
            {
                tracing::warn!(error = %e, mountpoint = %self.mountpoint.display(), "cannot detach");
            }
        }
    }
}

/// Create both directories, check them, and make them absolute.
fn prepare(backing: &Path, mountpoint: &Path) -> Result<(PathBuf, PathBuf), DiskError> {
    let create = |dir: &Path| {
        fs::create_dir_all(dir)
            .and_then(|()| dir.canonicalize())
            .map_err(|e| DiskError::io(format!("creating {}", dir.display()), e))
    };
    let (backing, mountpoint) = (create(backing)?, create(mountpoint)?);
    if backing.starts_with(&mountpoint) || mountpoint.starts_with(&backing) {
        return Err(DiskError::Overlap {
            backing,
            mountpoint,
        });
    }
    let mut entries = fs::read_dir(&mountpoint)
        .map_err(|e| DiskError::io(format!("listing {}", mountpoint.display()), e))?;
    if entries.next().is_some() {
        return Err(DiskError::MountpointNotEmpty { mountpoint });
    }
    Ok((backing, mountpoint))
}

/// Whether `mountinfo` (the text of a `/proc/<pid>/mountinfo`) shows a
/// durable mount at `mountpoint`, or anywhere if `None`: a FUSE mount
/// whose type is `fuse.durablefs` or whose source is `durablefs` (a mount
/// made by the `mount` syscall directly shows type `fuse`).
pub fn mounted_in(mountinfo: &str, mountpoint: Option<&Path>) -> bool {
    let subtype = format!("fuse.{FS_TYPE}");
    mountinfo.lines().any(|line| {
        // "<id> <parent> <dev> <root> <mount point> <options> ... - <type> <source> <options>"
        let Some((left, right)) = line.split_once(" - ") else {
            return false;
        };
        let here = left.split(' ').nth(4).map(Path::new);
        let mut fields = right.split(' ');
        let (fs_type, source) = (fields.next(), fields.next());
        let ours = fs_type == Some(subtype.as_str())
            || (fs_type.is_some_and(|t| t.starts_with("fuse")) && source == Some(FS_TYPE));
        ours && mountpoint.is_none_or(|m| here == Some(m))
    })
}

/// [`mounted_in`] for the calling process.
pub fn mounted_here(mountpoint: Option<&Path>) -> io::Result<bool> {
    Ok(mounted_in(
        &fs::read_to_string("/proc/self/mountinfo")?,
        mountpoint,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durable_mounts_are_found_in_mountinfo() {
        let info = "46 45 254:0 / / rw,relatime - ext4 /dev/vda rw\n\
                    66 46 0:40 / /tmp/x/n1 rw,nosuid,nodev,relatime - fuse durablefs rw,user_id=0\n\
                    67 46 0:41 / /tmp/x/n2 rw - fuse.durablefs durablefs rw\n\
                    68 46 0:42 / /tmp/x/n3 rw - fuse.sshfs host:/ rw\n";
        assert!(mounted_in(info, None));
        assert!(mounted_in(info, Some(Path::new("/tmp/x/n1"))));
        assert!(mounted_in(info, Some(Path::new("/tmp/x/n2"))));
        assert!(!mounted_in(info, Some(Path::new("/tmp/x/n3"))));
        assert!(!mounted_in(info, Some(Path::new("/"))));
        assert!(!mounted_in("46 45 254:0 / / rw - ext4 /dev/vda rw\n", None));
    }
}
