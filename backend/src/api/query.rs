//! The PromQL endpoints `/api/v1/query` and `/api/v1/query_range` (upstream: prometheus
//! web/api/v1/api.go `query`, `queryRange`; thanos pkg/api/query/v1.go; THANOS.md §3).
//!
//! Handlers read and check the parameters, hand a [`QueryRequest`] to the [`QueryEngine`] in
//! [`ApiState`] and render its [`Value`] as Prometheus's JSON. They know nothing of how the
//! engine finds its data (the querier implements the trait over the fan-out).
//!
//! `engine` and `max_source_resolution` are accepted and ignored; `stats` adds the statistics of
//! `api::stats` to `data`.
//! Native histogram samples are rendered by `api::histogram_json` (`count`, `sum`, `buckets`).

use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::response::Response;
use futures::future::BoxFuture;

use super::ApiState;
use super::error::ApiError;
use super::params::{
    Params, parse_duration, parse_time, partial_response_param, replica_labels_param, time_param,
};
use super::query_json::{self, QueryResult};
use super::stats::{QueryStats, StatsJson, StatsParam};
use crate::promql::value::Value;
use crate::storeapi::PartialResponse;
use shared::api::Success;

/// Most points a range query may return per series (prometheus web/api/v1/api.go).
pub const MAX_POINTS: i64 = 11_000;

/// When a query is evaluated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QueryTime {
    /// One evaluation at `t_ms`.
    Instant {
        /// Evaluation time, ms since the epoch.
        t_ms: i64,
    },
    /// Evaluations from `start_ms` to `end_ms` inclusive every `step_ms` (checked: `step_ms > 0`,
    /// `end_ms >= start_ms`, at most [`MAX_POINTS`] steps).
    Range {
        /// First evaluation, ms.
        start_ms: i64,
        /// Last evaluation at or before this, ms.
        end_ms: i64,
        /// Step, ms.
        step_ms: i64,
    },
}

/// One PromQL query as the handlers hand it to the engine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueryRequest {
    /// The expression text.
    pub expr: String,
    /// When to evaluate.
    pub time: QueryTime,
    /// Replica labels to deduplicate on; empty when dedup is off.
    pub replica_labels: Vec<String>,
    /// What to do when a store fails.
    pub partial_response: PartialResponse,
    /// How long the query may take.
    pub timeout: Duration,
}

/// A query's answer: its value, the warnings of the stores it read and what was measured.
#[derive(Debug, Clone, PartialEq)]
pub struct QueryOutcome {
    /// The result (a matrix for range queries).
    pub value: Value,
    /// Non-fatal problems (store errors under partial response, PromQL warnings), passed on
    /// as `warnings`.
    pub warnings: Vec<String>,
    /// PromQL infos, passed on as `infos` (Prometheus 3).
    pub infos: Vec<String>,
    /// Timings and sample counts, rendered when the request has `stats`.
    pub stats: QueryStats,
}

/// Evaluates PromQL queries; implemented by `query::querier` over the fan-out, by fakes in tests.
pub trait QueryEngine: Send + Sync {
    /// Answers `request`, with errors already classed as Prometheus classes them.
    fn query(&self, request: QueryRequest) -> BoxFuture<'_, Result<QueryOutcome, ApiError>>;
}

/// `/api/v1/query`.
pub async fn instant(
    State(state): State<Arc<ApiState>>,
    params: Params,
) -> Result<Response, ApiError> {
    let now_ms = chrono::Utc::now().timestamp_millis();
    let t_ms = time_param(&params, "time", now_ms)?;
    run(&state, &params, QueryTime::Instant { t_ms }).await
}

