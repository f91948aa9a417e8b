//! Integration tests of the harness: plan errors, and short end-to-end
//! runs against real target-node clusters.

mod bad_plans;
mod crashes;
mod end_to_end;
mod hashicorp;
mod interrupt;
mod leaderless;
mod report;
mod serve;
mod support;
mod workflows;
mod zookeeper;
