//! Clock faults on real processes through libfaketime (no privileges
//! needed; skipped without libfaketime, failed under
//! `HARNESS_REQUIRE_PRIVILEGES=1`).
//!
//! - `date +%s` run with a node's clock setup reads real time plus the
//!   offset, and real time again after reset.
//! - A running Rust node (this binary, role `clock-node`) sees its
//!   `SystemTime` and `Instant` run at 2× for a rate of 2, without a jump
//!   at the change; after reset its clock is real again.
//! - A jump back moves a Rust node's `Instant` back too (measured, see
//!   `docs/faults.md`): `std::thread::sleep` keeps its length, a new tokio
//!   timer fires at once; with `fake_monotonic: false` only `SystemTime`
//!   moves.

use std::{
    net::{Ipv4Addr, SocketAddrV4},
    path::Path,
    process::Command,
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};

use faults::{
    EventName, FaultIds, NodeName, NodeSpec, Outcome,
    clock::{ClockControl, ClockSetup, locate_libfaketime},
    process::NodeProcess,
};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

use crate::{
    Scenario,
    support::{ROLE, Verdict, run_scenario, skip_or_fail},
};

pub const SCENARIO: Scenario = Scenario {
    name: "clock",
    private_namespace: false,
    body: || Box::pin(body()),
};

/// The node: answers `now` with its `SystemTime` (ns since the epoch) and
/// its `Instant` since start (signed ns), and `tokio-sleep MS` /
/// `std-sleep MS` after sleeping that long by its own clock.
pub const NODE: Scenario = Scenario {
    name: "clock-node",
    private_namespace: false,
    body: || Box::pin(node_main()),
};

/// Where the node writes the port it listens on.
const PORT_FILE: &str = "FAULTS_LIVE_CLOCK_PORT_FILE";

pub fn faked_clocks() -> Verdict {
    if let Err(e) = locate_libfaketime() {
        return skip_or_fail(e.to_string());
    }
    run_scenario(SCENARIO.name, Duration::from_secs(90))
}

fn real_now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
}

/// `date +%s` with `spec`'s environment.
fn date(spec: &NodeSpec) -> f64 {
    let out = Command::new("date")
        .arg("+%s.%N")
        .envs(&spec.env)
        .output()
        .expect("date runs");
    assert!(out.status.success(), "{out:?}");
    String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .expect("seconds")
}

fn assert_near(what: &str, got: f64, want: f64, tolerance: f64) {
    assert!(
        (got - want).abs() <= tolerance,
        "{what}: got {got:.3}, want {want:.3} ± {tolerance}"
    );
}

async fn body() {
    let dir = tempfile::tempdir().expect("temp dir");
    date_moves_by_the_offset(dir.path()).await;
    rate_and_jumps_on_a_running_node(dir.path(), true).await;
    rate_and_jumps_on_a_running_node(dir.path(), false).await;
}

async fn date_moves_by_the_offset(dir: &Path) {
    let setup = ClockSetup::new(dir.join("date-clocks")).expect("libfaketime");
    let name = NodeName::from("d1");
    let (spec, file) = setup
        .prepare(NodeSpec::new(name.clone(), "date", dir.join("date.log")))
        .expect("date can be faked");
    let mut clocks = ClockControl::new(FaultIds::new());
    clocks.add(file).unwrap();
    assert_near("date before", date(&spec), real_now(), 2.0);

    let report = clocks
        .offset(std::slice::from_ref(&name), 3_600_000)
        .await
        .unwrap();
    assert_eq!(report.outcome, Outcome::Installed);
    assert_near("date +1h", date(&spec), real_now() + 3600.0, 2.0);

    clocks
        .offset(std::slice::from_ref(&name), -7_200_000)
        .await
        .unwrap();
    assert_near("date -1h", date(&spec), real_now() - 3600.0, 2.0);

    let report = clocks.reset(std::slice::from_ref(&name)).await.unwrap();
    assert_eq!(report.events[0].f, EventName::StopClock);
    assert_near("date after reset", date(&spec), real_now(), 2.0);
}

/// One `now` answer: (SystemTime as s, Instant since start as s).
struct Reading {
    system: f64,
    instant: f64,
    /// Real time at which the answer arrived.
    real: f64,
}

struct NodeConn {
    lines: tokio::io::Lines<BufReader<tokio::net::tcp::OwnedReadHalf>>,
    write: tokio::net::tcp::OwnedWriteHalf,
}

