//! Handler tests: every endpoint through `router()` with `oneshot`, over an in-memory store
//! that records the requests it gets, plus one test over a real listener.

mod fakes;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode, header};
use fakes::{FakeEndpoints, FakeStore, Received, replicated_store};
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;
use tower::ServiceExt as _;

use super::*;
use crate::storeapi::{LabelNamesRequest, SeriesRequest, StoreError};
fn state(store: Arc<FakeStore>) -> ApiState {
    ApiState {
        store,
        endpoints: Arc::new(FakeEndpoints { ready: true }),
        replica_labels: vec!["replica".into()],
        partial_response: PartialResponse::Warn,
        flags: BTreeMap::from([("query.replica-label".to_string(), "replica".to_string())]),
        metrics: Arc::new(Metrics::new()),
        query_timeout: Duration::from_secs(5),
        route_prefix: String::new(),
    }
}

fn app(store: Arc<FakeStore>) -> Router {
    router(state(store), None)
}

struct Answer {
    status: StatusCode,
    headers: HeaderMap,
    body: Vec<u8>,
}

impl Answer {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {:?}", String::from_utf8_lossy(&self.body)))
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

async fn send(router: Router, request: Request<Body>) -> Answer {
    let response = router.oneshot(request).await.expect("router is infallible");
    let (parts, body) = response.into_parts();
    let body = axum::body::to_bytes(body, usize::MAX)
        .await
        .expect("body completes")
        .to_vec();
    Answer {
        status: parts.status,
        headers: parts.headers,
        body,
    }
}

async fn get(router: Router, uri: &str) -> Answer {
    send(
        router,
        Request::get(uri)
            .body(Body::empty())
            .expect("valid request"),
    )
    .await
}

async fn post_form(router: Router, uri: &str, form: &str) -> Answer {
    let request = Request::post(uri)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(form.to_string()))
        .expect("valid request");
    send(router, request).await
}

fn series_requests(store: &FakeStore) -> Vec<SeriesRequest> {
    store
        .received()
        .into_iter()
        .filter_map(|r| match r {
            Received::Series(s) => Some(s),
            _ => None,
        })
        .collect()
}

fn assert_error(answer: &Answer, status: u16, error_type: &str, message: &str) {
    assert_eq!(answer.status.as_u16(), status, "{}", answer.text());
    let body = answer.json();
    assert_eq!(body["status"], "error");
    assert_eq!(body["errorType"], error_type);
    let error = body["error"].as_str().unwrap_or_default();
    assert!(
        error.contains(message),
        "{error:?} does not contain {message:?}"
    );
}

#[tokio::test]
async fn series_dedups_by_default_with_the_flag_replica_labels() {
    let store = Arc::new(replicated_store());
    let answer = get(app(store.clone()), "/api/v1/series?match[]=up").await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(
        answer.json(),
        json!({"status": "success", "data": [
            {"__name__": "up", "job": "api"},
            {"__name__": "up", "job": "db"},
        ]})
    );
    let requests = series_requests(&store);
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].without_replica_labels, ["replica"]);
    assert!(requests[0].skip_chunks);
    assert_eq!(requests[0].partial_response, PartialResponse::Warn);
    assert_eq!(requests[0].limit, None);
    assert_eq!(
        (requests[0].range.min_ms(), requests[0].range.max_ms()),
        (params::MIN_TIME_MS, params::MAX_TIME_MS)
    );
}

#[tokio::test]
async fn series_without_dedup_keeps_replicas() {
    let store = Arc::new(replicated_store());
    let answer = get(app(store.clone()), "/api/v1/series?match[]=up&dedup=false").await;
    assert_eq!(answer.json()["data"].as_array().map(Vec::len), Some(4));
    assert!(series_requests(&store)[0].without_replica_labels.is_empty());
}

#[tokio::test]
async fn replica_labels_parameter_replaces_the_flag() {
    let store = Arc::new(replicated_store());
    get(
        app(store.clone()),
        "/api/v1/series?match[]=up&replicaLabels[]=rule_replica&replicaLabels[]=r2",
    )
    .await;
    assert_eq!(
        series_requests(&store)[0].without_replica_labels,
        ["rule_replica", "r2"]
    );
}

