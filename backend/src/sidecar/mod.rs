//! `chorus sidecar`: serves the Thanos StoreAPI from one Prometheus through its HTTP API.
//!
//! # Layout
//! - [`prometheus`]: HTTP client for Prometheus (configuration, `/metrics`, remote read, labels).
//! - [`frame`]: incremental decoder of the streamed remote-read framing.
//! - [`read_stream`]: a remote-read body as the `ChunkedSeries` of its frames.
//! - [`selector`]: matchers as a PromQL selector for `match[]`.
//! - [`metadata`]: metric metadata from Prometheus's `/api/v1/metadata`.
//! - [`external`]: external-label rules (matchers, attaching, stripping replica labels).
//! - [`order`]: keeps series sorted once external labels are attached.
//! - [`series`]: joins frames into whole series with external labels, `skip_chunks`, `limit`.
//! - [`state`]: the refreshed view of Prometheus (external labels, min time, readiness).
//! - [`source`]: [`source::PrometheusStore`], the [`crate::storeapi::Store`] implementation.
//! - [`instrumented`]: records served calls in the metrics.
//! - [`http`]: `/-/healthy`, `/-/ready`, `/metrics`.
//!
//! This module wires them together and owns the configuration; it never uses `query`.

pub mod external;
pub mod frame;
pub mod http;
pub mod instrumented;
pub mod metadata;
pub mod order;
pub mod prometheus;
pub mod read_stream;
pub mod selector;
pub mod series;
pub mod source;
pub mod state;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use self::http::HttpState;
use self::instrumented::InstrumentedStore;
use self::prometheus::{PrometheusClient, PrometheusError};
use self::source::PrometheusStore;
use self::state::{Backoff, PrometheusState};
use crate::cli::SidecarArgs;
use crate::telemetry::Metrics;

/// The sidecar could not start or stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum SidecarError {
    /// `--prometheus.url` is unusable.
    #[error(transparent)]
    Prometheus(#[from] PrometheusError),
    /// A listen address could not be bound.
    #[error("cannot listen for {server} on {address}: {source}")]
    Bind {
        /// `HTTP` or `gRPC`.
        server: &'static str,
        /// The address.
        address: SocketAddr,
        /// The OS error.
        source: std::io::Error,
    },
    /// A server stopped with an error.
    #[error("{server} server failed: {reason}")]
    Serve {
        /// `HTTP` or `gRPC`.
        server: &'static str,
        /// What went wrong.
        reason: String,
    },
}

/// The sidecar's configuration, built from [`SidecarArgs`].
#[derive(Debug, Clone)]
pub struct SidecarConfig {
    /// Prometheus's base URL.
    pub prometheus_url: String,
    /// gRPC StoreAPI listen address.
    pub grpc_address: SocketAddr,
    /// HTTP (probes, metrics) listen address.
    pub http_address: SocketAddr,
    /// How often external labels and min time are re-read after a success.
    pub refresh_interval: Duration,
    /// Timeout of calls to Prometheus other than remote read (and of connecting).
    pub request_timeout: Duration,
    /// Largest remote-read frame accepted, bytes.
    pub max_frame_bytes: usize,
    /// Retry delays while Prometheus does not answer.
    pub backoff: Backoff,
}

impl From<&SidecarArgs> for SidecarConfig {
    fn from(args: &SidecarArgs) -> Self {
        Self {
            prometheus_url: args.prometheus_url.clone(),
            grpc_address: args.grpc_address,
            http_address: args.http_address,
            refresh_interval: args.refresh_interval,
            request_timeout: args.get_config_timeout,
            max_frame_bytes: frame::DEFAULT_MAX_FRAME_BYTES,
            backoff: Backoff::default(),
        }
    }
}

/// Runs `chorus sidecar` until `shutdown` is cancelled or a server fails.
pub async fn run(args: SidecarArgs, shutdown: CancellationToken) -> Result<(), SidecarError> {
    let ignored = args.ignored.given();
    if !ignored.is_empty() {
        tracing::info!(flags = ?ignored, "ignoring Thanos sidecar flags that Chorus does not need");
    }
    let config = SidecarConfig::from(&args);
    let client = PrometheusClient::new(
        &config.prometheus_url,
        config.request_timeout,
        config.max_frame_bytes,
    )?;
    let http_listener = bind("HTTP", config.http_address).await?;
    let grpc_listener = bind("gRPC", config.grpc_address).await?;
    tracing::info!(
        prometheus = %client.url(),
        http = %config.http_address,
        grpc = %config.grpc_address,
        "starting sidecar"
    );

    let state = Arc::new(PrometheusState::new());
    let metrics = Arc::new(Metrics::new());
    let store = Arc::new(InstrumentedStore::new(
        PrometheusStore::new(client.clone(), state.clone()),
        metrics.clone(),
    ));
    // Stops everything when one server fails, as well as on a signal.
    let stop = shutdown.child_token();

    let refresh = state::refresh_loop(
        &state,
        &client,
        config.refresh_interval,
        config.backoff,
        stop.clone(),
    );
    let http = async {
        let app = http::router(HttpState {
            prometheus: state.clone(),
            metrics: metrics.clone(),
        });
        let result = axum::serve(http_listener, app)
            .with_graceful_shutdown(stop.clone().cancelled_owned())
            .await;
        stop.cancel();
        result.map_err(|e| SidecarError::Serve {
            server: "HTTP",
            reason: e.to_string(),
        })
    };
    let grpc = async {
        let result = crate::storeapi::server::serve(grpc_listener, store, stop.clone()).await;
        stop.cancel();
        result.map_err(|e| SidecarError::Serve {
            server: "gRPC",
            reason: e.to_string(),
        })
    };
    let ((), http_result, grpc_result) = tokio::join!(refresh, http, grpc);
    http_result.and(grpc_result)?;
    tracing::info!("sidecar stopped");
    Ok(())
}

async fn bind(server: &'static str, address: SocketAddr) -> Result<TcpListener, SidecarError> {
    TcpListener::bind(address)
        .await
        .map_err(|source| SidecarError::Bind {
            server,
            address,
            source,
        })
}
