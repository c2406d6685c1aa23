//! A small but varied backfill for comparing query answers with a real Prometheus: counters with
//! resets, gauges that go negative, a classic histogram (`_bucket` with several `le`, `_sum`,
//! `_count`) over jobs and instances, an info-style metric to join on, integer gauges with zeros,
//! and sparse series with gaps longer than the lookback. Counters start far from zero (see
//! [`Dataset::generate`]).
//!
//! Every sample sits [`SAMPLE_OFFSET_MS`] (or [`SPARSE_OFFSET_MS`]) past a whole second, so an
//! evaluation time at another millisecond offset, minus any whole-second range, never lands on a
//! sample: Prometheus 2's closed range windows `[t-r, t]` and Prometheus 3's left-open `(t-r, t]`
//! (which Chorus follows) then select the same samples. The values come from a fixed-seed
//! generator, so every run writes the same data relative to its base time.

use super::{Backfill, BackfillSeries, now_ms};

/// Milliseconds past the whole second of every regular sample.
pub const SAMPLE_OFFSET_MS: i64 = 137;
/// Milliseconds past the whole second of the samples of `demo_sparse_gauge{instance="rare"}`.
pub const SPARSE_OFFSET_MS: i64 = 263;
/// Seconds between regular samples.
pub const SCRAPE_INTERVAL_S: i64 = 15;
/// Seconds of data after the base time.
pub const SPAN_S: i64 = 2 * 3600;

/// Upper bounds of the classic histogram's buckets, as written in `le`.
const BUCKETS: [&str; 7] = ["0.05", "0.1", "0.25", "0.5", "1", "2.5", "+Inf"];

/// The data set and the time it starts at.
pub struct Dataset {
    /// The series to backfill.
    pub backfill: Backfill,
    /// Whole seconds since the epoch of the first scrape (samples are [`SAMPLE_OFFSET_MS`] later).
    pub base_s: i64,
}

