//! The command line: subcommands and their flags, dispatched to the
//! modules that do the work. Errors are reported here, with context.

use std::path::{Path, PathBuf};

use clap::{Parser, Subcommand, ValueEnum};

use crate::{exit_code, plan, plan::Plan, run, verdict};

/// Chaos tests for replicated systems, on one machine.
///
/// `harness run` starts a cluster, drives clients against it, injects the
/// plan's faults (kills, pauses, network partitions in a private network
/// namespace), then checks the recorded history for linearizability, lost
/// writes and availability.
///
/// Exit codes: 0 valid, 1 invalid, 2 unknown, 3 the harness failed.
#[derive(Debug, Parser)]
#[command(name = "harness", version, propagate_version = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run a plan (the embedded plans/default.yaml when none is given).
    ///
    /// Needs root (or unprivileged user namespaces) when the plan has
    /// network faults: the run happens in a private network namespace so
    /// that no firewall rule can touch the host.
    Run(RunArgs),
    /// Re-check a stored run directory, or any JSONL or EDN history.
    Check(CheckArgs),
    /// Check plans without running them.
    Validate {
        /// Plan files (YAML).
        #[arg(required = true)]
        plans: Vec<PathBuf>,
    },
    /// Print the JSON Schema of plan files (for editor completion).
    Schema,
    /// Re-render a stored run's report.html and junit.xml.
    Report {
        /// The run directory (with history.jsonl and results.json).
        run_dir: PathBuf,
    },
    /// Browse run directories in a local web UI.
    Serve(crate::serve::ServeArgs),
    /// Measure the harness itself.
    #[command(subcommand)]
    Bench(BenchCommand),
}

#[derive(Debug, Subcommand)]
pub enum BenchCommand {
    /// Operations per second of the client path (generator, HTTP client,
    /// recorder) against a trivial in-process server, next to a bare
    /// reqwest loop measured in the same run.
    Clients {
        /// Concurrent clients.
        #[arg(long, default_value_t = 32)]
        concurrency: usize,
        /// How long each of the two measurements runs.
        #[arg(long, default_value = "5s", value_parser = humantime::parse_duration)]
        duration: std::time::Duration,
    },
}

#[derive(Debug, clap::Args)]
pub struct RunArgs {
    /// The plan file (YAML). Default: the embedded default plan.
    pub plan: Option<PathBuf>,
    /// Run the plan this many times, each with a fresh seed, and print a
    /// table of verdicts.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..))]
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

#[derive(Debug, clap::Args)]
pub struct CheckArgs {
    /// A run directory (with history.jsonl and plan.yaml), or a history
    /// file: `.jsonl`, or `.edn` for Jepsen histories.
    pub path: PathBuf,
    /// The model to check against (default: the run's workload, else
    /// register).
    #[arg(long, value_enum)]
    pub model: Option<ModelArg>,
    /// Initial register value, as JSON (default null).
    #[arg(long, value_name = "JSON")]
    pub init: Option<String>,
    /// Per-key time budget of the linearizability search.
    #[arg(long, default_value = "30s", value_parser = humantime::parse_duration)]
    pub time_budget: std::time::Duration,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum ModelArg {
    Register,
    Set,
}

pub fn dispatch(cli: Cli) -> u8 {
    init_logging();
    match cli.command {
        Command::Run(args) => crate::runner::run_command(args),
        Command::Check(args) => check(&args),
        Command::Validate { plans } => validate(&plans),
        Command::Report { run_dir } => report(&run_dir),
        Command::Serve(args) => crate::serve::serve_command(&args),
        Command::Bench(BenchCommand::Clients {
            concurrency,
            duration,
        }) => bench_clients(concurrency, duration),
        Command::Schema => {
            let schema = schemars::schema_for!(Plan);
            println!(
                "{}",
                serde_json::to_string_pretty(&schema).expect("schemas serialize")
            );
            exit_code::VALID
        }
    }
}

fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr)
        .init();
}

