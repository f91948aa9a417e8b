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
        ..LinOptions::default()
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
fn five_thousand_op_key_is_valid() {
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

/// The witness of a valid key is itself checked: every completed op once,
/// a valid sequential run of the spec, and real-time order respected.
#[test]
fn witnesses_are_valid_linearizations() {
    use checker::linearizable::{
        prepare::{KeyInput, ops_by_key, prepare_key},
        wgl::{SearchResult, search},
    };
    use stateright::semantics::SequentialSpec;
    for seed in 0..10 {
        let h = RegisterWorkload {
            seed,
            ops: 2000,
            keys: 2,
            processes: 8,
            info_rate: 0.1,
            ..Default::default()
        }
        .history();
        for ids in ops_by_key(&h).values() {
            let KeyInput::Register { init, ops, .. } = prepare_key(&h, &Model::register(), ids)
            else {
                panic!("register key");
            };
            let SearchResult::Linearizable { order, .. } = search(&init, &ops, None) else {
                panic!("seed {seed}: generated history must be linearizable");
            };
            let mut seen = vec![false; ops.len()];
            let mut state = init.clone();
            for (n, &k) in order.iter().enumerate() {
                assert!(!seen[k], "op linearized twice");
                seen[k] = true;
                let o = &ops[k];
                match &o.ret {
                    Some(ret) => assert!(state.is_valid_step(&o.op, ret), "invalid step"),
                    None => {
                        state.invoke(&o.op);
                    }
                }
                for &later in &order[n + 1..] {
                    let l = &ops[later];
                    assert!(
                        l.ret.is_none() || l.ret_pos > o.call,
                        "op {later} returned before op {k} was called yet comes after it"
                    );
                }
            }
            let completed_missing = ops
                .iter()
                .enumerate()
                .filter(|(k, o)| o.ret.is_some() && !seen[*k])
                .count();
            assert_eq!(completed_missing, 0, "seed {seed}");
        }
    }
}

#[test]
fn a_total_budget_bounds_the_whole_check() {
    let h = RegisterWorkload {
        seed: 9,
        ops: 40_000,
        keys: 4,
        processes: 10,
        info_rate: 0.05,
        ..Default::default()
    }
    .history();
    let r = linearizable::check(
        &h,
        Model::register(),
        &LinOptions {
            total_budget: Some(Duration::ZERO),
            ..opts()
        },
    );
    assert_eq!(r.verdict, Verdict::Unknown);
    assert!(r.keys.values().all(|k| k.verdict == Verdict::Unknown));
}
