//! Network mode `namespaces`: listener nodes in their own namespaces on a
//! bridge. Real traffic between the namespaces through isolate-one, heal,
//! loss, kill and restart; the host's interfaces, routes and ruleset are
//! unchanged; SIGKILL of the controller leaves no process, namespace or
//! rule behind.

use std::{
    collections::BTreeMap,
    io::{BufRead, BufReader, Write},
    net::{SocketAddrV4, TcpStream},
    os::unix::fs::MetadataExt,
    path::Path,
    process::Command,
    time::Duration,
};

use faults::{
    EventName, FaultReport, Firewall, Nemesis, NodeName, Outcome, PartitionShape,
    net::{NamespacedIptables, NodeNetworks, RuleBackend, RuleSet, partition_rules},
    netns::{self, NetNamespace},
    shapes,
};
use tokio::task::JoinSet;

use crate::{
    Scenario,
    support::{
        PORT, Verdict, describe, eventually, host_rules, listener_spec, pid_alive,
        require_iptables, require_privileges, run_namespaced_scenario, run_with_timeout,
        scenario_command, sigkill_controller, skip_or_fail, spawn_until_ready, which,
    },
};

pub const TRAFFIC: Scenario = Scenario {
    name: "namespaces-traffic",
    private_namespace: true,
    body: || Box::pin(traffic_body()),
};
pub const EXIT_WITHOUT_CLEANUP: Scenario = Scenario {
    name: "namespaces-exit-without-cleanup",
    private_namespace: true,
    body: || Box::pin(exit_without_cleanup_body()),
};
pub const CONTROLLER: Scenario = Scenario {
    name: "namespaces-sigkill-controller",
    private_namespace: true,
    body: || Box::pin(controller_body()),
};

const N: u32 = 3;
/// How long a request that should fail is given.
const PATIENCE: Duration = Duration::from_secs(1);
/// How long a request that should succeed is given.
const GENEROUS: Duration = Duration::from_secs(5);

/// `Err(verdict)` unless root, iptables and ip are there.
fn require() -> Result<(), Verdict> {
    require_privileges()?;
    if which("ip").is_none() {
        return Err(skip_or_fail(
            "`ip` is not installed (apt-get install -y iproute2)",
        ));
    }
    Ok(())
}

/// As root, or through an unprivileged user namespace (where the bridge,
/// veths and namespaces work the same).
pub fn traffic() -> Verdict {
    if let Err(v) = require_iptables() {
        return v;
    }
    if which("ip").is_none() {
        return skip_or_fail("`ip` is not installed (apt-get install -y iproute2)");
    }
    run_namespaced_scenario(TRAFFIC.name, Duration::from_secs(120))
}

/// One line exchanged with `to` from inside `from` (a node's namespace), or
/// from the controller's namespace when `from` is `None`.
async fn request(
    from: Option<NetNamespace>,
    to: SocketAddrV4,
    timeout: Duration,
) -> Result<String, String> {
    let exchange = move || -> Result<String, String> {
        let mut stream =
            TcpStream::connect_timeout(&to.into(), timeout).map_err(|e| format!("connect: {e}"))?;
        stream.set_read_timeout(Some(timeout)).ok();
        stream
            .write_all(b"ping\n")
            .map_err(|e| format!("write: {e}"))?;
        let mut line = String::new();
        BufReader::new(stream)
            .read_line(&mut line)
            .map_err(|e| format!("read: {e}"))?;
        if line.is_empty() {
            return Err("closed without answering".into());
        }
        Ok(line.trim().to_owned())
    };
    tokio::task::spawn_blocking(move || match from {
        Some(ns) => ns.run_in(exchange).map_err(|e| e.to_string())?,
        None => exchange(),
    })
    .await
    .expect("request thread")
}

