//! An in-memory [`Store`] for the querier's unit tests: fixed series and announced metadata,
//! with scripted failures (hang, error mid-stream, failing `Info`) and a log of the requests it
//! received. Test-only; it knows nothing of the endpoint set or the proxy.

use std::collections::BTreeSet;
use std::sync::Mutex;

use bytes::Bytes;
use futures::future::BoxFuture;
use futures::{FutureExt, StreamExt, stream};
use shared::labels::{Labels, matches_all};
use shared::series::TimeRange;

use crate::storeapi::{
    AggrChunk, Chunk, ChunkEncoding, ComponentType, LabelNamesRequest, LabelValuesRequest,
    LabelsResponse, Series, SeriesFrame, SeriesRequest, SeriesStream, Store, StoreError, StoreInfo,
};

/// How a [`MemStore`] answers Series and label calls.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) enum Behaviour {
    /// Answers with its data.
    #[default]
    Normal,
    /// Sends this many series, then never sends anything again.
    HangAfter(usize),
    /// Sends this many series, then fails with the error.
    FailAfter(usize, StoreError),
    /// Every call fails at once with the error.
    FailOpen(StoreError),
}

/// A store over a fixed list of series.
pub(crate) struct MemStore {
    /// `None`: `Info` never answers.
    info: Mutex<Option<Result<StoreInfo, StoreError>>>,
    series: Vec<Series>,
    behaviour: Behaviour,
    warnings: Vec<String>,
    series_requests: Mutex<Vec<SeriesRequest>>,
    label_requests: Mutex<Vec<Vec<String>>>,
}

impl MemStore {
    /// A store announcing `info` and serving `series` (sorted here).
    pub(crate) fn new(info: StoreInfo, mut series: Vec<Series>) -> Self {
        series.sort_by(|a, b| a.labels.cmp(&b.labels));
        Self {
            info: Mutex::new(Some(Ok(info))),
            series,
            behaviour: Behaviour::Normal,
            warnings: Vec::new(),
            series_requests: Mutex::new(Vec::new()),
            label_requests: Mutex::new(Vec::new()),
        }
    }

    /// The same store, failing or hanging as `behaviour` says.
    pub(crate) fn with_behaviour(mut self, behaviour: Behaviour) -> Self {
        self.behaviour = behaviour;
        self
    }

    /// The same store, adding `warning` to every answer (a warning frame first in Series).
    pub(crate) fn with_warning(mut self, warning: &str) -> Self {
        self.warnings.push(warning.to_string());
        self
    }

    /// Makes later `Info` calls return `info`.
    pub(crate) fn set_info(&self, info: Result<StoreInfo, StoreError>) {
        *self.info.lock().expect("lock poisoned") = Some(info);
    }

    /// Makes later `Info` calls never answer.
    pub(crate) fn hang_info(&self) {
        *self.info.lock().expect("lock poisoned") = None;
    }

    /// The Series requests received so far.
    pub(crate) fn series_requests(&self) -> Vec<SeriesRequest> {
        self.series_requests.lock().expect("lock poisoned").clone()
    }

    /// `without_replica_labels` of each label-names/values request received so far.
    pub(crate) fn label_requests(&self) -> Vec<Vec<String>> {
        self.label_requests.lock().expect("lock poisoned").clone()
    }

    fn matching(&self, range: &TimeRange, matchers: &[shared::labels::Matcher]) -> Vec<&Series> {
        self.series
            .iter()
            .filter(|s| matches_all(matchers, &s.labels))
            .filter(|s| {
                s.chunks.iter().any(|c| {
                    TimeRange::new(c.min_time_ms, c.max_time_ms).is_some_and(|r| r.overlaps(range))
                })
            })
            .collect()
    }

    fn labels_answer(&self, values: BTreeSet<String>) -> Result<LabelsResponse, StoreError> {
        match &self.behaviour {
            Behaviour::FailOpen(e) | Behaviour::FailAfter(_, e) => Err(e.clone()),
            Behaviour::Normal | Behaviour::HangAfter(_) => Ok(LabelsResponse {
                values: values.into_iter().collect(),
                warnings: self.warnings.clone(),
            }),
        }
    }
}

