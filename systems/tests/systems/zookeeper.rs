//! The ZooKeeper adapter against real ZooKeeper (Debian's
//! `libzookeeper-java` 3.8 on a JRE): one- and three-server ensembles
//! started by the test on loopback addresses (127.0.x.y) in the host's
//! namespace, with free ports and the command lines of
//! `systems::zookeeper`. No network faults are needed, so no privileges
//! either; process faults (kill, pause) come from `faults`.
//!
//! Skips with a printed reason when java or the jars are not installed;
//! fails instead under `HARNESS_REQUIRE_PRIVILEGES=1`.

use std::{
    net::{IpAddr, Ipv4Addr, TcpListener},
    path::{Path, PathBuf},
    time::{Duration, Instant},
};

use faults::{Nemesis, NodeName};
use serde_json::{Value, json};
use systems::{
    Completion, Probe,
    cluster::agreed_leader,
    zookeeper::{
        ZkClient, ZkPorts, ZkServer, ZkSettings, ZkStatus, ensemble::JARS, probe, server_spec,
        status,
    },
};
use workloads::OpKind;

use crate::support::{
    assert_json_round_trips, assert_null_means_absent, contended_increments, log_tails, measure,
    op, read, retry_ok, skip,
};

/// Sessions the test's clients ask for (the servers grant at most 20
/// ticks, 4 s).
const SESSION: Duration = Duration::from_secs(4);

/// How long an operation that must succeed is retried.
const RETRY_WITHIN: Duration = Duration::from_secs(30);

/// java, or `None` after printing why the test skips.
fn java(test: &str) -> Option<PathBuf> {
    let settings = ZkSettings::default();
    let java = PathBuf::from("/usr/bin/java");
    let missing: Vec<String> = std::iter::once(java.clone())
        .chain(JARS.iter().map(|jar| settings.jars.join(jar)))
        .filter(|path| !path.is_file())
        .map(|path| path.display().to_string())
        .collect();
    if missing.is_empty() {
        return Some(java);
    }
    let reason = format!(
        "{} missing (apt-get install -y libzookeeper-java default-jre-headless)",
        missing.join(", ")
    );
    skip(test, &reason);
    None
}

/// Four distinct free ports on `ip`: the listeners are held until all are
/// chosen, or the kernel may hand out one port twice (a server whose admin
/// port is its client port answers HTTP by closing the connection).
fn free_ports(ip: Ipv4Addr) -> ZkPorts {
    let listeners: Vec<TcpListener> = (0..4)
        .map(|_| TcpListener::bind((ip, 0)).unwrap_or_else(|e| panic!("no free port on {ip}: {e}")))
        .collect();
    let port = |i: usize| listeners[i].local_addr().expect("bound").port();
    ZkPorts {
        client: port(0),
        quorum: port(1),
        election: port(2),
        admin: port(3),
    }
}

struct Ensemble {
    nemesis: Nemesis,
    servers: Vec<ZkServer>,
    http: reqwest::Client,
    dir: tempfile::TempDir,
}

impl Ensemble {
    /// `n` servers on 127.0.`octet`.1..=n, each with its own data dir and
    /// four free ports.
    async fn start(java: &Path, octet: u8, n: u8) -> Ensemble {
        let dir = tempfile::tempdir().expect("temp dir");
        let servers: Vec<ZkServer> = (1..=n)
            .map(|i| {
                let ip = Ipv4Addr::new(127, 0, octet, i);
                ZkServer {
                    name: NodeName::numbered(u32::from(i)),
                    id: u32::from(i),
                    ip: IpAddr::V4(ip),
                    ports: free_ports(ip),
                    data_dir: dir.path().join(format!("n{i}")),
                }
            })
            .collect();
        let mut nemesis: Nemesis = Nemesis::new(None);
        for server in &servers {
            let log = dir.path().join(format!("{}.log", server.name));
            let spec = server_spec(java, &servers, server, &ZkSettings::default(), &log);
            nemesis.start_node(spec).await.expect("start zookeeper");
        }
        let ensemble = Ensemble {
            nemesis,
            servers,
            http: reqwest::Client::new(),
            dir,
        };
        ensemble.wait_for_leader(Duration::from_secs(40)).await;
        ensemble
    }

