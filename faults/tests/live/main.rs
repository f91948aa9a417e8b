//! Live tests: real processes and real packets, in private namespaces.
//!
//! This binary has its own `main` (`harness = false`) because the
//! interesting code must run the way the controller runs it: a scenario is
//! a re-executed copy of this binary that calls
//! `faults::netns::enter_private_namespace()` first thing in `main`, while
//! it is still single-threaded, and only then starts a tokio runtime. The
//! same binary, re-executed with a role in its environment, also serves as
//! the node processes (tiny TCP request/response listeners).
//!
//! The parent, which stays in the host's namespace, only observes: it
//! snapshots the host's ruleset, checks pids and namespaces, and SIGKILLs a
//! scenario when a test asks for it. It never runs `iptables` with anything
//! but the read-only `-save` commands.
//!
//! Tests that need root and iptables print `SKIPPED (reason)` when those
//! are absent, and fail instead when `HARNESS_REQUIRE_PRIVILEGES=1`.
//!
//! Arguments: substrings filter tests by name (`--exact` for exact names);
//! `--list` lists them; other libtest flags are accepted and ignored.

mod clock;
mod disk;
mod disk_cluster;
mod disk_crash_points;
mod disk_nemesis;
mod disk_sigkill;
mod etcd;
mod isolation;
mod namespaces;
mod process;
mod sigkill;
mod slow;
mod support;
mod traffic;

use std::process::ExitCode;

use support::{Verdict, role};

/// A test run by the parent.
struct Test {
    name: &'static str,
    run: fn() -> Verdict,
}

/// A scenario run inside a re-executed child (see `support::run_scenario`).
pub struct Scenario {
    name: &'static str,
    /// Enter a private network namespace before anything else.
    private_namespace: bool,
    body: fn() -> std::pin::Pin<Box<dyn std::future::Future<Output = ()>>>,
}

const TESTS: &[Test] = &[
    Test {
        name: "process::lifecycle",
        run: process::lifecycle,
    },
    Test {
        name: "process::nodes_outlive_short_lived_threads",
        run: process::outlive_threads,
    },
    Test {
        name: "process::drop_and_panic_clean_up",
        run: process::drop_and_panic,
    },
    Test {
        name: "isolation::firewall_refuses_the_host_namespace",
        run: isolation::refuses_host,
    },
    Test {
        name: "isolation::host_ruleset_unchanged",
        run: isolation::host_ruleset_unchanged,
    },
    Test {
        name: "isolation::unprivileged_user_namespace",
        run: isolation::user_namespace,
    },
    Test {
        name: "sigkill::controller_killed_leaves_nothing",
        run: sigkill::controller_killed,
    },
    Test {
        name: "traffic::partition_heal_pause_kill",
        run: traffic::partition_heal_pause_kill,
    },
    Test {
        name: "namespaces::traffic_between_node_namespaces",
        run: namespaces::traffic,
    },
    Test {
        name: "namespaces::host_network_and_ruleset_unchanged",
        run: namespaces::host_unchanged,
    },
    Test {
        name: "namespaces::controller_killed_leaves_nothing",
        run: namespaces::controller_killed,
    },
    Test {
        name: "slow::delay_in_loopback_mode",
        run: slow::loopback,
    },
    Test {
        name: "slow::delay_in_namespaces_mode",
        run: slow::namespaces,
    },
    Test {
        name: "clock::faked_clocks_offset_rate_jump",
        run: clock::faked_clocks,
    },
    Test {
        name: "etcd::isolate_leader_in_node_namespaces",
        run: etcd::partition_etcd,
    },
    Test {
        name: "disk::power_loss_rolls_back_unsynced_writes_and_names",
        run: disk::rollback,
    },
    Test {
        name: "disk::fsync_error_and_crash_at_fsync",
        run: disk::fsync_faults,
    },
    Test {
        name: "disk::controller_killed_leaves_no_mount",
        run: disk_sigkill::controller_killed,
    },
    Test {
        name: "disk::target_node_keeps_acknowledged_writes",
        run: disk_cluster::safe_survives,
    },
    Test {
        name: "disk::unsafe_no_fsync_loses_acknowledged_writes",
        run: disk_cluster::unsafe_loses,
    },
    Test {
        name: "disk::follower_survives_crashes_at_snapshot_install",
        run: disk_crash_points::follower_survives_crashes_at_install,
    },
    Test {
        name: "disk::nemesis_verbs_record_paired_events",
        run: disk_nemesis::verbs_record_paired_events,
    },
];

const SCENARIOS: &[Scenario] = &[
    process::LIFECYCLE,
    process::OUTLIVE_THREADS,
    process::DROP_AND_PANIC,
    isolation::REFUSES_HOST,
    isolation::PARTITION_AND_EXIT,
    isolation::USER_NAMESPACE,
    sigkill::CONTROLLER,
    traffic::SCENARIO,
    namespaces::TRAFFIC,
    namespaces::EXIT_WITHOUT_CLEANUP,
    namespaces::CONTROLLER,
    etcd::SCENARIO,
    clock::SCENARIO,
    clock::NODE,
    slow::LOOPBACK,
    slow::NAMESPACES,
];

fn main() -> ExitCode {
    // Disk scenarios enter a mount namespace too, and the disk writer is
    // a role of its own.
    if let Some(code) = disk::main_for_role() {
        return code;
    }
    match role() {
        Some(support::Role::Listener) => support::listener_main(),
        Some(support::Role::Scenario(name)) => {
            let scenario = SCENARIOS
                .iter()
                .find(|s| s.name == name)
                .unwrap_or_else(|| panic!("unknown scenario {name}"));
            support::scenario_main(scenario)
        }
        None => run_tests(),
    }
}

fn run_tests() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let exact = args.iter().any(|a| a == "--exact");
    let filters: Vec<&String> = args.iter().filter(|a| !a.starts_with('-')).collect();
    let selected: Vec<&Test> = TESTS
        .iter()
        .filter(|t| {
            filters.is_empty()
                || filters.iter().any(|f| {
                    if exact {
                        t.name == f.as_str()
                    } else {
                        t.name.contains(f.as_str())
                    }
                })
        })
        .collect();
    if args.iter().any(|a| a == "--list") {
        for t in &selected {
            println!("{}: test", t.name);
        }
        return ExitCode::SUCCESS;
    }
    println!("\nrunning {} tests", selected.len());
    let (mut passed, mut failed, mut skipped) = (0, Vec::new(), 0);
    let started = std::time::Instant::now();
    for test in &selected {
        let verdict = (test.run)();
        match &verdict {
            Verdict::Pass => {
                passed += 1;
                println!("test {} ... ok", test.name);
            }
            Verdict::Skip(reason) => {
                skipped += 1;
                println!("test {} ... SKIPPED ({reason})", test.name);
            }
            Verdict::Fail(reason) => {
                failed.push(test.name);
                println!("test {} ... FAILED\n{reason}", test.name);
            }
        }
    }
    if !failed.is_empty() {
        println!("\nfailures:");
        for name in &failed {
            println!("    {name}");
        }
    }
    println!(
        "\ntest result: {}. {passed} passed; {} failed; {skipped} ignored; 0 measured; {} filtered out; finished in {:.2}s\n",
        if failed.is_empty() { "ok" } else { "FAILED" },
        failed.len(),
        TESTS.len() - selected.len(),
        started.elapsed().as_secs_f64()
    );
    if failed.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
