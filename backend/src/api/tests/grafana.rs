//! The calls Grafana's Prometheus data source makes beside queries: `/api/v1/metadata` (merged
//! store metadata with its parameters and failures), `/api/v1/query_exemplars`, `/api/v1/rules`,
//! `/api/v1/alerts` and the build info it reads the version from.

use std::collections::BTreeMap;

use super::*;
use crate::storeapi::{MetadataResponse, MetricMetadata, StoreError};

fn meta(kind: &str, help: &str, unit: &str) -> MetricMetadata {
    MetricMetadata {
        kind: kind.into(),
        help: help.into(),
        unit: unit.into(),
    }
}

fn store_with_metadata() -> FakeStore {
    FakeStore {
        metadata: MetadataResponse {
            metadata: BTreeMap::from([
                ("up".to_string(), vec![meta("gauge", "Target is up.", "")]),
                (
                    "http_request_duration_seconds".to_string(),
                    vec![meta("histogram", "Latency.", "seconds")],
                ),
                (
                    "go_goroutines".to_string(),
                    vec![meta("gauge", "Goroutines.", "")],
                ),
            ]),
            warnings: Vec::new(),
        },
        ..FakeStore::default()
    }
}

fn metadata_requests(store: &FakeStore) -> Vec<crate::storeapi::MetricMetadataRequest> {
    store
        .received()
        .into_iter()
        .filter_map(|r| match r {
            fakes::Received::Metadata(m) => Some(m),
            _ => None,
        })
        .collect()
}

#[tokio::test]
async fn metadata_is_served_in_prometheus_shape() {
    let store = Arc::new(store_with_metadata());
    let answer = get(app(store.clone()), "/api/v1/metadata").await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text());
    assert_eq!(
        answer.json(),
        json!({"status": "success", "data": {
            "go_goroutines": [{"type": "gauge", "help": "Goroutines.", "unit": ""}],
            "http_request_duration_seconds": [{"type": "histogram", "help": "Latency.", "unit": "seconds"}],
            "up": [{"type": "gauge", "help": "Target is up.", "unit": ""}],
        }})
    );
    let asked = metadata_requests(&store);
    assert_eq!(asked.len(), 1);
    assert_eq!((asked[0].metric.as_deref(), asked[0].limit), (None, None));
    assert_eq!(asked[0].partial_response, PartialResponse::Warn);
}

#[tokio::test]
async fn metadata_parameters_reach_the_store() {
    let store = Arc::new(store_with_metadata());
    let one = get(app(store.clone()), "/api/v1/metadata?metric=up")
        .await
        .json();
    assert_eq!(
        one["data"],
        json!({"up": [{"type": "gauge", "help": "Target is up.", "unit": ""}]})
    );
    let limited = get(
        app(store.clone()),
        "/api/v1/metadata?limit=2&partial_response=false",
    )
    .await
    .json();
    let names: Vec<&String> = limited["data"]
        .as_object()
        .expect("data is an object")
        .keys()
        .collect();
    assert_eq!(names, ["go_goroutines", "http_request_duration_seconds"]);
    let none = get(app(store.clone()), "/api/v1/metadata?limit=0")
        .await
        .json();
    assert_eq!(none["data"], json!({}));
    let all = get(app(store.clone()), "/api/v1/metadata?limit=-1")
        .await
        .json();
    assert_eq!(all["data"].as_object().map(|o| o.len()), Some(3));

    let asked = metadata_requests(&store);
    assert_eq!(asked[0].metric.as_deref(), Some("up"));
    assert_eq!(asked[1].limit, Some(2));
    assert_eq!(asked[1].partial_response, PartialResponse::Abort);
    assert_eq!((asked[2].limit, asked[3].limit), (Some(0), None));
}

#[tokio::test]
async fn metadata_errors_and_warnings_follow_prometheus() {
    let store = Arc::new(store_with_metadata());
    let bad = get(app(store.clone()), "/api/v1/metadata?limit=ten").await;
    assert_error(&bad, 400, "bad_data", "limit must be a number");
    assert!(
        metadata_requests(&store).is_empty(),
        "rejected before any store call"
    );

    let warned = Arc::new(FakeStore {
        warnings: vec!["fetch metric metadata from store b:1: unavailable".into()],
        ..store_with_metadata()
    });
    let answer = get(app(warned), "/api/v1/metadata?metric=up").await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(
        answer.json()["warnings"],
        json!(["fetch metric metadata from store b:1: unavailable"])
    );
    assert_eq!(
        answer
            .headers
            .get(header::CACHE_CONTROL)
            .map(|v| v.as_bytes()),
        Some(&b"no-store"[..])
    );

    let failing = Arc::new(FakeStore {
        fail_open: Some(StoreError::Aborted("store b:1 failed".into())),
        ..FakeStore::default()
    });
    let answer = get(app(failing), "/api/v1/metadata?partial_response=false").await;
    assert_error(&answer, 422, "execution", "store b:1 failed");
}

