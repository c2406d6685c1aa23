//! `histogram_quantile` over classic histograms, evaluated by the Chorus engine and by a real
//! Prometheus 2.42 holding the same backfilled buckets: monotonic buckets, buckets whose
//! cumulative counts decrease (the monotonicity fix), a histogram with negative bounds, rates,
//! aggregations and a range query must give the same numbers.

mod common;

use chorus::promql::Engine;
use chorus::promql::storage::memory::MemoryStorage;
use chorus::promql::storage::{Point, SampleValue};
use chorus::promql::value::Value;
use common::{Backfill, BackfillSeries, PrometheusOptions, PrometheusServer, now_ms};
use serde_json::Value as Json;
use shared::labels::Labels;

const STEP_S: i64 = 15;
const HOURS: i64 = 2;

/// Cumulative bucket series `name{job, le}`: at each step every bucket gets a few new
/// observations; `swap` exchanges the counts of two buckets to break monotonicity.
fn classic_histogram(
    name: &str,
    job: &str,
    bounds: &[&str],
    swap: Option<(usize, usize)>,
) -> Vec<BackfillSeries> {
    let end_s = now_ms() / 1000 - 3600;
    let start_s = end_s - HOURS * 3600;
    let times: Vec<i64> = (start_s..end_s).step_by(STEP_S as usize).collect();
    let mut per_bucket = vec![0.0; bounds.len()];
    let mut counts: Vec<Vec<(i64, f64)>> = vec![Vec::new(); bounds.len()];
    for (step, t) in times.iter().enumerate() {
        let mut cumulative = 0.0;
        for (i, own) in per_bucket.iter_mut().enumerate() {
            *own += ((step * (i + 3) * 7919 + i * 31) % 7) as f64;
            cumulative += *own;
            counts[i].push((t * 1000, cumulative));
        }
    }
    if let Some((a, b)) = swap {
        counts.swap(a, b);
    }
    bounds
        .iter()
        .zip(counts)
        .map(|(le, samples)| BackfillSeries {
            name: name.to_string(),
            labels: vec![("job".into(), job.into()), ("le".into(), (*le).into())],
            samples,
        })
        .collect()
}

fn storage(backfill: &Backfill) -> MemoryStorage {
    let mut storage = MemoryStorage::new();
    for s in &backfill.series {
        let mut pairs = vec![("__name__".to_string(), s.name.clone())];
        pairs.extend(s.labels.iter().cloned());
        let labels = Labels::from_pairs(pairs);
        for &(t_ms, v) in &s.samples {
            let value = SampleValue::Float(v);
            storage.append(&labels, Point { t_ms, value });
        }
    }
    storage
}