#[tokio::test]
async fn series_by_post_form_with_times_and_several_selectors() {
    let store = Arc::new(replicated_store());
    let form = "match[]=errors_total&match[]=%7Bjob%3D%22db%22%7D&start=1.5&end=2026-01-01T00:00:00Z&partial_response=0";
    let answer = post_form(app(store.clone()), "/api/v1/series", form).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text());
    assert_eq!(
        answer.json()["data"],
        json!([{"__name__": "errors_total", "job": "api"}, {"__name__": "up", "job": "db"}])
    );
    let requests = series_requests(&store);
    assert_eq!(requests.len(), 2);
    assert_eq!(requests[0].range.min_ms(), 1500);
    assert_eq!(requests[0].range.max_ms(), 1_767_225_600_000);
    assert_eq!(requests[0].partial_response, PartialResponse::Abort);
}

#[tokio::test]
async fn series_limit_truncates_with_a_warning() {
    let store = Arc::new(replicated_store());
    let answer = get(
        app(store.clone()),
        "/api/v1/series?match[]=%7Breplica%3D~%22.%2B%22%7D&dedup=false&limit=2",
    )
    .await;
    let body = answer.json();
    assert_eq!(body["data"].as_array().map(Vec::len), Some(2), "{body}");
    assert_eq!(body["warnings"], json!(["results truncated due to limit"]));
    assert_eq!(series_requests(&store)[0].limit, Some(3));
}

#[tokio::test]
async fn series_passes_store_warnings_after_the_data() {
    let store = Arc::new(FakeStore {
        warnings: vec!["fetch series from store 10.0.0.1:10901: down".into()],
        ..replicated_store()
    });
    let answer = get(app(store), "/api/v1/series?match[]=up").await;
    let text = answer.text();
    assert!(text.find("\"data\"") < text.find("\"warnings\""), "{text}");
    assert_eq!(
        answer.json()["warnings"],
        json!(["fetch series from store 10.0.0.1:10901: down"])
    );
}

#[tokio::test]
async fn series_warned_before_streaming_is_not_cached() {
    let store = Arc::new(FakeStore {
        warnings: vec!["store b down".into()],
        ..replicated_store()
    });
    let answer = get(app(store), "/api/v1/series?match[]=nothing").await;
    assert_eq!(
        answer.json(),
        json!({"status": "success", "data": [], "warnings": ["store b down"]})
    );
    assert_eq!(
        answer
            .headers
            .get(header::CACHE_CONTROL)
            .map(|v| v.as_bytes()),
        Some(&b"no-store"[..])
    );
}

#[tokio::test]
async fn series_with_no_result_is_an_empty_list() {
    let answer = get(
        app(Arc::new(replicated_store())),
        "/api/v1/series?match[]=nothing",
    )
    .await;
    assert_eq!(answer.json(), json!({"status": "success", "data": []}));
}

#[tokio::test]
async fn series_errors() {
    let store = Arc::new(replicated_store());
    let cases = [
        ("/api/v1/series", "no match[] parameter provided"),
        (
            "/api/v1/series?match[]=up%7B",
            "1:4: parse error: unexpected end of input inside braces",
        ),
        (
            "/api/v1/series?match[]=%7Bjob%3D%22%22%7D",
            "match[] must contain at least one non-empty matcher",
        ),
        (
            "/api/v1/series?match[]=up&start=x",
            "invalid parameter \"start\": cannot parse \"x\" to a valid timestamp",
        ),
        (
            "/api/v1/series?match[]=up&start=10&end=5",
            "end timestamp must not be before start time",
        ),
        (
            "/api/v1/series?match[]=up&limit=-1",
            "limit must be non-negative",
        ),
        (
            "/api/v1/series?match[]=up&dedup=maybe",
            "invalid parameter \"dedup\"",
        ),
    ];
    for (uri, message) in cases {
        assert_error(
            &get(app(store.clone()), uri).await,
            400,
            "bad_data",
            message,
        );
    }
}