#[tokio::test]
async fn exemplars_are_an_empty_success_after_prometheus_checks() {
    let store = Arc::new(FakeStore::default());
    let ok = get(
        app(store.clone()),
        "/api/v1/query_exemplars?query=up&start=100&end=200",
    )
    .await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.text());
    assert_eq!(ok.json(), json!({"status": "success", "data": []}));
    let posted = post_form(
        app(store.clone()),
        "/api/v1/query_exemplars",
        "query=rate(http_requests_total%5B5m%5D)",
    )
    .await;
    assert_eq!(posted.json()["data"], json!([]));

    let no_selector = get(app(store.clone()), "/api/v1/query_exemplars?query=1%2B1").await;
    assert_eq!(no_selector.status, StatusCode::NO_CONTENT);

    let reversed = get(
        app(store.clone()),
        "/api/v1/query_exemplars?query=up&start=200&end=100",
    )
    .await;
    assert_error(
        &reversed,
        400,
        "bad_data",
        "end timestamp must not be before start timestamp",
    );
    let bad_time = get(
        app(store.clone()),
        "/api/v1/query_exemplars?query=up&start=x",
    )
    .await;
    assert_error(&bad_time, 400, "bad_data", "invalid parameter \"start\"");
    let bad_query = get(app(store.clone()), "/api/v1/query_exemplars?query=sum(").await;
    assert_error(&bad_query, 400, "bad_data", "parse error");
    let missing = get(app(store.clone()), "/api/v1/query_exemplars").await;
    assert_error(&missing, 400, "bad_data", "parse error");
    assert!(store.received().is_empty(), "exemplars never reach a store");
}

#[tokio::test]
async fn rules_and_alerts_are_empty_successes() {
    let store = Arc::new(FakeStore::default());
    let rules = get(app(store.clone()), "/api/v1/rules").await;
    assert_eq!(
        rules.json(),
        json!({"status": "success", "data": {"groups": []}})
    );
    for kind in ["alert", "record", "ALERT"] {
        let typed = get(app(store.clone()), &format!("/api/v1/rules?type={kind}")).await;
        assert_eq!(typed.status, StatusCode::OK, "type={kind}");
    }
    let bad = get(app(store.clone()), "/api/v1/rules?type=recording").await;
    assert_error(
        &bad,
        400,
        "bad_data",
        "invalid parameter \"type\": not supported value \"recording\"",
    );
    let alerts = get(app(store), "/api/v1/alerts").await;
    assert_eq!(
        alerts.json(),
        json!({"status": "success", "data": {"alerts": []}})
    );
}

#[tokio::test]
async fn buildinfo_reports_a_prometheus_version_and_our_own() {
    let build = get(
        app(Arc::new(FakeStore::default())),
        "/api/v1/status/buildinfo",
    )
    .await
    .json();
    let version = build["data"]["version"].as_str().unwrap_or_default();
    let parts: Vec<u32> = version
        .split('.')
        .map(|p| p.parse().expect("numeric version part"))
        .collect();
    assert_eq!(parts.len(), 3, "{version}");
    assert!(
        parts[0] >= 2 && (parts[0] > 2 || parts[1] >= 24),
        "Grafana enables match[] on label calls from Prometheus 2.24: {version}"
    );
    assert_eq!(build["data"]["chorusVersion"], env!("CARGO_PKG_VERSION"));
}

#[tokio::test]
async fn query_warnings_and_infos_reach_their_own_fields() {
    let engine = Arc::new(fakes::FakeQueryEngine {
        answer: Some(Ok(crate::api::QueryOutcome {
            value: crate::promql::value::Value::Scalar(2.0),
            warnings: vec![
                "fetch series from store b:1: unavailable".into(),
                "PromQL warning: encountered a mix of histograms and floats (1:1)".into(),
            ],
            infos: vec!["PromQL info: metric might not be a counter (1:6)".into()],
            stats: crate::api::QueryStats::default(),
        })),
        ..fakes::FakeQueryEngine::default()
    });
    let mut state = state(Arc::new(FakeStore::default()));
    state.query = engine;
    let answer = post_form(router(state, None), "/api/v1/query", "query=1%2B1").await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text());
    let body = answer.json();
    assert_eq!(
        body["warnings"],
        json!([
            "fetch series from store b:1: unavailable",
            "PromQL warning: encountered a mix of histograms and floats (1:1)"
        ])
    );
    assert_eq!(
        body["infos"],
        json!(["PromQL info: metric might not be a counter (1:6)"])
    );
}
