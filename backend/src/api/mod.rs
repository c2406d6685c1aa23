//! The Prometheus-compatible HTTP API of `chorus query` (THANOS.md §3; upstream thanos
//! pkg/api/query/v1.go and pkg/api/api.go, prometheus web/api/v1/api.go).
//!
//! [`router`] builds the axum router over an [`ApiState`]; [`serve`] runs it until shutdown.
//! The API sees data only through [`crate::storeapi::Store`] (the querier's fan-out proxy), PromQL
//! only through [`QueryEngine`] and endpoint health only through [`EndpointStatus`]; it knows
//! nothing of gRPC, discovery or how replicas are merged. `query::run` and `demo` build the state; the web console is mounted as
//! the fallback.
//!
//! Routes: under the route prefix `/api/v1/{query,query_range,format_query,parse_query,series,
//! labels,label/<name>/values,metadata,query_exemplars,rules,alerts,stores,status/buildinfo,
//! status/flags}` (anything else under `/api/v1` is a JSON 404) and the
//! console; at the root `/-/healthy`, `/-/ready` and `/metrics`, as Thanos serves them, and
//! with a prefix, a redirect from `/` to it.
//! Every response gets Prometheus's CORS headers and is gzipped when the client accepts it.

mod error;
mod exemplars;
mod explain;
mod format;
mod histogram_json;
pub mod matchers;
mod metadata;
mod metric_metadata;
pub mod params;
pub mod query;
pub mod query_json;
mod rules;
mod stats;
mod status;
mod stores;
mod stream;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{MatchedPath, OriginalUri, Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get};
use serde::Serialize;
use shared::api::Success;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tower_http::compression::CompressionLayer;
use tower_http::cors::{Any, CorsLayer};
use tower_http::trace::TraceLayer;

pub use error::ApiError;
pub use query::{QueryEngine, QueryOutcome, QueryRequest, QueryTime};
pub use stats::QueryStats;
pub use status::{PROMETHEUS_API_VERSION, build_info};

use crate::storeapi::{PartialResponse, Store};
use crate::telemetry::{Metrics, Protocol};

/// What the API needs to know about the querier's endpoints. The query wiring implements it
/// over its endpoint set; tests use fakes.
pub trait EndpointStatus: Send + Sync {
    /// `/api/v1/stores`: endpoints grouped by component type, each group sorted by name
    /// (THANOS.md §3).
    fn stores(&self) -> shared::api::Stores;
    /// Problems with the endpoints as a whole (e.g. duplicate external labels), passed on as the
    /// `warnings` of `/api/v1/stores`.
    fn warnings(&self) -> Vec<String> {
        Vec::new()
    }
    /// Whether the querier can answer queries (`/-/ready`).
    fn ready(&self) -> bool;
}

/// Everything the handlers share.
#[derive(Clone)]
pub struct ApiState {
    /// The fan-out proxy over all endpoints; it deduplicates when asked through
    /// `without_replica_labels`.
    pub store: Arc<dyn Store>,
    /// The PromQL engine behind `/api/v1/query` and `/api/v1/query_range`.
    pub query: Arc<dyn QueryEngine>,
    /// Endpoint health, for `/api/v1/stores` and `/-/ready`.
    pub endpoints: Arc<dyn EndpointStatus>,
    /// `--query.replica-label`: labels that tell replicas apart (`replicaLabels[]` overrides them
    /// per request).
    pub replica_labels: Vec<String>,
    /// `--query.partial-response`: the policy when a request has no `partial_response`.
    pub partial_response: PartialResponse,
    /// `/api/v1/status/flags`: Thanos flag names without `--` (e.g. `query.replica-label`) to values.
    pub flags: BTreeMap<String, String>,
    /// The process's request metrics, rendered at `/metrics` and fed by every request.
    pub metrics: Arc<Metrics>,
    /// `--query.timeout`: how long one API request may take.
    pub query_timeout: Duration,
    /// `--web.route-prefix`: where the API and console are mounted (`""` or `/` for the root).
    pub route_prefix: String,
}

/// The HTTP server failed.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// Accepting or serving connections failed.
    #[error("HTTP server on {address:?} failed: {source}")]
    Io {
        /// The listening address, when known.
        address: Option<SocketAddr>,
        /// The underlying error.
        source: std::io::Error,
    },
}

