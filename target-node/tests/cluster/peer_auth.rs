//! Outsiders cannot speak Raft to a node: forged RPCs without the cluster
//! secret are refused before openraft sees them, and even an authenticated
//! RPC with an absurd term is refused.
//!
//! The forged messages are built with openraft's own types, so they are
//! exactly what a peer would send.

use std::{io::Cursor, time::Duration};

use openraft::raft::{AppendEntriesRequest, VoteRequest};
use openraft::{BasicNode, CommittedLeaderId, Entry, EntryPayload, LogId, TokioRuntime, Vote};
use serde::Serialize;
use serde_json::{Value, json};

use crate::support::{Cluster, no_extra};

openraft::declare_raft_types!(
    /// The wire form of target-node's messages: a command is any JSON.
    Wire:
        D = Value,
        R = Value,
        NodeId = u64,
        Node = BasicNode,
        Entry = Entry<Wire>,
        SnapshotData = Cursor<Vec<u8>>,
        AsyncRuntime = TokioRuntime,
);

/// A term no cluster reaches; the attack used exactly this.
const ABSURD_TERM: u64 = u64::MAX;

fn log_id(term: u64, node: u64, index: u64) -> LogId<u64> {
    LogId::new(CommittedLeaderId::new(term, node), index)
}

/// POSTs `rpc` to `/raft/{path}` on node `id` with `authorization`.
fn post_raft(
    c: &Cluster,
    id: u64,
    path: &str,
    rpc: &impl Serialize,
    authorization: Option<&str>,
) -> (u16, Value, Option<String>) {
    let mut request = c
        .http
        .post(c.url(id, &format!("/raft/{path}")))
        .json(rpc)
        .timeout(Duration::from_secs(5));
    if let Some(value) = authorization {
        request = request.header("authorization", value);
    }
    let response = request.send().expect("the node answers");
    let status = response.status().as_u16();
    let challenge = response
        .headers()
        .get("www-authenticate")
        .map(|v| v.to_str().unwrap().to_owned());
    (status, response.json().unwrap_or(Value::Null), challenge)
}

/// Authorization headers that must not pass.
fn wrong_credentials(c: &Cluster) -> Vec<Option<String>> {
    let secret = c.secret();
    vec![
        None,
        Some(format!("Bearer {}", crate::support::random_secret())),
        Some(format!("Bearer {}", &secret[1..])),
        Some(format!("Basic {secret}")),
        Some(secret.to_owned()),
    ]
}

fn assert_refused_unauthenticated(
    what: &str,
    (status, body, challenge): (u16, Value, Option<String>),
) {
    assert_eq!(status, 401, "{what}: {body}");
    assert_eq!(body["definite"], true, "{what}: {body}");
    assert!(
        body["error"]
            .as_str()
            .is_some_and(|e| e.contains("peer authentication")),
        "{what}: {body}"
    );
    assert!(
        challenge.is_some_and(|c| c.starts_with("Bearer")),
        "{what}: no challenge"
    );
}

/// After a few election timeouts, every node is healthy, they agree on a
/// leader, no term is absurd, and writes through every node succeed.
fn assert_cluster_healthy(c: &Cluster) {
    std::thread::sleep(Duration::from_millis(1500));
    let leader = c.wait_leader(&c.ids());
    for id in c.ids() {
        let health = c.http.get(c.url(id, "/health")).send().unwrap();
        assert_eq!(health.status(), 200, "n{id} healthy");
        let term = c.status(id).unwrap()["term"].as_u64().unwrap();
        assert!(term < 1_000, "n{id} adopted term {term}");
        let (status, body) = c.put(id, &format!("after-n{id}"), json!(id)).unwrap();
        assert_eq!(status, 200, "write via n{id} (leader n{leader}): {body}");
    }
}

