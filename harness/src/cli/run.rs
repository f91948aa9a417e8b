//! `harness run`: load the plan, leave the host's network namespace (and,
//! for disk faults, its mount namespace), start the async runtime, run the
//! plan (N times with `--repeat`), and turn the verdicts into an exit code.
//!
//! The order matters: entering a private network or mount namespace only
//! moves the calling thread (the kernel refuses the mount namespace to a
//! process with threads), so it happens before the runtime (and any
//! thread) exists.

use std::path::PathBuf;

use checker::Verdict;
use plan::{NetworkMode, Plan};
use systems::Programs;
use tokio::sync::watch;

use crate::{
    check, exit_code, nemesis, plans,
    run::{self, RunOptions},
};

#[derive(Debug, clap::Args)]
pub struct RunArgs {
    /// The plan file (YAML). Default: the embedded default plan.
    pub plan: Option<PathBuf>,
    /// Run the plan this many times, each with a fresh seed, and print a
    /// table of verdicts.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub repeat: u32,
    /// Use this seed (overrides the plan's; not with --repeat).
    #[arg(long, conflicts_with = "repeat")]
    pub seed: Option<u64>,
    /// Directory that receives run directories.
    #[arg(long, default_value = "runs", value_name = "DIR")]
    pub runs_dir: PathBuf,
    /// The target-node binary for `system: raft-kv` plans (default: next
    /// to this executable). Other systems take `cluster.binary`.
    #[arg(long, value_name = "PATH")]
    pub node_binary: Option<PathBuf>,
}

pub fn run_command(args: RunArgs) -> u8 {
    let plan = match &args.plan {
        Some(path) => plans::load(path),
        None => plans::load_str(plans::DEFAULT_PLAN, plans::DEFAULT_PLAN_NAME),
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
    let programs = Programs {
        node_binary: args.node_binary.clone(),
        harness_dir: std::env::current_exe()
            .ok()
            .and_then(|exe| exe.parent().map(PathBuf::from)),
    };
    // Fail before anything starts when the program is missing.
    if let Err(e) = systems::of(&plan).program(&plan, &programs) {
        eprintln!("error: {e}");
        return exit_code::HARNESS_FAILED;
    }
    let isolated = match faults::netns::enter_private_namespace() {
        Ok(_) => true,
        Err(e) if nemesis::needs_firewall(&plan) => {
            eprintln!(
                "error: this plan has network faults, which need a private network namespace: {e}"
            );
            return exit_code::HARNESS_FAILED;
        }
        Err(e) if systems::network_mode(&plan) == NetworkMode::Namespaces => {
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
    // Disk faults mount the nodes' data directories: in a mount namespace
    // of the run's own, entered while there is still one thread.
    if nemesis::needs_mounts(&plan)
        && let Err(e) = faults::netns::enter_private_mount_namespace()
    {
        eprintln!(
            "error: this plan has disk faults, which need a private mount namespace: {e}; {}",
            faults::disk::FUSE_ADVICE
        );
        return exit_code::HARNESS_FAILED;
    }
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return exit_code::HARNESS_FAILED;
        }
    };
    runtime.block_on(run_all(plan, args, programs, isolated))
}

async fn run_all(plan: Plan, args: RunArgs, programs: Programs, isolated: bool) -> u8 {
    let (interrupt_tx, interrupt) = watch::channel(false);
    tokio::spawn(async move {
        let Some(mut signals) = Signals::new() else {
            return;
        };
        let name = signals.next().await;
        eprintln!("{name}: stopping clients, healing, checking what was recorded");
        let _ = interrupt_tx.send(true);
        // A second signal gives up on a clean finish; the kernel still
        // kills the nodes (PR_SET_PDEATHSIG) and drops the namespace.
        let name = signals.next().await;
        eprintln!("second {name}: exiting now");
        std::process::exit(i32::from(exit_code::HARNESS_FAILED));
    });
    let options = RunOptions {
        runs_dir: args.runs_dir.clone(),
        programs,
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
        // Drawn here, so that a run that fails before it starts still
        // shows the seed that replays it.
        let seed = this.seed.unwrap_or_else(rand::random);
        this.seed = Some(seed);
        match run::execute(this, &options).await {
            Ok(outcome) => {
                print!("{}", check::summary(&outcome.checked));
                println!("run directory: {}", outcome.dir.path.display());
                println!("replay: harness run {}", outcome.dir.plan().display());
                worst = worst.max(exit_code::for_verdict(outcome.checked.verdict()));
                rows.push((
                    outcome.seed,
                    Some(outcome.checked.verdict()),
                    outcome.dir.path.display().to_string(),
                ));
                if outcome.interrupted {
                    println!("(interrupted: the verdict covers only what was recorded)");
                    break;
                }
            }
            Err(e) => {
                eprintln!("error: run failed (seed {seed}): {e}");
                worst = exit_code::HARNESS_FAILED;
                rows.push((
                    seed,
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

/// Ctrl-C (SIGINT) and SIGTERM (what `timeout`, CI runners and systemd
/// send), taken alike.
struct Signals {
    terminate: tokio::signal::unix::Signal,
}

impl Signals {
    fn new() -> Option<Signals> {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(terminate) => Some(Signals { terminate }),
            Err(e) => {
                eprintln!("warning: cannot handle SIGTERM: {e}");
                None
            }
        }
    }

    /// Waits for the next signal; its name.
    async fn next(&mut self) -> &'static str {
        tokio::select! {
            _ = tokio::signal::ctrl_c() => "interrupted",
            _ = self.terminate.recv() => "SIGTERM",
        }
    }
}
