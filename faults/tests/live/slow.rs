//! Slow networks on real traffic, in both network modes: a request over a
//! slowed link takes at least its delays, other links and clients do not
//! pay them, a partition or certain loss during a slow window still drops
//! everything (a datagram held when the partition starts too), and after
//! heal nothing is slow and no delayer runs. The host's ruleset is the same
//! before and after each scenario.

use std::{
    collections::BTreeMap,
    io::{BufRead, BufReader, Write},
    net::{Ipv4Addr, SocketAddrV4, TcpStream, UdpSocket},
    time::{Duration, Instant},
};

use faults::{
    EventName, FaultReport, Firewall, Nemesis, NodeName, Outcome, PartitionShape,
    net::{
        AnyBackend, NodeNetworks, RuleBackend, RuleSet,
        slow::{SlowParams, SlowScope},
    },
    netns::NetNamespace,
    node::loopback_addr,
    shapes,
};

use crate::{
    Scenario,
    support::{
        PORT, Verdict, host_rules, listener_spec, node_addr, require_iptables,
        run_namespaced_scenario, skip_or_fail, wait_reachable, which,
    },
};

pub const LOOPBACK: Scenario = Scenario {
    name: "slow-loopback",
    private_namespace: true,
    body: || Box::pin(loopback_body()),
};
pub const NAMESPACES: Scenario = Scenario {
    name: "slow-namespaces",
    private_namespace: true,
    body: || Box::pin(namespaces_body()),
};

pub fn loopback() -> Verdict {
    if let Err(v) = require_iptables() {
        return v;
    }
    host_unchanged_around(LOOPBACK.name)
}

pub fn namespaces() -> Verdict {
    if let Err(v) = require_iptables() {
        return v;
    }
    if which("ip").is_none() {
        return skip_or_fail("`ip` is not installed (apt-get install -y iproute2)");
    }
    host_unchanged_around(NAMESPACES.name)
}

/// Run the scenario, and check that the host's rulesets (read with the
/// read-only `*-save` commands) are the same afterwards.
fn host_unchanged_around(scenario: &str) -> Verdict {
    let before = host_rules();
    let verdict = run_namespaced_scenario(scenario, Duration::from_secs(120));
    let after = host_rules();
    match verdict {
        Verdict::Pass if before != after => Verdict::Fail(format!(
            "the host's ruleset changed:\n--- before\n{before}--- after\n{after}"
        )),
        other => other,
    }
}

const N: u32 = 3;
/// The delay of most checks; a request over a slowed link pays it four
/// times (SYN, SYN-ACK, request, answer).
const DELAY: Duration = Duration::from_millis(150);
/// How long a request that should fail is given.
const PATIENCE: Duration = Duration::from_secs(2);
/// How long a request that should succeed is given.
const GENEROUS: Duration = Duration::from_secs(8);

/// Where a request comes from: a node's loopback address, or a node's
/// namespace.
#[derive(Clone)]
enum Source {
    Addr(Ipv4Addr),
    Namespace(NetNamespace),
    Client,
}

/// A cluster of listener nodes under one `Nemesis<AnyBackend>`.
struct Cluster {
    nemesis: Nemesis<AnyBackend>,
    sources: BTreeMap<u32, Source>,
    addrs: BTreeMap<u32, SocketAddrV4>,
    _networks: Option<NodeNetworks>,
    _dir: tempfile::TempDir,
}

