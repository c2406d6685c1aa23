//! Throughput of the querier's pure stages: the k-way series merge and the replica dedup
//! iterators (`chorus::query::{merge, dedup}`).

use std::convert::Infallible;
use std::hint::black_box;

use bytes::Bytes;
use chorus::query::dedup::{DedupAlgorithm, SampleIterator, ValueKind, VecIterator, deduplicate};
use chorus::query::merge::merge_sorted;
use chorus::storeapi::{AggrChunk, Chunk, ChunkEncoding, Series, SeriesFrame, SeriesStream};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use futures::executor::block_on;
use futures::{StreamExt, stream};
use shared::labels::Labels;

const SAMPLES_PER_REPLICA: i64 = 10_000;
const INTERVAL_MS: i64 = 15_000;

/// One replica scraping every 15 s, `offset_ms` after the others, with a 10-scrape gap at `gap_at`.
fn replica(offset_ms: i64, gap_at: i64) -> VecIterator<Infallible> {
    let samples: Vec<(i64, f64)> = (0..SAMPLES_PER_REPLICA)
        .filter(|i| !(gap_at..gap_at + 10).contains(i))
        .map(|i| (i * INTERVAL_MS + offset_ms, i as f64))
        .collect();
    VecIterator::floats(&samples).expect("increasing timestamps")
}

fn drain(mut it: impl SampleIterator<Error = Infallible>) -> usize {
    let mut n = 0;
    while let Ok(Some(t)) = it.next() {
        black_box(t);
        n += 1;
    }
    n
}

fn bench_dedup(c: &mut Criterion) {
    let mut group = c.benchmark_group("dedup");
    for replicas in [2i64, 3] {
        group.throughput(Throughput::Elements(
            (SAMPLES_PER_REPLICA * replicas) as u64,
        ));
        for (name, algorithm, kind) in [
            ("penalty_gauge", DedupAlgorithm::Penalty, ValueKind::Gauge),
            (
                "penalty_counter",
                DedupAlgorithm::Penalty,
                ValueKind::Counter,
            ),
            ("chain", DedupAlgorithm::Chain, ValueKind::Gauge),
        ] {
            group.bench_function(format!("{name}/{replicas}_replicas"), |b| {
                b.iter_batched(
                    || {
                        (0..replicas)
                            .map(|r| replica(r * 1_000, 1_000 + r * 3_000))
                            .collect::<Vec<_>>()
                    },
                    |input| drain(deduplicate(input, algorithm, kind)),
                    criterion::BatchSize::LargeInput,
                )
            });
        }
    }
    group.finish();
}

const SERIES_PER_STORE: usize = 2_000;

/// One store's stream: every series of a metric with 3 chunks; stores share every other series.
fn store(index: usize) -> Vec<SeriesFrame> {
    (0..SERIES_PER_STORE)
        .map(|i| {
            let id = if i % 2 == 0 {
                format!("{i:06}")
            } else {
                format!("{i:06}-{index}")
            };
            let chunks = (0..3)
                .map(|c| {
                    let data = Bytes::from(format!("store{index}-series{i}-chunk{c}"));
                    AggrChunk::raw(
                        c * 7_200_000,
                        (c + 1) * 7_200_000 - 1,
                        Chunk {
                            encoding: ChunkEncoding::Xor,
                            data,
                            hash: 0,
                        },
                    )
                })
                .collect();
            SeriesFrame::Series(Series {
                labels: Labels::from_pairs([("__name__", "up"), ("id", id.as_str())]),
                chunks,
            })
        })
        .collect()
}

fn bench_merge(c: &mut Criterion) {
    let mut group = c.benchmark_group("merge_sorted");
    for stores in [2usize, 8] {
        let inputs: Vec<Vec<SeriesFrame>> = (0..stores).map(store).collect();
        group.throughput(Throughput::Elements((SERIES_PER_STORE * stores) as u64));
        group.bench_function(format!("{stores}_stores"), |b| {
            b.iter_batched(
                || {
                    inputs
                        .iter()
                        .map(|frames| {
                            Box::pin(stream::iter(frames.clone().into_iter().map(Ok)))
                                as SeriesStream
                        })
                        .collect::<Vec<_>>()
                },
                |streams| block_on(merge_sorted(streams).count()),
                criterion::BatchSize::LargeInput,
            )
        });
    }
    group.finish();
}

criterion_group!(benches, bench_dedup, bench_merge);
criterion_main!(benches);
