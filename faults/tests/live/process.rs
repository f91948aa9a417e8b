//! Process faults on real processes (no privileges needed): kill, pause,
//! resume, restart, unexpected exits, and cleanup on drop and on panic.

use std::{
    net::{Ipv4Addr, SocketAddrV4, TcpListener},
    time::Duration,
};

use faults::{
    Nemesis, NodeName, Outcome,
    net::LoopbackIptables,
    process::{NodeProcess, NodeSpec, NodeState},
};
use nix::unistd::{Pid, getpgid};

use crate::{
    Scenario,
    support::{Verdict, listener_spec, pid_alive, request, run_scenario, wait_reachable},
};

pub const LIFECYCLE: Scenario = Scenario {
    name: "process-lifecycle",
    private_namespace: false,
    body: || Box::pin(lifecycle_body()),
};
pub const OUTLIVE_THREADS: Scenario = Scenario {
    name: "process-outlive-threads",
    private_namespace: false,
    body: || Box::pin(outlive_threads_body()),
};
pub const DROP_AND_PANIC: Scenario = Scenario {
    name: "process-drop-and-panic",
    private_namespace: false,
    body: || Box::pin(drop_and_panic_body()),
};

pub fn lifecycle() -> Verdict {
    run_scenario(LIFECYCLE.name, Duration::from_secs(60))
}

pub fn outlive_threads() -> Verdict {
    run_scenario(OUTLIVE_THREADS.name, Duration::from_secs(30))
}

pub fn drop_and_panic() -> Verdict {
    run_scenario(DROP_AND_PANIC.name, Duration::from_secs(30))
}

/// A free port on 127.0.0.1 (these tests run in the host's namespace).
fn free_addr() -> SocketAddrV4 {
    let probe = TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    let port = probe.local_addr().expect("local address").port();
    SocketAddrV4::new(Ipv4Addr::LOCALHOST, port)
}

const SHORT: Duration = Duration::from_millis(800);
const SETTLE: Duration = Duration::from_secs(5);

async fn lifecycle_body() {
    let dir = tempfile::tempdir().expect("temp dir");
    let addr = free_addr();
    let name = NodeName::from("n1");
    let mut node = NodeProcess::spawn(listener_spec(&name, addr, dir.path()))
        .await
        .expect("spawn");
    let pid1 = node.pid().expect("running");
    assert_eq!(
        getpgid(Some(Pid::from_raw(pid1 as i32))).unwrap().as_raw() as u32,
        pid1
    );
    wait_reachable(addr, SETTLE)
        .await
        .expect("the node answers");

    // Pause: no new work is done until resume.
    assert_eq!(node.pause().unwrap(), Outcome::Installed);
    assert!(matches!(node.pause().unwrap(), Outcome::Skipped(_)));
    assert_eq!(node.state(), NodeState::Paused { pid: pid1 });
    let paused = request(None, addr, SHORT).await;
    assert!(paused.is_err(), "a paused node answered: {paused:?}");
    assert_eq!(node.resume().unwrap(), Outcome::Installed);
    assert!(matches!(node.resume().unwrap(), Outcome::Skipped(_)));
    assert_eq!(request(None, addr, SETTLE).await.unwrap(), "pong n1");

    // Kill: gone, refused, idempotent, and not a finding.
    assert_eq!(node.kill().await.unwrap(), Outcome::Installed);
    assert!(!pid_alive(pid1));
    assert!(request(None, addr, SHORT).await.is_err());
    assert!(matches!(node.kill().await.unwrap(), Outcome::Skipped(_)));
    assert!(matches!(node.pause().unwrap(), Outcome::Skipped(_)));
    assert!(matches!(node.resume().unwrap(), Outcome::Skipped(_)));
    assert_eq!(node.take_unexpected_exit(), None);
    let exit = node.last_exit().expect("exited").clone();
    assert!(exit.expected && exit.signal == Some(9), "{exit:?}");

    // Start again, then restart a running node: reachable each time.
    assert_eq!(node.start().await.unwrap(), Outcome::Installed);
    assert!(matches!(node.start().await.unwrap(), Outcome::Skipped(_)));
    let pid2 = node.pid().unwrap();
    assert_ne!(pid1, pid2);
    wait_reachable(addr, SETTLE)
        .await
        .expect("reachable after start");
    assert_eq!(node.restart().await.unwrap(), Outcome::Installed);
    assert!(!pid_alive(pid2));
    wait_reachable(addr, SETTLE)
        .await
        .expect("reachable after restart");
    assert_eq!(node.starts(), 3);

    // A crash the harness did not cause is a finding, reported once.
    let pid3 = node.pid().unwrap();
    nix::sys::signal::kill(
        Pid::from_raw(pid3 as i32),
        nix::sys::signal::Signal::SIGKILL,
    )
    .unwrap();
    let exit = node.exited().await.expect("an exit");
    assert!(!exit.expected && exit.signal == Some(9), "{exit:?}");
    let finding = node.take_unexpected_exit().expect("reported");
    assert_eq!(
        finding.to_string(),
        format!("node n1 (pid {pid3}) exited on its own: killed by signal 9 (SIGKILL)")
    );
    assert_eq!(node.take_unexpected_exit(), None);

    // The log tells the whole story, appended across restarts.
    let log = std::fs::read_to_string(dir.path().join("n1.log")).unwrap();
    for marker in [
        "start #1 of n1",
        "start #2 of n1",
        "start #3 of n1",
        "killed by the harness",
        "exited on its own",
    ] {
        assert!(log.contains(marker), "log lacks {marker:?}:\n{log}");
    }
    assert_eq!(log.matches("n1 listening on").count(), 3, "{log}");

    // A program that exits by itself, with its exit code.
    let spec = NodeSpec::new("n2".into(), "sh", dir.path().join("n2.log"))
        .args(["-c", "echo bye; exit 3"]);
    let mut short = NodeProcess::spawn(spec).await.unwrap();
    let exit = short.exited().await.unwrap();
    assert_eq!((exit.code, exit.expected), (Some(3), false));
    assert_eq!(short.take_unexpected_exit().unwrap().exit.code, Some(3));
    assert!(matches!(short.kill().await.unwrap(), Outcome::Skipped(_)));
    assert!(
        std::fs::read_to_string(dir.path().join("n2.log"))
            .unwrap()
            .contains("bye")
    );

    // A missing program is a clear error.
    let err = NodeProcess::spawn(NodeSpec::new(
        "n3".into(),
        "/nonexistent/node",
        dir.path().join("n3.log"),
    ))
    .await
    .unwrap_err();
    assert!(
        err.to_string()
            .starts_with("cannot start node n3 (`/nonexistent/node`)"),
        "{err}"
    );
}