/// A deterministic xorshift generator (fixed seeds keep runs comparable).
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Self {
        Self(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    /// Uniform in [0, 1).
    fn next(&mut self) -> f64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Uniform integer in [0, n).
    fn below(&mut self, n: u64) -> u64 {
        (self.next() * n as f64) as u64
    }
}

fn series(name: &str, labels: &[(&str, &str)], samples: Vec<(i64, f64)>) -> BackfillSeries {
    BackfillSeries {
        name: name.to_string(),
        labels: labels
            .iter()
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect(),
        samples,
    }
}

impl Dataset {
    /// The data set over two hours starting at a whole hour at least four hours ago.
    pub fn generate() -> Self {
        let base_s = (now_ms() / 1000 - 4 * 3600).div_euclid(3600) * 3600;
        let scrapes: Vec<i64> = (0..SPAN_S / SCRAPE_INTERVAL_S)
            .map(|k| (base_s + k * SCRAPE_INTERVAL_S) * 1000 + SAMPLE_OFFSET_MS)
            .collect();
        let mut out = Vec::new();
        let targets = [
            ("api", "host-1"),
            ("api", "host-2"),
            ("web", "host-1"),
            ("web", "host-2"),
        ];

        // Counters, each reset twice at its own scrapes.
        for (i, (job, instance)) in targets.iter().enumerate() {
            for (j, method) in ["get", "post"].into_iter().enumerate() {
                let n = 2 * i + j;
                let mut rng = Rng::new(100 + n as u64);
                let resets = [150 + 20 * n, 380 + 3 * n];
                // Far from zero at the first sample, so extrapolating a rate back towards the
                // counter's zero point never applies at the start of the data (Prometheus 2.42
                // and 3 order that limit and the 1.1-interval threshold differently).
                let mut value = 1000.0 + 250.0 * n as f64;
                let samples = scrapes
                    .iter()
                    .enumerate()
                    .map(|(k, t)| {
                        if resets.contains(&k) {
                            value = rng.below(4) as f64;
                        } else {
                            value += (rng.below(20) as f64) * 0.25 * (1 + n) as f64;
                        }
                        (*t, value)
                    })
                    .collect();
                out.push(series(
                    "demo_requests_total",
                    &[("instance", instance), ("job", job), ("method", method)],
                    samples,
                ));
            }
        }

        // Gauges swinging around zero.
        for (i, (instance, room)) in [
            ("host-1", "cellar"),
            ("host-2", "attic"),
            ("host-3", "yard"),
        ]
        .into_iter()
        .enumerate()
        {
            let mut rng = Rng::new(200 + i as u64);
            let samples = scrapes
                .iter()
                .enumerate()
                .map(|(k, t)| {
                    let phase = k as f64 / (30.0 + 7.0 * i as f64) + i as f64;
                    (*t, 12.0 * phase.sin() - 3.0 + (rng.next() - 0.5) * 2.0)
                })
                .collect();
            out.push(series(
                "demo_temperature_celsius",
                &[("instance", instance), ("job", "env"), ("room", room)],
                samples,
            ));
        }

        // A classic histogram per target; web/host-2 restarts (all its counters reset) once.
        let mut buckets: Vec<BackfillSeries> = Vec::new();
        let mut sums = Vec::new();
        let mut counts = Vec::new();
        for (i, (job, instance)) in targets.iter().enumerate() {
            let mut rng = Rng::new(300 + i as u64);
            // Observations from before the first sample (see the counters above).
            let mut cumulative = [500.0f64, 900.0, 1300.0, 1600.0, 1800.0, 1900.0, 2000.0];
            let (mut sum, mut count) = (900.0f64, 2000.0f64);
            let mut points: Vec<[f64; BUCKETS.len()]> = Vec::new();
            let (mut sum_points, mut count_points) = (Vec::new(), Vec::new());
            for (k, t) in scrapes.iter().enumerate() {
                if i == 3 && k == 260 {
                    cumulative = [0.0; BUCKETS.len()];
                    (sum, count) = (0.0, 0.0);
                }
                for _ in 0..rng.below(12 + 4 * i as u64) {
                    // Skewed towards small durations, with a tail past the last finite bound.
                    let duration = rng.next().powi(3) * (1.0 + i as f64);
                    let bounds = [0.05, 0.1, 0.25, 0.5, 1.0, 2.5, f64::INFINITY];
                    for (b, bound) in bounds.iter().enumerate() {
                        if duration <= *bound {
                            cumulative[b] += 1.0;
                        }
                    }
                    sum += duration;
                    count += 1.0;
                }
                points.push(cumulative);
                sum_points.push((*t, sum));
                count_points.push((*t, count));
            }
            for (b, le) in BUCKETS.iter().enumerate() {
                buckets.push(series(
                    "demo_request_duration_seconds_bucket",
                    &[("instance", instance), ("job", job), ("le", le)],
                    scrapes
                        .iter()
                        .zip(&points)
                        .map(|(t, p)| (*t, p[b]))
                        .collect(),
                ));
            }
            let labels = [("instance", *instance), ("job", *job)];
            sums.push(series(
                "demo_request_duration_seconds_sum",
                &labels,
                sum_points,
            ));
            counts.push(series(
                "demo_request_duration_seconds_count",
                &labels,
                count_points,
            ));
        }
        out.extend(buckets);
        out.extend(sums);
        out.extend(counts);

        // Info-style series to join on.
        for (i, (job, instance)) in targets.iter().enumerate() {
            let version = format!("1.{}.{}", i / 2, i % 2);
            out.push(series(
                "demo_build_info",
                &[("instance", instance), ("job", job), ("version", &version)],
                scrapes.iter().map(|t| (*t, 1.0)).collect(),
            ));
        }

        // Small integer gauges, zero at times (ln, division), odd label values for regexes.
        for (i, queue) in ["q-1", "q.2", "q_3"].into_iter().enumerate() {
            let mut rng = Rng::new(400 + i as u64);
            out.push(series(
                "demo_queue_length",
                &[("job", "worker"), ("queue", queue)],
                scrapes
                    .iter()
                    .map(|t| (*t, rng.below(6 + 2 * i as u64) as f64))
                    .collect(),
            ));
        }

        // Sparse gauges: one with a 25-minute hole, one sampled every two to seven minutes.
        let gap = (base_s + 40 * 60) * 1000..(base_s + 65 * 60) * 1000;
        let mut rng = Rng::new(500);
        out.push(series(
            "demo_sparse_gauge",
            &[("instance", "gappy")],
            scrapes
                .iter()
                .filter(|t| !gap.contains(*t))
                .map(|t| (*t, (rng.next() - 0.3) * 50.0))
                .collect(),
        ));
        let mut rare = Vec::new();
        let mut t_s = base_s + 50;
        while t_s < base_s + SPAN_S {
            rare.push((t_s * 1000 + SPARSE_OFFSET_MS, (rng.next() - 0.5) * 8.0));
            t_s += 120 + rng.below(300) as i64;
        }
        out.push(series("demo_sparse_gauge", &[("instance", "rare")], rare));

        Self {
            backfill: Backfill { series: out },
            base_s,
        }
    }
}
