//! Throughput of the PromQL evaluator alone (`chorus::promql`), over series held in memory
//! ([`MemoryStorage`]): a range query of one hour at a 15 s step over 2 h of 15 s samples.
//!
//! "Samples" counts what the query reads: for each step, each selected series' samples in its
//! window (5 m or 1 h), or the one sample of an instant selector (Prometheus's `samples`
//! statistic counts the same way). Each case prints its
//! samples per second once, then Criterion measures it (throughput in elements = samples).
//! A case the engine does not implement yet is skipped with the reason printed.
//! Run with `cargo bench -p chorus --bench promql_eval`.

use std::hint::black_box;
use std::time::Instant;

use chorus::promql::storage::memory::MemoryStorage;
use chorus::promql::storage::{Point, SampleValue};
use chorus::promql::{Engine, EngineError};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use shared::labels::Labels;

const INTERVAL_MS: i64 = 15_000;
/// Samples per series: 2 h.
const SAMPLES: i64 = 481;
/// The range query: the last hour of the data.
const START_MS: i64 = 3_600_000;
const END_MS: i64 = 7_200_000;
const STEP_MS: i64 = 15_000;
/// Samples in a 5 m window at a 15 s interval.
const WINDOW_SAMPLES: u64 = 20;
/// Samples in a 1 h window at a 15 s interval.
const HOUR_SAMPLES: u64 = 240;
const JOBS: usize = 4;
const INSTANCES: usize = 50;
const BUCKETS: [&str; 10] = [
    "0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1", "2.5", "+Inf",
];

/// `x{job, instance}` counters (200 series) and `h_bucket{job, instance, le}` cumulative
/// buckets (20 series x 10 buckets).
fn storage() -> MemoryStorage {
    let mut s = MemoryStorage::new();
    for job in 0..JOBS {
        for instance in 0..INSTANCES {
            let labels = Labels::from_pairs([
                ("__name__", "x".to_string()),
                ("job", format!("job-{job}")),
                ("instance", format!("host-{instance}")),
            ]);
            let per_step = 1.0 + ((job * 7 + instance) % 13) as f64;
            for i in 0..SAMPLES {
                let point = Point {
                    t_ms: i * INTERVAL_MS,
                    value: SampleValue::Float(per_step * i as f64),
                };
                s.append(&labels, point);
            }
        }
    }
    for job in 0..JOBS {
        for instance in 0..5 {
            for (j, le) in BUCKETS.iter().enumerate() {
                let labels = Labels::from_pairs([
                    ("__name__", "h_bucket".to_string()),
                    ("job", format!("job-{job}")),
                    ("instance", format!("host-{instance}")),
                    ("le", le.to_string()),
                ]);
                for i in 0..SAMPLES {
                    let value = (i * (j as i64 + 1 + instance)) as f64;
                    let point = Point {
                        t_ms: i * INTERVAL_MS,
                        value: SampleValue::Float(value),
                    };
                    s.append(&labels, point);
                }
            }
        }
    }
    s
}

fn steps() -> u64 {
    ((END_MS - START_MS) / STEP_MS + 1) as u64
}

fn bench_eval(c: &mut Criterion) {
    let storage = storage();
    let engine = Engine::default();
    let counters = (JOBS * INSTANCES) as u64;
    let buckets = (JOBS * 5 * BUCKETS.len()) as u64;
    // (query, series read, samples read per series and step)
    let cases = [
        ("rate(x[5m])", counters, WINDOW_SAMPLES),
        ("sum by (job) (rate(x[5m]))", counters, WINDOW_SAMPLES),
        (
            "histogram_quantile(0.9, sum by (le) (rate(h_bucket[5m])))",
            buckets,
            WINDOW_SAMPLES,
        ),
        ("x", counters, 1),
        ("increase(x[1h])", counters, HOUR_SAMPLES),
        ("sum by (job) (increase(x[1h]))", counters, HOUR_SAMPLES),
        ("max_over_time(x[1h])", counters, HOUR_SAMPLES),
        ("count_over_time(x[1h])", counters, HOUR_SAMPLES),
        ("deriv(x[1h])", counters, HOUR_SAMPLES),
        ("sum by (job) (x)", counters, 1),
        ("avg without (instance) (x)", counters, 1),
        ("x * 2 > 100", counters, 1),
        ("x / on(job) group_left sum by (job) (x)", counters, 2),
        ("x - ignoring(le) h_bucket{le=\"1\"}", counters, 2),
    ];
    let mut group = c.benchmark_group("promql_eval");
    for (query, series, per_step) in cases {
        let samples = steps() * series * per_step;
        let run = || engine.range(&storage, query, START_MS, END_MS, STEP_MS);
        match run() {
            Err(EngineError::NotImplemented(what)) => {
                println!("promql_eval {query}: skipped, not implemented yet: {what}");
                continue;
            }
            Err(e) => panic!("{query}: {e}"),
            Ok(_) => {}
        }
        let started = Instant::now();
        let rounds = 3;
        for _ in 0..rounds {
            black_box(run().expect("evaluated before"));
        }
        let per_s = (samples * rounds) as f64 / started.elapsed().as_secs_f64();
        println!(
            "promql_eval {query}: {samples} samples per run, {:.1} M samples/s",
            per_s / 1e6
        );
        group.throughput(Throughput::Elements(samples));
        group.bench_function(query, |b| {
            b.iter(|| black_box(run().expect("evaluated before")))
        });
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(10);
    targets = bench_eval
}
criterion_main!(benches);
