//! The Prometheus HTTP API envelope and the response bodies Chorus serves
//! (upstream: Prometheus web/api/v1, Thanos pkg/api/api.go; THANOS.md §3).
//!
//! Success: `{"status":"success","data":…,"warnings":[…]}` (warnings omitted when empty).
//! Error: `{"status":"error","errorType":"bad_data",…,"error":"…"}`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::labels::Labels;

/// `status` of a response envelope.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// The request succeeded; `data` holds the result.
    Success,
    /// The request failed; `errorType` and `error` say why.
    Error,
}

/// A successful response.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Success<T> {
    /// Always [`Status::Success`].
    pub status: Status,
    /// The result.
    pub data: T,
    /// Non-fatal problems, e.g. a store that did not answer under partial response.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
    /// PromQL infos: hints that the query may not mean what it says (Prometheus 3).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub infos: Vec<String>,
}

impl<T> Success<T> {
    /// A success envelope around `data` with `warnings`.
    pub fn new(data: T, warnings: Vec<String>) -> Self {
        Self {
            status: Status::Success,
            data,
            warnings,
            infos: Vec::new(),
        }
    }

    /// The same envelope carrying `infos`.
    pub fn with_infos(self, infos: Vec<String>) -> Self {
        Self { infos, ..self }
    }
}

/// Prometheus's error classes, each with its HTTP status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorType {
    /// 400: the request is malformed.
    BadData,
    /// 422: the request was valid but could not be executed.
    Execution,
    /// 503: the request timed out.
    Timeout,
    /// 503: the request was cancelled.
    Canceled,
    /// 500: an internal error.
    Internal,
    /// 404: no such resource.
    NotFound,
    /// 503: the server is not ready.
    Unavailable,
}

impl ErrorType {
    /// The HTTP status code Prometheus uses for this error class.
    pub fn http_status(self) -> u16 {
        match self {
            ErrorType::BadData => 400,
            ErrorType::Execution => 422,
            ErrorType::Timeout | ErrorType::Canceled | ErrorType::Unavailable => 503,
            ErrorType::Internal => 500,
            ErrorType::NotFound => 404,
        }
    }
}

/// An error response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// Always [`Status::Error`].
    pub status: Status,
    /// The error class.
    #[serde(rename = "errorType")]
    pub error_type: ErrorType,
    /// A human-readable message.
    pub error: String,
}

impl ErrorBody {
    /// An error envelope.
    pub fn new(error_type: ErrorType, error: impl Into<String>) -> Self {
        Self {
            status: Status::Error,
            error_type,
            error: error.into(),
        }
    }
}

/// One endpoint in `/api/v1/stores` (Thanos's shape).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoreStatus {
    /// The endpoint address, `host:port`.
    pub name: String,
    /// When the last health check ran, RFC 3339 with nanoseconds.
    #[serde(rename = "lastCheck")]
    pub last_check: String,
    /// When the last health check succeeded (Chorus extension; Thanos leaves it out).
    #[serde(
        rename = "lastSuccessfulCheck",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub last_successful_check: Option<String>,
    /// The error of the last check, `null` when it succeeded.
    #[serde(rename = "lastError")]
    pub last_error: Option<String>,
    /// The external label sets the endpoint announces.
    #[serde(rename = "labelSets")]
    pub label_sets: Vec<Labels>,
    /// Oldest data, ms since the epoch.
    #[serde(rename = "minTime")]
    pub min_time: i64,
    /// Newest data, ms since the epoch.
    #[serde(rename = "maxTime")]
    pub max_time: i64,
}

/// `/api/v1/stores`: endpoints grouped by component type (`sidecar`, `store`, `query`, ...).
pub type Stores = BTreeMap<String, Vec<StoreStatus>>;

/// `/api/v1/status/buildinfo`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BuildInfo {
    /// The Prometheus version whose HTTP API this server answers like (`x.y.z`): clients such
    /// as Grafana parse it to decide which API features they may use.
    pub version: String,
    /// The server's own version (Chorus's, `x.y.z`).
    pub chorus_version: String,
    /// Source revision.
    pub revision: String,
    /// Branch built from.
    pub branch: String,
    /// Who built it.
    pub build_user: String,
    /// When it was built.
    pub build_date: String,
    /// Compiler version.
    pub go_version: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn envelopes_serialise_like_prometheus() {
        let ok = serde_json::to_string(&Success::new(vec!["a"], vec![])).unwrap();
        assert_eq!(ok, r#"{"status":"success","data":["a"]}"#);
        let warned = serde_json::to_string(&Success::new(1, vec!["w".into()])).unwrap();
        assert_eq!(warned, r#"{"status":"success","data":1,"warnings":["w"]}"#);
        let err = serde_json::to_string(&ErrorBody::new(ErrorType::BadData, "boom")).unwrap();
        assert_eq!(
            err,
            r#"{"status":"error","errorType":"bad_data","error":"boom"}"#
        );
        assert_eq!(ErrorType::Execution.http_status(), 422);
    }

    #[test]
    fn labels_serialise_as_objects() {
        let l = Labels::from_pairs([("job", "x"), ("__name__", "up")]);
        assert_eq!(
            serde_json::to_string(&l).unwrap(),
            r#"{"__name__":"up","job":"x"}"#
        );
    }
}
