use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use shared::labels::{Labels, MatchOp, Matcher};
use shared::series::TimeRange;
use tokio::time::Instant;

use super::*;
use crate::query::memstore::{Behaviour, MemStore, series, sidecar_info};
use crate::storeapi::Series;

fn store_ref(address: &str, store: &Arc<MemStore>, info: StoreInfo) -> StoreRef {
    StoreRef {
        address: address.to_string(),
        store: Arc::clone(store) as Arc<dyn Store>,
        info: Arc::new(info),
    }
}

/// A proxy over `stores`, each given as (address, store); the announcement is the store's own.
async fn proxy(stores: &[(&str, &Arc<MemStore>)], config: ProxyConfig) -> ProxyStore {
    let mut refs = Vec::new();
    for (address, store) in stores {
        let info = store.info().await.expect("test stores announce themselves");
        refs.push(store_ref(address, store, info));
    }
    ProxyStore::new(Arc::new(refs), config)
}

fn request(min_ms: i64, max_ms: i64, matchers: Vec<Matcher>) -> SeriesRequest {
    SeriesRequest::new(
        TimeRange::new(min_ms, max_ms).expect("valid range"),
        matchers,
    )
}

fn up() -> Vec<Matcher> {
    vec![Matcher::equal("__name__", "up")]
}

/// Everything the proxy sends: series and warnings in order, or the error that ended it.
async fn collect(stream: SeriesStream) -> Result<(Vec<Series>, Vec<String>), StoreError> {
    let mut series = Vec::new();
    let mut warnings = Vec::new();
    let mut stream = stream;
    while let Some(frame) = stream.next().await {
        match frame? {
            SeriesFrame::Series(s) => series.push(s),
            SeriesFrame::Warning(w) => warnings.push(w),
        }
    }
    Ok((series, warnings))
}

fn label_sets(series: &[Series]) -> Vec<String> {
    series.iter().map(|s| s.labels.to_string()).collect()
}

fn store(external: &[(&str, &str)], min_ms: i64, max_ms: i64, data: Vec<Series>) -> MemStore {
    MemStore::new(sidecar_info(external, min_ms, max_ms), data)
}

#[tokio::test]
async fn only_stores_whose_time_range_overlaps_are_asked() {
    let early = Arc::new(store(
        &[("replica", "a")],
        0,
        1000,
        vec![series(&[("__name__", "up")], 0, 1000, b"e")],
    ));
    let late = Arc::new(store(
        &[("replica", "b")],
        2000,
        3000,
        vec![series(&[("__name__", "up")], 2000, 3000, b"l")],
    ));
    let proxy = proxy(
        &[("early:1", &early), ("late:1", &late)],
        ProxyConfig::default(),
    )
    .await;
    let (got, warnings) = collect(proxy.series(request(0, 500, up())).await.expect("opens"))
        .await
        .expect("ok");
    assert_eq!(got.len(), 1);
    assert!(warnings.is_empty());
    assert_eq!(early.series_requests().len(), 1);
    assert!(late.series_requests().is_empty());
    let (got, _) = collect(proxy.series(request(999, 2000, up())).await.expect("opens"))
        .await
        .expect("ok");
    assert_eq!(
        got.len(),
        1,
        "both stores overlap, their equal series collapse into one"
    );
    assert_eq!(got[0].chunks.len(), 2);
}

#[test]
fn external_label_sets_rule_out_stores_only_when_contradicted() {
    let eu = Arc::new(MemStore::new(
        sidecar_info(&[("cluster", "eu")], 0, 10),
        vec![],
    ));
    let info = |sets: Vec<Labels>| StoreInfo {
        label_sets: sets,
        ..sidecar_info(&[], 0, 10)
    };
    let eu_only = store_ref(
        "eu:1",
        &eu,
        info(vec![Labels::from_pairs([("cluster", "eu")])]),
    );
    let eu_or_us = store_ref(
        "both:1",
        &eu,
        info(vec![
            Labels::from_pairs([("cluster", "us")]),
            Labels::from_pairs([("cluster", "eu")]),
        ]),
    );
    let no_sets = store_ref("none:1", &eu, info(vec![]));
    let range = TimeRange::new(0, 10).expect("valid");
    let regex = |v: &str| Matcher::new(MatchOp::Regex, "cluster", v).expect("valid regex");

    let us = [Matcher::equal("cluster", "us")];
    assert!(!eu_only.may_match(&range, &us));
    assert!(
        eu_or_us.may_match(&range, &us),
        "any label set not contradicted is enough"
    );
    assert!(
        no_sets.may_match(&range, &us),
        "a store without label sets may hold anything"
    );
    assert!(
        eu_only.may_match(&range, &[Matcher::equal("job", "x")]),
        "a matcher on an absent label says nothing"
    );
    assert!(eu_only.may_match(&range, &[regex("e.*")]));
    assert!(!eu_only.may_match(&range, &[regex("u.*")]));
    assert!(!eu_only.may_match(&TimeRange::new(11, 20).expect("valid"), &[]));
}

