//! `harness bench ...`: measurements of the harness itself.

use std::time::Duration;

use clap::Subcommand;

use crate::exit_code;

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
        duration: Duration,
    },
}

pub fn bench_command(command: BenchCommand) -> u8 {
    match command {
        BenchCommand::Clients {
            concurrency,
            duration,
        } => bench_clients(concurrency, duration),
    }
}

fn bench_clients(concurrency: usize, duration: Duration) -> u8 {
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
