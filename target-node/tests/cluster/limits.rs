//! Resource limits: oversized bodies are refused without echo and without
//! costing memory, and idle connections neither lock out other clients
//! nor stay open.

use std::{
    io::Write,
    net::{IpAddr, SocketAddr},
    time::{Duration, Instant},
};

use serde_json::{Value, json};

use crate::support::{Cluster, RawResponse, no_extra, proc_status_kib, raw_exchange};

/// The filler byte of oversized bodies; no error may contain a run of it.
const FILLER: u8 = b'Q';
const MIB: usize = 1024 * 1024;

/// Writes `total` bytes of `{"` + filler as chunked transfer encoding.
fn send_chunked(stream: &mut std::net::TcpStream, total: usize) {
    let chunk = vec![FILLER; 64 * 1024];
    let _ = stream.write_all(b"2\r\n{\"\r\n");
    let mut sent = 0;
    while sent < total {
        let framed = [format!("{:x}\r\n", chunk.len()).as_bytes(), &chunk, b"\r\n"].concat();
        if stream.write_all(&framed).is_err() {
            return; // the node answered and closed: expected
        }
        sent += chunk.len();
    }
    let _ = stream.write_all(b"0\r\n\r\n");
}

fn head(method: &str, target: &str, headers: &[String]) -> String {
    let mut head =
        format!("{method} {target} HTTP/1.1\r\nhost: node\r\ncontent-type: application/json\r\n");
    for header in headers {
        head.push_str(header);
        head.push_str("\r\n");
    }
    head.push_str("\r\n");
    head
}

/// An error in the protocol's shape that does not repeat the input.
fn assert_short_json_error(what: &str, response: &RawResponse, status: u16) {
    let body = response.json();
    assert_eq!(response.status, status, "{what}: {body}");
    assert!(
        body["error"].is_string(),
        "{what}: not the JSON shape: {:?}",
        response.body
    );
    assert_eq!(body["definite"], true, "{what}: {body}");
    assert!(
        response.body.len() < 256,
        "{what}: {} byte error body",
        response.body.len()
    );
    assert!(
        !response
            .body
            .windows(8)
            .any(|w| w.iter().all(|b| *b == FILLER)),
        "{what}: the input is echoed: {body}"
    );
}

#[test]
fn oversized_requests_are_refused_without_echo_or_memory_growth() {
    let c = Cluster::start(1, no_extra);
    c.wait_leader(&[1]);
    let addr = c.addr(1);
    let pid = c.pid(1);
    let rss_before = proc_status_kib(pid, "VmRSS");
    let auth = format!("authorization: Bearer {}", c.secret());

    // Three 64 MiB Raft bodies at once (the issue's attack used 256 MiB),
    // streamed without a declared length so that the node must count.
    let streams: Vec<_> = (0..3)
        .map(|_| {
            let head = head(
                "POST",
                "/raft/append",
                &[auth.clone(), "transfer-encoding: chunked".into()],
            );
            std::thread::spawn(move || raw_exchange(addr, &head, |s| send_chunked(s, 64 * MIB)))
        })
        .collect();
    for stream in streams {
        let response = stream.join().expect("exchange thread");
        assert_short_json_error("64 MiB raft append", &response, 413);
    }

    // A declared length over the limit is refused before any body is sent.
    let declared = head(
        "POST",
        "/raft/snapshot",
        &[auth.clone(), format!("content-length: {}", 256 * MIB)],
    );
    assert_short_json_error(
        "declared 256 MiB snapshot",
        &raw_exchange(addr, &declared, |_| {}),
        413,
    );

    // Client bodies are capped far lower.
    let kv = head("PUT", "/kv/k", &["transfer-encoding: chunked".into()]);
    let response = raw_exchange(addr, &kv, |s| send_chunked(s, 20 * MIB));
    assert_short_json_error("20 MB kv write", &response, 413);

    // Bodies within the limit that serde would quote in its messages.
    let unknown_field = format!(r#"{{"value": 1, "{}": 2}}"#, "Q".repeat(30_000));
    let wrong_value = format!(r#"{{"from": 1, "to": 2, "{}": 3}}"#, "Q".repeat(30_000));
    for (method, target, body) in [
        ("PUT", "/kv/k", unknown_field),
        ("POST", "/kv/k/cas", wrong_value),
    ] {
        let request = head(method, target, &[format!("content-length: {}", body.len())]);
        let response = raw_exchange(addr, &request, move |s| {
            let _ = s.write_all(body.as_bytes());
        });
        assert_short_json_error(&format!("{target} with a long field"), &response, 400);
    }

    // A long request target, and an unknown long path.
    let long_key = format!("/kv/{}", "Q".repeat(9_000));
    let response = raw_exchange(addr, &head("GET", &long_key, &[]), |_| {});
    assert_short_json_error("9 KB key", &response, 414);
    let response = raw_exchange(
        addr,
        &head("GET", &format!("/x/{}", "Q".repeat(4_000)), &[]),
        |_| {},
    );
    assert_short_json_error("unknown path", &response, 404);

    // Unauthenticated: refused on the headers, the body is never read.
    let stranger = head(
        "POST",
        "/raft/append",
        &["transfer-encoding: chunked".into()],
    );
    let response = raw_exchange(addr, &stranger, |s| send_chunked(s, 64 * MIB));
    assert_short_json_error("unauthenticated 64 MiB", &response, 401);

    // The peak, not the current size: the allocator may already have
    // returned the memory.
    let peak = proc_status_kib(pid, "VmHWM");
    let grown_mib = peak.saturating_sub(rss_before) / 1024;
    assert!(
        grown_mib < 64,
        "peak memory grew by {grown_mib} MiB (before: {rss_before} KiB)"
    );
    assert_eq!(c.read_ok(1, "k"), Value::Null, "nothing was written");
}

/// Opens `count` connections to `addr` from `from`, sending nothing, and
/// returns them as non-blocking std sockets (tokio's need their runtime).
///
/// Paced in small batches: connections the kernel completes faster than
/// the node accepts them overflow the listen backlog, and such a
/// connection is open on the client side only until the kernel retries
/// the handshake, seconds later; that is the kernel's business, not the
/// node's.
fn open_idle(from: IpAddr, addr: SocketAddr, count: usize) -> Vec<std::net::TcpStream> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let mut streams = Vec::with_capacity(count);
        for i in 0..count {
            if i % 100 == 99 {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            let socket = tokio::net::TcpSocket::new_v4().unwrap();
            socket
                .bind(SocketAddr::new(from, 0))
                .expect("bind the client address");
            if let Ok(stream) = socket.connect(addr).await {
                streams.push(stream.into_std().expect("a std socket"));
            }
        }
        streams
    })
}

