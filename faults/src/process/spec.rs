//! What to run for a node, and its log file.
//!
//! Owns [`NodeSpec`] (program, arguments, environment, working directory,
//! log path, and the network namespace to run in, if not the controller's)
//! and the marker lines the supervisor appends to a node's log.
//!
//! Invariants: a spec is immutable once a node runs, so a restart runs
//! exactly the same command with the same data directory; the log is only
//! ever appended to, and every start, kill and exit is marked in it, so one
//! file tells a node's whole life.

use std::{
    collections::BTreeMap,
    ffi::OsString,
    fs::{File, OpenOptions},
    io::Write,
    path::{Path, PathBuf},
    time::{SystemTime, UNIX_EPOCH},
};

use crate::{FaultError, NodeName, netns::NetNamespace};

/// How to run one node.
#[derive(Clone, Debug)]
pub struct NodeSpec {
    /// The node's name, used in logs, events and errors.
    pub name: NodeName,
    /// The program to execute (looked up in `PATH` if relative).
    pub program: PathBuf,
    /// Its arguments.
    pub args: Vec<OsString>,
    /// Variables set on top of the inherited environment.
    pub env: BTreeMap<OsString, OsString>,
    /// The working directory (by default the controller's).
    pub cwd: Option<PathBuf>,
    /// The file that receives stdout and stderr, appended to across
    /// restarts (created with its parent directories).
    pub log: PathBuf,
    /// The network namespace the node runs in; `None` runs it in the
    /// controller's (the loopback mode). Set by
    /// [`crate::net::namespaces::NodeNetworks::place`]: the child joins it
    /// with `setns` between fork and exec, on every start.
    pub netns: Option<NetNamespace>,
}

impl NodeSpec {
    /// A spec that runs `program` without arguments, logging to `log`.
    pub fn new(name: NodeName, program: impl Into<PathBuf>, log: impl Into<PathBuf>) -> Self {
        Self {
            name,
            program: program.into(),
            args: Vec::new(),
            env: BTreeMap::new(),
            cwd: None,
            log: log.into(),
            netns: None,
        }
    }

    /// Add an argument.
    pub fn arg(mut self, arg: impl Into<OsString>) -> Self {
        self.args.push(arg.into());
        self
    }

    /// Add arguments.
    pub fn args<I: IntoIterator<Item = S>, S: Into<OsString>>(mut self, args: I) -> Self {
        self.args.extend(args.into_iter().map(Into::into));
        self
    }

    /// Set an environment variable.
    pub fn env(mut self, key: impl Into<OsString>, value: impl Into<OsString>) -> Self {
        self.env.insert(key.into(), value.into());
        self
    }

    /// Set the working directory.
    pub fn cwd(mut self, dir: impl Into<PathBuf>) -> Self {
        self.cwd = Some(dir.into());
        self
    }

    /// Run the node inside `namespace` (sets the `netns` field).
    pub fn in_namespace(mut self, namespace: NetNamespace) -> Self {
        self.netns = Some(namespace);
        self
    }

    /// The command line, for logs.
    pub fn command_line(&self) -> String {
        std::iter::once(self.program.as_os_str())
            .chain(self.args.iter().map(|a| a.as_os_str()))
            .map(|s| s.to_string_lossy().into_owned())
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// Open `path` for appending, creating it and its directory.
pub(crate) fn open_log(path: &Path) -> Result<File, FaultError> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)
            .map_err(|e| FaultError::io(format!("creating log directory {}", dir.display()), e))?;
    }
    OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(|e| FaultError::io(format!("opening log {}", path.display()), e))
}

/// Append a marker line, `---- faults <unix time>: <what> ----`, to the log.
/// Best effort: a marker that cannot be written must not stop a fault or a
/// cleanup.
pub(crate) fn mark(path: &Path, what: &str) {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    let line = format!(
        "---- faults {}.{:03}: {what} ----\n",
        now.as_secs(),
        now.subsec_millis()
    );
    if let Err(e) = open_log(path).and_then(|mut f| {
        f.write_all(line.as_bytes())
            .map_err(|e| FaultError::io(format!("writing log {}", path.display()), e))
    }) {
        tracing::warn!(error = %e, "cannot mark a node log");
    }
}