impl Cluster {
    async fn loopback() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let addrs = (1..=N)
            .map(|i| (NodeName::numbered(i), loopback_addr(i).unwrap()))
            .collect();
        let firewall = Firewall::any_loopback(addrs).await.expect("firewall");
        let mut nemesis = Nemesis::new(Some(firewall));
        for i in 1..=N {
            let spec = listener_spec(&NodeName::numbered(i), node_addr(i), dir.path());
            nemesis.start_node(spec).await.expect("start node");
            wait_reachable(node_addr(i), GENEROUS)
                .await
                .expect("node answers");
        }
        Self {
            nemesis,
            sources: (1..=N)
                .map(|i| (i, Source::Addr(loopback_addr(i).unwrap())))
                .collect(),
            addrs: (1..=N).map(|i| (i, node_addr(i))).collect(),
            _networks: None,
            _dir: dir,
        }
    }

    async fn namespaces() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let nodes = NodeName::cluster(N);
        let networks = NodeNetworks::create(&nodes).await.expect("node networks");
        let firewall = Firewall::any_namespaces(&networks).await.expect("firewall");
        let mut nemesis = Nemesis::new(Some(firewall));
        let mut sources = BTreeMap::new();
        let mut addrs = BTreeMap::new();
        for (i, name) in (1..).zip(&nodes) {
            let addr = SocketAddrV4::new(networks.addr(name).unwrap(), PORT);
            let spec = networks
                .place(listener_spec(name, addr, dir.path()))
                .expect("place");
            nemesis.start_node(spec).await.expect("start node");
            sources.insert(
                i,
                Source::Namespace(networks.node(name).unwrap().namespace.clone()),
            );
            addrs.insert(i, addr);
        }
        let cluster = Self {
            nemesis,
            sources,
            addrs,
            _networks: Some(networks),
            _dir: dir,
        };
        for i in 1..=N {
            let deadline = Instant::now() + GENEROUS;
            while cluster
                .request(Source::Client, i, GENEROUS)
                .await
                .0
                .is_err()
            {
                assert!(Instant::now() < deadline, "n{i} never answered");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
        cluster
    }

    /// One request to node `to` from `from`, and how long it took.
    async fn request(
        &self,
        from: Source,
        to: u32,
        timeout: Duration,
    ) -> (Result<String, String>, Duration) {
        let addr = self.addrs[&to];
        let started = Instant::now();
        let result = tokio::task::spawn_blocking(move || match from {
            Source::Namespace(ns) => ns
                .run_in(|| exchange(None, addr, timeout))
                .map_err(|e| e.to_string())
                .and_then(|r| r),
            Source::Addr(ip) => exchange(Some(ip), addr, timeout),
            Source::Client => exchange(None, addr, timeout),
        })
        .await
        .expect("request thread");
        (result, started.elapsed())
    }

    fn node(&self, i: u32) -> Source {
        self.sources[&i].clone()
    }

    /// A request from `from` to node `b` answers without paying the four
    /// delays of a slowed link (under `2 × DELAY`, for loaded machines).
    async fn expect_fast(&self, when: &str, from: Source, b: u32) {
        // Retry: a first connection may pay for ARP, a cold listener or a
        // busy machine.
        let mut last = None;
        for _ in 0..5 {
            let (got, took) = self.request(from.clone(), b, GENEROUS).await;
            if got.is_ok() && took < 2 * DELAY {
                return;
            }
            last = Some((got, took));
        }
        panic!("{when}: a request to n{b} should be fast: {last:?}");
    }

    /// A request from node `a` to node `b` takes at least `times` delays.
    async fn expect_slow(&self, when: &str, a: u32, b: u32, times: u32) -> Duration {
        let (got, took) = self.request(self.node(a), b, GENEROUS).await;
        assert!(got.is_ok(), "{when}: n{a} -> n{b} failed: {got:?}");
        let floor = DELAY * times;
        assert!(
            took >= floor && took < floor + Duration::from_secs(3),
            "{when}: n{a} -> n{b} took {took:?}, want at least {floor:?}"
        );
        took
    }

    async fn expect_dropped(&self, when: &str, a: u32, b: u32) {
        let (got, took) = self.request(self.node(a), b, PATIENCE).await;
        assert!(
            got.is_err(),
            "{when}: n{a} -> n{b} answered after {took:?}: {got:?}"
        );
    }
}

/// A blocking request/response, optionally bound to `bind`.
fn exchange(bind: Option<Ipv4Addr>, to: SocketAddrV4, timeout: Duration) -> Result<String, String> {
    let stream = match bind {
        None => {
            TcpStream::connect_timeout(&to.into(), timeout).map_err(|e| format!("connect: {e}"))?
        }
        Some(ip) => {
            let socket = tokio::net::TcpSocket::new_v4().map_err(|e| e.to_string())?;
            socket
                .bind((ip, 0).into())
                .map_err(|e| format!("bind {ip}: {e}"))?;
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| e.to_string())?;
            runtime
                .block_on(async { tokio::time::timeout(timeout, socket.connect(to.into())).await })
                .map_err(|_| "connect: timed out".to_owned())?
                .map_err(|e| format!("connect: {e}"))?
                .into_std()
                .map_err(|e| e.to_string())?
        }
    };
    stream.set_nonblocking(false).ok();
    stream.set_read_timeout(Some(timeout)).ok();
    (&stream)
        .write_all(b"ping\n")
        .map_err(|e| format!("write: {e}"))?;
    let mut line = String::new();
    BufReader::new(&stream)
        .read_line(&mut line)
        .map_err(|e| format!("read: {e}"))?;
    if line.is_empty() {
        return Err("closed without answering".into());
    }
    Ok(line.trim().to_owned())
}

fn fs(report: &FaultReport) -> Vec<EventName> {
    report.events.iter().map(|e| e.f).collect()
}

fn n(i: u32) -> NodeName {
    NodeName::numbered(i)
}

async fn loopback_body() {
    let mut cluster = Cluster::loopback().await;
    common(&mut cluster).await;
    held_datagram_meets_a_later_partition(&mut cluster).await;
    cluster.nemesis.shutdown().await.expect("shutdown");
}

async fn namespaces_body() {
    let mut cluster = Cluster::namespaces().await;
    common(&mut cluster).await;
    cluster.nemesis.shutdown().await.expect("shutdown");
}

