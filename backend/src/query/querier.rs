//! PromQL over the fan-out: the [`Querier`] implements [`QueryEngine`] by streaming what the
//! engine selects from a [`Store`] (the proxy), deduplicating replicas on the way, into the
//! evaluator (upstream: thanos pkg/query/querier.go; THANOS.md §2).
//!
//! A query runs in three overlapping parts:
//! - planning: [`Engine::selections`] lists the selections the evaluation will make;
//! - fetching (`feed`): for each distinct selection, tasks on the runtime call `series()` with
//!   the selection's matchers and time range, its hints as StoreAPI `QueryHints` (step,
//!   function, grouping, range), the request's replica labels as `without_replica_labels` (the
//!   proxy strips them and merges equal series) and its partial-response policy; each returned
//!   series' chunks are split into non-overlapping groups ([`overlap_split`], one per replica),
//!   decoded and merged with the penalty algorithm (as counters under `rate`, `increase`,
//!   `irate` and `resets`, else as gauges: THANOS.md §2 "Counters"), counted against
//!   `--query.max-samples` ([`SampleBudget`], shared by the selections), and sent through a
//!   bounded channel (why it is bounded there and in series: see `feed`);
//! - evaluating: started as soon as the fetches are, on the blocking pool under a semaphore of
//!   `--query.max-concurrent` permits (requests wait for a permit, as Prometheus queues them).
//!   The evaluator reads each selection when it needs it, series by series where it reads them
//!   once, so fetching and evaluating overlap and a series-wise range query holds one decoded
//!   series per selection rather than all of them.
//!
//! A selection read by one selector is handed over without copying; one read by several is
//! received once and shared. What the evaluation did not read is still fetched to the end, so
//! that a store failure fails the query (or, under partial response, its warning is returned)
//! whether or not the series were needed. A fetch failure is returned as the fetch saw it
//! (status and message), ahead of any error the evaluator reported for it; the query timeout
//! covers fetching and evaluating, and dropping the query stops the fetches.
//!
//! Each answer carries [`QueryStats`]: time queued for a permit, preparation (planning and
//! starting the fetches), evaluation (which includes waiting for series still being fetched),
//! and the samples loaded. The engine never learns where data lives; the API never learns how
//! it is fetched.

mod feed;

use std::sync::Arc;

use futures::future::BoxFuture;
use shared::series::TimeRange;
use tokio::sync::Semaphore;
use tokio::time::{Instant, timeout_at};

use super::dedup::{
    DedupAlgorithm, SampleIterator, Value as DedupValue, ValueKind, deduplicate, overlap_split,
};
use super::sample_limit::{DEFAULT_MAX_SAMPLES, SampleBudget};
use super::series_iter::{ChunkSeriesIterator, NativeHistogram};
use crate::api::{ApiError, QueryEngine, QueryOutcome, QueryRequest, QueryStats, QueryTime};
use crate::chunkenc::ChunkError;
use crate::promql::parser::Grouping;
use crate::promql::storage::{Point, SampleValue, SelectHints};
use crate::promql::value::Value;
use crate::promql::{Engine, EngineError};
use crate::storeapi::{AggrChunk, QueryHints, Store};
use feed::{Feeds, FetchContext};

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
        let context = FetchContext {
            store: Arc::clone(&self.store),
            replica_labels: request.replica_labels.clone(),
            partial_response: request.partial_response,
            budget: Arc::new(SampleBudget::new(self.max_samples)),
        };
        // Dropping `_fetching` (at the end, or when the deadline cuts the query short) stops
        // the fetches, and a blocked evaluator with them.
        let (feeds, _fetching) = Feeds::start(selections, &context);
        let feeds = Arc::new(feeds);
        stats.query_preparation = prepared.elapsed();
        let evaluation_started = Instant::now();
        let engine = self.engine.clone();
        let expr = request.expr.clone();
        let time = request.time;
        let storage = Arc::clone(&feeds);
        let evaluation = tokio::task::spawn_blocking(move || match time {
            QueryTime::Instant { t_ms } => engine.instant(storage.as_ref(), &expr, t_ms),
            QueryTime::Range {
                start_ms,
                end_ms,
                step_ms,
            } => engine
                .range(storage.as_ref(), &expr, start_ms, end_ms, step_ms)
                .map(|r| r.map(Value::Matrix)),
        });
        let finished = async {
            let evaluated = evaluation
                .await
                .map_err(|e| ApiError::Internal(format!("query evaluation failed: {e}")))?;
            if evaluated.is_ok() {
                feeds.drain().await;
            }
            Ok::<_, ApiError>(evaluated)
        };
        let evaluated = timeout_at(deadline, finished).await.map_err(timed_out)??;
        if let Some(failure) = feeds.take_failure() {
            return Err(failure);
        }
        let evaluated = evaluated.map_err(engine_error)?;
        stats.inner_eval = evaluation_started.elapsed();
        stats.samples_loaded = context.budget.loaded();
        stats.result_samples = QueryStats::samples_in(&evaluated.value);
        stats.exec_total = started.elapsed();
        let mut warnings = feeds.warnings();
        warnings.extend(evaluated.warnings);
        Ok(QueryOutcome {
            value: evaluated.value,
            warnings,
            infos: evaluated.infos,
            stats,
        })
    }
}

/// The StoreAPI hints for a selection (Thanos's `QueryHints`: step, enclosing function,
/// grouping, range).
pub(super) fn query_hints(hints: &SelectHints) -> QueryHints {
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
pub(super) fn decode(
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
