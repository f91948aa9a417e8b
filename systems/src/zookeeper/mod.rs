//! `system: zookeeper`: Apache ZooKeeper 3.8 (Debian's `libzookeeper-java`),
//! a static ensemble of servers started with `java` directly.
//!
//! - [`system`]: the [`System`](crate::System) implementation;
//! - [`ensemble`]: each server's `zoo.cfg`, `myid` and command line;
//! - [`client`]: operations as ZooKeeper requests, one znode per key;
//! - [`errors`]: which ZooKeeper errors are definite;
//! - [`codec`]: key escaping and value encoding;
//! - [`admin`]: leadership from the servers' admin server.
//!
//! ZooKeeper cannot bind its outgoing quorum connections to one address,
//! so it runs in per-node namespaces (`network: namespaces`, its default)
//! for partitions to tell its servers apart. Its plain reads are
//! sequentially consistent, not linearizable; `sync-reads: true` puts a
//! `sync` before each.

pub mod admin;
pub mod client;
pub mod codec;
pub mod ensemble;
pub mod errors;
pub mod system;
#[cfg(test)]
mod tests;

pub use admin::{AdminError, ZkStatus, probe, status};
pub use client::ZkClient;
pub use codec::{CodecError, ROOT, znode};
pub use ensemble::{ZkPorts, ZkServer, ZkSettings, server_spec, zoo_cfg};
pub use errors::{classify_zk, write_failure};
pub use system::ZooKeeper;
