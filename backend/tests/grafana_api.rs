//! What Grafana's Prometheus data source does, against a real `chorus query` over real
//! `chorus sidecar`s over two real Prometheus 2.42 replicas (external labels `replica="a"` and
//! `"b"`, each scraping itself so it holds metric metadata, plus backfilled gauges):
//! the `1+1` health check, a panel query with its PromQL info, label names and values with
//! `match[]`, series, metric metadata
//! compared with Prometheus's own, build info, and the empty rules, alerts and exemplars
//! answers. Then the engine flags: a querier with a tiny `--query.max-samples` fails a range
//! query with HTTP 422 and exactly the error a real Prometheus with the same limit gives, and
//! `--query.lookback-delta` decides how old a sample an instant query still sees.

mod common;

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use common::{Backfill, ChorusProcess, PrometheusOptions, PrometheusServer, form_encode};
use serde_json::{Value, json};

const METRIC: &str = "grafana_test_temperature";
/// A metric every Prometheus exposes about itself, with stable metadata.
const SELF_METRIC: &str = "prometheus_build_info";
/// The `--query.max-samples` of the limited querier and of replica `a`.
const MAX_SAMPLES: u64 = 10;

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
            // Replica a also gets the sample limit, to compare its error with the querier's.
            let extra_args = if replica == "a" {
                vec![format!("--query.max-samples={MAX_SAMPLES}")]
            } else {
                Vec::new()
            };
            let server = PrometheusServer::start(PrometheusOptions {
                external_labels: vec![("replica".into(), replica.into())],
                backfill: Some(backfill.clone()),
                scrape_self: Some(Duration::from_secs(1)),
                extra_args,
                ..PrometheusOptions::default()
            })
            .await;
            let mut sidecar =
                ChorusProcess::start("sidecar", &[format!("--prometheus.url={}", server.url)]);
            sidecar.wait_ready(Duration::from_secs(30)).await;
            prometheus.push(server);
            sidecars.push(sidecar);
        }
        let query = querier(&sidecars, &[]).await;
        let stack = Self {
            prometheus,
            sidecars,
            query,
            backfill,
        };
        for server in &stack.prometheus {
            wait_for_metadata(&server.url).await;
        }
        stack
    }
}

