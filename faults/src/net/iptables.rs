//! Running the `iptables` binaries, safely.
//!
//! Owns [`Iptables`]: every invocation of `iptables` and `iptables-restore`
//! in the crate goes through it.
//!
//! Invariants:
//! - Immediately before each spawn, on the spawning thread and with no
//!   `.await` in between, [`crate::netns::ensure_isolated`] must succeed:
//!   no command that could change a firewall ever runs in the host's
//!   network namespace.
//! - Every call waits for the xtables lock (`-w`) for a bounded time, and
//!   the whole command is bounded by a timeout after which the child is
//!   killed and the call reports [`FaultError::IptablesTimeout`].
//! - A missing binary is [`FaultError::IptablesMissing`], with the install
//!   hint.
//! - A runner bound to a node's namespace ([`Iptables::in_namespace`])
//!   forks its child on the calling thread (which must pass the check
//!   above) and moves the child into that namespace with `setns` before
//!   exec, after checking that the namespace is private too. The crate's
//!   `ip` commands (per-node networks) go through the same code.

use std::{
    io::Write,
    os::unix::process::CommandExt as _,
    path::PathBuf,
    process::{Command as StdCommand, Stdio},
    time::{Duration, Instant},
};

use tokio::{io::AsyncWriteExt, process::Command};

use crate::{FaultError, netns, netns::NetNamespace};

/// Where the binaries are and how long to wait for them.
#[derive(Clone, Debug)]
pub struct IptablesConfig {
    /// `iptables` (or `iptables-legacy`, `iptables-nft`).
    pub iptables: PathBuf,
    /// The matching `iptables-restore`.
    pub iptables_restore: PathBuf,
    /// Seconds to wait for the xtables lock (`-w N`).
    pub lock_wait_secs: u32,
    /// Bound on one whole command.
    pub timeout: Duration,
}

impl Default for IptablesConfig {
    fn default() -> Self {
        Self {
            iptables: "iptables".into(),
            iptables_restore: "iptables-restore".into(),
            lock_wait_secs: 5,
            timeout: Duration::from_secs(10),
        }
    }
}

/// Runs `iptables` and `iptables-restore` inside the private namespace,
/// or inside one node's namespace ([`Iptables::in_namespace`]).
#[derive(Clone, Debug, Default)]
pub struct Iptables {
    config: IptablesConfig,
    netns: Option<NetNamespace>,
}

/// Which tool an invocation runs, for the "not installed" error.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Tool {
    Iptables,
    Ip,
}

/// One command line to run.
pub(crate) struct Invocation {
    pub(crate) tool: Tool,
    pub(crate) program: PathBuf,
    pub(crate) args: Vec<String>,
    pub(crate) stdin: Option<String>,
}

impl Invocation {
    fn describe(&self) -> String {
        std::iter::once(self.program.display().to_string())
            .chain(self.args.iter().cloned())
            .collect::<Vec<_>>()
            .join(" ")
    }

    fn missing(&self) -> FaultError {
        let program = self.program.display().to_string();
        match self.tool {
            Tool::Iptables => FaultError::IptablesMissing { program },
            Tool::Ip => FaultError::IpMissing { program },
        }
    }

    fn failed(&self, status: std::process::ExitStatus, stderr: &[u8]) -> FaultError {
        FaultError::Iptables {
            command: self.describe(),
            status: status.to_string(),
            stderr: String::from_utf8_lossy(stderr).trim().to_owned(),
        }
    }

    fn timed_out(&self, timeout: Duration) -> FaultError {
        FaultError::IptablesTimeout {
            command: self.describe(),
            millis: timeout.as_millis(),
        }
    }
}

impl Iptables {
    /// A runner with `config`.
    pub fn new(config: IptablesConfig) -> Self {
        Self {
            config,
            netns: None,
        }
    }

    /// The same runner, but every command runs inside `namespace` (which
    /// must be private: the commands refuse otherwise).
    pub fn in_namespace(&self, namespace: NetNamespace) -> Self {
        Self {
            config: self.config.clone(),
            netns: Some(namespace),
        }
    }

    /// The namespace the commands run in, if not the caller's.
    pub fn namespace(&self) -> Option<&NetNamespace> {
        self.netns.as_ref()
    }

    /// The configuration.
    pub fn config(&self) -> &IptablesConfig {
        &self.config
    }

    /// `iptables --version`: proves the binary exists (and names its
    /// variant, `nf_tables` or `legacy`).
    pub async fn version(&self) -> Result<String, FaultError> {
        let inv = Invocation {
            tool: Tool::Iptables,
            program: self.config.iptables.clone(),
            args: vec!["--version".into()],
            stdin: None,
        };
        self.run(inv).await
    }

    /// `iptables -w N <args>`; returns stdout.
    pub async fn iptables(&self, args: &[&str]) -> Result<String, FaultError> {
        self.run(self.iptables_invocation(args)).await
    }