impl NodeConn {
    async fn connect(port_file: &Path) -> Self {
        let deadline = Instant::now() + Duration::from_secs(10);
        let port: u16 = loop {
            if let Ok(text) = std::fs::read_to_string(port_file)
                && let Ok(port) = text.trim().parse()
            {
                break port;
            }
            assert!(Instant::now() < deadline, "the clock node never listened");
            tokio::time::sleep(Duration::from_millis(20)).await;
        };
        let stream = tokio::net::TcpStream::connect(SocketAddrV4::new(Ipv4Addr::LOCALHOST, port))
            .await
            .expect("connect to the clock node");
        let (read, write) = stream.into_split();
        Self {
            lines: BufReader::new(read).lines(),
            write,
        }
    }

    async fn ask(&mut self, command: &str) -> String {
        self.write
            .write_all(format!("{command}\n").as_bytes())
            .await
            .expect("send");
        tokio::time::timeout(Duration::from_secs(20), self.lines.next_line())
            .await
            .expect("the clock node answers in time")
            .expect("read")
            .expect("an answer")
    }

    async fn now(&mut self) -> Reading {
        let answer = self.ask("now").await;
        let real = real_now();
        let (system, instant) = answer.split_once(' ').expect("two numbers");
        Reading {
            system: system.parse::<f64>().unwrap() / 1e9,
            instant: instant.parse::<f64>().unwrap() / 1e9,
            real,
        }
    }

    /// Real seconds that a `command` (a sleep) took.
    async fn timed(&mut self, command: &str) -> f64 {
        let started = Instant::now();
        self.ask(command).await;
        started.elapsed().as_secs_f64()
    }
}

/// Resets the clocks of `nodes`; the node's wall clock (read through
/// `conn`) must then be real time again.
async fn reset_to_real_time(
    clocks: &mut ClockControl,
    nodes: &[NodeName],
    conn: &mut NodeConn,
    what: &str,
) {
    clocks.reset(nodes).await.unwrap();
    let reset = conn.now().await;
    assert_near(what, reset.system, reset.real, 0.5);
}

