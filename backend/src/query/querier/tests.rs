//! The querier over a real proxy and two in-memory replicas of one series.

use std::sync::Arc;
use std::time::Duration;

use shared::labels::Labels;

use super::*;
use crate::chunkenc::XorAppender;
use crate::query::memstore::{MemStore, sidecar_info};
use crate::query::proxy::{ProxyConfig, ProxyStore, StoreRef, StoreSet};
use crate::storeapi::{AggrChunk, Chunk, ChunkEncoding, PartialResponse, Series};

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
async fn errors_are_classed_as_prometheus_classes_them() {
    let q = querier();
    let bad = q.query(request("sum(", &[])).await.unwrap_err();
    assert!(matches!(bad, ApiError::BadRequest(_)), "{bad:?}");
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
