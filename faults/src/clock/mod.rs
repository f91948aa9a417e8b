//! Clock faults, per node, through libfaketime.
//!
//! Every node runs with `libfaketime.so.1` preloaded (`LD_PRELOAD`) and
//! its own clock file (`FAKETIME_TIMESTAMP_FILE`), re-read on every clock
//! call (`FAKETIME_NO_CACHE=1`), so that the controller changes a running
//! node's clock by rewriting that file.
//!
//! - [`ClockSetup::prepare`]: the node side. Adds the preload and the
//!   `FAKETIME_*` variables to a [`crate::NodeSpec`], creates the node's
//!   [`ClockFile`] at real time, and refuses programs libfaketime cannot
//!   reach ([`check_clock_reachable`]: statically linked binaries, Go
//!   programs). [`locate_libfaketime`] finds the library for this
//!   machine's architecture.
//! - [`ClockControl`]: the controller side, with verbs
//!   [`offset`](ClockControl::offset) (jump by ±N ms),
//!   [`rate`](ClockControl::rate) (run at `factor`× real speed),
//!   [`strobe`](ClockControl::strobe) (jump back and forth every period,
//!   for a while, in a background task) and [`reset`](ClockControl::reset)
//!   (back to real time at real speed). Each returns a
//!   [`crate::FaultReport`] with `start-clock`/`stop-clock` events.
//! - [`is_statically_linked`]: `PT_INTERP` read from the ELF program
//!   headers.
//!
//! What libfaketime 0.9.10 (Debian 12) fakes, and how, as measured by the
//! live tests and written down in `docs/faults.md`: `CLOCK_REALTIME`,
//! `time`, `gettimeofday` and, unless `FAKETIME_DONT_FAKE_MONOTONIC=1`,
//! `CLOCK_MONOTONIC`, `_RAW`, `_COARSE` and `CLOCK_BOOTTIME`, which it
//! moves into the realtime domain (a faked monotonic clock reads about
//! `1.7e9` s). A Rust program's `Instant` goes through glibc's
//! `clock_gettime`, so it is faked; so are tokio's timers (`epoll_wait`
//! timeouts are scaled by the rate).

mod control;
mod elf;
mod faketime;
mod program;

pub use control::{
    ClockControl, DeltaMillis, MAX_OFFSET, MAX_STROBE, RATE_BOUNDS, STROBE_PERIOD_BOUNDS,
};
pub use elf::{ElfError, ElfFacts, inspect_elf};
pub use faketime::{ClockFile, ClockSetup, LIBFAKETIME, locate_libfaketime};
pub use program::{
    MAX_SHEBANG_DEPTH, check_clock_reachable, is_statically_linked, resolve_program,
};

#[cfg(test)]
mod tests;
