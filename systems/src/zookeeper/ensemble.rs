//! Each ZooKeeper server's configuration and command line: a static
//! ensemble (`server.N` lines for every member), `zoo.cfg` and `myid` in
//! the server's own data directory, and `java` started directly on
//! `QuorumPeerMain`, logging to stdout.
//!
//! Invariants:
//! - A server's `myid` is its node number (`n2` is server 2), so the ids
//!   ZooKeeper reports (`leader_id`) are the harness's node numbers.
//! - Every start writes the same `zoo.cfg` and `myid` and then `exec`s
//!   java, so a restart after a kill runs exactly what the first start ran
//!   and finds its snapshots and transaction log where it left them. The
//!   configuration travels on the command line (one argument per line),
//!   not in a file written ahead of time: nothing is written before the
//!   nemesis starts the node.
//! - Lines the harness owns (addresses, ports, `dataDir`, `server.N`)
//!   cannot be overridden by a plan's extra lines
//!   ([`ZkSettings::extra_lines`]); see [`owned_key`].

use std::{
    net::{IpAddr, SocketAddr},
    path::{Path, PathBuf},
    time::Duration,
};

use faults::{NodeName, NodeSpec};

/// Where Debian (`libzookeeper-java`) puts ZooKeeper's jars and the ones it
/// needs: `zookeeper.jar` names its dependencies in its manifest, except a
/// logging backend and the servlet API of the admin server.
pub const DEBIAN_JARS: &str = "/usr/share/java";

/// The jars on the class path, in [`DEBIAN_JARS`]: ZooKeeper, slf4j's
/// simple logger (to stdout), and the servlet API its admin server (Jetty)
/// needs.
pub const JARS: [&str; 3] = ["zookeeper.jar", "slf4j-simple.jar", "servlet-api.jar"];

/// The server's main class.
pub const MAIN_CLASS: &str = "org.apache.zookeeper.server.quorum.QuorumPeerMain";

/// The four ports of one server.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ZkPorts {
    /// Clients connect here (`clientPort`; ZooKeeper's usual 2181).
    pub client: u16,
    /// Followers connect to the leader here (2888).
    pub quorum: u16,
    /// Leader election (3888).
    pub election: u16,
    /// The admin server (Jetty, `/commands/...`; 8080).
    pub admin: u16,
}

impl ZkPorts {
    /// ZooKeeper's customary ports, used in per-node namespaces where every
    /// server has the whole port space to itself.
    pub const STANDARD: ZkPorts = ZkPorts {
        client: 2181,
        quorum: 2888,
        election: 3888,
        admin: 8080,
    };
}

/// One server of the ensemble: its id, address, ports and data.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ZkServer {
    /// The node's name (`n2`).
    pub name: NodeName,
    /// Its `myid`, 1 to 255.
    pub id: u32,
    /// Its address (its own loopback address, or its namespace's).
    pub ip: IpAddr,
    pub ports: ZkPorts,
    /// Its data directory: `zoo.cfg`, `myid`, snapshots and the log, kept
    /// across kills and restarts.
    pub data_dir: PathBuf,
}

impl ZkServer {
    /// Where clients connect.
    pub fn client_addr(&self) -> SocketAddr {
        SocketAddr::new(self.ip, self.ports.client)
    }

    /// Where the admin server answers.
    pub fn admin_addr(&self) -> SocketAddr {
        SocketAddr::new(self.ip, self.ports.admin)
    }

    /// Its `server.N=ip:quorum:election` line.
    pub fn server_line(&self) -> String {
        format!(
            "server.{}={}:{}:{}",
            self.id, self.ip, self.ports.quorum, self.ports.election
        )
    }
}

/// Ensemble-wide settings.
#[derive(Clone, Debug)]
pub struct ZkSettings {
    /// ZooKeeper's time unit (`tickTime`). Session timeouts are bounded by
    /// 2 and 20 ticks; a follower that hears nothing from its leader for
    /// `sync_limit` ticks drops it.
    pub tick: Duration,
    /// Ticks a follower may take to sync with a new leader (`initLimit`).
    pub init_limit: u32,
    /// Ticks of silence before a follower or leader gives up on the other
    /// (`syncLimit`).
    pub sync_limit: u32,
    /// The JVM's maximum heap, in MiB.
    pub heap_mib: u32,
    /// Where the jars are ([`DEBIAN_JARS`]).
    pub jars: PathBuf,
    /// More `zoo.cfg` lines (`key=value`), from the plan's `args`.
    pub extra_lines: Vec<String>,
}

impl Default for ZkSettings {
    fn default() -> Self {
        Self {
            // Short ticks make a lost leader noticed in 2 s (`sync_limit`
            // ticks) rather than ZooKeeper's default 10 s, which suits runs
            // of a minute with faults every few seconds.
            tick: Duration::from_millis(200),
            init_limit: 50,
            sync_limit: 10,
            // The machine has 2 cores and three JVMs: small heaps, one GC
            // thread.
            heap_mib: 256,
            jars: PathBuf::from(DEBIAN_JARS),
            extra_lines: Vec::new(),
        }
    }
}

