//! The sidecar's small HTTP server: `/-/healthy`, `/-/ready` and `/metrics` (the Thanos
//! sidecar's probe endpoints). It reads the shared [`PrometheusState`] and [`Metrics`] and knows
//! nothing of the StoreAPI.

use std::sync::Arc;
use std::time::Instant;

use axum::Router;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use super::state::PrometheusState;
use crate::telemetry::{Metrics, Protocol};

/// What the handlers read.
#[derive(Clone)]
pub struct HttpState {
    /// The sidecar's view of Prometheus.
    pub prometheus: Arc<PrometheusState>,
    /// The process's request metrics.
    pub metrics: Arc<Metrics>,
}

/// The router with the probe and metrics endpoints, each request recorded in the metrics.
pub fn router(state: HttpState) -> Router {
    Router::new()
        .route("/-/healthy", get(healthy))
        .route("/-/ready", get(ready))
        .route("/metrics", get(metrics))
        .layer(middleware::from_fn_with_state(state.clone(), record))
        .with_state(state)
}

async fn healthy() -> &'static str {
    "Chorus sidecar is Healthy.\n"
}

/// 200 once Prometheus answers and has external labels, else 503 with the reason.
async fn ready(State(state): State<HttpState>) -> Response {
    match state.prometheus.snapshot().readiness() {
        Ok(()) => (StatusCode::OK, "Chorus sidecar is Ready.\n").into_response(),
        Err(reason) => (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("Chorus sidecar is not ready: {reason}\n"),
        )
            .into_response(),
    }
}

async fn metrics(State(state): State<HttpState>) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        state.metrics.render(),
    )
        .into_response()
}

/// Records each request under its route (unknown paths under one name, to bound cardinality).
async fn record(State(state): State<HttpState>, request: Request, next: Next) -> Response {
    let handler = request
        .extensions()
        .get::<MatchedPath>()
        .map_or("unmatched", |p| p.as_str())
        .to_string();
    let start = Instant::now();
    let response = next.run(request).await;
    state.metrics.observe(
        Protocol::Http,
        &handler,
        response.status().as_str(),
        start.elapsed(),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use tower::ServiceExt;

    async fn get(app: Router, path: &str) -> (StatusCode, String) {
        let response = app
            .oneshot(
                Request::get(path)
                    .body(Body::empty())
                    .expect("router answers"),
            )
            .await
            .expect("router answers");
        let status = response.status();
        let body = axum::body::to_bytes(response.into_body(), 1 << 20)
            .await
            .expect("body is readable");
        (status, String::from_utf8_lossy(&body).into_owned())
    }

    #[tokio::test]
    async fn probes_and_metrics() {
        let state = HttpState {
            prometheus: Arc::new(PrometheusState::new()),
            metrics: Arc::new(Metrics::new()),
        };
        let app = router(state.clone());
        assert_eq!(
            get(app.clone(), "/-/healthy").await,
            (StatusCode::OK, "Chorus sidecar is Healthy.\n".into())
        );
        let (status, body) = get(app.clone(), "/-/ready").await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        assert!(body.contains("not ready"), "{body}");
        assert_eq!(get(app.clone(), "/nope").await.0, StatusCode::NOT_FOUND);
        let (status, body) = get(app, "/metrics").await;
        assert_eq!(status, StatusCode::OK);
        assert!(
            body.contains(r#"chorus_http_requests_total{handler="/-/ready",code="503"} 1"#),
            "{body}"
        );
        assert!(
            body.contains(r#"handler="unmatched",code="404"} 1"#),
            "{body}"
        );
    }
}
