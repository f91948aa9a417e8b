//! The etcd adapter against real etcd (Debian's `etcd-server`, 3.4):
//! one- and three-member clusters started by the test on loopback
//! addresses (127.0.x.y) in the host's namespace, with the member command
//! lines of `systems::etcd`. No network faults are needed, so no
//! privileges either; process faults (kill, pause) come from `faults`.
//!
//! Skips with a printed reason when etcd is not installed; fails instead
//! under `HARNESS_REQUIRE_PRIVILEGES=1`.

use std::{
    net::{IpAddr, Ipv4Addr, TcpListener},
    path::{Path, PathBuf},
    time::{Duration, Instant},
};

use faults::{Nemesis, NodeName};
use serde_json::{Value, json};
use systems::{
    Completion,
    etcd::{EtcdClient, EtcdMember, EtcdSettings, find_leader, member_spec, statuses},
};
use workloads::OpKind;

use crate::support::{
    assert_json_round_trips, assert_null_means_absent, contended_increments, log_tails, measure,
    op, read, retry_ok, skip,
};

/// How long an operation that must succeed is retried.
const RETRY_WITHIN: Duration = Duration::from_secs(20);

/// etcd, or `None` after printing why the test skips.
fn etcd_binary(test: &str) -> Option<PathBuf> {
    let path = std::env::var_os("ETCD_BINARY")
        .map_or_else(|| PathBuf::from("/usr/bin/etcd"), PathBuf::from);
    if path.is_file() {
        return Some(path);
    }
    let reason = format!(
        "{} is not installed (apt-get install -y etcd-server)",
        path.display()
    );
    skip(test, &reason);
    None
}

fn free_port(ip: Ipv4Addr) -> u16 {
    TcpListener::bind((ip, 0))
        .and_then(|l| l.local_addr())
        .unwrap_or_else(|e| panic!("no free port on {ip}: {e}"))
        .port()
}

struct Cluster {
    nemesis: Nemesis,
    clients: Vec<(NodeName, EtcdClient)>,
    dir: tempfile::TempDir,
}

impl Cluster {
    /// `n` members on 127.0.`octet`.1..=n, each with its own data dir.
    async fn start(binary: &Path, octet: u8, n: u8, timeout: Duration) -> Cluster {
        let dir = tempfile::tempdir().expect("temp dir");
        let members: Vec<EtcdMember> = (1..=n)
            .map(|i| {
                let ip = Ipv4Addr::new(127, 0, octet, i);
                EtcdMember {
                    name: NodeName::numbered(u32::from(i)),
                    ip: IpAddr::V4(ip),
                    client_port: free_port(ip),
                    peer_port: free_port(ip),
                    data_dir: dir.path().join(format!("n{i}")),
                }
            })
            .collect();
        let settings = EtcdSettings {
            token: format!("harness-test-{}-{octet}", std::process::id()),
            ..EtcdSettings::default()
        };
        let mut nemesis: Nemesis = Nemesis::new(None);
        let http = reqwest::Client::builder()
            .tcp_nodelay(true)
            .build()
            .expect("http client");
        let mut clients = Vec::new();
        for member in &members {
            let log = dir.path().join(format!("{}.log", member.name));
            let spec = member_spec(binary, &members, member, &settings, &log);
            nemesis.start_node(spec).await.expect("start etcd");
            clients.push((
                member.name.clone(),
                EtcdClient::new(http.clone(), &member.client_addr().to_string(), timeout),
            ));
        }
        let cluster = Cluster {
            nemesis,
            clients,
            dir,
        };
        cluster.wait_for_leader(Duration::from_secs(20)).await;
        cluster
    }

