//! The metric metadata fan-out: who is asked, how answers merge, the limit, and failures under
//! each partial-response policy.

use std::collections::BTreeMap;
use std::time::Duration;

use futures::future::{self, BoxFuture};

use super::*;
use crate::storeapi::{
    LabelNamesRequest, LabelValuesRequest, LabelsResponse, MetadataResponse, MetricMetadata,
    MetricMetadataRequest,
};

/// A store that serves only metadata: a fixed answer, or an error, after an optional delay.
struct MetadataStore {
    answer: Result<MetadataResponse, StoreError>,
    delay: Duration,
}

impl Store for MetadataStore {
    fn info(&self) -> BoxFuture<'_, Result<StoreInfo, StoreError>> {
        future::ready(Err(StoreError::Unimplemented("not announced here".into()))).boxed()
    }
    fn series(&self, _: SeriesRequest) -> BoxFuture<'_, Result<SeriesStream, StoreError>> {
        future::ready(Ok(futures::stream::empty().boxed() as SeriesStream)).boxed()
    }
    fn label_names(
        &self,
        _: LabelNamesRequest,
    ) -> BoxFuture<'_, Result<LabelsResponse, StoreError>> {
        future::ready(Ok(LabelsResponse::default())).boxed()
    }
    fn label_values(
        &self,
        _: LabelValuesRequest,
    ) -> BoxFuture<'_, Result<LabelsResponse, StoreError>> {
        future::ready(Ok(LabelsResponse::default())).boxed()
    }
    fn metric_metadata(
        &self,
        _: MetricMetadataRequest,
    ) -> BoxFuture<'_, Result<MetadataResponse, StoreError>> {
        let (answer, delay) = (self.answer.clone(), self.delay);
        async move {
            tokio::time::sleep(delay).await;
            answer
        }
        .boxed()
    }
}

fn meta(kind: &str, help: &str) -> MetricMetadata {
    MetricMetadata {
        kind: kind.into(),
        help: help.into(),
        unit: String::new(),
    }
}

fn answer(entries: &[(&str, MetricMetadata)]) -> Result<MetadataResponse, StoreError> {
    let mut metadata: BTreeMap<String, Vec<MetricMetadata>> = BTreeMap::new();
    for (metric, m) in entries {
        metadata
            .entry((*metric).into())
            .or_default()
            .push(m.clone());
    }
    Ok(MetadataResponse {
        metadata,
        warnings: Vec::new(),
    })
}

/// A store at `address` answering `answer`, announcing the metadata API when `serves`.
fn metadata_ref(
    address: &str,
    serves: bool,
    answer: Result<MetadataResponse, StoreError>,
) -> StoreRef {
    let mut info = sidecar_info(&[("replica", address)], 0, 1000);
    info.serves_metadata = serves;
    StoreRef {
        address: address.into(),
        store: Arc::new(MetadataStore {
            answer,
            delay: Duration::ZERO,
        }),
        info: Arc::new(info),
    }
}

fn metadata_request(limit: Option<usize>, policy: PartialResponse) -> MetricMetadataRequest {
    MetricMetadataRequest {
        metric: None,
        limit,
        partial_response: policy,
    }
}

#[tokio::test]
async fn replicas_merge_into_distinct_descriptions_from_serving_stores_only() {
    let up = meta("gauge", "Up.");
    let stores = vec![
        metadata_ref(
            "a:1",
            true,
            answer(&[("up", up.clone()), ("x", meta("counter", "X."))]),
        ),
        metadata_ref(
            "b:1",
            true,
            answer(&[("up", up.clone()), ("up", meta("counter", "Old."))]),
        ),
        metadata_ref(
            "c:1",
            false,
            answer(&[("hidden", meta("gauge", "Never asked."))]),
        ),
    ];
    let proxy = ProxyStore::new(Arc::new(stores), ProxyConfig::default());
    let merged = proxy
        .metric_metadata(metadata_request(None, PartialResponse::Warn))
        .await
        .expect("all stores answer");
    assert_eq!(merged.metadata.keys().collect::<Vec<_>>(), ["up", "x"]);
    assert_eq!(
        merged.metadata["up"].len(),
        2,
        "identical descriptions listed once"
    );
    assert!(merged.metadata["up"].contains(&meta("counter", "Old.")));
    assert!(merged.warnings.is_empty());

    let limited = proxy
        .metric_metadata(metadata_request(Some(1), PartialResponse::Warn))
        .await
        .expect("all stores answer");
    assert_eq!(limited.metadata.keys().collect::<Vec<_>>(), ["up"]);
    assert!(proxy.info().await.expect("announces").serves_metadata);
}

#[tokio::test]
async fn a_failing_store_is_a_warning_or_aborts() {
    let stores = vec![
        metadata_ref("a:1", true, answer(&[("up", meta("gauge", "Up."))])),
        metadata_ref(
            "b:1",
            true,
            Err(StoreError::Unavailable("b:1: refused".into())),
        ),
    ];
    let proxy = ProxyStore::new(Arc::new(stores), ProxyConfig::default());
    let warned = proxy
        .metric_metadata(metadata_request(None, PartialResponse::Warn))
        .await
        .expect("partial answer");
    assert_eq!(warned.metadata.len(), 1);
    assert_eq!(
        warned.warnings,
        ["fetch metric metadata from store b:1: unavailable: b:1: refused"]
    );
    let aborted = proxy
        .metric_metadata(metadata_request(None, PartialResponse::Abort))
        .await
        .expect_err("abort on failure");
    assert!(
        matches!(&aborted, StoreError::Aborted(m) if m.contains("b:1")),
        "{aborted}"
    );
}

#[tokio::test]
async fn a_silent_store_times_out_and_no_stores_under_abort_fails() {
    let mut slow = metadata_ref("slow:1", true, answer(&[("up", meta("gauge", "Up."))]));
    slow.store = Arc::new(MetadataStore {
        answer: answer(&[("up", meta("gauge", "Up."))]),
        delay: Duration::from_secs(30),
    });
    let config = ProxyConfig {
        response_timeout: Some(Duration::from_millis(50)),
        ..ProxyConfig::default()
    };
    let proxy = ProxyStore::new(Arc::new(vec![slow]), config);
    let warned = proxy
        .metric_metadata(metadata_request(None, PartialResponse::Warn))
        .await
        .expect("partial answer");
    assert!(warned.metadata.is_empty());
    assert!(
        warned.warnings[0].contains("slow:1"),
        "{:?}",
        warned.warnings
    );

    let empty = ProxyStore::new(Arc::new(Vec::<StoreRef>::new()), ProxyConfig::default());
    let error = empty
        .metric_metadata(metadata_request(None, PartialResponse::Abort))
        .await
        .expect_err("no stores");
    assert_eq!(error, StoreError::Aborted(NO_STORES.into()));
    let nothing = empty
        .metric_metadata(metadata_request(None, PartialResponse::Warn))
        .await
        .expect("empty answer");
    assert_eq!(nothing, MetadataResponse::default());
}
