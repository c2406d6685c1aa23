//! The querier over a real proxy and two in-memory replicas of one series.

use std::sync::Arc;
use std::time::Duration;

use shared::labels::Labels;

use super::*;
use crate::chunkenc::XorAppender;
use crate::query::memstore::{MemStore, sidecar_info};
use crate::query::proxy::{ProxyConfig, ProxyStore, StoreRef, StoreSet};
use crate::storeapi::{AggrChunk, Chunk, ChunkEncoding, PartialResponse, Series, StoreError};

/// `up{job="a"}` scraped every 15s from 0 to 10m, at `offset_ms`, value = minute index.
fn replica(replica: &str, offset_ms: i64) -> StoreRef {
    let mut appender = XorAppender::new();
    let times: Vec<i64> = (0..=40).map(|i| i * 15_000 + offset_ms).collect();
    for &t in &times {
        appender.append(t, 1.0).expect("in-order samples");
    }
    let chunk = Chunk {
        encoding: ChunkEncoding::Xor,
        data: appender.to_bytes(),
        hash: 0,
    };
    let series = Series {
        labels: Labels::from_pairs([("__name__", "up"), ("job", "a"), ("replica", replica)]),
        chunks: vec![AggrChunk::raw(times[0], times[times.len() - 1], chunk)],
    };
    // The memory store does not strip replica labels itself: the proxy does.
    let mut info = sidecar_info(&[("replica", replica)], 0, 1_000_000);
    info.supports_without_replica_labels = false;
    StoreRef {
        address: format!("replica-{replica}"),
        store: Arc::new(MemStore::new(info.clone(), vec![series])),
        info: Arc::new(info),
    }
}

fn querier() -> Querier {
    let stores: Arc<dyn StoreSet> = Arc::new(vec![replica("0", 0), replica("1", 5_000)]);
    let proxy = ProxyStore::new(
        stores,
        ProxyConfig {
            response_timeout: None,
            replica_labels: vec!["replica".into()],
        },
    );
    Querier::new(Arc::new(proxy), Engine::default(), 2)
}

fn request(expr: &str, replica_labels: &[&str]) -> QueryRequest {
    QueryRequest {
        expr: expr.into(),
        time: QueryTime::Instant { t_ms: 300_000 },
        replica_labels: replica_labels.iter().map(|s| s.to_string()).collect(),
        partial_response: PartialResponse::Abort,
        timeout: Duration::from_secs(5),
    }
}

fn vector_len(value: &Value) -> usize {
    match value {
        Value::Vector(v) => v.len(),
        other => panic!("expected a vector, got {other:?}"),
    }
}

#[tokio::test]
async fn replicas_are_deduplicated_unless_dedup_is_off() {
    let q = querier();
    let deduped = q.query(request("up", &["replica"])).await.unwrap();
    assert_eq!(vector_len(&deduped.value), 1);
    let both = q.query(request("up", &[])).await.unwrap();
    assert_eq!(vector_len(&both.value), 2);
    let sum = q.query(request("sum(up)", &[])).await.unwrap();
    let Value::Vector(v) = sum.value else {
        panic!("a vector")
    };
    assert_eq!(v[0].value, SampleValue::Float(2.0));
}

#[tokio::test]
async fn answers_carry_timings_and_sample_counts() {
    let q = querier();
    let deduped = q.query(request("up", &["replica"])).await.unwrap();
    let both = q.query(request("up", &[])).await.unwrap();
    assert!(deduped.stats.samples_loaded > 0, "{:?}", deduped.stats);
    assert!(
        both.stats.samples_loaded > deduped.stats.samples_loaded,
        "{:?} vs {:?}",
        both.stats,
        deduped.stats
    );
    assert_eq!(both.stats.result_samples, 2);
    let stats = both.stats;
    assert!(
        stats.exec_total >= stats.exec_queue + stats.query_preparation + stats.inner_eval,
        "{stats:?}"
    );
    let constant = q.query(request("vector(1)", &[])).await.unwrap();
    assert_eq!(constant.stats.samples_loaded, 0);
    assert_eq!(constant.stats.result_samples, 1);
}

