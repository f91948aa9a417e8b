//! The controller: one run of a plan, from starting the cluster to the
//! verdict.
//!
//! ```text
//! start nodes -> wait for a leader -> clients + fault schedule (duration)
//!   -> stop clients, end faults -> recover, settle -> final reads
//!   -> stop nodes -> check history.jsonl -> results.json
//! ```
//!
//! Cleanup cannot be skipped: the [`faults::Nemesis`] owns every node
//! process and the firewall, and its `Drop` resumes, kills and heals on any
//! early return or panic; an interrupted run (Ctrl-C) takes the normal path
//! from "stop clients" on, so what was recorded is still checked.

pub mod client;
pub mod cluster;
pub mod command;
pub mod etcd;
mod final_phase;
mod progress;
pub mod recorder;
mod schedule;
pub mod store;
pub mod workers;

use std::{
    collections::BTreeSet,
    path::PathBuf,
    sync::{Arc, Mutex},
    time::Duration,
};

use checker::Results;
use faults::{Nemesis, net::AnyBackend};
use serde_json::json;
use tokio::sync::watch;
use workloads::{KeySlots, Mix, RegisterWorkload, SetWorkload, Workload};

use self::{
    client::KvClient,
    cluster::{Cluster, ClusterError},
    recorder::{FLUSH_EVERY, Recorder},
    schedule::NemesisContext,
    store::RunDir,
    workers::{Shared, WorkerConfig},
};
use crate::{
    plan::{self, FaultKind, Plan, WorkloadKind},
    verdict::{self, CheckConfig},
};

/// How long a fresh cluster may take to elect its first leader.
const STARTUP_TIMEOUT: Duration = Duration::from_secs(30);

/// Settings that come from the command line, not the plan.
pub struct RunOptions {
    /// Where run directories go (`runs/`).
    pub runs_dir: PathBuf,
    /// The node binary, unless the plan names one.
    pub node_binary: PathBuf,
    /// Whether this process is in a private network namespace, so that
    /// firewall rules are allowed.
    pub isolated: bool,
    /// Turns true on Ctrl-C.
    pub interrupt: watch::Receiver<bool>,
}

