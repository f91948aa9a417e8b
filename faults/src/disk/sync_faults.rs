//! Faults on the sync calls: `fsync-error` and `crash-at-fsync`.
//!
//! Owns [`SyncFaults`], consulted by every `fsync`, `fdatasync` and
//! directory `fsync` the mount receives *before* anything is synced, and
//! the public trigger types [`FsyncTrigger`] and [`CrashPoint`].
//!
//! Invariants:
//! - A sync that a fault stops makes nothing durable: the file's or
//!   directory's pending changes stay pending.
//! - A crash trigger fires at most once; its action runs before the sync's
//!   reply is sent, on the file system's request thread, so the process
//!   that called `fsync` cannot return from it before the action is done.
//! - Syncs are counted from mount, whether or not they succeed.

use std::{
    collections::BTreeMap,
    path::{Path, PathBuf},
};

/// When `crash_at_fsync` fires: the `nth` sync call (1 = the next one)
/// from now on, counting only calls on paths that match the filter.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FsyncTrigger {
    /// Which matching sync fires (1-based).
    pub nth: u64,
    /// Count only syncs of paths whose mount-relative path ends with this
    /// (as `log.redb`); `None` counts every file and directory sync.
    pub path_suffix: Option<PathBuf>,
}

impl FsyncTrigger {
    /// The `nth` sync of any file or directory.
    pub fn nth(nth: u64) -> Self {
        Self {
            nth: nth.max(1),
            path_suffix: None,
        }
    }

    /// Count only syncs of paths ending with `suffix`.
    pub fn of_path(mut self, suffix: impl Into<PathBuf>) -> Self {
        self.path_suffix = Some(suffix.into());
        self
    }

    fn matches(&self, path: &Path) -> bool {
        self.path_suffix
            .as_deref()
            .is_none_or(|suffix| path.ends_with(suffix))
    }
}

/// The sync call at which a crash trigger fired, handed to its action.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CrashPoint {
    /// The synced path, relative to the mount point (empty: the root).
    pub path: PathBuf,
    /// The process id (thread id, as FUSE reports it) that called sync.
    pub pid: u32,
    /// Whether it was `fdatasync` (or a directory `fsync` with that flag).
    pub datasync: bool,
    /// The trigger's `nth`.
    pub nth: u64,
    /// Syncs the mount had received before this one, since mount.
    pub syncs_before: u64,
}

impl CrashPoint {
    /// SIGKILL the process group of the process that called the sync, as
    /// a crash action must, unless that group is the caller's own (the
    /// controller never kills itself). The process is blocked in this
    /// very sync call, so its id cannot have been reused.
    pub fn kill_caller(&self) -> nix::Result<()> {
        let group = nix::unistd::getpgid(Some(nix::unistd::Pid::from_raw(self.pid as i32)))?;
        if group == nix::unistd::getpgrp() {
            return Err(nix::errno::Errno::EPERM);
        }
        nix::sys::signal::killpg(group, nix::sys::signal::Signal::SIGKILL)
    }
}

/// What runs at a crash point: it must stop the calling process (SIGKILL
/// its process group) and return *without waiting for it to exit*: the
/// process cannot exit while its `fsync` is unanswered.
pub type CrashAction = Box<dyn FnOnce(&CrashPoint) + Send>;

/// What a sync call must do.
pub enum SyncVerdict {
    /// Sync for real.
    Proceed,
    /// Fail with EIO (an `fsync-error` window).
    Fail,
    /// Run the action, then fail without syncing.
    Crash(CrashAction, CrashPoint),
}

struct Armed {
    trigger: FsyncTrigger,
    seen: u64,
    action: CrashAction,
}

/// The sync faults of one mount.
#[derive(Default)]
pub struct SyncFaults {
    failing: bool,
    armed: Option<Armed>,
    syncs: u64,
    failed: u64,
    by_path: BTreeMap<PathBuf, u64>,
}

impl SyncFaults {
    /// Make syncs fail with EIO (`on`) or succeed again.
    pub fn set_failing(&mut self, on: bool) {
        self.failing = on;
    }

