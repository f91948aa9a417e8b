//! Run statistics: counts, latency percentiles, availability per second,
//! fault windows and recovery times.
//!
//! - [`compute`](compute::compute): the [`Stats`] of a history;
//! - [`faults`]: fault windows from nemesis `start-*`/`stop-*` pairs.

pub mod compute;
pub mod faults;

pub use compute::{Latency, Second, Stats, compute};
pub use faults::{FaultWindow, fault_windows};
