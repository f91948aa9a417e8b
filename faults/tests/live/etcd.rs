//! A foreign binary under network mode `namespaces`: three etcd members,
//! each in its own namespace on fixed ports (2379/2380 on its own
//! address), partitioned by per-node rules. Isolating the leader stops it
//! committing, the majority elects another leader and commits, and after
//! heal the old leader follows the new one. Skips when etcd is missing.

use std::{
    net::{Ipv4Addr, SocketAddrV4},
    path::Path,
    time::{Duration, Instant},
};

use faults::{
    Firewall, Nemesis, NodeName, NodeSpec, Outcome, PartitionShape,
    net::{NamespacedIptables, NodeNetworks},
    shapes,
};
use serde_json::Value;

use crate::{
    Scenario,
    support::{
        Verdict, http_exchange, require_iptables, run_namespaced_scenario, skip_or_fail, which,
    },
};

pub const SCENARIO: Scenario = Scenario {
    name: "namespaces-etcd",
    private_namespace: true,
    body: || Box::pin(body()),
};

const ETCD: &str = "/usr/bin/etcd";

pub fn partition_etcd() -> Verdict {
    if let Err(v) = require_iptables() {
        return v;
    }
    if which("ip").is_none() {
        return skip_or_fail("`ip` is not installed (apt-get install -y iproute2)");
    }
    if !Path::new(ETCD).is_file() {
        return skip_or_fail(format!(
            "{ETCD} is not installed (apt-get install -y etcd-server)"
        ));
    }
    run_namespaced_scenario(SCENARIO.name, Duration::from_secs(120))
}

/// POST `body` to etcd's JSON gateway at `ip:2379`, within `timeout`.
fn post(ip: Ipv4Addr, path: &str, body: &str, timeout: Duration) -> Result<Value, String> {
    let to = SocketAddrV4::new(ip, 2379);
    let (head, body) = http_exchange(to, "POST", path, body, timeout)?;
    if !head.starts_with("HTTP/1.1 200") {
        return Err(head.lines().next().unwrap_or_default().to_owned());
    }
    // Chunked or not, the JSON object is the part between the outer braces.
    let json = &body[body.find('{').ok_or("no JSON")?..=body.rfind('}').ok_or("no JSON")?];
    serde_json::from_str(json).map_err(|e| e.to_string())
}

async fn post_async(
    ip: Ipv4Addr,
    path: &'static str,
    body: String,
    timeout: Duration,
) -> Result<Value, String> {
    tokio::task::spawn_blocking(move || post(ip, path, &body, timeout))
        .await
        .expect("request thread")
}

/// (member id, leader id) as `ip` reports them.
async fn status(ip: Ipv4Addr) -> Option<(String, String)> {
    let s = post_async(
        ip,
        "/v3/maintenance/status",
        "{}".into(),
        Duration::from_millis(500),
    )
    .await
    .ok()?;
    Some((
        s["header"]["member_id"].as_str()?.to_owned(),
        // A member without a leader omits the field (0).
        s["leader"].as_str().unwrap_or("0").to_owned(),
    ))
}

