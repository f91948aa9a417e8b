//! [`NodeProcess`]: one node's process, supervised.
//!
//! Owns the node's process group, its lifecycle (start, kill, pause,
//! resume, restart) and the detection of exits the harness did not cause.
//!
//! Invariants:
//! - The node runs in its own process group (pgid = its pid), with
//!   `PR_SET_PDEATHSIG = SIGKILL`, forked from the long-lived spawner
//!   thread, stdin from `/dev/null`, stdout and stderr appended to its log.
//! - The group is signalled only while its leader is unreaped (alive or a
//!   zombie). A zombie still holds its pid, and so the pgid, so a signal can
//!   never reach a process that reused the number. Exits are detected with
//!   `waitid(WNOWAIT)`, which leaves the zombie in place until the rest of
//!   the group has been SIGKILLed, and only then reaps it.
//! - Every verb is idempotent and safe on a process that died on its own:
//!   it then reports [`Outcome::Skipped`] with the reason.
//! - An exit the harness did not cause is kept until
//!   [`NodeProcess::take_unexpected_exit`] hands it out, once: it is a
//!   finding about the system under test.
//! - Dropping a `NodeProcess` resumes and SIGKILLs its group and reaps the
//!   leader, synchronously.

use std::{
    fmt,
    process::{ExitStatus, Stdio},
    time::{Duration, Instant},
};

use nix::{
    errno::Errno,
    sys::{
        signal::{Signal, killpg},
        wait::{Id, WaitPidFlag, WaitStatus, waitid},
    },
    unistd::Pid,
};
use tokio::process::{Child, Command};

use super::{
    exit::{ExitInfo, NodeState, UnexpectedExit},
    spawner::on_spawner_thread,
    spec::{NodeSpec, mark, open_log},
};
use crate::{FaultError, NodeName, Outcome};

/// How long a SIGKILLed process may take to be reaped.
pub const KILL_DEADLINE: Duration = Duration::from_secs(5);

struct Live {
    child: Child,
    pid: Pid,
    paused: bool,
    /// The harness sent SIGKILL: the exit that follows is expected.
    killed: bool,
}

/// One supervised node process. See the module docs for its invariants.
pub struct NodeProcess {
    spec: NodeSpec,
    starts: u32,
    live: Option<Live>,
    last_exit: Option<ExitInfo>,
    unreported: Option<UnexpectedExit>,
}

impl fmt::Debug for NodeProcess {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NodeProcess")
            .field("name", &self.spec.name)
            .field("pid", &self.pid())
            .field("starts", &self.starts)
            .field("last_exit", &self.last_exit)
            .finish()
    }
}

impl NodeProcess {
    /// Start a node. Must be called inside a tokio runtime.
    pub async fn spawn(spec: NodeSpec) -> Result<Self, FaultError> {
        let mut node = Self {
            spec,
            starts: 0,
            live: None,
            last_exit: None,
            unreported: None,
        };
        node.start_now().await?;
        Ok(node)
    }

    /// The node's name.
    pub fn name(&self) -> &NodeName {
        &self.spec.name
    }

    /// What the node runs.
    pub fn spec(&self) -> &NodeSpec {
        &self.spec
    }

    /// How many times the process was started.
    pub fn starts(&self) -> u32 {
        self.starts
    }

    /// The pid (which is also the process group id) of the current process,
    /// as of the last check; `None` once it is known to have ended.
    pub fn pid(&self) -> Option<u32> {
        self.live.as_ref().map(|l| l.pid.as_raw() as u32)
    }

    /// How the process last ended, if it has.
    pub fn last_exit(&self) -> Option<&ExitInfo> {
        self.last_exit.as_ref()
    }

    /// Check the process and say what it is doing.
    pub fn state(&mut self) -> NodeState {
        self.poll();
        match &self.live {
            Some(l) if l.paused => NodeState::Paused {
                pid: l.pid.as_raw() as u32,
            },
            Some(l) => NodeState::Running {
                pid: l.pid.as_raw() as u32,
            },
            None => NodeState::Exited(self.last_exit.clone()),
        }
    }

