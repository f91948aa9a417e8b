//! What a durable mount costs: the same work on a plain directory and on
//! a `DurableFs` mount, in the same run, reported as ratios.
//!
//! 1. `write+fdatasync`: 4 KiB `pwrite` then `fdatasync`, the pattern of a
//!    redb commit.
//! 2. `write`: 4 KiB `pwrite` alone, the pure FUSE round trip plus the
//!    undo log's page copy.
//! 3. `target-node`: three real nodes (data dirs plain, then on mounts),
//!    eight client threads doing `PUT`s for a fixed time; acknowledged
//!    writes per second. Needs the `target-node` binary (built next to
//!    this bench, or `$TARGET_NODE_BIN`); skipped without it.
//!
//! Needs root and `/dev/fuse`; prints why and exits otherwise. Run with
//! `cargo bench -p faults --bench durable_fs` (it enters private network
//! and mount namespaces first, like the controller).

use std::{
    fs::OpenOptions,
    io::{Read, Write},
    net::{Ipv4Addr, SocketAddrV4, TcpStream},
    os::unix::fs::FileExt,
    path::{Path, PathBuf},
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use faults::{Nemesis, NodeName, NodeSpec, disk::DurableFs, net::LoopbackIptables, netns};

const PAGE: usize = 4096;
/// Alternating rounds per measurement.
const ROUNDS: usize = 7;

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn main() {
    if !nix::unistd::Uid::effective().is_root() || !Path::new("/dev/fuse").exists() {
        println!("durable_fs bench skipped: needs root and /dev/fuse");
        return;
    }
    netns::enter_private_namespace().expect("a private network namespace");
    netns::enter_private_mount_namespace().expect("a private mount namespace");
    let dir = tempfile::tempdir().expect("temp dir");
    let plain = dir.path().join("plain");
    std::fs::create_dir(&plain).expect("plain dir");
    let fs = DurableFs::mount(dir.path().join("b.backing"), dir.path().join("b")).expect("mount");

    // Disk latency on a shared machine drifts by whole milliseconds: plain
    // and mount alternate, round by round, and the medians are compared.
    for (name, iterations, sync) in [("write+fdatasync", 100, true), ("write", 2000, false)] {
        let (mut base, mut fuse) = (Vec::new(), Vec::new());
        for _ in 0..ROUNDS {
            base.push(per_op(&plain, iterations, sync));
            fuse.push(per_op(fs.mountpoint(), iterations, sync));
        }
        let (base, fuse) = (median(base), median(fuse));
        println!(
            "{name:>16}: plain {:>8.1} us/op, durable mount {:>8.1} us/op, ratio {:.2} \
             (medians of {ROUNDS} alternating rounds)",
            base.as_secs_f64() * 1e6,
            fuse.as_secs_f64() * 1e6,
            fuse.as_secs_f64() / base.as_secs_f64()
        );
    }
    drop(fs);

    match target_node() {
        Some(bin) => cluster_throughput(&bin, dir.path()),
        None => println!(
            "target-node throughput skipped: binary not built (cargo build -p target-node)"
        ),
    }
}

/// Mean time of one 4 KiB write (plus `fdatasync` if `sync`) in `dir`.
fn per_op(dir: &Path, iterations: usize, sync: bool) -> Duration {
    let path = dir.join(format!("bench-{sync}"));
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(true)
        .open(&path)
        .expect("bench file");
    let page = vec![0xA5u8; PAGE];
    // Warm up: allocate the blocks once.
    for i in 0..iterations.min(64) {
        file.write_all_at(&page, (i * PAGE) as u64).expect("write");
    }
    file.sync_all().expect("sync");
    let started = Instant::now();
    for i in 0..iterations {
        file.write_all_at(&page, ((i % 64) * PAGE) as u64)
            .expect("write");
        if sync {
            file.sync_data().expect("fdatasync");
        }
    }
    let elapsed = started.elapsed();
    std::fs::remove_file(&path).expect("remove");
    elapsed / iterations as u32
}

fn target_node() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("TARGET_NODE_BIN") {
        return Some(path.into());
    }
    let exe = std::env::current_exe().ok()?;
    let path = exe.parent()?.parent()?.join("target-node");
    path.is_file().then_some(path)
}

