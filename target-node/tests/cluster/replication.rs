//! Three nodes: writes through any node are readable through every node.

use serde_json::json;

use crate::support::{Cluster, no_extra};

#[test]
fn writes_through_any_node_are_readable_through_every_node() {
    let c = Cluster::start(3, no_extra);
    c.wait_leader(&c.ids());
    for writer in c.ids() {
        let key = format!("from-n{writer}");
        let (status, body) = c.put(writer, &key, json!(writer * 10)).unwrap();
        assert_eq!(status, 200, "write via n{writer}: {body}");
    }
    for reader in c.ids() {
        for writer in c.ids() {
            assert_eq!(
                c.read_ok(reader, &format!("from-n{writer}")),
                json!(writer * 10)
            );
        }
    }
}
