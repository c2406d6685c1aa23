//! PromQL over the fan-out: the [`Querier`] implements [`QueryEngine`] by fetching what the
//! engine will select from a [`Store`] (the proxy), deduplicating replicas, and evaluating over
//! the samples in memory (upstream: thanos pkg/query/querier.go; THANOS.md §2).
//!
//! For each distinct selection of [`Engine::selections`] it calls `series()` with the
//! selection's matchers and time range, its hints as StoreAPI `QueryHints` (step, function,
//! grouping, range), the request's replica labels as `without_replica_labels` (the proxy strips
//! them and merges equal series) and its partial-response policy. Selections are fetched
//! concurrently, each on its own task. Each returned series' chunks
//! are split into non-overlapping groups ([`overlap_split`], one per replica), decoded and merged
//! with the penalty algorithm. Samples are counted against `--query.max-samples` while they are
//! loaded ([`SampleBudget`], shared by the concurrent fetches). Evaluation runs on the blocking pool under a semaphore of
//! `--query.max-concurrent` permits; requests wait for a permit, as Prometheus queues them.
//!
//! Series selected directly under `rate`, `increase`, `irate` or `resets` (the selection's
//! [`SelectHints::func`]) are deduplicated as counters ([`ValueKind::Counter`]), others as
//! gauges (THANOS.md §2 "Counters"). Each selection keeps its own samples ([`Prefetched`]), so
//! a series read both as a counter and as a gauge is adjusted only where it should be. Samples
//! are decoded straight into the engine's points and handed over without copying when a
//! selection is read once.
//! Each answer carries [`QueryStats`]: time queued for a permit, fetching (preparation) and
//! evaluating, and the samples loaded.
//! The engine never learns where data lives; the API never learns how it is fetched.

use std::sync::{Arc, Mutex, PoisonError};

use futures::StreamExt;
use futures::future::BoxFuture;
use shared::labels::{Labels, Matcher};
use shared::series::TimeRange;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tokio::time::{Instant, timeout_at};

use super::dedup::{
    DedupAlgorithm, SampleIterator, Value as DedupValue, ValueKind, deduplicate, overlap_split,
};
use super::sample_limit::{DEFAULT_MAX_SAMPLES, SampleBudget};
use super::series_iter::{ChunkSeriesIterator, NativeHistogram};
use crate::api::{ApiError, QueryEngine, QueryOutcome, QueryRequest, QueryStats, QueryTime};
use crate::chunkenc::ChunkError;
use crate::promql::parser::Grouping;
use crate::promql::storage::{
    Point, Queryable, SampleValue, SelectHints, Selection, StorageError, StorageSeries,
};
use crate::promql::value::Value;
use crate::promql::{Engine, EngineError};
use crate::storeapi::{
    AggrChunk, PartialResponse, QueryHints, Series, SeriesFrame, SeriesRequest, Store,
};

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
        let budget = Arc::new(SampleBudget::new(self.max_samples));
        let prefetch = self.prefetch(selections, &request, &budget);
        let (storage, mut warnings) = timeout_at(deadline, prefetch).await.map_err(timed_out)??;
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

    /// Fetches every distinct selection, at most [`MAX_CONCURRENT_SELECTS`] at once, each on
    /// its own task so that decoding runs in parallel; returns them with the stores' warnings.
    /// Dropping the future (a timeout) aborts the fetches. Every fetch counts its samples
    /// against `budget`.
    async fn prefetch(
        &self,
        selections: Vec<Selection>,
        request: &QueryRequest,
        budget: &Arc<SampleBudget>,
    ) -> Result<(Prefetched, Vec<String>), ApiError> {
        let mut fetched: Vec<Fetched> = Vec::new();
        for selection in selections {
            match fetched.iter_mut().find(|f| f.selection == selection) {
                Some(f) => f.uses += 1,
                None => fetched.push(Fetched {
                    selection,
                    uses: 1,
                    series: Mutex::new(None),
                }),
            }
        }
        let permits = Arc::new(Semaphore::new(MAX_CONCURRENT_SELECTS));
        let mut tasks = JoinSet::new();
        for (index, f) in fetched.iter().enumerate() {
            let store = Arc::clone(&self.store);
            let selection = f.selection.clone();
            let (replica_labels, partial_response) =
                (request.replica_labels.clone(), request.partial_response);
            let permits = Arc::clone(&permits);
            let budget = Arc::clone(budget);
            tasks.spawn(async move {
                let _permit = permits.acquire_owned().await;
                let fetched = fetch(
                    store.as_ref(),
                    &selection,
                    replica_labels,
                    partial_response,
                    &budget,
                )
                .await;
                (index, fetched)
            });
        }
        let mut warnings = vec![Vec::new(); fetched.len()];
        while let Some(joined) = tasks.join_next().await {
            let (index, result) =
                joined.map_err(|e| ApiError::Internal(format!("fetching series failed: {e}")))?;
            let (series, w) = result?;
            if let (Some(f), Some(slot)) = (fetched.get_mut(index), warnings.get_mut(index)) {
                *f.series.get_mut().unwrap_or_else(PoisonError::into_inner) =
                    Some(SelectionSeries::new(series, f.uses));
                *slot = w;
            }
        }
        let prefetched = Prefetched {
            selections: fetched,
        };
        Ok((prefetched, warnings.into_iter().flatten().collect()))
    }
}

/// How many selections of one query are fetched at once (Thanos's
/// `--query.max-concurrent-select` default).
const MAX_CONCURRENT_SELECTS: usize = 4;