fn addr(i: u32) -> SocketAddrV4 {
    SocketAddrV4::new(Ipv4Addr::new(127, 0, 0, 10 + i as u8), 8000)
}

/// Acknowledged writes per second, plain data dirs then durable mounts.
fn cluster_throughput(bin: &Path, dir: &Path) {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let (mut plain, mut durable_rates) = (Vec::new(), Vec::new());
    for (round, durable) in [false, true, false, true].into_iter().enumerate() {
        let base = dir.join(format!("cluster-{round}"));
        let mut mounts = Vec::new();
        let mut nemesis = Nemesis::<LoopbackIptables>::new(None);
        for i in 1..=3u32 {
            let data = base.join(format!("n{i}"));
            if durable {
                mounts.push(
                    DurableFs::mount(base.join(format!("n{i}.backing")), &data).expect("mount"),
                );
            }
            let mut spec =
                NodeSpec::new(NodeName::numbered(i), bin, base.join(format!("n{i}.log")))
                    .args(["--id", &i.to_string(), "--listen", &addr(i).to_string()])
                    .arg("--data-dir")
                    .arg(&data);
            for j in 1..=3 {
                spec = spec.args(["--peer", &format!("{j}={}", addr(j))]);
            }
            runtime
                .block_on(nemesis.start_node(spec))
                .expect("start node");
        }
        wait_ready();
        let rate = put_rate(Duration::from_secs(8), 8);
        runtime.block_on(nemesis.shutdown()).expect("shutdown");
        drop(mounts);
        println!(
            "{:>16}: {rate:>8.0} acknowledged PUTs/s (3 nodes, 8 clients, 8 s)",
            if durable {
                "durable mounts"
            } else {
                "plain dirs"
            }
        );
        if durable {
            durable_rates.push(rate);
        } else {
            plain.push(rate);
        }
    }
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
    println!(
        "{:>16}: durable/plain throughput ratio {:.2} (means of 2 alternating runs each)",
        "target-node",
        mean(&durable_rates) / mean(&plain)
    );
}

fn http(to: SocketAddrV4, method: &str, path: &str, body: &str) -> Option<u16> {
    let mut stream = TcpStream::connect_timeout(&to.into(), Duration::from_secs(2)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(3))).ok()?;
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: {to}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .ok()?;
    let mut answer = String::new();
    stream.read_to_string(&mut answer).ok()?;
    answer.split(' ').nth(1)?.parse().ok()
}

fn wait_ready() {
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        if (1..=3).any(|i| http(addr(i), "GET", "/kv/probe", "") == Some(200)) {
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("the cluster never served a read");
}

/// `clients` threads PUT distinct keys for `period`; acknowledged per second.
fn put_rate(period: Duration, clients: u32) -> f64 {
    let stop = Arc::new(AtomicBool::new(false));
    let acked = Arc::new(AtomicU64::new(0));
    let threads: Vec<_> = (0..clients)
        .map(|c| {
            let (stop, acked) = (stop.clone(), acked.clone());
            std::thread::spawn(move || {
                let mut n = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    let to = addr(c % 3 + 1);
                    let body = format!("{{\"value\": {n}}}");
                    if http(to, "PUT", &format!("/kv/c{c}-{n}"), &body) == Some(200) {
                        acked.fetch_add(1, Ordering::Relaxed);
                    }
                    n += 1;
                }
            })
        })
        .collect();
    std::thread::sleep(period);
    stop.store(true, Ordering::Relaxed);
    for t in threads {
        t.join().expect("client thread");
    }
    acked.load(Ordering::Relaxed) as f64 / period.as_secs_f64()
}