async fn common(cluster: &mut Cluster) {
    cluster.expect_fast("before", cluster.node(1), 2).await;

    // n2 slow: both directions of its links pay the delay.
    let report = cluster
        .nemesis
        .slow(SlowScope::Nodes(vec![n(2)]), SlowParams::delay(DELAY))
        .await
        .unwrap();
    assert_eq!(report.outcome, Outcome::Installed);
    assert_eq!(fs(&report), [EventName::StartSlow]);
    let rendered = cluster
        .nemesis
        .firewall()
        .unwrap()
        .backend()
        .render(
            RuleSet::Slow,
            &SlowScope::Nodes(vec![n(2)]).rules(cluster.nemesis.firewall().unwrap().nodes()),
        )
        .unwrap();
    println!("slow rules:\n{}", rendered.join("\n"));
    let took = cluster.expect_slow("n2 slow", 1, 2, 4).await;
    println!("n1 -> n2 with n2 slowed by {DELAY:?}: {took:?}");
    cluster.expect_slow("n2 slow", 2, 3, 4).await;
    cluster.expect_fast("n2 slow", cluster.node(1), 3).await;
    cluster
        .expect_fast("n2 slow, client", Source::Client, 2)
        .await;

    // A slow link replaces it: only n1 <-> n3 is slow now.
    let report = cluster
        .nemesis
        .slow(
            SlowScope::Links(vec![(n(1), n(3))]),
            SlowParams::delay(DELAY),
        )
        .await
        .unwrap();
    assert_eq!(fs(&report), [EventName::StopSlow, EventName::StartSlow]);
    cluster.expect_slow("link n1-n3", 3, 1, 4).await;
    cluster.expect_fast("link n1-n3", cluster.node(1), 2).await;
    cluster.expect_fast("link n1-n3", cluster.node(2), 3).await;

    // A partition during the slow window still drops everything.
    cluster
        .nemesis
        .slow(SlowScope::Nodes(vec![n(2)]), SlowParams::delay(DELAY))
        .await
        .unwrap();
    let nodes = cluster.nemesis.node_names();
    let grudge = shapes::isolate(&n(2), &nodes).unwrap();
    cluster
        .nemesis
        .partition(grudge, Some(PartitionShape::IsolateOne))
        .await
        .unwrap();
    cluster.expect_dropped("partition during slow", 1, 2).await;
    cluster.expect_dropped("partition during slow", 2, 3).await;
    cluster
        .expect_fast("partition during slow", cluster.node(1), 3)
        .await;
    let report = cluster.nemesis.heal().await.unwrap();
    assert_eq!(fs(&report), [EventName::StopPartition, EventName::StopSlow]);

    // So does certain loss.
    cluster
        .nemesis
        .slow(SlowScope::Nodes(vec![n(2)]), SlowParams::delay(DELAY))
        .await
        .unwrap();
    cluster.nemesis.loss(&[n(2)], 1.0).await.unwrap();
    cluster.expect_dropped("loss during slow", 1, 2).await;
    let stats = cluster.nemesis.firewall().unwrap().delay_stats();
    assert!(
        !stats.is_empty() && stats.values().all(|s| s.errors == 0),
        "{stats:?}"
    );
    let report = cluster.nemesis.heal().await.unwrap();
    assert_eq!(fs(&report), [EventName::StopLoss, EventName::StopSlow]);

    // After heal: fast again, and no delayer left running.
    assert!(cluster.nemesis.firewall().unwrap().delay_stats().is_empty());
    cluster.expect_fast("healed", cluster.node(1), 2).await;
    cluster.expect_fast("healed", cluster.node(2), 3).await;
}

/// A datagram held by the delayer when a partition starts is dropped when
/// its delay ends: released packets traverse the rules again.
async fn held_datagram_meets_a_later_partition(cluster: &mut Cluster) {
    let delay = Duration::from_millis(600);
    let receiver = UdpSocket::bind((loopback_addr(2).unwrap(), 7100)).expect("bind n2's port");
    receiver
        .set_read_timeout(Some(Duration::from_millis(1500)))
        .unwrap();
    let sender = UdpSocket::bind((loopback_addr(1).unwrap(), 0)).expect("bind n1's address");
    let send = || {
        sender
            .send_to(b"x", (loopback_addr(2).unwrap(), 7100))
            .expect("send")
    };
    let mut buf = [0u8; 8];
    cluster
        .nemesis
        .slow(SlowScope::Nodes(vec![n(2)]), SlowParams::delay(delay))
        .await
        .unwrap();

    // Without a partition the datagram arrives, late.
    let started = Instant::now();
    send();
    receiver.recv(&mut buf).expect("the datagram arrives");
    assert!(started.elapsed() >= delay, "{:?}", started.elapsed());

    // Held when the partition starts: never arrives.
    send();
    tokio::time::sleep(Duration::from_millis(150)).await;
    let nodes = cluster.nemesis.node_names();
    let grudge = shapes::isolate(&n(2), &nodes).unwrap();
    cluster.nemesis.partition(grudge, None).await.unwrap();
    let got = receiver.recv(&mut buf);
    assert!(got.is_err(), "a held datagram crossed a partition: {got:?}");
    cluster.nemesis.heal().await.unwrap();
}