impl ZkSettings {
    /// The longest session timeout the servers grant (20 ticks).
    pub fn max_session_timeout(&self) -> Duration {
        self.tick * 20
    }
}

/// The keys of `zoo.cfg` the harness sets from the layout, which a plan's
/// extra lines may not change: the harness would no longer find its
/// servers.
pub fn owned_key(key: &str) -> bool {
    const OWNED: [&str; 7] = [
        "dataDir",
        "dataLogDir",
        "clientPort",
        "clientPortAddress",
        "admin.serverAddress",
        "admin.serverPort",
        "admin.enableServer",
    ];
    OWNED.contains(&key) || key.starts_with("server.")
}

/// `me`'s `zoo.cfg`, one line per entry, in an ensemble of `servers`
/// (which includes it).
pub fn zoo_cfg(servers: &[ZkServer], me: &ZkServer, settings: &ZkSettings) -> Vec<String> {
    let mut lines = vec![
        format!("# {} (myid {}), written by the harness", me.name, me.id),
        format!("tickTime={}", settings.tick.as_millis()),
        format!("initLimit={}", settings.init_limit),
        format!("syncLimit={}", settings.sync_limit),
        format!("dataDir={}", me.data_dir.display()),
        format!("clientPort={}", me.ports.client),
        format!("clientPortAddress={}", me.ip),
        // Every client of the run comes from the harness's one address.
        "maxClientCnxns=0".to_owned(),
        // The admin server answers the probes (`/commands/leader`).
        "admin.enableServer=true".to_owned(),
        format!("admin.serverAddress={}", me.ip),
        format!("admin.serverPort={}", me.ports.admin),
        // For people: `echo srvr | nc ip 2181`.
        "4lw.commands.whitelist=srvr,mntr,ruok".to_owned(),
        // One server is an ensemble of one with a leader, not ZooKeeper's
        // standalone mode (which names no leader).
        "standaloneEnabled=false".to_owned(),
    ];
    lines.extend(servers.iter().map(ZkServer::server_line));
    lines.extend(settings.extra_lines.iter().cloned());
    lines
}

/// The class path: [`JARS`] in `settings.jars`.
pub fn classpath(settings: &ZkSettings) -> String {
    JARS.iter()
        .map(|jar| settings.jars.join(jar).display().to_string())
        .collect::<Vec<_>>()
        .join(":")
}

/// The JVM's arguments for a server whose `zoo.cfg` is `config`.
pub fn java_args(config: &Path, settings: &ZkSettings) -> Vec<String> {
    vec![
        format!("-Xmx{}m", settings.heap_mib),
        "-XX:+UseSerialGC".to_owned(),
        "-Djava.net.preferIPv4Stack=true".to_owned(),
        // slf4j-simple: to stdout (the node's log), with times.
        "-Dorg.slf4j.simpleLogger.logFile=System.out".to_owned(),
        "-Dorg.slf4j.simpleLogger.showDateTime=true".to_owned(),
        "-Dorg.slf4j.simpleLogger.dateTimeFormat=yyyy-MM-dd'T'HH:mm:ss.SSS".to_owned(),
        "-cp".to_owned(),
        classpath(settings),
        MAIN_CLASS.to_owned(),
        config.display().to_string(),
    ]
}

/// Writes `zoo.cfg` (the arguments up to `--`) and `myid` into the data
/// directory, then becomes java. Arguments: data dir, myid, config
/// lines..., `--`, java and its arguments. A brace group with a
/// redirection runs in the shell itself, so its `shift`s count.
const START_SCRIPT: &str = r#"set -e
dir=$1; id=$2; shift 2
mkdir -p "$dir"
printf '%s\n' "$id" > "$dir/myid"
{ while [ "$#" -gt 0 ] && [ "$1" != -- ]; do printf '%s\n' "$1"; shift; done; } > "$dir/zoo.cfg"
shift
exec "$@""#;

/// The [`NodeSpec`] of `me`, running `java`, logging to `log`. In the
/// `namespaces` network mode, pass it through
/// `faults::net::NodeNetworks::place` before starting it.
pub fn server_spec(
    java: &Path,
    servers: &[ZkServer],
    me: &ZkServer,
    settings: &ZkSettings,
    log: &Path,
) -> NodeSpec {
    let config = me.data_dir.join("zoo.cfg");
    NodeSpec::new(me.name.clone(), "/bin/sh", log)
        .args(["-c", START_SCRIPT, "zookeeper-start"])
        .arg(me.data_dir.as_os_str())
        .arg(me.id.to_string())
        .args(zoo_cfg(servers, me, settings))
        .arg("--")
        .arg(java.as_os_str())
        .args(java_args(&config, settings))
}