impl Store for MemStore {
    fn info(&self) -> BoxFuture<'_, Result<StoreInfo, StoreError>> {
        let info = self.info.lock().expect("lock poisoned").clone();
        async move {
            match info {
                Some(info) => info,
                None => std::future::pending().await,
            }
        }
        .boxed()
    }

    fn series(&self, request: SeriesRequest) -> BoxFuture<'_, Result<SeriesStream, StoreError>> {
        self.series_requests
            .lock()
            .expect("lock poisoned")
            .push(request.clone());
        let mut frames: Vec<Result<SeriesFrame, StoreError>> = self
            .warnings
            .iter()
            .map(|w| Ok(SeriesFrame::Warning(w.clone())))
            .collect();
        let series = self.matching(&request.range, &request.matchers);
        let stream: Result<SeriesStream, StoreError> = match &self.behaviour {
            Behaviour::FailOpen(e) => Err(e.clone()),
            Behaviour::Normal => {
                frames.extend(
                    series
                        .into_iter()
                        .map(|s| Ok(SeriesFrame::Series(s.clone()))),
                );
                Ok(stream::iter(frames).boxed())
            }
            Behaviour::HangAfter(n) => {
                frames.extend(
                    series
                        .into_iter()
                        .take(*n)
                        .map(|s| Ok(SeriesFrame::Series(s.clone()))),
                );
                Ok(stream::iter(frames).chain(stream::pending()).boxed())
            }
            Behaviour::FailAfter(n, e) => {
                frames.extend(
                    series
                        .into_iter()
                        .take(*n)
                        .map(|s| Ok(SeriesFrame::Series(s.clone()))),
                );
                frames.push(Err(e.clone()));
                Ok(stream::iter(frames).boxed())
            }
        };
        async move { stream }.boxed()
    }

    fn label_names(
        &self,
        request: LabelNamesRequest,
    ) -> BoxFuture<'_, Result<LabelsResponse, StoreError>> {
        self.label_requests
            .lock()
            .expect("lock poisoned")
            .push(request.without_replica_labels.clone());
        let names = self
            .matching(&request.range, &request.matchers)
            .into_iter()
            .flat_map(|s| s.labels.iter().map(|l| l.name.clone()))
            .collect();
        let answer = self.labels_answer(names);
        let hang = matches!(self.behaviour, Behaviour::HangAfter(_));
        async move {
            if hang {
                std::future::pending().await
            } else {
                answer
            }
        }
        .boxed()
    }

    fn label_values(
        &self,
        request: LabelValuesRequest,
    ) -> BoxFuture<'_, Result<LabelsResponse, StoreError>> {
        self.label_requests
            .lock()
            .expect("lock poisoned")
            .push(request.without_replica_labels.clone());
        let values = self
            .matching(&request.range, &request.matchers)
            .into_iter()
            .filter_map(|s| s.labels.get(&request.label).map(String::from))
            .collect();
        let answer = self.labels_answer(values);
        let hang = matches!(self.behaviour, Behaviour::HangAfter(_));
        async move {
            if hang {
                std::future::pending().await
            } else {
                answer
            }
        }
        .boxed()
    }
}

/// A sidecar-like announcement: one external label set and a time range.
pub(crate) fn sidecar_info(external: &[(&str, &str)], min_ms: i64, max_ms: i64) -> StoreInfo {
    StoreInfo {
        component: ComponentType::Sidecar,
        label_sets: vec![Labels::from_pairs(external.iter().copied())],
        time_range: TimeRange::new(min_ms, max_ms),
        supports_without_replica_labels: true,
        serves_metadata: false,
    }
}

/// A series with the given labels and one raw chunk over `[min_ms, max_ms]` whose bytes are
/// `payload` (chunks with equal payloads hash equal).
pub(crate) fn series(labels: &[(&str, &str)], min_ms: i64, max_ms: i64, payload: &[u8]) -> Series {
    let chunk = Chunk {
        encoding: ChunkEncoding::Xor,
        data: Bytes::copy_from_slice(payload),
        hash: 0,
    };
    Series {
        labels: Labels::from_pairs(labels.iter().copied()),
        chunks: vec![AggrChunk::raw(min_ms, max_ms, chunk)],
    }
}
