//! An in-memory [`Store`] over already-encoded chunks: what the demo serves for each replica.
//!
//! It behaves like a sidecar in front of one Prometheus: every series carries the store's
//! external labels, [`Store::info`] announces them with the data's time range, requests are
//! answered from the series whose labels match and whose chunks overlap the requested range,
//! series come out sorted, and `without_replica_labels` strips those external labels. The store
//! never decodes chunks; it only compares their time bounds. It knows nothing of gRPC or of how
//! chunks are encoded.

use std::collections::BTreeSet;

use futures::FutureExt;
use futures::future::BoxFuture;
use shared::labels::{Labels, Matcher, matches_all};
use shared::series::TimeRange;

use crate::storeapi::{
    AggrChunk, ComponentType, LabelNamesRequest, LabelValuesRequest, LabelsResponse, Series,
    SeriesFrame, SeriesRequest, SeriesStream, Store, StoreError, StoreInfo,
};

/// One series as stored: labels with the external labels applied, chunks sorted by time.
#[derive(Debug, Clone)]
struct StoredSeries {
    labels: Labels,
    chunks: Vec<AggrChunk>,
}

impl StoredSeries {
    fn overlaps(&self, range: &TimeRange) -> bool {
        self.chunks
            .iter()
            .any(|c| chunk_range(c).is_some_and(|r| r.overlaps(range)))
    }
}

fn chunk_range(chunk: &AggrChunk) -> Option<TimeRange> {
    TimeRange::new(chunk.min_time_ms, chunk.max_time_ms)
}

/// A read-only store of series held in memory.
#[derive(Debug, Clone)]
pub struct MemStore {
    component: ComponentType,
    external_labels: Labels,
    /// Sorted by labels, labels unique.
    series: Vec<StoredSeries>,
    time_range: Option<TimeRange>,
}

impl MemStore {
    /// A store announcing itself as `component`, whose series get `external_labels` (a series'
    /// own label of the same name wins, as in Prometheus). Chunks of each series are sorted by
    /// time; series with equal labels are merged.
    pub fn new(
        component: ComponentType,
        external_labels: Labels,
        series: Vec<(Labels, Vec<AggrChunk>)>,
    ) -> Self {
        let mut stored: Vec<StoredSeries> = series
            .into_iter()
            .map(|(own, mut chunks)| {
                let mut labels = external_labels.clone();
                labels.merge_from(&own);
                chunks.sort_by_key(|c| (c.min_time_ms, c.max_time_ms));
                StoredSeries { labels, chunks }
            })
            .collect();
        stored.sort_by(|a, b| a.labels.cmp(&b.labels));
        stored.dedup_by(|later, earlier| {
            let same = later.labels == earlier.labels;
            if same {
                earlier.chunks.append(&mut later.chunks);
                earlier
                    .chunks
                    .sort_by_key(|c| (c.min_time_ms, c.max_time_ms));
            }
            same
        });
        let time_range = stored
            .iter()
            .flat_map(|s| s.chunks.iter())
            .filter_map(chunk_range)
            .reduce(|a, b| a.union(&b));
        Self {
            component,
            external_labels,
            series: stored,
            time_range,
        }
    }

    /// Number of series held.
    pub fn num_series(&self) -> usize {
        self.series.len()
    }