async fn wait_reachable(to: SocketAddrV4) -> Result<String, String> {
    let deadline = tokio::time::Instant::now() + GENEROUS;
    loop {
        let last = request(None, to, Duration::from_millis(500)).await;
        if last.is_ok() || tokio::time::Instant::now() >= deadline {
            return last;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

struct Cluster {
    networks: NodeNetworks,
    nemesis: Nemesis<NamespacedIptables>,
    _dir: tempfile::TempDir,
}

impl Cluster {
    async fn start() -> Cluster {
        let nodes = NodeName::cluster(N);
        let networks = NodeNetworks::create(&nodes).await.expect("node networks");
        let firewall = Firewall::namespaces(&networks).await.expect("firewall");
        let mut nemesis = Nemesis::new(Some(firewall));
        let dir = tempfile::tempdir().expect("temp dir");
        for name in &nodes {
            let addr = SocketAddrV4::new(networks.addr(name).unwrap(), PORT);
            let spec = networks
                .place(listener_spec(name, addr, dir.path()))
                .expect("place");
            nemesis.start_node(spec).await.expect("start node");
            wait_reachable(addr).await.expect("node answers a client");
        }
        Cluster {
            networks,
            nemesis,
            _dir: dir,
        }
    }

    fn addr(&self, i: u32) -> SocketAddrV4 {
        SocketAddrV4::new(self.networks.addr(&NodeName::numbered(i)).unwrap(), PORT)
    }

    fn namespace(&self, i: u32) -> NetNamespace {
        self.networks
            .node(&NodeName::numbered(i))
            .unwrap()
            .namespace
            .clone()
    }

    /// Every ordered pair of nodes at once, from inside the sender's
    /// namespace: `expect(a, b)` says whether b should answer a.
    async fn check_pairs(&self, when: &str, expect: impl Fn(u32, u32) -> bool) {
        let mut checks = JoinSet::new();
        for a in 1..=N {
            for b in (1..=N).filter(|&b| b != a) {
                let patience = if expect(a, b) { GENEROUS } else { PATIENCE };
                let (from, to) = (self.namespace(a), self.addr(b));
                checks.spawn(async move { (a, b, request(Some(from), to, patience).await) });
            }
        }
        let mut wrong = BTreeMap::new();
        while let Some(result) = checks.join_next().await {
            let (a, b, got) = result.expect("pair check task");
            if got.is_ok() != expect(a, b) {
                wrong.insert((a, b), got);
            }
        }
        assert!(
            wrong.is_empty(),
            "{when}: unexpected results for (from, to): {wrong:#?}"
        );
    }
}

fn only_event(report: &FaultReport, f: EventName) -> u64 {
    assert_eq!(report.events.len(), 1, "{report:#?}");
    assert_eq!(report.events[0].f, f, "{report:#?}");
    report.events[0].value.id.0
}

async fn traffic_body() {
    let mut cluster = Cluster::start().await;
    let here = netns::current_namespace().unwrap();
    for node in cluster.networks.nodes() {
        assert_ne!(
            node.namespace.id(),
            here,
            "{} has its own namespace",
            node.name
        );
    }
    // The node really runs in its namespace.
    let pid = cluster.nemesis.node(&"n1".into()).unwrap().pid().unwrap();
    assert_eq!(
        netns::namespace_of(Path::new(&format!("/proc/{pid}/ns/net"))).unwrap(),
        cluster.namespace(1).id()
    );
    cluster.check_pairs("before any fault", |_, _| true).await;

    let nodes = cluster.nemesis.node_names();
    let (n1, n2, n3) = (nodes[0].clone(), nodes[1].clone(), nodes[2].clone());
    let grudge = shapes::isolate(&n1, &nodes).unwrap();
    let report = cluster
        .nemesis
        .partition(grudge.clone(), Some(PartitionShape::IsolateOne))
        .await
        .unwrap();
    assert_eq!(report.outcome, Outcome::Installed);
    let id = only_event(&report, EventName::StartPartition);
    // The rules are in the receivers' namespaces, exactly as rendered.
    let backend = cluster.nemesis.firewall().unwrap().backend();
    for line in backend
        .render(RuleSet::Partition, &partition_rules(&grudge))
        .unwrap()
    {
        let (node, rule) = line.split_once(": ").unwrap();
        let listed = backend
            .iptables(&node.into())
            .unwrap()
            .iptables(&["-S", "HARNESS-PARTITION"])
            .await
            .unwrap();
        assert!(
            listed.contains(rule),
            "{rule:?} missing in {node}:\n{listed}"
        );
    }
    println!(
        "{}",
        backend
            .render(RuleSet::Partition, &partition_rules(&grudge))
            .unwrap()
            .join("\n")
    );
    cluster
        .check_pairs("n1 isolated", |a, b| a != 1 && b != 1)
        .await;
    // Clients, from the bridge's address, still reach the isolated node.
    assert_eq!(
        request(None, cluster.addr(1), GENEROUS).await.unwrap(),
        "pong n1"
    );
    let report = cluster.nemesis.heal().await.unwrap();
    assert_eq!(only_event(&report, EventName::StopPartition), id);
    cluster.check_pairs("healed", |_, _| true).await;

    let report = cluster
        .nemesis
        .loss(std::slice::from_ref(&n2), 1.0)
        .await
        .unwrap();
    let id = only_event(&report, EventName::StartLoss);
    cluster
        .check_pairs("n2 losing every packet", |a, b| a != 2 && b != 2)
        .await;
    let report = cluster.nemesis.heal().await.unwrap();
    assert_eq!(only_event(&report, EventName::StopLoss), id);
    cluster.check_pairs("loss healed", |_, _| true).await;

    // A restarted node comes back in its own namespace.
    cluster
        .nemesis
        .kill(std::slice::from_ref(&n3))
        .await
        .unwrap();
    assert!(request(None, cluster.addr(3), PATIENCE).await.is_err());
    cluster
        .nemesis
        .restart(std::slice::from_ref(&n3))
        .await
        .unwrap();
    wait_reachable(cluster.addr(3)).await.expect("restarted");
    let pid = cluster.nemesis.node(&n3).unwrap().pid().unwrap();
    assert_eq!(
        netns::namespace_of(Path::new(&format!("/proc/{pid}/ns/net"))).unwrap(),
        cluster.namespace(3).id()
    );
    cluster.check_pairs("after restart", |_, _| true).await;

    // Partition again and leave it to shutdown and drop.
    let grudge = shapes::isolate(&n2, &nodes).unwrap();
    cluster.nemesis.partition(grudge, None).await.unwrap();
    let Cluster {
        networks, nemesis, ..
    } = cluster;
    nemesis.shutdown().await.expect("shutdown");
    drop(networks);
    let links = Command::new("ip").args(["-o", "link"]).output().unwrap();
    let links = String::from_utf8_lossy(&links.stdout);
    assert!(
        !links.contains("harness0") && !links.contains("hv1"),
        "links left after drop:\n{links}"
    );
}

/// The host's interfaces, addresses and routes, as `ip` lists them.
fn host_network() -> String {
    let mut snapshot = String::new();
    for args in [
        &["-o", "link"][..],
        &["-o", "addr"][..],
        &["route"][..],
        &["-6", "route"][..],
        &["rule"][..],
    ] {
        let out = Command::new("ip").args(args).output().expect("ip runs");
        snapshot.push_str(&format!("## ip {}\n", args.join(" ")));
        snapshot.push_str(&String::from_utf8_lossy(&out.stdout));
    }
    snapshot
}

pub fn host_unchanged() -> Verdict {
    if let Err(v) = require() {
        return v;
    }
    let (network, rules) = (host_network(), host_rules());
    let out = match run_with_timeout(
        scenario_command(EXIT_WITHOUT_CLEANUP.name),
        Duration::from_secs(60),
    ) {
        Ok(out) if out.status.success() => out,
        Ok(out) => return Verdict::Fail(describe(EXIT_WITHOUT_CLEANUP.name, &out)),
        Err(e) => return Verdict::Fail(e),
    };
    let host = netns::current_namespace().unwrap().ino;
    let stdout = String::from_utf8_lossy(&out.stdout);
    if stdout
        .lines()
        .any(|l| l.starts_with("NETNS ") && l.split(' ').skip(1).any(|i| i == host.to_string()))
    {
        return Verdict::Fail(format!("something ran in the host's namespace:\n{stdout}"));
    }
    let (network_after, rules_after) = (host_network(), host_rules());
    if network != network_after {
        return Verdict::Fail(format!(
            "host network changed\n--- before\n{network}--- after\n{network_after}"
        ));
    }
    if rules != rules_after || rules_after.contains("HARNESS") {
        return Verdict::Fail(format!(
            "host ruleset changed\n--- before\n{rules}--- after\n{rules_after}"
        ));
    }
    Verdict::Pass
}

/// Networks, a partition and loss, then exit without heal, shutdown or
/// drop.
async fn exit_without_cleanup_body() {
    let nodes = NodeName::cluster(N);
    let networks = NodeNetworks::create(&nodes).await.expect("node networks");
    let mut firewall = Firewall::namespaces(&networks).await.expect("firewall");
    let grudge = shapes::isolate(&nodes[0], &nodes).unwrap();
    assert_eq!(
        firewall.partition(&grudge).await.unwrap(),
        Outcome::Installed
    );
    assert_eq!(
        firewall.loss(&nodes[1..2], 0.3).await.unwrap(),
        Outcome::Installed
    );
    println!(
        "NETNS {}",
        networks
            .nodes()
            .map(|n| n.namespace.id().ino.to_string())
            .collect::<Vec<_>>()
            .join(" ")
    );
    std::process::exit(0);
}

/// Networks, three listener nodes, isolate-one, pause two; report; wait to
/// be killed.
async fn controller_body() {
    let cluster = Cluster::start().await;
    let mut cluster = cluster;
    let nodes = cluster.nemesis.node_names();
    let grudge = shapes::isolate(&nodes[0], &nodes).unwrap();
    cluster
        .nemesis
        .partition(grudge, Some(PartitionShape::IsolateOne))
        .await
        .unwrap();
    cluster.nemesis.pause(&nodes[..2]).await.unwrap();
    let pids: Vec<String> = nodes
        .iter()
        .map(|n| cluster.nemesis.node(n).unwrap().pid().unwrap().to_string())
        .collect();
    println!("PIDS {}", pids.join(" "));
    println!(
        "NODENS {}",
        cluster
            .networks
            .nodes()
            .map(|n| n.namespace.id().ino.to_string())
            .collect::<Vec<_>>()
            .join(" ")
    );
    println!("READY");
    tokio::time::sleep(Duration::from_secs(3600)).await;
    unreachable!("the test kills this process long before");
}

/// Tasks in, and descriptors of, the namespace with inode `ino`.
fn holders_of(ino: u64) -> Vec<String> {
    let mut found = Vec::new();
    let link = format!("net:[{ino}]");
    let Ok(procs) = std::fs::read_dir("/proc") else {
        return found;
    };
    for proc in procs.flatten() {
        if let Ok(tasks) = std::fs::read_dir(proc.path().join("task")) {
            for task in tasks.flatten() {
                if std::fs::metadata(task.path().join("ns/net")).is_ok_and(|m| m.ino() == ino) {
                    found.push(task.path().display().to_string());
                }
            }
        }
        if let Ok(fds) = std::fs::read_dir(proc.path().join("fd")) {
            for fd in fds.flatten() {
                if std::fs::read_link(fd.path()).is_ok_and(|t| t.as_os_str() == link.as_str()) {
                    found.push(fd.path().display().to_string());
                }
            }
        }
    }
    found
}

pub fn controller_killed() -> Verdict {
    if let Err(v) = require() {
        return v;
    }
    let (network, rules) = (host_network(), host_rules());
    let (mut pids, mut namespaces) = (Vec::<u32>::new(), Vec::<u64>::new());
    let spawned = spawn_until_ready(CONTROLLER.name, |line| {
        if let Some(rest) = line.strip_prefix("PIDS ") {
            pids = rest.split(' ').map(|p| p.parse().unwrap()).collect();
        } else if let Some(rest) = line
            .strip_prefix("NODENS ")
            .or_else(|| line.strip_prefix("NETNS "))
        {
            namespaces.extend(rest.split(' ').map(|p| p.parse::<u64>().unwrap()));
        }
    });
    let mut child = match spawned {
        Ok(child) => child,
        Err(verdict) => return verdict,
    };
    let verdict = (|| {
        if pids.len() != N as usize || !pids.iter().all(|&p| pid_alive(p)) {
            return Verdict::Fail(format!("nodes not all running before the kill: {pids:?}"));
        }
        // The controller's namespace and the three nodes'.
        if namespaces.len() != N as usize + 1 {
            return Verdict::Fail(format!("expected 4 namespaces, got {namespaces:?}"));
        }
        for &ino in &namespaces {
            if holders_of(ino).is_empty() {
                return Verdict::Fail(format!("nothing holds namespace {ino} before the kill"));
            }
        }
        if let Err(verdict) = sigkill_controller(&mut child) {
            return verdict;
        }
        if !eventually(Duration::from_secs(5), || {
            pids.iter().all(|&p| !pid_alive(p))
        }) {
            return Verdict::Fail(format!("node processes survived the controller: {pids:?}"));
        }
        for &ino in &namespaces {
            if !eventually(Duration::from_secs(5), || holders_of(ino).is_empty()) {
                return Verdict::Fail(format!(
                    "namespace {ino} is still held (with its links and rules): {:?}",
                    holders_of(ino)
                ));
            }
        }
        let (network_after, rules_after) = (host_network(), host_rules());
        if network != network_after || rules != rules_after {
            return Verdict::Fail(format!(
                "host changed\n--- before\n{network}{rules}--- after\n{network_after}{rules_after}"
            ));
        }
        Verdict::Pass
    })();
    let _ = child.kill();
    let _ = child.wait();
    verdict
}
