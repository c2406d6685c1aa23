//! The proxy's own announcement: the union of its stores' label sets and time ranges.

use shared::labels::Labels;

use super::*;

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
