//! `make bench-query`: heavy range queries against one real Prometheus 2.42 and against
//! `chorus query` deduplicating two replicas of the same data behind two `chorus sidecar`s.
//!
//! The data ([`data`]: 2000 counters, a 10-bucket histogram over 200 series, 500 gauges, 8 h
//! at 15 s) is backfilled once with promtool and copied into the three Prometheus servers
//! ([`stack`]). Each query runs over the last 6 h at a 15 s step: once to warm up and check
//! that both answers agree ([`compare`]; a query whose answers differ is reported and left out
//! of the ratios, so a fast wrong answer does not count), then `CHORUS_BENCH_REPS` times (5)
//! against each, alternating. Prints per query the median milliseconds and their ratio, then
//! the median and worst ratio and the peak RSS (VmHWM) of `chorus query` and of Prometheus.
//!
//! Run through `cargo bench` (which passes `--bench`); other invocations (`cargo test
//! --benches`) only say so and exit. `CHORUS_BENCH_HOURS` changes the data's span; a further
//! argument keeps only queries whose name contains it.

#[path = "../../tests/common/mod.rs"]
mod common;
mod compare;
mod data;
mod stack;

use std::time::{Duration, Instant};

use compare::{Matrix, median};
use stack::{Stack, peak_rss_kib};

/// The queries: (name, expression).
const QUERIES: &[(&str, &str)] = &[
    ("sum(rate)", "sum(rate(bench_requests_total[5m]))"),
    (
        "sum by job (rate)",
        "sum by (job) (rate(bench_requests_total[5m]))",
    ),
    (
        "sum by job,code (rate)",
        "sum by (job, code) (rate(bench_requests_total[5m]))",
    ),
    (
        "avg by instance (rate)",
        "avg by (instance) (rate(bench_requests_total[5m]))",
    ),
    (
        "topk(5, sum by instance)",
        "topk(5, sum by (instance) (rate(bench_requests_total[5m])))",
    ),
    ("rate, 2000 series out", "rate(bench_requests_total[5m])"),
    (
        "sum by method (irate)",
        "sum by (method) (irate(bench_requests_total[1m]))",
    ),
    (
        "sum by job (increase 1h)",
        "sum by (job) (increase(bench_requests_total[1h]))",
    ),
    (
        "quantile(0.9, rate)",
        "quantile(0.9, rate(bench_requests_total[5m]))",
    ),
    (
        "error ratio on(job,instance)",
        "sum by (job, instance) (rate(bench_requests_total{code=~\"5..\"}[5m])) \
         / on (job, instance) sum by (job, instance) (rate(bench_requests_total[5m]))",
    ),
    (
        "ignoring(code) group_left",
        "rate(bench_requests_total{code=\"500\"}[5m]) / ignoring (code) group_left \
         sum without (code) (rate(bench_requests_total[5m]))",
    ),
    (
        "histogram_quantile by le",
        "histogram_quantile(0.9, sum by (le) (rate(bench_latency_seconds_bucket[5m])))",
    ),
    (
        "histogram_quantile by job,le",
        "histogram_quantile(0.99, sum by (job, le) (rate(bench_latency_seconds_bucket[5m])))",
    ),
    (
        "histogram_quantile, 200 series",
        "histogram_quantile(0.5, rate(bench_latency_seconds_bucket[5m]))",
    ),
    (
        "mean latency sum/count",
        "sum(rate(bench_latency_seconds_sum[5m])) / sum(rate(bench_latency_seconds_count[5m]))",
    ),
    (
        "max_over_time subquery",
        "max_over_time(sum by (job) (rate(bench_requests_total[5m]))[30m:1m])",
    ),
    (
        "avg_over_time(rate) subquery",
        "avg_over_time(rate(bench_requests_total{job=\"job-1\"}[5m])[1h:5m])",
    ),
    (
        "avg_over_time gauges",
        "avg_over_time(bench_temperature[10m])",
    ),
    (
        "quantile_over_time",
        "quantile_over_time(0.9, bench_temperature[10m])",
    ),
    (
        "count_values",
        "count_values(\"value\", round(bench_temperature / 10))",
    ),
    ("stddev by job", "stddev by (job) (bench_temperature)"),
    ("count(gauge > 60)", "count(bench_temperature > 60)"),
    (
        "max - min by job",
        "max by (job) (bench_temperature) - min by (job) (bench_temperature)",
    ),
    ("deriv 15m", "deriv(bench_temperature[15m])"),
    (
        "bottomk(3, avg_over_time)",
        "bottomk(3, avg_over_time(bench_temperature[30m]))",
    ),
    (
        "count by job (count_over_time)",
        "count by (job) (count_over_time(bench_requests_total[5m]))",
    ),
];

/// Query step, seconds.
const STEP_S: i64 = 15;
/// Hours queried (the last ones of the data).
const QUERY_HOURS: i64 = 6;
/// Hours of data before the queried ones: more than the longest lookback of any query (the
/// subquery's 1 h plus its 5 m rate window), so no window sees a series start. Where a counter
/// starts inside a `rate` window, Prometheus 2.42 and 3 extrapolate differently (upstream PR
/// 13725 reordered the zero-point limit and the half-interval rule), and the answers would
/// differ there.
const LEAD_HOURS: i64 = 2;

fn env_number(name: &str, default: i64) -> i64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if !args.iter().any(|a| a == "--bench") {
        println!("query_vs_prometheus: skipped (run it with `make bench-query` or `cargo bench`)");
        return;
    }
    let filter = args.iter().find(|a| !a.starts_with("--")).cloned();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    runtime.block_on(run(filter));
}

