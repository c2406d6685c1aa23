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
//! Samples are counted against `--query.max-samples` while they are loaded ([`SampleBudget`]).
//!
//! Series selected directly under `rate`, `increase`, `irate` or `resets` (the selection's
//! [`SelectHints::func`]) are deduplicated as counters ([`ValueKind::Counter`]), others as
//! gauges (THANOS.md §2 "Counters"). Each selection keeps its own samples ([`Prefetched`]), so
//! a series read both as a counter and as a gauge is adjusted only where it should be.
//! Each answer carries [`QueryStats`]: time queued for a permit, fetching (preparation) and
//! evaluating, and the samples loaded.
//! The engine never learns where data lives; the API never learns how it is fetched.

use std::sync::Arc;

use futures::StreamExt;
use futures::future::BoxFuture;
use shared::labels::Matcher;
use shared::series::TimeRange;
use tokio::sync::Semaphore;
use tokio::time::{Instant, timeout_at};

use super::dedup::{
    DedupAlgorithm, Value as DedupValue, ValueKind, collect_samples, deduplicate, overlap_split,
};
use super::sample_limit::{DEFAULT_MAX_SAMPLES, SampleBudget};
use super::series_iter::{ChunkSeriesIterator, NativeHistogram};
use crate::api::{ApiError, QueryEngine, QueryOutcome, QueryRequest, QueryStats, QueryTime};
use crate::promql::storage::memory::MemoryStorage;
use crate::promql::storage::{
    Point, Queryable, SampleValue, SelectHints, Selection, StorageError, StorageSeries,
};
use crate::promql::value::Value;
use crate::promql::{Engine, EngineError};
use crate::storeapi::{SeriesFrame, SeriesRequest, Store};

/// Evaluates PromQL over a [`Store`].
pub struct Querier {
    store: Arc<dyn Store>,
    engine: Engine,
    permits: Arc<Semaphore>,
    max_samples: u64,
}

impl Querier {
    /// A querier reading `store` with `engine`, evaluating at most `max_concurrent` queries at once.
    pub fn new(store: Arc<dyn Store>, engine: Engine, max_concurrent: usize) -> Self {
        Self {
            store,
            engine,
            permits: Arc::new(Semaphore::new(max_concurrent.max(1))),
            max_samples: DEFAULT_MAX_SAMPLES,
        }
    }

    /// The same querier refusing queries that load more than `max_samples` samples
    /// (`--query.max-samples`; [`DEFAULT_MAX_SAMPLES`] otherwise).
    pub fn with_max_samples(mut self, max_samples: u64) -> Self {
        self.max_samples = max_samples;
        self
    }

