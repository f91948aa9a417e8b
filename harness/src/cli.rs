//! The command line: subcommands and their flags, dispatched to the
//! modules that do the work. Errors are reported here, with context.

use std::path::PathBuf;

use clap::{Parser, Subcommand};

use crate::{exit_code, plan};

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
    /// Check plans without running them.
    Validate {
        /// Plan files (YAML).
        #[arg(required = true)]
        plans: Vec<PathBuf>,
    },
    /// Print the JSON Schema of plan files (for editor completion).
    Schema,
}

pub fn dispatch(cli: Cli) -> u8 {
    match cli.command {
        Command::Validate { plans } => validate(&plans),
        Command::Schema => {
            let schema = schemars::schema_for!(plan::Plan);
            println!(
                "{}",
                serde_json::to_string_pretty(&schema).expect("schemas serialize")
            );
            exit_code::VALID
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
