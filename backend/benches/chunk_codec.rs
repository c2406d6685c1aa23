//! XOR chunk decode and encode throughput on realistic scrape data: 120-sample chunks, a 15 s scrape
//! interval with a few milliseconds of jitter, for counters and for gauges. Reported in samples/s.

use std::hint::black_box;

use chorus::chunkenc::{XorAppender, XorIter};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};

const SAMPLES_PER_CHUNK: usize = 120;
const CHUNKS: usize = 1000;

/// A small deterministic generator (xorshift64*), so runs compare.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// One chunk's samples: scrape times with jitter, and either a counter or a gauge.
fn series(rng: &mut Rng, counter: bool) -> Vec<(i64, f64)> {
    let mut t = 1_700_000_000_000i64 + rng.below(15_000) as i64;
    let mut v = if counter {
        rng.below(1_000_000) as f64
    } else {
        50.0 + rng.below(50) as f64
    };
    (0..SAMPLES_PER_CHUNK)
        .map(|_| {
            t += 15_000 + rng.below(21) as i64 - 10;
            if counter {
                // Requests served: mostly whole increments, sometimes idle.
                v += rng.below(200) as f64;
            } else {
                // Temperature-like gauge with two decimals.
                v = ((v + (rng.below(201) as f64 - 100.0) / 100.0) * 100.0).round() / 100.0;
            }
            (t, v)
        })
        .collect()
}

fn chunks(counter: bool) -> (Vec<Vec<(i64, f64)>>, Vec<bytes::Bytes>) {
    let mut rng = Rng(if counter {
        0x9E37_79B9_7F4A_7C15
    } else {
        0xD1B5_4A32_D192_ED03
    });
    let raw: Vec<_> = (0..CHUNKS).map(|_| series(&mut rng, counter)).collect();
    let encoded = raw.iter().map(|s| encode(s)).collect();
    (raw, encoded)
}

fn encode(samples: &[(i64, f64)]) -> bytes::Bytes {
    let mut app = XorAppender::new();
    for &(t, v) in samples {
        app.append(t, v).expect("generated timestamps increase");
    }
    app.to_bytes()
}

fn bench(c: &mut Criterion) {
    for (name, counter) in [("counter", true), ("gauge", false)] {
        let (raw, encoded) = chunks(counter);
        let bytes: usize = encoded.iter().map(|c| c.len()).sum();
        eprintln!(
            "{name}: {:.2} bytes/sample",
            bytes as f64 / (CHUNKS * SAMPLES_PER_CHUNK) as f64
        );

        let mut group = c.benchmark_group(format!("xor_{name}"));
        group.throughput(Throughput::Elements((CHUNKS * SAMPLES_PER_CHUNK) as u64));
        group.bench_function("decode", |b| {
            b.iter(|| {
                let mut acc = 0.0f64;
                let mut t_acc = 0i64;
                for chunk in &encoded {
                    for s in XorIter::new(black_box(chunk)).expect("header") {
                        let s = s.expect("valid chunk");
                        acc += s.v;
                        t_acc ^= s.t_ms;
                    }
                }
                black_box((acc, t_acc))
            })
        });
        group.bench_function("encode", |b| {
            b.iter(|| {
                for samples in &raw {
                    black_box(encode(black_box(samples)));
                }
            })
        });
        group.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
