//! The command line: one file per subcommand, dispatched from here.
//! Errors are reported at this edge, with context; everything below
//! returns typed errors.

mod bench;
mod check;
mod report;
pub mod run;
mod validate;

use clap::{Parser, Subcommand};

pub use self::{bench::BenchCommand, check::CheckArgs, run::RunArgs};

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
    /// that no firewall rule can touch the host. Ctrl-C or SIGTERM stops
    /// the clients, heals, stops the nodes and checks what was recorded.
    Run(RunArgs),
    /// Re-check a stored run directory, or any JSONL or EDN history.
    Check(CheckArgs),
    /// Check plans without running them; lists the systems, workloads and
    /// fault kinds plans can name.
    Validate {
        /// Plan files (YAML).
        #[arg(required = true)]
        plans: Vec<std::path::PathBuf>,
    },
    /// Print the JSON Schema of plan files (for editor completion).
    Schema,
    /// Re-render a stored run's report.html and junit.xml.
    Report {
        /// The run directory (with history.jsonl and results.json).
        run_dir: std::path::PathBuf,
    },
    /// Browse run directories in a local web UI.
    Serve(crate::serve::ServeArgs),
    /// Measure the harness itself.
    #[command(subcommand)]
    Bench(BenchCommand),
}

/// Runs the command; the process's exit code.
pub fn dispatch(cli: Cli) -> u8 {
    init_logging();
    match cli.command {
        Command::Run(args) => run::run_command(args),
        Command::Check(args) => check::check_command(&args),
        Command::Validate { plans } => validate::validate_command(&plans),
        Command::Schema => validate::schema_command(),
        Command::Report { run_dir } => report::report_command(&run_dir),
        Command::Serve(args) => crate::serve::serve_command(&args),
        Command::Bench(command) => bench::bench_command(command),
    }
}

fn init_logging() {
    // Quiet libraries that log the expected course of a run: fuser warns
    // of each request kind a durable mount leaves to the kernel (extended
    // attributes: answered "not implemented", never asked again); the
    // ZooKeeper client warns of every connection it fails to make under
    // faults (the history records every failed operation anyway).
    let filter = tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| {
        tracing_subscriber::EnvFilter::new("warn,fuser=error,zookeeper_client=error")
    });
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr)
        .init();
}
