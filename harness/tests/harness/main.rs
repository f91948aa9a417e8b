//! Integration tests of the harness: plan errors, and short end-to-end
//! runs against real target-node clusters.

mod bad_plans;
mod clock_slow;
mod crashes;
mod disk;
mod end_to_end;
mod hashicorp;
mod interrupt;
mod leaderless;
mod report;
mod serve;
mod support;
mod txn;
mod workflows;
mod zookeeper;
