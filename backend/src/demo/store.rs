//! An in-memory [`Store`] that samples are appended to: what the demo serves for each replica.
//!
//! It behaves like a sidecar in front of one Prometheus: every series carries the store's
//! external labels, [`Store::info`] announces them with the data's time range, requests are
//! answered from the series whose labels match and whose chunks overlap the requested range,
//! series come out sorted, and `without_replica_labels` strips those external labels.
//!
//! Storage follows Prometheus's head block: each series has closed XOR chunks of
//! [`SAMPLES_PER_CHUNK`] samples and one open chunk whose samples are kept raw and encoded when a
//! request reads it. Chunks are compared by their time bounds only; the store never decodes
//! them. It knows nothing of gRPC or of where the samples come from.

use std::collections::BTreeSet;
use std::sync::{PoisonError, RwLock};

use futures::FutureExt;
use futures::future::BoxFuture;
use shared::labels::{Labels, Matcher, matches_all};
use shared::series::{Sample, TimeRange};

use crate::chunkenc::{ChunkError, XorAppender};
use crate::storeapi::{
    AggrChunk, Chunk, ChunkEncoding, ComponentType, LabelNamesRequest, LabelValuesRequest,
    LabelsResponse, Series, SeriesFrame, SeriesRequest, SeriesStream, Store, StoreError, StoreInfo,
};

/// Samples per XOR chunk, as Prometheus's head block cuts them.
pub const SAMPLES_PER_CHUNK: usize = 120;

/// Samples could not be appended.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum AppendError {
    /// A sample is not later than the series' last one.
    #[error("series {series}: sample at {t_ms} ms is not after the last one at {last_ms} ms")]
    OutOfOrder {
        /// The series' labels, external labels included.
        series: Labels,
        /// The rejected sample's time.
        t_ms: i64,
        /// The series' last time.
        last_ms: i64,
    },
    /// A full chunk could not be encoded.
    #[error("series {series}: {source}")]
    Encode {
        /// The series' labels, external labels included.
        series: Labels,
        /// The codec's complaint.
        source: ChunkError,
    },
}

/// One series as stored.
#[derive(Debug, Clone)]
struct StoredSeries {
    /// Own labels with the external labels applied.
    labels: Labels,
    /// Closed chunks, in time order.
    chunks: Vec<AggrChunk>,
    /// Samples of the open chunk, fewer than [`SAMPLES_PER_CHUNK`].
    head: Vec<Sample>,
}

impl StoredSeries {
    fn last_ms(&self) -> Option<i64> {
        self.head
            .last()
            .map(|s| s.t_ms)
            .or_else(|| self.chunks.last().map(|c| c.max_time_ms))
    }

    fn head_range(&self) -> Option<TimeRange> {
        TimeRange::new(self.head.first()?.t_ms, self.head.last()?.t_ms)
    }

    fn overlaps(&self, range: &TimeRange) -> bool {
        self.head_range().is_some_and(|r| r.overlaps(range))
            || self
                .chunks
                .iter()
                .any(|c| chunk_range(c).is_some_and(|r| r.overlaps(range)))
    }

    /// The chunks overlapping `range`, the open one encoded now.
    fn chunks_in(&self, range: &TimeRange) -> Result<Vec<AggrChunk>, ChunkError> {
        let mut out: Vec<AggrChunk> = self
            .chunks
            .iter()
            .filter(|c| chunk_range(c).is_some_and(|r| r.overlaps(range)))
            .cloned()
            .collect();
        if self.head_range().is_some_and(|r| r.overlaps(range)) {
            out.extend(encode(&self.head)?);
        }
        Ok(out)
    }

    fn append(&mut self, samples: &[Sample]) -> Result<(), AppendError> {
        for sample in samples {
            if let Some(last_ms) = self.last_ms().filter(|last| *last >= sample.t_ms) {
                return Err(AppendError::OutOfOrder {
                    series: self.labels.clone(),
                    t_ms: sample.t_ms,
                    last_ms,
                });
            }
            self.head.push(*sample);
            if self.head.len() == SAMPLES_PER_CHUNK {
                let closed = encode(&self.head).map_err(|source| AppendError::Encode {
                    series: self.labels.clone(),
                    source,
                })?;
                self.chunks.extend(closed);
                self.head.clear();
            }
        }
        Ok(())
    }
}

fn chunk_range(chunk: &AggrChunk) -> Option<TimeRange> {
    TimeRange::new(chunk.min_time_ms, chunk.max_time_ms)
}

/// Cuts samples (in time order) into XOR chunks of at most [`SAMPLES_PER_CHUNK`], each with
/// its time bounds and xxhash64 (as a store gateway fills `Chunk.hash`).
pub fn encode(samples: &[Sample]) -> Result<Vec<AggrChunk>, ChunkError> {
    samples
        .chunks(SAMPLES_PER_CHUNK)
        .filter_map(|part| Some((part, part.first()?, part.last()?)))
        .map(|(part, first, last)| {
            let mut appender = XorAppender::new();
            for sample in part {
                appender.append(sample.t_ms, sample.v)?;
            }
            let data = appender.to_bytes();
            let hash = xxhash_rust::xxh64::xxh64(&data, 0);
            let chunk = Chunk {
                encoding: ChunkEncoding::Xor,
                data,
                hash,
            };
            Ok(AggrChunk::raw(first.t_ms, last.t_ms, chunk))
        })
        .collect()
}

/// The series, sorted by labels, and the time range they cover.
#[derive(Debug, Default)]
struct Data {
    series: Vec<StoredSeries>,
    time_range: Option<TimeRange>,
}

