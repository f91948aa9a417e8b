//! Sections of their own for checkers whose findings deserve more than a
//! summary: the report's side of the checker seam.
//!
//! Every checker gets a row in the verdict table, a heading with its
//! summary, and its details as JSON, with no code here. A checker that
//! wants more (drawn counterexamples, tables, extra JUnit cases) adds a
//! [`Section`] in its own file and one line in [`SECTIONS`].
//!
//! Invariant: a section only reads its checker's typed report (through
//! [`checker::Checked::get_as`]) and the history; it never changes them.

mod linearizable;
mod set;
mod txn;

use std::collections::BTreeSet;

use checker::Report;
pub use linearizable::counterexamples;
use quick_junit::TestCase;

use crate::input::ReportInput;

/// The sections, by checker name.
pub const SECTIONS: &[&dyn Section] = &[&linearizable::Linearizable, &set::Set, &txn::Txn];

/// The section of the checker `name`, if it has one.
pub fn find(name: &str) -> Option<&'static dyn Section> {
    SECTIONS.iter().copied().find(|s| s.checker() == name)
}

/// What a section adds to the page.
#[derive(Default)]
pub struct Rendered {
    /// HTML after the checker's heading and summary.
    pub html: String,
    /// Ops to highlight in the timeline (positions in `History::ops`).
    pub highlight: BTreeSet<usize>,
    /// A link for the navigation bar: `(anchor, title)`.
    pub nav: Option<(&'static str, &'static str)>,
}

/// A checker's own part of the report.
pub trait Section: Sync {
    /// The checker it renders ([`checker::Checker::name`]).
    fn checker(&self) -> &'static str;

    /// The section's HTML; `report` is the checker's report.
    fn html(&self, input: &ReportInput<'_>, report: &dyn Report) -> Rendered;

    /// JUnit cases beyond the checker's own (one per invalid key, ...),
    /// with `classname` set by the caller.
    fn junit(&self, _input: &ReportInput<'_>, _report: &dyn Report) -> Vec<TestCase> {
        Vec::new()
    }
}
