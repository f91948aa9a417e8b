//! Criterion benchmarks of the linearizability check on generated
//! histories (the single-key scenarios of the issue, a mid-size multi-key
//! one, and issue 15's hot key with both engines). The 1M-op scenarios are
//! in `benches/perf.rs`.

use std::{hint::black_box, time::Duration};

use checker::{
    LinOptions, Model,
    generate::{RegisterWorkload, concurrent_info_writes, register_with_stale_read},
    linearizable,
};
use criterion::{Criterion, criterion_group, criterion_main};

fn one_key() -> RegisterWorkload {
    RegisterWorkload {
        seed: 2,
        ops: 5_000,
        keys: 1,
        processes: 10,
        info_rate: 0.02,
        ..Default::default()
    }
}

fn options() -> LinOptions {
    LinOptions {
        time_budget: Duration::from_secs(60),
        threads: 0,
        total_budget: None,
        ..LinOptions::default()
    }
}

fn benches(c: &mut Criterion) {
    let mut g = c.benchmark_group("linearizable");
    g.sample_size(10);
    let valid = one_key().history();
    g.bench_function("one key 5000 ops valid", |b| {
        b.iter(|| linearizable::check(black_box(&valid), Model::register(), &options()))
    });
    let (stale, _) = register_with_stale_read(&one_key()).expect("pairs");
    g.bench_function("one key 5000 ops stale read", |b| {
        b.iter(|| linearizable::check(black_box(&stale), Model::register(), &options()))
    });
    let many = RegisterWorkload {
        seed: 3,
        ops: 100_000,
        keys: 100,
        processes: 20,
        info_rate: 0.05,
        ..Default::default()
    }
    .history();
    g.bench_function("100 keys 100000 ops", |b| {
        b.iter(|| linearizable::check(black_box(&many), Model::register(), &options()))
    });
    let hot = RegisterWorkload::hot_key(15).history();
    g.bench_function("hot key 24387 ops, version order", |b| {
        b.iter(|| linearizable::check(black_box(&hot), Model::register(), &options()))
    });
    let (hot_stale, _) = register_with_stale_read(&RegisterWorkload::hot_key(15)).expect("pairs");
    g.bench_function("hot key 24387 ops, stale read, version order", |b| {
        b.iter(|| linearizable::check(black_box(&hot_stale), Model::register(), &options()))
    });
    let crafted = concurrent_info_writes(5, 1, 1_000, 1_000, false);
    for (name, version_order) in [("version order", true), ("search", false)] {
        let o = LinOptions {
            version_order,
            ..options()
        };
        g.bench_function(format!("1000 info writes and 1000 reads, {name}"), |b| {
            b.iter(|| linearizable::check(black_box(&crafted), Model::register(), &o))
        });
    }
    g.finish();
}

criterion_group!(linearizability, benches);
criterion_main!(linearizability);
