//! The series endpoint: dedup and replica labels, GET and POST, limits, warnings, caching, and
//! how store errors, deadlines and the query timeout become API errors.

use super::*;
use crate::storeapi::StoreError;

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
