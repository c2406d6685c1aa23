//! PromQL for `chorus query`: the [`parser`] and the [`Engine`] that evaluates parsed queries.
//!
//! The engine answers instant and range queries as Prometheus 3 does (promql/engine.go). It
//! reads data only through [`storage::Queryable`]: every selector is selected before
//! evaluation (as upstream `populateSeries`) as a lazy set of series, read when evaluation
//! first needs it (materialized for step-wise reading, or streamed series by series to a range
//! evaluation that reads each once). Evaluation returns `Result` and never unwinds.
//!
//! # Layout
//! - [`storage`]: the traits the evaluator reads through, and an in-memory implementation.
//! - [`value`]: scalars, strings, instant vectors and matrices.
//! - `eval`: the tree walk, selectors, lookback and staleness (`cursor`: where each step's time
//!   falls in a series' samples); `binary`: operators and vector
//!   matching; `aggregate`: `sum`, `avg`, ... (`aggregate/select`: `topk`, `limitk`, ...);
//!   `functions`: the function table, one file per family (`functions/quantile`,
//!   `native_quantile` and `buckets` hold the histogram quantile arithmetic); `histogram`:
//!   native-histogram arithmetic (`histogram/combine`: adding across layouts, reset detection;
//!   `histogram/trim`: `</` `>/`; `histogram/bounds`, `histogram/text`);
//!   `histogram_stats`: statistics-only histogram reads; `go_format`: Go's float formats for
//!   annotation texts; `extended`: the `anchored` and `smoothed` selector modifiers; `starts`:
//!   start timestamps (`@st`) and the counter resets they imply.
//!
//! # Conformance
//! All 2214 evals of Prometheus 3.14's PromQL test scripts pass (`chorus promql-test`). A
//! feature found missing fails with [`EngineError::NotImplemented`] rather than answering
//! wrongly.
//!
//! ```
//! use chorus::promql::{Engine, storage::memory::MemoryStorage, storage::Point};
//! use chorus::promql::storage::SampleValue;
//! use chorus::promql::value::Value;
//! use shared::labels::Labels;
//!
//! let mut storage = MemoryStorage::new();
//! let labels = Labels::from_pairs([("__name__", "up"), ("job", "a")]);
//! storage.append(&labels, Point { t_ms: 0, value: SampleValue::Float(1.0) });
//! let result = Engine::default().instant(&storage, "up * 2", 60_000).unwrap();
//! let Value::Vector(v) = result.value else {
//!     panic!("a vector")
//! };
//! assert_eq!(v[0].labels.to_string(), r#"{job="a"}"#);
//! assert_eq!(v[0].value, SampleValue::Float(2.0));
//! ```
//!
//! Nothing here knows about the StoreAPI, gRPC or HTTP.

mod aggregate;
pub mod annotations;
mod binary;
mod cursor;
mod eval;
mod extended;
mod functions;
mod go_format;
pub(crate) mod histogram;
mod histogram_stats;
pub mod parser;
mod starts;
pub mod storage;
pub mod value;

use std::time::Duration;

use annotations::Evaluated;
use parser::{ParseError, ValueType};
use storage::{Queryable, StorageError};
use value::{Matrix, Value};

/// Engine settings (upstream `promql.EngineOpts`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EngineConfig {
    /// How far back a vector selector looks for a sample (`--query.lookback-delta`).
    pub lookback_delta: Duration,
    /// Most steps a range query may have (upstream refuses more than 11,000 points per series).
    pub max_steps: u64,
    /// Step of a subquery written without one (`x[5m:]`); upstream's default evaluation
    /// interval, one minute in promqltest.
    pub default_subquery_step: Duration,
}

impl Default for EngineConfig {
    fn default() -> Self {
        Self {
            lookback_delta: Duration::from_secs(5 * 60),
            max_steps: 11_000,
            default_subquery_step: Duration::from_secs(60),
        }
    }
}

