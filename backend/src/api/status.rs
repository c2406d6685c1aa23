//! Status endpoints: `/api/v1/status/buildinfo`, `/api/v1/status/flags`, the probes
//! `/-/healthy` and `/-/ready` (status codes as thanos pkg/prober/http.go), and `/metrics`.
//! Knows nothing of stores beyond [`super::EndpointStatus::ready`].

use std::sync::Arc;

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use shared::api::BuildInfo;

use super::{ApiState, success};

/// The Prometheus version `/api/v1/status/buildinfo` reports as `version`.
///
/// Grafana's Prometheus data source and alerting read `version` as a Prometheus version and turn
/// API features on from it (label and series calls with `match[]`, metadata, exemplars, ...).
/// Thanos reports its own `0.x` there, which such clients take for a very old Prometheus;
/// Chorus reports the Prometheus release whose HTTP API it serves and puts its own version in
/// `chorusVersion`.
pub const PROMETHEUS_API_VERSION: &str = "2.53.0";

/// What `/api/v1/status/buildinfo` reports: `version` is [`PROMETHEUS_API_VERSION`],
/// `chorusVersion` the crate's `x.y.z`; revision, branch, builder and date come from
/// `CHORUS_REVISION`, `CHORUS_BRANCH`, `CHORUS_BUILD_USER` and `CHORUS_BUILD_DATE` at compile
/// time when the packager sets them.
pub fn build_info() -> BuildInfo {
    let or_unknown = |value: Option<&str>| value.unwrap_or("unknown").to_string();
    BuildInfo {
        version: PROMETHEUS_API_VERSION.to_string(),
        chorus_version: env!("CARGO_PKG_VERSION").to_string(),
        revision: or_unknown(option_env!("CHORUS_REVISION")),
        branch: or_unknown(option_env!("CHORUS_BRANCH")),
        build_user: or_unknown(option_env!("CHORUS_BUILD_USER")),
        build_date: or_unknown(option_env!("CHORUS_BUILD_DATE")),
        go_version: format!("rust (MSRV {})", env!("CARGO_PKG_RUST_VERSION")),
    }
}

/// `/api/v1/status/buildinfo`.
pub async fn buildinfo() -> Response {
    success(build_info(), Vec::new())
}

/// `/api/v1/status/flags`: flag names without `--`, values as strings.
pub async fn flags(State(state): State<Arc<ApiState>>) -> Response {
    success(&state.flags, Vec::new())
}

/// `/-/healthy`: 200 while the process serves HTTP at all.
pub async fn healthy() -> &'static str {
    "OK"
}

/// `/-/ready`: 200 once the endpoint set says queries can be answered, 503 before.
pub async fn ready(State(state): State<Arc<ApiState>>) -> Response {
    if state.endpoints.ready() {
        (StatusCode::OK, "OK").into_response()
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "NOT READY").into_response()
    }
}

/// `/metrics`: the process's metrics in the Prometheus text format.
pub async fn metrics(State(state): State<Arc<ApiState>>) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        state.metrics.render(),
    )
        .into_response()
}
