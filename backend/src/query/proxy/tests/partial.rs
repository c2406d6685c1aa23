//! Failing, silent and warning stores under each partial-response policy.

use std::time::Duration;

use tokio::time::Instant;

use super::*;
use crate::query::memstore::Behaviour;

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
