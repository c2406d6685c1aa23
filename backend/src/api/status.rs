//! Status endpoints: `/api/v1/status/buildinfo`, `/api/v1/status/flags`, the probes
//! `/-/healthy` and `/-/ready` (status codes as thanos pkg/prober/http.go), and `/metrics`.
//! Knows nothing of stores beyond [`super::EndpointStatus::ready`].

use std::sync::Arc;

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use shared::api::BuildInfo;

use super::{ApiState, success};

/// What `/api/v1/status/buildinfo` reports. The version is the crate's `x.y.z`; revision,
/// branch, builder and date come from `CHORUS_REVISION`, `CHORUS_BRANCH`, `CHORUS_BUILD_USER`
/// and `CHORUS_BUILD_DATE` at compile time when the packager sets them.
pub fn build_info() -> BuildInfo {
    let or_unknown = |value: Option<&str>| value.unwrap_or("unknown").to_string();
    BuildInfo {
        version: env!("CARGO_PKG_VERSION").to_string(),
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