/// Why a query could not be answered. Messages follow Prometheus's wording.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// The query does not parse.
    #[error(transparent)]
    Parse(#[from] ParseError),
    /// A feature this engine does not support yet.
    #[error("not implemented yet: {0}")]
    NotImplemented(String),
    /// The storage failed.
    #[error(transparent)]
    Storage(#[from] StorageError),
    /// Two result series have the same labels (after dropping `__name__`).
    #[error("vector cannot contain metrics with the same labelset")]
    DuplicateLabelset,
    /// A range query over something that is not a scalar or an instant vector.
    #[error("invalid expression type \"{0}\" for range query, must be Scalar or instant Vector")]
    RangeQueryType(ValueType),
    /// The step is not positive.
    #[error(
        "zero or negative query resolution step widths are not accepted. Try a positive integer"
    )]
    NonPositiveStep,
    /// The end is before the start.
    #[error("end timestamp must not be before start time")]
    EndBeforeStart,
    /// Too many steps.
    #[error(
        "exceeded maximum resolution of {max} points per timeseries. Try decreasing the query resolution (?step=XX)"
    )]
    TooManySteps {
        /// The configured limit.
        max: u64,
    },
    /// The query would process too many samples (upstream `ErrTooManySamples`).
    #[error("query processing would load too many samples into memory in query execution")]
    TooManySamples,
    /// Vector matching failed (many-to-many, duplicate series on the "one" side...).
    #[error("{0}")]
    Matching(String),
    /// A runtime error with Prometheus's message (invalid function arguments, ...).
    #[error("{0}")]
    Runtime(String),
}

/// Evaluates PromQL over a [`Queryable`].
#[derive(Debug, Clone, Default)]
pub struct Engine {
    config: EngineConfig,
}

impl Engine {
    /// An engine with these settings.
    pub fn new(config: EngineConfig) -> Self {
        Self { config }
    }

    /// The settings.
    pub fn config(&self) -> &EngineConfig {
        &self.config
    }

    /// Evaluates `expr` at `t_ms`: a scalar, string, instant vector or (for a range-vector
    /// expression) a matrix, with the annotations of its evaluation.
    pub fn instant(
        &self,
        storage: &dyn Queryable,
        query: &str,
        t_ms: i64,
    ) -> Result<Evaluated<Value>, EngineError> {
        let expr = parser::parse(query)?;
        let bounds = eval::QueryBounds {
            start_ms: t_ms,
            end_ms: t_ms,
            step_ms: 0,
        };
        let evaluator = eval::Evaluator::new(&self.config, storage, &expr, bounds)?;
        let value = evaluator.instant_result(&expr, t_ms)?;
        Ok(evaluator.finish(query, value))
    }

    /// Evaluates `expr` at every step from `start_ms` to `end_ms` inclusive: a matrix sorted
    /// by labels, series without any point left out, with the annotations of its evaluation.
    pub fn range(
        &self,
        storage: &dyn Queryable,
        query: &str,
        start_ms: i64,
        end_ms: i64,
        step_ms: i64,
    ) -> Result<Evaluated<Matrix>, EngineError> {
        if step_ms <= 0 {
            return Err(EngineError::NonPositiveStep);
        }
        if end_ms < start_ms {
            return Err(EngineError::EndBeforeStart);
        }
        let steps = end_ms.abs_diff(start_ms) / step_ms.unsigned_abs() + 1;
        if steps > self.config.max_steps {
            return Err(EngineError::TooManySteps {
                max: self.config.max_steps,
            });
        }
        let expr = parser::parse(query)?;
        match expr.value_type() {
            ValueType::Scalar | ValueType::InstantVector => {}
            other => return Err(EngineError::RangeQueryType(other)),
        }
        let bounds = eval::QueryBounds {
            start_ms,
            end_ms,
            step_ms,
        };
        let evaluator = eval::Evaluator::new(&self.config, storage, &expr, bounds)?;
        let value = evaluator.range_result(&expr)?;
        Ok(evaluator.finish(query, value))
    }

    /// The selections a query will make, without evaluating it: one `(matchers, hints)` per
    /// selector. Callers whose data arrives asynchronously (the fan-out) can start fetching
    /// these before evaluating and answer [`storage::Queryable::select`] with the series as
    /// they arrive. For an instant query pass `start_ms == end_ms` and `step_ms` 0.
    pub fn selections(
        &self,
        expr: &str,
        start_ms: i64,
        end_ms: i64,
        step_ms: i64,
    ) -> Result<Vec<storage::Selection>, EngineError> {
        let expr = parser::parse(expr)?;
        let recorder = storage::Recorder::default();
        let bounds = eval::QueryBounds {
            start_ms,
            end_ms,
            step_ms,
        };
        eval::Evaluator::new(&self.config, &recorder, &expr, bounds)?;
        Ok(recorder.into_selections())
    }
}

#[cfg(test)]
mod tests {
    use shared::labels::Labels;

    use super::storage::memory::MemoryStorage;
    use super::storage::{Point, SampleValue};
    use super::value::Value;
    use super::*;

