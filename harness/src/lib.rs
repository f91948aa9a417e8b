//! The harness library: plans, the controller, the run store and verdicts.
//! The `harness` binary is a thin command line over it.

pub mod bench;
pub mod cli;
pub mod exit_code;
pub mod plan;
pub mod report;
pub mod run;
mod runner;
pub mod serve;
pub mod verdict;