/// `(labels, value)` pairs of a Prometheus vector answer, sorted.
fn prometheus_vector(body: &Json) -> Vec<(String, f64)> {
    let mut out: Vec<(String, f64)> = body["data"]["result"]
        .as_array()
        .unwrap_or_else(|| panic!("a vector: {body}"))
        .iter()
        .map(|e| {
            let labels: Vec<String> = e["metric"]
                .as_object()
                .expect("metric is an object")
                .iter()
                .map(|(n, v)| format!("{n}={}", v.as_str().unwrap_or_default()))
                .collect();
            let value = e["value"][1].as_str().expect("value string");
            (labels.join(","), parse_prometheus_float(value))
        })
        .collect();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

fn parse_prometheus_float(s: &str) -> f64 {
    match s {
        "+Inf" => f64::INFINITY,
        "-Inf" => f64::NEG_INFINITY,
        other => other.parse().expect("a float"),
    }
}

fn chorus_vector(value: &Value) -> Vec<(String, f64)> {
    let Value::Vector(v) = value else {
        panic!("a vector, got {value:?}")
    };
    let mut out: Vec<(String, f64)> = v
        .iter()
        .map(|e| {
            let labels: Vec<String> = e
                .labels
                .iter()
                .map(|l| format!("{}={}", l.name, l.value))
                .collect();
            let SampleValue::Float(f) = e.value else {
                panic!("a float")
            };
            (labels.join(","), f)
        })
        .collect();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

fn assert_same(expr: &str, ours: &[(String, f64)], theirs: &[(String, f64)]) {
    assert!(!theirs.is_empty(), "{expr}: Prometheus has a result");
    let names = |v: &[(String, f64)]| v.iter().map(|(l, _)| l.clone()).collect::<Vec<_>>();
    assert_eq!(names(ours), names(theirs), "{expr}");
    for ((labels, a), (_, b)) in ours.iter().zip(theirs) {
        let close =
            a == b || (a.is_nan() && b.is_nan()) || (a - b).abs() <= 1e-9 * a.abs().max(b.abs());
        assert!(close, "{expr} {labels}: ours {a}, Prometheus {b}");
    }
}

#[tokio::test]
async fn histogram_quantile_agrees_with_prometheus() {
    let latency = ["0.05", "0.1", "0.5", "1", "5", "+Inf"];
    let mut series = classic_histogram("latency_seconds_bucket", "a", &latency, None);
    series.extend(classic_histogram(
        "latency_seconds_bucket",
        "b",
        &latency,
        Some((1, 3)),
    ));
    series.extend(classic_histogram(
        "temperature_bucket",
        "c",
        &["-10", "0", "10", "+Inf"],
        None,
    ));
    let backfill = Backfill { series };
    let prometheus = PrometheusServer::start(PrometheusOptions {
        backfill: Some(backfill.clone()),
        ..PrometheusOptions::default()
    })
    .await;
    let storage = storage(&backfill);
    let engine = Engine::default();
    // An hour into the data, 7s off the scrape grid so that Prometheus 2.42's closed range
    // windows and Prometheus 3's left-open ones hold the same samples.
    let t_ms = backfill.min_time_ms() + 3_600_000 + 7_000;
    let t_s = t_ms / 1000;
    let query = |path: String| {
        let url = format!("{}{path}", prometheus.url);
        async move {
            let text = reqwest::get(&url)
                .await
                .expect("Prometheus answers")
                .text()
                .await
                .expect("a body");
            serde_json::from_str::<Json>(&text).unwrap_or_else(|e| panic!("{url}: {e}: {text}"))
        }
    };
    let exprs = [
        "histogram_quantile(0.9, latency_seconds_bucket)",
        "histogram_quantile(0.5, rate(latency_seconds_bucket[5m]))",
        "histogram_quantile(0.99, sum by (le) (rate(latency_seconds_bucket[10m])))",
        "histogram_quantile(0.001, latency_seconds_bucket)",
        "histogram_quantile(1, latency_seconds_bucket)",
        "histogram_quantile(0.3, temperature_bucket)",
        "histogram_quantile(0.6, temperature_bucket)",
        "histogram_quantile(0.99, temperature_bucket)",
        "histogram_quantile(-1, temperature_bucket)",
    ];
    for expr in exprs {
        let encoded: String = url_encode(expr);
        let theirs =
            prometheus_vector(&query(format!("/api/v1/query?query={encoded}&time={t_s}")).await);
        let ours = engine
            .instant(&storage, expr, t_s * 1000)
            .expect("evaluates");
        assert_same(expr, &chorus_vector(&ours.value), &theirs);
    }
    // The non-monotonic histogram needed fixing; the monotonic ones did not.
    let fixed = engine
        .instant(
            &storage,
            "histogram_quantile(0.5, latency_seconds_bucket)",
            t_s * 1000,
        )
        .expect("evaluates");
    assert_eq!(fixed.infos.len(), 1, "{:?}", fixed.infos);
    assert!(
        fixed.infos[0].contains("for metric name \"latency_seconds_bucket\""),
        "{:?}",
        fixed.infos
    );

    // A range query: every step the same as Prometheus's.
    let expr = "histogram_quantile(0.75, rate(latency_seconds_bucket[5m]))";
    let (start, end) = (t_s, t_s + 1200);
    let path = format!(
        "/api/v1/query_range?query={}&start={start}&end={end}&step=60",
        url_encode(expr)
    );
    let theirs = query(path).await;
    let ours = engine
        .range(&storage, expr, start * 1000, end * 1000, 60_000)
        .expect("evaluates")
        .value;
    let theirs = theirs["data"]["result"]
        .as_array()
        .expect("a matrix")
        .clone();
    assert_eq!(ours.len(), theirs.len(), "{expr}: series");
    for series in &ours {
        let job = series.labels.get("job").expect("job label");
        let other = theirs
            .iter()
            .find(|s| s["metric"]["job"] == job)
            .unwrap_or_else(|| panic!("{expr}: job {job} at Prometheus"));
        let values = other["values"].as_array().expect("values");
        assert_eq!(series.points.len(), values.len(), "{expr} {job}: points");
        for (p, v) in series.points.iter().zip(values) {
            let SampleValue::Float(a) = p.value else {
                panic!("a float")
            };
            let b = parse_prometheus_float(v[1].as_str().expect("value string"));
            assert!(
                (a - b).abs() <= 1e-9 * a.abs().max(b.abs()),
                "{expr} {job} at {}: {a} vs {b}",
                p.t_ms
            );
        }
    }
    drop(prometheus);
}

/// Percent-encodes a query for a URL.
fn url_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}