    async fn evaluate(&self, request: QueryRequest) -> Result<QueryOutcome, ApiError> {
        let started = Instant::now();
        let deadline = started + request.timeout;
        let timed_out = |_| ApiError::Timeout(request.timeout);
        let _permit = timeout_at(deadline, Arc::clone(&self.permits).acquire_owned())
            .await
            .map_err(timed_out)?
            .map_err(|e| ApiError::Internal(format!("query semaphore closed: {e}")))?;
        let mut stats = QueryStats {
            exec_queue: started.elapsed(),
            ..QueryStats::default()
        };
        let prepared = Instant::now();
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
        let mut storage = Prefetched::default();
        let mut warnings = Vec::new();
        let budget = SampleBudget::new(self.max_samples);
        for selection in selections {
            if storage.contains(&selection) {
                continue;
            }
            let series = timeout_at(
                deadline,
                self.fetch(&selection, &request, &mut warnings, &budget),
            )
            .await
            .map_err(timed_out)??;
            storage.selections.push((selection, series));
        }
        stats.samples_loaded = budget.loaded();
        stats.query_preparation = prepared.elapsed();
        let evaluation_started = Instant::now();
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
                .map(|r| r.map(Value::Matrix)),
        });
        let evaluated = timeout_at(deadline, evaluation)
            .await
            .map_err(timed_out)?
            .map_err(|e| ApiError::Internal(format!("query evaluation failed: {e}")))?
            .map_err(engine_error)?;
        stats.inner_eval = evaluation_started.elapsed();
        stats.result_samples = QueryStats::samples_in(&evaluated.value);
        stats.exec_total = started.elapsed();
        warnings.extend(evaluated.warnings);
        Ok(QueryOutcome {
            value: evaluated.value,
            warnings,
            infos: evaluated.infos,
            stats,
        })
    }

    /// Reads one selection's series, deduplicated; store warnings go to `warnings`. Each series'
    /// samples are counted against `budget` before they are kept.
    async fn fetch(
        &self,
        selection: &Selection,
        request: &QueryRequest,
        warnings: &mut Vec<String>,
        budget: &SampleBudget,
    ) -> Result<MemoryStorage, ApiError> {
        let kind = match selection.hints.func {
            Some("rate" | "increase" | "irate" | "resets") => ValueKind::Counter,
            _ => ValueKind::Gauge,
        };
        let range = TimeRange::new(selection.hints.start_ms, selection.hints.end_ms)
            .ok_or_else(|| ApiError::Internal("selection ends before it starts".into()))?;
        let mut store_request = SeriesRequest::new(range, selection.matchers.clone());
        store_request.without_replica_labels = request.replica_labels.clone();
        store_request.partial_response = request.partial_response;
        let mut stream = self.store.series(store_request).await?;
        let mut storage = MemoryStorage::new();
        while let Some(frame) = stream.next().await {
            match frame? {
                SeriesFrame::Warning(w) => warnings.push(w),
                SeriesFrame::Series(series) => {
                    let groups = overlap_split(series.chunks);
                    let replicas = groups
                        .iter()
                        .map(|g| ChunkSeriesIterator::new(g, range))
                        .collect();
                    let mut merged = deduplicate(replicas, DedupAlgorithm::Penalty, kind);
                    let samples = collect_samples(&mut merged).map_err(|e| {
                        ApiError::Execution(format!("decoding chunks of {}: {e}", series.labels))
                    })?;
                    budget
                        .take(samples.len())
                        .map_err(|e| ApiError::Execution(e.to_string()))?;
                    for (t_ms, value) in samples {
                        let point = Point {
                            t_ms,
                            value: sample_value(value),
                        };
                        storage.append(&series.labels, point);
                    }
                }
            }
        }
        Ok(storage)
    }
}

impl QueryEngine for Querier {
    fn query(&self, request: QueryRequest) -> BoxFuture<'_, Result<QueryOutcome, ApiError>> {
        Box::pin(self.evaluate(request))
    }
}

/// The series of each selection the engine will make, deduplicated; the engine's selects are
/// answered from the selection with the same matchers and hints.
#[derive(Default)]
struct Prefetched {
    selections: Vec<(Selection, MemoryStorage)>,
}

impl Prefetched {
    fn contains(&self, selection: &Selection) -> bool {
        self.selections.iter().any(|(s, _)| s == selection)
    }
}

impl Queryable for Prefetched {
    fn select(
        &self,
        matchers: &[Matcher],
        hints: SelectHints,
    ) -> Result<Vec<StorageSeries>, StorageError> {
        self.selections
            .iter()
            .find(|(s, _)| s.matchers == matchers && s.hints == hints)
            .ok_or_else(|| StorageError::Source("selection was not fetched beforehand".into()))?
            .1
            .select(matchers, hints)
    }
}

/// A decoded sample as the engine holds it.
fn sample_value(value: DedupValue<NativeHistogram>) -> SampleValue {
    match value {
        DedupValue::Float(v) => SampleValue::Float(v),
        DedupValue::Histogram(NativeHistogram::Float(h)) => SampleValue::Histogram(h),
        DedupValue::Histogram(NativeHistogram::Integer(h)) => {
            SampleValue::Histogram(Box::new(h.to_float()))
        }
    }
}

/// Prometheus's classes: what the engine refuses before evaluating (a parse error, an expression
/// a range query cannot evaluate) is `bad_data` for parameter `query` (web/api/v1/api.go `query`
/// and `queryRange` wrap `NewInstantQuery`/`NewRangeQuery` errors in `invalidParamError`), a bad
/// range is `bad_data`, anything else `execution`.
fn engine_error(error: EngineError) -> ApiError {
    match error {
        EngineError::Parse(_) | EngineError::RangeQueryType(_) => {
            ApiError::invalid_parameter("query", error.to_string())
        }
        EngineError::NonPositiveStep
        | EngineError::EndBeforeStart
        | EngineError::TooManySteps { .. } => ApiError::BadRequest(error.to_string()),
        other => ApiError::Execution(other.to_string()),
    }
}

#[cfg(test)]
mod tests;
