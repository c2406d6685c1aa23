//! [`PrometheusStore`]: the StoreAPI served from one Prometheus through its HTTP API.
//!
//! Mirrors thanos pkg/store/prometheus.go (`PrometheusStore`): Series through streamed remote
//! read with external labels attached, label names and values through `/api/v1/labels` and
//! `/api/v1/label/<name>/values`, metric metadata through `/api/v1/metadata` (as thanos
//! pkg/metadata/prometheus.go). Chunks pass through encoded. Everything is refused with
//! `Unavailable` while Prometheus's external labels are unknown or empty. It knows nothing of
//! gRPC or of how the sidecar is started.
//!
//! `skip_chunks` requests also go through remote read, with the chunks dropped as they arrive
//! (Thanos uses `/api/v1/series` instead). Remote read streams series sorted and frame by frame,
//! so memory stays flat; the JSON of `/api/v1/series` would have to be read whole before the
//! first series could be sent. The cost is chunk bytes on the local link to Prometheus.

use std::sync::Arc;

use futures::future::BoxFuture;
use futures::stream;
use proto::prometheus::{Query, label_matcher};
use shared::labels::{Labels, MatchOp, Matcher};
use shared::series::TimeRange;

use super::external::{MatcherSplit, announced, split_matchers};
use super::prometheus::{PrometheusClient, PrometheusError};
use super::series::SeriesPipeline;
use super::state::PrometheusState;
use crate::storeapi::{
    ComponentType, LabelNamesRequest, LabelValuesRequest, LabelsResponse, MetadataResponse,
    MetricMetadataRequest, SeriesRequest, SeriesStream, Store, StoreError, StoreInfo,
};

/// Thanos's answer when only external-label matchers are left (pkg/store/prometheus.go).
const NO_MATCHERS: &str = "no matchers specified (excluding external labels)";

/// A [`Store`] over one Prometheus server.
#[derive(Debug, Clone)]
pub struct PrometheusStore {
    client: PrometheusClient,
    state: Arc<PrometheusState>,
}

impl PrometheusStore {
    /// A store reading through `client`, with external labels and min time from `state`
    /// (kept fresh by [`super::state::refresh_loop`]).
    pub fn new(client: PrometheusClient, state: Arc<PrometheusState>) -> Self {
        Self { client, state }
    }

    /// The external labels to serve with, or `Unavailable` with the reason.
    fn external_labels(&self) -> Result<(Labels, Option<i64>), StoreError> {
        let snapshot = self.state.snapshot();
        let labels = snapshot
            .serving_labels()
            .map_err(|e| StoreError::Unavailable(e.to_string()))?
            .clone();
        Ok((labels, snapshot.min_time_ms))
    }

    #[tracing::instrument(skip_all, fields(mint_ms = request.range.min_ms(), maxt_ms = request.range.max_ms(), skip_chunks = request.skip_chunks))]
    async fn open_series(&self, request: SeriesRequest) -> Result<SeriesStream, StoreError> {
        let (external, min_time_ms) = self.external_labels()?;
        let forward = match split_matchers(&request.matchers, &external) {
            MatcherSplit::Mismatch => return Ok(Box::pin(stream::empty())),
            MatcherSplit::Forward(forward) if forward.is_empty() => {
                return Err(StoreError::InvalidArgument(NO_MATCHERS.into()));
            }
            MatcherSplit::Forward(forward) => forward,
        };
        // Do not ask for more than Prometheus has (Thanos clamps to its announced min time).
        let start_ms = request.range.min_ms().max(min_time_ms.unwrap_or(i64::MIN));
        let end_ms = request.range.max_ms();
        if start_ms > end_ms {
            return Ok(Box::pin(stream::empty()));
        }
        let query = Query {
            start_timestamp_ms: start_ms,
            end_timestamp_ms: end_ms,
            matchers: forward.iter().map(matcher_to_proto).collect(),
            hints: None,
        };
        tracing::debug!(prometheus = %self.client.url(), start_ms, end_ms, matchers = ?forward, "remote read");
        let frames = self.client.remote_read(query).await.map_err(store_error)?;
        let announced = announced(&external, &request.without_replica_labels);
        let pipeline = SeriesPipeline::new(
            frames,
            external,
            announced,
            request.skip_chunks,
            request.limit,
        );
        Ok(pipeline.into_stream())
    }

