//! The whole data plane as a user runs it: two real Prometheus 2.42 servers holding the same
//! backfilled data with external labels `replica="a"` and `replica="b"`, a `chorus sidecar` in
//! front of each, and `chorus query` over both. Checks series, labels, label values and stores
//! through the HTTP API and the gRPC StoreAPI, with and without deduplication, and what happens
//! when a Prometheus goes away.

mod common;

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use chorus::storeapi::client::{GrpcStore, GrpcStoreConfig};
use chorus::storeapi::{ComponentType, SeriesFrame, SeriesRequest, Store};
use common::{Backfill, ChorusProcess, PrometheusOptions, PrometheusServer};
use futures::StreamExt;
use serde_json::Value;
use shared::labels::Matcher;
use shared::series::TimeRange;

const METRIC: &str = "ha_test_temperature";

/// Two Prometheus replicas, their sidecars and a querier.
struct Stack {
    prometheus: Vec<PrometheusServer>,
    sidecars: Vec<ChorusProcess>,
    query: ChorusProcess,
    backfill: Backfill,
}

impl Stack {
    async fn start() -> Self {
        let instances: [&[(&str, &str)]; 3] = [
            &[("instance", "host-1"), ("job", "node")],
            &[("instance", "host-2"), ("job", "node")],
            &[("instance", "host-3"), ("job", "api")],
        ];
        let backfill = Backfill::gauges(METRIC, &instances, 2, 15);
        let mut prometheus = Vec::new();
        let mut sidecars = Vec::new();
        for replica in ["a", "b"] {
            let server = PrometheusServer::start(PrometheusOptions {
                external_labels: vec![("replica".into(), replica.into())],
                backfill: Some(backfill.clone()),
                ..Default::default()
            })
            .await;
            let mut sidecar =
                ChorusProcess::start("sidecar", &[format!("--prometheus.url={}", server.url)]);
            sidecar.wait_ready(Duration::from_secs(30)).await;
            prometheus.push(server);
            sidecars.push(sidecar);
        }
        let mut args: Vec<String> = sidecars
            .iter()
            .map(|s| format!("--endpoint={}", s.grpc))
            .collect();
        args.push("--query.replica-label=replica".into());
        let mut query = ChorusProcess::start("query", &args);
        query.wait_ready(Duration::from_secs(30)).await;
        let stack = Self {
            prometheus,
            sidecars,
            query,
            backfill,
        };
        stack.wait_for_stores(2).await;
        stack
    }

    /// Waits until the querier reports `n` healthy sidecars.
    async fn wait_for_stores(&self, n: usize) {
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            let stores = get(&self.query.http, "/api/v1/stores").await;
            let up = stores["data"]["sidecar"]
                .as_array()
                .map(|a| a.iter().filter(|s| s["lastError"].is_null()).count())
                .unwrap_or(0);
            if up == n {
                return;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        panic!(
            "querier did not see {n} healthy sidecars: {}",
            self.query.log()
        );
    }
}

async fn get(base: &str, path: &str) -> Value {
    let (status, body) = get_status(base, path).await;
    assert_eq!(status, 200, "GET {path}: {body}");
    body
}

async fn get_status(base: &str, path: &str) -> (u16, Value) {
    let response = reqwest::get(format!("{base}{path}"))
        .await
        .expect("HTTP request");
    let status = response.status().as_u16();
    let text = response.text().await.expect("body");
    let body: Value =
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: not JSON ({e}): {text}"));
    (status, body)
}

/// The series of a `/api/v1/series` answer, as sorted `name=value` strings per series.
fn series_set(body: &Value) -> BTreeSet<Vec<String>> {
    body["data"]
        .as_array()
        .expect("data is an array")
        .iter()
        .map(|s| {
            let obj = s.as_object().expect("a series is an object");
            let mut labels: Vec<String> = obj
                .iter()
                .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or("")))
                .collect();
            labels.sort();
            labels
        })
        .collect()
}