    /// Is the process alive (running or paused)?
    pub fn is_running(&mut self) -> bool {
        self.poll();
        self.live.is_some()
    }

    /// Is the process alive and paused?
    pub fn is_paused(&mut self) -> bool {
        self.poll();
        self.live.as_ref().is_some_and(|l| l.paused)
    }

    /// The exit the harness did not cause, if one happened since the last
    /// call. Each such exit is returned once.
    pub fn take_unexpected_exit(&mut self) -> Option<UnexpectedExit> {
        self.poll();
        self.unreported.take()
    }

    /// Wait until the process ends, checking every 20 ms. Cancel-safe.
    pub async fn exited(&mut self) -> Option<ExitInfo> {
        while self.is_running() {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        self.last_exit.clone()
    }

    /// SIGKILL the process group and reap the leader.
    pub async fn kill(&mut self) -> Result<Outcome, FaultError> {
        self.poll();
        let Some(live) = self.live.as_mut() else {
            return Ok(self.not_running());
        };
        live.killed = true;
        if let Err(e) = signal_group(&self.spec.name, live, Signal::SIGKILL) {
            live.killed = false;
            return Err(e);
        }
        match tokio::time::timeout(KILL_DEADLINE, live.child.wait()).await {
            Ok(Ok(status)) => {
                self.record_exit(Some(status));
                Ok(Outcome::Installed)
            }
            Ok(Err(e)) => Err(FaultError::io(
                format!("reaping node {}", self.spec.name),
                e,
            )),
            Err(_) => Ok(Outcome::Indeterminate(format!(
                "pid {} was sent SIGKILL but not reaped within {} ms",
                live.pid,
                KILL_DEADLINE.as_millis()
            ))),
        }
    }

    /// SIGKILL the process group without waiting for it: the exit that
    /// follows is the harness's, and [`NodeProcess::kill`] reaps it. For a
    /// process that cannot exit yet (one held in a file system request
    /// until the caller lets it go).
    pub fn start_kill(&mut self) -> Result<Outcome, FaultError> {
        self.poll();
        let Some(live) = self.live.as_mut() else {
            return Ok(self.not_running());
        };
        live.killed = true;
        if let Err(e) = signal_group(&self.spec.name, live, Signal::SIGKILL) {
            live.killed = false;
            return Err(e);
        }
        Ok(Outcome::Installed)
    }

    /// SIGSTOP the process group.
    pub fn pause(&mut self) -> Result<Outcome, FaultError> {
        self.poll();
        let Some(live) = self.live.as_mut() else {
            return Ok(self.not_running());
        };
        if live.paused {
            return Ok(Outcome::skipped("already paused"));
        }
        signal_group(&self.spec.name, live, Signal::SIGSTOP)?;
        live.paused = true;
        // kill(2) returns before the signal stops every thread: until they
        // are, a request sent next may still be served. "Installed" means
        // the node is stopped.
        if wait_stopped(live.pid.as_raw(), STOP_DEADLINE) {
            Ok(Outcome::Installed)
        } else {
            Ok(Outcome::Indeterminate(format!(
                "SIGSTOP sent, but the process was not seen stopped within {STOP_DEADLINE:?}"
            )))
        }
    }

    /// SIGCONT the process group. Sends SIGCONT even when the node is not
    /// known to be paused (harmless), but then reports a skip.
    pub fn resume(&mut self) -> Result<Outcome, FaultError> {
        self.poll();
        let Some(live) = self.live.as_mut() else {
            return Ok(self.not_running());
        };
        signal_group(&self.spec.name, live, Signal::SIGCONT)?;
        let was_paused = std::mem::replace(&mut live.paused, false);
        Ok(if was_paused {
            Outcome::Installed
        } else {
            Outcome::skipped("not paused")
        })
    }

    /// Start the process again if it is not running: same command, same
    /// working directory, same log (with a marker line).
    pub async fn start(&mut self) -> Result<Outcome, FaultError> {
        if self.is_running() {
            return Ok(Outcome::skipped("already running"));
        }
        self.start_now().await?;
        Ok(Outcome::Installed)
    }

    /// Kill the process if it runs, then start it again.
    pub async fn restart(&mut self) -> Result<Outcome, FaultError> {
        if let Outcome::Indeterminate(reason) = self.kill().await? {
            return Ok(Outcome::Indeterminate(reason));
        }
        self.start_now().await?;
        Ok(Outcome::Installed)
    }

    /// Resume, SIGKILL and reap, synchronously, waiting at most
    /// [`KILL_DEADLINE`]. What `Drop` does; for cleanup paths that cannot
    /// await.
    pub fn kill_blocking(&mut self) -> Result<Outcome, FaultError> {
        self.poll();
        let Some(live) = self.live.as_mut() else {
            return Ok(self.not_running());
        };
        live.killed = true;
        let cont = signal_group(&self.spec.name, live, Signal::SIGCONT);
        signal_group(&self.spec.name, live, Signal::SIGKILL)?;
        cont?;
        let deadline = Instant::now() + KILL_DEADLINE;
        loop {
            match live.child.try_wait() {
                Ok(Some(status)) => {
                    self.record_exit(Some(status));
                    return Ok(Outcome::Installed);
                }
                Ok(None) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(2))
                }
                Ok(None) => {
                    return Err(FaultError::Unkillable {
                        node: self.spec.name.clone(),
                        pid: live.pid.as_raw() as u32,
                        millis: KILL_DEADLINE.as_millis(),
                    });
                }
                Err(e) => {
                    return Err(FaultError::io(
                        format!("reaping node {}", self.spec.name),
                        e,
                    ));
                }
            }
        }
    }

    fn not_running(&self) -> Outcome {
        match &self.last_exit {
            Some(exit) => Outcome::skipped(format!("not running (last: {exit})")),
            None => Outcome::skipped("not running"),
        }
    }

    async fn start_now(&mut self) -> Result<(), FaultError> {
        let log = open_log(&self.spec.log)?;
        self.starts += 1;
        mark(
            &self.spec.log,
            &format!(
                "start #{} of {}: {}",
                self.starts,
                self.spec.name,
                self.spec.command_line()
            ),
        );
        let spec = self.spec.clone();
        let runtime = tokio::runtime::Handle::current();
        let child = on_spawner_thread(move || {
            let _runtime = runtime.enter();
            command(&spec, &log)?.spawn()
        })
        .await
        .map_err(|source| FaultError::Spawn {
            node: self.spec.name.clone(),
            program: self.spec.program.clone(),
            source,
        })?;
        let pid = child.id().expect("a child that was just spawned has a pid");
        tracing::info!(node = %self.spec.name, pid, start = self.starts, "node started");
        self.live = Some(Live {
            child,
            pid: Pid::from_raw(pid as i32),
            paused: false,
            killed: false,
        });
        Ok(())
    }

    /// Notice an exit without reaping; kill what is left of the group while
    /// the zombie leader still holds the pgid; then reap.
    fn poll(&mut self) {
        let Some(live) = self.live.as_mut() else {
            return;
        };
        let flags = WaitPidFlag::WEXITED | WaitPidFlag::WNOHANG | WaitPidFlag::WNOWAIT;
        match waitid(Id::Pid(live.pid), flags) {
            Ok(WaitStatus::StillAlive) => {}
            Ok(_) => {
                // Stragglers (a node's own children) die with their leader.
                let _ = killpg(live.pid, Signal::SIGKILL);
                let status = live.child.try_wait().ok().flatten();
                self.record_exit(status);
            }
            Err(Errno::ECHILD) => {
                // Reaped behind our back (a `waitpid(-1)` elsewhere): the
                // pgid may be reused, so the group is never signalled again.
                tracing::warn!(node = %self.spec.name, "node process was reaped elsewhere");
                self.record_exit(None);
            }
            Err(e) => tracing::warn!(node = %self.spec.name, error = %e, "waitid failed"),
        }
    }

    fn record_exit(&mut self, status: Option<ExitStatus>) {
        let Some(live) = self.live.take() else {
            return;
        };
        let exit = ExitInfo::new(live.pid.as_raw() as u32, status, live.killed);
        if exit.expected {
            mark(
                &self.spec.log,
                &format!(
                    "{} (pid {}) killed by the harness: {exit}",
                    self.spec.name, exit.pid
                ),
            );
        } else {
            let unexpected = UnexpectedExit {
                node: self.spec.name.clone(),
                exit: exit.clone(),
            };
            tracing::warn!(%unexpected, "node exited on its own");
            mark(&self.spec.log, &unexpected.to_string());
            self.unreported = Some(unexpected);
        }
        self.last_exit = Some(exit);
    }
}

