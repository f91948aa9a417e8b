//! Unit tests of the etcd adapter: codecs, error classes, member lines.

use std::{net::IpAddr, path::PathBuf, time::Duration};

use faults::NodeName;
use serde_json::{Value, json};

use super::{client::*, member::*};
use crate::Completion;

#[test]
fn base64_round_trips_and_matches_the_standard_alphabet() {
    for (plain, encoded) in [
        ("", ""),
        ("f", "Zg=="),
        ("fo", "Zm8="),
        ("foo", "Zm9v"),
        ("k1", "azE="),
        ("7", "Nw=="),
    ] {
        assert_eq!(b64::encode(plain.as_bytes()), encoded);
        assert_eq!(b64::decode(encoded).unwrap(), plain.as_bytes());
    }
    let all: Vec<u8> = (0..=255).collect();
    assert_eq!(b64::decode(&b64::encode(&all)).unwrap(), all);
    assert!(b64::decode("a!==").is_err());
}

#[test]
fn values_are_stored_as_json_text() {
    for value in [
        json!(7),
        json!("x y"),
        json!([1, 2]),
        json!({"a": [true, null]}),
    ] {
        assert_eq!(decode_value(&encode_value(&value)).unwrap(), value);
    }
    assert_eq!(encode_value(&json!(7)), "Nw==");
    let ab: Value = serde_json::from_str(r#"{"a":1,"b":{"d":2,"c":3}}"#).unwrap();
    let ba: Value = serde_json::from_str(r#"{"b":{"c":3,"d":2},"a":1}"#).unwrap();
    assert_eq!(encode_value(&ab), encode_value(&ba));
}

#[test]
fn only_errors_raised_before_proposal_are_definite() {
    let server = |status, code: Option<i64>, message: &str| EtcdError::Server {
        url: "u".into(),
        status,
        code,
        message: message.into(),
    };
    let cases = [
        (
            server(400, Some(3), "etcdserver: key is not provided"),
            true,
        ),
        (server(429, Some(8), "etcdserver: too many requests"), true),
        (
            server(503, Some(14), "etcdserver: request timed out"),
            false,
        ),
        (server(503, Some(14), "etcdserver: leader changed"), false),
        (server(500, Some(2), "raft proposal dropped"), false),
        (server(504, Some(4), "context deadline exceeded"), false),
        (server(502, None, "bad gateway"), false),
        (server(404, None, "404 page not found"), true),
        (
            EtcdError::Connect {
                url: "u".into(),
                message: "refused".into(),
            },
            true,
        ),
        (
            EtcdError::Timeout {
                url: "u".into(),
                timeout: Duration::from_secs(1),
            },
            false,
        ),
    ];
    for (error, definite) in cases {
        let got = classify_write_error(&error);
        assert_eq!(
            matches!(got, Completion::Fail(_)),
            definite,
            "{error}: {got:?}"
        );
    }
}

#[test]
fn member_args_name_the_whole_cluster() {
    let members: Vec<EtcdMember> = (1..=3u8)
        .map(|i| EtcdMember {
            name: NodeName::numbered(u32::from(i)),
            ip: IpAddr::from([10, 77, 0, 10 + i]),
            client_port: 2379,
            peer_port: 2380,
            data_dir: PathBuf::from(format!("/run/n{i}")),
        })
        .collect();
    let args = member_args(&members, &members[1], &EtcdSettings::default());
    assert_eq!(
        args[..10],
        [
            "--name=n2",
            "--data-dir=/run/n2",
            "--listen-client-urls=http://10.77.0.12:2379",
            "--advertise-client-urls=http://10.77.0.12:2379",
            "--listen-peer-urls=http://10.77.0.12:2380",
            "--initial-advertise-peer-urls=http://10.77.0.12:2380",
            "--initial-cluster=n1=http://10.77.0.11:2380,n2=http://10.77.0.12:2380,n3=http://10.77.0.13:2380",
            "--initial-cluster-state=new",
            "--initial-cluster-token=harness",
            "--heartbeat-interval=100",
        ]
    );
}

#[test]
fn a_member_status_reads_as_leadership() {
    // What a probe makes of `/v3/maintenance/status`: the member follows
    // `leader` and leads when it is that member.
    let leadership = |member_id: u64, leader: u64| crate::Leadership {
        id: member_id,
        leads: leader == member_id,
        follows: (leader != 0).then_some(leader),
        term: 2,
    };
    let probe = |l| crate::Probe {
        healthy: true,
        leadership: Some(l),
        said: String::new(),
    };
    let n = NodeName::numbered;
    let agreed = [
        (n(1), probe(leadership(11, 22))),
        (n(2), probe(leadership(22, 22))),
        (n(3), crate::Probe::default()),
    ];
    assert_eq!(crate::cluster::agreed_leader(&agreed), Some(n(2)));
    let split = [
        (n(1), probe(leadership(11, 22))),
        (n(2), probe(leadership(22, 0))),
        (n(3), crate::Probe::default()),
    ];
    assert_eq!(crate::cluster::agreed_leader(&split), None);
}
