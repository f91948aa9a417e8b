//! Reading request bodies within a size limit and a deadline, parsing
//! them as JSON, and the request-target limit.
//!
//! Invariant: no error produced here repeats any part of the request; a
//! refused body is answered with its limit only, so that an attacker's
//! bytes never come back (or get logged) at any size.

use std::time::Duration;

use axum::{
    body::{Body, Bytes},
    extract::Request,
    http::{HeaderMap, header::CONTENT_LENGTH},
    middleware::Next,
    response::{IntoResponse, Response},
};
use http_body_util::BodyExt;
use serde_json::Value;

use super::ApiError;
use crate::limits::URI_MAX_BYTES;

/// Reads `body` whole, refusing more than `limit` bytes (413) or a body not
/// received within `deadline` (408). A declared `Content-Length` over the
/// limit is refused before anything is read.
pub async fn read_limited(
    body: Body,
    headers: &HeaderMap,
    limit: usize,
    deadline: Duration,
) -> Result<Bytes, ApiError> {
    let declared = headers
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|len| len > limit as u64) {
        return Err(ApiError::too_large(limit));
    }
    let read = async {
        let mut body = body;
        let mut bytes = Vec::new();
        while let Some(frame) = body.frame().await {
            let frame =
                frame.map_err(|_| ApiError::bad_request("the request body could not be read"))?;
            if let Ok(data) = frame.into_data() {
                if bytes.len() + data.len() > limit {
                    return Err(ApiError::too_large(limit));
                }
                bytes.extend_from_slice(&data);
            }
        }
        Ok(Bytes::from(bytes))
    };
    tokio::time::timeout(deadline, read)
        .await
        .map_err(|_elapsed| ApiError::body_timeout())?
}

/// Parses a body as JSON. The error for a missing body or broken JSON
/// names a position, never the input.
pub fn parse_json(body: &Bytes) -> Result<Value, ApiError> {
    if body.is_empty() {
        return Err(ApiError::bad_request("missing JSON body"));
    }
    serde_json::from_slice(body).map_err(|e| {
        ApiError::bad_request(format!(
            "bad JSON body: not valid JSON (line {}, column {})",
            e.line(),
            e.column()
        ))
    })
}

/// Middleware: refuses a request target longer than [`URI_MAX_BYTES`].
pub async fn limit_uri(request: Request, next: Next) -> Response {
    let target_len = request
        .uri()
        .path_and_query()
        .map_or(0, |target| target.as_str().len());
    if target_len > URI_MAX_BYTES {
        return ApiError::uri_too_long(URI_MAX_BYTES).into_response();
    }
    next.run(request).await
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    const DEADLINE: Duration = Duration::from_secs(5);

    fn declared(len: usize) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(CONTENT_LENGTH, HeaderValue::from(len));
        headers
    }

    fn status_of(result: Result<Bytes, ApiError>) -> u16 {
        match result {
            Ok(_) => 200,
            Err(e) => e.into_response().status().as_u16(),
        }
    }

    #[tokio::test]
    async fn bodies_up_to_the_limit_are_read_and_larger_ones_refused() {
        let none = HeaderMap::new();
        let ok = read_limited(Body::from(vec![b'x'; 10]), &none, 10, DEADLINE).await;
        assert_eq!(ok.unwrap().len(), 10);
        let streamed = read_limited(Body::from(vec![b'x'; 11]), &none, 10, DEADLINE).await;
        assert_eq!(status_of(streamed), 413);
        // A declared length over the limit is refused before reading.
        let announced = read_limited(Body::empty(), &declared(11), 10, DEADLINE).await;
        assert_eq!(status_of(announced), 413);
    }

    /// A body whose sender never sends anything.
    struct Silent;

    impl axum::body::HttpBody for Silent {
        type Data = Bytes;
        type Error = std::io::Error;

        fn poll_frame(
            self: std::pin::Pin<&mut Self>,
            _cx: &mut std::task::Context<'_>,
        ) -> std::task::Poll<Option<Result<hyper::body::Frame<Bytes>, std::io::Error>>> {
            std::task::Poll::Pending
        }
    }

    #[tokio::test]
    async fn a_body_that_never_ends_times_out() {
        let none = HeaderMap::new();
        let deadline = Duration::from_millis(50);
        let silent = read_limited(Body::new(Silent), &none, 10, deadline).await;
        assert_eq!(status_of(silent), 408);
    }
}
