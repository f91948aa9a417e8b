//! `harness run`: load the plan, leave the host's network namespace, start
//! the async runtime, run the plan (N times with `--repeat`), and turn the
//! verdicts into an exit code.
//!
//! The order matters: entering a private network namespace only moves the
//! calling thread, so it happens before the runtime (and any thread) exists.

use std::path::PathBuf;

use checker::Verdict;
use tokio::sync::watch;

use crate::{
    cli::RunArgs,
    exit_code,
    plan::{self, NetworkMode, Plan, System},
    run::{self, RunOptions},
    verdict,
};

/// What the embedded default plan is called in messages.
const DEFAULT_PLAN_NAME: &str = "<embedded plans/default.yaml>";

pub fn run_command(args: RunArgs) -> u8 {
    let plan = match &args.plan {
        Some(path) => plan::load(path),
        None => plan::load_str(plan::DEFAULT_PLAN, DEFAULT_PLAN_NAME),
    };
    let mut plan = match plan {
        Ok(plan) => plan,
        Err(e) => {
            eprintln!("error: {}", e.render());
            return exit_code::HARNESS_FAILED;
        }
    };
    if args.seed.is_some() {
        plan.seed = args.seed;
    }
    let node_binary = match node_binary(&args, &plan) {
        Ok(path) => path,
        Err(message) => {
            eprintln!("error: {message}");
            return exit_code::HARNESS_FAILED;
        }
    };
    let isolated = match faults::netns::enter_private_namespace() {
        Ok(_) => true,
        Err(e) if run::needs_network(&plan) => {
            eprintln!(
                "error: this plan has network faults, which need a private network namespace: {e}"
            );
            return exit_code::HARNESS_FAILED;
        }
        Err(e) if plan.cluster.network_mode() == NetworkMode::Namespaces => {
            eprintln!("error: `network: namespaces` needs a private network namespace: {e}");
            return exit_code::HARNESS_FAILED;
        }
        Err(e) => {
            eprintln!(
                "warning: running in the host's network namespace (the plan has no network faults): {e}"
            );
            false
        }
    };
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return exit_code::HARNESS_FAILED;
        }
    };
    runtime.block_on(run_all(plan, args, node_binary, isolated))
}

fn node_binary(args: &RunArgs, plan: &Plan) -> Result<PathBuf, String> {
    match plan.cluster.system {
        System::RaftKv => {}
        System::Etcd => return etcd_binary(plan),
        // The start template names the program.
        System::Command => return Ok(PathBuf::new()),
    }
    if let Some(path) = args
        .node_binary
        .clone()
        .or_else(|| plan.cluster.binary.clone())
    {
        return if path.is_file() {
            Ok(path)
        } else {
            Err(format!("node binary {} does not exist", path.display()))
        };
    }
    let exe =
        std::env::current_exe().map_err(|e| format!("cannot locate the harness binary: {e}"))?;
    let sibling = exe.with_file_name("target-node");
    if sibling.is_file() {
        Ok(sibling)
    } else {
        Err(format!(
            "cannot find target-node next to harness (looked for {}); build it with \
             `cargo build --release` (both binaries), or pass --node-binary PATH",
            sibling.display()
        ))
    }
}

fn etcd_binary(plan: &Plan) -> Result<PathBuf, String> {
    let path = plan
        .cluster
        .binary
        .clone()
        .unwrap_or_else(|| PathBuf::from("/usr/bin/etcd"));
    if path.is_file() {
        Ok(path)
    } else {
        Err(format!(
            "etcd not found at {}; install it (`apt-get install etcd-server`) or set cluster.binary",
            path.display()
        ))
    }
}

async fn run_all(plan: Plan, args: RunArgs, node_binary: PathBuf, isolated: bool) -> u8 {
    let (interrupt_tx, interrupt) = watch::channel(false);
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            let _ = interrupt_tx.send(true);
        }
        // A second Ctrl-C gives up on a clean finish; the kernel still
        // kills the nodes (PR_SET_PDEATHSIG) and drops the namespace.
        if tokio::signal::ctrl_c().await.is_ok() {
            eprintln!("second interrupt: exiting now");
            std::process::exit(i32::from(exit_code::HARNESS_FAILED));
        }
    });
    let options = RunOptions {
        runs_dir: args.runs_dir.clone(),
        node_binary,
        isolated,
        interrupt: interrupt.clone(),
    };
    let mut rows = Vec::new();
    let mut worst = exit_code::VALID;
    for i in 0..args.repeat {
        let mut this = plan.clone();
        if args.repeat > 1 {
            this.seed = None;
            eprintln!("=== run {} of {} ===", i + 1, args.repeat);
        }
        match run::execute(this, &options).await {
            Ok(outcome) => {
                print!("{}", verdict::summary(&outcome.results));
                println!("run directory: {}", outcome.dir.path.display());
                println!("replay: harness run {}", outcome.dir.plan().display());
                worst = worst.max(exit_code::for_verdict(outcome.results.verdict));
                rows.push((
                    outcome.seed,
                    Some(outcome.results.verdict),
                    outcome.dir.path.display().to_string(),
                ));
                if outcome.interrupted {
                    println!("(interrupted: the verdict covers only what was recorded)");
                    break;
                }
            }
            Err(e) => {
                eprintln!("error: run failed: {e}");
                worst = exit_code::HARNESS_FAILED;
                rows.push((
                    0,
                    None,
                    e.to_string().lines().next().unwrap_or_default().to_owned(),
                ));
            }
        }
        if *interrupt.borrow() {
            break;
        }
    }
    if args.repeat > 1 {
        print_table(&rows);
    }
    worst
}

fn print_table(rows: &[(u64, Option<Verdict>, String)]) {
    println!("\n{:<4} {:<22} {:<8} run", "#", "seed", "verdict");
    for (i, (seed, verdict, dir)) in rows.iter().enumerate() {
        let verdict = verdict.map_or("error".to_owned(), |v| v.to_string());
        println!("{:<4} {:<22} {:<8} {dir}", i + 1, seed, verdict);
    }
    let count = |v: Verdict| rows.iter().filter(|r| r.1 == Some(v)).count();
    println!(
        "{} valid, {} invalid, {} unknown, {} errors",
        count(Verdict::Valid),
        count(Verdict::Invalid),
        count(Verdict::Unknown),
        rows.iter().filter(|r| r.1.is_none()).count()
    );
}
