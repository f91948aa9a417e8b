//! `target-node`: a durable Raft key-value server on openraft, redb and
//! axum. See `--help` and docs/node-protocol.md.

// openraft's storage traits dictate `StorageError` (over 200 bytes) as the
// error type throughout the store; boxing it at every call would only move
// the cost around.
#![expect(
    clippy::result_large_err,
    reason = "openraft's error types are large by design"
)]

mod api;
mod cli;
mod limits;
mod log_prefix;
mod network;
mod node;
mod peer_auth;
mod read_index;
mod rpc_bounds;
mod server;
mod store;
mod types;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let args = cli::Args::parse();
    let env_secret = match std::env::var(peer_auth::SECRET_ENV) {
        Ok(text) => Some(text),
        Err(std::env::VarError::NotPresent) => None,
        Err(std::env::VarError::NotUnicode(_)) => {
            eprintln!(
                "target-node: error: {} is not valid UTF-8",
                peer_auth::SECRET_ENV
            );
            return ExitCode::from(2);
        }
    };
    let config = match args.validate(env_secret) {
        Ok(config) => config,
        Err(message) => {
            eprintln!("target-node: error: {message}");
            return ExitCode::from(2);
        }
    };
    log_prefix::init(config.id);
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("target-node: error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(node::run(config, shutdown_signal())) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("target-node: error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Resolves on SIGINT or SIGTERM.
async fn shutdown_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate()).expect("SIGTERM handler installs");
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
}
