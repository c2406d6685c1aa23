//! The benchmark's data set, written as OpenMetrics text for `promtool tsdb
//! create-blocks-from openmetrics`: counters, a classic histogram and gauges, one sample every
//! 15 s. Values are deterministic functions of the series and the time, so every run (and every
//! replica) holds the same data. Knows nothing of processes or queries.

use std::io::{self, BufWriter, Write};
use std::path::Path;

/// Sample interval, seconds.
pub const SCRAPE_INTERVAL_S: i64 = 15;
/// Samples sit this many seconds after multiples of the interval, so that no sample falls on
/// the edge of a query's windows (whole multiples of 15 s): Prometheus 2.42 windows include
/// their start, Prometheus 3 (and Chorus) exclude it, and the answers would differ there.
const SAMPLE_OFFSET_S: i64 = 7;
/// Jobs.
const JOBS: usize = 5;
/// Instances per job for the counters.
const COUNTER_INSTANCES: usize = 20;
/// HTTP methods of the counters.
const METHODS: [&str; 5] = ["get", "put", "post", "delete", "patch"];
/// Status codes of the counters.
const CODES: [&str; 4] = ["200", "404", "500", "503"];
/// Instances per job of the histogram.
const HISTOGRAM_INSTANCES: usize = 40;
/// Upper bounds of the histogram's buckets (`+Inf` last).
const BUCKETS: [&str; 10] = [
    "0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1", "2.5", "+Inf",
];
/// Instances per job of the gauges.
const GAUGE_INSTANCES: usize = 100;

/// What was written.
#[derive(Debug, Clone, Copy)]
pub struct DataSet {
    /// Last sample, ms.
    pub end_ms: i64,
    /// Series written.
    pub series: usize,
    /// Samples written.
    pub samples: usize,
}

/// Writes `hours` hours of data ending at `end_s` (seconds, a multiple of the interval) to
/// `path`: `bench_requests_total` (2000 counters), `bench_latency_seconds` (a histogram of 10
/// buckets over 200 series, with `_sum` and `_count`) and `bench_temperature` (500 gauges).
pub fn write(path: &Path, end_s: i64, hours: i64) -> io::Result<DataSet> {
    let start_s = end_s - hours * 3600;
    let times: Vec<i64> = (start_s + SAMPLE_OFFSET_S..=end_s)
        .step_by(SCRAPE_INTERVAL_S as usize)
        .collect();
    let mut out = BufWriter::with_capacity(1 << 20, std::fs::File::create(path)?);
    let mut series = 0;

    writeln!(out, "# TYPE bench_requests counter")?;
    for job in 0..JOBS {
        for instance in 0..COUNTER_INSTANCES {
            for (m, method) in METHODS.iter().enumerate() {
                for (c, code) in CODES.iter().enumerate() {
                    let labels = format!(
                        "job=\"job-{job}\",instance=\"host-{instance}:9100\",method=\"{method}\",code=\"{code}\""
                    );
                    let per_s = 1.0 + ((job * 7 + instance * 3 + m * 5 + c) % 17) as f64;
                    // Every 50th series restarts halfway, so rate() sees a counter reset.
                    let resets = (series % 50) == 0;
                    let mut total = 0.0;
                    for (i, t) in times.iter().enumerate() {
                        if resets && i == times.len() / 2 {
                            total = 0.0;
                        }
                        total += per_s * SCRAPE_INTERVAL_S as f64 * (1.0 + (i % 4) as f64 / 8.0);
                        writeln!(out, "bench_requests_total{{{labels}}} {total} {t}")?;
                    }
                    series += 1;
                }
            }
        }
    }

    writeln!(out, "# TYPE bench_latency_seconds histogram")?;
    for job in 0..JOBS {
        for instance in 0..HISTOGRAM_INSTANCES {
            let labels = format!("job=\"job-{job}\",instance=\"host-{instance}:9100\"");
            let per_scrape = 10 + (job * 3 + instance) % 7;
            let mut buckets = [0u64; BUCKETS.len()];
            let mut sum = 0.0;
            // OpenMetrics wants each series' samples together: gather then write per series.
            let mut per_series: Vec<Vec<(i64, String)>> = vec![Vec::new(); BUCKETS.len() + 2];
            for (i, t) in times.iter().enumerate() {
                // The latency distribution drifts over time: cumulative fraction
                // ((j + 1) / 10) ^ p with p between 0.5 and 2.
                let p = 1.25 + 0.75 * ((i as f64 / 240.0) + instance as f64).sin();
                for (j, bucket) in buckets.iter_mut().enumerate() {
                    let fraction = ((j + 1) as f64 / BUCKETS.len() as f64).powf(p);
                    *bucket += (per_scrape as f64 * fraction).floor() as u64;
                }
                let count = buckets[BUCKETS.len() - 1];
                sum += per_scrape as f64 * 0.1 * p;
                for (j, bucket) in buckets.iter().enumerate() {
                    per_series[j].push((*t, bucket.to_string()));
                }
                per_series[BUCKETS.len()].push((*t, format!("{sum:?}")));
                per_series[BUCKETS.len() + 1].push((*t, count.to_string()));
            }
            for (j, le) in BUCKETS.iter().enumerate() {
                for (t, v) in &per_series[j] {
                    writeln!(
                        out,
                        "bench_latency_seconds_bucket{{{labels},le=\"{le}\"}} {v} {t}"
                    )?;
                }
            }
            for (t, v) in &per_series[BUCKETS.len()] {
                writeln!(out, "bench_latency_seconds_sum{{{labels}}} {v} {t}")?;
            }
            for (t, v) in &per_series[BUCKETS.len() + 1] {
                writeln!(out, "bench_latency_seconds_count{{{labels}}} {v} {t}")?;
            }
            series += BUCKETS.len() + 2;
        }
    }

    writeln!(out, "# TYPE bench_temperature gauge")?;
    for job in 0..JOBS {
        for instance in 0..GAUGE_INSTANCES {
            let labels = format!("job=\"job-{job}\",instance=\"host-{instance}:9100\"");
            let phase = (job * GAUGE_INSTANCES + instance) as f64;
            for (i, t) in times.iter().enumerate() {
                let v = 50.0 + 30.0 * (i as f64 / 40.0 + phase).sin() + (instance % 10) as f64;
                let v = (v * 100.0).round() / 100.0;
                writeln!(out, "bench_temperature{{{labels}}} {v} {t}")?;
            }
            series += 1;
        }
    }
    writeln!(out, "# EOF")?;
    out.flush()?;
    Ok(DataSet {
        end_ms: end_s * 1000,
        series,
        samples: series * times.len(),
    })
}