impl Drop for NodeProcess {
    fn drop(&mut self) {
        if let Err(e) = self.kill_blocking() {
            tracing::error!(node = %self.spec.name, error = %e, "cannot clean up node process");
        }
    }
}

/// Send `signal` to the node's process group. A group that is already gone
/// is not an error.
/// How long a paused node may take to be seen stopped.
const STOP_DEADLINE: Duration = Duration::from_millis(500);

/// Waits until every thread of `pid` is stopped (state `T` in
/// `/proc/PID/task/*/stat`), or the process is gone; false on timeout.
fn wait_stopped(pid: i32, deadline: Duration) -> bool {
    let started = std::time::Instant::now();
    loop {
        match all_threads_stopped(pid) {
            None | Some(true) => return true,
            Some(false) if started.elapsed() >= deadline => return false,
            Some(false) => std::thread::sleep(Duration::from_millis(1)),
        }
    }
}

/// `None` when the process is gone.
fn all_threads_stopped(pid: i32) -> Option<bool> {
    let tasks = std::fs::read_dir(format!("/proc/{pid}/task")).ok()?;
    let mut seen = false;
    for task in tasks.flatten() {
        let Ok(stat) = std::fs::read_to_string(task.path().join("stat")) else {
            continue;
        };
        seen = true;
        // `pid (comm) S ...`: the state follows the last `)`.
        let state = stat
            .rsplit_once(")")
            .and_then(|(_, rest)| rest.trim_start().chars().next());
        if !matches!(state, Some('T' | 't')) {
            return Some(false);
        }
    }
    seen.then_some(true)
}

