//! Clients: run one operation against one node and say how it ended.
//!
//! The one rule that keeps histories honest: an operation is `fail` only
//! when the system promised (its error is definite) or the transport
//! proved (the connection was never made) that it did not take effect.
//! Everything else is `info`. A read never takes effect, so a failed read
//! is always `fail`. Each system's client applies the rule to its own
//! errors; [`classify_transport`] applies it to the transport's.

use workloads::OpRequest;

use crate::BoxFuture;

/// How one operation ended.
#[derive(Clone, Debug, PartialEq)]
pub enum Completion {
    /// It took effect; the value is the result (what a read saw).
    Ok(serde_json::Value),
    /// It certainly did not take effect.
    Fail(String),
    /// It may or may not have taken effect.
    Info(String),
}

/// A client of one node.
pub trait Client: Send + Sync {
    /// Runs `op` and says how it ended.
    ///
    /// # Correctness
    ///
    /// `Fail` only when the operation certainly did not take effect (see
    /// the module docs); a client that says `Fail` for an operation that
    /// may have happened makes the checkers blame the system for anomalies
    /// that are not there, or miss real ones.
    fn invoke<'a>(&'a self, op: &'a OpRequest) -> BoxFuture<'a, Completion>;
}

/// A transport error: `fail` for reads and for connections never made,
/// `info` otherwise.
pub fn classify_transport(error: &reqwest::Error, is_read: bool) -> Completion {
    let message = if error.is_timeout() {
        "timeout".to_owned()
    } else if error.is_connect() {
        "connection refused or unreachable".to_owned()
    } else {
        format!("transport: {}", root_cause(error))
    };
    // A connection that was never established carried no request.
    if is_read || error.is_connect() {
        Completion::Fail(message)
    } else {
        Completion::Info(message)
    }
}

/// The innermost cause of an error, which says what actually went wrong
/// ("connection reset by peer") where the outer ones say only where.
pub fn root_cause(error: &(dyn std::error::Error + 'static)) -> String {
    let mut cause = error;
    while let Some(next) = cause.source() {
        cause = next;
    }
    cause.to_string()
}