/// Percent-encodes everything but unreserved characters.
fn form_encode(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn string_list(body: &Value) -> Vec<String> {
    body["data"]
        .as_array()
        .expect("data is an array")
        .iter()
        .map(|v| v.as_str().unwrap_or_default().to_string())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ha_pair_through_sidecars_and_querier() {
    let stack = Stack::start().await;
    let q = &stack.query.http;
    let expected_series = stack.backfill.series.len();

    // Stores: both sidecars, healthy, with their external labels and data's time range.
    let stores = get(q, "/api/v1/stores").await;
    let sidecars = stores["data"]["sidecar"]
        .as_array()
        .expect("a sidecar group");
    assert_eq!(sidecars.len(), 2, "{stores}");
    let mut replicas: Vec<&str> = sidecars
        .iter()
        .map(|s| s["labelSets"][0]["replica"].as_str().unwrap_or("?"))
        .collect();
    replicas.sort();
    assert_eq!(replicas, ["a", "b"]);
    for s in sidecars {
        assert!(s["lastError"].is_null(), "{s}");
        assert!(
            s["minTime"].as_i64().expect("minTime") <= stack.backfill.min_time_ms(),
            "{s}"
        );
    }

    // Series, deduplicated by default: one per backfilled series, without the replica label.
    let path = format!("/api/v1/series?match[]={METRIC}&start=0");
    let dedup = series_set(&get(q, &path).await);
    assert_eq!(dedup.len(), expected_series, "{dedup:?}");
    assert!(
        dedup
            .iter()
            .all(|s| !s.iter().any(|l| l.starts_with("replica="))),
        "{dedup:?}"
    );

    // dedup=false: every replica's series, with its replica label.
    let all = series_set(&get(q, &format!("{path}&dedup=false")).await);
    assert_eq!(all.len(), 2 * expected_series, "{all:?}");
    for replica in ["replica=a", "replica=b"] {
        assert_eq!(
            all.iter()
                .filter(|s| s.iter().any(|l| l == replica))
                .count(),
            expected_series
        );
    }

    // replicaLabels[] replaces the flag: with a label nobody has, nothing is deduplicated.
    let other = series_set(&get(q, &format!("{path}&replicaLabels[]=zone")).await);
    assert_eq!(other.len(), 2 * expected_series);

    // POST form works as GET does.
    let form = format!(
        "match[]={}&start=0",
        form_encode(&format!("{METRIC}{{job=\"node\"}}"))
    );
    let posted = reqwest::Client::new()
        .post(format!("{q}/api/v1/series"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form)
        .send()
        .await
        .expect("POST")
        .text()
        .await
        .expect("body");
    let posted: Value = serde_json::from_str(&posted).expect("JSON");
    assert_eq!(series_set(&posted).len(), 2);

    // Labels and values: the replica label is a real label of the stored series.
    let names = string_list(&get(q, "/api/v1/labels?start=0").await);
    for name in ["__name__", "instance", "job", "replica"] {
        assert!(names.contains(&name.to_string()), "{names:?}");
    }
    assert_eq!(
        string_list(&get(q, "/api/v1/label/replica/values?start=0").await),
        ["a", "b"]
    );
    assert_eq!(
        string_list(&get(q, "/api/v1/label/instance/values?start=0").await),
        ["host-1", "host-2", "host-3"]
    );
    let jobs = string_list(
        &get(
            q,
            &format!("/api/v1/label/instance/values?start=0&match[]={METRIC}{{job=\"api\"}}"),
        )
        .await,
    );
    assert_eq!(jobs, ["host-3"]);

    // Bad input: a clear Prometheus error, not a crash.
    let (status, body) = get_status(q, "/api/v1/series?match[]=up{job=").await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["errorType"], "bad_data");
    let (status, body) = get_status(q, "/api/v1/labels?start=yesterday").await;
    assert_eq!(status, 400, "{body}");

    // gRPC: the querier is itself a store (component query, replica labels removed).
    let store =
        GrpcStore::new(stack.query.grpc.to_string(), GrpcStoreConfig::default()).expect("address");
    let info = store.info().await.expect("querier info");
    assert_eq!(info.component, ComponentType::Query);
    assert!(
        info.label_sets.iter().all(|l| !l.contains("replica")),
        "{:?}",
        info.label_sets
    );
    let matchers = vec![Matcher::equal("__name__", METRIC)];
    let mut request = SeriesRequest::new(TimeRange::ALL, matchers.clone());
    let raw = collect_series(&store, request.clone()).await;
    assert_eq!(raw.len(), 2 * expected_series);
    request.without_replica_labels = vec!["replica".into()];
    let deduplicated = collect_series(&store, request).await;
    assert_eq!(deduplicated.len(), expected_series);
    assert!(
        deduplicated
            .iter()
            .all(|s| !s.labels.contains("replica") && !s.chunks.is_empty())
    );

    // A sidecar through gRPC: chunks present, external label added.
    let sidecar = GrpcStore::new(
        stack.sidecars[0].grpc.to_string(),
        GrpcStoreConfig::default(),
    )
    .expect("address");
    let info = sidecar.info().await.expect("sidecar info");
    assert_eq!(info.component, ComponentType::Sidecar);
    let series = collect_series(&sidecar, SeriesRequest::new(TimeRange::ALL, matchers)).await;
    assert_eq!(series.len(), expected_series);
    assert!(
        series
            .iter()
            .all(|s| s.labels.get("replica").is_some() && !s.chunks.is_empty())
    );

    check_promql(&stack).await;
    check_format_query(&stack).await;

    // The querier's own /metrics counted the requests above.
    let metrics = reqwest::get(format!("{q}/metrics"))
        .await
        .expect("metrics")
        .text()
        .await
        .expect("text");
    assert!(metrics.contains("chorus_http_requests_total"), "{metrics}");
    drop(stack);
}

/// `/api/v1/query` on the querier answers as a real Prometheus does for the same data (both
/// replicas hold identical samples), deduplicated; a bad expression is a 400.
async fn check_promql(stack: &Stack) {
    let q = &stack.query.http;
    let prometheus = &stack.prometheus[0].url;
    // Half an hour after the first backfilled sample, where both replicas have the same samples;
    // 7s off the 15s scrape grid, so Prometheus 2.42's closed range windows and Prometheus 3's
    // left-open ones (which Chorus follows) hold the same samples.
    let t_s = (stack.backfill.min_time_ms() + 30 * 60_000 + 7_000) / 1000;
    for expr in [
        METRIC.to_string(),
        format!("sum({METRIC})"),
        format!("sum by (job) (rate({METRIC}[5m]))"),
    ] {
        let path = format!("/api/v1/query?query={}&time={t_s}", form_encode(&expr));
        let ours = get(q, &path).await;
        let theirs = get(prometheus, &path).await;
        assert_eq!(ours["data"]["resultType"], "vector", "{expr}: {ours}");
        let (ours, theirs) = (vector_values(&ours), vector_values(&theirs));
        assert!(!theirs.is_empty(), "{expr}: Prometheus has data");
        assert_eq!(
            ours.iter().map(|(m, _)| m).collect::<Vec<_>>(),
            theirs.iter().map(|(m, _)| m).collect::<Vec<_>>(),
            "{expr}"
        );
        for ((metric, a), (_, b)) in ours.iter().zip(&theirs) {
            let tolerance = 1e-9 * a.abs().max(b.abs());
            assert!((a - b).abs() <= tolerance, "{expr} {metric}: {a} vs {b}");
        }
    }
    // A range query: the same points as Prometheus's.
    let path = format!(
        "/api/v1/query_range?query={}&start={}&end={}&step=60",
        form_encode(&format!("sum by (job) ({METRIC})")),
        t_s,
        t_s + 600
    );
    let (ours, theirs) = (get(q, &path).await, get(prometheus, &path).await);
    assert_eq!(ours["data"]["resultType"], "matrix", "{ours}");
    assert_eq!(ours["data"], theirs["data"], "range query");

    // Without dedup each replica's series comes back, with its replica label.
    let path = format!("/api/v1/query?query={METRIC}&time={t_s}&dedup=false");
    let all = vector_values(&get(q, &path).await);
    assert_eq!(all.len(), 2 * stack.backfill.series.len(), "{all:?}");
    assert!(all.iter().all(|(m, _)| m.contains("replica=")), "{all:?}");

    let (status, body) = get_status(q, "/api/v1/query?query=sum(").await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["errorType"], "bad_data", "{body}");
}

/// `/api/v1/format_query` lays expressions out as the real Prometheus does, line for line, and
/// words a parse error the same way.
async fn check_format_query(stack: &Stack) {
    let q = &stack.query.http;
    let prometheus = &stack.prometheus[0].url;
    for expr in [
        "sum by(job) (rate(http_requests_total{job=\"api\",code=~\"5..\"}[5m])) / sum by(job) (rate(http_requests_total{job=\"api\"}[5m])) > 0.05",
        "histogram_quantile(0.99, sum by (le, job, instance, method, code) (rate(http_request_duration_seconds_bucket{job=\"api\", method=\"GET\"}[5m])))",
        "topk(10, sum without (instance) (rate(container_cpu_usage_seconds_total{namespace=\"production\", container!=\"\"}[5m])) * on (pod) group_left(node) kube_pod_info)",
        "-max_over_time(rate(a_counter_with_a_really_quite_long_name_for_this_test_total[1m])[10m:] offset 1m) - 1",
        "(((first_long_metric_name_for_formatting + second_long_metric_name_for_formatting) * 3) ^ 2) % 7 == bool 1",
    ] {
        let path = format!("/api/v1/format_query?query={}", form_encode(expr));
        let (ours, theirs) = (get(q, &path).await, get(prometheus, &path).await);
        assert_eq!(ours["data"], theirs["data"], "{expr}");
        assert!(
            ours["data"].as_str().is_some_and(|s| s.contains('\n')),
            "{ours}"
        );
    }
    let path = "/api/v1/format_query?query=sum(x)%20by";
    let (ours, theirs) = (
        get_status(q, path).await,
        get_status(prometheus, path).await,
    );
    assert_eq!(ours, theirs, "parse error");
}

/// `(metric as sorted name=value text, value)` of each element of a vector answer, sorted.
fn vector_values(body: &Value) -> Vec<(String, f64)> {
    let mut values: Vec<(String, f64)> = body["data"]["result"]
        .as_array()
        .expect("result is an array")
        .iter()
        .map(|e| {
            let metric = e["metric"].as_object().expect("metric is an object");
            let mut labels: Vec<String> = metric
                .iter()
                .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or("")))
                .collect();
            labels.sort();
            let value = e["value"][1].as_str().expect("value string");
            (labels.join(","), value.parse().expect("a float"))
        })
        .collect();
    values.sort_by(|a, b| a.0.cmp(&b.0));
    values
}