    #[tracing::instrument(skip_all, fields(mint_ms = request.range.min_ms(), maxt_ms = request.range.max_ms()))]
    async fn label_names_impl(
        &self,
        request: LabelNamesRequest,
    ) -> Result<LabelsResponse, StoreError> {
        let (external, _) = self.external_labels()?;
        let MatcherSplit::Forward(forward) = split_matchers(&request.matchers, &external) else {
            return Ok(LabelsResponse::default());
        };
        let list = self
            .client
            .label_names(request.range, &forward)
            .await
            .map_err(store_error)?;
        let mut names = list.values;
        // As Thanos: external label names join only when some series matched.
        if !names.is_empty() {
            names.extend(
                announced(&external, &request.without_replica_labels)
                    .iter()
                    .map(|l| l.name.clone()),
            );
        }
        Ok(finish_labels(names, list.warnings, request.limit))
    }

    #[tracing::instrument(skip_all, fields(mint_ms = request.range.min_ms(), maxt_ms = request.range.max_ms(), label = %request.label))]
    async fn label_values_impl(
        &self,
        request: LabelValuesRequest,
    ) -> Result<LabelsResponse, StoreError> {
        let (external, _) = self.external_labels()?;
        let MatcherSplit::Forward(forward) = split_matchers(&request.matchers, &external) else {
            return Ok(LabelsResponse::default());
        };
        if let Some(value) = external.get(&request.label) {
            // The external value replaces every series' own value for this name.
            if request.without_replica_labels.contains(&request.label) {
                return Ok(LabelsResponse::default());
            }
            if forward.is_empty() {
                return Ok(finish_labels(
                    vec![value.to_string()],
                    vec![],
                    request.limit,
                ));
            }
            // Only when some series match the other matchers.
            let list = self
                .client
                .label_names(request.range, &forward)
                .await
                .map_err(store_error)?;
            let values = if list.values.is_empty() {
                vec![]
            } else {
                vec![value.to_string()]
            };
            return Ok(finish_labels(values, list.warnings, request.limit));
        }
        let list = self
            .client
            .label_values(&request.label, request.range, &forward)
            .await
            .map_err(store_error)?;
        Ok(finish_labels(list.values, list.warnings, request.limit))
    }
}

impl Store for PrometheusStore {
    fn info(&self) -> BoxFuture<'_, Result<StoreInfo, StoreError>> {
        Box::pin(async move {
            let (external, min_time_ms) = self.external_labels()?;
            // Prometheus keeps ingesting, so the range is open-ended (as the Thanos sidecar's).
            let time_range = TimeRange::new(min_time_ms.unwrap_or(i64::MIN), i64::MAX);
            Ok(StoreInfo {
                component: ComponentType::Sidecar,
                label_sets: vec![external],
                time_range,
                supports_without_replica_labels: true,
                serves_metadata: true,
            })
        })
    }

    fn series(&self, request: SeriesRequest) -> BoxFuture<'_, Result<SeriesStream, StoreError>> {
        Box::pin(self.open_series(request))
    }

    fn label_names(
        &self,
        request: LabelNamesRequest,
    ) -> BoxFuture<'_, Result<LabelsResponse, StoreError>> {
        Box::pin(self.label_names_impl(request))
    }

    fn label_values(
        &self,
        request: LabelValuesRequest,
    ) -> BoxFuture<'_, Result<LabelsResponse, StoreError>> {
        Box::pin(self.label_values_impl(request))
    }

    /// Prometheus's own metadata, passed through: it needs no external labels, so it is served
    /// even while they are unknown.
    fn metric_metadata(
        &self,
        request: MetricMetadataRequest,
    ) -> BoxFuture<'_, Result<MetadataResponse, StoreError>> {
        Box::pin(async move {
            self.client
                .metric_metadata(request.metric.as_deref(), request.limit)
                .await
                .map_err(store_error)
        })
    }
}

