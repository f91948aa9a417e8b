//! Real `target-node` processes for tests: start, kill, pause, restart, and
//! always stop them again.
//!
//! Every cluster gets its own loopback addresses (127.0.N.11..) so that
//! tests running in parallel never meet. Children get `PR_SET_PDEATHSIG`
//! so that they die with the test binary even if it is killed, and `Drop`
//! resumes and kills whatever is still running.
//!
//! Nodes get a fresh random cluster secret in `TARGET_NODE_CLUSTER_SECRET`,
//! the way the harness starts them, unless a test asks for none.

use std::{
    collections::BTreeMap,
    io::Read,
    net::{IpAddr, SocketAddr, TcpListener},
    os::unix::process::CommandExt,
    path::PathBuf,
    process::{Child, Command, Stdio},
    sync::atomic::{AtomicU8, Ordering},
    time::{Duration, Instant},
};

use reqwest::blocking::Client;
use serde_json::{Value, json};
use tempfile::TempDir;

static NEXT_SUBNET: AtomicU8 = AtomicU8::new(40);

pub const SECRET_ENV: &str = "TARGET_NODE_CLUSTER_SECRET";

pub struct Cluster {
    dir: TempDir,
    subnet: u8,
    nodes: BTreeMap<u64, NodeProc>,
    secret: Option<String>,
    pub http: Client,
}

/// 32 random bytes, hex-encoded: what an operator would generate.
pub fn random_secret() -> String {
    let mut bytes = [0u8; 32];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut bytes))
        .expect("read /dev/urandom");
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

struct NodeProc {
    addr: SocketAddr,
    args: Vec<String>,
    child: Option<Child>,
}

/// A free port on `ip`, found by binding port 0.
fn free_port(ip: &str) -> u16 {
    let listener = TcpListener::bind((ip, 0)).expect("bind an ephemeral port");
    listener.local_addr().unwrap().port()
}

impl Cluster {
    /// Starts `n` nodes sharing a fresh cluster secret; `extra(id)` adds
    /// flags for node `id`.
    pub fn start(n: u64, extra: impl Fn(u64) -> Vec<String>) -> Cluster {
        Self::start_with_secret(n, Some(random_secret()), extra)
    }

    /// Starts `n` nodes with `secret` in their environment (or none).
    pub fn start_with_secret(
        n: u64,
        secret: Option<String>,
        extra: impl Fn(u64) -> Vec<String>,
    ) -> Cluster {
        let subnet = NEXT_SUBNET.fetch_add(1, Ordering::SeqCst);
        let dir = TempDir::new().expect("temp dir");
        let addrs: BTreeMap<u64, SocketAddr> = (1..=n)
            .map(|id| {
                let ip = format!("127.0.{subnet}.{}", 10 + id);
                let port = free_port(&ip);
                (id, format!("{ip}:{port}").parse().unwrap())
            })
            .collect();
        let mut nodes = BTreeMap::new();
        for (&id, &addr) in &addrs {
            let mut args = vec![
                "--id".to_string(),
                id.to_string(),
                "--listen".into(),
                addr.to_string(),
                "--data-dir".into(),
                dir.path().join(format!("n{id}")).display().to_string(),
            ];
            if n > 1 {
                for (peer, peer_addr) in &addrs {
                    args.push("--peer".into());
                    args.push(format!("{peer}={peer_addr}"));
                }
            }
            let extra = extra(id);
            // Fast failover, unless the test sets its own timing.
            if !extra.iter().any(|flag| flag == "--heartbeat-ms") {
                args.extend(
                    ["--heartbeat-ms", "50", "--election-timeout-min-ms", "300"]
                        .into_iter()
                        .chain(["--election-timeout-max-ms", "600"])
                        .map(String::from),
                );
            }
            args.extend(extra);
            nodes.insert(
                id,
                NodeProc {
                    addr,
                    args,
                    child: None,
                },
            );
        }
        let http = Client::builder()
            .timeout(Duration::from_secs(5))
            .build()
            .unwrap();
        let mut cluster = Cluster {
            dir,
            subnet,
            nodes,
            secret,
            http,
        };
        for id in 1..=n {
            cluster.spawn(id, &[]);
        }
        cluster
    }

