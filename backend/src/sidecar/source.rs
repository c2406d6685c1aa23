//! [`PrometheusStore`]: the StoreAPI served from one Prometheus through its HTTP API.
//!
//! Mirrors thanos pkg/store/prometheus.go (`PrometheusStore`): Series through streamed remote
//! read with external labels attached, label names and values through `/api/v1/labels` and
//! `/api/v1/label/<name>/values`. Chunks pass through encoded. Everything is refused with
//! `Unavailable` while Prometheus's external labels are unknown or empty. It knows nothing of
//! gRPC or of how the sidecar is started.

use std::collections::VecDeque;
use std::sync::Arc;

use futures::future::BoxFuture;
use futures::{StreamExt, stream};
use proto::prometheus::{Query, label_matcher};
use shared::labels::{Labels, MatchOp, Matcher};
use shared::series::TimeRange;

use super::external::{MatcherSplit, announced, series_labels, split_matchers};
use super::order::Reorder;
use super::prometheus::{ChunkedSeriesStream, PrometheusClient, PrometheusError, labels_from_proto};
use super::state::PrometheusState;
use crate::storeapi::{
    AggrChunk, Chunk, ChunkEncoding, ComponentType, LabelNamesRequest, LabelValuesRequest, LabelsResponse, Series,
    SeriesFrame, SeriesRequest, SeriesStream, Store, StoreError, StoreInfo,
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
        let labels = snapshot.serving_labels().map_err(|e| StoreError::Unavailable(e.to_string()))?.clone();
        Ok((labels, snapshot.min_time_ms))
    }

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
        let pipeline = SeriesPipeline {
            frames,
            current: None,
            reorder: Reorder::new(),
            ready: VecDeque::new(),
            external,
            announced,
            skip_chunks: request.skip_chunks,
            remaining: request.limit,
            done: false,
        };
        Ok(Box::pin(stream::unfold(pipeline, |mut p| async move { p.next().await.map(|item| (item, p)) })))
    }

    async fn label_names_impl(&self, request: LabelNamesRequest) -> Result<LabelsResponse, StoreError> {
        let (external, _) = self.external_labels()?;
        let MatcherSplit::Forward(forward) = split_matchers(&request.matchers, &external) else {
            return Ok(LabelsResponse::default());
        };
        let list = self.client.label_names(request.range, &forward).await.map_err(store_error)?;
        let mut names = list.values;
        // As Thanos: external label names join only when some series matched.
        if !names.is_empty() {
            names.extend(announced(&external, &request.without_replica_labels).iter().map(|l| l.name.clone()));
        }
        Ok(finish_labels(names, list.warnings, request.limit))
    }

    async fn label_values_impl(&self, request: LabelValuesRequest) -> Result<LabelsResponse, StoreError> {
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
                return Ok(finish_labels(vec![value.to_string()], vec![], request.limit));
            }
            // Only when some series match the other matchers.
            let list = self.client.label_names(request.range, &forward).await.map_err(store_error)?;
            let values = if list.values.is_empty() { vec![] } else { vec![value.to_string()] };
            return Ok(finish_labels(values, list.warnings, request.limit));
        }
        let list = self.client.label_values(&request.label, request.range, &forward).await.map_err(store_error)?;
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
                serves_metadata: false,
            })
        })
    }

    fn series(&self, request: SeriesRequest) -> BoxFuture<'_, Result<SeriesStream, StoreError>> {
        Box::pin(self.open_series(request))
    }

    fn label_names(&self, request: LabelNamesRequest) -> BoxFuture<'_, Result<LabelsResponse, StoreError>> {
        Box::pin(self.label_names_impl(request))
    }

    fn label_values(&self, request: LabelValuesRequest) -> BoxFuture<'_, Result<LabelsResponse, StoreError>> {
        Box::pin(self.label_values_impl(request))
    }
}

/// Turns remote-read frames into whole, labelled, sorted series.
///
/// Prometheus sends one `ChunkedSeries` per frame and splits a series whose chunks exceed its
/// frame budget over consecutive frames that repeat the labels (prometheus
/// storage/remote/codec.go `StreamChunkedReadResponses`), so consecutive equal labels are joined.
struct SeriesPipeline {
    frames: ChunkedSeriesStream,
    /// The series being assembled: its Prometheus labels and chunks so far.
    current: Option<(Labels, Vec<AggrChunk>)>,
    reorder: Reorder,
    ready: VecDeque<Series>,
    external: Labels,
    announced: Labels,
    skip_chunks: bool,
    remaining: Option<u64>,
    done: bool,
}