fn report(dir: &Path) -> u8 {
    match crate::report::write_all(dir) {
        Ok(written) => {
            println!("{}", written.html.display());
            println!("{}", written.junit.display());
            exit_code::VALID
        }
        Err(e) => {
            eprintln!("error: {e}");
            exit_code::HARNESS_FAILED
        }
    }
}

fn validate(paths: &[PathBuf]) -> u8 {
    let mut failed = false;
    for path in paths {
        match plan::load(path) {
            Ok(plan) => println!("{}: ok ({})", path.display(), plan.name),
            Err(e) => {
                failed = true;
                eprintln!("error: {}", e.render());
            }
        }
    }
    if failed {
        exit_code::HARNESS_FAILED
    } else {
        exit_code::VALID
    }
}

fn check(args: &CheckArgs) -> u8 {
    match check_inner(args) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            exit_code::HARNESS_FAILED
        }
    }
}

fn check_inner(args: &CheckArgs) -> anyhow::Result<u8> {
    use anyhow::Context;
    let is_dir = args.path.is_dir();
    let history_path = if is_dir {
        args.path.join("history.jsonl")
    } else {
        args.path.clone()
    };
    let stored_plan = is_dir
        .then(|| plan::load(&args.path.join("plan.yaml")).ok())
        .flatten();
    let (history, warnings) = if history_path.extension().is_some_and(|e| e == "edn") {
        checker::history::read_edn(&history_path)
    } else {
        checker::read_jsonl(&history_path)
    }
    .with_context(|| format!("cannot read history {}", history_path.display()))?;
    for warning in &warnings {
        eprintln!("warning: {warning}");
    }
    let model = match (args.model, &stored_plan) {
        (Some(ModelArg::Set), _) => checker::Model::List,
        (Some(ModelArg::Register), _) | (None, None) => register_model(args.init.as_deref())?,
        (None, Some(plan)) => run::workload_model(plan.workload.kind),
    };
    let config = verdict::CheckConfig {
        model,
        time_budget: args.time_budget,
    };
    let mut results = verdict::check(&history, &config);
    if is_dir {
        keep_run_metadata(&args.path, &mut results);
        verdict::write_results(&results, &args.path.join("results.json"))
            .context("cannot write results.json")?;
        if let Err(e) = crate::report::write_for(&args.path, &history, &results) {
            eprintln!("warning: cannot write report.html / junit.xml: {e}");
        }
    }
    print!("{}", verdict::summary(&results));
    Ok(exit_code::for_verdict(results.verdict))
}

fn register_model(init: Option<&str>) -> anyhow::Result<checker::Model> {
    let init = match init {
        Some(text) => serde_json::from_str(text)
            .map_err(|e| anyhow::anyhow!("--init must be JSON (e.g. 0, null, \"x\"): {e}"))?,
        None => serde_json::Value::Null,
    };
    Ok(checker::Model::Register { init })
}

/// A re-check keeps what the original run recorded about itself.
fn keep_run_metadata(dir: &Path, results: &mut checker::Results) {
    let old: Option<checker::Results> = std::fs::read(dir.join("results.json"))
        .ok()
        .and_then(|bytes| serde_json::from_slice(&bytes).ok());
    if let Some(old) = old {
        for (name, value) in old.extra {
            results.extra.entry(name).or_insert(value);
        }
    }
}

fn bench_clients(concurrency: usize, duration: std::time::Duration) -> u8 {
    let config = crate::bench::BenchConfig {
        concurrency: concurrency.max(1),
        duration,
    };
    let runtime = tokio::runtime::Runtime::new().expect("the async runtime starts");
    match runtime.block_on(crate::bench::clients(&config)) {
        Ok(result) => {
            println!(
                "baseline (bare reqwest loop): {:>10.0} ops/s",
                result.baseline_ops_per_sec
            );
            println!(
                "harness client path:          {:>10.0} ops/s",
                result.harness_ops_per_sec
            );
            println!("ratio harness/baseline:       {:>10.2}", result.ratio());
            exit_code::VALID
        }
        Err(e) => {
            eprintln!("error: benchmark failed: {e}");
            exit_code::HARNESS_FAILED
        }
    }
}
