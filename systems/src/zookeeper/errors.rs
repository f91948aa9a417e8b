//! Which ZooKeeper errors are definite: the write certainly did not
//! happen.
//!
//! ZooKeeper turns every write into a transaction in the leader's
//! `PrepRequestProcessor`; a request it refuses there becomes an *error
//! transaction* that changes nothing, and its reply carries the error code.
//! A session's requests are answered in the order they were sent (FIFO),
//! and when a connection breaks, the client fails every request in flight
//! on it with that connection's error (`ConnectionLoss`, an I/O error, "no
//! response from connection"): those may have been applied, and only those
//! can be.

use zookeeper_client as zk;

use crate::client::Completion;

/// Is `error`, for a write, *definite*?
///
/// | error | definite | why |
/// |---|---|---|
/// | `NoNode`, `NodeExists`, `BadVersion`, `NotEmpty`, `NoChildrenForEphemerals` | yes | the leader's checks of the request failed: an error transaction, no change |
/// | `NoAuth`, `InvalidAcl`, `AuthFailed` | yes | refused by the ACL and auth checks before the transaction |
/// | `BadArguments` | yes | refused by the client (path checks) before sending, or by the server's checks |
/// | `MarshallingError`, `Unimplemented` | yes | the server could not read the request, or has no such operation |
/// | `NotReadOnly` | yes | a read-only server refuses every write |
/// | `QuotaExceeded` | yes | quota enforcement refuses it in the prep step |
/// | `Throttled` | yes | a throttled request skips the prep step and gets no transaction |
/// | `ReconfigDisabled`, `NoWatcher` | yes | refused; neither is a data change |
/// | `SessionExpired`, `SessionMoved` | yes | either the server's session check refused it (the session is closed for good, so every later request of it is refused too, and FIFO replies mean every earlier one was already answered), or the client never sent it (a request sent before the session was lost fails with its connection's error instead) |
/// | `ClientClosed`, `NoHosts`, `Timeout` | yes | no session: the request was never sent (`Timeout` is "no session established in time") |
/// | `ConnectionLoss`, any I/O error, "no response from connection" | no | the request may have been applied, and its reply lost |
/// | `UnexpectedErrorCode` | no | a server error this client does not know: it cannot tell |
/// | `UnmarshalError`, `UnexpectedError` | no | an answer it could not read: maybe a success |
/// | anything newer (the enum is non-exhaustive) | no | `info` is always safe |
///
/// `info` is always safe; a wrong `fail` makes the checker see a write that
/// "did not happen" and report a false anomaly, or miss a real one.
pub fn classify_zk(error: &zk::Error) -> bool {
    use zk::Error::*;
    match error {
        NoNode | NodeExists | BadVersion | NotEmpty | NoChildrenForEphemerals => true,
        NoAuth | InvalidAcl | AuthFailed | BadArguments(_) => true,
        MarshallingError | Unimplemented | NotReadOnly | QuotaExceeded | Throttled => true,
        ReconfigDisabled | NoWatcher => true,
        SessionExpired | SessionMoved | ClientClosed | NoHosts | Timeout => true,
        ConnectionLoss | UnexpectedErrorCode(_) | UnmarshalError { .. } | UnexpectedError(_) => {
            false
        }
        Custom(_) => false,
        _ => false,
    }
}

/// Does `error` say the session is unusable (broken connection, expired,
/// closed), so that it should not serve another operation? Errors about
/// the data itself leave it as good as it was.
pub fn breaks_session(error: &zk::Error) -> bool {
    use zk::Error::*;
    !matches!(
        error,
        NoNode
            | NodeExists
            | BadVersion
            | NotEmpty
            | NoChildrenForEphemerals
            | NoAuth
            | InvalidAcl
            | BadArguments(_)
            | QuotaExceeded
            | Throttled
            | NotReadOnly
    )
}

/// A failed write, cas or append: `fail` only if it certainly did not take
/// effect.
pub fn write_failure(error: &zk::Error) -> Completion {
    if classify_zk(error) {
        Completion::Fail(error.to_string())
    } else {
        Completion::Info(error.to_string())
    }
}
