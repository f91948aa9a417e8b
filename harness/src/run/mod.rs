//! The controller: one run of a plan, from starting the cluster to the
//! verdict.
//!
//! ```text
//! start nodes -> wait until ready -> clients + fault schedule (duration)
//!   -> stop clients, end faults -> recover, settle -> final reads
//!   -> stop nodes -> check history.jsonl -> results.json
//! ```
//!
//! Cleanup cannot be skipped: the [`faults::Nemesis`] owns every node
//! process and the firewall, and its `Drop` resumes, kills and heals on any
//! early return or panic; an interrupted run (Ctrl-C) takes the normal path
//! from "stop clients" on, so what was recorded is still checked.

pub mod crashes;
mod final_phase;
mod progress;
pub mod workers;

use std::{
    collections::BTreeSet,
    path::PathBuf,
    sync::{Arc, Mutex},
    time::Duration,
};

use checker::{CheckSettings, Checked, RunIntegrity};
use faults::{Nemesis, net::AnyBackend};
use plan::Plan;
use rundir::{RunDir, RunMeta};
use systems::{Client, Cluster, ClusterError, Programs};
use tokio::sync::watch;
use workloads::{FinalReads, GeneratorParams, Workload};

use self::workers::{Shared, WorkerConfig};
use crate::{
    check,
    nemesis::{self, NemesisContext, schedule},
    plans,
    recorder::{FLUSH_EVERY, Recorder},
};

/// Settings that come from the command line, not the plan.
pub struct RunOptions {
    /// Where run directories go (`runs/`).
    pub runs_dir: PathBuf,
    /// Where to look for node programs the plan does not name.
    pub programs: Programs,
    /// Whether this process is in a private network namespace, so that
    /// firewall rules are allowed.
    pub isolated: bool,
    /// Turns true on Ctrl-C or SIGTERM.
    pub interrupt: watch::Receiver<bool>,
}