#[tokio::test]
async fn errors_are_classed_as_prometheus_classes_them() {
    let q = querier();
    let bad = q.query(request("sum(", &[])).await.unwrap_err();
    assert!(
        matches!(&bad, ApiError::InvalidParameter { name, .. } if name == "query"),
        "{bad:?}"
    );
    assert_eq!(
        bad.to_string(),
        "invalid parameter \"query\": 1:5: parse error: unclosed left parenthesis"
    );
    let mut matrix = request("up[5m]", &[]);
    matrix.time = QueryTime::Range {
        start_ms: 0,
        end_ms: 60_000,
        step_ms: 15_000,
    };
    let bad = q.query(matrix).await.unwrap_err();
    assert!(
        matches!(&bad, ApiError::InvalidParameter { name, .. } if name == "query"),
        "{bad:?}"
    );
    let mut range = request("up", &[]);
    range.time = QueryTime::Range {
        start_ms: 0,
        end_ms: 60_000,
        step_ms: 15_000,
    };
    let Value::Matrix(m) = q.query(range).await.unwrap().value else {
        panic!("a matrix")
    };
    assert_eq!(m.len(), 2);
}

#[test]
fn selections_name_their_enclosing_function() {
    let selections = Engine::default()
        .selections("sum(rate(x[5m])) + (y) + irate((z[1m]))", 0, 0, 0)
        .unwrap();
    let funcs: Vec<Option<&str>> = selections.iter().map(|s| s.hints.func).collect();
    assert_eq!(funcs, [Some("rate"), None, Some("irate")]);
}

#[tokio::test]
async fn a_silent_store_times_out() {
    use crate::query::memstore::Behaviour;
    let info = sidecar_info(&[("replica", "0")], 0, 1_000_000);
    let store = MemStore::new(info.clone(), Vec::new()).with_behaviour(Behaviour::HangAfter(0));
    let stores: Arc<dyn StoreSet> = Arc::new(vec![StoreRef {
        address: "silent".into(),
        store: Arc::new(store),
        info: Arc::new(info),
    }]);
    let proxy = ProxyStore::new(
        stores,
        ProxyConfig {
            response_timeout: None,
            replica_labels: Vec::new(),
        },
    );
    let q = Querier::new(Arc::new(proxy), Engine::default(), 1);
    let mut slow = request("up", &[]);
    slow.timeout = Duration::from_millis(100);
    let error = q.query(slow).await.unwrap_err();
    assert_eq!(error, ApiError::Timeout(Duration::from_millis(100)));
}

/// A counter `c_total` scraped every 15s over 10m at `offset_ms`, `lag` below the true count,
/// with no samples in `gap_ms`.
fn counter_replica(replica: &str, offset_ms: i64, lag: f64, gap_ms: (i64, i64)) -> StoreRef {
    let mut appender = XorAppender::new();
    let samples: Vec<(i64, f64)> = (0..=40)
        .map(|i| (i * 15_000 + offset_ms, i as f64 * 10.0 - lag))
        .filter(|(t, _)| *t < gap_ms.0 || *t > gap_ms.1)
        .collect();
    for &(t, v) in &samples {
        appender.append(t, v).expect("in-order samples");
    }
    let chunk = Chunk {
        encoding: ChunkEncoding::Xor,
        data: appender.to_bytes(),
        hash: 0,
    };
    let series = Series {
        labels: Labels::from_pairs([("__name__", "c_total"), ("replica", replica)]),
        chunks: vec![AggrChunk::raw(
            samples[0].0,
            samples[samples.len() - 1].0,
            chunk,
        )],
    };
    let mut info = sidecar_info(&[("replica", replica)], 0, 1_000_000);
    info.supports_without_replica_labels = false;
    StoreRef {
        address: format!("replica-{replica}"),
        store: Arc::new(MemStore::new(info.clone(), vec![series])),
        info: Arc::new(info),
    }
}

