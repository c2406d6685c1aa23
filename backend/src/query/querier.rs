//! PromQL over the fan-out: the [`Querier`] implements [`QueryEngine`] by fetching what the
//! engine will select from a [`Store`] (the proxy), deduplicating replicas, and evaluating over
//! the samples in memory (upstream: thanos pkg/query/querier.go; THANOS.md §2).
//!
//! For each selection of [`Engine::selections`] it calls `series()` with the selection's matchers
//! and time range, the request's replica labels as `without_replica_labels` (the proxy strips
//! them and merges equal series) and its partial-response policy. Each returned series' chunks
//! are split into non-overlapping groups ([`overlap_split`], one per replica), decoded and merged
//! with the penalty algorithm. Evaluation runs on the blocking pool under a semaphore of
//! `--query.max-concurrent` permits; requests wait for a permit, as Prometheus queues them.
//!
//! Gap: every series is deduplicated as [`ValueKind::Gauge`]; `Selection` does not say whether
//! it sits under `rate`/`increase`/`irate`/`resets`, so counter adjustment is not applied yet.
//! The engine never learns where data lives; the API never learns how it is fetched.

use std::collections::BTreeMap;
use std::sync::Arc;

use futures::StreamExt;
use futures::future::BoxFuture;
use shared::labels::Labels;
use shared::series::TimeRange;
use tokio::sync::Semaphore;
use tokio::time::{Instant, timeout_at};

use super::dedup::{DedupAlgorithm, ValueKind, collect_samples, deduplicate, overlap_split};
use super::series_iter::{ChunkSeriesIterator, NativeHistogram};
use crate::api::{ApiError, QueryEngine, QueryOutcome, QueryRequest, QueryTime};
use crate::promql::storage::memory::MemoryStorage;
use crate::promql::storage::{Point, SampleValue, Selection};
use crate::promql::value::Value;
use crate::promql::{Engine, EngineError};
use crate::storeapi::{SeriesFrame, SeriesRequest, Store};

/// Evaluates PromQL over a [`Store`].
pub struct Querier {
    store: Arc<dyn Store>,
    engine: Engine,
    permits: Arc<Semaphore>,
}

impl Querier {
    /// A querier reading `store` with `engine`, evaluating at most `max_concurrent` queries at once.
    pub fn new(store: Arc<dyn Store>, engine: Engine, max_concurrent: usize) -> Self {
        Self {
            store,
            engine,
            permits: Arc::new(Semaphore::new(max_concurrent.max(1))),
        }
    }

    async fn evaluate(&self, request: QueryRequest) -> Result<QueryOutcome, ApiError> {
        let deadline = Instant::now() + request.timeout;
        let timed_out = |_| ApiError::Timeout(request.timeout);
        let _permit = timeout_at(deadline, Arc::clone(&self.permits).acquire_owned())
            .await
            .map_err(timed_out)?
            .map_err(|e| ApiError::Internal(format!("query semaphore closed: {e}")))?;
        let (start_ms, end_ms, step_ms) = match request.time {
            QueryTime::Instant { t_ms } => (t_ms, t_ms, 0),
            QueryTime::Range {
                start_ms,
                end_ms,
                step_ms,
            } => (start_ms, end_ms, step_ms),
        };
        let selections = self
            .engine
            .selections(&request.expr, start_ms, end_ms, step_ms)
            .map_err(engine_error)?;
        let mut fetched = Fetched::default();
        for selection in selections {
            timeout_at(deadline, self.fetch(&selection, &request, &mut fetched))
                .await
                .map_err(timed_out)??;
        }
        let warnings = std::mem::take(&mut fetched.warnings);
        let storage = fetched.into_storage();
        let engine = self.engine.clone();
        let expr = request.expr.clone();
        let time = request.time;
        let evaluation = tokio::task::spawn_blocking(move || match time {
            QueryTime::Instant { t_ms } => engine.instant(&storage, &expr, t_ms),
            QueryTime::Range {
                start_ms,
                end_ms,
                step_ms,
            } => engine
                .range(&storage, &expr, start_ms, end_ms, step_ms)
                .map(Value::Matrix),
        });
        let value = timeout_at(deadline, evaluation)
            .await
            .map_err(timed_out)?
            .map_err(|e| ApiError::Internal(format!("query evaluation failed: {e}")))?
            .map_err(engine_error)?;
        Ok(QueryOutcome { value, warnings })
    }

    /// Reads one selection's series, deduplicated, into `fetched`.
    async fn fetch(
        &self,
        selection: &Selection,
        request: &QueryRequest,
        fetched: &mut Fetched,
    ) -> Result<(), ApiError> {
        let range = TimeRange::new(selection.hints.start_ms, selection.hints.end_ms)
            .ok_or_else(|| ApiError::Internal("selection ends before it starts".into()))?;
        let mut store_request = SeriesRequest::new(range, selection.matchers.clone());
        store_request.without_replica_labels = request.replica_labels.clone();
        store_request.partial_response = request.partial_response;
        let mut stream = self.store.series(store_request).await?;
        while let Some(frame) = stream.next().await {
            match frame? {
                SeriesFrame::Warning(w) => fetched.warnings.push(w),
                SeriesFrame::Series(series) => {
                    let groups = overlap_split(series.chunks);
                    let replicas = groups
                        .iter()
                        .map(|g| ChunkSeriesIterator::new(g, range))
                        .collect();
                    let mut merged =
                        deduplicate(replicas, DedupAlgorithm::Penalty, ValueKind::Gauge);
                    let samples = collect_samples(&mut merged).map_err(|e| {
                        ApiError::Execution(format!("decoding chunks of {}: {e}", series.labels))
                    })?;
                    fetched.add(series.labels, samples);
                }
            }
        }
        Ok(())
    }
}

impl QueryEngine for Querier {
    fn query(&self, request: QueryRequest) -> BoxFuture<'_, Result<QueryOutcome, ApiError>> {
        Box::pin(self.evaluate(request))
    }
}

/// Series gathered across selections; a series selected twice keeps one sample per timestamp.
#[derive(Default)]
struct Fetched {
    series: BTreeMap<Labels, BTreeMap<i64, SampleValue>>,
    warnings: Vec<String>,
}

impl Fetched {
    fn add(&mut self, labels: Labels, samples: Vec<(i64, super::dedup::Value<NativeHistogram>)>) {
        let points = self.series.entry(labels).or_default();
        for (t_ms, value) in samples {
            let value = match value {
                super::dedup::Value::Float(v) => SampleValue::Float(v),
                super::dedup::Value::Histogram(NativeHistogram::Float(h)) => {
                    SampleValue::Histogram(h)
                }
                super::dedup::Value::Histogram(NativeHistogram::Integer(h)) => {
                    SampleValue::Histogram(Box::new(h.to_float()))
                }
            };
            points.insert(t_ms, value);
        }
    }

    fn into_storage(self) -> MemoryStorage {
        let mut storage = MemoryStorage::new();
        for (labels, points) in self.series {
            for (t_ms, value) in points {
                storage.append(&labels, Point { t_ms, value });
            }
        }
        storage
    }
}

/// Prometheus's classes: a parse error or bad range is `bad_data`, anything else `execution`.
fn engine_error(error: EngineError) -> ApiError {
    match error {
        EngineError::Parse(_)
        | EngineError::NonPositiveStep
        | EngineError::EndBeforeStart
        | EngineError::TooManySteps { .. } => ApiError::BadRequest(error.to_string()),
        other => ApiError::Execution(other.to_string()),
    }
}

#[cfg(test)]
mod tests;
