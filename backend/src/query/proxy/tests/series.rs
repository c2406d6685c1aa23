//! Series answers: the k-way merge, replica-label stripping and the series limit.

use super::*;

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
