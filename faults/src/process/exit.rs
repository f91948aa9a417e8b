//! How node processes end, and what the supervisor reports about it.
//!
//! Owns [`ExitInfo`] (pid, code or signal, and whether the harness caused
//! it), [`UnexpectedExit`] (an exit the harness did not cause: a finding
//! about the system under test) and [`NodeState`].

use std::{fmt, os::unix::process::ExitStatusExt, process::ExitStatus};

use nix::sys::signal::Signal;
use serde::{Deserialize, Serialize};

use crate::NodeName;

/// How a node's process ended.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExitInfo {
    /// The pid it had.
    pub pid: u32,
    /// Its exit code, if it exited.
    pub code: Option<i32>,
    /// The signal that ended it, if one did.
    pub signal: Option<i32>,
    /// Did the harness end it (kill, restart, cleanup)?
    pub expected: bool,
}

impl ExitInfo {
    pub(super) fn new(pid: u32, status: Option<ExitStatus>, expected: bool) -> Self {
        Self {
            pid,
            code: status.and_then(|s| s.code()),
            signal: status.and_then(|s| s.signal()),
            expected,
        }
    }
}

impl fmt::Display for ExitInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.code, self.signal) {
            (Some(code), _) => write!(f, "exit code {code}"),
            (None, Some(sig)) => match Signal::try_from(sig) {
                Ok(name) => write!(f, "killed by signal {sig} ({name})"),
                Err(_) => write!(f, "killed by signal {sig}"),
            },
            (None, None) => f.write_str("unknown exit status (reaped elsewhere)"),
        }
    }
}

/// A node process that ended without the harness causing it: a finding.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnexpectedExit {
    /// Which node.
    pub node: NodeName,
    /// How it ended.
    pub exit: ExitInfo,
}

impl fmt::Display for UnexpectedExit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "node {} (pid {}) exited on its own: {}",
            self.node, self.exit.pid, self.exit
        )
    }
}

/// What a node's process is doing, as of the last check.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NodeState {
    /// Running.
    Running { pid: u32 },
    /// Stopped by SIGSTOP.
    Paused { pid: u32 },
    /// Not running; how it last ended, if it ever ran.
    Exited(Option<ExitInfo>),
}
