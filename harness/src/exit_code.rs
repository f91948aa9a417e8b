//! The harness's exit codes, named.
//!
//! | code | meaning |
//! |---|---|
//! | 0 | every check is valid |
//! | 1 | some check found the history invalid (a bug in the system) |
//! | 2 | no check is invalid, but some could not decide (unknown) |
//! | 3 | the harness itself failed: bad plan, nodes would not start, ... |

use checker::Verdict;

pub const VALID: u8 = 0;
pub const INVALID: u8 = 1;
pub const UNKNOWN: u8 = 2;
pub const HARNESS_FAILED: u8 = 3;

/// The exit code that reports `verdict`.
pub fn for_verdict(verdict: Verdict) -> u8 {
    match verdict {
        Verdict::Valid => VALID,
        Verdict::Invalid => INVALID,
        Verdict::Unknown => UNKNOWN,
    }
}
