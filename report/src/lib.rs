//! Reports of a run for people and for CI: `report.html` (one
//! self-contained page: summary, throughput and latency with fault
//! windows, porcupine-style counterexamples, a per-process timeline, node
//! log tails) and `junit.xml`.
//!
//! The report is a consumer of what the run left: the history, the typed
//! reports of the checkers ([`checker::Checked`]) and the run's metadata
//! ([`rundir::RunMeta`]). It never changes them, and every renderer is a
//! pure function from a [`ReportInput`] to a `String`, so each piece is
//! unit-tested without a cluster.
//!
//! - [`input`]: what a report is made from (run metadata, log tails);
//! - [`faults`]: fault windows as labelled bands;
//! - [`series`]: throughput bins, latency points, per-function stats;
//! - [`svg`]: scales, ticks, escaping, fault bands; [`units`]: times;
//! - [`plots`]: the throughput and latency plots;
//! - [`timeline`]: ops per process, paginated;
//! - [`counterexample`]: an invalid key, drawn porcupine-style;
//! - [`cycle`]: a transactional dependency cycle, drawn;
//! - [`sections`]: checkers' own sections (linearizability, set,
//!   transactions);
//! - [`html`]: the page; [`junit`]: the JUnit file;
//! - [`write`]: reading a run directory and writing both files.

pub mod counterexample;
pub mod cycle;
pub mod faults;
pub mod html;
pub mod input;
pub mod junit;
pub mod plots;
pub mod sections;
pub mod series;
pub mod svg;
pub mod timeline;
pub mod units;
pub mod write;

pub use html::render_html;
pub use input::{NodeLog, ReportInput};
pub use junit::{junit_report, render_junit};
pub use write::{ReportError, Written, input_for, write_all, write_for};
