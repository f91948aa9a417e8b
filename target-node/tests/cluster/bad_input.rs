//! Malformed requests get a definite 4xx error and change nothing.

use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};

use crate::support::{Cluster, no_extra};

#[test]
fn bad_requests_change_nothing() {
    let c = Cluster::start(1, no_extra);
    c.wait_leader(&[1]);
    assert_eq!(c.put(1, "k", json!(1)).unwrap().0, 200);
    let applied_before = c.status(1).unwrap()["last_applied"].clone();

    let cases: &[(Method, &str, Option<&str>, u16)] = &[
        (Method::PUT, "/kv/k", Some("not json"), 400),
        (Method::PUT, "/kv/k", None, 400),
        (Method::PUT, "/kv/k", Some(r#"{"val": 2}"#), 400),
        (
            Method::PUT,
            "/kv/k",
            Some(r#"{"value": 2, "extra": 3}"#),
            400,
        ),
        (Method::PUT, "/kv/k", Some(r#"{"value": 2"#), 400),
        (Method::PUT, "/kv/k", Some("[2]"), 400),
        (Method::POST, "/kv/k/cas", Some(r#"{"from": 1}"#), 400),
        (Method::POST, "/kv/k/cas", Some(r#"{"to": 2}"#), 400),
        (Method::POST, "/kv/k/cas", Some("[1, 2]"), 400),
        (Method::POST, "/kv/k/append", Some("{}"), 400),
        (Method::GET, "/nope", None, 404),
        (Method::GET, "/kv/k/extra/segments", None, 404),
        (Method::DELETE, "/kv/k", None, 405),
        (Method::POST, "/kv/k", Some(r#"{"value": 2}"#), 405),
    ];
    for (method, path, body, expected) in cases {
        let mut request = c.http.request(method.clone(), c.url(1, path));
        if let Some(body) = body {
            request = request
                .header("content-type", "application/json")
                .body(body.to_string());
        }
        let response = request.timeout(Duration::from_secs(5)).send().unwrap();
        let status = response.status().as_u16();
        let body: Value = response.json().unwrap_or(Value::Null);
        assert_eq!(status, *expected, "{method} {path}: {body}");
        assert_eq!(body["definite"], true, "{method} {path}: {body}");
        assert!(body["error"].is_string(), "{method} {path}: {body}");
    }
    assert_eq!(c.read_ok(1, "k"), json!(1));
    assert_eq!(
        c.status(1).unwrap()["last_applied"],
        applied_before,
        "nothing was proposed"
    );
}
