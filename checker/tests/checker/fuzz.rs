//! The readers never panic: arbitrary bytes, and mutations of valid
//! histories, give a history or an error.

use std::io::Cursor;

use checker::{read_edn_from, read_jsonl_from};
use proptest::prelude::*;

const JSONL: &str = r#"{"index":0,"time":1,"process":3,"type":"invoke","f":"cas","key":"k1","value":[7,8]}
{"index":1,"time":2,"process":3,"type":"info","f":"cas","key":"k1","value":[7,8],"error":"timeout"}
{"index":2,"time":3,"process":"nemesis","type":"info","f":"start-kill","value":{"id":1,"nodes":["n1"]}}
"#;

const EDN: &str = r#"[#jepsen.history.Op{:index 0, :time 1, :type :invoke, :process 0, :f :write, :value [3 5]}
{:process :nemesis :type :info :f :start :value #{:a "b\n" \c 1.5 -2N 1/2 #_ x}} ; comment
{:process 0, :type :ok, :f :write, :value [3 5] :extra ^:meta {:x (1 2)}}]"#;

/// Random edits: (position, operation, byte).
fn mutate(base: &str, edits: &[(usize, u8, u8)]) -> Vec<u8> {
    let mut bytes = base.as_bytes().to_vec();
    for &(pos, op, b) in edits {
        let at = pos % (bytes.len() + 1);
        match op % 4 {
            0 => bytes.insert(at, b),
            1 if at < bytes.len() => {
                bytes.remove(at);
            }
            2 if at < bytes.len() => bytes[at] = b,
            _ => bytes.truncate(at),
        }
    }
    bytes
}

fn interesting_byte() -> impl Strategy<Value = u8> {
    prop_oneof![
        any::<u8>(),
        prop::sample::select(b"[]{}()#:\"\\;, \n^_-+0123456789.eENM/".to_vec()),
    ]
}

proptest! {
    // PROPTEST_CASES=1000000 for a longer soak.
    #![proptest_config(ProptestConfig::with_cases(
        std::env::var("PROPTEST_CASES").ok().and_then(|c| c.parse().ok()).unwrap_or(3000),
    ))]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(interesting_byte(), 0..300)) {
        let _ = read_jsonl_from(Cursor::new(&bytes), "fuzz.jsonl");
        let _ = read_edn_from(Cursor::new(&bytes), "fuzz.edn");
    }

    #[test]
    fn mutated_histories_never_panic(
        edits in prop::collection::vec((any::<usize>(), any::<u8>(), interesting_byte()), 1..6)
    ) {
        let _ = read_jsonl_from(Cursor::new(mutate(JSONL, &edits)), "fuzz.jsonl");
        let _ = read_edn_from(Cursor::new(mutate(EDN, &edits)), "fuzz.edn");
    }
}

#[test]
fn the_fuzz_seeds_are_valid() {
    read_jsonl_from(Cursor::new(JSONL), "seed.jsonl").expect("jsonl seed reads");
    read_edn_from(Cursor::new(EDN), "seed.edn").expect("edn seed reads");
}