/// A querier over `sidecars` with `--query.replica-label=replica` and `extra` flags, once it
/// sees every sidecar healthy.
async fn querier(sidecars: &[ChorusProcess], extra: &[String]) -> ChorusProcess {
    let mut args: Vec<String> = sidecars
        .iter()
        .map(|s| format!("--endpoint={}", s.grpc))
        .collect();
    args.push("--query.replica-label=replica".into());
    args.extend(extra.iter().cloned());
    let mut query = ChorusProcess::start("query", &args);
    query.wait_ready(Duration::from_secs(30)).await;
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        let stores = get(&query.http, "/api/v1/stores").await.1;
        let up = stores["data"]["sidecar"]
            .as_array()
            .map_or(0, |a| a.iter().filter(|s| s["lastError"].is_null()).count());
        if up == sidecars.len() {
            return query;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    panic!("querier did not see the sidecars: {}", query.log());
}

/// Waits until Prometheus at `url` has scraped itself (so it has metadata for [`SELF_METRIC`]).
async fn wait_for_metadata(url: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        let (_, body) = get(url, &format!("/api/v1/metadata?metric={SELF_METRIC}")).await;
        if body["data"][SELF_METRIC].is_array() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    panic!("prometheus at {url} has no metadata for {SELF_METRIC}");
}

async fn get(base: &str, path: &str) -> (u16, Value) {
    let response = reqwest::get(format!("{base}{path}"))
        .await
        .expect("HTTP request");
    answer(path, response).await
}

/// POSTs a form, as Grafana does for queries (its default HTTP method).
async fn post(base: &str, path: &str, form: &[(&str, &str)]) -> (u16, Value) {
    let body: Vec<String> = form
        .iter()
        .map(|(k, v)| format!("{}={}", form_encode(k), form_encode(v)))
        .collect();
    let response = reqwest::Client::new()
        .post(format!("{base}{path}"))
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(body.join("&"))
        .send()
        .await
        .expect("HTTP request");
    answer(path, response).await
}

async fn answer(path: &str, response: reqwest::Response) -> (u16, Value) {
    let status = response.status().as_u16();
    let text = response.text().await.expect("body");
    if text.is_empty() {
        return (status, Value::Null);
    }
    let body =
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: not JSON ({e}): {text}"));
    (status, body)
}

fn ok(path: &str, (status, body): (u16, Value)) -> Value {
    assert_eq!(status, 200, "{path}: {body}");
    assert_eq!(body["status"], "success", "{path}: {body}");
    body
}

fn strings(value: &Value) -> BTreeSet<String> {
    value
        .as_array()
        .unwrap_or_else(|| panic!("not an array: {value}"))
        .iter()
        .map(|v| v.as_str().expect("a string").to_string())
        .collect()
}

#[tokio::test]
async fn grafana_data_source_calls_work_like_prometheus() {
    let stack = Stack::start().await;
    let chorus = stack.query.http.as_str();
    let prom = stack.prometheus[0].url.as_str();

    // Health check ("Save & test"): an instant query of 1+1 by POST.
    let health = ok(
        "query",
        post(chorus, "/api/v1/query", &[("query", "1+1")]).await,
    );
    assert_eq!(health["data"]["resultType"], "scalar");
    assert_eq!(health["data"]["result"][1], "2");
    assert!(health.get("warnings").is_none() && health.get("infos").is_none());

    // A panel query: PromQL infos come in their own field (Prometheus 3), positioned.
    let start_s = stack.backfill.min_time_ms() / 1000;
    let at = (start_s + 1800).to_string();
    let rate = format!("rate({METRIC}[5m])");
    let panel = ok(
        "query",
        post(chorus, "/api/v1/query", &[("query", &rate), ("time", &at)]).await,
    );
    assert_eq!(panel["data"]["result"].as_array().map(Vec::len), Some(3));
    assert_eq!(
        panel["infos"],
        json!([format!(
            "PromQL info: metric might not be a counter, name does not end in _total/_sum/_count/_bucket: \"{METRIC}\" (1:6)"
        )])
    );

    // The metric browser and label filters: labels and values limited by match[].
    let end_s = start_s + 3600;
    let window = format!("start={start_s}&end={end_s}");
    let selector = form_encode(&format!("{METRIC}{{job=\"node\"}}"));
    let labels_path = format!("/api/v1/labels?{window}&match[]={selector}");
    let ours = strings(&ok("labels", get(chorus, &labels_path).await)["data"]);
    let theirs = strings(&ok("labels", get(prom, &labels_path).await)["data"]);
    let mut expected = theirs.clone();
    expected.insert("replica".into()); // the external label, which the sidecar attaches
    assert_eq!(ours, expected);
    assert!(ours.contains("instance") && !ours.contains("goversion"));

    let values_path = format!("/api/v1/label/instance/values?{window}&match[]={selector}");
    let ours = strings(&ok("values", get(chorus, &values_path).await)["data"]);
    let theirs = strings(&ok("values", get(prom, &values_path).await)["data"]);
    assert_eq!(ours, theirs);
    assert_eq!(ours, BTreeSet::from(["host-1".into(), "host-2".into()]));

    let names = strings(&ok("names", get(chorus, "/api/v1/label/__name__/values").await)["data"]);
    assert!(
        names.contains(METRIC) && names.contains(SELF_METRIC),
        "{names:?}"
    );

    let series = ok(
        "series",
        post(
            chorus,
            "/api/v1/series",
            &[
                ("match[]", &format!("{METRIC}{{job=\"api\"}}")),
                ("start", &start_s.to_string()),
                ("end", &end_s.to_string()),
            ],
        )
        .await,
    );
    assert_eq!(
        series["data"],
        json!([{"__name__": METRIC, "instance": "host-3", "job": "api"}]),
        "deduplicated: no replica label"
    );

    // Metric metadata: the same as Prometheus's own, for one metric and for all of them.
    let one = format!("/api/v1/metadata?metric={SELF_METRIC}");
    let ours = ok("metadata", get(chorus, &one).await);
    let theirs = ok("metadata", get(prom, &one).await);
    assert_eq!(ours["data"], theirs["data"]);
    assert_eq!(ours["data"][SELF_METRIC][0]["type"], "gauge");
    let theirs = ok("metadata", get(prom, "/api/v1/metadata").await);
    let ours = ok("metadata", get(chorus, "/api/v1/metadata").await);
    let theirs = theirs["data"].as_object().expect("an object");
    assert!(theirs.len() > 20, "Prometheus describes its own metrics");
    for (metric, metas) in theirs {
        assert_eq!(&ours["data"][metric], metas, "metadata of {metric}");
    }
    let limited = ok("metadata", get(chorus, "/api/v1/metadata?limit=3").await);
    assert_eq!(limited["data"].as_object().map(|o| o.len()), Some(3));
    let (status, bad) = get(chorus, "/api/v1/metadata?limit=many").await;
    assert_eq!(
        (status, bad["error"].as_str()),
        (400, Some("limit must be a number"))
    );

    // Build info: a Prometheus version Grafana can parse, and ours beside it.
    let build = ok("buildinfo", get(chorus, "/api/v1/status/buildinfo").await);
    let version = build["data"]["version"].as_str().expect("a version");
    let major: u32 = version
        .split('.')
        .next()
        .and_then(|m| m.parse().ok())
        .expect("x.y.z");
    assert!(major >= 2, "{version}");
    assert!(build["data"]["chorusVersion"].is_string());

    // Rules, alerts and exemplars: empty successes, as from a Prometheus without any.
    for path in ["/api/v1/rules", "/api/v1/alerts"] {
        assert_eq!(
            ok(path, get(chorus, path).await),
            ok(path, get(prom, path).await),
            "{path}"
        );
    }
    let exemplars = format!("/api/v1/query_exemplars?query={METRIC}&{window}");
    assert_eq!(
        ok("exemplars", get(chorus, &exemplars).await),
        ok("exemplars", get(prom, &exemplars).await)
    );
    let no_selector = "/api/v1/query_exemplars?query=1%2B1";
    assert_eq!(get(chorus, no_selector).await.0, 204);
    assert_eq!(get(prom, no_selector).await.0, 204);
}

#[tokio::test]
async fn engine_flags_max_samples_and_lookback_delta_take_effect() {
    let stack = Stack::start().await;
    let limited = querier(
        &stack.sidecars,
        &[format!("--query.max-samples={MAX_SAMPLES}")],
    )
    .await;
    let start_s = stack.backfill.min_time_ms() / 1000;
    let form = [
        ("query", METRIC),
        ("start", &start_s.to_string()),
        ("end", &(start_s + 3600).to_string()),
        ("step", "60"),
    ];
    let (status, ours) = post(&limited.http, "/api/v1/query_range", &form).await;
    let (prom_status, theirs) = post(&stack.prometheus[0].url, "/api/v1/query_range", &form).await;
    assert_eq!((status, prom_status), (422, 422), "{ours} / {theirs}");
    assert_eq!(ours, theirs);
    assert_eq!(
        ours["error"],
        "query processing would load too many samples into memory in query execution"
    );

    // Queries under the limit still work; the unlimited querier answers the big one.
    let (status, small) = post(&limited.http, "/api/v1/query", &[("query", "1+1")]).await;
    assert_eq!(status, 200, "{small}");
    let (status, full) = post(&stack.query.http, "/api/v1/query_range", &form).await;
    assert_eq!(status, 200, "{full}");
    assert_eq!(full["data"]["result"].as_array().map(Vec::len), Some(3));

    // --query.lookback-delta: the backfill ends an hour ago, so only a lookback longer than
    // that still sees its series at the current time.
    let long = querier(&stack.sidecars, &["--query.lookback-delta=2h".to_string()]).await;
    let count = [("query", &*format!("count({METRIC})"))];
    let seen = ok("query", post(&long.http, "/api/v1/query", &count).await);
    assert_eq!(seen["data"]["result"][0]["value"][1], "3", "{seen}");
    let unseen = ok(
        "query",
        post(&stack.query.http, "/api/v1/query", &count).await,
    );
    assert_eq!(
        unseen["data"]["result"],
        json!([]),
        "default lookback is 5m"
    );
}