    /// Series matching `matchers` with data in `range`, in label order.
    fn selected<'a>(
        &'a self,
        range: &'a TimeRange,
        matchers: &'a [Matcher],
    ) -> impl Iterator<Item = &'a StoredSeries> {
        self.series
            .iter()
            .filter(move |s| matches_all(matchers, &s.labels) && s.overlaps(range))
    }

    /// `labels` without the requested replica labels, when they are external labels of this
    /// store (a store only strips what it added, as Thanos's sidecar does).
    fn strip(&self, labels: &Labels, without: &[String]) -> Labels {
        let names: Vec<&str> = without
            .iter()
            .map(String::as_str)
            .filter(|n| self.external_labels.contains(n))
            .collect();
        let mut labels = labels.clone();
        labels.remove_names(&names);
        labels
    }

    fn series_now(&self, request: &SeriesRequest) -> Vec<SeriesFrame> {
        let limit = request
            .limit
            .and_then(|l| usize::try_from(l).ok())
            .unwrap_or(usize::MAX);
        let mut out: Vec<Series> = self
            .selected(&request.range, &request.matchers)
            .map(|s| Series {
                labels: self.strip(&s.labels, &request.without_replica_labels),
                chunks: if request.skip_chunks {
                    Vec::new()
                } else {
                    s.chunks
                        .iter()
                        .filter(|c| chunk_range(c).is_some_and(|r| r.overlaps(&request.range)))
                        .cloned()
                        .collect()
                },
            })
            .collect();
        // Stripping labels can change the order (a shorter set sorts first), so sort again.
        out.sort_by(|a, b| a.labels.cmp(&b.labels));
        out.truncate(limit);
        out.into_iter().map(SeriesFrame::Series).collect()
    }

    fn label_names_now(&self, request: &LabelNamesRequest) -> LabelsResponse {
        let names: BTreeSet<&str> = self
            .selected(&request.range, &request.matchers)
            .flat_map(|s| s.labels.iter().map(|l| l.name.as_str()))
            .filter(|n| !self.strips(n, &request.without_replica_labels))
            .collect();
        limited(names, request.limit)
    }

    fn label_values_now(&self, request: &LabelValuesRequest) -> LabelsResponse {
        if self.strips(&request.label, &request.without_replica_labels) {
            return LabelsResponse::default();
        }
        let values: BTreeSet<&str> = self
            .selected(&request.range, &request.matchers)
            .filter_map(|s| s.labels.get(&request.label))
            .collect();
        limited(values, request.limit)
    }

    fn strips(&self, name: &str, without: &[String]) -> bool {
        self.external_labels.contains(name) && without.iter().any(|w| w == name)
    }
}

fn limited(values: BTreeSet<&str>, limit: Option<u64>) -> LabelsResponse {
    let limit = limit
        .and_then(|l| usize::try_from(l).ok())
        .unwrap_or(usize::MAX);
    LabelsResponse {
        values: values.into_iter().take(limit).map(str::to_string).collect(),
        warnings: Vec::new(),
    }
}