/// What a run produced.
pub struct RunOutcome {
    pub dir: RunDir,
    pub seed: u64,
    pub results: Results,
    pub interrupted: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("cannot write the run directory: {0}")]
    Store(#[from] std::io::Error),
    #[error(transparent)]
    Cluster(#[from] ClusterError),
    #[error("fault injection failed: {0}")]
    Fault(#[from] faults::FaultError),
    #[error("{exit} while the cluster was starting\n{logs}")]
    NodeDied { exit: String, logs: String },
    #[error("cannot read back the recorded history: {0}")]
    History(#[from] checker::HistoryError),
}

/// Does the plan use the firewall?
pub fn needs_network(plan: &Plan) -> bool {
    let faults = &plan.faults;
    faults
        .pick
        .iter()
        .chain(&faults.timeline)
        .any(|f| matches!(f.fault.value, FaultKind::Partition | FaultKind::Loss))
}

/// Runs `plan` once.
pub async fn execute(mut plan: Plan, options: &RunOptions) -> Result<RunOutcome, RunError> {
    let seed = plan.seed.unwrap_or_else(rand::random);
    plan.seed = Some(seed);
    let dir = RunDir::create(&options.runs_dir, &plan.name)?;
    std::fs::write(dir.plan(), plan::to_yaml(&plan))?;
    eprintln!(
        "run {} with seed {seed} in {}",
        plan.name,
        dir.path.display()
    );

    let binary = node_binary(&plan, options);
    let cluster = Arc::new(Cluster::create(&plan, &dir.path, &binary).await?);
    let firewall = if options.isolated && needs_network(&plan) {
        Some(cluster.firewall().await?)
    } else {
        None
    };
    let mut nemesis = Nemesis::new(firewall);
    for node in &cluster.nodes {
        nemesis.start_node(node.spec.clone()).await?;
    }
    let nemesis = Arc::new(tokio::sync::Mutex::new(nemesis));
    // A node that dies while the cluster forms (a bad flag, a port in use)
    // ends the wait at once, instead of after the timeout.
    let leader = tokio::select! {
        leader = cluster.wait_for_leader(STARTUP_TIMEOUT) => leader?,
        exit = first_unexpected_exit(&nemesis) => {
            return Err(RunError::NodeDied { exit, logs: cluster.log_tails(20) });
        }
    };
    eprintln!("cluster of {} up, leader {leader}", cluster.nodes.len());

    let recorder = Arc::new(Recorder::create(&dir.history())?);
    let driven = drive(&plan, seed, &cluster, &nemesis, &recorder, options).await;
    let notes = finish(&plan, &cluster, nemesis, &recorder, &driven).await;

    let interrupted = driven.interrupted;
    let results = check_run(&plan, seed, &dir, interrupted, notes)?;
    Ok(RunOutcome {
        dir,
        seed,
        results,
        interrupted,
    })
}

/// What the main phase leaves for the final phase.
struct Driven {
    interrupted: bool,
    shared: Arc<Shared>,
    clients: Vec<KvClient>,
    problems: Vec<String>,
}

/// The main phase: clients and faults for `duration`, or until Ctrl-C.
async fn drive(
    plan: &Plan,
    seed: u64,
    cluster: &Arc<Cluster>,
    nemesis: &Arc<tokio::sync::Mutex<Nemesis<AnyBackend>>>,
    recorder: &Arc<Recorder>,
    options: &RunOptions,
) -> Driven {
    let (stop_tx, stop_rx) = watch::channel(false);
    let w = &plan.workload;
    let shared = Arc::new(Shared::new(
        build_workload(plan, seed),
        recorder.clone(),
        w.concurrency,
    ));
    let clients = node_clients(cluster, plan);
    let active = Arc::new(Mutex::new(BTreeSet::new()));
    let problems = Arc::new(Mutex::new(Vec::new()));
    let interval = Duration::from_secs_f64(w.concurrency as f64 / w.rate);
    let mut tasks = Vec::new();
    for id in 0..w.concurrency {
        let node = id % clients.len();
        let config = WorkerConfig {
            id,
            node: cluster.nodes[node].name.to_string(),
            client: clients[node].clone(),
            interval,
            seed,
        };
        tasks.push(tokio::spawn(workers::run_worker(
            shared.clone(),
            config,
            stop_rx.clone(),
        )));
    }
    let ctx = Arc::new(NemesisContext {
        nemesis: nemesis.clone(),
        cluster: cluster.clone(),
        recorder: recorder.clone(),
        active: active.clone(),
        problems: problems.clone(),
    });
    tasks.push(tokio::spawn(schedule::run_schedule(
        ctx,
        plan.faults.clone(),
        seed,
        stop_rx.clone(),
    )));
    tasks.push(tokio::spawn(flush_until(recorder.clone(), stop_rx.clone())));
    tasks.push(tokio::spawn(progress::report(
        recorder.clone(),
        active,
        plan.duration.value.get(),
        stop_rx,
    )));

    let mut interrupt = options.interrupt.clone();
    let interrupted = tokio::select! {
        _ = tokio::time::sleep(plan.duration.value.get()) => false,
        _ = interrupt.wait_for(|i| *i) => true,
    };
    if interrupted {
        eprintln!("interrupted: stopping clients, healing, checking what was recorded");
    }
    let _ = stop_tx.send(true);
    for task in tasks {
        let _ = task.await;
    }
    let problems = std::mem::take(&mut *problems.lock().expect("problems lock"));
    Driven {
        interrupted,
        shared,
        clients,
        problems,
    }
}

/// The final phase; returns notes for the results (problems, findings).
async fn finish(
    plan: &Plan,
    cluster: &Cluster,
    nemesis: Arc<tokio::sync::Mutex<Nemesis<AnyBackend>>>,
    recorder: &Arc<Recorder>,
    driven: &Driven,
) -> Vec<String> {
    let mut notes = driven.problems.clone();
    if plan.final_phase.heal {
        match nemesis.lock().await.recover().await {
            Ok(reports) => reports
                .iter()
                .flat_map(|r| &r.events)
                .for_each(|e| recorder.nemesis(e)),
            Err(e) => notes.push(format!("recovery failed: {e}")),
        }
    }
    let reads_wanted = plan.final_phase.reads || plan.workload.kind == WorkloadKind::Set;
    if !driven.interrupted && reads_wanted {
        match cluster
            .wait_for_leader(plan.final_phase.recover_timeout.get())
            .await
        {
            Ok(_) => {
                tokio::time::sleep(plan.final_phase.settle.get()).await;
                let unread =
                    final_phase::final_reads(&driven.shared, cluster, &driven.clients, recorder)
                        .await;
                if unread > 0 {
                    notes.push(format!(
                        "{unread} key(s) could not be read by any node in the final phase"
                    ));
                }
            }
            Err(e) => notes.push(format!(
                "the cluster did not recover after healing: {}",
                first_line(&e.to_string())
            )),
        }
    }
    let mut nemesis = match Arc::try_unwrap(nemesis) {
        Ok(mutex) => mutex.into_inner(),
        Err(_) => unreachable!("every task holding the nemesis has ended"),
    };
    for exit in nemesis.unexpected_exits() {
        notes.push(format!("unexpected node exit: {exit}"));
    }
    if let Err(e) = nemesis.shutdown().await {
        notes.push(format!("cleanup failed: {e}"));
    }
    if let Err(e) = recorder.flush() {
        notes.push(format!("history write failed: {e}"));
    }
    for note in &notes {
        eprintln!("note: {note}");
    }
    notes
}

fn first_line(text: &str) -> &str {
    text.lines().next().unwrap_or_default()
}

/// Checks the recorded history and writes `results.json`.
fn check_run(
    plan: &Plan,
    seed: u64,
    dir: &RunDir,
    interrupted: bool,
    notes: Vec<String>,
) -> Result<Results, RunError> {
    let (history, warnings) = checker::read_jsonl(dir.history())?;
    for warning in &warnings {
        eprintln!("warning: {warning}");
    }
    let config = CheckConfig {
        model: workload_model(plan.workload.kind),
        time_budget: plan.check.time_budget.get(),
    };
    let mut results = verdict::check(&history, &config);
    results.extra.insert(
        "run".to_owned(),
        json!({
            "plan": plan.name,
            "seed": seed,
            "nodes": plan.cluster.nodes.value,
            "system": plan.cluster.system,
            "args": plan.cluster.args,
            "workload": plan.workload.kind,
            "duration": plan.duration.value.to_string(),
            "interrupted": interrupted,
            "notes": notes,
        }),
    );
    verdict::write_results(&results, &dir.results())?;
    // The report is a convenience: failing to render it loses no result.
    if let Err(e) = crate::report::write_for(&dir.path, &history, &results) {
        eprintln!("warning: cannot write report.html / junit.xml: {e}");
    }
    Ok(results)
}

pub fn workload_model(kind: WorkloadKind) -> checker::Model {
    match kind {
        WorkloadKind::Register => checker::Model::register(),
        WorkloadKind::Set => checker::Model::List,
    }
}

fn build_workload(plan: &Plan, seed: u64) -> Workload {
    let w = &plan.workload;
    let mix = plan::Mix::of(w);
    let mix = Mix::new(mix.0.iter().map(|(k, v)| (k.as_str(), *v)))
        .expect("validated plans have a usable mix");
    let keys = KeySlots::new(w.keys, w.ops_per_key);
    match w.kind {
        WorkloadKind::Register => Workload::Register(RegisterWorkload::new(seed, mix, keys)),
        WorkloadKind::Set => Workload::Set(SetWorkload::new(seed, mix, keys)),
    }
}

fn node_clients(cluster: &Cluster, plan: &Plan) -> Vec<KvClient> {
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(plan.workload.concurrency.max(4))
        .tcp_nodelay(true)
        .build()
        .expect("a plain HTTP client builds");
    cluster.clients(plan, &http, plan.workload.timeout.get())
}

/// The node program: the plan's `binary`, else what the command line
/// resolved for the plan's system.
fn node_binary(plan: &Plan, options: &RunOptions) -> PathBuf {
    plan.cluster
        .binary
        .clone()
        .unwrap_or_else(|| options.node_binary.clone())
}

/// Resolves with the first node exit the harness did not cause.
async fn first_unexpected_exit(nemesis: &tokio::sync::Mutex<Nemesis<AnyBackend>>) -> String {
    loop {
        tokio::time::sleep(Duration::from_millis(200)).await;
        if let Some(exit) = nemesis.lock().await.unexpected_exits().first() {
            return exit.to_string();
        }
    }
}

/// Flushes the history every [`FLUSH_EVERY`] until `stop`.
async fn flush_until(recorder: Arc<Recorder>, mut stop: watch::Receiver<bool>) {
    loop {
        tokio::select! {
            _ = tokio::time::sleep(FLUSH_EVERY) => {}
            _ = stop.wait_for(|s| *s) => break,
        }
        if let Err(e) = recorder.flush() {
            tracing::error!(error = %e, "cannot write the history");
        }
    }
    let _ = recorder.flush();
}
