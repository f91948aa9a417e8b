//! The harness: the command line and the controller that runs plans.
//!
//! - [`cli`]: one file per subcommand;
//! - [`plans`]: loading plans with the rules of every seam;
//! - [`run`]: the controller: cluster, workers, final phase;
//! - [`recorder`]: the history, streamed to `history.jsonl` as the run goes;
//! - [`nemesis`]: the fault seam: one file per fault kind, the schedule;
//! - [`check`]: the one path from a history to results.json and reports;
//! - [`serve`]: `harness serve`; [`bench`]: `harness bench`.
//!
//! Plans, systems, workloads, checkers, reports and the run directory are
//! crates of their own (`plan`, `systems`, `workloads`, `checker`,
//! `report`, `rundir`); this crate composes them.

pub mod bench;
pub mod check;
pub mod cli;
pub mod exit_code;
pub mod nemesis;
pub mod plans;
pub mod recorder;
pub mod run;
pub mod serve;
