//! Integration tests of the checker crate, one binary with a module per
//! area (keeps link time down).

mod common;
mod edn;
mod fuzz;
mod generated;
mod jsonl;
mod lin_budgets;
mod lin_prop;
mod lin_table;
mod lin_version_order;
mod set;
mod stats;
mod txn_edn;
mod txn_prop;
mod txn_table;
