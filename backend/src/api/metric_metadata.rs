//! `/api/v1/metadata`: what the scrape targets behind the stores say about each metric
//! (upstream: prometheus web/api/v1/api.go `metricMetadata`, thanos pkg/api/query/v1.go
//! `metricMetadataHandler`; THANOS.md §3).
//!
//! Parameters: `metric` (only that metric), `limit` (at most that many metrics; negative or
//! absent means all) and Thanos's `partial_response`. The answer is
//! `{"<metric>":[{"type","help","unit"},…],…}`, merged over every store that serves metadata
//! with identical descriptions listed once. Talks to stores only through
//! [`crate::storeapi::Store::metric_metadata`] (the querier's fan-out proxy).

use std::sync::Arc;

use axum::extract::State;
use axum::response::Response;

use super::error::ApiError;
use super::params::{Params, partial_response_param};
use super::stream::deadline_after;
use super::{ApiState, success};
use crate::storeapi::MetricMetadataRequest;

/// `/api/v1/metadata`.
pub async fn metric_metadata(
    State(state): State<Arc<ApiState>>,
    params: Params,
) -> Result<Response, ApiError> {
    let request = MetricMetadataRequest {
        metric: params
            .get("metric")
            .filter(|m| !m.is_empty())
            .map(str::to_string),
        limit: metadata_limit(&params)?,
        partial_response: partial_response_param(&params, state.partial_response)?,
    };
    let deadline = deadline_after(state.query_timeout);
    let response = tokio::time::timeout_at(deadline, state.store.metric_metadata(request))
        .await
        .map_err(|_| ApiError::Timeout(state.query_timeout))??;
    Ok(success(response.metadata, response.warnings))
}

/// `limit`: any integer, negative (the default, -1) meaning no limit; 0 gives an empty answer.
/// Anything else is `bad_data` with Prometheus's message.
fn metadata_limit(params: &Params) -> Result<Option<usize>, ApiError> {
    let Some(value) = params.get("limit").filter(|v| !v.is_empty()) else {
        return Ok(None);
    };
    let limit: i64 = value
        .parse()
        .map_err(|_| ApiError::BadRequest("limit must be a number".into()))?;
    Ok(usize::try_from(limit).ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limit_follows_prometheus() {
        let limit = |v: &str| metadata_limit(&Params::from_pairs([("limit", v)]));
        assert_eq!(metadata_limit(&Params::default()), Ok(None));
        assert_eq!(limit("-1"), Ok(None));
        assert_eq!(limit("0"), Ok(Some(0)));
        assert_eq!(limit("3"), Ok(Some(3)));
        assert_eq!(
            limit("x").map_err(|e| e.to_string()),
            Err("limit must be a number".to_string())
        );
    }
}
