//! Query statistics: what the querier measures about one query ([`QueryStats`]) and the
//! `stats` object `/api/v1/query` and `/api/v1/query_range` add to `data` when the request has
//! a non-empty `stats` parameter (upstream: prometheus web/api/v1/api.go `QueryData`,
//! `DefaultStatsRenderer`, `statsParamWarning`; util/stats/query_stats.go `BuiltinStats`).
//!
//! The JSON is `{"timings": {evalTotalTime, resultSortTime, queryPreparationTime, innerEvalTime,
//! execQueueTime, execTotalTime}, "samples": {totalQueryableSamples, samplesRead, peakSamples}}`
//! with times in seconds. What each figure means here, where it differs from Prometheus:
//! - `queryPreparationTime` is planning the selections and starting their fetches from the
//!   stores; `innerEvalTime` the evaluation, which overlaps the fetches (series are streamed
//!   into it) and so includes waiting for series still on their way; `resultSortTime` is 0
//!   (sorting happens inside the evaluation and is counted there).
//! - `samplesRead` is the samples loaded from the stores after replica deduplication.
//!   `totalQueryableSamples` is the same figure: Prometheus counts every sample once per step
//!   that reads it, which our evaluator does not track, so this is a lower bound for range
//!   queries over overlapping windows.
//! - `peakSamples` is the samples loaded plus the samples of the result, all of which are in
//!   memory at once (intermediate vectors are not counted, so this is a lower bound). A native
//!   histogram counts as one sample.
//!
//! `stats=all` asks Prometheus for per-step statistics, which it gives only behind
//! `--enable-feature=promql-per-step-stats`; as without that flag, it gives the same as `true`.
//! Values other than `true` and `all` still enable statistics but add Prometheus 3's
//! deprecation warning. This module knows nothing of how queries are evaluated.

use std::time::Duration;

use serde::Serialize;

use super::params::Params;
use crate::promql::value::Value;

/// What was measured about one query.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct QueryStats {
    /// Waiting for a slot under `--query.max-concurrent`.
    pub exec_queue: Duration,
    /// Planning the query's selections and starting to fetch them.
    pub query_preparation: Duration,
    /// Evaluating the expression, fetching and deduplicating the series it reads meanwhile.
    pub inner_eval: Duration,
    /// The whole query, queueing included.
    pub exec_total: Duration,
    /// Samples loaded from the stores, after deduplication.
    pub samples_loaded: u64,
    /// Samples (points) in the result.
    pub result_samples: u64,
}

impl QueryStats {
    /// How many samples `value` holds: one per vector element or scalar, one per point of a
    /// matrix.
    pub fn samples_in(value: &Value) -> u64 {
        let count = match value {
            Value::Scalar(_) | Value::String(_) => 1,
            Value::Vector(v) => v.len(),
            Value::Matrix(m) => m.iter().map(|s| s.points.len()).sum(),
        };
        u64::try_from(count).unwrap_or(u64::MAX)
    }
}

/// Whether a request asked for statistics, read from its `stats` parameter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StatsParam {
    /// No `stats` parameter, or an empty one.
    Off,
    /// `true` or `all`.
    On,
    /// Any other value: statistics, plus a deprecation warning naming the value.
    Deprecated(String),
}

impl StatsParam {
    /// Reads `stats` from `params`.
    pub fn from_params(params: &Params) -> Self {
        match params.get("stats").unwrap_or_default() {
            "" => StatsParam::Off,
            "true" | "all" => StatsParam::On,
            other => StatsParam::Deprecated(other.to_string()),
        }
    }

    /// Prometheus's warning for a deprecated value, if this is one.
    pub fn warning(&self) -> Option<String> {
        match self {
            StatsParam::Deprecated(value) => Some(format!(
                "value {value:?} for parameter \"stats\" is deprecated and will be rejected in the next major release, use \"true\" or \"all\""
            )),
            StatsParam::Off | StatsParam::On => None,
        }
    }

    /// The `stats` object for `stats`, when statistics were asked for.
    pub fn render(&self, stats: &QueryStats) -> Option<StatsJson> {
        match self {
            StatsParam::Off => None,
            StatsParam::On | StatsParam::Deprecated(_) => Some(StatsJson::new(stats)),
        }
    }
}

/// The `stats` object of a query answer (upstream `BuiltinStats`), fields in upstream's order.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StatsJson {
    /// Where the time went, in seconds.
    pub timings: Timings,
    /// How many samples were touched.
    pub samples: Samples,
}