/// Nodes are forked on the crate's long-lived spawner thread, so a node
/// started from a thread that then exits keeps running (with
/// `PR_SET_PDEATHSIG`, a node forked by that thread itself would die).
async fn outlive_threads_body() {
    let dir = tempfile::tempdir().expect("temp dir");
    let addr = free_addr();
    let spec = listener_spec(&"n1".into(), addr, dir.path());
    let runtime = tokio::runtime::Handle::current();
    let mut node = std::thread::spawn(move || runtime.block_on(NodeProcess::spawn(spec)))
        .join()
        .expect("the short-lived thread")
        .expect("spawn");
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(
        node.is_running(),
        "the node died with the thread that started it"
    );
    wait_reachable(addr, SETTLE).await.expect("reachable");
    assert_eq!(node.kill().await.unwrap(), Outcome::Installed);
}

async fn paused_pair(dir: &std::path::Path) -> (Nemesis<LoopbackIptables>, Vec<u32>) {
    let mut nemesis = Nemesis::<LoopbackIptables>::new(None);
    let mut pids = Vec::new();
    for name in ["n1", "n2"] {
        pids.push(
            nemesis
                .start_node(listener_spec(&name.into(), free_addr(), dir))
                .await
                .unwrap(),
        );
    }
    let report = nemesis.pause(&nemesis.node_names()).await.unwrap();
    assert_eq!(report.outcome, Outcome::Installed);
    (nemesis, pids)
}

/// Dropping the guard, and panicking while holding it, resume and kill
/// every node.
async fn drop_and_panic_body() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (nemesis, pids) = paused_pair(dir.path()).await;
    assert!(pids.iter().all(|&p| pid_alive(p)));
    drop(nemesis);
    assert!(pids.iter().all(|&p| !pid_alive(p)), "nodes survived drop");

    let path = dir.path().to_owned();
    let (tx, rx) = tokio::sync::oneshot::channel();
    let task = tokio::spawn(async move {
        let (_nemesis, pids) = paused_pair(&path).await;
        tx.send(pids).unwrap();
        panic!("a bug in the controller");
    });
    let pids = rx.await.unwrap();
    assert!(task.await.unwrap_err().is_panic());
    assert!(
        pids.iter().all(|&p| !pid_alive(p)),
        "nodes survived a panic"
    );

    let (nemesis, pids) = paused_pair(dir.path()).await;
    nemesis.shutdown().await.expect("shutdown");
    assert!(
        pids.iter().all(|&p| !pid_alive(p)),
        "nodes survived shutdown"
    );
}