impl SeriesPipeline {
    async fn next(&mut self) -> Option<Result<SeriesFrame, StoreError>> {
        loop {
            if self.remaining == Some(0) {
                return None;
            }
            if let Some(series) = self.ready.pop_front() {
                self.remaining = self.remaining.map(|r| r.saturating_sub(1));
                return Some(Ok(SeriesFrame::Series(series)));
            }
            if self.done {
                return None;
            }
            let step = match self.frames.next().await {
                Some(Ok(chunked)) => self.push(chunked),
                Some(Err(error)) => Err(store_error(error)),
                None => self.finish(),
            };
            if let Err(error) = step {
                self.done = true;
                return Some(Err(error));
            }
        }
    }

    fn push(&mut self, chunked: proto::prometheus::ChunkedSeries) -> Result<(), StoreError> {
        let own = labels_from_proto(chunked.labels);
        let chunks = if self.skip_chunks {
            Vec::new()
        } else {
            chunked.chunks.into_iter().map(|c| chunk_from_proto(c, &own)).collect::<Result<Vec<_>, _>>()?
        };
        match &mut self.current {
            Some((labels, so_far)) if *labels == own => so_far.extend(chunks),
            _ => {
                if let Some(previous) = self.current.replace((own, chunks)) {
                    self.emit(previous)?;
                }
            }
        }
        Ok(())
    }

    fn finish(&mut self) -> Result<(), StoreError> {
        self.done = true;
        if let Some(last) = self.current.take() {
            self.emit(last)?;
        }
        let rest = self.reorder.finish().map_err(|e| StoreError::Internal(e.to_string()))?;
        self.ready.extend(rest);
        Ok(())
    }

    fn emit(&mut self, (own, chunks): (Labels, Vec<AggrChunk>)) -> Result<(), StoreError> {
        let labels = series_labels(own.clone(), &self.external, &self.announced);
        let released = self.reorder.push(own, Series { labels, chunks }).map_err(|e| StoreError::Internal(e.to_string()))?;
        self.ready.extend(released);
        Ok(())
    }
}

/// A remote-read chunk as a raw [`AggrChunk`], bytes untouched.
fn chunk_from_proto(chunk: proto::prometheus::Chunk, series: &Labels) -> Result<AggrChunk, StoreError> {
    use proto::prometheus::chunk::Encoding;
    let encoding = match Encoding::try_from(chunk.r#type) {
        Ok(Encoding::Xor) => ChunkEncoding::Xor,
        Ok(Encoding::Histogram) => ChunkEncoding::Histogram,
        Ok(Encoding::FloatHistogram) => ChunkEncoding::FloatHistogram,
        Ok(Encoding::Unknown) | Err(_) => {
            return Err(StoreError::Internal(format!(
                "prometheus sent a chunk of unknown encoding {} for series {series}",
                chunk.r#type
            )));
        }
    };
    Ok(AggrChunk::raw(chunk.min_time_ms, chunk.max_time_ms, Chunk { encoding, data: chunk.data, hash: 0 }))
}

