//! The label names and label values endpoints: replica labels, selectors, escaped names, limits,
//! warnings and errors.

use super::*;
use crate::storeapi::LabelNamesRequest;

#[tokio::test]
async fn label_names_include_replica_labels_and_unite_selectors() {
    let store = Arc::new(replicated_store());
    let answer = get(app(store.clone()), "/api/v1/labels").await;
    assert_eq!(
        answer.json(),
        json!({"status": "success", "data": ["__name__", "job", "replica"]})
    );
    let answer = post_form(
        app(store.clone()),
        "/api/v1/labels",
        "match[]=errors_total&match[]=up&limit=5",
    )
    .await;
    assert_eq!(answer.json()["data"], json!(["__name__", "job", "replica"]));
    let names: Vec<LabelNamesRequest> = store
        .received()
        .into_iter()
        .filter_map(|r| match r {
            Received::Names(n) => Some(n),
            _ => None,
        })
        .collect();
    assert_eq!(names.len(), 3);
    assert!(names.iter().all(|n| n.without_replica_labels.is_empty()));
    assert_eq!(names[1].limit, Some(6));
    assert_eq!(names[0].matchers.len(), 0);
}

#[tokio::test]
async fn label_values_of_name_and_escaped_names() {
    let store = Arc::new(FakeStore::with_series(&[
        &[("__name__", "up"), ("foo.bar", "x")],
        &[("__name__", "http.requests"), ("foo.bar", "y")],
    ]));
    let answer = get(app(store.clone()), "/api/v1/label/__name__/values").await;
    assert_eq!(
        answer.json(),
        json!({"status": "success", "data": ["http.requests", "up"]})
    );
    let answer = get(
        app(store.clone()),
        "/api/v1/label/U__foo_2e_bar/values?match[]=%7B%22http.requests%22%7D",
    )
    .await;
    assert_eq!(answer.json()["data"], json!(["y"]));
    let last = store.received().pop();
    assert!(
        matches!(last, Some(Received::Values(v)) if v.label == "foo.bar" && v.matchers.len() == 1)
    );
}

#[tokio::test]
async fn label_limit_and_warnings() {
    let store = Arc::new(FakeStore {
        warnings: vec!["store b down".into()],
        ..replicated_store()
    });
    let answer = get(app(store), "/api/v1/label/job/values?limit=1").await;
    assert_eq!(
        answer.json(),
        json!({"status": "success", "data": ["api"], "warnings": ["store b down", "results truncated due to limit"]})
    );
    assert_eq!(
        answer
            .headers
            .get(header::CACHE_CONTROL)
            .map(|v| v.as_bytes()),
        Some(&b"no-store"[..])
    );
}

#[tokio::test]
async fn label_errors() {
    let store = Arc::new(replicated_store());
    assert_error(
        &get(app(store.clone()), "/api/v1/labels?match[]=%7B").await,
        400,
        "bad_data",
        "1:2: parse error",
    );
    assert_error(
        &get(app(store.clone()), "/api/v1/labels?end=abc").await,
        400,
        "bad_data",
        "invalid parameter \"end\"",
    );
    assert_error(
        &get(app(store.clone()), "/api/v1/label/U__/values").await,
        400,
        "bad_data",
        "invalid label name",
    );
    assert_error(
        &get(app(store), "/api/v1/label/job/values?limit=x").await,
        400,
        "bad_data",
        "invalid parameter \"limit\"",
    );
}