#[tokio::test]
async fn counters_under_rate_functions_do_not_reset_when_dedup_switches_replicas() {
    // Replica 0 misses 4m–6m; dedup switches to replica 1, which is 50 behind.
    let stores: Arc<dyn StoreSet> = Arc::new(vec![
        counter_replica("0", 0, 0.0, (240_000, 360_000)),
        counter_replica("1", 5_000, 50.0, (i64::MAX, i64::MAX)),
    ]);
    let proxy = ProxyStore::new(
        stores,
        ProxyConfig {
            response_timeout: None,
            replica_labels: vec!["replica".into()],
        },
    );
    let q = Querier::new(Arc::new(proxy), Engine::default(), 2);
    let scalar = |value: Value| match value {
        Value::Vector(v) if v.len() == 1 => v[0].value.clone(),
        other => panic!("expected one element, got {other:?}"),
    };
    let mut resets = request("resets(c_total[10m])", &["replica"]);
    resets.time = QueryTime::Instant { t_ms: 600_000 };
    let counted = scalar(q.query(resets).await.unwrap().value);
    assert_eq!(counted, SampleValue::Float(0.0), "counter was adjusted");
    // Read as a gauge, the same switch shows the drop.
    let mut gauge = request(
        "min_over_time((c_total - c_total offset 15s)[10m:15s])",
        &["replica"],
    );
    gauge.time = QueryTime::Instant { t_ms: 600_000 };
    let lowest = scalar(q.query(gauge).await.unwrap().value);
    let SampleValue::Float(lowest) = lowest else {
        panic!("a float")
    };
    assert!(lowest < 10.0, "as a gauge the switch is visible: {lowest}");
}

#[tokio::test]
async fn query_hints_reach_the_store() {
    let info = sidecar_info(&[("replica", "0")], 0, 1_000_000);
    let store = Arc::new(MemStore::new(info.clone(), Vec::new()));
    let stores: Arc<dyn StoreSet> = Arc::new(vec![StoreRef {
        address: "recording".into(),
        store: Arc::clone(&store) as Arc<dyn Store>,
        info: Arc::new(info),
    }]);
    let proxy = ProxyStore::new(
        stores,
        ProxyConfig {
            response_timeout: None,
            replica_labels: Vec::new(),
        },
    );
    let q = Querier::new(Arc::new(proxy), Engine::default(), 1);
    let mut range = request(
        "sum by (job) (up) / count without (job) (irate(up[2m])) + max_over_time(x[10m:1m])",
        &[],
    );
    range.time = QueryTime::Range {
        start_ms: 0,
        end_ms: 600_000,
        step_ms: 30_000,
    };
    q.query(range).await.unwrap();
    let sent: Vec<QueryHints> = store
        .series_requests()
        .into_iter()
        .map(|r| r.query_hints.expect("hints sent"))
        .collect();
    let expected = [
        QueryHints {
            step_ms: 30_000,
            func: None,
            grouping: Some((true, vec!["job".into()])),
            range_ms: 0,
        },
        QueryHints {
            step_ms: 30_000,
            func: Some("irate".into()),
            grouping: None,
            range_ms: 120_000,
        },
    ];
    assert_eq!(sent.len(), 3, "{sent:?}");
    let subquery = sent.iter().find(|h| h.step_ms == 60_000).expect("subquery");
    assert_eq!(subquery.func.as_deref(), Some("max_over_time"));
    assert_eq!(subquery.range_ms, 0);
    assert!(sent.contains(&expected[0]), "{sent:?}");
    assert!(sent.contains(&expected[1]), "{sent:?}");
}

#[tokio::test]
async fn max_samples_counts_what_is_loaded_after_dedup() {
    let limited = || querier().with_max_samples(30);
    // Deduplicated, five minutes of one 15s series: about 21 samples, under the limit.
    let deduped = limited().query(request("up", &["replica"])).await;
    assert_eq!(vector_len(&deduped.expect("within the limit").value), 1);
    // Both replicas kept: about 41 samples, over it.
    let error = limited()
        .query(request("up", &[]))
        .await
        .expect_err("over the limit");
    assert_eq!(
        error,
        ApiError::Execution(
            "query processing would load too many samples into memory in query execution".into()
        )
    );
    assert_eq!(error.status().as_u16(), 422);
}