/// How many of `streams` the node has not closed yet.
fn still_open(streams: &[std::net::TcpStream]) -> usize {
    use std::io::Read;
    let mut buf = [0u8; 1];
    streams
        .iter()
        .filter(|stream| {
            let mut stream: &std::net::TcpStream = stream;
            matches!(stream.read(&mut buf), Err(e) if e.kind() == std::io::ErrorKind::WouldBlock)
        })
        .count()
}

#[test]
fn idle_connections_neither_lock_others_out_nor_stay_open() {
    const FLOOD: usize = 5_000;
    const PER_IP: usize = 200;
    const IDLE_TIMEOUT: Duration = Duration::from_secs(2);
    let c = Cluster::start(1, |_| {
        vec![
            "--idle-timeout-ms".into(),
            IDLE_TIMEOUT.as_millis().to_string(),
            "--max-connections-per-ip".into(),
            PER_IP.to_string(),
        ]
    });
    c.wait_leader(&[1]);
    assert_eq!(c.put(1, "k", json!("v")).unwrap().0, 200);
    let pid = c.pid(1);
    let rss_before = proc_status_kib(pid, "VmRSS");

    let attacker = c.client_ip(200);
    let flood = open_idle(attacker, c.addr(1), FLOOD);
    let opened = Instant::now();
    assert!(
        flood.len() > FLOOD / 2,
        "only {} connections opened",
        flood.len()
    );

    // Another client is served at once.
    let asked = Instant::now();
    let status = c.status(1).expect("/status answers during the flood");
    assert_eq!(status["id"], 1);
    assert!(
        asked.elapsed() < Duration::from_secs(2),
        "took {:?}",
        asked.elapsed()
    );
    assert_eq!(c.read_ok(1, "k"), json!("v"));

    // The flood's share is capped; everything beyond was closed at once
    // (give the node a moment to catch up with its accept queue).
    std::thread::sleep(Duration::from_millis(200));
    let open = still_open(&flood);
    assert!(
        opened.elapsed() < IDLE_TIMEOUT,
        "too slow to tell the limit from the timeout"
    );
    assert!(
        (1..=PER_IP).contains(&open),
        "{open} idle connections from one address are open"
    );
    // ...and what was admitted is closed by the idle timeout.
    while still_open(&flood) > 0 {
        assert!(
            opened.elapsed() < IDLE_TIMEOUT + Duration::from_secs(3),
            "{} idle connections still open after {:?}",
            still_open(&flood),
            opened.elapsed()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let grown_mib = proc_status_kib(pid, "VmHWM").saturating_sub(rss_before) / 1024;
    assert!(grown_mib < 64, "peak memory grew by {grown_mib} MiB");
    drop(flood);

    // The address that flooded is served again once its share is free.
    let client = reqwest::blocking::Client::builder()
        .local_address(attacker)
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap();
    let response = client.get(c.url(1, "/status")).send().unwrap();
    assert_eq!(response.status(), 200);
}
