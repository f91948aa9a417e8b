//! `harness bench clients`: how many operations per second the harness's
//! own client path sustains (generator, HTTP client, recorder), so that the
//! harness is never the bottleneck of a test.
//!
//! Both measurements run in the same process against the same trivial
//! in-process HTTP server, one after the other, so that the ratio between
//! them is meaningful on a shared, noisy machine:
//! - baseline: bare reqwest requests in a loop, nothing recorded;
//! - harness: the real workers (`run::workers`), workload generator and
//!   history recorder, at an unlimited rate.

use std::{
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use axum::{Json, Router, routing::get};
use serde_json::{Value, json};
use systems::{Client, protocol::NodeClient};
use tokio::sync::watch;
use workloads::{KeySlots, Mix, RegisterGenerator};

use crate::{
    recorder::Recorder,
    run::workers::{self, Shared, WorkerConfig},
};

/// Settings of one benchmark.
#[derive(Clone, Debug)]
pub struct BenchConfig {
    pub concurrency: usize,
    pub duration: Duration,
}

/// Operations per second of both paths.
#[derive(Clone, Debug)]
pub struct BenchResult {
    pub baseline_ops_per_sec: f64,
    pub harness_ops_per_sec: f64,
}

impl BenchResult {
    pub fn ratio(&self) -> f64 {
        self.harness_ops_per_sec / self.baseline_ops_per_sec
    }
}

/// A server that answers the node protocol without doing anything.
async fn trivial_server() -> std::io::Result<std::net::SocketAddr> {
    let ok = || async { Json(json!({})) };
    let app = Router::new()
        .route(
            "/kv/{key}",
            get(|| async { Json(json!({ "value": Value::Null })) }).put(ok),
        )
        .route("/kv/{key}/cas", axum::routing::post(ok))
        .route("/kv/{key}/append", axum::routing::post(ok));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move { axum::serve(listener, app).await });
    Ok(addr)
}

fn http_client(concurrency: usize) -> reqwest::Client {
    reqwest::Client::builder()
        .pool_max_idle_per_host(concurrency)
        .tcp_nodelay(true)
        .build()
        .expect("a plain HTTP client builds")
}

/// Runs both measurements.
pub async fn clients(config: &BenchConfig) -> std::io::Result<BenchResult> {
    let addr = trivial_server().await?;
    let baseline = baseline(addr, config).await;
    let harness = harness_path(addr, config).await?;
    Ok(BenchResult {
        baseline_ops_per_sec: baseline,
        harness_ops_per_sec: harness,
    })
}

async fn baseline(addr: std::net::SocketAddr, config: &BenchConfig) -> f64 {
    let http = http_client(config.concurrency);
    let done = Arc::new(AtomicU64::new(0));
    let deadline = Instant::now() + config.duration;
    let url = format!("http://{addr}/kv/k0");
    let tasks: Vec<_> = (0..config.concurrency)
        .map(|_| {
            let (http, done, url) = (http.clone(), done.clone(), url.clone());
            tokio::spawn(async move {
                while Instant::now() < deadline {
                    if let Ok(r) = http.get(&url).send().await
                        && r.bytes().await.is_ok()
                    {
                        done.fetch_add(1, Ordering::Relaxed);
                    }
                }
            })
        })
        .collect();
    for task in tasks {
        let _ = task.await;
    }
    done.load(Ordering::Relaxed) as f64 / config.duration.as_secs_f64()
}

async fn harness_path(addr: std::net::SocketAddr, config: &BenchConfig) -> std::io::Result<f64> {
    let dir = tempfile_dir()?;
    let recorder = Arc::new(Recorder::create(&dir.join("history.jsonl"))?);
    let mix = Mix::new([("read", 2), ("write", 1), ("cas", 1)]).expect("a valid mix");
    let generator = Box::new(RegisterGenerator::new(1, mix, KeySlots::new(8, 1000)));
    let shared = Arc::new(Shared::new(generator, recorder.clone(), config.concurrency));
    let client: Arc<dyn Client> = Arc::new(NodeClient::new(
        http_client(config.concurrency),
        &addr.to_string(),
        Duration::from_secs(5),
    ));
    let (stop_tx, stop_rx) = watch::channel(false);
    let started = Instant::now();
    let tasks: Vec<_> = (0..config.concurrency)
        .map(|id| {
            let worker = WorkerConfig {
                id,
                node: "n1".into(),
                client: client.clone(),
                interval: Duration::ZERO,
                seed: 1,
            };
            tokio::spawn(workers::run_worker(shared.clone(), worker, stop_rx.clone()))
        })
        .collect();
    let flusher = {
        let recorder = recorder.clone();
        tokio::spawn(async move {
            while !*stop_rx.borrow() {
                tokio::time::sleep(crate::recorder::FLUSH_EVERY).await;
                let _ = recorder.flush();
            }
        })
    };
    tokio::time::sleep(config.duration).await;
    let _ = stop_tx.send(true);
    for task in tasks {
        let _ = task.await;
    }
    let _ = flusher.await;
    recorder.flush()?;
    let elapsed = started.elapsed().as_secs_f64();
    let c = &recorder.counters;
    let completed = c.ok.load(Ordering::Relaxed)
        + c.fail.load(Ordering::Relaxed)
        + c.info.load(Ordering::Relaxed);
    let _ = std::fs::remove_dir_all(&dir);
    Ok(completed as f64 / elapsed)
}

fn tempfile_dir() -> std::io::Result<std::path::PathBuf> {
    let dir = std::env::temp_dir().join(format!("harness-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Not a performance assertion (benchmarks are not timed tests): it
    /// checks that both paths do real work and are measured.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn both_paths_complete_operations() {
        let config = BenchConfig {
            concurrency: 4,
            duration: Duration::from_millis(300),
        };
        let result = clients(&config).await.unwrap();
        assert!(result.baseline_ops_per_sec > 0.0);
        assert!(result.harness_ops_per_sec > 0.0);
    }
}