    /// `m{i="a"}` every minute from 0 to 10m with value = minute, a stale marker at 11m;
    /// `n{i="a"}` = 100 at 0.
    fn storage() -> MemoryStorage {
        let mut s = MemoryStorage::new();
        let m = Labels::from_pairs([("__name__", "m"), ("i", "a")]);
        for minute in 0..=10 {
            let value = SampleValue::Float(f64::from(minute));
            s.append(
                &m,
                Point {
                    t_ms: i64::from(minute) * 60_000,
                    value,
                },
            );
        }
        let stale = SampleValue::Float(shared::series::stale_nan());
        s.append(
            &m,
            Point {
                t_ms: 11 * 60_000,
                value: stale,
            },
        );
        let n = Labels::from_pairs([("__name__", "n"), ("i", "a")]);
        s.append(
            &n,
            Point {
                t_ms: 0,
                value: SampleValue::Float(100.0),
            },
        );
        s
    }

    fn floats(v: &Value) -> Vec<(String, f64)> {
        match v {
            Value::Vector(v) => v
                .iter()
                .map(|e| match e.value {
                    SampleValue::Float(f) => (e.labels.to_string(), f),
                    SampleValue::Histogram(_) => (e.labels.to_string(), f64::NAN),
                })
                .collect(),
            other => panic!("expected a vector, got {other:?}"),
        }
    }

    #[test]
    fn lookback_window_is_left_open_and_staleness_ends_series() {
        let (e, s) = (Engine::default(), storage());
        // n's only sample is at 0: visible until just before 5m, gone at exactly 5m.
        assert_eq!(floats(&e.instant(&s, "n", 299_999).unwrap().value).len(), 1);
        assert!(floats(&e.instant(&s, "n", 300_000).unwrap().value).is_empty());
        // m ends with a stale marker at 11m.
        assert_eq!(
            floats(&e.instant(&s, "m", 10 * 60_000 + 59_000).unwrap().value)[0].1,
            10.0
        );
        assert!(floats(&e.instant(&s, "m", 11 * 60_000).unwrap().value).is_empty());
    }

    #[test]
    fn matrix_selector_is_left_open_and_offset_and_at_shift_it() {
        let (e, s) = (Engine::default(), storage());
        let count = |q: &str, t: i64| floats(&e.instant(&s, q, t).unwrap().value)[0].1;
        assert_eq!(count("count_over_time(m[2m])", 300_000), 2.0);
        assert_eq!(count("sum_over_time(m[2m] offset 1m)", 300_000), 3.0 + 4.0);
        assert_eq!(count("last_over_time(m[1m] @ 120)", 600_000), 2.0);
        assert_eq!(count("m @ end()", 0), 0.0);
    }

    #[test]
    fn arithmetic_drops_the_name_and_comparisons_filter() {
        let (e, s) = (Engine::default(), storage());
        let got = floats(&e.instant(&s, "m * 2 + on(i) n", 120_000).unwrap().value);
        assert_eq!(got, vec![("{i=\"a\"}".to_owned(), 104.0)]);
        let got = floats(&e.instant(&s, "m > 1", 120_000).unwrap().value);
        assert_eq!(got, vec![("{__name__=\"m\", i=\"a\"}".to_owned(), 2.0)]);
        assert!(floats(&e.instant(&s, "m > 5", 120_000).unwrap().value).is_empty());
        let got = floats(&e.instant(&s, "m > bool 5", 120_000).unwrap().value);
        assert_eq!(got, vec![("{i=\"a\"}".to_owned(), 0.0)]);
        assert_eq!(
            e.instant(&s, "1 + 2 * 3", 0).unwrap().value,
            Value::Scalar(7.0)
        );
    }

    #[test]
    fn range_queries_gather_steps_and_check_their_input() {
        let (e, s) = (Engine::default(), storage());
        let m = e.range(&s, "m", 0, 12 * 60_000, 60_000).unwrap().value;
        assert_eq!(m.len(), 1);
        let times: Vec<i64> = m[0].points.iter().map(|p| p.t_ms / 60_000).collect();
        assert_eq!(
            times,
            (0..=10).collect::<Vec<_>>(),
            "stale marker ends the series"
        );
        assert!(matches!(
            e.range(&s, "m", 0, 60, 0),
            Err(EngineError::NonPositiveStep)
        ));
        assert!(matches!(
            e.range(&s, "m[1m]", 0, 60, 1),
            Err(EngineError::RangeQueryType(ValueType::RangeVector))
        ));
        let err = e
            .instant(&s, "holt_winters(m[1m], 0.5, 0.5)", 0)
            .unwrap_err();
        assert!(
            matches!(err, EngineError::Parse(_) | EngineError::NotImplemented(_)),
            "{err}"
        );
    }
}
