//! What bounds a search and what it reports about its progress: the
//! [`Limits`] a caller passes to [`search_with`](super::wgl::search_with),
//! and the [`Reached`] / [`SearchProgress`] it gives back.
//!
//! Invariant: every limit is optional; `Limits::default()` is unbounded.

use std::time::{Duration, Instant};

use super::budget::MemoryBudget;

/// How far a search got: some configuration linearized the first
/// `linearized` completed ops in return order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Reached {
    /// Completed ops (in return order) covered by one configuration.
    pub linearized: usize,
    /// Completed ops of the key.
    pub of: usize,
    /// The first completed op not covered (index into the key's ops).
    pub next: Option<usize>,
}

/// A search's running totals, for progress reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SearchProgress {
    /// Configurations explored.
    pub explored: u64,
    /// How far the search got.
    pub reached: Reached,
    /// Bytes the search holds.
    pub bytes: usize,
    /// Time since the search began.
    pub elapsed: Duration,
}

/// What bounds a search, all optional.
#[derive(Clone, Copy, Default)]
pub struct Limits<'a> {
    /// Stop with [`SearchResult::Timeout`] at this instant.
    pub deadline: Option<Instant>,
    /// Stop with [`SearchResult::OutOfMemory`] when this budget refuses
    /// to cover the search's structures.
    pub memory: Option<&'a MemoryBudget>,
    /// Called with the totals at most every `PROGRESS_INTERVAL`.
    pub progress: Option<&'a (dyn Fn(&SearchProgress) + Sync)>,
}
