//! The crate's error type.
//!
//! Owns [`FaultError`]: every way a fault can fail *in the harness* (as
//! opposed to the system under test misbehaving, which faults report as
//! outcomes and exits, not errors). Messages are lowercase, carry the node,
//! command or path involved, and say what to do where something can be
//! done.

use std::{io, path::PathBuf};

use crate::{NodeName, ShapeError, TargetError};

/// What a person can do when a private network namespace is out of reach.
pub const NAMESPACE_ADVICE: &str = "run as root, or enable unprivileged user namespaces \
(`sysctl -w kernel.unprivileged_userns_clone=1` and `sysctl -w user.max_user_namespaces=15000`, \
or in a container `--cap-add SYS_ADMIN` / `--privileged`), or run without network faults";

/// What a person can do when `iptables` is missing.
pub const IPTABLES_ADVICE: &str = "install it (`apt-get install -y iptables` on Debian and Ubuntu, \
`dnf install -y iptables-nft` on Fedora), or run without network faults";

/// What a person can do when `ip` is missing.
pub const IP_ADVICE: &str = "install iproute2 (`apt-get install -y iproute2`), or use the \
loopback network mode";

/// What a person can do when libfaketime is missing.
pub const FAKETIME_ADVICE: &str = "install it (`apt-get install -y faketime` on Debian and Ubuntu, \
which brings `libfaketime`; `dnf install -y libfaketime` on Fedora), or run without clock faults";

/// What a person can do when the kernel's NFQUEUE is out of reach.
pub const NFQUEUE_ADVICE: &str = "the kernel needs `nfnetlink_queue` (`modprobe nfnetlink_queue`) \
and the controller `CAP_NET_ADMIN` in the run's namespace; or run without slow-network faults";

/// Everything that can go wrong while injecting or cleaning up faults.
#[derive(Debug, thiserror::Error)]
pub enum FaultError {
    /// `unshare` refused us a private network namespace.
    #[error("cannot enter a private network namespace ({attempt}): {source}; {NAMESPACE_ADVICE}")]
    NamespaceDenied {
        attempt: &'static str,
        source: nix::Error,
    },
    /// Threads already exist, so unsharing would leave some of them behind
    /// in the host's namespace.
    #[error(
        "refusing to enter a private network namespace: the process already runs {threads} threads, \
         which would stay in the host's namespace; call `enter_private_namespace` first thing in \
         `main`, before any async runtime or thread starts"
    )]
    ThreadsRunning { threads: usize },
    /// A firewall change was attempted outside a private namespace.
    #[error(
        "refusing to change firewall rules: this thread is not in a private network namespace \
         ({detail}); call `faults::netns::enter_private_namespace` at the top of `main`"
    )]
    NotIsolated { detail: String },
    /// A mount was attempted outside a private mount namespace.
    #[error(
        "refusing to mount: this thread is not in a private mount namespace ({detail}); call \
         `faults::netns::enter_private_mount_namespace` at the top of `main`"
    )]
    MountNotIsolated { detail: String },
    /// The `iptables` binaries are not installed.
    #[error("`{program}` was not found; {IPTABLES_ADVICE}")]
    IptablesMissing { program: String },
    /// `ip` (iproute2) is not installed; per-node networks need it.
    #[error("`{program}` was not found; {IP_ADVICE}")]
    IpMissing { program: String },
    /// A rule change that spans several namespaces (per-node networks)
    /// failed part-way and could not be rolled back, or timed out: some
    /// rules may be in force.
    #[error("rule change left an unknown state: {detail}")]
    RulesIndeterminate { detail: String },
    /// `iptables` ran and failed.
    #[error("`{command}` failed ({status}): {stderr}")]
    Iptables {
        command: String,
        status: String,
        stderr: String,
    },
    /// `iptables` did not finish in time; its changes may or may not have
    /// been applied.
    #[error("`{command}` did not finish within {millis} ms and was killed")]
    IptablesTimeout { command: String, millis: u128 },
    /// A node process could not be started.
    #[error("cannot start node {node} (`{program}`): {source}")]
    Spawn {
        node: NodeName,
        program: PathBuf,
        source: io::Error,
    },
    /// A signal could not be delivered to a node's process group.
    #[error("cannot send {signal} to node {node} (process group {pgid}): {source}")]
    Signal {
        node: NodeName,
        signal: nix::sys::signal::Signal,
        pgid: i32,
        source: nix::Error,
    },
    /// A node's process did not die within the deadline after SIGKILL.
    #[error("node {node} (pid {pid}) did not exit within {millis} ms of SIGKILL")]
    Unkillable {
        node: NodeName,
        pid: u32,
        millis: u128,
    },
    /// A node was added twice.
    #[error("node {node} is already part of this cluster")]
    DuplicateNode { node: NodeName },
    /// A fault named a node the nemesis does not run.
    #[error("node {node} is not part of this cluster")]
    UnknownNode { node: NodeName },
    /// A loss probability outside `0.0..=1.0`.
    #[error("packet loss probability {probability} is outside 0.0..=1.0")]
    Probability { probability: f64 },
    /// A clock fault was asked for a program whose clock libfaketime cannot
    /// change: the plan must be refused, not run with clocks untouched.
    #[error(
        "cannot fake the clock of `{program}`: {reason}; libfaketime reaches only dynamically \
         linked programs that read the clock through libc, so run this system without clock faults"
    )]
    ClockUnreachable { program: PathBuf, reason: String },
    /// `libfaketime.so.1` is not installed.
    #[error("libfaketime.so.1 was not found (looked in {searched}); {FAKETIME_ADVICE}")]
    FaketimeMissing { searched: String },
    /// A program to run could not be found or read.
    #[error("cannot inspect program `{program}`: {detail}")]
    Program { program: PathBuf, detail: String },
    /// A fault's parameter is out of its bounds.
    #[error("invalid {fault} fault: {detail}")]
    Parameter { fault: &'static str, detail: String },
    /// A packet queue (NFQUEUE) could not be opened, bound or served.
    #[error("slow-network packet queue: {detail}; {NFQUEUE_ADVICE}")]
    PacketQueue { detail: String },
    /// Any other I/O failure, with what we were doing.
    #[error("i/o error while {context}: {source}")]
    Io { context: String, source: io::Error },
    /// A durable mount failed.
    #[error(transparent)]
    Disk(#[from] crate::disk::DiskError),
    /// A partition shape could not be cut.
    #[error(transparent)]
    Shape(#[from] ShapeError),
    /// A target could not be resolved.
    #[error(transparent)]
    Target(#[from] TargetError),
}

impl FaultError {
    /// An [`FaultError::Io`] with context.
    pub fn io(context: impl Into<String>, source: io::Error) -> Self {
        Self::Io {
            context: context.into(),
            source,
        }
    }
}
