//! One node: the protocol's basic operations.

use serde_json::{Value, json};

use crate::support::{Cluster, no_extra};

#[test]
fn single_node_serves_the_protocol() {
    let c = Cluster::start(1, no_extra);
    c.wait_leader(&[1]);

    assert_eq!(c.read_ok(1, "absent"), Value::Null, "absent key reads null");
    assert_eq!(
        c.put(1, "k", json!({"a": [1, 2]})).unwrap(),
        (200, json!({}))
    );
    assert_eq!(
        c.read_ok(1, "k"),
        json!({"a": [1, 2]}),
        "values are arbitrary JSON"
    );

    assert_eq!(c.put(1, "r", json!(1)).unwrap().0, 200);
    let (status, _) = c.post(1, "/kv/r/cas", json!({"from": 1, "to": 2})).unwrap();
    assert_eq!(status, 200, "cas from the current value succeeds");
    assert_eq!(c.read_ok(1, "r"), json!(2));

    let (status, body) = c.post(1, "/kv/r/cas", json!({"from": 1, "to": 3})).unwrap();
    assert_eq!(status, 409);
    assert_eq!(body["error"], "cas-mismatch");
    assert_eq!(body["definite"], true);
    assert_eq!(c.read_ok(1, "r"), json!(2), "a failed cas changes nothing");

    let (status, _) = c
        .post(1, "/kv/fresh/cas", json!({"from": null, "to": 7}))
        .unwrap();
    assert_eq!(status, 200, "cas from null creates an absent key");

    for element in ["x", "y"] {
        assert_eq!(
            c.post(1, "/kv/list/append", json!({"value": element}))
                .unwrap()
                .0,
            200
        );
    }
    assert_eq!(c.read_ok(1, "list"), json!(["x", "y"]));

    let health = c.http.get(c.url(1, "/health")).send().unwrap();
    assert_eq!(health.status(), 200);
}