#[tokio::test]
async fn aborted_store_is_an_execution_error_naming_the_store() {
    let failure =
        StoreError::Aborted("fetch series from store 10.0.0.1:10901: connection refused".into());
    let opening = Arc::new(FakeStore {
        fail_open: Some(failure.clone()),
        ..replicated_store()
    });
    let answer = get(
        app(opening.clone()),
        "/api/v1/series?match[]=up&partial_response=false",
    )
    .await;
    assert_error(&answer, 422, "execution", "10.0.0.1:10901");
    assert_eq!(
        series_requests(&opening)[0].partial_response,
        PartialResponse::Abort
    );

    let streaming = Arc::new(FakeStore {
        fail_first_frame: Some(failure.clone()),
        ..replicated_store()
    });
    assert_error(
        &get(app(streaming), "/api/v1/series?match[]=up").await,
        422,
        "execution",
        "10.0.0.1:10901",
    );

    let labels = Arc::new(FakeStore {
        fail_open: Some(failure),
        ..replicated_store()
    });
    assert_error(
        &get(app(labels), "/api/v1/labels").await,
        422,
        "execution",
        "10.0.0.1:10901",
    );
}

#[tokio::test]
async fn store_deadline_and_cancellation_are_503() {
    let deadline = Arc::new(FakeStore {
        fail_open: Some(StoreError::DeadlineExceeded("slow".into())),
        ..FakeStore::default()
    });
    assert_error(
        &get(app(deadline), "/api/v1/labels").await,
        503,
        "timeout",
        "slow",
    );
    let cancelled = Arc::new(FakeStore {
        fail_open: Some(StoreError::Cancelled("gone".into())),
        ..FakeStore::default()
    });
    assert_error(
        &get(app(cancelled), "/api/v1/label/job/values").await,
        503,
        "canceled",
        "gone",
    );
}

#[tokio::test]
async fn query_timeout_is_503_timeout() {
    for uri in [
        "/api/v1/series?match[]=up",
        "/api/v1/labels",
        "/api/v1/label/job/values",
    ] {
        let store = Arc::new(FakeStore {
            stall: true,
            ..replicated_store()
        });
        let mut state = state(store);
        state.query_timeout = Duration::from_millis(50);
        assert_error(
            &get(router(state, None), uri).await,
            503,
            "timeout",
            "timed out after 50ms",
        );
    }
}

#[tokio::test]
async fn label_names_include_replica_labels_and_unite_selectors() {
    let store = Arc::new(replicated_store());
    let answer = get(app(store.clone()), "/api/v1/labels").await;
    assert_eq!(
        answer.json(),
        json!({"status": "success", "data": ["__name__", "job", "replica"]})
    );
    let answer = post_form(
        app(store.clone()),
        "/api/v1/labels",
        "match[]=errors_total&match[]=up&limit=5",
    )
    .await;
    assert_eq!(answer.json()["data"], json!(["__name__", "job", "replica"]));
    let names: Vec<LabelNamesRequest> = store
        .received()
        .into_iter()
        .filter_map(|r| match r {
            Received::Names(n) => Some(n),
            _ => None,
        })
        .collect();
    assert_eq!(names.len(), 3);
    assert!(names.iter().all(|n| n.without_replica_labels.is_empty()));
    assert_eq!(names[1].limit, Some(6));
    assert_eq!(names[0].matchers.len(), 0);
}

#[tokio::test]
async fn label_values_of_name_and_escaped_names() {
    let store = Arc::new(FakeStore::with_series(&[
        &[("__name__", "up"), ("foo.bar", "x")],
        &[("__name__", "http.requests"), ("foo.bar", "y")],
    ]));
    let answer = get(app(store.clone()), "/api/v1/label/__name__/values").await;
    assert_eq!(
        answer.json(),
        json!({"status": "success", "data": ["http.requests", "up"]})
    );
    let answer = get(
        app(store.clone()),
        "/api/v1/label/U__foo_2e_bar/values?match[]=%7B%22http.requests%22%7D",
    )
    .await;
    assert_eq!(answer.json()["data"], json!(["y"]));
    let last = store.received().pop();
    assert!(
        matches!(last, Some(Received::Values(v)) if v.label == "foo.bar" && v.matchers.len() == 1)
    );
}