/// The API router, mounted at `state.route_prefix`, with `ui` (the web console) as the fallback
/// for paths under the prefix that are not API routes.
pub fn router(state: ApiState, ui: Option<Router>) -> Router {
    let prefix = normalise_prefix(&state.route_prefix);
    let metrics = Arc::clone(&state.metrics);
    let state = Arc::new(state);
    let api = Router::new()
        .route(
            "/api/v1/series",
            get(metadata::series).post(metadata::series),
        )
        .route(
            "/api/v1/labels",
            get(metadata::label_names).post(metadata::label_names),
        )
        .route("/api/v1/label/{name}/values", get(metadata::label_values))
        .route("/api/v1/query", get(query::instant).post(query::instant))
        .route("/api/v1/query_range", get(query::range).post(query::range))
        .route("/api/v1/metadata", get(metric_metadata::metric_metadata))
        .route(
            "/api/v1/query_exemplars",
            get(exemplars::query_exemplars).post(exemplars::query_exemplars),
        )
        .route("/api/v1/rules", get(rules::rules))
        .route("/api/v1/alerts", get(rules::alerts))
        .route(
            "/api/v1/format_query",
            get(format::format_query).post(format::format_query),
        )
        .route(
            "/api/v1/parse_query",
            get(explain::parse_query).post(explain::parse_query),
        )
        .route("/api/v1/stores", get(stores::stores))
        .route("/api/v1/status/buildinfo", get(status::buildinfo))
        .route("/api/v1/status/flags", get(status::flags))
        .route("/api/v1/{*rest}", any(not_found))
        .with_state(Arc::clone(&state));
    let api = match ui {
        Some(ui) => api.fallback_service(ui),
        None => api,
    };
    let root = Router::new();
    let (root, prefixed) = if prefix.is_empty() {
        (root, api)
    } else {
        // `/` leads to the prefix, as in thanos cmd/thanos/query.go.
        let target = format!("{prefix}/");
        let redirect =
            get(move || async move { (StatusCode::FOUND, [(header::LOCATION, target)]) });
        (root.route("/", redirect), Router::new().nest(&prefix, api))
    };
    root.route("/-/healthy", get(status::healthy))
        .route("/-/ready", get(status::ready))
        .route("/metrics", get(status::metrics))
        .with_state(state)
        .merge(prefixed)
        .layer(middleware::from_fn_with_state(metrics, count_request))
        .layer(CompressionLayer::new())
        .layer(cors())
        .layer(TraceLayer::new_for_http())
}

/// Serves `router` on `listener` until `shutdown` is cancelled, then lets in-flight requests
/// finish.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    shutdown: CancellationToken,
) -> Result<(), ServeError> {
    let address = listener.local_addr().ok();
    tracing::info!(?address, "serving HTTP");
    axum::serve(listener, router)
        .with_graceful_shutdown(shutdown.cancelled_owned())
        .await
        .map_err(|source| ServeError::Io { address, source })
}

/// `""`, `/` → `""`; otherwise one leading slash and no trailing one.
fn normalise_prefix(prefix: &str) -> String {
    let trimmed = prefix.trim_matches('/');
    if trimmed.is_empty() {
        String::new()
    } else {
        format!("/{trimmed}")
    }
}

/// A success envelope as JSON; `Cache-Control: no-store` when it carries warnings, since a
/// partial answer should not be cached (thanos pkg/api/api.go `Respond`).
fn success<T: Serialize>(data: T, warnings: Vec<String>) -> Response {
    respond(Success::new(data, warnings))
}

/// Encodes a success envelope; see [`success`].
fn respond<T: Serialize>(envelope: Success<T>) -> Response {
    let partial = !envelope.warnings.is_empty();
    match serde_json::to_vec(&envelope) {
        Ok(body) => {
            let mut response = ([(header::CONTENT_TYPE, "application/json")], body).into_response();
            if partial {
                response
                    .headers_mut()
                    .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            }
            response
        }
        Err(e) => ApiError::Internal(format!("cannot encode response: {e}")).into_response(),
    }
}

/// Unknown paths under `/api/v1`.
async fn not_found(OriginalUri(uri): OriginalUri) -> ApiError {
    ApiError::NotFound(uri.path().to_string())
}

/// Prometheus's CORS policy (web/web.go `SetCORS` with the default origin regex `.*`).
fn cors() -> CorsLayer {
    CorsLayer::new()
        .allow_origin(Any)
        .allow_methods([Method::GET, Method::POST, Method::OPTIONS])
        .allow_headers([
            header::ACCEPT,
            header::AUTHORIZATION,
            header::CONTENT_TYPE,
            header::ORIGIN,
        ])
        .expose_headers([header::DATE])
}

/// Counts each request by matched route and status code, with its latency up to the response
/// head (a streamed body may take longer).
async fn count_request(
    State(metrics): State<Arc<Metrics>>,
    request: Request,
    next: Next,
) -> Response {
    let handler = request
        .extensions()
        .get::<MatchedPath>()
        .map_or("other", MatchedPath::as_str)
        .to_string();
    let started = std::time::Instant::now();
    let response = next.run(request).await;
    metrics.observe(
        Protocol::Http,
        &handler,
        response.status().as_str(),
        started.elapsed(),
    );
    response
}

#[cfg(test)]
mod tests;