/// Reads one selection's series, deduplicated, sorted by labels, each with its samples in the
/// selection's time range (series without any are left out), with the stores' warnings.
/// The request carries the selection's hints as Thanos's querier sends them
/// (thanos pkg/query/querier.go `storeHintsFromPromHints`). Each series' samples are counted
/// against the budget before they are kept.
async fn fetch(
    store: &dyn Store,
    selection: &Selection,
    replica_labels: Vec<String>,
    partial_response: PartialResponse,
    budget: &SampleBudget,
) -> Result<(Vec<(Labels, Vec<Point>)>, Vec<String>), ApiError> {
    let hints = &selection.hints;
    let kind = match hints.func {
        Some("rate" | "increase" | "irate" | "resets") => ValueKind::Counter,
        _ => ValueKind::Gauge,
    };
    let range = TimeRange::new(hints.start_ms, hints.end_ms)
        .ok_or_else(|| ApiError::Internal("selection ends before it starts".into()))?;
    let mut store_request = SeriesRequest::new(range, selection.matchers.clone());
    store_request.without_replica_labels = replica_labels;
    store_request.partial_response = partial_response;
    store_request.query_hints = Some(query_hints(hints));
    let mut stream = store.series(store_request).await?;
    let mut series = Vec::new();
    let mut warnings = Vec::new();
    while let Some(frame) = stream.next().await {
        match frame? {
            SeriesFrame::Warning(w) => warnings.push(w),
            SeriesFrame::Series(Series { labels, chunks }) => {
                let points = decode(chunks, range, kind).map_err(|e| {
                    ApiError::Execution(format!("decoding chunks of {labels}: {e}"))
                })?;
                budget
                    .take(points.len())
                    .map_err(|e| ApiError::Execution(e.to_string()))?;
                if !points.is_empty() {
                    series.push((labels, points));
                }
            }
        }
    }
    if !series.is_sorted_by(|a, b| a.0 <= b.0) {
        series.sort_by(|a, b| a.0.cmp(&b.0));
    }
    Ok((series, warnings))
}

/// The StoreAPI hints for a selection (Thanos's `QueryHints`: step, enclosing function,
/// grouping, range).
fn query_hints(hints: &SelectHints) -> QueryHints {
    QueryHints {
        step_ms: hints.step_ms,
        func: hints.func.map(str::to_owned),
        grouping: hints.grouping.as_ref().map(|g| match g {
            Grouping::By(labels) => (true, labels.clone()),
            Grouping::Without(labels) => (false, labels.clone()),
        }),
        range_ms: hints.range_ms,
    }
}

/// One series' replicas merged with the penalty algorithm, decoded straight into points.
fn decode(
    chunks: Vec<AggrChunk>,
    range: TimeRange,
    kind: ValueKind,
) -> Result<Vec<Point>, ChunkError> {
    let groups = overlap_split(chunks);
    let replicas = groups
        .iter()
        .map(|g| ChunkSeriesIterator::new(g, range))
        .collect();
    let mut merged = deduplicate(replicas, DedupAlgorithm::Penalty, kind);
    let mut points = Vec::new();
    while merged.next()?.is_some() {
        if let Some((t_ms, value)) = merged.at() {
            points.push(Point {
                t_ms,
                value: sample_value(value),
            });
        }
    }
    Ok(points)
}

impl QueryEngine for Querier {
    fn query(&self, request: QueryRequest) -> BoxFuture<'_, Result<QueryOutcome, ApiError>> {
        Box::pin(self.evaluate(request))
    }
}

/// The series of each selection the engine will make, fetched once per distinct selection;
/// the engine's selects are answered from the selection with the same matchers and hints.
struct Prefetched {
    selections: Vec<Fetched>,
}

/// One distinct selection and its series.
struct Fetched {
    selection: Selection,
    /// How many of the engine's selects this selection answers.
    uses: usize,
    /// Filled by the fetch; `None` until then.
    series: Mutex<Option<SelectionSeries>>,
}

/// A selection's series, handed out by reference count: every select but the last gets a
/// copy, the last takes them (the evaluator keeps its own), so a query that selects each
/// series once never copies its samples.
struct SelectionSeries {
    remaining: usize,
    series: Vec<(Labels, Vec<Point>)>,
}

impl SelectionSeries {
    fn new(series: Vec<(Labels, Vec<Point>)>, uses: usize) -> Self {
        Self {
            remaining: uses,
            series,
        }
    }

    fn hand_out(&mut self) -> Vec<(Labels, Vec<Point>)> {
        self.remaining = self.remaining.saturating_sub(1);
        if self.remaining == 0 {
            std::mem::take(&mut self.series)
        } else {
            self.series.clone()
        }
    }
}

impl Queryable for Prefetched {
    fn select(
        &self,
        matchers: &[Matcher],
        hints: SelectHints,
    ) -> Result<Vec<StorageSeries>, StorageError> {
        let not_fetched = || StorageError::Source("selection was not fetched beforehand".into());
        let fetched = self
            .selections
            .iter()
            .find(|f| f.selection.matchers == matchers && f.selection.hints == hints)
            .ok_or_else(not_fetched)?;
        let mut series = fetched
            .series
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let series = series.as_mut().ok_or_else(not_fetched)?.hand_out();
        Ok(series
            .into_iter()
            .map(|(labels, points)| StorageSeries {
                labels,
                samples: Box::new(points.into_iter()),
            })
            .collect())
    }
}

/// A decoded sample as the engine holds it.
fn sample_value(value: DedupValue<&NativeHistogram>) -> SampleValue {
    match value {
        DedupValue::Float(v) => SampleValue::Float(v),
        DedupValue::Histogram(NativeHistogram::Float(h)) => SampleValue::Histogram(h.clone()),
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
