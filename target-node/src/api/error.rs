//! Error responses: `{"error": "...", "definite": bool}`.
//!
//! `definite: true` promises the client that the operation certainly did
//! not take effect. Only errors raised before a write could have been
//! proposed (bad input, not the leader) or that concern reads (which never
//! take effect) may carry it; anything after a proposal is indefinite.
//!
//! Messages never repeat the request's content (a key, a body, a path):
//! they are short texts of our own, with at most numbers in them.

use axum::{
    Json,
    http::{HeaderValue, StatusCode, header::WWW_AUTHENTICATE},
    response::{IntoResponse, Response},
};
use serde_json::{Value, json};

#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    message: String,
    definite: bool,
    extra: Option<(&'static str, Value)>,
}

impl ApiError {
    fn new(status: StatusCode, message: impl Into<String>, definite: bool) -> Self {
        Self {
            status,
            message: message.into(),
            definite,
            extra: None,
        }
    }

    /// Malformed input: nothing was attempted.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, message, true)
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, message, true)
    }

    pub fn method_not_allowed(message: impl Into<String>) -> Self {
        Self::new(StatusCode::METHOD_NOT_ALLOWED, message, true)
    }

    /// The request was not proposed: no leader is known (or forwarding
    /// would loop).
    pub fn not_leader(leader: Option<u64>) -> Self {
        Self::new(StatusCode::SERVICE_UNAVAILABLE, "not-leader", true).with("leader", json!(leader))
    }

    /// A conditional write whose condition was false: applied as a no-op.
    pub fn conflict(message: &'static str, current: Value) -> Self {
        Self::new(StatusCode::CONFLICT, message, true).with("current", current)
    }

    /// The outcome is unknown (timeout, lost connection, node stopping),
    /// unless `definite` says it certainly did not happen.
    pub fn unavailable(message: impl Into<String>, definite: bool) -> Self {
        Self::new(StatusCode::SERVICE_UNAVAILABLE, message, definite)
    }

    /// A body over `limit` bytes: nothing was read past the limit.
    pub fn too_large(limit: usize) -> Self {
        Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("request body larger than {limit} bytes"),
            true,
        )
    }

    pub fn uri_too_long(limit: usize) -> Self {
        Self::new(
            StatusCode::URI_TOO_LONG,
            format!("request target longer than {limit} bytes"),
            true,
        )
    }

    /// The body did not arrive in time.
    pub fn body_timeout() -> Self {
        Self::new(
            StatusCode::REQUEST_TIMEOUT,
            "request body not received in time",
            true,
        )
    }

    /// A Raft RPC without the cluster secret.
    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, message, true)
    }

    pub fn timeout(definite: bool) -> Self {
        Self::new(StatusCode::GATEWAY_TIMEOUT, "timeout", definite)
    }

    fn with(mut self, field: &'static str, value: Value) -> Self {
        self.extra = Some((field, value));
        self
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut body = json!({ "error": self.message, "definite": self.definite });
        if let Some((field, value)) = self.extra {
            body[field] = value;
        }
        let mut response = (self.status, Json(body)).into_response();
        if self.status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"target-node peers\""),
            );
        }
        response
    }
}