/// An in-memory store, appended to and read concurrently.
///
/// A std `RwLock` guards the data: it is never held across an `.await` (requests copy what
/// they return before streaming it).
#[derive(Debug)]
pub struct MemStore {
    component: ComponentType,
    external_labels: Labels,
    data: RwLock<Data>,
}

impl MemStore {
    /// An empty store announcing itself as `component`, whose series get `external_labels`
    /// (a series' own label of the same name wins, as in Prometheus).
    pub fn new(component: ComponentType, external_labels: Labels) -> Self {
        Self {
            component,
            external_labels,
            data: RwLock::new(Data::default()),
        }
    }

    /// Appends samples (in time order, after the series' last sample) to the series with these
    /// own labels, creating it if needed. Nothing is appended to a series past its first error.
    pub fn append(&self, own_labels: &Labels, samples: &[Sample]) -> Result<(), AppendError> {
        let (Some(first), Some(last)) = (samples.first(), samples.last()) else {
            return Ok(());
        };
        let mut labels = self.external_labels.clone();
        labels.merge_from(own_labels);
        let mut data = self.data.write().unwrap_or_else(PoisonError::into_inner);
        let index = match data.series.binary_search_by(|s| s.labels.cmp(&labels)) {
            Ok(index) => index,
            Err(index) => {
                let series = StoredSeries {
                    labels,
                    chunks: Vec::new(),
                    head: Vec::new(),
                };
                data.series.insert(index, series);
                index
            }
        };
        let result = data.series[index].append(samples);
        if let Some(added) = TimeRange::new(first.t_ms, last.t_ms) {
            data.time_range = Some(data.time_range.map_or(added, |r| r.union(&added)));
        }
        result
    }

    /// Number of series held.
    pub fn num_series(&self) -> usize {
        self.data
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .series
            .len()
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

    fn strips(&self, name: &str, without: &[String]) -> bool {
        self.external_labels.contains(name) && without.iter().any(|w| w == name)
    }

    /// Runs `f` over the series matching `matchers` with data in `range`, in label order.
    fn with_selected<T>(
        &self,
        range: &TimeRange,
        matchers: &[Matcher],
        f: impl FnOnce(&mut dyn Iterator<Item = &StoredSeries>) -> T,
    ) -> T {
        let data = self.data.read().unwrap_or_else(PoisonError::into_inner);
        let mut selected = data
            .series
            .iter()
            .filter(|s| matches_all(matchers, &s.labels) && s.overlaps(range));
        f(&mut selected)
    }

    fn series_now(&self, request: &SeriesRequest) -> Result<Vec<SeriesFrame>, StoreError> {
        let limit = request
            .limit
            .and_then(|l| usize::try_from(l).ok())
            .unwrap_or(usize::MAX);
        let mut out = self
            .with_selected(&request.range, &request.matchers, |selected| {
                selected
                    .map(|s| {
                        let chunks = if request.skip_chunks {
                            Vec::new()
                        } else {
                            s.chunks_in(&request.range)?
                        };
                        let labels = self.strip(&s.labels, &request.without_replica_labels);
                        Ok(Series { labels, chunks })
                    })
                    .collect::<Result<Vec<Series>, ChunkError>>()
            })
            .map_err(|e| StoreError::Internal(format!("encoding the open chunk: {e}")))?;
        // Stripping labels can change the order (a shorter set sorts first), so sort again.
        out.sort_by(|a, b| a.labels.cmp(&b.labels));
        out.truncate(limit);
        Ok(out.into_iter().map(SeriesFrame::Series).collect())
    }

    fn label_names_now(&self, request: &LabelNamesRequest) -> LabelsResponse {
        let names: BTreeSet<String> =
            self.with_selected(&request.range, &request.matchers, |selected| {
                selected
                    .flat_map(|s| s.labels.iter().map(|l| l.name.clone()))
                    .filter(|n| !self.strips(n, &request.without_replica_labels))
                    .collect()
            });
        limited(names, request.limit)
    }

    fn label_values_now(&self, request: &LabelValuesRequest) -> LabelsResponse {
        if self.strips(&request.label, &request.without_replica_labels) {
            return LabelsResponse::default();
        }
        let values: BTreeSet<String> =
            self.with_selected(&request.range, &request.matchers, |selected| {
                selected
                    .filter_map(|s| s.labels.get(&request.label).map(str::to_string))
                    .collect()
            });
        limited(values, request.limit)
    }
}

fn limited(values: BTreeSet<String>, limit: Option<u64>) -> LabelsResponse {
    let limit = limit
        .and_then(|l| usize::try_from(l).ok())
        .unwrap_or(usize::MAX);
    LabelsResponse {
        values: values.into_iter().take(limit).collect(),
        warnings: Vec::new(),
    }
}

impl Store for MemStore {
    fn info(&self) -> BoxFuture<'_, Result<StoreInfo, StoreError>> {
        let time_range = self
            .data
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .time_range;
        let info = StoreInfo {
            component: self.component,
            label_sets: if self.external_labels.is_empty() {
                Vec::new()
            } else {
                vec![self.external_labels.clone()]
            },
            // Only before the first append: then the store may hold anything.
            time_range: Some(time_range.unwrap_or(TimeRange::ALL)),
            supports_without_replica_labels: true,
            serves_metadata: false,
        };
        async move { Ok(info) }.boxed()
    }

    fn series(&self, request: SeriesRequest) -> BoxFuture<'_, Result<SeriesStream, StoreError>> {
        // Everything is in memory: select and copy now, then stream the frames out.
        let frames = self.series_now(&request);
        async move {
            let stream: SeriesStream = Box::pin(futures::stream::iter(frames?.into_iter().map(Ok)));
            Ok(stream)
        }
        .boxed()
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
mod tests;
