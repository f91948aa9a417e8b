//! [`Problem`]: one thing wrong with a plan, at a place in it.

use serde_saphyr::Location;

/// One thing wrong with a plan, at a place in it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    /// 1-based; 0 when the place is unknown.
    pub line: u64,
    pub column: u64,
    pub message: String,
}

impl Problem {
    /// A problem at `location`.
    pub fn at(location: &Location, message: impl Into<String>) -> Self {
        Self {
            line: location.line(),
            column: location.column(),
            message: message.into(),
        }
    }

    /// A problem with no place in the file.
    pub fn anywhere(message: impl Into<String>) -> Self {
        Self {
            line: 0,
            column: 0,
            message: message.into(),
        }
    }
}
