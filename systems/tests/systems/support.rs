//! What the adapter tests share whatever the system: building requests,
//! skipping when a system is not installed, retrying until `ok`, timing
//! a run of operations, contended increments by cas, and the tails of
//! the members' logs for a failure message.

use std::{
    path::Path,
    time::{Duration, Instant},
};

use faults::NodeName;
use serde_json::{Value, json};
use systems::{Client, Completion};
use workloads::{OpKind, OpRequest};

/// Says why `test` skips, or panics when `HARNESS_REQUIRE_PRIVILEGES=1`
/// forbids skipping.
pub fn skip(test: &str, reason: &str) {
    if std::env::var("HARNESS_REQUIRE_PRIVILEGES").as_deref() == Ok("1") {
        panic!("{test}: {reason}, and HARNESS_REQUIRE_PRIVILEGES=1 forbids skipping");
    }
    eprintln!("SKIPPED {test}: {reason}");
}

pub fn op(f: OpKind, key: &str, value: Value) -> OpRequest {
    OpRequest {
        f,
        key: key.to_owned(),
        value,
    }
}

pub fn read(key: &str) -> OpRequest {
    op(OpKind::Read, key, Value::Null)
}

/// Runs `request` until it is `ok` (for at most `within`); the value.
pub async fn retry_ok(client: &impl Client, request: OpRequest, within: Duration) -> Value {
    let started = Instant::now();
    loop {
        match client.invoke(&request).await {
            Completion::Ok(value) => return value,
            other if started.elapsed() > within => {
                panic!("{request:?} never succeeded: last {other:?}")
            }
            _ => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

/// Runs `request(i)` on `client` `n` times one after another, each of
/// which must be `ok`; prints p50 and p99.
pub async fn measure(
    what: &str,
    client: &impl Client,
    n: usize,
    request: impl Fn(usize) -> OpRequest,
) {
    let mut latencies = Vec::with_capacity(n);
    for i in 0..n {
        let request = request(i);
        let started = Instant::now();
        let done = client.invoke(&request).await;
        latencies.push(started.elapsed());
        assert!(matches!(done, Completion::Ok(_)), "{what} #{i}: {done:?}");
    }
    latencies.sort();
    let (p50, p99) = (percentile(&latencies, 0.5), percentile(&latencies, 0.99));
    eprintln!("{what}: n={n} p50={p50:?} p99={p99:?}");
}

/// On the key "fresh", absent at first: a cas `from: null` matches only an
/// absent key (and on "absent" a cas from a value fails); writing null
/// deletes the key, which then reads as null.
pub async fn assert_null_means_absent(c: &impl Client) {
    use Completion::{Fail, Ok};
    let cas = |key, swap| op(OpKind::Cas, key, swap);
    assert_eq!(
        c.invoke(&cas("fresh", json!([null, 1]))).await,
        Ok(json!([null, 1]))
    );
    assert_eq!(
        c.invoke(&cas("fresh", json!([null, 2]))).await,
        Fail("cas-mismatch".into())
    );
    assert_eq!(
        c.invoke(&cas("absent", json!([1, 2]))).await,
        Fail("cas-mismatch".into())
    );
    let delete = op(OpKind::Write, "fresh", Value::Null);
    assert_eq!(c.invoke(&delete).await, Ok(Value::Null));
    assert_eq!(c.invoke(&read("fresh")).await, Ok(Value::Null));
}

/// JSON values of every kind, to write, read back and compare by cas.
pub fn json_samples() -> [Value; 6] {
    [
        json!("a \"quoted\" string, ünïcödé"),
        json!([1, [2, 3], {"x": null}]),
        json!({"b": 1, "a": [true, false]}),
        json!(-12.5),
        json!(u64::MAX),
        json!(""),
    ]
}

/// Every one of [`json_samples`] round-trips through a write and a read,
/// and a cas compares it as a value.
pub async fn assert_json_round_trips(c: &impl Client) {
    for (i, value) in json_samples().into_iter().enumerate() {
        let key = format!("json{i}");
        let write = op(OpKind::Write, &key, value.clone());
        assert_eq!(c.invoke(&write).await, Completion::Ok(value.clone()));
        assert_eq!(c.invoke(&read(&key)).await, Completion::Ok(value.clone()));
        let swap = json!([value, i]);
        let cas = op(OpKind::Cas, &key, swap.clone());
        assert_eq!(c.invoke(&cas).await, Completion::Ok(swap));
    }
}

/// How the contended cas's ended, over all clients.
#[derive(Debug, Default)]
pub struct CasTally {
    pub oks: u64,
    pub fails: u64,
    pub infos: u64,
}

impl CasTally {
    fn add(&mut self, other: CasTally) {
        self.oks += other.oks;
        self.fails += other.fails;
        self.infos += other.infos;
    }

    /// Checks the final `counter` against the tally: a cas that said
    /// `fail` must not have applied, and one that said `ok` must have, so
    /// the counter ends at the number of ok's (give or take the info's).
    /// The counter, as a number.
    pub fn assert_counter(&self, counter: &Value) -> u64 {
        let CasTally { oks, fails, infos } = *self;
        eprintln!("contended cas: {oks} ok, {fails} fail, {infos} info, counter {counter}");
        let counter = counter.as_u64().expect("a number");
        assert!(
            (oks..=oks + infos).contains(&counter),
            "every ok applied, no fail did: {oks} ok + up to {infos} info, counter {counter}"
        );
        assert!(fails > 0, "4 clients on one key should collide");
        counter
    }
}

/// Every client at once, 30 times each: reads `key` and increments it by
/// a cas from the value read.
pub async fn contended_increments<C: Client + 'static>(clients: Vec<C>, key: &str) -> CasTally {
    let tasks: Vec<_> = clients
        .into_iter()
        .enumerate()
        .map(|(i, c)| tokio::spawn(increment_by_cas(i, c, key.to_owned())))
        .collect();
    let mut tally = CasTally::default();
    for task in tasks {
        tally.add(task.await.unwrap());
    }
    tally
}

/// One client's share of [`contended_increments`].
async fn increment_by_cas(i: usize, c: impl Client, key: String) -> CasTally {
    let mut tally = CasTally::default();
    for _ in 0..30 {
        let Completion::Ok(current) = c.invoke(&read(&key)).await else {
            continue;
        };
        let next = current.as_u64().unwrap_or(0) + 1;
        match c
            .invoke(&op(OpKind::Cas, &key, json!([current, next])))
            .await
        {
            Completion::Ok(_) => tally.oks += 1,
            Completion::Fail(_) => tally.fails += 1,
            // Only a timeout on a loaded machine: it may have applied.
            Completion::Info(e) => {
                eprintln!("client {i}: info {e}");
                tally.infos += 1;
            }
        }
    }
    tally
}

/// The last 15 lines of each member's log (`dir/<name>.log`).
pub fn log_tails<'a>(dir: &Path, names: impl Iterator<Item = &'a NodeName>) -> String {
    names
        .map(|name| {
            let text = std::fs::read_to_string(dir.join(format!("{name}.log"))).unwrap_or_default();
            let lines: Vec<&str> = text.lines().collect();
            format!(
                "--- {name}\n{}",
                lines[lines.len().saturating_sub(15)..].join("\n")
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}