/// The member among `ips` that a majority of `ips` follows and that
/// follows itself.
async fn leader_among(ips: &[(NodeName, Ipv4Addr)], within: Duration) -> NodeName {
    let started = Instant::now();
    loop {
        let mut seen = Vec::new();
        for (name, ip) in ips {
            if let Some(s) = status(*ip).await {
                seen.push((name.clone(), s));
            }
        }
        for (name, (id, leader)) in &seen {
            let votes = seen.iter().filter(|(_, (_, l))| l == id).count();
            if id == leader && votes > ips.len() / 2 {
                return name.clone();
            }
        }
        assert!(
            started.elapsed() < within,
            "no agreed leader among {ips:?} within {within:?}: {seen:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn put(key: &str, value: &str) -> String {
    let b64 = |s: &str| {
        // Keys and values here are short ASCII; std has no base64.
        const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        let mut out = String::new();
        for chunk in s.as_bytes().chunks(3) {
            let n = chunk
                .iter()
                .enumerate()
                .fold(0u32, |n, (i, &b)| n | u32::from(b) << (16 - 8 * i));
            for i in 0..4 {
                out.push(if i <= chunk.len() {
                    A[(n >> (18 - 6 * i) & 63) as usize] as char
                } else {
                    '='
                });
            }
        }
        out
    };
    format!(r#"{{"key":"{}","value":"{}"}}"#, b64(key), b64(value))
}

async fn body() {
    let nodes = NodeName::cluster(3);
    let networks = NodeNetworks::create(&nodes).await.expect("node networks");
    let firewall = Firewall::namespaces(&networks).await.expect("firewall");
    let mut nemesis: Nemesis<NamespacedIptables> = Nemesis::new(Some(firewall));
    let dir = tempfile::tempdir().expect("temp dir");
    let ips: Vec<(NodeName, Ipv4Addr)> = nodes
        .iter()
        .map(|n| (n.clone(), networks.addr(n).unwrap()))
        .collect();
    let initial = ips
        .iter()
        .map(|(n, ip)| format!("{n}=http://{ip}:2380"))
        .collect::<Vec<_>>()
        .join(",");
    for (name, ip) in &ips {
        let spec =
            NodeSpec::new(name.clone(), ETCD, dir.path().join(format!("{name}.log"))).args([
                format!("--name={name}"),
                format!("--data-dir={}", dir.path().join(name.as_str()).display()),
                format!("--listen-client-urls=http://{ip}:2379"),
                format!("--advertise-client-urls=http://{ip}:2379"),
                format!("--listen-peer-urls=http://{ip}:2380"),
                format!("--initial-advertise-peer-urls=http://{ip}:2380"),
                format!("--initial-cluster={initial}"),
                "--initial-cluster-state=new".into(),
                "--heartbeat-interval=100".into(),
                "--election-timeout=1000".into(),
            ]);
        nemesis
            .start_node(networks.place(spec).unwrap())
            .await
            .expect("start etcd");
    }
    let started = Instant::now();
    let leader = leader_among(&ips, Duration::from_secs(30)).await;
    println!("leader {leader} after {:?}", started.elapsed());
    let ip_of = |n: &NodeName| ips.iter().find(|(m, _)| m == n).unwrap().1;
    let ok = post_async(
        ip_of(&leader),
        "/v3/kv/put",
        put("k", "1"),
        Duration::from_secs(5),
    )
    .await;
    assert!(ok.is_ok(), "{ok:?}");

    // Isolate the leader: it can no longer commit; the others elect one of
    // themselves and commit.
    let grudge = shapes::isolate(&leader, &nodes).unwrap();
    let report = nemesis
        .partition(grudge, Some(PartitionShape::IsolateLeader))
        .await
        .unwrap();
    assert_eq!(report.outcome, Outcome::Installed);
    let isolated_at = Instant::now();
    let majority: Vec<(NodeName, Ipv4Addr)> =
        ips.iter().filter(|(n, _)| *n != leader).cloned().collect();
    let new_leader = leader_among(&majority, Duration::from_secs(30)).await;
    println!(
        "isolated {leader}; {new_leader} leads the majority after {:?}",
        isolated_at.elapsed()
    );
    assert_ne!(new_leader, leader);
    let stuck = post_async(
        ip_of(&leader),
        "/v3/kv/put",
        put("k", "2"),
        Duration::from_millis(1500),
    )
    .await;
    assert!(
        stuck.is_err(),
        "the isolated leader committed a write: {stuck:?}"
    );
    // The majority commits (through whichever of them leads by then: on a
    // loaded machine leadership may move again).
    let committing = Instant::now();
    loop {
        let leading = leader_among(&majority, Duration::from_secs(30)).await;
        let ok = post_async(
            ip_of(&leading),
            "/v3/kv/put",
            put("k", "3"),
            Duration::from_secs(2),
        )
        .await;
        if ok.is_ok() {
            break;
        }
        assert!(
            committing.elapsed() < Duration::from_secs(30),
            "the majority never committed: {ok:?}"
        );
    }
    // Clients still reach the isolated member (its status answers).
    let asking = Instant::now();
    while status(ip_of(&leader)).await.is_none() {
        assert!(
            asking.elapsed() < Duration::from_secs(10),
            "the isolated member never answered a client"
        );
    }

    // Heal: the old leader rejoins and follows the new term's leader.
    nemesis.heal().await.unwrap();
    let healed_at = Instant::now();
    // The isolated member campaigned in higher terms, so on rejoining it
    // may depose the majority's leader: ask who leads on every attempt.
    let after = loop {
        let after = leader_among(&ips, Duration::from_secs(30)).await;
        if let Some((_, followed)) = status(ip_of(&leader)).await
            && let Some((id, _)) = status(ip_of(&after)).await
            && followed == id
        {
            break after;
        }
        assert!(
            healed_at.elapsed() < Duration::from_secs(30),
            "{leader} never rejoined"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    println!(
        "healed; {leader} follows {after} after {:?}",
        healed_at.elapsed()
    );
    nemesis.shutdown().await.expect("shutdown");
}