/// What a run produced.
pub struct RunOutcome {
    pub dir: RunDir,
    pub seed: u64,
    pub checked: Checked,
    pub interrupted: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("cannot write the run directory: {0}")]
    Store(#[from] std::io::Error),
    #[error(transparent)]
    Program(#[from] systems::ProgramError),
    #[error(transparent)]
    Cluster(#[from] ClusterError),
    #[error("fault injection failed: {0}")]
    Fault(#[from] faults::FaultError),
    #[error("{0}")]
    Setup(String),
    #[error("{exit} while the cluster was starting\n{logs}")]
    NodeDied { exit: String, logs: String },
    #[error("cannot read back the recorded history: {0}")]
    History(#[from] checker::HistoryError),
}

/// The plan's workload. Plans are validated before they run.
fn workload_of(plan: &Plan) -> &'static dyn Workload {
    workloads::find(&plan.workload.kind.value).expect("validated plans name a known workload")
}

/// A fresh secret for the run's nodes to authenticate each other with.
fn fresh_secret() -> String {
    let bytes: [u8; 24] = rand::random();
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Runs `plan` once. `seed`, if given, is the seed to use (else the
/// plan's, else a fresh one); it is returned even when the run fails, so
/// that a failed run can be replayed.
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

    let program = systems::of(&plan).program(&plan, &options.programs)?;
    let mut cluster = Cluster::create(&plan, &dir, &program, &fresh_secret()).await?;
    let mut rigs = nemesis::Rigs::default();
    nemesis::setup(&plan, &dir, &mut cluster.nodes, &mut rigs).map_err(RunError::Setup)?;
    let cluster = Arc::new(cluster);
    let firewall = if options.isolated && nemesis::needs_firewall(&plan) {
        Some(cluster.firewall().await?)
    } else {
        None
    };
    let mut nemesis = Nemesis::with_ids(firewall, rigs.ids());
    for node in &cluster.nodes {
        nemesis.start_node(node.spec.clone()).await?;
    }
    let nemesis = Arc::new(tokio::sync::Mutex::new(nemesis));
    // A node that dies while the cluster forms (a bad flag, a port in use)
    // ends the wait at once, instead of after the timeout.
    let leader = tokio::select! {
        ready = cluster.wait_ready(plan.cluster.start_timeout.get()) => ready?,
        exit = first_unexpected_exit(&nemesis) => {
            return Err(RunError::NodeDied { exit, logs: cluster.log_tails(20) });
        }
    };
    match leader {
        Some(leader) => eprintln!("cluster of {} up, leader {leader}", cluster.nodes.len()),
        None => eprintln!("cluster of {} up", cluster.nodes.len()),
    }

    let recorder = Arc::new(Recorder::create(&dir.history())?);
    let ctx = Arc::new(NemesisContext {
        nemesis,
        cluster: cluster.clone(),
        recorder: recorder.clone(),
        rigs: tokio::sync::Mutex::new(rigs),
        active: Arc::new(Mutex::new(BTreeSet::new())),
        problems: Arc::new(Mutex::new(Vec::new())),
    });
    let crashes = crashes::Crashes::default();
    let driven = drive(&plan, seed, &ctx, &crashes, options).await;
    let findings = finish(&plan, ctx, &crashes, &driven).await;

    let interrupted = driven.interrupted;
    let checked = check_run(&plan, seed, &dir, interrupted, findings)?;
    Ok(RunOutcome {
        dir,
        seed,
        checked,
        interrupted,
    })
}

/// What the main phase leaves for the final phase.
struct Driven {
    interrupted: bool,
    shared: Arc<Shared>,
    clients: Vec<Arc<dyn Client>>,
}

/// What the run found about itself, beyond its history.
struct Findings {
    /// For people: faults skipped, recovery trouble, ...
    notes: Vec<String>,
    /// What makes the history incomplete (the verdict is `unknown`).
    holes: Vec<String>,
    crashes: Vec<checker::Crash>,
}

/// The main phase: clients, faults and the crash watch for `duration`,
/// or until interrupted.
async fn drive(
    plan: &Plan,
    seed: u64,
    ctx: &Arc<NemesisContext>,
    crashes: &crashes::Crashes,
    options: &RunOptions,
) -> Driven {
    let (cluster, recorder) = (&ctx.cluster, &ctx.recorder);
    let (stop_tx, stop_rx) = watch::channel(false);
    let w = &plan.workload;
    let concurrency = w.concurrency.value;
    let generator = workload_of(plan).generator(GeneratorParams {
        seed,
        keys: w.keys.value,
        ops_per_key: w.ops_per_key.value,
        mix: plans::mix(plan),
    });
    let shared = Arc::new(Shared::new(generator, recorder.clone(), concurrency));
    let clients = node_clients(cluster, plan);
    // Validated: 1 <= concurrency and 0.01 <= rate, so this is finite.
    let interval = Duration::from_secs_f64(concurrency as f64 / w.rate.value);
    let mut tasks = Vec::new();
    for id in 0..concurrency {
        let node = id % clients.len();
        let config = WorkerConfig {
            id,
            node: cluster.nodes[node].name().to_string(),
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
    tasks.push(tokio::spawn(schedule::run_schedule(
        ctx.clone(),
        plan.faults.clone(),
        seed,
        stop_rx.clone(),
    )));
    tasks.push(tokio::spawn(crashes::watch(
        ctx.clone(),
        crashes.clone(),
        stop_rx.clone(),
    )));
    tasks.push(tokio::spawn(flush_until(recorder.clone(), stop_rx.clone())));
    tasks.push(tokio::spawn(progress::report(
        recorder.clone(),
        ctx.active.clone(),
        plan.duration.value.get(),
        stop_rx,
    )));

    let mut interrupt = options.interrupt.clone();
    let interrupted = tokio::select! {
        _ = tokio::time::sleep(plan.duration.value.get()) => false,
        _ = interrupt.wait_for(|i| *i) => true,
    };
    let _ = stop_tx.send(true);
    for task in tasks {
        let _ = task.await;
    }
    Driven {
        interrupted,
        shared,
        clients,
    }
}

/// The final phase: recover, final reads, stop the nodes, flush.
async fn finish(
    plan: &Plan,
    ctx: Arc<NemesisContext>,
    crashes: &crashes::Crashes,
    driven: &Driven,
) -> Findings {
    let (cluster, recorder) = (ctx.cluster.clone(), ctx.recorder.clone());
    let mut notes = Vec::new();
    let mut holes = Vec::new();
    if plan.final_phase.heal {
        match ctx.nemesis.lock().await.recover().await {
            Ok(reports) => reports
                .iter()
                .flat_map(|r| &r.events)
                .for_each(|e| recorder.nemesis(e)),
            Err(e) => notes.push(format!("recovery failed: {e}")),
        }
        nemesis::recover(plan, &ctx).await;
    }
    let reads_wanted =
        plan.final_phase.reads || workload_of(plan).final_reads() == FinalReads::Always;
    if !driven.interrupted && reads_wanted {
        match cluster
            .wait_ready(plan.final_phase.recover_timeout.get())
            .await
        {
            Ok(_) => {
                tokio::time::sleep(plan.final_phase.settle.get()).await;
                let unread =
                    final_phase::final_reads(&driven.shared, &cluster, &driven.clients, &recorder)
                        .await;
                holes.extend(
                    unread
                        .iter()
                        .map(|key| format!("no node could read key {key} in the final phase")),
                );
            }
            Err(e) => notes.push(format!(
                "the cluster did not recover after healing: {}",
                first_line(&e.to_string())
            )),
        }
    }
    // Crashes since the watch stopped are findings too.
    for exit in ctx.nemesis.lock().await.unexpected_exits() {
        crashes::note(&ctx, crashes, &exit);
    }
    notes.extend(ctx.problems.lock().expect("problems lock").drain(..));
    let ctx = Arc::into_inner(ctx).expect("every task holding the nemesis has ended");
    let nemesis = Arc::into_inner(ctx.nemesis)
        .expect("every task holding the nemesis has ended")
        .into_inner();
    if let Err(e) = nemesis.shutdown().await {
        notes.push(format!("cleanup failed: {e}"));
    }
    if recorder.flush().is_err()
        && let Some(failure) = recorder.failure()
    {
        holes.push(format!(
            "the history could not be written in full ({failure})"
        ));
    }
    for note in notes.iter().chain(&holes) {
        eprintln!("note: {note}");
    }
    Findings {
        notes,
        holes,
        crashes: std::mem::take(&mut *crashes.lock().expect("crashes lock")),
    }
}

fn first_line(text: &str) -> &str {
    text.lines().next().unwrap_or_default()
}

/// Checks the recorded history, through the one check path.
fn check_run(
    plan: &Plan,
    seed: u64,
    dir: &RunDir,
    interrupted: bool,
    findings: Findings,
) -> Result<Checked, RunError> {
    let (history, warnings) = checker::read_jsonl(dir.history())?;
    for warning in &warnings {
        eprintln!("warning: {warning}");
    }
    let settings = CheckSettings {
        time_budget: plan.check.time_budget.get(),
        min_ok_share: plan.check.min_ok_share.as_ref().map(|s| s.value),
        progress: Some(check::progress()),
        ..CheckSettings::default()
    };
    let meta = RunMeta {
        plan: plan.name.clone(),
        seed: Some(seed),
        nodes: Some(plan.cluster.nodes.value as u64),
        system: Some(plan.cluster.system.value.clone()),
        args: plan.cluster.args.clone(),
        reads: Some(systems::of(plan).reads(plan)),
        workload: Some(plan.workload.kind.value.clone()),
        duration: Some(plan.duration.value.to_string()),
        interrupted,
        notes: findings.notes,
    };
    let checkers = workload_of(plan).checkers(&settings);
    let integrity = RunIntegrity::new(findings.crashes, plan.check.expect_crashes, findings.holes);
    let facts: check::Facts = vec![(checker::integrity::NAME.to_owned(), Box::new(integrity))];
    Ok(check::check(
        &history,
        &checkers,
        facts,
        Some(dir),
        Some(meta),
    )?)
}

fn node_clients(cluster: &Cluster, plan: &Plan) -> Vec<Arc<dyn Client>> {
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(plan.workload.concurrency.value.max(4))
        // Below the 10 s after which target-node closes idle connections:
        // a request on a connection the node is closing fails in a way
        // that can only be recorded as `info`.
        .pool_idle_timeout(Duration::from_secs(5))
        .tcp_nodelay(true)
        .build()
        .expect("a plain HTTP client builds");
    cluster.clients(&http)
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
