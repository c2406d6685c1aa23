//! The PromQL endpoints over a fake engine: parameters, result JSON shapes, errors, POST.

use super::fakes::FakeQueryEngine;
use super::*;
use crate::api::{QueryOutcome, QueryTime};
use crate::promql::storage::{Point, SampleValue};
use crate::promql::value::{Element, RangeSeries, Value as PromValue};
use shared::labels::Labels;

fn engine_app(answer: Result<QueryOutcome, ApiError>) -> (Router, Arc<FakeQueryEngine>) {
    let engine = Arc::new(FakeQueryEngine {
        answer: Some(answer),
        ..FakeQueryEngine::default()
    });
    let mut state = state(Arc::new(FakeStore::default()));
    state.query = engine.clone();
    (router(state, None), engine)
}

fn outcome(value: PromValue, warnings: &[&str]) -> Result<QueryOutcome, ApiError> {
    Ok(QueryOutcome {
        value,
        warnings: warnings.iter().map(|w| w.to_string()).collect(),
        infos: Vec::new(),
        stats: crate::api::QueryStats::default(),
    })
}

fn up() -> Labels {
    Labels::from_pairs([("__name__", "up"), ("job", "a")])
}

#[tokio::test]
async fn instant_vector_is_rendered_as_prometheus_does() {
    let vector = PromValue::Vector(vec![Element {
        labels: up(),
        value: SampleValue::Float(0.1),
        drop_name: false,
    }]);
    let (app, engine) = engine_app(outcome(vector, &["store x failed"]));
    let answer = get(
        app,
        "/api/v1/query?query=up&time=1435781451.781&dedup=false&partial_response=false",
    )
    .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text());
    assert_eq!(
        answer.json(),
        json!({"status": "success", "data": {"resultType": "vector", "result": [
            {"metric": {"__name__": "up", "job": "a"}, "value": [1435781451.781, "0.1"]}
        ]}, "warnings": ["store x failed"]})
    );
    assert!(answer.text().contains(r#"{"resultType":"vector","result""#));
    let received = engine.received.lock().unwrap().clone();
    assert_eq!(received[0].expr, "up");
    assert_eq!(
        received[0].time,
        QueryTime::Instant {
            t_ms: 1_435_781_451_781
        }
    );
    assert!(received[0].replica_labels.is_empty());
    assert_eq!(received[0].partial_response, PartialResponse::Abort);
}

#[tokio::test]
async fn scalars_floats_and_post_forms() {
    let (app, engine) = engine_app(outcome(PromValue::Scalar(f64::INFINITY), &[]));
    let answer = post_form(
        app,
        "/api/v1/query",
        "query=1%2F0&time=10&replicaLabels[]=r",
    )
    .await;
    assert_eq!(
        answer.json()["data"],
        json!({"resultType": "scalar", "result": [10, "+Inf"]})
    );
    assert_eq!(engine.received.lock().unwrap()[0].replica_labels, ["r"]);
    assert_eq!(crate::api::query::format_float(f64::NAN), "NaN");
    assert_eq!(crate::api::query::format_float(-f64::INFINITY), "-Inf");
    // As Prometheus: an exponent from 1e21 and below 1e-6 (util/jsonutil/marshal.go).
    for (v, text) in [
        (1e21, "1e+21"),
        (-1.10075e23, "-1.10075e+23"),
        (999999999999999900000.0, "999999999999999900000"),
        (1.5e-7, "1.5e-07"),
        (-7.895953899298669e-9, "-7.895953899298669e-09"),
        (1e-6, "0.000001"),
        (5e-324, "5e-324"),
        (1.7976931348623157e308, "1.7976931348623157e+308"),
        (0.0, "0"),
        (-0.0, "-0"),
        (0.1, "0.1"),
    ] {
        assert_eq!(crate::api::query::format_float(v), text, "{v:e}");
    }
}

#[tokio::test]
async fn range_queries_render_matrices_and_check_their_bounds() {
    let matrix = PromValue::Matrix(vec![RangeSeries {
        labels: up(),
        points: vec![
            Point {
                t_ms: 0,
                value: SampleValue::Float(1.0),
            },
            Point {
                t_ms: 15_500,
                value: SampleValue::Float(2.0),
            },
        ],
        drop_name: false,
    }]);
    let (app, engine) = engine_app(outcome(matrix, &[]));
    let answer = get(
        app.clone(),
        "/api/v1/query_range?query=up&start=0&end=30&step=15s",
    )
    .await;
    assert_eq!(
        answer.json()["data"],
        json!({"resultType": "matrix", "result": [
            {"metric": {"__name__": "up", "job": "a"}, "values": [[0, "1"], [15.5, "2"]]}
        ]})
    );
    assert_eq!(
        engine.received.lock().unwrap()[0].time,
        QueryTime::Range {
            start_ms: 0,
            end_ms: 30_000,
            step_ms: 15_000
        }
    );
    let cases = [
        (
            "start=10&end=0&step=1",
            "end timestamp must not be before start time",
        ),
        (
            "start=0&end=10&step=0",
            "zero or negative query resolution step",
        ),
        (
            "start=0&end=11000&step=0.5",
            "exceeded maximum resolution of 11,000 points",
        ),
        ("start=x&end=10&step=1", "invalid parameter \"start\""),
        ("start=0&end=10&step=y", "invalid parameter \"step\""),
    ];
    for (query, message) in cases {
        let answer = get(
            app.clone(),
            &format!("/api/v1/query_range?query=up&{query}"),
        )
        .await;
        assert_error(&answer, 400, "bad_data", message);
    }
}

#[tokio::test]
async fn engine_errors_keep_their_class() {
    let cases = [
        (
            ApiError::BadRequest("1:5: parse error: unexpected end".into()),
            400,
            "bad_data",
        ),
        (
            ApiError::Execution("vector cannot contain metrics".into()),
            422,
            "execution",
        ),
        (ApiError::Timeout(Duration::from_secs(1)), 503, "timeout"),
    ];
    for (error, status, class) in cases {
        let message = error.to_string();
        let (app, _) = engine_app(Err(error));
        let answer = get(app, "/api/v1/query?query=up").await;
        assert_error(&answer, status, class, &message);
    }
    let (app, _) = engine_app(outcome(PromValue::Scalar(1.0), &[]));
    assert_error(
        &get(app, "/api/v1/query").await,
        400,
        "bad_data",
        "no expression",
    );
}

/// A large range answer goes out as a streamed body; gzip-compressed (the compression layer
/// polls the stream again after its end) it still arrives whole and decodes to the same JSON.
#[tokio::test]
async fn a_large_range_answer_streams_whole_through_compression() {
    let points: Vec<Point> = (0..50_000)
        .map(|i| Point {
            t_ms: i * 15_000,
            value: SampleValue::Float(i as f64 / 3.0),
        })
        .collect();
    let matrix = PromValue::Matrix(vec![RangeSeries {
        labels: up(),
        points,
        drop_name: false,
    }]);
    let (app, _) = engine_app(outcome(matrix, &[]));
    let request = Request::builder()
        .uri("/api/v1/query_range?query=up&start=0&end=750000&step=100")
        .header("accept-encoding", "gzip")
        .body(Body::empty())
        .expect("request");
    let response = app.oneshot(request).await.expect("router is infallible");
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["content-encoding"], "gzip");
    let compressed = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .expect("the body completes");
    let mut text = String::new();
    std::io::Read::read_to_string(
        &mut flate2::read::GzDecoder::new(compressed.as_ref()),
        &mut text,
    )
    .expect("valid gzip");
    let answer: Value = serde_json::from_str(&text).expect("valid JSON");
    let values = answer["data"]["result"][0]["values"]
        .as_array()
        .expect("values");
    assert_eq!(values.len(), 50_000);
    assert_eq!(values[3], json!([45, "1"]));
    assert_eq!(values[49_999][1], json!(format!("{}", 49_999.0 / 3.0)));
}
