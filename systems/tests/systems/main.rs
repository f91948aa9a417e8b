//! Integration tests of the system adapters against the real systems.

mod etcd;
mod support;
mod zookeeper;