fn matcher_to_proto(m: &Matcher) -> proto::prometheus::LabelMatcher {
    let kind = match m.op() {
        MatchOp::Equal => label_matcher::Type::Eq,
        MatchOp::NotEqual => label_matcher::Type::Neq,
        MatchOp::Regex => label_matcher::Type::Re,
        MatchOp::NotRegex => label_matcher::Type::Nre,
    };
    proto::prometheus::LabelMatcher { r#type: kind as i32, name: m.name().to_string(), value: m.value().to_string() }
}

/// Sorted, unique, at most `limit` (`None`: all).
fn finish_labels(mut values: Vec<String>, warnings: Vec<String>, limit: Option<u64>) -> LabelsResponse {
    values.sort_unstable();
    values.dedup();
    if let Some(limit) = limit {
        values.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
    }
    LabelsResponse { values, warnings }
}

/// Maps a Prometheus failure to the StoreAPI error a querier understands.
fn store_error(error: PrometheusError) -> StoreError {
    let message = error.to_string();
    match error {
        PrometheusError::Unreachable { .. } => StoreError::Unavailable(message),
        PrometheusError::Timeout { .. } => StoreError::DeadlineExceeded(message),
        PrometheusError::Status { status, .. } if (400..500).contains(&status) => StoreError::InvalidArgument(message),
        PrometheusError::Status { .. } => StoreError::Unavailable(message),
        PrometheusError::Request(_) => StoreError::InvalidArgument(message),
        PrometheusError::InvalidUrl { .. } | PrometheusError::InvalidResponse { .. } | PrometheusError::Frame { .. } => {
            StoreError::Internal(message)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn proto_series(pairs: &[(&str, &str)], chunk_times: &[i64]) -> proto::prometheus::ChunkedSeries {
        proto::prometheus::ChunkedSeries {
            labels: pairs.iter().map(|(n, v)| proto::prometheus::Label { name: n.to_string(), value: v.to_string() }).collect(),
            chunks: chunk_times
                .iter()
                .map(|t| proto::prometheus::Chunk {
                    min_time_ms: *t,
                    max_time_ms: t + 10,
                    r#type: 1,
                    data: bytes::Bytes::from_static(b"\x00\x01x"),
                })
                .collect(),
        }
    }

    fn pipeline(frames: Vec<proto::prometheus::ChunkedSeries>, skip_chunks: bool, limit: Option<u64>) -> SeriesPipeline {
        let external = Labels::from_pairs([("replica", "a")]);
        SeriesPipeline {
            frames: Box::pin(stream::iter(frames.into_iter().map(Ok))),
            current: None,
            reorder: Reorder::new(),
            ready: VecDeque::new(),
            announced: external.clone(),
            external,
            skip_chunks,
            remaining: limit,
            done: false,
        }
    }

    async fn collect(mut p: SeriesPipeline) -> Vec<Result<SeriesFrame, StoreError>> {
        let mut out = Vec::new();
        while let Some(item) = p.next().await {
            out.push(item);
        }
        out
    }

    fn series(item: &Result<SeriesFrame, StoreError>) -> &Series {
        match item {
            Ok(SeriesFrame::Series(s)) => s,
            other => panic!("not a series: {other:?}"),
        }
    }

    #[tokio::test]
    async fn frames_of_one_series_are_joined_and_labelled() {
        let frames = vec![
            proto_series(&[("__name__", "up"), ("job", "a")], &[0, 100]),
            proto_series(&[("__name__", "up"), ("job", "a")], &[200]),
            proto_series(&[("__name__", "up"), ("job", "b")], &[0]),
        ];
        let out = collect(pipeline(frames, false, None)).await;
        assert_eq!(out.len(), 2);
        let first = series(&out[0]);
        assert_eq!(first.labels, Labels::from_pairs([("__name__", "up"), ("job", "a"), ("replica", "a")]));
        assert_eq!(first.chunks.iter().map(|c| c.min_time_ms).collect::<Vec<_>>(), [0, 100, 200]);
        assert_eq!(first.chunks[0].raw.as_ref().expect("raw chunk present").encoding, ChunkEncoding::Xor);
        assert_eq!(series(&out[1]).chunks.len(), 1);
    }

    #[tokio::test]
    async fn skip_chunks_and_limit_are_honoured() {
        let frames = vec![proto_series(&[("a", "1")], &[0]), proto_series(&[("a", "2")], &[0]), proto_series(&[("a", "3")], &[0])];
        let out = collect(pipeline(frames, true, Some(2))).await;
        assert_eq!(out.len(), 2);
        assert!(out.iter().all(|s| series(s).chunks.is_empty()));
    }

    #[tokio::test]
    async fn unknown_chunk_encoding_is_an_error() {
        let mut frame = proto_series(&[("a", "1")], &[0]);
        frame.chunks[0].r#type = 0;
        let out = collect(pipeline(vec![frame], false, None)).await;
        assert!(matches!(&out[0], Err(StoreError::Internal(m)) if m.contains("unknown encoding 0")), "{out:?}");
    }

    #[test]
    fn prometheus_errors_map_to_store_errors() {
        let url = "http://p/api/v1/read".to_string();
        let e = store_error(PrometheusError::Unreachable { url: url.clone(), reason: "connection refused".into() });
        assert_eq!(e, StoreError::Unavailable("prometheus at http://p/api/v1/read: connection refused".into()));
        let e = store_error(PrometheusError::Status { url: url.clone(), status: 400, body: "bad".into() });
        assert!(matches!(e, StoreError::InvalidArgument(m) if m.ends_with("400: bad")));
        let e = store_error(PrometheusError::Timeout { url, timeout: Duration::from_secs(1) });
        assert!(matches!(e, StoreError::DeadlineExceeded(_)));
    }

    #[tokio::test]
    async fn not_ready_store_is_unavailable() {
        let client = PrometheusClient::new("http://127.0.0.1:9", Duration::from_secs(1), 1000).expect("valid Prometheus URL");
        let store = PrometheusStore::new(client, Arc::new(PrometheusState::new()));
        let err = store.info().await.expect_err("not ready yet");
        assert!(matches!(err, StoreError::Unavailable(_)), "{err:?}");
        let request = SeriesRequest::new(TimeRange::ALL, vec![Matcher::equal("__name__", "up")]);
        assert!(matches!(store.series(request).await, Err(StoreError::Unavailable(_))));
    }

    #[test]
    fn label_lists_are_sorted_unique_and_limited() {
        let out = finish_labels(vec!["b".into(), "a".into(), "b".into(), "c".into()], vec![], Some(2));
        assert_eq!(out.values, ["a", "b"]);
    }
}