/// `timings`, in seconds.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Timings {
    /// Preparation, inner evaluation and sorting.
    pub eval_total_time: f64,
    /// Sorting the result; 0, as it is part of the inner evaluation here.
    pub result_sort_time: f64,
    /// Fetching the selected series.
    pub query_preparation_time: f64,
    /// Evaluating the expression.
    pub inner_eval_time: f64,
    /// Waiting for a query slot.
    pub exec_queue_time: f64,
    /// Everything, queueing included.
    pub exec_total_time: f64,
}

/// `samples`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Samples {
    /// Samples loaded (see the module doc for how this differs from Prometheus).
    pub total_queryable_samples: u64,
    /// Samples loaded from the stores.
    pub samples_read: u64,
    /// Samples loaded plus samples in the result.
    pub peak_samples: u64,
}

impl StatsJson {
    /// The JSON form of `stats`.
    pub fn new(stats: &QueryStats) -> Self {
        let eval_total = stats.query_preparation.saturating_add(stats.inner_eval);
        Self {
            timings: Timings {
                eval_total_time: eval_total.as_secs_f64(),
                result_sort_time: 0.0,
                query_preparation_time: stats.query_preparation.as_secs_f64(),
                inner_eval_time: stats.inner_eval.as_secs_f64(),
                exec_queue_time: stats.exec_queue.as_secs_f64(),
                exec_total_time: stats.exec_total.as_secs_f64(),
            },
            samples: Samples {
                total_queryable_samples: stats.samples_loaded,
                samples_read: stats.samples_loaded,
                peak_samples: stats.samples_loaded.saturating_add(stats.result_samples),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::promql::storage::{Point, SampleValue};
    use crate::promql::value::RangeSeries;
    use shared::labels::Labels;

    #[test]
    fn parameter_values_follow_prometheus() {
        let read = |v: &str| StatsParam::from_params(&Params::from_pairs([("stats", v)]));
        assert_eq!(
            StatsParam::from_params(&Params::from_pairs::<&str, &str>([])),
            StatsParam::Off
        );
        assert_eq!(read(""), StatsParam::Off);
        assert_eq!(read("true"), StatsParam::On);
        assert_eq!(read("all"), StatsParam::On);
        assert_eq!(read("1"), StatsParam::Deprecated("1".into()));
        assert_eq!(read("true").warning(), None);
        assert_eq!(
            read("yes").warning().as_deref(),
            Some(
                "value \"yes\" for parameter \"stats\" is deprecated and will be rejected in the next major release, use \"true\" or \"all\""
            )
        );
        assert!(read("").render(&QueryStats::default()).is_none());
        assert!(read("yes").render(&QueryStats::default()).is_some());
    }

    #[test]
    fn json_has_prometheus_field_names_in_seconds() {
        let stats = QueryStats {
            exec_queue: Duration::from_millis(1),
            query_preparation: Duration::from_millis(20),
            inner_eval: Duration::from_millis(5),
            exec_total: Duration::from_millis(30),
            samples_loaded: 120,
            result_samples: 7,
        };
        let text = serde_json::to_string(&StatsJson::new(&stats)).expect("serialises");
        assert_eq!(
            text,
            concat!(
                r#"{"timings":{"evalTotalTime":0.025,"resultSortTime":0.0,"queryPreparationTime":0.02,"#,
                r#""innerEvalTime":0.005,"execQueueTime":0.001,"execTotalTime":0.03},"#,
                r#""samples":{"totalQueryableSamples":120,"samplesRead":120,"peakSamples":127}}"#
            )
        );
    }

    #[test]
    fn result_samples_count_points() {
        let points = |n: i64| {
            (0..n)
                .map(|t_ms| Point {
                    t_ms,
                    value: SampleValue::Float(1.0),
                })
                .collect()
        };
        let matrix = Value::Matrix(vec![
            RangeSeries {
                labels: Labels::from_pairs([("a", "1")]),
                points: points(3),
                drop_name: false,
            },
            RangeSeries {
                labels: Labels::from_pairs([("a", "2")]),
                points: points(2),
                drop_name: false,
            },
        ]);
        assert_eq!(QueryStats::samples_in(&matrix), 5);
        assert_eq!(QueryStats::samples_in(&Value::Scalar(1.0)), 1);
        assert_eq!(QueryStats::samples_in(&Value::Vector(Vec::new())), 0);
    }
}