/// Timings and agreement of one query.
struct Outcome {
    name: &'static str,
    prometheus_ms: f64,
    chorus_ms: f64,
    series: usize,
    problem: Option<String>,
}

async fn run(filter: Option<String>) {
    let hours = env_number("CHORUS_BENCH_HOURS", QUERY_HOURS + LEAD_HOURS).max(2);
    let reps = env_number("CHORUS_BENCH_REPS", 5).max(1);
    let dir = tempfile::tempdir().expect("temporary directory");
    let end_s = (common::now_ms() / 1000 - 3600) / STEP_S * STEP_S;

    let started = Instant::now();
    let om = dir.path().join("data.om");
    let data = data::write(&om, end_s, hours).expect("write the OpenMetrics data");
    let blocks = dir.path().join("blocks");
    common::create_blocks(&om, &blocks);
    let _ = std::fs::remove_file(&om);
    println!(
        "data: {} series, {} samples over {hours} h at {}s, backfilled in {:.1} s",
        data.series,
        data.samples,
        data::SCRAPE_INTERVAL_S,
        started.elapsed().as_secs_f64()
    );
    let stack = Stack::start(&blocks).await;
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(600))
        .build()
        .expect("HTTP client");
    let (start_s, end_s) = (end_s - QUERY_HOURS * 3600, data.end_ms / 1000);
    println!(
        "queries: range over the last {QUERY_HOURS} h at a {STEP_S}s step, {reps} repetitions \
         each after a checked warm-up\n"
    );
    println!(
        "{:<32} {:>10} {:>10} {:>7} {:>7}  check",
        "query", "prom ms", "chorus ms", "ratio", "series"
    );

    let mut outcomes = Vec::new();
    for &(name, expr) in QUERIES {
        if filter.as_deref().is_some_and(|f| !name.contains(f)) {
            continue;
        }
        let path = format!(
            "/api/v1/query_range?query={}&start={start_s}&end={end_s}&step={STEP_S}",
            url_encode(expr)
        );
        let prometheus_url = format!("{}{path}", stack.prometheus.url);
        let chorus_url = format!("{}{path}", stack.query.http);
        let expected = fetch(&client, &prometheus_url).await;
        let got = fetch(&client, &chorus_url).await;
        let expected = expected.and_then(|(body, _)| Matrix::parse(&body));
        let got = got.and_then(|(body, _)| Matrix::parse(&body));
        let (series, problem) = match (&expected, &got) {
            (Ok(e), Ok(g)) => (e.series(), e.difference(g).map(|d| format!("DIFFERS: {d}"))),
            (Err(e), _) => (0, Some(format!("prometheus failed: {e}"))),
            (_, Err(e)) => (0, Some(format!("chorus failed: {e}"))),
        };
        let (mut prometheus_ms, mut chorus_ms) = (Vec::new(), Vec::new());
        if problem.is_none() {
            for _ in 0..reps {
                if let Ok((_, ms)) = fetch(&client, &prometheus_url).await {
                    prometheus_ms.push(ms);
                }
                if let Ok((_, ms)) = fetch(&client, &chorus_url).await {
                    chorus_ms.push(ms);
                }
            }
        }
        let outcome = Outcome {
            name,
            prometheus_ms: median(&prometheus_ms),
            chorus_ms: median(&chorus_ms),
            series,
            problem,
        };
        print_outcome(&outcome);
        outcomes.push(outcome);
    }

    let ratios: Vec<f64> = outcomes
        .iter()
        .filter(|o| o.problem.is_none())
        .map(|o| o.chorus_ms / o.prometheus_ms)
        .collect();
    let worst = outcomes
        .iter()
        .filter(|o| o.problem.is_none())
        .max_by(|a, b| (a.chorus_ms / a.prometheus_ms).total_cmp(&(b.chorus_ms / b.prometheus_ms)));
    println!();
    println!(
        "{} of {} queries agree; median ratio chorus/prometheus {:.2}; worst {:.2} ({})",
        ratios.len(),
        outcomes.len(),
        median(&ratios),
        ratios.iter().copied().fold(f64::NAN, f64::max),
        worst.map_or("-", |o| o.name),
    );
    let mib =
        |kib: Option<u64>| kib.map_or("?".to_string(), |k| format!("{:.0} MiB", k as f64 / 1024.0));
    println!(
        "peak RSS (VmHWM): chorus query {}, prometheus {}",
        mib(peak_rss_kib(stack.query.pid())),
        mib(stack.prometheus.pid().and_then(peak_rss_kib)),
    );
}

fn print_outcome(o: &Outcome) {
    let check = o.problem.as_deref().unwrap_or("same answer");
    println!(
        "{:<32} {:>10.1} {:>10.1} {:>7.2} {:>7}  {check}",
        o.name,
        o.prometheus_ms,
        o.chorus_ms,
        o.chorus_ms / o.prometheus_ms,
        o.series
    );
}

/// GETs `url`; the body and the milliseconds until it was read in full.
async fn fetch(client: &reqwest::Client, url: &str) -> Result<(Vec<u8>, f64), String> {
    let started = Instant::now();
    let response = client.get(url).send().await.map_err(|e| e.to_string())?;
    let status = response.status();
    let body = response.bytes().await.map_err(|e| e.to_string())?;
    let ms = started.elapsed().as_secs_f64() * 1000.0;
    if !status.is_success() {
        return Err(format!("HTTP {status}: {}", String::from_utf8_lossy(&body)));
    }
    Ok((body.to_vec(), ms))
}

/// Percent-encodes everything but unreserved characters (RFC 3986).
fn url_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len() * 3);
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}
