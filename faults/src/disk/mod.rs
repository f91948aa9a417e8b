//! Power loss and failing disks: a FUSE pass-through file system that
//! remembers what has not been synced, in the spirit of Jepsen's lazyfs.
//!
//! A `kill -9` keeps everything a process wrote, synced or not, because
//! the kernel's page cache survives it. A power loss does not. A
//! [`DurableFs`] mounts a backing directory (`nodes/n1.backing`) at the
//! node's data directory (`nodes/n1`); the node reads and writes through
//! it, the backing tree always holds what the node *sees*, and the mount
//! keeps the undo information to put it back to what a disk would *hold*
//! after losing power.
//!
//! # What survives a power loss
//!
//! | the node did | after [`DurableFs::power_loss`] |
//! |---|---|
//! | `write`, no sync | gone: the file's bytes and length are those of its last `fsync`/`fdatasync` (no torn prefix survives) |
//! | `write`, then `fsync` or `fdatasync` of the file (any descriptor) | kept |
//! | `O_SYNC`/`O_DSYNC` write | kept (each write is a sync, and sync faults apply to it) |
//! | create, mkdir, unlink, rmdir or rename, no directory sync | undone, newest first: a created file disappears (even if the file itself was synced), an unlinked one comes back with its synced content, a rename is reversed and the replaced target restored |
//! | the same, then `fsync` of a directory it touched | kept, with every directory operation before it (the name journal is ordered, as a journaling file system's metadata log is) |
//! | `chmod`, `chown`, `utimes` | kept (metadata is not modelled) |
//!
//! At mount, everything in the backing directory counts as synced. A clean
//! [`DurableFs::unmount`] (or drop) keeps everything, as a clean shutdown
//! would. Only regular files and directories can be created through the
//! mount; symlinks, hard links and device nodes answer `EPERM`.
//!
//! # Faults
//!
//! | verb | what it does |
//! |---|---|
//! | [`DurableFs::power_loss`] | roll back as above; the caller kills the nodes before and restarts them after |
//! | [`DurableFs::set_fsync_error`] | while on, every sync call fails with `EIO` and makes nothing durable |
//! | [`DurableFs::crash_at_fsync`] | at the `n`th sync call (optionally of one file), run a kill action before the call returns, and fail it unsynced |
//!
//! [`Disks`] holds the mounts of a cluster by node; the
//! [`crate::Nemesis`]'s disk verbs (`power_loss`, `crashed_at_fsync`,
//! `fsync_error`, `fsync_ok`) kill and restart the nodes around these and
//! record the events ([`DiskChange`] says what each disk did).
//!
//! # Isolation and cleanup
//!
//! Mounts are refused outside a private mount namespace
//! ([`crate::netns::enter_private_mount_namespace`], called at the top of
//! `main` like the network one). The FUSE session is a thread of the
//! controller, so a SIGKILLed controller takes the file system server with
//! it; its nodes die of `PR_SET_PDEATHSIG`, and the mount, which the host
//! never saw, dies with the namespace's last process.
//!
//! # Caching
//!
//! The kernel caches no entries or attributes (zero TTLs) and drops a
//! file's cached pages at every `open`, so that a node restarted after a
//! power loss reads the rolled-back bytes, never stale cached ones. Writes
//! go through to the backing file at once (no write-back cache), which is
//! what lets the mount see every write in order.

mod change;
mod error;
mod files;
mod handle;
mod inodes;
mod journal;
mod names;
mod passthrough;
mod pending;
mod state;
mod sync_faults;

pub use change::{DiskChange, Disks, SyncSite};
pub use error::{DiskError, FUSE_ADVICE};
pub use handle::{DiskStats, DurableFs, FS_TYPE, mounted_here, mounted_in};
pub use journal::GRAVEYARD;
pub use pending::DataRollback;
pub use state::PowerLossReport;
pub use sync_faults::{CrashPoint, FsyncTrigger};