    /// Arm a crash trigger, replacing any armed one (returned as `true`).
    pub fn arm(&mut self, trigger: FsyncTrigger, action: CrashAction) -> bool {
        self.armed
            .replace(Armed {
                trigger,
                seen: 0,
                action,
            })
            .is_some()
    }

    /// Disarm the crash trigger; `true` if one was armed.
    pub fn disarm(&mut self) -> bool {
        self.armed.take().is_some()
    }

    /// Whether a crash trigger is armed.
    pub fn armed(&self) -> bool {
        self.armed.is_some()
    }

    /// Sync calls received since mount.
    pub fn syncs(&self) -> u64 {
        self.syncs
    }

    /// Sync calls failed by `fsync-error` since mount.
    pub fn failed(&self) -> u64 {
        self.failed
    }

    /// Sync calls since mount, by mount-relative path (to choose a
    /// trigger's `nth` from a run without one).
    pub fn by_path(&self) -> &BTreeMap<PathBuf, u64> {
        &self.by_path
    }

    /// Decide the fate of a sync of `path` by process `pid`. A crash
    /// trigger takes precedence over an error window.
    pub fn on_sync(&mut self, path: &Path, pid: u32, datasync: bool) -> SyncVerdict {
        let syncs_before = self.syncs;
        self.syncs += 1;
        *self.by_path.entry(path.to_owned()).or_default() += 1;
        if let Some(armed) = &mut self.armed
            && armed.trigger.matches(path)
        {
            armed.seen += 1;
            if armed.seen >= armed.trigger.nth {
                let armed = self.armed.take().expect("checked above");
                let point = CrashPoint {
                    path: path.to_owned(),
                    pid,
                    datasync,
                    nth: armed.trigger.nth,
                    syncs_before,
                };
                return SyncVerdict::Crash(armed.action, point);
            }
        }
        if self.failing {
            self.failed += 1;
            return SyncVerdict::Fail;
        }
        SyncVerdict::Proceed
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use super::*;

    #[test]
    fn the_nth_matching_sync_crashes_once() {
        let mut faults = SyncFaults::default();
        let fired = Arc::new(Mutex::new(None));
        let sink = fired.clone();
        faults.arm(
            FsyncTrigger::nth(2).of_path("log.redb"),
            Box::new(move |p| *sink.lock().unwrap() = Some(p.clone())),
        );
        let verdict = |f: &mut SyncFaults, path: &str| match f.on_sync(Path::new(path), 7, true) {
            SyncVerdict::Proceed => "proceed",
            SyncVerdict::Fail => "fail",
            SyncVerdict::Crash(action, point) => {
                action(&point);
                "crash"
            }
        };
        assert_eq!(verdict(&mut faults, "state.redb"), "proceed");
        assert_eq!(verdict(&mut faults, "log.redb"), "proceed");
        assert_eq!(verdict(&mut faults, "state.redb"), "proceed");
        assert_eq!(verdict(&mut faults, "log.redb"), "crash");
        assert_eq!(verdict(&mut faults, "log.redb"), "proceed");
        let point = fired.lock().unwrap().clone().expect("the action ran");
        assert_eq!(point.path, Path::new("log.redb"));
        assert_eq!((point.pid, point.nth, point.syncs_before), (7, 2, 3));
        assert_eq!(faults.syncs(), 5);
        assert_eq!(faults.by_path()[Path::new("log.redb")], 3);
    }

    #[test]
    fn an_error_window_fails_every_sync_until_closed() {
        let mut faults = SyncFaults::default();
        faults.set_failing(true);
        assert!(matches!(
            faults.on_sync(Path::new("a"), 1, false),
            SyncVerdict::Fail
        ));
        assert!(matches!(
            faults.on_sync(Path::new(""), 1, false),
            SyncVerdict::Fail
        ));
        faults.set_failing(false);
        assert!(matches!(
            faults.on_sync(Path::new("a"), 1, false),
            SyncVerdict::Proceed
        ));
        assert_eq!((faults.syncs(), faults.failed()), (3, 2));
    }
}