    async fn probes(&self) -> Vec<(NodeName, Probe)> {
        let asks = self.servers.iter().map(|s| {
            probe(
                &self.http,
                s.admin_addr(),
                s.id.into(),
                Duration::from_millis(500),
            )
        });
        let answers = futures::future::join_all(asks).await;
        self.names().into_iter().zip(answers).collect()
    }

    fn names(&self) -> Vec<NodeName> {
        self.servers.iter().map(|s| s.name.clone()).collect()
    }

    async fn wait_for_leader(&self, within: Duration) -> NodeName {
        let started = Instant::now();
        loop {
            if let Some(leader) = agreed_leader(&self.probes().await) {
                return leader;
            }
            assert!(
                started.elapsed() < within,
                "no zookeeper leader within {within:?}: {:?}\n{}",
                self.probes().await,
                self.logs()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Every server's status, once all of them serve.
    async fn statuses(&self, within: Duration) -> Vec<ZkStatus> {
        let started = Instant::now();
        loop {
            let asks = self.servers.iter().map(|s| {
                status(
                    &self.http,
                    s.admin_addr(),
                    s.id.into(),
                    Duration::from_secs(1),
                )
            });
            let answers = futures::future::join_all(asks).await;
            if answers.iter().all(Result::is_ok) {
                return answers.into_iter().map(Result::unwrap).collect();
            }
            assert!(
                started.elapsed() < within,
                "not every server serves within {within:?}: {answers:?}\n{}",
                self.logs()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    fn server(&self, name: &str) -> &ZkServer {
        self.servers
            .iter()
            .find(|s| s.name.as_str() == name)
            .expect("a server")
    }

    /// A client of `name` whose operations get `timeout`.
    fn client(&self, name: &str, timeout: Duration) -> ZkClient {
        ZkClient::new(self.server(name).client_addr(), timeout, SESSION)
    }

    fn logs(&self) -> String {
        log_tails(self.dir.path(), self.servers.iter().map(|s| &s.name))
    }
}

/// The register's and the set's semantics on one server, and how the
/// client reports a paused and a killed server.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_server_register_semantics_and_process_faults() {
    let Some(java) = java("zookeeper::one_server_register_semantics_and_process_faults") else {
        return;
    };
    let mut ensemble = Ensemble::start(&java, 81, 1).await;
    let c = ensemble.client("n1", Duration::from_secs(5));
    use Completion::{Fail, Ok};

    // Absent keys read as null; writes, reads and cas as the register says.
    assert_eq!(c.run(&read("k")).await, Ok(Value::Null));
    assert_eq!(c.run(&op(OpKind::Write, "k", json!(7))).await, Ok(json!(7)));
    assert_eq!(c.run(&read("k")).await, Ok(json!(7)));
    assert_eq!(c.run(&op(OpKind::Write, "k", json!(8))).await, Ok(json!(8)));
    assert_eq!(
        c.run(&op(OpKind::Cas, "k", json!([8, 9]))).await,
        Ok(json!([8, 9]))
    );
    // A compare that fails is a definite failure, and changes nothing.
    assert_eq!(
        c.run(&op(OpKind::Cas, "k", json!([8, 10]))).await,
        Fail("cas-mismatch".into())
    );
    assert_eq!(c.run(&read("k")).await, Ok(json!(9)));
    // `from: null` matches only an absent key; writing null deletes.
    assert_null_means_absent(&c).await;
    // The key is absent again, for cas too.
    assert_eq!(
        c.run(&op(OpKind::Cas, "fresh", json!([null, null]))).await,
        Ok(json!([null, null]))
    );
    assert_eq!(
        c.run(&op(OpKind::Cas, "fresh", json!([null, 3]))).await,
        Ok(json!([null, 3]))
    );
    assert_eq!(
        c.run(&op(OpKind::Cas, "fresh", json!([null, null]))).await,
        Fail("cas-mismatch".into())
    );
    assert_eq!(
        c.run(&op(OpKind::Cas, "fresh", json!([3, null]))).await,
        Ok(json!([3, null]))
    );
    assert_eq!(c.run(&read("fresh")).await, Ok(Value::Null));

    // JSON values round-trip, and cas compares them as values.
    assert_json_round_trips(&c).await;
    // Keys are any string, each its own znode.
    for (i, key) in ["a/b c?%", ".", "..", "", "zookeeper", "a%2Fb"]
        .into_iter()
        .enumerate()
    {
        assert_eq!(c.run(&op(OpKind::Write, key, json!(i))).await, Ok(json!(i)));
    }
    for (i, key) in ["a/b c?%", ".", "..", "", "zookeeper", "a%2Fb"]
        .into_iter()
        .enumerate()
    {
        assert_eq!(c.run(&read(key)).await, Ok(json!(i)), "{key:?}");
    }
    // A value ZooKeeper would refuse is a definite failure, decided here.
    let huge = op(OpKind::Write, "huge", json!("x".repeat(2_000_000)));
    assert!(matches!(c.run(&huge).await, Fail(e) if e.contains("too large")));

    // Appends build a list; sync reads see it.
    for e in 1..=3 {
        assert_eq!(
            c.run(&op(OpKind::Append, "set", json!(e))).await,
            Ok(json!(e))
        );
    }
    let synced = ensemble
        .client("n1", Duration::from_secs(5))
        .sync_reads(true);
    assert_eq!(synced.run(&read("set")).await, Ok(json!([1, 2, 3])));
    assert_eq!(
        c.run(&op(OpKind::Append, "k", json!(1))).await,
        Fail("not-a-list".into())
    );

    // Latency of the adapter against one server, sequentially.
    measure("zookeeper setData (1 server)", &c, 200, |i| {
        op(OpKind::Write, "lat", json!(i))
    })
    .await;
    measure("zookeeper getData (1 server)", &c, 200, |_| read("lat")).await;
    measure("zookeeper sync + getData (1 server)", &synced, 200, |_| {
        read("lat")
    })
    .await;

    // A paused server: a write times out (info: it may apply on resume),
    // a read fails (reads never take effect).
    let n1 = NodeName::from("n1");
    let short = ensemble.client("n1", Duration::from_millis(500));
    assert_eq!(short.run(&read("k")).await, Ok(json!(9)), "a session opens");
    ensemble
        .nemesis
        .pause(std::slice::from_ref(&n1))
        .await
        .unwrap();
    assert_eq!(
        short.run(&op(OpKind::Write, "k", json!(100))).await,
        Completion::Info("timeout".into())
    );
    let paused_read = short.run(&read("k")).await;
    assert!(
        matches!(&paused_read, Fail(e) if e.contains("timeout")),
        "{paused_read:?}"
    );
    ensemble
        .nemesis
        .resume(std::slice::from_ref(&n1))
        .await
        .unwrap();
    // The timed-out write was in flight when its session was dropped: it
    // may well have been applied, which is why a timeout must be info.
    let seen = retry_ok(&c, read("k"), RETRY_WITHIN).await;
    eprintln!("after the timed-out write of 100, k reads {seen}");

    // A killed server refuses connections: no session, nothing sent, so
    // even a write is a definite failure.
    ensemble
        .nemesis
        .kill(std::slice::from_ref(&n1))
        .await
        .unwrap();
    // Let the pooled sessions see their connections reset.
    tokio::time::sleep(Duration::from_millis(300)).await;
    for request in [
        op(OpKind::Write, "k", json!(5)),
        op(OpKind::Cas, "k", json!([9, 5])),
        op(OpKind::Append, "set", json!(4)),
        read("k"),
    ] {
        let done = c.run(&request).await;
        assert!(
            matches!(&done, Fail(e) if e.starts_with("cannot open a session")),
            "{request:?}: {done:?}"
        );
    }
    // Restarted with the same data dir, the server still has its data.
    ensemble
        .nemesis
        .restart(std::slice::from_ref(&n1))
        .await
        .unwrap();
    ensemble.wait_for_leader(Duration::from_secs(40)).await;
    assert_eq!(
        retry_ok(&synced, read("set"), RETRY_WITHIN).await,
        json!([1, 2, 3])
    );
    ensemble.nemesis.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_servers_leader_kill_restart_and_contended_cas() {
    let Some(java) = java("zookeeper::three_servers_leader_kill_restart_and_contended_cas") else {
        return;
    };
    let mut ensemble = Ensemble::start(&java, 82, 3).await;
    let leader = ensemble.wait_for_leader(Duration::from_secs(40)).await;
    // One leader, followed by everyone; the leader's epoch is the newest.
    let statuses = ensemble.statuses(Duration::from_secs(40)).await;
    let leader_id = u64::from(ensemble.server(leader.as_str()).id);
    for status in &statuses {
        assert_eq!(status.leads, status.id == leader_id, "{statuses:?}");
        assert_eq!(status.leader, leader_id, "{statuses:?}");
    }
    let newest = statuses.iter().map(|s| s.epoch).max().unwrap();
    let leads = statuses.iter().find(|s| s.leads).unwrap();
    assert!(leads.epoch > 0 && leads.epoch == newest, "{statuses:?}");

    // Sync reads on every server see a write made through another.
    let timeout = Duration::from_secs(5);
    let clients: Vec<ZkClient> = ["n1", "n2", "n3"]
        .into_iter()
        .map(|n| ensemble.client(n, timeout).sync_reads(true))
        .collect();
    assert_eq!(
        clients[0].run(&op(OpKind::Write, "r", json!(1))).await,
        Completion::Ok(json!(1))
    );
    for c in &clients[1..] {
        assert_eq!(c.run(&read("r")).await, Completion::Ok(json!(1)));
    }
    measure(
        "zookeeper setData (3 servers, via n1)",
        &clients[0],
        100,
        |i| op(OpKind::Write, "lat", json!(i)),
    )
    .await;
    measure(
        "zookeeper sync + getData (3 servers, via n2)",
        &clients[1],
        100,
        |_| read("lat"),
    )
    .await;

    // Contended increments by cas: a cas that said `fail` must not have
    // applied, and one that said `ok` must have, so the counter ends at
    // exactly the number of ok's (give or take the info's).
    let contenders = ["n1", "n2", "n3", "n1"]
        .into_iter()
        .map(|name| ensemble.client(name, timeout))
        .collect();
    let tally = contended_increments(contenders, "ctr").await;
    let counter = retry_ok(&clients[2], read("ctr"), RETRY_WITHIN).await;
    let counter = tally.assert_counter(&counter);

    // A paused leader: for `syncLimit` (2 s) its followers still think it
    // leads. A plain read on a follower is answered from the follower's
    // copy; a sync read waits for the leader, so it times out.
    let follower = ensemble.names().into_iter().find(|n| *n != leader).unwrap();
    let short = Duration::from_millis(500);
    let plain = ensemble.client(follower.as_str(), short);
    let synced = ensemble.client(follower.as_str(), short).sync_reads(true);
    // Open a session on each first: a new session needs the leader too.
    assert_eq!(plain.run(&read("r")).await, Completion::Ok(json!(1)));
    assert_eq!(synced.run(&read("r")).await, Completion::Ok(json!(1)));
    ensemble
        .nemesis
        .pause(std::slice::from_ref(&leader))
        .await
        .unwrap();
    let paused_at = Instant::now();
    let r = read("r");
    let (plain_read, sync_read) = futures::join!(plain.run(&r), synced.run(&r));
    assert!(
        paused_at.elapsed() < Duration::from_millis(1500),
        "within syncLimit"
    );
    assert_eq!(
        plain_read,
        Completion::Ok(json!(1)),
        "served by the follower"
    );
    assert_eq!(
        sync_read,
        Completion::Fail("timeout".into()),
        "waited for the leader"
    );
    ensemble
        .nemesis
        .resume(std::slice::from_ref(&leader))
        .await
        .unwrap();
    let leader = ensemble.wait_for_leader(Duration::from_secs(40)).await;

    // Kill the leader: the others elect a new one and take writes; the old
    // leader restarts from its data dir and catches up.
    let killed_at = Instant::now();
    ensemble
        .nemesis
        .kill(std::slice::from_ref(&leader))
        .await
        .unwrap();
    let survivor = ensemble.names().into_iter().find(|n| *n != leader).unwrap();
    let survivor = ensemble.client(survivor.as_str(), timeout);
    retry_ok(&survivor, op(OpKind::Write, "r", json!(3)), RETRY_WITHIN).await;
    let new_leader = ensemble.wait_for_leader(Duration::from_secs(40)).await;
    eprintln!(
        "leader {leader} killed; {new_leader} leads and took a write after {:?}",
        killed_at.elapsed()
    );
    assert_ne!(new_leader, leader);
    ensemble
        .nemesis
        .restart(std::slice::from_ref(&leader))
        .await
        .unwrap();
    let old = ensemble.client(leader.as_str(), timeout).sync_reads(true);
    assert_eq!(retry_ok(&old, read("r"), RETRY_WITHIN).await, json!(3));
    assert_eq!(
        retry_ok(&old, read("ctr"), RETRY_WITHIN).await,
        json!(counter),
        "the restarted server kept its data"
    );
    ensemble.nemesis.shutdown().await.unwrap();
}
