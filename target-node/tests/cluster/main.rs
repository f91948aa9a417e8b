//! Integration tests against real `target-node` processes on loopback
//! addresses, each bounded in time and cleaned up by `support::Cluster`.

mod bad_input;
mod faults;
mod health;
mod lease;
mod limits;
mod peer_auth;
mod replication;
mod restart;
mod single;
mod snapshot;
mod support;
mod txn;
