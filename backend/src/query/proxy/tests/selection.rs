//! Which stores a request goes to: announced time ranges and external label sets.

use shared::labels::{Labels, MatchOp};

use super::*;

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
