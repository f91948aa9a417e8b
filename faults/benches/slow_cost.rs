//! The cost of the slow-network machinery itself: request latency and bulk
//! throughput over a link slowed by zero (every packet goes through the
//! NFQUEUE delayer and back) against an unslowed link, in the same run.
//!
//! `cargo bench -p faults --bench slow_cost` (needs root, or unprivileged
//! user namespaces, and iptables). Loopback network mode: three node
//! addresses in a private namespace; echo and sink servers on `n2` (the
//! slowed link `n1`–`n2`) and on `n3` (unslowed `n1`–`n3`); the client
//! binds `n1`. Measurements alternate between the paths, in rounds, so
//! that machine noise hits both alike.

use std::{
    io::{Read, Write},
    net::{Ipv4Addr, SocketAddrV4, TcpListener, TcpStream},
    time::{Duration, Instant},
};

use faults::{
    Firewall, NodeName,
    net::slow::{SlowParams, SlowScope},
    netns,
    node::loopback_addr,
};

const ECHO_PORT: u16 = 7000;
const SINK_PORT: u16 = 7001;
const ROUNDS: usize = 5;
const PINGS_PER_ROUND: usize = 2000;
const BULK_BYTES: usize = 64 << 20;

fn main() {
    if let Err(e) = netns::enter_private_namespace() {
        println!("slow_cost skipped: {e}");
        return;
    }
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let nodes = NodeName::cluster(3);
    let addrs = (1..=3)
        .map(|i| (NodeName::numbered(i), loopback_addr(i).unwrap()))
        .collect();
    let mut firewall = match runtime.block_on(Firewall::loopback(addrs)) {
        Ok(f) => f,
        Err(e) => {
            println!("slow_cost skipped: {e}");
            return;
        }
    };
    for i in [2, 3] {
        serve(loopback_addr(i).unwrap());
    }
    let link = SlowScope::Links(vec![(nodes[0].clone(), nodes[1].clone())]);
    runtime
        .block_on(firewall.slow(&link, SlowParams::delay(Duration::ZERO)))
        .expect("slow by zero");
    let (slowed, plain) = (loopback_addr(2).unwrap(), loopback_addr(3).unwrap());

    let mut lat = [Vec::new(), Vec::new()];
    let mut setup = [Vec::new(), Vec::new()];
    let mut bulk = [Vec::new(), Vec::new()];
    for _ in 0..ROUNDS {
        for (k, target) in [slowed, plain].into_iter().enumerate() {
            lat[k].extend(ping_pong(target, PINGS_PER_ROUND));
            setup[k].extend(connect_and_ask(target, 200));
            bulk[k].push(throughput(target, BULK_BYTES));
        }
    }
    let stats = firewall.delay_stats();
    runtime.block_on(firewall.heal()).expect("heal");

    println!("slow_cost: loopback mode, link n1-n2 slowed by 0 vs n1-n3 unslowed, {ROUNDS} rounds");
    report("round trip on an open connection", &mut lat);
    report("connect + request + answer", &mut setup);
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let (s, p) = (median(&mut bulk[0]), median(&mut bulk[1]));
    println!(
        "bulk transfer of {} MiB (median MiB/s): slowed-by-0 {s:.0}, unslowed {p:.0}, ratio {:.3}",
        BULK_BYTES >> 20,
        s / p
    );
    println!("delayer: {stats:?}");
}

/// Median and 99th percentile of each path, and their ratios.
fn report(what: &str, samples: &mut [Vec<f64>; 2]) {
    let q = |v: &mut Vec<f64>, q: f64| {
        v.sort_by(f64::total_cmp);
        v[((v.len() - 1) as f64 * q) as usize]
    };
    let (s50, s99) = (q(&mut samples[0], 0.5), q(&mut samples[0], 0.99));
    let (p50, p99) = (q(&mut samples[1], 0.5), q(&mut samples[1], 0.99));
    println!(
        "{what} (µs, {} samples each): slowed-by-0 p50 {s50:.1} p99 {s99:.1}; unslowed p50 {p50:.1} \
         p99 {p99:.1}; ratio p50 {:.2} p99 {:.2}",
        samples[0].len(),
        s50 / p50,
        s99 / p99
    );
}

