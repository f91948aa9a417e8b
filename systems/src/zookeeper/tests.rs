//! Unit tests of the ZooKeeper adapter: key escaping, values, error
//! classes, the ensemble's configuration and command line.

use std::{
    collections::BTreeSet,
    net::{IpAddr, Ipv4Addr},
    path::{Path, PathBuf},
};

use faults::NodeName;
use serde_json::{Value, json};
use zookeeper_client as zk;

use super::{codec::*, ensemble::*, errors::*};
use crate::Completion;

#[test]
fn keys_become_distinct_valid_znode_names() {
    let keys = [
        "",
        "k1",
        "r0",
        ".",
        "..",
        "a/b",
        "a%2Fb",
        "%",
        "zookeeper",
        "ünï",
        "a b",
        "-_",
        "\u{0}",
    ];
    let mut seen = BTreeSet::new();
    for key in keys {
        let path = znode(key).unwrap();
        let name = path.strip_prefix("/harness/").expect("under the root");
        assert!(!name.is_empty() && name != "." && name != "..", "{key:?}");
        assert!(
            name.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_%".contains(&b)),
            "{key:?} -> {name}"
        );
        assert!(seen.insert(name.to_owned()), "{key:?} collides");
    }
    assert_eq!(znode("k1").unwrap(), "/harness/k1");
    assert_eq!(znode("a/b").unwrap(), "/harness/a%2Fb");
    assert_eq!(znode(".").unwrap(), "/harness/%2E");
    assert!(matches!(
        znode(&"x".repeat(MAX_PATH)),
        Err(CodecError::KeyTooLong(_))
    ));
}

#[test]
fn values_are_canonical_json_text_and_bounded() {
    for value in [
        json!(7),
        json!("x \"y\""),
        json!([1, [2]]),
        json!({"a": [true, null]}),
    ] {
        assert_eq!(decode(&encode(&value).unwrap()).unwrap(), value);
    }
    assert_eq!(encode(&json!(7)).unwrap(), b"7");
    let ab: Value = serde_json::from_str(r#"{"a":1,"b":{"d":2,"c":3}}"#).unwrap();
    let ba: Value = serde_json::from_str(r#"{"b":{"c":3,"d":2},"a":1}"#).unwrap();
    assert_eq!(encode(&ab).unwrap(), encode(&ba).unwrap());
    assert_eq!(encode(&ab).unwrap(), br#"{"a":1,"b":{"c":3,"d":2}}"#);
    assert!(matches!(
        encode(&json!("x".repeat(MAX_DATA))),
        Err(CodecError::ValueTooLarge(_))
    ));
    // A znode someone else wrote: an error, never a panic.
    assert!(matches!(decode(b""), Err(CodecError::NotJson { .. })));
    assert!(matches!(
        decode(&[0xff; 5000]),
        Err(CodecError::NotJson { text, .. }) if text.chars().count() <= 200
    ));
}

#[test]
fn only_refusals_before_the_transaction_are_definite() {
    use zk::Error::*;
    for definite in [
        NoNode,
        NodeExists,
        BadVersion,
        NotEmpty,
        NoAuth,
        InvalidAcl,
        AuthFailed,
        BadArguments(&"bad path"),
        MarshallingError,
        Unimplemented,
        NotReadOnly,
        QuotaExceeded,
        Throttled,
        SessionExpired,
        SessionMoved,
        ClientClosed,
        NoHosts,
        Timeout,
    ] {
        assert!(classify_zk(&definite), "{definite:?}");
        assert!(
            matches!(write_failure(&definite), Completion::Fail(_)),
            "{definite:?}"
        );
    }
    for indefinite in [
        ConnectionLoss,
        UnexpectedErrorCode(-122),
        UnexpectedError("recv response with xid 7 but no pending request".into()),
        UnmarshalError {
            entity: "stat",
            reason: &"short",
        },
    ] {
        assert!(!classify_zk(&indefinite), "{indefinite:?}");
        assert!(
            matches!(write_failure(&indefinite), Completion::Info(_)),
            "{indefinite:?}"
        );
    }
}

fn server(i: u8, data: &Path) -> ZkServer {
    ZkServer {
        name: NodeName::numbered(u32::from(i)),
        id: u32::from(i),
        ip: IpAddr::V4(Ipv4Addr::new(10, 77, 0, 10 + i)),
        ports: ZkPorts::STANDARD,
        data_dir: data.join(format!("n{i}")),
    }
}

#[test]
fn zoo_cfg_names_every_server_and_keeps_data_in_the_node_dir() {
    let data = PathBuf::from("/runs/x/nodes");
    let servers: Vec<ZkServer> = (1..=3).map(|i| server(i, &data)).collect();
    let settings = ZkSettings {
        extra_lines: vec!["snapCount=1000".into()],
        ..ZkSettings::default()
    };
    let cfg = zoo_cfg(&servers, &servers[1], &settings);
    for line in [
        "tickTime=200",
        "syncLimit=10",
        "dataDir=/runs/x/nodes/n2",
        "clientPort=2181",
        "clientPortAddress=10.77.0.12",
        "admin.serverAddress=10.77.0.12",
        "admin.serverPort=8080",
        "standaloneEnabled=false",
        "server.1=10.77.0.11:2888:3888",
        "server.2=10.77.0.12:2888:3888",
        "server.3=10.77.0.13:2888:3888",
    ] {
        assert!(cfg.iter().any(|l| l == line), "{line} in {cfg:#?}");
    }
    assert_eq!(
        cfg.last().unwrap(),
        "snapCount=1000",
        "plan lines come last"
    );
    assert_eq!(settings.max_session_timeout().as_millis(), 4000);
    for key in ["dataDir", "clientPort", "server.4", "admin.serverPort"] {
        assert!(owned_key(key), "{key}");
    }
    assert!(!owned_key("snapCount"));
}

/// The start script writes what the spec carries; run it with `true`
/// instead of java.
#[test]
fn the_start_script_writes_zoo_cfg_and_myid_then_execs() {
    let dir = tempfile::tempdir().unwrap();
    let servers: Vec<ZkServer> = (1..=3).map(|i| server(i, dir.path())).collect();
    let settings = ZkSettings::default();
    let spec = server_spec(
        Path::new("/bin/echo"),
        &servers,
        &servers[2],
        &settings,
        &dir.path().join("n3.log"),
    );
    assert_eq!(spec.program, Path::new("/bin/sh"));
    let output = std::process::Command::new(&spec.program)
        .args(&spec.args)
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    let n3 = dir.path().join("n3");
    assert_eq!(std::fs::read_to_string(n3.join("myid")).unwrap(), "3\n");
    let written = std::fs::read_to_string(n3.join("zoo.cfg")).unwrap();
    let expected = zoo_cfg(&servers, &servers[2], &settings).join("\n") + "\n";
    assert_eq!(written, expected);
    // Then java (here echo) got its arguments, the config file last.
    let echoed = String::from_utf8(output.stdout).unwrap();
    assert!(echoed.contains(MAIN_CLASS), "{echoed}");
    assert!(
        echoed
            .trim_end()
            .ends_with(&*n3.join("zoo.cfg").to_string_lossy()),
        "{echoed}"
    );
    assert!(echoed.contains("-Xmx256m"), "{echoed}");
}