/// A store holding `up{job="a"}` and `target_info{job="a", version="v1"}`, every 15s to 10m.
fn store_with_target_info() -> StoreRef {
    let series = |labels: Labels| {
        let mut appender = XorAppender::new();
        for i in 0..=40 {
            appender.append(i * 15_000, 1.0).expect("in-order samples");
        }
        let chunk = Chunk {
            encoding: ChunkEncoding::Xor,
            data: appender.to_bytes(),
            hash: 0,
        };
        Series {
            labels,
            chunks: vec![AggrChunk::raw(0, 600_000, chunk)],
        }
    };
    let up = Labels::from_pairs([("__name__", "up"), ("job", "a")]);
    let target_info =
        Labels::from_pairs([("__name__", "target_info"), ("job", "a"), ("version", "v1")]);
    let info = sidecar_info(&[], 0, 1_000_000);
    StoreRef {
        address: "info-store".into(),
        store: Arc::new(MemStore::new(
            info.clone(),
            vec![series(up), series(target_info)],
        )),
        info: Arc::new(info),
    }
}

#[tokio::test]
async fn info_reads_its_info_series_through_the_streamed_selections() {
    let stores: Arc<dyn StoreSet> = Arc::new(vec![store_with_target_info()]);
    let config = ProxyConfig {
        response_timeout: None,
        replica_labels: Vec::new(),
    };
    let q = Querier::new(
        Arc::new(ProxyStore::new(stores, config)),
        Engine::default(),
        2,
    );
    let out = q.query(request("info(up)", &[])).await.unwrap();
    let Value::Vector(v) = out.value else {
        panic!("a vector")
    };
    let labels: Vec<String> = v.iter().map(|e| e.labels.to_string()).collect();
    assert_eq!(labels, [r#"{__name__="up", job="a", version="v1"}"#]);
}

/// A replica of `up` and a store named `failing` that fails or hangs as `behaviour` says.
fn querier_with_failing_replica(behaviour: crate::query::memstore::Behaviour) -> Querier {
    let info = (*replica("1", 5_000).info).clone();
    let failing = StoreRef {
        address: "failing".into(),
        store: Arc::new(MemStore::new(info.clone(), Vec::new()).with_behaviour(behaviour)),
        info: Arc::new(info),
    };
    let stores: Arc<dyn StoreSet> = Arc::new(vec![replica("0", 0), failing]);
    let proxy = ProxyStore::new(
        stores,
        ProxyConfig {
            response_timeout: None,
            replica_labels: vec!["replica".into()],
        },
    );
    Querier::new(Arc::new(proxy), Engine::default(), 2)
}

#[tokio::test]
async fn a_store_failing_mid_stream_fails_the_query_or_warns_as_the_policy_says() {
    use crate::query::memstore::Behaviour;
    let error = StoreError::Unavailable("connection reset".into());
    let q = querier_with_failing_replica(Behaviour::FailAfter(0, error));
    let mut range = request("up", &["replica"]);
    range.time = QueryTime::Range {
        start_ms: 0,
        end_ms: 600_000,
        step_ms: 60_000,
    };
    let failed = q.query(range.clone()).await.expect_err("aborts");
    assert!(
        matches!(&failed, ApiError::Store(StoreError::Aborted(m)) if m.contains("failing")),
        "{failed:?}"
    );
    assert_eq!(failed.status().as_u16(), 422);
    range.partial_response = PartialResponse::Warn;
    let answered = q.query(range).await.expect("a partial answer");
    let Value::Matrix(m) = &answered.value else {
        panic!("a matrix")
    };
    assert_eq!(m.len(), 1, "the healthy replica's series");
    assert_eq!(answered.warnings.len(), 1, "{:?}", answered.warnings);
    assert!(
        answered.warnings[0].contains("failing"),
        "{:?}",
        answered.warnings
    );
}

#[tokio::test]
async fn a_store_hanging_mid_stream_times_the_query_out() {
    use crate::query::memstore::Behaviour;
    let q = querier_with_failing_replica(Behaviour::HangAfter(0));
    let mut slow = request("count(up)", &[]);
    slow.timeout = Duration::from_millis(200);
    let error = q.query(slow).await.expect_err("times out");
    assert_eq!(error, ApiError::Timeout(Duration::from_millis(200)));
    // The query's end stopped its fetches (and so the evaluation waiting for them).
    let answered = q.query(request("vector(1)", &[])).await.expect("answers");
    assert_eq!(vector_len(&answered.value), 1);
}