fn signal_group(node: &NodeName, live: &Live, signal: Signal) -> Result<(), FaultError> {
    match killpg(live.pid, signal) {
        Ok(()) | Err(Errno::ESRCH) => Ok(()),
        Err(source) => Err(FaultError::Signal {
            node: node.clone(),
            signal,
            pgid: live.pid.as_raw(),
            source,
        }),
    }
}

/// The command for `spec`: own process group, parent-death signal, log.
fn command(spec: &NodeSpec, log: &std::fs::File) -> std::io::Result<Command> {
    let mut cmd = Command::new(&spec.program);
    cmd.args(&spec.args)
        .envs(&spec.env)
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log.try_clone()?)
        .process_group(0)
        .kill_on_drop(true);
    if let Some(dir) = &spec.cwd {
        cmd.current_dir(dir);
    }
    let controller = std::process::id() as libc::pid_t;
    let netns = spec.netns.clone();
    // SAFETY: the closure runs between fork and exec and calls only
    // async-signal-safe functions (prctl, getppid, raise, setns), allocating
    // nothing.
    unsafe {
        cmd.pre_exec(move || {
            if let Some(ns) = &netns {
                ns.enter_in_child()?;
            }
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL, 0, 0, 0) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            // The controller died between fork and prctl: die now, as the
            // signal would have made us.
            if libc::getppid() != controller {
                libc::raise(libc::SIGKILL);
            }
            Ok(())
        });
    }
    Ok(cmd)
}