    /// `iptables-restore -w N --noflush`, fed `input`. Chains declared in
    /// the input (`:NAME - [0:0]`) are flushed and refilled in one
    /// transaction; nothing else is touched.
    pub async fn restore(&self, input: &str) -> Result<(), FaultError> {
        self.run(self.restore_invocation(input)).await.map(drop)
    }

    /// [`Iptables::iptables`], synchronously.
    pub fn iptables_blocking(&self, args: &[&str]) -> Result<String, FaultError> {
        self.run_blocking(self.iptables_invocation(args))
    }

    /// [`Iptables::restore`], synchronously.
    pub fn restore_blocking(&self, input: &str) -> Result<(), FaultError> {
        self.run_blocking(self.restore_invocation(input)).map(drop)
    }

    fn iptables_invocation(&self, args: &[&str]) -> Invocation {
        let mut all = vec!["-w".to_owned(), self.config.lock_wait_secs.to_string()];
        all.extend(args.iter().map(|a| (*a).to_owned()));
        Invocation {
            tool: Tool::Iptables,
            program: self.config.iptables.clone(),
            args: all,
            stdin: None,
        }
    }

    fn restore_invocation(&self, input: &str) -> Invocation {
        Invocation {
            tool: Tool::Iptables,
            program: self.config.iptables_restore.clone(),
            args: vec![
                "-w".into(),
                self.config.lock_wait_secs.to_string(),
                "--noflush".into(),
            ],
            stdin: Some(input.to_owned()),
        }
    }

    /// The command for `inv`, after checking isolation; spawn it on this
    /// thread with no `.await` in between, so the check holds for the child.
    fn command(&self, inv: &Invocation) -> Result<StdCommand, FaultError> {
        self.ensure_isolated()?;
        let mut cmd = StdCommand::new(&inv.program);
        if let Some(ns) = self.netns.clone() {
            // SAFETY: setns is async-signal-safe and allocates nothing;
            // the closure owns a clone of the descriptor.
            unsafe { cmd.pre_exec(move || ns.enter_in_child()) };
        }
        cmd.args(&inv.args)
            .stdin(if inv.stdin.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        Ok(cmd)
    }

    pub(crate) async fn run(&self, inv: Invocation) -> Result<String, FaultError> {
        let mut child = Command::from(self.command(&inv)?)
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| spawn_error(&inv, e))?;
        tracing::debug!(command = %inv.describe(), "iptables");
        let work = async {
            if let (Some(input), Some(mut stdin)) = (&inv.stdin, child.stdin.take()) {
                stdin
                    .write_all(input.as_bytes())
                    .await
                    .map_err(|e| FaultError::io(format!("feeding `{}`", inv.describe()), e))?;
            }
            child
                .wait_with_output()
                .await
                .map_err(|e| FaultError::io(format!("waiting for `{}`", inv.describe()), e))
        };
        let output = tokio::time::timeout(self.config.timeout, work)
            .await
            .map_err(|_| inv.timed_out(self.config.timeout))??;
        if !output.status.success() {
            return Err(inv.failed(output.status, &output.stderr));
        }
        Ok(String::from_utf8_lossy(&output.stdout).into_owned())
    }

    pub(crate) fn run_blocking(&self, inv: Invocation) -> Result<String, FaultError> {
        let mut child = self
            .command(&inv)?
            .spawn()
            .map_err(|e| spawn_error(&inv, e))?;
        if let (Some(input), Some(mut stdin)) = (&inv.stdin, child.stdin.take()) {
            stdin
                .write_all(input.as_bytes())
                .map_err(|e| FaultError::io(format!("feeding `{}`", inv.describe()), e))?;
        }
        let deadline = Instant::now() + self.config.timeout;
        while child
            .try_wait()
            .map_err(|e| FaultError::io(format!("waiting for `{}`", inv.describe()), e))?
            .is_none()
        {
            if Instant::now() >= deadline {
                let _ = child.kill();
                let _ = child.wait();
                return Err(inv.timed_out(self.config.timeout));
            }
            std::thread::sleep(Duration::from_millis(2));
        }
        let output = child
            .wait_with_output()
            .map_err(|e| FaultError::io(format!("reading `{}`", inv.describe()), e))?;
        if !output.status.success() {
            return Err(inv.failed(output.status, &output.stderr));
        }
        Ok(String::from_utf8_lossy(&output.stdout).into_owned())
    }
}

impl Iptables {
    /// The calling thread, and the target namespace if there is one, are
    /// private.
    fn ensure_isolated(&self) -> Result<(), FaultError> {
        netns::ensure_isolated()?;
        match &self.netns {
            Some(ns) => ns.ensure_private(),
            None => Ok(()),
        }
    }
}

fn spawn_error(inv: &Invocation, e: std::io::Error) -> FaultError {
    if e.kind() == std::io::ErrorKind::NotFound {
        inv.missing()
    } else {
        FaultError::io(format!("running `{}`", inv.describe()), e)
    }
}
