//! Jepsen transactional histories in EDN (`:f :txn`, values like
//! `[[:append 5 3] [:r 5 nil]]`, Elle's list-append and rw-register
//! workloads).
//!
//! The generic import already maps their values to the JSON micro-ops the
//! transactional checker reads (`["append", 5, 3]`, `["r", 5, null]`,
//! keywords to strings). What it must not do is take a transaction of
//! exactly two micro-ops for an independent `[key value]` tuple: a history
//! of 2-micro-op transactions looks just like an independent one. So a
//! history with any `:txn` client operation is never independent.

use super::parse::Edn;

/// The `:f` of transactional operations.
const TXN: &str = "txn";

/// Whether any client event of the history has `:f :txn`.
pub(super) fn has_txn_ops(maps: &[(u64, Vec<(Edn, Edn)>)]) -> bool {
    maps.iter().any(|(_, m)| {
        let mut f = None;
        let mut nemesis = false;
        for (k, v) in m {
            match (k, v) {
                (Edn::Keyword(k), Edn::Keyword(s) | Edn::Symbol(s) | Edn::Str(s)) if k == "f" => {
                    f = Some(s.as_str());
                }
                (Edn::Keyword(k), Edn::Keyword(p)) if k == "process" && p == "nemesis" => {
                    nemesis = true;
                }
                _ => {}
            }
        }
        !nemesis && f == Some(TXN)
    })
}