#[tokio::test]
async fn label_limit_and_warnings() {
    let store = Arc::new(FakeStore {
        warnings: vec!["store b down".into()],
        ..replicated_store()
    });
    let answer = get(app(store), "/api/v1/label/job/values?limit=1").await;
    assert_eq!(
        answer.json(),
        json!({"status": "success", "data": ["api"], "warnings": ["store b down", "results truncated due to limit"]})
    );
    assert_eq!(
        answer
            .headers
            .get(header::CACHE_CONTROL)
            .map(|v| v.as_bytes()),
        Some(&b"no-store"[..])
    );
}

#[tokio::test]
async fn label_errors() {
    let store = Arc::new(replicated_store());
    assert_error(
        &get(app(store.clone()), "/api/v1/labels?match[]=%7B").await,
        400,
        "bad_data",
        "1:2: parse error",
    );
    assert_error(
        &get(app(store.clone()), "/api/v1/labels?end=abc").await,
        400,
        "bad_data",
        "invalid parameter \"end\"",
    );
    assert_error(
        &get(app(store.clone()), "/api/v1/label/U__/values").await,
        400,
        "bad_data",
        "invalid label name",
    );
    assert_error(
        &get(app(store), "/api/v1/label/job/values?limit=x").await,
        400,
        "bad_data",
        "invalid parameter \"limit\"",
    );
}

#[tokio::test]
async fn unknown_api_path_is_json_404() {
    assert_error(
        &get(app(Arc::new(FakeStore::default())), "/api/v1/nope").await,
        404,
        "not_found",
        "/api/v1/nope",
    );
}