fn matcher_to_proto(m: &Matcher) -> proto::prometheus::LabelMatcher {
    let kind = match m.op() {
        MatchOp::Equal => label_matcher::Type::Eq,
        MatchOp::NotEqual => label_matcher::Type::Neq,
        MatchOp::Regex => label_matcher::Type::Re,
        MatchOp::NotRegex => label_matcher::Type::Nre,
    };
    proto::prometheus::LabelMatcher {
        r#type: kind as i32,
        name: m.name().to_string(),
        value: m.value().to_string(),
    }
}

/// Sorted, unique, at most `limit` (`None`: all).
fn finish_labels(
    mut values: Vec<String>,
    warnings: Vec<String>,
    limit: Option<u64>,
) -> LabelsResponse {
    values.sort_unstable();
    values.dedup();
    if let Some(limit) = limit {
        values.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
    }
    LabelsResponse { values, warnings }
}

/// Maps a Prometheus failure to the StoreAPI error a querier understands.
pub(super) fn store_error(error: PrometheusError) -> StoreError {
    let message = error.to_string();
    match error {
        PrometheusError::Unreachable { .. } => StoreError::Unavailable(message),
        PrometheusError::Timeout { .. } => StoreError::DeadlineExceeded(message),
        PrometheusError::Status { status, .. } if (400..500).contains(&status) => {
            StoreError::InvalidArgument(message)
        }
        PrometheusError::Status { .. } => StoreError::Unavailable(message),
        PrometheusError::Request(_) => StoreError::InvalidArgument(message),
        PrometheusError::InvalidUrl { .. }
        | PrometheusError::InvalidResponse { .. }
        | PrometheusError::Frame { .. } => StoreError::Internal(message),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn prometheus_errors_map_to_store_errors() {
        let url = "http://p/api/v1/read".to_string();
        let e = store_error(PrometheusError::Unreachable {
            url: url.clone(),
            reason: "connection refused".into(),
        });
        assert_eq!(
            e,
            StoreError::Unavailable(
                "prometheus at http://p/api/v1/read: connection refused".into()
            )
        );
        let e = store_error(PrometheusError::Status {
            url: url.clone(),
            status: 400,
            body: "bad".into(),
        });
        assert!(matches!(e, StoreError::InvalidArgument(m) if m.ends_with("400: bad")));
        let e = store_error(PrometheusError::Timeout {
            url,
            timeout: Duration::from_secs(1),
        });
        assert!(matches!(e, StoreError::DeadlineExceeded(_)));
    }

    #[tokio::test]
    async fn not_ready_store_is_unavailable() {
        let client = PrometheusClient::new("http://127.0.0.1:9", Duration::from_secs(1), 1000)
            .expect("valid Prometheus URL");
        let store = PrometheusStore::new(client, Arc::new(PrometheusState::new()));
        let err = store.info().await.expect_err("not ready yet");
        assert!(matches!(err, StoreError::Unavailable(_)), "{err:?}");
        let request = SeriesRequest::new(TimeRange::ALL, vec![Matcher::equal("__name__", "up")]);
        assert!(matches!(
            store.series(request).await,
            Err(StoreError::Unavailable(_))
        ));
    }

    #[test]
    fn label_lists_are_sorted_unique_and_limited() {
        let out = finish_labels(
            vec!["b".into(), "a".into(), "b".into(), "c".into()],
            vec![],
            Some(2),
        );
        assert_eq!(out.values, ["a", "b"]);
    }
}
