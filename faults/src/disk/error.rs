//! Errors of the durable file system.
//!
//! Owns [`DiskError`]: everything that can go wrong mounting, faulting or
//! unmounting a [`super::DurableFs`]. Messages are lowercase, name the
//! path involved and say what to do where something can be done.

use std::{io, path::PathBuf};

/// What a person can do when FUSE is out of reach.
pub const FUSE_ADVICE: &str = "durable mounts need /dev/fuse and root (in a container: \
`--device /dev/fuse --cap-add SYS_ADMIN`), or run without disk faults";

/// Everything that can go wrong with a durable mount.
#[derive(Debug, thiserror::Error)]
pub enum DiskError {
    /// The process is not in a private mount namespace: the mount would
    /// be visible to (and could outlive the run on) the host.
    #[error(
        "refusing to mount at {mountpoint}: {reason}; call \
         `faults::netns::enter_private_mount_namespace` first thing in `main`"
    )]
    NotIsolated { mountpoint: PathBuf, reason: String },
    /// The kernel refused the FUSE mount.
    #[error("cannot mount a durable file system at {mountpoint}: {source}; {FUSE_ADVICE}")]
    Mount {
        mountpoint: PathBuf,
        source: io::Error,
    },
    /// Mounting over files would hide them, and a node would not see its
    /// data.
    #[error(
        "mount point {mountpoint} is not empty; keep the node's data in the backing \
         directory instead"
    )]
    MountpointNotEmpty { mountpoint: PathBuf },
    /// The backing tree and the mount point contain each other.
    #[error("backing directory {backing} and mount point {mountpoint} must not contain each other")]
    Overlap {
        backing: PathBuf,
        mountpoint: PathBuf,
    },
    /// The mount is busy (a process still has files open in it).
    #[error("cannot unmount {mountpoint}: {source}; kill the nodes using it first")]
    Unmount {
        mountpoint: PathBuf,
        source: io::Error,
    },
    /// A rollback failed part-way: the backing tree is neither the old nor
    /// the rolled-back state.
    #[error(
        "power loss on {mountpoint} failed part-way, its files are in an unknown state: {source}"
    )]
    PowerLoss {
        mountpoint: PathBuf,
        source: io::Error,
    },
    /// Any other I/O failure, with what we were doing.
    #[error("i/o error while {context}: {source}")]
    Io { context: String, source: io::Error },
}

impl DiskError {
    /// A [`DiskError::Io`] with context.
    pub fn io(context: impl Into<String>, source: io::Error) -> Self {
        Self::Io {
            context: context.into(),
            source,
        }
    }
}