#[tokio::test]
async fn stores_buildinfo_and_flags() {
    let store = Arc::new(FakeStore::default());
    let stores = get(app(store.clone()), "/api/v1/stores").await;
    assert_eq!(
        stores.json(),
        json!({"status": "success", "data": {"sidecar": [{
            "name": "127.0.0.1:10901", "lastCheck": "2026-01-01T00:00:00.000000001Z", "lastError": null,
            "labelSets": [{"replica": "a"}], "minTime": 1000, "maxTime": 2000,
        }]}})
    );
    let build = get(app(store.clone()), "/api/v1/status/buildinfo")
        .await
        .json();
    let version = build["data"]["version"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert_eq!(
        version
            .split('.')
            .filter(|p| p.parse::<u32>().is_ok())
            .count(),
        3,
        "{version}"
    );
    for key in ["revision", "branch", "buildUser", "buildDate", "goVersion"] {
        assert!(build["data"][key].is_string(), "{key} missing in {build}");
    }
    let flags = get(app(store), "/api/v1/status/flags").await;
    assert_eq!(
        flags.json(),
        json!({"status": "success", "data": {"query.replica-label": "replica"}})
    );
}

#[tokio::test]
async fn probes() {
    let store = Arc::new(FakeStore::default());
    assert_eq!(
        get(app(store.clone()), "/-/healthy").await.status,
        StatusCode::OK
    );
    assert_eq!(
        get(app(store.clone()), "/-/ready").await.status,
        StatusCode::OK
    );
    let mut not_ready = state(store);
    not_ready.endpoints = Arc::new(FakeEndpoints { ready: false });
    assert_eq!(
        get(router(not_ready, None), "/-/ready").await.status,
        StatusCode::SERVICE_UNAVAILABLE
    );
}

#[tokio::test]
async fn requests_are_counted_by_route_and_code() {
    let state = state(Arc::new(replicated_store()));
    let metrics = Arc::clone(&state.metrics);
    let app = router(state, None);
    get(app.clone(), "/api/v1/label/job/values").await;
    get(app.clone(), "/api/v1/series").await;
    assert_eq!(
        metrics.count(Protocol::Http, "/api/v1/label/{name}/values"),
        1
    );
    let text = get(app, "/metrics").await.text();
    assert!(
        text.contains("chorus_http_requests_total{handler=\"/api/v1/series\",code=\"400\"} 1"),
        "{text}"
    );
}

#[tokio::test]
async fn cors_and_gzip() {
    let request = Request::get("/api/v1/series?match[]=up")
        .header(header::ORIGIN, "http://example.com")
        .header(header::ACCEPT_ENCODING, "gzip")
        .body(Body::empty())
        .expect("valid request");
    let answer = send(app(Arc::new(replicated_store())), request).await;
    assert_eq!(
        answer
            .headers
            .get(header::ACCESS_CONTROL_ALLOW_ORIGIN)
            .map(|v| v.as_bytes()),
        Some(&b"*"[..])
    );
    assert_eq!(
        answer
            .headers
            .get(header::CONTENT_ENCODING)
            .map(|v| v.as_bytes()),
        Some(&b"gzip"[..])
    );
    assert_eq!(&answer.body[..2], &[0x1f, 0x8b], "gzip magic");

    let preflight = Request::options("/api/v1/labels")
        .header(header::ORIGIN, "http://example.com")
        .header(header::ACCESS_CONTROL_REQUEST_METHOD, "POST")
        .body(Body::empty())
        .expect("valid request");
    let answer = send(app(Arc::new(FakeStore::default())), preflight).await;
    assert_eq!(answer.status, StatusCode::OK);
    let methods = answer
        .headers
        .get(header::ACCESS_CONTROL_ALLOW_METHODS)
        .map(|v| v.to_str().unwrap_or_default().to_string());
    assert!(methods.is_some_and(|m| m.contains("POST")));
}

#[tokio::test]
async fn route_prefix_and_console_fallback() {
    let mut state = state(Arc::new(replicated_store()));
    state.route_prefix = "/thanos/".into();
    let ui = Router::new().fallback(|| async { "console" });
    let app = router(state, Some(ui));
    assert_eq!(
        get(app.clone(), "/thanos/api/v1/labels").await.json()["data"],
        json!(["__name__", "job", "replica"])
    );
    assert_eq!(
        get(app.clone(), "/api/v1/labels").await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(get(app.clone(), "/thanos/graph").await.text(), "console");
    assert_error(
        &get(app.clone(), "/thanos/api/v1/nope").await,
        404,
        "not_found",
        "/thanos/api/v1/nope",
    );
    assert_eq!(get(app.clone(), "/-/healthy").await.status, StatusCode::OK);
    let root = get(app, "/").await;
    assert_eq!(root.status, StatusCode::FOUND);
    assert_eq!(
        root.headers.get(header::LOCATION).map(|v| v.as_bytes()),
        Some(&b"/thanos/"[..])
    );
}

#[tokio::test]
async fn serves_over_a_real_listener_until_shutdown() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind loopback");
    let address = listener.local_addr().expect("bound address");
    let shutdown = CancellationToken::new();
    let server = tokio::spawn(serve(
        listener,
        app(Arc::new(replicated_store())),
        shutdown.clone(),
    ));

    let client = reqwest::Client::new();
    let response = client
        .post(format!("http://{address}/api/v1/series"))
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body("match[]=up&dedup=true")
        .send()
        .await
        .expect("request succeeds");
    assert_eq!(response.status(), 200);
    let body: Value = serde_json::from_slice(&response.bytes().await.expect("body")).expect("JSON");
    assert_eq!(
        body["data"],
        json!([{"__name__": "up", "job": "api"}, {"__name__": "up", "job": "db"}])
    );

    shutdown.cancel();
    let finished = tokio::time::timeout(Duration::from_secs(5), server)
        .await
        .expect("stops after shutdown");
    assert!(matches!(finished, Ok(Ok(()))), "{finished:?}");
}
