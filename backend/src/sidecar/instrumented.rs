//! A [`Store`] decorator that records every call in [`Metrics`] under its gRPC method name and
//! status code, so `/metrics` shows the StoreAPI traffic the sidecar served. A Series call is
//! timed until its stream ends or is dropped. It knows nothing of what the inner store does.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use futures::Stream;
use futures::future::BoxFuture;

use crate::storeapi::{
    LabelNamesRequest, LabelValuesRequest, LabelsResponse, MetadataResponse, MetricMetadataRequest,
    SeriesFrame, SeriesRequest, SeriesStream, Store, StoreError, StoreInfo,
};
use crate::telemetry::{Metrics, Protocol};

/// Full gRPC method names (THANOS.md §1.1).
const INFO: &str = "/thanos.info.Info/Info";
const SERIES: &str = "/thanos.Store/Series";
const LABEL_NAMES: &str = "/thanos.Store/LabelNames";
const LABEL_VALUES: &str = "/thanos.Store/LabelValues";
const METRIC_METADATA: &str = "/thanos.Metadata/MetricMetadata";

/// Wraps a store and records each call's latency and outcome.
pub struct InstrumentedStore<S> {
    inner: S,
    metrics: Arc<Metrics>,
}

impl<S: Store> InstrumentedStore<S> {
    /// Records calls to `inner` in `metrics`.
    pub fn new(inner: S, metrics: Arc<Metrics>) -> Self {
        Self { inner, metrics }
    }

    async fn timed<T>(
        &self,
        method: &'static str,
        call: impl Future<Output = Result<T, StoreError>>,
    ) -> Result<T, StoreError> {
        let start = Instant::now();
        let result = call.await;
        self.metrics.observe(
            Protocol::Grpc,
            method,
            code(result.as_ref().err()),
            start.elapsed(),
        );
        result
    }
}

impl<S: Store> Store for InstrumentedStore<S> {
    fn info(&self) -> BoxFuture<'_, Result<StoreInfo, StoreError>> {
        Box::pin(self.timed(INFO, self.inner.info()))
    }

    fn series(&self, request: SeriesRequest) -> BoxFuture<'_, Result<SeriesStream, StoreError>> {
        Box::pin(async move {
            let start = Instant::now();
            match self.inner.series(request).await {
                Ok(inner) => {
                    let stream = TimedStream {
                        inner,
                        metrics: self.metrics.clone(),
                        start,
                        code: "OK",
                    };
                    Ok(Box::pin(stream) as SeriesStream)
                }
                Err(error) => {
                    self.metrics.observe(
                        Protocol::Grpc,
                        SERIES,
                        code(Some(&error)),
                        start.elapsed(),
                    );
                    Err(error)
                }
            }
        })
    }

    fn label_names(
        &self,
        request: LabelNamesRequest,
    ) -> BoxFuture<'_, Result<LabelsResponse, StoreError>> {
        Box::pin(self.timed(LABEL_NAMES, self.inner.label_names(request)))
    }

    fn label_values(
        &self,
        request: LabelValuesRequest,
    ) -> BoxFuture<'_, Result<LabelsResponse, StoreError>> {
        Box::pin(self.timed(LABEL_VALUES, self.inner.label_values(request)))
    }

    fn metric_metadata(
        &self,
        request: MetricMetadataRequest,
    ) -> BoxFuture<'_, Result<MetadataResponse, StoreError>> {
        Box::pin(self.timed(METRIC_METADATA, self.inner.metric_metadata(request)))
    }
}

/// A Series stream that records the call when it is dropped (finished or abandoned).
struct TimedStream {
    inner: SeriesStream,
    metrics: Arc<Metrics>,
    start: Instant,
    code: &'static str,
}

impl Stream for TimedStream {
    type Item = Result<SeriesFrame, StoreError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let polled = self.inner.as_mut().poll_next(cx);
        if let Poll::Ready(Some(Err(error))) = &polled {
            self.code = code(Some(error));
        }
        polled
    }
}

impl Drop for TimedStream {
    fn drop(&mut self) {
        let elapsed: Duration = self.start.elapsed();
        self.metrics
            .observe(Protocol::Grpc, SERIES, self.code, elapsed);
    }
}

/// The gRPC status code name of an outcome.
fn code(error: Option<&StoreError>) -> &'static str {
    match error {
        None => "OK",
        Some(StoreError::InvalidArgument(_)) => "InvalidArgument",
        Some(StoreError::Unavailable(_)) => "Unavailable",
        Some(StoreError::DeadlineExceeded(_)) => "DeadlineExceeded",
        Some(StoreError::Aborted(_)) => "Aborted",
        Some(StoreError::Cancelled(_)) => "Canceled",
        Some(StoreError::Unimplemented(_)) => "Unimplemented",
        Some(StoreError::Internal(_)) => "Internal",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storeapi::{ComponentType, Series};
    use futures::StreamExt;
    use shared::labels::Labels;
    use shared::series::TimeRange;

    struct Fixed;

    impl Store for Fixed {
        fn info(&self) -> BoxFuture<'_, Result<StoreInfo, StoreError>> {
            Box::pin(async {
                Ok(StoreInfo {
                    component: ComponentType::Sidecar,
                    label_sets: vec![],
                    time_range: None,
                    supports_without_replica_labels: true,
                    serves_metadata: false,
                })
            })
        }
        fn series(&self, _: SeriesRequest) -> BoxFuture<'_, Result<SeriesStream, StoreError>> {
            let frame = Ok(SeriesFrame::Series(Series {
                labels: Labels::from_pairs([("a", "1")]),
                chunks: vec![],
            }));
            Box::pin(async move { Ok(Box::pin(futures::stream::iter([frame])) as SeriesStream) })
        }
        fn label_names(
            &self,
            _: LabelNamesRequest,
        ) -> BoxFuture<'_, Result<LabelsResponse, StoreError>> {
            Box::pin(async { Err(StoreError::Unavailable("down".into())) })
        }
        fn label_values(
            &self,
            _: LabelValuesRequest,
        ) -> BoxFuture<'_, Result<LabelsResponse, StoreError>> {
            Box::pin(async { Ok(LabelsResponse::default()) })
        }
    }

    #[tokio::test]
    async fn calls_are_recorded_with_method_and_code() {
        let metrics = Arc::new(Metrics::new());
        let store = InstrumentedStore::new(Fixed, metrics.clone());
        store.info().await.expect("info call succeeds");
        let request = LabelNamesRequest {
            range: TimeRange::ALL,
            matchers: vec![],
            without_replica_labels: vec![],
            partial_response: Default::default(),
            limit: None,
        };
        assert!(store.label_names(request).await.is_err());
        let stream = store
            .series(SeriesRequest::new(TimeRange::ALL, vec![]))
            .await
            .expect("series call succeeds");
        assert_eq!(
            metrics.count(Protocol::Grpc, SERIES),
            0,
            "recorded only when the stream ends"
        );
        assert_eq!(stream.collect::<Vec<_>>().await.len(), 1);
        assert_eq!(metrics.count(Protocol::Grpc, SERIES), 1);
        assert_eq!(metrics.count(Protocol::Grpc, INFO), 1);
        let text = metrics.render();
        assert!(
            text.contains(r#"grpc_method="/thanos.Store/LabelNames",code="Unavailable"} 1"#),
            "{text}"
        );
    }
}