    fn log_path(&self, id: u64) -> PathBuf {
        self.dir.path().join(format!("n{id}.log"))
    }

    fn spawn(&mut self, id: u64, extra: &[&str]) {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.log_path(id))
            .unwrap();
        let node = self.nodes.get(&id).expect("known node");
        let mut command = Command::new(env!("CARGO_BIN_EXE_target-node"));
        command
            .args(&node.args)
            .args(extra)
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log);
        match &self.secret {
            Some(secret) => command.env(SECRET_ENV, secret),
            None => command.env_remove(SECRET_ENV),
        };
        // SAFETY: prctl is async-signal-safe and touches no memory of ours.
        unsafe {
            command.pre_exec(|| {
                if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let child = command.spawn().expect("spawn target-node");
        self.nodes.get_mut(&id).expect("known node").child = Some(child);
    }

    pub fn addr(&self, id: u64) -> SocketAddr {
        self.nodes[&id].addr
    }

    /// A loopback address of this cluster's subnet that no node uses, for
    /// clients that must come from their own address.
    pub fn client_ip(&self, host: u8) -> IpAddr {
        assert!(host > 10 + self.nodes.len() as u8, "not a node's address");
        format!("127.0.{}.{host}", self.subnet).parse().unwrap()
    }

    pub fn secret(&self) -> &str {
        self.secret.as_deref().expect("the cluster has a secret")
    }

    pub fn pid(&self, id: u64) -> u32 {
        self.nodes[&id]
            .child
            .as_ref()
            .expect("node is running")
            .id()
    }

    /// Data directory of node `id`.
    pub fn data_dir(&self, id: u64) -> PathBuf {
        self.dir.path().join(format!("n{id}"))
    }

    pub fn url(&self, id: u64, path: &str) -> String {
        format!("http://{}{path}", self.nodes[&id].addr)
    }

    pub fn node_log(&self, id: u64) -> String {
        std::fs::read_to_string(self.log_path(id)).unwrap_or_default()
    }

    fn signal(&self, id: u64, signal: &str) {
        let child = self.nodes[&id].child.as_ref().expect("node is running");
        let status = Command::new("kill")
            .args([signal, &child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success(), "kill {signal} failed");
    }

    /// SIGKILL, and reap.
    pub fn kill(&mut self, id: u64) {
        if let Some(mut child) = self.nodes.get_mut(&id).unwrap().child.take() {
            child.kill().unwrap();
            child.wait().unwrap();
        }
    }

    /// Starts a killed node again with its data dir, plus `extra` flags.
    pub fn restart(&mut self, id: u64, extra: &[&str]) {
        self.kill(id);
        self.spawn(id, extra);
    }

    pub fn pause(&self, id: u64) {
        self.signal(id, "-STOP");
    }

    pub fn resume(&self, id: u64) {
        self.signal(id, "-CONT");
    }

    pub fn status(&self, id: u64) -> Option<Value> {
        let response = self
            .http
            .get(self.url(id, "/status"))
            .timeout(Duration::from_millis(500))
            .send()
            .ok()?;
        response.json().ok()
    }

    /// Waits until `check` holds, or panics with `what` and the node logs.
    pub fn wait_for<T>(
        &self,
        what: &str,
        timeout: Duration,
        mut check: impl FnMut() -> Option<T>,
    ) -> T {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(value) = check() {
                return value;
            }
            if Instant::now() > deadline {
                let logs: Vec<String> = self
                    .nodes
                    .keys()
                    .map(|id| format!("--- n{id} ---\n{}", tail(&self.node_log(*id), 30)))
                    .collect();
                panic!("timed out waiting for {what}\n{}", logs.join("\n"));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The leader that every node in `among` agrees on.
    pub fn wait_leader(&self, among: &[u64]) -> u64 {
        self.wait_for("an agreed leader", Duration::from_secs(15), || {
            let mut leader = None;
            for id in among {
                let status = self.status(*id)?;
                let seen = status["leader"].as_u64()?;
                if leader.is_some_and(|l| l != seen) || !among.contains(&seen) {
                    return None;
                }
                leader = Some(seen);
            }
            let leader = leader?;
            (self.status(leader)?["role"] == "leader").then_some(leader)
        })
    }

    pub fn put(&self, id: u64, key: &str, value: Value) -> reqwest::Result<(u16, Value)> {
        let r = self
            .http
            .put(self.url(id, &format!("/kv/{key}")))
            .json(&json!({ "value": value }))
            .send()?;
        Ok((r.status().as_u16(), r.json()?))
    }

    pub fn get(&self, id: u64, key: &str) -> reqwest::Result<(u16, Value)> {
        let r = self.http.get(self.url(id, &format!("/kv/{key}"))).send()?;
        Ok((r.status().as_u16(), r.json()?))
    }

    pub fn post(&self, id: u64, path: &str, body: Value) -> reqwest::Result<(u16, Value)> {
        let r = self.http.post(self.url(id, path)).json(&body).send()?;
        Ok((r.status().as_u16(), r.json()?))
    }

    /// A successful read's value.
    pub fn read_ok(&self, id: u64, key: &str) -> Value {
        let (status, body) = self.get(id, key).expect("read reaches the node");
        assert_eq!(status, 200, "read of {key} via n{id}: {body}");
        body["value"].clone()
    }

    pub fn ids(&self) -> Vec<u64> {
        self.nodes.keys().copied().collect()
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        for node in self.nodes.values_mut() {
            if let Some(mut child) = node.child.take() {
                // A stopped process still dies of SIGKILL; no SIGCONT needed.
                let _ = child.kill();
                let _ = child.wait();
            }
        }
    }
}

pub fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

pub fn no_extra(_: u64) -> Vec<String> {
    Vec::new()
}

/// One field of /proc/PID/status in KiB, e.g. `VmRSS` or `VmHWM` (peak).
pub fn proc_status_kib(pid: u32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("read proc status");
    status
        .lines()
        .find_map(|line| line.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|rest| rest.trim().strip_suffix("kB"))
        .and_then(|kib| kib.trim().parse().ok())
        .unwrap_or_else(|| panic!("no {field} in /proc/{pid}/status"))
}

/// A response read off a raw socket.
#[derive(Debug)]
pub struct RawResponse {
    pub status: u16,
    pub body: Vec<u8>,
}

impl RawResponse {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }
}

/// Sends `head` on a fresh connection, then lets `send_body` write to the
/// socket from another thread (its write errors are its own: the node may
/// answer and close early), and reads one response.
pub fn raw_exchange(
    addr: SocketAddr,
    head: &str,
    send_body: impl FnOnce(&mut std::net::TcpStream) + Send + 'static,
) -> RawResponse {
    use std::io::Write;
    let mut stream = std::net::TcpStream::connect(addr).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    stream.write_all(head.as_bytes()).expect("send the head");
    let mut writer = stream.try_clone().unwrap();
    let sender = std::thread::spawn(move || send_body(&mut writer));
    let response = read_response(&mut stream);
    let _ = stream.shutdown(std::net::Shutdown::Both);
    let _ = sender.join();
    response
}

fn read_response(stream: &mut std::net::TcpStream) -> RawResponse {
    let mut received = Vec::new();
    let mut buf = [0u8; 8192];
    let head_end = loop {
        if let Some(at) = received.windows(4).position(|w| w == b"\r\n\r\n") {
            break at + 4;
        }
        let n = stream.read(&mut buf).expect("read the response head");
        assert!(n > 0, "connection closed before a response: {received:?}");
        received.extend_from_slice(&buf[..n]);
    };
    let head = String::from_utf8_lossy(&received[..head_end]).to_string();
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("a status code");
    let length: usize = head
        .lines()
        .find_map(|line| {
            let (name, value) = line.split_once(':')?;
            name.eq_ignore_ascii_case("content-length")
                .then(|| value.trim().parse().ok())?
        })
        .unwrap_or(0);
    let mut body = received[head_end..].to_vec();
    while body.len() < length {
        let n = stream.read(&mut buf).expect("read the response body");
        if n == 0 {
            break;
        }
        body.extend_from_slice(&buf[..n]);
    }
    RawResponse { status, body }
}
