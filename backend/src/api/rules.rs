//! `/api/v1/rules` and `/api/v1/alerts`: Chorus evaluates no rules and reaches no Rules API, so
//! both answer an empty success in Prometheus's shape (`{"groups":[]}`, `{"alerts":[]}`;
//! upstream prometheus web/api/v1/api.go `rules`, `alerts`). Grafana's Prometheus data source
//! and alerting UI call them and treat an error as a broken data source. Parameters are checked
//! as Prometheus checks them.

use axum::response::Response;
use serde_json::json;

use super::error::ApiError;
use super::params::Params;
use super::success;

/// `/api/v1/rules`: no rule groups. `type`, when given, must be `alert` or `record`.
pub async fn rules(params: Params) -> Result<Response, ApiError> {
    if let Some(kind) = params.get("type").filter(|t| !t.is_empty())
        && !matches!(kind.to_ascii_lowercase().as_str(), "alert" | "record")
    {
        return Err(ApiError::invalid_parameter(
            "type",
            format!("not supported value {kind:?}"),
        ));
    }
    Ok(success(json!({ "groups": [] }), Vec::new()))
}

/// `/api/v1/alerts`: no alerts.
pub async fn alerts() -> Response {
    success(json!({ "alerts": [] }), Vec::new())
}
