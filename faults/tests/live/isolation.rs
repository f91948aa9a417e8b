//! Isolation from the host: the firewall refuses the host's namespace, the
//! host's ruleset is identical before and after a partition, and the
//! unprivileged (user namespace) path works.

use std::{
    collections::BTreeMap,
    net::Ipv4Addr,
    os::unix::{fs::PermissionsExt, process::CommandExt},
    time::Duration,
};

use faults::{
    FaultError, Grudge, NodeName, Outcome,
    net::{Firewall, Iptables, IptablesConfig, RuleBackend, RuleSet, partition_rules},
    netns,
    node::loopback_addr,
    shapes,
};

use crate::{
    Scenario,
    support::{
        Verdict, describe, host_rules, require_privileges, run_scenario, run_with_timeout,
        scenario_command, scenario_command_at, skip_or_fail,
    },
};

pub const REFUSES_HOST: Scenario = Scenario {
    name: "isolation-refuses-host",
    private_namespace: false,
    body: || Box::pin(refuses_host_body()),
};
pub const PARTITION_AND_EXIT: Scenario = Scenario {
    name: "isolation-partition-and-exit",
    private_namespace: true,
    body: || Box::pin(partition_and_exit_body()),
};
pub const USER_NAMESPACE: Scenario = Scenario {
    name: "isolation-user-namespace",
    private_namespace: true,
    body: || Box::pin(user_namespace_body()),
};

const TIMEOUT: Duration = Duration::from_secs(60);

fn addrs() -> BTreeMap<NodeName, Ipv4Addr> {
    (1..=3)
        .map(|i| (NodeName::numbered(i), loopback_addr(i).unwrap()))
        .collect()
}

pub fn refuses_host() -> Verdict {
    run_scenario(REFUSES_HOST.name, TIMEOUT)
}

/// In the host's namespace every firewall change is refused before any
/// program runs. (The programs are `/bin/true`, so even a broken check
/// could not touch the host's firewall.)
async fn refuses_host_body() {
    assert!(matches!(
        netns::ensure_isolated(),
        Err(FaultError::NotIsolated { .. })
    ));
    let harmless = Iptables::new(IptablesConfig {
        iptables: "/bin/true".into(),
        iptables_restore: "/bin/true".into(),
        ..IptablesConfig::default()
    });
    let err = Firewall::loopback_with(harmless, addrs())
        .await
        .err()
        .expect("refused");
    assert!(matches!(err, FaultError::NotIsolated { .. }), "{err}");
    assert!(err.to_string().contains("enter_private_namespace"), "{err}");
    // Per-node networks refuse too, before any `ip` runs, and so does a
    // runner bound to the host's namespace.
    let err = faults::net::NodeNetworks::create(&NodeName::cluster(2))
        .await
        .expect_err("refused");
    assert!(matches!(err, FaultError::NotIsolated { .. }), "{err}");
    let host = netns::NetNamespace::current().unwrap();
    assert!(matches!(
        host.ensure_private(),
        Err(FaultError::NotIsolated { .. })
    ));
    // And the namespace cannot be entered once threads exist.
    let err = netns::enter_private_namespace().unwrap_err();
    assert!(matches!(err, FaultError::ThreadsRunning { .. }), "{err}");
}

pub fn host_ruleset_unchanged() -> Verdict {
    if let Err(v) = require_privileges() {
        return v;
    }
    let before = host_rules();
    let out = match run_with_timeout(scenario_command(PARTITION_AND_EXIT.name), TIMEOUT) {
        Ok(out) => out,
        Err(e) => return Verdict::Fail(e),
    };
    if !out.status.success() {
        return Verdict::Fail(describe(PARTITION_AND_EXIT.name, &out));
    }
    let after = host_rules();
    let host_ns = netns::current_namespace().unwrap().ino.to_string();
    let stdout = String::from_utf8_lossy(&out.stdout);
    if stdout.contains(&format!("NETNS {host_ns}\n")) {
        return Verdict::Fail(format!(
            "the scenario ran in the host's namespace:\n{stdout}"
        ));
    }
    if before != after {
        return Verdict::Fail(format!(
            "host ruleset changed\n--- before\n{before}--- after\n{after}"
        ));
    }
    if after.contains("HARNESS") {
        return Verdict::Fail(format!(
            "a HARNESS chain is in the host's ruleset:\n{after}"
        ));
    }
    Verdict::Pass
}

