//! Each etcd member's command line: a static `--initial-cluster` of every
//! member, its data directory kept across kills and restarts.

use std::{
    net::{IpAddr, SocketAddr},
    path::{Path, PathBuf},
    time::Duration,
};

use faults::{NodeName, NodeSpec};

/// One etcd member: where it listens and keeps its data.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EtcdMember {
    /// The member's name (`--name`), the node's name.
    pub name: NodeName,
    /// Its address (its own loopback address, or its namespace's).
    pub ip: IpAddr,
    /// The client port (etcd's default is 2379).
    pub client_port: u16,
    /// The peer port (etcd's default is 2380).
    pub peer_port: u16,
    /// Its data directory, kept across kills and restarts.
    pub data_dir: PathBuf,
}

impl EtcdMember {
    /// Where clients connect: `ip:client_port`.
    pub fn client_addr(&self) -> SocketAddr {
        SocketAddr::new(self.ip, self.client_port)
    }

    /// `http://ip:client_port`.
    pub fn client_url(&self) -> String {
        format!("http://{}", self.client_addr())
    }

    /// `http://ip:peer_port`.
    pub fn peer_url(&self) -> String {
        format!("http://{}", SocketAddr::new(self.ip, self.peer_port))
    }
}

/// Cluster-wide settings of the members' command lines.
#[derive(Clone, Debug)]
pub struct EtcdSettings {
    /// `--initial-cluster-token`: keeps members of different runs apart.
    pub token: String,
    /// `--heartbeat-interval`.
    pub heartbeat: Duration,
    /// `--election-timeout` (etcd wants at least 5 heartbeats).
    pub election: Duration,
    /// Appended to every member's arguments.
    pub extra_args: Vec<String>,
}

impl Default for EtcdSettings {
    fn default() -> Self {
        Self {
            token: "harness".into(),
            heartbeat: Duration::from_millis(100),
            election: Duration::from_millis(1000),
            extra_args: Vec::new(),
        }
    }
}

/// The static `--initial-cluster` value: `n1=http://ip:peer,...`.
pub fn initial_cluster(members: &[EtcdMember]) -> String {
    members
        .iter()
        .map(|m| format!("{}={}", m.name, m.peer_url()))
        .collect::<Vec<_>>()
        .join(",")
}

/// The arguments of `member` in a cluster of `members` (which includes
/// it). A restart runs the same arguments: etcd finds its write-ahead log
/// in `--data-dir` and ignores the `--initial-*` flags.
pub fn member_args(
    members: &[EtcdMember],
    member: &EtcdMember,
    settings: &EtcdSettings,
) -> Vec<String> {
    let mut args = vec![
        format!("--name={}", member.name),
        format!("--data-dir={}", member.data_dir.display()),
        format!("--listen-client-urls={}", member.client_url()),
        format!("--advertise-client-urls={}", member.client_url()),
        format!("--listen-peer-urls={}", member.peer_url()),
        format!("--initial-advertise-peer-urls={}", member.peer_url()),
        format!("--initial-cluster={}", initial_cluster(members)),
        "--initial-cluster-state=new".to_owned(),
        format!("--initial-cluster-token={}", settings.token),
        format!("--heartbeat-interval={}", settings.heartbeat.as_millis()),
        format!("--election-timeout={}", settings.election.as_millis()),
        "--logger=zap".to_owned(),
        "--log-outputs=stderr".to_owned(),
    ];
    args.extend(settings.extra_args.iter().cloned());
    args
}

/// A [`NodeSpec`] running `binary` as `member`, logging to `log`. In the
/// `namespaces` network mode, pass it through
/// `faults::net::NodeNetworks::place` before starting it.
pub fn member_spec(
    binary: &Path,
    members: &[EtcdMember],
    member: &EtcdMember,
    settings: &EtcdSettings,
    log: &Path,
) -> NodeSpec {
    NodeSpec::new(member.name.clone(), binary, log).args(member_args(members, member, settings))
}