async fn rate_and_jumps_on_a_running_node(dir: &Path, fake_monotonic: bool) {
    let tag = if fake_monotonic { "mono" } else { "wall" };
    let mut setup = ClockSetup::new(dir.join(format!("clocks-{tag}"))).expect("libfaketime");
    setup.fake_monotonic = fake_monotonic;
    let name = NodeName::from("c1");
    let port_file = dir.join(format!("port-{tag}"));
    let spec = NodeSpec::new(
        name.clone(),
        std::env::current_exe().expect("own path"),
        dir.join(format!("clock-node-{tag}.log")),
    )
    .env(ROLE, format!("scenario:{}", NODE.name))
    .env(PORT_FILE, &port_file);
    let (spec, file) = setup.prepare(spec).expect("a Rust binary can be faked");
    let mut clocks = ClockControl::new(FaultIds::new());
    clocks.add(file).unwrap();
    let mut node = NodeProcess::spawn(spec)
        .await
        .expect("spawn the clock node");
    let mut conn = NodeConn::connect(&port_file).await;
    let nodes = [name.clone()];

    let start = conn.now().await;
    assert_near(
        &format!("{tag}: wall clock at start"),
        start.system,
        start.real,
        1.0,
    );

    // Rate 2: over ~2 s of real time, both clocks advance ~4 s, and the
    // change itself does not jump.
    let before = conn.now().await;
    clocks.rate(&nodes, 2.0).await.unwrap();
    let changed = conn.now().await;
    assert_near(
        &format!("{tag}: no jump at the rate change"),
        changed.system - before.system,
        changed.real - before.real,
        0.2,
    );
    tokio::time::sleep(Duration::from_secs(2)).await;
    let after = conn.now().await;
    let real = after.real - changed.real;
    let wall = (after.system - changed.system) / real;
    let mono = (after.instant - changed.instant) / real;
    println!("{tag}: rate 2 over {real:.3} s real: SystemTime ×{wall:.3}, Instant ×{mono:.3}");
    assert_near(&format!("{tag}: SystemTime rate"), wall, 2.0, 0.15);
    let want_mono = if fake_monotonic { 2.0 } else { 1.0 };
    assert_near(&format!("{tag}: Instant rate"), mono, want_mono, 0.15);
    // The node's 500 ms sleeps are its own: they last 250 ms of real time.
    let tokio_sleep = conn.timed("tokio-sleep 500").await;
    let std_sleep = conn.timed("std-sleep 500").await;
    println!(
        "{tag}: at rate 2, 500 ms sleeps took tokio {tokio_sleep:.3} s, std {std_sleep:.3} s real"
    );
    // libfaketime scales `nanosleep` and poll timeouts by the rate, with or
    // without faked monotonic clocks; tokio re-checks its deadline against
    // `Instant`, so its timers follow the monotonic clock, faked or not.
    assert_near(&format!("{tag}: std sleep at rate 2"), std_sleep, 0.25, 0.1);
    let want_tokio = if fake_monotonic { 0.25 } else { 0.5 };
    assert_near(
        &format!("{tag}: tokio sleep at rate 2"),
        tokio_sleep,
        want_tokio,
        0.1,
    );

    let what = format!("{tag}: wall clock after reset");
    reset_to_real_time(&mut clocks, &nodes, &mut conn, &what).await;

    // A jump back by 10 s.
    let before = conn.now().await;
    clocks.offset(&nodes, -10_000).await.unwrap();
    let after = conn.now().await;
    let wall_jump = (after.system - before.system) - (after.real - before.real);
    let mono_jump = (after.instant - before.instant) - (after.real - before.real);
    println!("{tag}: jump -10 s: SystemTime moved {wall_jump:+.3} s, Instant {mono_jump:+.3} s");
    assert_near(&format!("{tag}: SystemTime jump"), wall_jump, -10.0, 0.3);
    let want_mono_jump = if fake_monotonic { -10.0 } else { 0.0 };
    assert_near(
        &format!("{tag}: Instant jump"),
        mono_jump,
        want_mono_jump,
        0.3,
    );
    let tokio_sleep = conn.timed("tokio-sleep 300").await;
    let std_sleep = conn.timed("std-sleep 300").await;
    println!(
        "{tag}: after the jump back, 300 ms sleeps took tokio {tokio_sleep:.3} s, std {std_sleep:.3} s real"
    );
    assert_near(
        &format!("{tag}: std sleep after a jump"),
        std_sleep,
        0.3,
        0.1,
    );
    // Measured: tokio's timer wheel never moves back, so after the
    // monotonic clock jumps back by D, a new timer shorter than D is
    // already due and fires at once (until the clock has caught up).
    let want_tokio = if fake_monotonic { 0.0 } else { 0.3 };
    assert_near(
        &format!("{tag}: tokio sleep after a jump"),
        tokio_sleep,
        want_tokio,
        0.1,
    );

    let what = format!("{tag}: wall clock after the last reset");
    reset_to_real_time(&mut clocks, &nodes, &mut conn, &what).await;
    node.kill().await.expect("kill the clock node");
}

// ---- the node ------------------------------------------------------------

async fn node_main() {
    let listener = tokio::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .await
        .expect("bind");
    let port = listener.local_addr().expect("address").port();
    let port_file = std::env::var_os(PORT_FILE).expect("port file");
    std::fs::write(&port_file, port.to_string()).expect("write the port");
    let started = Instant::now();
    loop {
        let (stream, _) = listener.accept().await.expect("accept");
        tokio::spawn(serve(stream, started));
    }
}

async fn serve(stream: tokio::net::TcpStream, started: Instant) {
    let (read, mut write) = stream.into_split();
    let mut lines = BufReader::new(read).lines();
    while let Ok(Some(line)) = lines.next_line().await {
        let mut words = line.split_whitespace();
        let answer = match (
            words.next(),
            words.next().and_then(|w| w.parse::<u64>().ok()),
        ) {
            (Some("now"), _) => {
                let system = SystemTime::now()
                    .duration_since(UNIX_EPOCH)
                    .map_or(0, |d| d.as_nanos() as i128);
                let now = Instant::now();
                // Signed: the monotonic clock may have gone back.
                let instant = match now.checked_duration_since(started) {
                    Some(d) => d.as_nanos() as i128,
                    None => -(started.duration_since(now).as_nanos() as i128),
                };
                format!("{system} {instant}")
            }
            (Some("tokio-sleep"), Some(ms)) => {
                tokio::time::sleep(Duration::from_millis(ms)).await;
                "slept".to_owned()
            }
            (Some("std-sleep"), Some(ms)) => {
                std::thread::sleep(Duration::from_millis(ms));
                "slept".to_owned()
            }
            _ => "?".to_owned(),
        };
        if write
            .write_all(format!("{answer}\n").as_bytes())
            .await
            .is_err()
        {
            return;
        }
    }
}