/// An echo server (64-byte messages) and a sink server on `ip`.
fn serve(ip: Ipv4Addr) {
    let echo = TcpListener::bind((ip, ECHO_PORT)).expect("bind echo");
    std::thread::spawn(move || {
        for conn in echo.incoming().flatten() {
            std::thread::spawn(move || {
                let mut conn = conn;
                let _ = conn.set_nodelay(true);
                let mut buf = [0u8; 64];
                while conn.read_exact(&mut buf).is_ok() {
                    if conn.write_all(&buf).is_err() {
                        break;
                    }
                }
            });
        }
    });
    let sink = TcpListener::bind((ip, SINK_PORT)).expect("bind sink");
    std::thread::spawn(move || {
        for conn in sink.incoming().flatten() {
            std::thread::spawn(move || {
                let mut conn = conn;
                let mut buf = vec![0u8; 1 << 16];
                let mut total = 0usize;
                loop {
                    match conn.read(&mut buf) {
                        Ok(0) | Err(_) => break,
                        Ok(n) => total += n,
                    }
                }
                let _ = conn.write_all(&(total as u64).to_le_bytes());
            });
        }
    });
}

/// A connection from n1's address to `ip:port`.
fn connect(ip: Ipv4Addr, port: u16) -> TcpStream {
    let socket = tokio::net::TcpSocket::new_v4().expect("socket");
    socket
        .bind(SocketAddrV4::new(loopback_addr(1).unwrap(), 0).into())
        .expect("bind n1");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let stream = runtime
        .block_on(socket.connect(SocketAddrV4::new(ip, port).into()))
        .expect("connect")
        .into_std()
        .expect("std stream");
    stream.set_nonblocking(false).expect("blocking");
    stream.set_nodelay(true).expect("nodelay");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    stream
}

/// `count` 64-byte round trips on one connection, in µs each.
fn ping_pong(ip: Ipv4Addr, count: usize) -> Vec<f64> {
    let mut conn = connect(ip, ECHO_PORT);
    let mut buf = [7u8; 64];
    (0..count)
        .map(|_| {
            let started = Instant::now();
            conn.write_all(&buf).expect("send");
            conn.read_exact(&mut buf).expect("echo");
            started.elapsed().as_secs_f64() * 1e6
        })
        .collect()
}

/// `count` fresh connections each doing one round trip, in µs each.
fn connect_and_ask(ip: Ipv4Addr, count: usize) -> Vec<f64> {
    (0..count)
        .map(|_| {
            let started = Instant::now();
            let mut conn = connect(ip, ECHO_PORT);
            let mut buf = [1u8; 64];
            conn.write_all(&buf).expect("send");
            conn.read_exact(&mut buf).expect("echo");
            started.elapsed().as_secs_f64() * 1e6
        })
        .collect()
}

/// Send `bytes` to the sink and wait for its count; MiB/s.
fn throughput(ip: Ipv4Addr, bytes: usize) -> f64 {
    let mut conn = connect(ip, SINK_PORT);
    let chunk = vec![0xa5u8; 1 << 16];
    let started = Instant::now();
    let mut sent = 0;
    while sent < bytes {
        conn.write_all(&chunk).expect("send");
        sent += chunk.len();
    }
    conn.shutdown(std::net::Shutdown::Write).expect("shutdown");
    let mut count = [0u8; 8];
    conn.read_exact(&mut count).expect("count");
    assert_eq!(u64::from_le_bytes(count) as usize, sent);
    sent as f64 / (1 << 20) as f64 / started.elapsed().as_secs_f64()
}