/// `/api/v1/query_range`.
pub async fn range(
    State(state): State<Arc<ApiState>>,
    params: Params,
) -> Result<Response, ApiError> {
    let start_ms = required_time(&params, "start")?;
    let end_ms = required_time(&params, "end")?;
    if end_ms < start_ms {
        return Err(ApiError::BadRequest(
            "end timestamp must not be before start time".into(),
        ));
    }
    let step = params.get("step").ok_or_else(|| {
        ApiError::invalid_parameter("step", "cannot parse \"\" to a valid duration")
    })?;
    let step_ms = parse_duration(step)
        .map_err(|reason| ApiError::invalid_parameter("step", reason))
        .and_then(|d| {
            i64::try_from(d.as_millis())
                .map_err(|_| ApiError::invalid_parameter("step", "step is too large"))
        })?;
    if step_ms <= 0 {
        return Err(ApiError::BadRequest(
            "zero or negative query resolution step widths are not accepted. Try a positive integer"
                .into(),
        ));
    }
    let points = (end_ms.abs_diff(start_ms) / step_ms.unsigned_abs()).saturating_add(1);
    if points > MAX_POINTS.unsigned_abs() {
        return Err(ApiError::BadRequest(
            "exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query resolution (?step=XX)"
                .into(),
        ));
    }
    let time = QueryTime::Range {
        start_ms,
        end_ms,
        step_ms,
    };
    run(&state, &params, time).await
}

fn required_time(params: &Params, name: &str) -> Result<i64, ApiError> {
    let value = params.get(name).unwrap_or_default();
    parse_time(value).map_err(|reason| ApiError::invalid_parameter(name, reason))
}

/// Reads the parameters both endpoints share, runs the query and renders the answer.
async fn run(state: &ApiState, params: &Params, time: QueryTime) -> Result<Response, ApiError> {
    let expr = params
        .get("query")
        .ok_or_else(|| {
            ApiError::invalid_parameter("query", "1:1: parse error: no expression found in input")
        })?
        .to_string();
    let timeout = match params.get("timeout") {
        None => state.query_timeout,
        Some(t) => parse_duration(t)
            .map_err(|reason| ApiError::invalid_parameter("timeout", reason))?
            .min(state.query_timeout),
    };
    let request = QueryRequest {
        expr,
        time,
        replica_labels: replica_labels_param(params, &state.replica_labels)?,
        partial_response: partial_response_param(params, state.partial_response)?,
        timeout,
    };
    let stats = StatsParam::from_params(params);
    let outcome = state.query.query(request).await?;
    let t_ms = match time {
        QueryTime::Instant { t_ms } => t_ms,
        QueryTime::Range { end_ms, .. } => end_ms,
    };
    let result = QueryResult::new(outcome.value, t_ms);
    let data = QueryData {
        result_type: result.result_type(),
        result,
        stats: stats.render(&outcome.stats),
    };
    let mut warnings = outcome.warnings;
    warnings.extend(stats.warning());
    Ok(query_json::streamed(
        Success::new(data, warnings).with_infos(outcome.infos),
    ))
}

/// The `data` of a query answer, fields in Prometheus's order.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct QueryData {
    /// `vector`, `matrix`, `scalar` or `string`.
    pub result_type: &'static str,
    /// The result in that type's shape.
    pub result: QueryResult,
    /// Query statistics, when the request asked for them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stats: Option<StatsJson>,
}

/// A float as Prometheus writes sample values (util/jsonutil/marshal.go `MarshalFloat`): the
/// shortest round-trip digits, as Go's `strconv.FormatFloat` with format `'e'` (`1.5e+21`,
/// `-7e-09`: signed exponent of at least two digits) when `|v|` is below 1e-6 or at least 1e21
/// and not zero, else format `'f'` (no exponent); `NaN`, `+Inf`, `-Inf`.
pub fn format_float(v: f64) -> String {
    if v.is_nan() {
        return "NaN".into();
    }
    if v.is_infinite() {
        return if v > 0.0 { "+Inf" } else { "-Inf" }.into();
    }
    let magnitude = v.abs();
    if magnitude == 0.0 || (1e-6..1e21).contains(&magnitude) {
        return v.to_string();
    }
    // Rust writes `1.5e21` / `-7e-9`; Go writes the exponent signed and with two digits or more.
    let rust = format!("{v:e}");
    let (mantissa, exponent) = rust
        .split_once('e')
        .expect("LowerExp of a finite float has an exponent");
    let (sign, digits) = match exponent.strip_prefix('-') {
        Some(digits) => ('-', digits),
        None => ('+', exponent),
    };
    format!("{mantissa}e{sign}{digits:0>2}")
}
