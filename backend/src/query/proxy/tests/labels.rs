//! Label names and label values: unions, replica labels, limits and failing stores.

use std::time::Duration;

use tokio::time::Instant;

use super::*;
use crate::query::memstore::Behaviour;

fn names_request(
    without_replica_labels: Vec<String>,
    policy: PartialResponse,
    limit: Option<u64>,
) -> LabelNamesRequest {
    LabelNamesRequest {
        range: TimeRange::new(0, 100).expect("valid"),
        matchers: Vec::new(),
        without_replica_labels,
        partial_response: policy,
        limit,
    }
}

#[tokio::test]
async fn label_names_are_unioned_without_replica_labels_and_limited() {
    let a = Arc::new(store(
        &[("replica", "a")],
        0,
        100,
        vec![series(
            &[("__name__", "up"), ("job", "x"), ("replica", "a")],
            0,
            100,
            b"a",
        )],
    ));
    let b = Arc::new(store(
        &[("replica", "b")],
        0,
        100,
        vec![series(
            &[("__name__", "up"), ("instance", "i"), ("replica", "b")],
            0,
            100,
            b"b",
        )],
    ));
    let proxy = proxy(&[("a:1", &a), ("b:1", &b)], ProxyConfig::default()).await;

    let all = proxy
        .label_names(names_request(Vec::new(), PartialResponse::Warn, None))
        .await
        .expect("ok");
    assert_eq!(all.values, ["__name__", "instance", "job", "replica"]);
    let stripped = proxy
        .label_names(names_request(
            vec!["replica".into()],
            PartialResponse::Warn,
            Some(2),
        ))
        .await
        .expect("ok");
    assert_eq!(stripped.values, ["__name__", "instance"]);
    assert!(
        a.label_requests().iter().all(Vec::is_empty),
        "without_replica_labels is not forwarded"
    );
}

#[tokio::test(start_paused = true)]
async fn failing_label_stores_become_warnings_or_abort() {
    let fine = Arc::new(
        store(
            &[("replica", "a")],
            0,
            100,
            vec![series(&[("__name__", "up")], 0, 100, b"a")],
        )
        .with_warning("slow disk"),
    );
    let broken = Arc::new(store(&[("replica", "b")], 0, 100, vec![]).with_behaviour(
        Behaviour::FailOpen(StoreError::Unavailable("connection refused".into())),
    ));
    let stuck = Arc::new(
        store(&[("replica", "c")], 0, 100, vec![]).with_behaviour(Behaviour::HangAfter(0)),
    );
    let config = ProxyConfig {
        response_timeout: Some(Duration::from_secs(1)),
        ..ProxyConfig::default()
    };
    let proxy = proxy(&[("a:1", &fine), ("b:1", &broken), ("c:1", &stuck)], config).await;

    let started = Instant::now();
    let answer = proxy
        .label_names(names_request(Vec::new(), PartialResponse::Warn, None))
        .await
        .expect("ok");
    assert_eq!(started.elapsed(), Duration::from_secs(1));
    assert_eq!(answer.values, ["__name__"]);
    let mut warnings = answer.warnings;
    warnings.sort();
    assert_eq!(
        warnings,
        [
            "fetch label names from store b:1: unavailable: connection refused",
            "fetch label names from store c:1: deadline exceeded: no answer in 1s",
            "slow disk",
        ]
    );

    let error = proxy
        .label_names(names_request(Vec::new(), PartialResponse::Abort, None))
        .await
        .expect_err("aborts");
    assert_eq!(
        error,
        StoreError::Aborted(
            "fetch label names from store b:1: unavailable: connection refused".into()
        )
    );
}

#[tokio::test]
async fn label_values_are_unioned_and_replica_labels_have_none_when_stripped() {
    let a = Arc::new(store(
        &[("replica", "a")],
        0,
        100,
        vec![series(&[("job", "x"), ("replica", "a")], 0, 100, b"a")],
    ));
    let b = Arc::new(store(
        &[("replica", "b")],
        0,
        100,
        vec![
            series(&[("job", "w"), ("replica", "b")], 0, 100, b"b"),
            series(&[("job", "x"), ("replica", "b")], 0, 100, b"c"),
        ],
    ));
    let proxy = proxy(&[("a:1", &a), ("b:1", &b)], ProxyConfig::default()).await;
    let values = |label: &str, without: Vec<String>| LabelValuesRequest {
        label: label.to_string(),
        range: TimeRange::new(0, 100).expect("valid"),
        matchers: Vec::new(),
        without_replica_labels: without,
        partial_response: PartialResponse::Warn,
        limit: None,
    };
    assert_eq!(
        proxy
            .label_values(values("job", Vec::new()))
            .await
            .expect("ok")
            .values,
        ["w", "x"]
    );
    assert_eq!(
        proxy
            .label_values(values("replica", Vec::new()))
            .await
            .expect("ok")
            .values,
        ["a", "b"]
    );
    assert!(
        proxy
            .label_values(values("replica", vec!["replica".into()]))
            .await
            .expect("ok")
            .values
            .is_empty()
    );
}