    async fn wait_for_leader(&self, within: Duration) -> NodeName {
        let started = Instant::now();
        loop {
            if let Some(leader) = find_leader(&self.clients).await {
                return leader;
            }
            assert!(
                started.elapsed() < within,
                "no etcd leader within {within:?}\n{}",
                self.logs()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    fn client(&self, name: &str) -> &EtcdClient {
        &self
            .clients
            .iter()
            .find(|(n, _)| n.as_str() == name)
            .expect("a member")
            .1
    }

    fn logs(&self) -> String {
        log_tails(self.dir.path(), self.clients.iter().map(|(name, _)| name))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_member_register_semantics_and_process_faults() {
    let Some(binary) = etcd_binary("etcd::one_member_register_semantics_and_process_faults") else {
        return;
    };
    let mut cluster = Cluster::start(&binary, 71, 1, Duration::from_secs(2)).await;
    let c = cluster.client("n1").clone();
    use Completion::{Fail, Ok};

    // Absent keys read as null; writes, reads and cas as the register says.
    assert_eq!(c.run(&read("k")).await, Ok(Value::Null));
    assert_eq!(c.run(&op(OpKind::Write, "k", json!(7))).await, Ok(json!(7)));
    assert_eq!(c.run(&read("k")).await, Ok(json!(7)));
    assert_eq!(
        c.run(&op(OpKind::Cas, "k", json!([7, 8]))).await,
        Ok(json!([7, 8]))
    );
    // A txn whose compare fails is a definite failure, and changes nothing.
    assert_eq!(
        c.run(&op(OpKind::Cas, "k", json!([7, 9]))).await,
        Fail("cas-mismatch".into())
    );
    assert_eq!(c.run(&read("k")).await, Ok(json!(8)));
    // `from: null` matches only an absent key; writing null deletes.
    assert_null_means_absent(&c).await;
    // The key is absent again, for cas too.
    assert_eq!(
        c.run(&op(OpKind::Cas, "fresh", json!([null, 3]))).await,
        Ok(json!([null, 3]))
    );
    assert_eq!(
        c.run(&op(OpKind::Cas, "fresh", json!([3, null]))).await,
        Ok(json!([3, null]))
    );
    assert_eq!(c.run(&read("fresh")).await, Ok(Value::Null));

    // JSON values round-trip, and cas compares them as values.
    assert_json_round_trips(&c).await;
    // Keys are any string.
    assert_eq!(
        c.run(&op(OpKind::Write, "a/b c?%", json!(1))).await,
        Ok(json!(1))
    );
    assert_eq!(c.run(&read("a/b c?%")).await, Ok(json!(1)));

    // Appends build a list; serializable reads see it (one member).
    for e in 1..=3 {
        assert_eq!(
            c.run(&op(OpKind::Append, "set", json!(e))).await,
            Ok(json!(e))
        );
    }
    let serializable = c.clone().serializable_reads(true);
    assert_eq!(serializable.run(&read("set")).await, Ok(json!([1, 2, 3])));
    assert_eq!(
        c.run(&op(OpKind::Append, "k", json!(1))).await,
        Fail("not-a-list".into())
    );

    // Latency of the adapter against one member, sequentially.
    measure("etcd put (1 member)", &c, 200, |i| {
        op(OpKind::Write, "lat", json!(i))
    })
    .await;
    measure("etcd linearizable get (1 member)", &c, 200, |_| read("lat")).await;
    measure(
        "etcd serializable get (1 member)",
        &serializable,
        200,
        |_| read("lat"),
    )
    .await;

    // A paused member: a write times out (info: it may apply on resume),
    // a read fails (reads never take effect).
    let n1 = NodeName::from("n1");
    let short = c.clone().with_timeout(Duration::from_millis(300));
    cluster
        .nemesis
        .pause(std::slice::from_ref(&n1))
        .await
        .unwrap();
    assert_eq!(
        short.run(&op(OpKind::Write, "k", json!(100))).await,
        Completion::Info("timeout".into())
    );
    assert_eq!(short.run(&read("k")).await, Fail("timeout".into()));
    cluster
        .nemesis
        .resume(std::slice::from_ref(&n1))
        .await
        .unwrap();
    // The timed-out write did take effect once the member resumed: this is
    // why a timeout must be info.
    let seen = retry_ok(&c, read("k"), RETRY_WITHIN).await;
    eprintln!("after the timed-out write of 100, k reads {seen}");

    // A killed member refuses connections: nothing was sent, so even a
    // write is a definite failure.
    cluster
        .nemesis
        .kill(std::slice::from_ref(&n1))
        .await
        .unwrap();
    for request in [
        op(OpKind::Write, "k", json!(5)),
        op(OpKind::Cas, "k", json!([8, 5])),
        read("k"),
    ] {
        assert_eq!(
            c.run(&request).await,
            Fail("connection refused or unreachable".into()),
            "{request:?}"
        );
    }
    // Restarted with the same data dir, the member still has its data.
    cluster
        .nemesis
        .restart(std::slice::from_ref(&n1))
        .await
        .unwrap();
    cluster.wait_for_leader(Duration::from_secs(20)).await;
    assert_eq!(
        retry_ok(&c, read("set"), RETRY_WITHIN).await,
        json!([1, 2, 3])
    );
    cluster.nemesis.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_members_leader_kill_restart_and_contended_cas() {
    let Some(binary) = etcd_binary("etcd::three_members_leader_kill_restart_and_contended_cas")
    else {
        return;
    };
    let mut cluster = Cluster::start(&binary, 72, 3, Duration::from_secs(2)).await;
    let leader = cluster.wait_for_leader(Duration::from_secs(20)).await;
    for (name, status) in statuses(&cluster.clients).await {
        let status = status.unwrap_or_else(|| panic!("{name} answers its status"));
        assert!(status.version.starts_with("3."), "{status:?}");
    }

    // Linearizable reads on every member see a write made through another.
    let (n1, n2, n3) = (
        cluster.client("n1").clone(),
        cluster.client("n2").clone(),
        cluster.client("n3").clone(),
    );
    assert_eq!(
        n1.run(&op(OpKind::Write, "r", json!(1))).await,
        Completion::Ok(json!(1))
    );
    for c in [&n2, &n3] {
        assert_eq!(c.run(&read("r")).await, Completion::Ok(json!(1)));
    }
    measure("etcd put (3 members, via n1)", &n1, 100, |i| {
        op(OpKind::Write, "lat", json!(i))
    })
    .await;
    measure(
        "etcd linearizable get (3 members, via n2)",
        &n2,
        100,
        |_| read("lat"),
    )
    .await;

    // Contended increments by cas: a cas that reported `fail` must not have
    // applied, and one that reported `ok` must have, so the counter ends at
    // exactly the number of ok's.
    let contenders = vec![n1.clone(), n2.clone(), n3.clone(), n1.clone()];
    let tally = contended_increments(contenders, "ctr").await;
    let counter = retry_ok(&n3, read("ctr"), RETRY_WITHIN).await;
    let counter = tally.assert_counter(&counter);

    // Kill the leader: writes to it fail definitely (refused); the others
    // elect a new leader and take writes; the old leader restarts with its
    // data dir and catches up.
    let killed_at = Instant::now();
    cluster
        .nemesis
        .kill(std::slice::from_ref(&leader))
        .await
        .unwrap();
    let old = cluster.client(leader.as_str()).clone();
    assert_eq!(
        old.run(&op(OpKind::Write, "r", json!(2))).await,
        Completion::Fail("connection refused or unreachable".into())
    );
    let survivor = cluster
        .clients
        .iter()
        .find(|(n, _)| *n != leader)
        .map(|(_, c)| c.clone())
        .unwrap();
    retry_ok(&survivor, op(OpKind::Write, "r", json!(3)), RETRY_WITHIN).await;
    let new_leader = cluster.wait_for_leader(Duration::from_secs(20)).await;
    eprintln!(
        "leader {leader} killed; {new_leader} leads and took a write after {:?}",
        killed_at.elapsed()
    );
    assert_ne!(new_leader, leader);
    cluster
        .nemesis
        .restart(std::slice::from_ref(&leader))
        .await
        .unwrap();
    assert_eq!(retry_ok(&old, read("r"), RETRY_WITHIN).await, json!(3));
    assert_eq!(
        retry_ok(&old, read("ctr"), RETRY_WITHIN).await,
        json!(counter),
        "the restarted member kept its data"
    );
    cluster.nemesis.shutdown().await.unwrap();
}