#[tokio::test]
async fn series_from_all_stores_arrive_merged_and_sorted() {
    let a = Arc::new(store(
        &[("replica", "a")],
        0,
        100,
        vec![
            series(&[("__name__", "up"), ("job", "b")], 0, 100, b"b"),
            series(&[("__name__", "up"), ("job", "a")], 0, 100, b"a"),
        ],
    ));
    let b = Arc::new(store(
        &[("replica", "b")],
        0,
        100,
        vec![
            series(&[("__name__", "up"), ("job", "a")], 0, 100, b"a"),
            series(&[("__name__", "up"), ("job", "c")], 0, 100, b"c"),
        ],
    ));
    let proxy = proxy(&[("a:1", &a), ("b:1", &b)], ProxyConfig::default()).await;
    let (got, warnings) = collect(proxy.series(request(0, 100, up())).await.expect("opens"))
        .await
        .expect("ok");
    assert!(warnings.is_empty());
    assert_eq!(
        label_sets(&got),
        [
            r#"{__name__="up", job="a"}"#,
            r#"{__name__="up", job="b"}"#,
            r#"{__name__="up", job="c"}"#
        ]
    );
    assert_eq!(
        got[0].chunks.len(),
        1,
        "identical chunks from two stores are kept once"
    );
}

#[tokio::test(start_paused = true)]
async fn a_silent_store_becomes_a_warning_after_the_response_timeout() {
    let fine = Arc::new(store(
        &[("replica", "a")],
        0,
        100,
        vec![series(&[("__name__", "up"), ("job", "a")], 0, 100, b"a")],
    ));
    let stuck = Arc::new(
        store(
            &[("replica", "b")],
            0,
            100,
            vec![series(&[("__name__", "up"), ("job", "b")], 0, 100, b"b")],
        )
        .with_behaviour(Behaviour::HangAfter(0)),
    );
    let config = ProxyConfig {
        response_timeout: Some(Duration::from_secs(2)),
        ..ProxyConfig::default()
    };
    let proxy = proxy(&[("127.0.0.1:1", &fine), ("127.0.0.1:2", &stuck)], config).await;
    let started = Instant::now();
    let (got, warnings) = collect(proxy.series(request(0, 100, up())).await.expect("opens"))
        .await
        .expect("ok");
    assert_eq!(started.elapsed(), Duration::from_secs(2));
    assert_eq!(label_sets(&got), [r#"{__name__="up", job="a"}"#]);
    assert_eq!(
        warnings,
        ["failed to receive any data in 2s from 127.0.0.1:2"]
    );
}

#[tokio::test(start_paused = true)]
async fn a_store_silent_between_frames_is_cut_off_too() {
    let data = vec![
        series(&[("__name__", "up"), ("job", "a")], 0, 100, b"a"),
        series(&[("__name__", "up"), ("job", "b")], 0, 100, b"b"),
    ];
    let stuck =
        Arc::new(store(&[("replica", "b")], 0, 100, data).with_behaviour(Behaviour::HangAfter(1)));
    let config = ProxyConfig {
        response_timeout: Some(Duration::from_secs(2)),
        ..ProxyConfig::default()
    };
    let proxy = proxy(&[("127.0.0.1:2", &stuck)], config).await;
    let started = Instant::now();
    let (got, warnings) = collect(proxy.series(request(0, 100, up())).await.expect("opens"))
        .await
        .expect("ok");
    assert_eq!(started.elapsed(), Duration::from_secs(2));
    assert_eq!(label_sets(&got), [r#"{__name__="up", job="a"}"#]);
    assert_eq!(
        warnings,
        ["failed to receive any data in 2s from 127.0.0.1:2"]
    );
}

#[tokio::test(start_paused = true)]
async fn a_silent_store_aborts_the_request_when_partial_response_is_off() {
    let fine = Arc::new(store(
        &[("replica", "a")],
        0,
        100,
        vec![series(&[("__name__", "up")], 0, 100, b"a")],
    ));
    let stuck = Arc::new(
        store(&[("replica", "b")], 0, 100, vec![]).with_behaviour(Behaviour::HangAfter(0)),
    );
    let config = ProxyConfig {
        response_timeout: Some(Duration::from_millis(1500)),
        ..ProxyConfig::default()
    };
    let proxy = proxy(&[("127.0.0.1:1", &fine), ("127.0.0.1:2", &stuck)], config).await;
    let mut req = request(0, 100, up());
    req.partial_response = PartialResponse::Abort;
    let started = Instant::now();
    let outcome = collect(proxy.series(req).await.expect("opens")).await;
    assert_eq!(started.elapsed(), Duration::from_millis(1500));
    assert_eq!(
        outcome,
        Err(StoreError::Aborted(
            "failed to receive any data in 1s 500ms from 127.0.0.1:2".into()
        ))
    );
}

#[tokio::test]
async fn a_store_failing_mid_stream_is_named_in_a_warning_or_aborts() {
    let data = vec![
        series(&[("__name__", "up"), ("job", "a")], 0, 100, b"a"),
        series(&[("__name__", "up"), ("job", "b")], 0, 100, b"b"),
    ];
    let broken = Arc::new(store(&[("replica", "b")], 0, 100, data).with_behaviour(
        Behaviour::FailAfter(1, StoreError::Internal("stream reset".into())),
    ));
    let proxy = proxy(&[("127.0.0.1:1234", &broken)], ProxyConfig::default()).await;

    let (got, warnings) = collect(proxy.series(request(0, 100, up())).await.expect("opens"))
        .await
        .expect("ok");
    assert_eq!(label_sets(&got), [r#"{__name__="up", job="a"}"#]);
    assert_eq!(
        warnings,
        ["receive series from store 127.0.0.1:1234: stream reset"]
    );

    let mut req = request(0, 100, up());
    req.partial_response = PartialResponse::Abort;
    let outcome = collect(proxy.series(req).await.expect("opens")).await;
    assert_eq!(
        outcome,
        Err(StoreError::Aborted(
            "receive series from store 127.0.0.1:1234: stream reset".into()
        ))
    );
}

#[tokio::test]
async fn a_dead_store_fails_the_request_when_partial_response_is_off() {
    let fine = Arc::new(store(
        &[("replica", "a")],
        0,
        100,
        vec![series(&[("__name__", "up")], 0, 100, b"a")],
    ));
    let dead = Arc::new(store(&[("replica", "b")], 0, 100, vec![]).with_behaviour(
        Behaviour::FailOpen(StoreError::Unavailable("connection refused".into())),
    ));
    let proxy = proxy(
        &[("127.0.0.1:1", &fine), ("127.0.0.1:2", &dead)],
        ProxyConfig::default(),
    )
    .await;

    let mut req = request(0, 100, up());
    req.partial_response = PartialResponse::Abort;
    let outcome = collect(proxy.series(req).await.expect("opens")).await;
    assert_eq!(
        outcome,
        Err(StoreError::Aborted(
            "fetch series from store 127.0.0.1:2: unavailable: connection refused".into()
        ))
    );

    let (got, warnings) = collect(proxy.series(request(0, 100, up())).await.expect("opens"))
        .await
        .expect("ok");
    assert_eq!(got.len(), 1);
    assert_eq!(
        warnings,
        ["fetch series from store 127.0.0.1:2: unavailable: connection refused"]
    );
}

#[tokio::test]
async fn store_warnings_pass_under_warn_and_abort_under_abort() {
    let noisy = Arc::new(
        store(
            &[("replica", "a")],
            0,
            100,
            vec![series(&[("__name__", "up")], 0, 100, b"a")],
        )
        .with_warning("partial block"),
    );
    let proxy = proxy(&[("127.0.0.1:1", &noisy)], ProxyConfig::default()).await;
    let (got, warnings) = collect(proxy.series(request(0, 100, up())).await.expect("opens"))
        .await
        .expect("ok");
    assert_eq!(
        (got.len(), warnings),
        (1, vec!["partial block".to_string()])
    );

    let mut req = request(0, 100, up());
    req.partial_response = PartialResponse::Abort;
    let outcome = collect(proxy.series(req).await.expect("opens")).await;
    assert_eq!(
        outcome,
        Err(StoreError::Aborted(
            "warning from store 127.0.0.1:1: partial block".into()
        ))
    );
}

#[tokio::test]
async fn no_stores_at_all_is_an_error_only_when_partial_response_is_off() {
    let proxy = ProxyStore::new(Arc::new(Vec::<StoreRef>::new()), ProxyConfig::default());
    let (got, warnings) = collect(proxy.series(request(0, 100, up())).await.expect("opens"))
        .await
        .expect("ok");
    assert!(got.is_empty() && warnings.is_empty());
    let mut req = request(0, 100, up());
    req.partial_response = PartialResponse::Abort;
    let Err(error) = proxy.series(req).await else {
        panic!("no stores with partial response off must fail")
    };
    assert_eq!(error, StoreError::Aborted(NO_STORES.into()));
}

#[tokio::test]
async fn replica_labels_are_stripped_by_the_store_or_by_the_proxy() {
    let mut old_info = sidecar_info(&[("replica", "b")], 0, 100);
    old_info.supports_without_replica_labels = false;
    let modern = Arc::new(store(
        &[("replica", "a")],
        0,
        100,
        vec![series(&[("__name__", "up"), ("job", "x")], 0, 100, b"a")],
    ));
    let old = Arc::new(MemStore::new(
        old_info,
        vec![
            series(
                &[("__name__", "up"), ("job", "x"), ("replica", "b")],
                0,
                100,
                b"a",
            ),
            series(
                &[("__name__", "up"), ("instance", "z"), ("replica", "b")],
                0,
                100,
                b"z",
            ),
        ],
    ));
    let proxy = proxy(
        &[("modern:1", &modern), ("old:1", &old)],
        ProxyConfig::default(),
    )
    .await;
    let mut req = request(0, 100, up());
    req.without_replica_labels = vec!["replica".into()];
    let (got, _) = collect(proxy.series(req).await.expect("opens"))
        .await
        .expect("ok");
    assert_eq!(
        label_sets(&got),
        [
            r#"{__name__="up", instance="z"}"#,
            r#"{__name__="up", job="x"}"#
        ]
    );
    assert_eq!(
        got[1].chunks.len(),
        1,
        "the same chunk from both replicas is kept once"
    );
    assert_eq!(
        modern.series_requests()[0].without_replica_labels,
        ["replica"],
        "passed through to the store"
    );
}

#[tokio::test]
async fn the_series_limit_applies_after_the_merge() {
    let a = Arc::new(store(
        &[("replica", "a")],
        0,
        100,
        vec![series(&[("__name__", "up"), ("job", "a")], 0, 100, b"a")],
    ));
    let b = Arc::new(store(
        &[("replica", "b")],
        0,
        100,
        vec![series(&[("__name__", "up"), ("job", "b")], 0, 100, b"b")],
    ));
    let proxy = proxy(&[("a:1", &a), ("b:1", &b)], ProxyConfig::default()).await;
    let mut req = request(0, 100, up());
    req.limit = Some(1);
    let (got, _) = collect(proxy.series(req).await.expect("opens"))
        .await
        .expect("ok");
    assert_eq!(label_sets(&got), [r#"{__name__="up", job="a"}"#]);
}

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

#[tokio::test]
async fn info_announces_the_union_without_replica_labels() {
    let a = Arc::new(store(
        &[("cluster", "eu"), ("replica", "a")],
        0,
        100,
        vec![],
    ));
    let b = Arc::new(store(
        &[("cluster", "eu"), ("replica", "b")],
        50,
        200,
        vec![],
    ));
    let c = Arc::new(store(&[("cluster", "us")], -10, 20, vec![]));
    let config = ProxyConfig {
        replica_labels: vec!["replica".into()],
        ..ProxyConfig::default()
    };
    let proxy = proxy(&[("a:1", &a), ("b:1", &b), ("c:1", &c)], config).await;
    let info = proxy.info().await.expect("ok");
    assert_eq!(info.component, ComponentType::Query);
    assert_eq!(
        info.label_sets,
        [
            Labels::from_pairs([("cluster", "eu")]),
            Labels::from_pairs([("cluster", "us")])
        ]
    );
    assert_eq!(info.time_range, TimeRange::new(-10, 200));
    assert!(info.supports_without_replica_labels);

    let empty = ProxyStore::new(Arc::new(Vec::<StoreRef>::new()), ProxyConfig::default());
    let info = empty.info().await.expect("ok");
    assert_eq!(info.time_range, Some(TimeRange::ALL));
    assert!(info.label_sets.is_empty());
}