/// Partition and add loss inside the private namespace, check the rules are
/// there, then exit without healing: the namespace takes them along.
async fn partition_and_exit_body() {
    let mut firewall = Firewall::loopback(addrs()).await.expect("firewall");
    let nodes = NodeName::cluster(3);
    let grudge = shapes::isolate(&nodes[0], &nodes).unwrap();
    assert_eq!(
        firewall.partition(&grudge).await.unwrap(),
        Outcome::Installed
    );
    assert_eq!(
        firewall.loss(&nodes[1..2], 0.3).await.unwrap(),
        Outcome::Installed
    );
    let rules = firewall
        .backend()
        .iptables()
        .iptables(&["-S"])
        .await
        .unwrap();
    for rule in firewall
        .backend()
        .render(RuleSet::Partition, &partition_rules(&grudge))
        .unwrap()
    {
        assert!(rules.contains(&rule), "{rule:?} missing from\n{rules}");
    }
    assert!(rules.contains("-A INPUT -j HARNESS"), "{rules}");
    // nf_tables stores the probability as a 32-bit fraction: 0.3 reads back
    // as 0.29999999981.
    assert!(
        rules.contains("-m statistic --mode random --probability 0.29999"),
        "{rules}"
    );
    println!("RULES\n{rules}");
    // Leave without heal or Drop.
    std::process::exit(0);
}

pub fn user_namespace() -> Verdict {
    if let Err(v) = require_privileges() {
        return v;
    }
    // User nobody may not be able to reach the build directory: run a copy
    // of this binary from a world-readable place.
    let dir = std::env::temp_dir().join(format!("faults-live-userns-{}", std::process::id()));
    let exe = dir.join("live");
    let copied = std::fs::create_dir_all(&dir)
        .and_then(|()| std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)))
        .and_then(|()| std::fs::copy(std::env::current_exe()?, &exe))
        .and_then(|_| std::fs::set_permissions(&exe, std::fs::Permissions::from_mode(0o755)));
    if let Err(e) = copied {
        let _ = std::fs::remove_dir_all(&dir);
        return Verdict::Fail(format!(
            "cannot copy the test binary to {}: {e}",
            dir.display()
        ));
    }
    let mut cmd = scenario_command_at(&exe, USER_NAMESPACE.name);
    cmd.uid(65534).gid(65534).current_dir("/");
    let result = run_with_timeout(cmd, TIMEOUT);
    let _ = std::fs::remove_dir_all(&dir);
    let out = match result {
        Ok(out) => out,
        Err(e) => return Verdict::Fail(e),
    };
    if !out.status.success() {
        let stderr = String::from_utf8_lossy(&out.stderr);
        if stderr.contains("cannot enter a private network namespace") {
            return skip_or_fail(format!(
                "unprivileged user namespaces are disabled on this machine: {}",
                stderr
                    .lines()
                    .find(|l| l.contains("cannot enter"))
                    .unwrap_or_default()
            ));
        }
        return Verdict::Fail(describe(USER_NAMESPACE.name, &out));
    }
    let stdout = String::from_utf8_lossy(&out.stdout);
    if !stdout.contains("MODE UserNamespace { outer_uid: 65534, outer_gid: 65534 }") {
        return Verdict::Fail(format!("expected the user-namespace mode:\n{stdout}"));
    }
    Verdict::Pass
}

/// As user nobody, mapped to root in a fresh user namespace: partitions
/// work the same.
async fn user_namespace_body() {
    let mut firewall = Firewall::loopback(addrs())
        .await
        .expect("firewall in a user namespace");
    let grudge: Grudge = Grudge::complete(&[["n1".into()].into(), ["n2".into()].into()]);
    assert_eq!(
        firewall.partition(&grudge).await.unwrap(),
        Outcome::Installed
    );
    let rules = firewall
        .backend()
        .iptables()
        .iptables(&["-S", "HARNESS-PARTITION"])
        .await
        .unwrap();
    assert!(
        rules.contains("-s 127.0.0.12/32 -d 127.0.0.11/32"),
        "{rules}"
    );
    assert_eq!(firewall.heal().await.unwrap(), Outcome::Installed);
}
