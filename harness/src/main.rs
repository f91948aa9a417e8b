//! `harness`: run chaos plans against real clusters and check the results.

use std::process::ExitCode;

use clap::Parser;
use harness::cli;

fn main() -> ExitCode {
    let args = cli::Cli::parse();
    ExitCode::from(cli::dispatch(args))
}
