//! What `/api/v1/query` and `/api/v1/query_range` add beyond the result: the `stats` object,
//! and native histograms with their buckets.

use super::fakes::FakeQueryEngine;
use super::*;
use crate::api::{QueryOutcome, QueryStats};
use crate::promql::storage::{Point, SampleValue};
use crate::promql::value::{Element, RangeSeries, Value as PromValue};
use shared::histogram::{FloatHistogram, Span};
use shared::labels::Labels;

fn engine_app(value: PromValue, stats: QueryStats) -> Router {
    let engine = Arc::new(FakeQueryEngine {
        answer: Some(Ok(QueryOutcome {
            value,
            warnings: Vec::new(),
            infos: Vec::new(),
            stats,
        })),
        ..FakeQueryEngine::default()
    });
    let mut state = state(Arc::new(FakeStore::default()));
    state.query = engine;
    router(state, None)
}

fn measured() -> QueryStats {
    QueryStats {
        exec_queue: Duration::from_millis(2),
        query_preparation: Duration::from_millis(10),
        inner_eval: Duration::from_millis(4),
        exec_total: Duration::from_millis(17),
        samples_loaded: 40,
        result_samples: 1,
    }
}

#[tokio::test]
async fn stats_are_added_only_when_asked_for() {
    let app = engine_app(PromValue::Scalar(1.0), measured());
    let plain = get(app.clone(), "/api/v1/query?query=1&time=5").await;
    assert!(
        plain.json()["data"].get("stats").is_none(),
        "{}",
        plain.text()
    );
    let with = get(app.clone(), "/api/v1/query?query=1&time=5&stats=all").await;
    assert_eq!(with.status, StatusCode::OK, "{}", with.text());
    let body = with.json();
    assert_eq!(
        body["data"]["stats"],
        json!({
            "timings": {
                "evalTotalTime": 0.014, "resultSortTime": 0.0, "queryPreparationTime": 0.01,
                "innerEvalTime": 0.004, "execQueueTime": 0.002, "execTotalTime": 0.017
            },
            "samples": {"totalQueryableSamples": 40, "samplesRead": 40, "peakSamples": 41}
        })
    );
    assert!(body.get("warnings").is_none(), "{body}");
    let range = get(
        app.clone(),
        "/api/v1/query_range?query=1&start=0&end=10&step=5&stats=true",
    )
    .await;
    assert_eq!(range.json()["data"]["stats"]["samples"]["samplesRead"], 40);
    let deprecated = post_form(app, "/api/v1/query", "query=1&stats=1").await;
    let body = deprecated.json();
    assert!(body["data"]["stats"].is_object(), "{body}");
    assert_eq!(
        body["warnings"][0],
        "value \"1\" for parameter \"stats\" is deprecated and will be rejected in the next major release, use \"true\" or \"all\""
    );
}

fn histogram() -> FloatHistogram {
    FloatHistogram {
        counter_reset_hint: Default::default(),
        schema: 0,
        zero_threshold: 0.001,
        zero_count: 1.0,
        count: 4.0,
        sum: 2.5,
        positive_spans: vec![Span {
            offset: 1,
            length: 1,
        }],
        negative_spans: Vec::new(),
        positive_buckets: vec![3.0],
        negative_buckets: Vec::new(),
        custom_values: Vec::new(),
    }
}

#[tokio::test]
async fn native_histograms_are_written_with_buckets() {
    let labels = Labels::from_pairs([("__name__", "h")]);
    let vector = PromValue::Vector(vec![Element {
        labels: labels.clone(),
        value: SampleValue::Histogram(Box::new(histogram())),
        drop_name: false,
    }]);
    let answer = get(
        engine_app(vector, QueryStats::default()),
        "/api/v1/query?query=h&time=10",
    )
    .await;
    let want = json!({"count": "4", "sum": "2.5", "buckets": [
        [3, "-0.001", "0.001", "1"], [0, "1", "2", "3"]
    ]});
    assert_eq!(
        answer.json()["data"]["result"],
        json!([{"metric": {"__name__": "h"}, "histogram": [10, want.clone()]}])
    );
    let matrix = PromValue::Matrix(vec![RangeSeries {
        labels,
        points: vec![
            Point {
                t_ms: 0,
                value: SampleValue::Float(1.0),
            },
            Point {
                t_ms: 5_000,
                value: SampleValue::Histogram(Box::new(histogram())),
            },
        ],
        drop_name: false,
    }]);
    let answer = get(
        engine_app(matrix, QueryStats::default()),
        "/api/v1/query_range?query=h&start=0&end=5&step=5",
    )
    .await;
    assert_eq!(
        answer.json()["data"]["result"],
        json!([{"metric": {"__name__": "h"}, "values": [[0, "1"]], "histograms": [[5, want]]}])
    );
}