async fn collect_series(
    store: &GrpcStore,
    request: SeriesRequest,
) -> Vec<chorus::storeapi::Series> {
    let mut stream = store.series(request).await.expect("series call");
    let mut out = Vec::new();
    while let Some(frame) = stream.next().await {
        match frame.expect("series frame") {
            SeriesFrame::Series(s) => out.push(s),
            SeriesFrame::Warning(w) => panic!("unexpected warning {w}"),
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_prometheus_that_goes_away() {
    let mut stack = Stack::start().await;
    let q = stack.query.http.clone();
    let down = stack.sidecars[1].grpc;
    stack.prometheus[1].stop();
    let path = format!("/api/v1/series?match[]={METRIC}&start=0&dedup=false");

    // Partial response (the default): the healthy replica's series, and a warning naming the
    // failing store.
    let (status, body) = get_status(&q, &path).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        series_set(&body).len(),
        stack.backfill.series.len(),
        "{body}"
    );
    let warnings = body["warnings"]
        .as_array()
        .map(|w| w.iter().map(|w| w.to_string()).collect::<Vec<_>>())
        .unwrap_or_default();
    assert!(
        warnings.iter().any(|w| w.contains(&down.to_string())),
        "warnings {warnings:?} should name {down}"
    );

    // Without partial response the request fails, naming the store.
    let (status, body) = get_status(&q, &format!("{path}&partial_response=false")).await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["errorType"], "execution");
    assert!(
        body["error"]
            .as_str()
            .unwrap_or("")
            .contains(&down.to_string()),
        "{body}"
    );

    // A sidecar that goes away is reported as down, not hidden.
    stack.sidecars[1].kill();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let stores = get(&q, "/api/v1/stores").await;
        let sidecars = stores["data"]["sidecar"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        let dead = sidecars
            .iter()
            .find(|s| s["name"] == down.to_string())
            .map(|s| !s["lastError"].is_null());
        if dead == Some(true) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the dead sidecar was not reported: {stores}"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    stack.prometheus.clear();
}