#[test]
fn forged_vote_without_the_secret_is_refused_and_the_cluster_stays_healthy() {
    let c = Cluster::start(3, no_extra);
    let leader = c.wait_leader(&c.ids());
    let candidate = c.ids().into_iter().find(|id| *id != leader).unwrap();
    let forged = VoteRequest::new(
        Vote::new(ABSURD_TERM, candidate),
        Some(log_id(ABSURD_TERM, candidate, 1_000_000)),
    );
    for credentials in wrong_credentials(&c) {
        let answer = post_raft(&c, leader, "vote", &forged, credentials.as_deref());
        assert_refused_unauthenticated(&format!("vote with {credentials:?}"), answer);
    }
    assert_cluster_healthy(&c);
}

#[test]
fn forged_append_without_the_secret_is_refused() {
    // Local reads show each node's own state machine.
    let c = Cluster::start(3, |_| vec!["--read-mode".into(), "local".into()]);
    let leader = c.wait_leader(&c.ids());
    assert_eq!(c.put(leader, "k", json!("original")).unwrap().0, 200);
    let follower = c.ids().into_iter().find(|id| *id != leader).unwrap();
    c.wait_for(
        "the follower to apply the write",
        Duration::from_secs(5),
        || (c.read_ok(follower, "k") == json!("original")).then_some(()),
    );

    // What the attacker sent: the leader's own vote, and an entry
    // right after the follower's last one, committed at once.
    let status = c.status(follower).unwrap();
    let term = status["term"].as_u64().unwrap();
    let last = status["last_log_index"].as_u64().unwrap();
    let forged_id = log_id(term, leader, last + 1);
    let forged = AppendEntriesRequest::<Wire> {
        vote: Vote::new_committed(term, leader),
        prev_log_id: Some(log_id(term, leader, last)),
        leader_commit: Some(forged_id),
        entries: vec![Entry {
            log_id: forged_id,
            payload: EntryPayload::Normal(json!({"op": "put", "key": "k", "value": "forged"})),
        }],
    };
    for credentials in wrong_credentials(&c) {
        let answer = post_raft(&c, follower, "append", &forged, credentials.as_deref());
        assert_refused_unauthenticated(&format!("append with {credentials:?}"), answer);
    }
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(
        c.read_ok(follower, "k"),
        json!("original"),
        "the follower's copy"
    );

    // Control: the same message with the secret is accepted (peers are
    // trusted), so it was only the secret that stopped it above.
    let bearer = format!("Bearer {}", c.secret());
    let (status, body, _) = post_raft(&c, follower, "append", &forged, Some(&bearer));
    assert_eq!(status, 200, "{body}");
    assert_eq!(body, json!({"Ok": "Success"}));
    c.wait_for("the forged entry to apply", Duration::from_secs(5), || {
        (c.read_ok(follower, "k") == json!("forged")).then_some(())
    });
}

#[test]
fn authenticated_messages_with_absurd_terms_are_refused() {
    let c = Cluster::start(3, no_extra);
    let leader = c.wait_leader(&c.ids());
    let follower = c.ids().into_iter().find(|id| *id != leader).unwrap();
    let bearer = format!("Bearer {}", c.secret());

    let vote = VoteRequest::new(
        Vote::new(ABSURD_TERM, follower),
        Some(log_id(ABSURD_TERM, follower, 1_000_000)),
    );
    let (status, body, _) = post_raft(&c, leader, "vote", &vote, Some(&bearer));
    assert_eq!(status, 400, "{body}");
    assert!(
        body["error"]
            .as_str()
            .is_some_and(|e| e.contains("implausible term")),
        "{body}"
    );

    let append = AppendEntriesRequest::<Wire> {
        vote: Vote::new_committed(ABSURD_TERM, leader),
        prev_log_id: None,
        leader_commit: None,
        entries: Vec::new(),
    };
    let (status, body, _) = post_raft(&c, follower, "append", &append, Some(&bearer));
    assert_eq!(status, 400, "{body}");

    // A plausible authenticated vote does reach openraft, which answers it
    // by Raft's rules (not granted: the candidate's log is behind).
    let term = c.status(leader).unwrap()["term"].as_u64().unwrap();
    let modest = VoteRequest::new(Vote::new(term + 1, follower), None);
    let (status, body, _) = post_raft(&c, leader, "vote", &modest, Some(&bearer));
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["Ok"]["vote_granted"], false, "{body}");

    assert_cluster_healthy(&c);
}
