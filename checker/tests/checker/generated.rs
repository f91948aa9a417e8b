//! Generated histories: linearizable by construction, or with one injected
//! stale read.

use std::time::{Duration, Instant};

use checker::{
    LinOptions, Model, Verdict,
    generate::{RegisterWorkload, register_with_stale_read},
    linearizable,
};

fn opts() -> LinOptions {
    LinOptions {
        time_budget: Duration::from_secs(60),
        threads: 2,
        total_budget: None,
    }
}

#[test]
fn generated_register_histories_are_linearizable() {
    for seed in 0..20 {
        let w = RegisterWorkload {
            seed,
            ops: 300,
            keys: 3,
            processes: 6,
            info_rate: 0.1,
            ..Default::default()
        };
        let h = w.history();
        let r = linearizable::check(&h, Model::register(), &opts());
        assert_eq!(r.verdict, Verdict::Valid, "seed {seed}: {r:#?}");
    }
}

#[test]
fn injected_stale_read_is_found_with_counterexample() {
    for seed in 0..20 {
        let w = RegisterWorkload {
            seed,
            ops: 300,
            keys: 1,
            processes: 6,
            info_rate: 0.05,
            ..Default::default()
        };
        let (h, read) = register_with_stale_read(&w).expect("pairs");
        assert_ne!(read, usize::MAX, "seed {seed}: no read to make stale");
        let r = linearizable::check(&h, Model::register(), &opts());
        assert_eq!(r.verdict, Verdict::Invalid, "seed {seed}");
        let k = &r.keys["k0"];
        let cex = k.counterexample.as_ref().expect("counterexample");
        // The blocked op is the stale read or an op concurrent with it.
        let near = cex.op.op == read || cex.concurrent.iter().any(|o| o.op == read);
        assert!(near, "seed {seed}: blocked {:?}, stale read {read}", cex.op);
    }
}

#[test]
fn timing_smoke() {
    let w = RegisterWorkload {
        seed: 7,
        ops: 5000,
        keys: 1,
        processes: 10,
        info_rate: 0.02,
        ..Default::default()
    };
    let h = w.history();
    let t = Instant::now();
    let r = linearizable::check(&h, Model::register(), &opts());
    eprintln!(
        "5000 ops: {:?} {:?} explored {}",
        t.elapsed(),
        r.verdict,
        r.keys["k0"].explored
    );
    assert_eq!(r.verdict, Verdict::Valid);
}
