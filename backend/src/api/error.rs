//! Every way an API request can fail, and its Prometheus error JSON
//! (`{"status":"error","errorType":…,"error":…}`) with the matching HTTP status
//! (upstream: prometheus web/api/v1/api.go `respondError`, thanos pkg/api/api.go `RespondError`;
//! THANOS.md §3). Handlers return [`ApiError`]; nothing else in the API builds error bodies.

use std::time::Duration;

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use shared::api::{ErrorBody, ErrorType};

use crate::storeapi::StoreError;

/// A failed API request.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApiError {
    /// 400 `bad_data`: a parameter does not parse or is out of range.
    #[error("invalid parameter {name:?}: {reason}")]
    InvalidParameter {
        /// The parameter's name, e.g. `start`.
        name: String,
        /// Why it is invalid.
        reason: String,
    },
    /// 400 `bad_data`: the request is malformed in a way no single parameter explains,
    /// e.g. a `match[]` selector that does not parse (the parser's message is kept verbatim).
    #[error("{0}")]
    BadRequest(String),
    /// 422 `execution`, or 503 `timeout`/`canceled`: a store call failed and the failure was
    /// not turned into a warning (partial response off, or nothing to fall back on).
    #[error("{0}")]
    Store(#[from] StoreError),
    /// 422 `execution`: the query parsed but could not be evaluated (the engine's message).
    #[error("{0}")]
    Execution(String),
    /// 503 `timeout`: the request ran past the query timeout.
    #[error("request timed out after {}", humantime::format_duration(*.0))]
    Timeout(Duration),
    /// 404 `not_found`: no such API path.
    #[error("no API endpoint at {0}")]
    NotFound(String),
    /// 500 `internal`: a bug or an impossible state, e.g. a response that does not serialise.
    #[error("{0}")]
    Internal(String),
}

impl ApiError {
    /// A `bad_data` error for parameter `name`.
    pub fn invalid_parameter(name: &str, reason: impl Into<String>) -> Self {
        ApiError::InvalidParameter {
            name: name.to_string(),
            reason: reason.into(),
        }
    }

    /// The Prometheus error class, which decides the HTTP status.
    pub fn error_type(&self) -> ErrorType {
        match self {
            ApiError::InvalidParameter { .. } | ApiError::BadRequest(_) => ErrorType::BadData,
            ApiError::Store(StoreError::DeadlineExceeded(_)) | ApiError::Timeout(_) => {
                ErrorType::Timeout
            }
            ApiError::Store(StoreError::Cancelled(_)) => ErrorType::Canceled,
            ApiError::Store(_) | ApiError::Execution(_) => ErrorType::Execution,
            ApiError::NotFound(_) => ErrorType::NotFound,
            ApiError::Internal(_) => ErrorType::Internal,
        }
    }

    /// The HTTP status of the error response.
    pub fn status(&self) -> StatusCode {
        StatusCode::from_u16(self.error_type().http_status())
            .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        if status.is_server_error() {
            tracing::warn!(error = %self, "API request failed");
        } else {
            tracing::debug!(error = %self, "API request rejected");
        }
        (
            status,
            Json(ErrorBody::new(self.error_type(), self.to_string())),
        )
            .into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classes_and_statuses_follow_prometheus() {
        let cases = [
            (
                ApiError::invalid_parameter("start", "x"),
                ErrorType::BadData,
                400,
            ),
            (ApiError::BadRequest("x".into()), ErrorType::BadData, 400),
            (
                ApiError::Store(StoreError::Aborted("x".into())),
                ErrorType::Execution,
                422,
            ),
            (
                ApiError::Store(StoreError::Unavailable("x".into())),
                ErrorType::Execution,
                422,
            ),
            (
                ApiError::Store(StoreError::DeadlineExceeded("x".into())),
                ErrorType::Timeout,
                503,
            ),
            (
                ApiError::Store(StoreError::Cancelled("x".into())),
                ErrorType::Canceled,
                503,
            ),
            (
                ApiError::Timeout(Duration::from_secs(1)),
                ErrorType::Timeout,
                503,
            ),
            (ApiError::NotFound("/x".into()), ErrorType::NotFound, 404),
            (ApiError::Internal("x".into()), ErrorType::Internal, 500),
        ];
        for (error, class, status) in cases {
            assert_eq!(error.error_type(), class, "{error:?}");
            assert_eq!(error.status().as_u16(), status, "{error:?}");
        }
    }

    #[test]
    fn invalid_parameter_is_worded_like_prometheus() {
        let e = ApiError::invalid_parameter("start", "cannot parse \"x\" to a valid timestamp");
        assert_eq!(
            e.to_string(),
            "invalid parameter \"start\": cannot parse \"x\" to a valid timestamp"
        );
    }
}