impl Store for MemStore {
    fn info(&self) -> BoxFuture<'_, Result<StoreInfo, StoreError>> {
        let info = StoreInfo {
            component: self.component,
            label_sets: if self.external_labels.is_empty() {
                Vec::new()
            } else {
                vec![self.external_labels.clone()]
            },
            time_range: Some(self.time_range.unwrap_or(TimeRange::ALL)),
            supports_without_replica_labels: true,
            serves_metadata: false,
        };
        async move { Ok(info) }.boxed()
    }

    fn series(&self, request: SeriesRequest) -> BoxFuture<'_, Result<SeriesStream, StoreError>> {
        // Everything is in memory and small: select now, stream the frames out.
        let frames = self.series_now(&request);
        let stream: SeriesStream = Box::pin(futures::stream::iter(frames.into_iter().map(Ok)));
        async move { Ok(stream) }.boxed()
    }

    fn label_names(
        &self,
        request: LabelNamesRequest,
    ) -> BoxFuture<'_, Result<LabelsResponse, StoreError>> {
        let response = self.label_names_now(&request);
        async move { Ok(response) }.boxed()
    }

    fn label_values(
        &self,
        request: LabelValuesRequest,
    ) -> BoxFuture<'_, Result<LabelsResponse, StoreError>> {
        let response = self.label_values_now(&request);
        async move { Ok(response) }.boxed()
    }
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;
    use futures::TryStreamExt;
    use shared::labels::MatchOp;

    use super::*;
    use crate::storeapi::{Chunk, ChunkEncoding, PartialResponse};

    fn chunk(min: i64, max: i64) -> AggrChunk {
        let data = Bytes::from(format!("{min}-{max}"));
        AggrChunk::raw(
            min,
            max,
            Chunk {
                encoding: ChunkEncoding::Xor,
                data,
                hash: 0,
            },
        )
    }

    fn store() -> MemStore {
        let ext = Labels::from_pairs([("cluster", "demo"), ("prometheus_replica", "a")]);
        MemStore::new(
            ComponentType::Sidecar,
            ext,
            vec![
                (
                    Labels::from_pairs([("__name__", "up"), ("job", "node")]),
                    vec![chunk(200, 299), chunk(0, 99)],
                ),
                (
                    Labels::from_pairs([("__name__", "up"), ("job", "api")]),
                    vec![chunk(0, 99)],
                ),
                (
                    Labels::from_pairs([("__name__", "mem"), ("job", "api"), ("cluster", "own")]),
                    vec![chunk(150, 160)],
                ),
                (
                    Labels::from_pairs([("__name__", "zzz"), ("a", "1")]),
                    vec![chunk(0, 10)],
                ),
            ],
        )
    }

    fn range(min: i64, max: i64) -> TimeRange {
        TimeRange::new(min, max).expect("ordered")
    }

    async fn series(store: &MemStore, request: SeriesRequest) -> Vec<Series> {
        let stream = store.series(request).await.expect("series");
        let frames: Vec<SeriesFrame> = stream.try_collect().await.expect("frames");
        frames
            .into_iter()
            .map(|f| match f {
                SeriesFrame::Series(s) => s,
                SeriesFrame::Warning(w) => panic!("unexpected warning {w}"),
            })
            .collect()
    }

    #[tokio::test]
    async fn info_announces_external_labels_and_data_range() {
        let info = store().info().await.expect("info");
        assert_eq!(info.component, ComponentType::Sidecar);
        assert_eq!(
            info.label_sets,
            vec![Labels::from_pairs([
                ("cluster", "demo"),
                ("prometheus_replica", "a")
            ])]
        );
        assert_eq!(info.time_range, Some(range(0, 299)));
        assert!(info.supports_without_replica_labels);
    }

    #[tokio::test]
    async fn series_are_matched_sorted_and_cut_to_the_range() {
        let s = store();
        let got = series(
            &s,
            SeriesRequest::new(range(50, 250), vec![Matcher::equal("__name__", "up")]),
        )
        .await;
        let jobs: Vec<_> = got
            .iter()
            .map(|s| s.labels.get("job").unwrap_or_default())
            .collect();
        assert_eq!(jobs, ["api", "node"]);
        assert_eq!(
            got[1]
                .chunks
                .iter()
                .map(|c| c.min_time_ms)
                .collect::<Vec<_>>(),
            [0, 200]
        );
        assert!(
            got.iter()
                .all(|s| s.labels.get("prometheus_replica") == Some("a"))
        );
        // Only chunks overlapping the range, and no series without any.
        let got = series(&s, SeriesRequest::new(range(120, 180), vec![])).await;
        assert_eq!(got.len(), 1);
        assert_eq!(
            got[0].labels.get("cluster"),
            Some("own"),
            "a series' own label wins"
        );
        let re = Matcher::new(MatchOp::Regex, "job", "a.*").expect("valid regex");
        let got = series(&s, SeriesRequest::new(range(0, 1000), vec![re])).await;
        assert_eq!(got.len(), 2);
    }

    #[tokio::test]
    async fn replica_labels_are_stripped_and_order_kept() {
        let s = store();
        let mut request = SeriesRequest::new(range(0, 1000), vec![]);
        request.without_replica_labels = vec!["prometheus_replica".into(), "job".into()];
        request.skip_chunks = true;
        let got = series(&s, request).await;
        assert_eq!(got.len(), 4);
        assert!(
            got.iter()
                .all(|s| s.chunks.is_empty() && !s.labels.contains("prometheus_replica"))
        );
        assert!(
            got.iter().filter(|s| s.labels.contains("job")).count() == 3,
            "only external labels are stripped"
        );
        assert!(got.windows(2).all(|w| w[0].labels < w[1].labels));
    }

    #[tokio::test]
    async fn limit_caps_series_and_label_answers() {
        let s = store();
        let mut request = SeriesRequest::new(range(0, 1000), vec![]);
        request.limit = Some(2);
        assert_eq!(series(&s, request).await.len(), 2);
        let names = s
            .label_names(LabelNamesRequest {
                range: range(0, 1000),
                matchers: vec![],
                without_replica_labels: vec!["prometheus_replica".into()],
                partial_response: PartialResponse::Warn,
                limit: None,
            })
            .await
            .expect("names");
        assert_eq!(names.values, ["__name__", "a", "cluster", "job"]);
    }

    #[tokio::test]
    async fn label_values_honour_matchers_range_and_replica_labels() {
        let s = store();
        let request = |label: &str, min, max, without: Vec<String>| LabelValuesRequest {
            label: label.into(),
            range: range(min, max),
            matchers: vec![Matcher::equal("job", "api")],
            without_replica_labels: without,
            partial_response: PartialResponse::Warn,
            limit: None,
        };
        assert_eq!(
            s.label_values(request("__name__", 0, 1000, vec![]))
                .await
                .expect("values")
                .values,
            ["mem", "up"]
        );
        assert_eq!(
            s.label_values(request("__name__", 100, 1000, vec![]))
                .await
                .expect("values")
                .values,
            ["mem"]
        );
        let stripped = s.label_values(request(
            "prometheus_replica",
            0,
            1000,
            vec!["prometheus_replica".into()],
        ));
        assert!(stripped.await.expect("values").values.is_empty());
    }
}
