//! `chorus query`: endpoint health, fan-out, merge and replica deduplication.
//!
//! - [`config`]: the typed configuration built from the flags.
//! - [`endpoints`]: the endpoint set (one store per discovered address, health-checked).
//! - [`proxy`]: the fan-out proxy, a [`Store`] over the healthy endpoints.
//! - [`merge`]: k-way merge of sorted Series streams.
//! - [`dedup`]: replica labels and the replica deduplication iterators.
//! - [`querier`]: PromQL over the proxy and dedup, behind the HTTP query endpoints.
//! - [`sample_limit`]: the `--query.max-samples` budget the querier spends while loading.
//!
//! [`run`] wires them: discovery feeds the endpoint set, the proxy reads it, and the proxy is
//! served as the querier's own StoreAPI over gRPC and behind the HTTP API. Only this wiring
//! knows the concrete parts (gRPC client and server, discovery, the HTTP API); the parts know
//! each other through traits.

pub mod config;
pub mod dedup;
pub mod endpoints;
pub mod merge;
pub mod proxy;
pub mod querier;
pub mod sample_limit;
pub mod series_iter;

#[cfg(test)]
mod memstore;

use std::net::SocketAddr;
use std::sync::Arc;

use tokio::net::TcpListener;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::api::{self, ApiState, EndpointStatus, ServeError};
use crate::discovery::{Discovery, DiscoveryError};
use crate::storeapi::client::{GrpcStore, GrpcStoreConfig};
use crate::storeapi::server::{self, ServerError};
use crate::storeapi::{Store, StoreError};
use crate::telemetry::Metrics;
use config::{ConfigError, QueryConfig};
use endpoints::{Connector, EndpointSet};
use proxy::{ProxyConfig, ProxyStore};

/// `chorus query` could not start or stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum QueryError {
    /// The flags are invalid.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// Discovery could not start.
    #[error("starting endpoint discovery: {0}")]
    Discovery(#[from] DiscoveryError),
    /// A listen address could not be bound.
    #[error("cannot listen on {address} for {what}: {source}")]
    Bind {
        /// What the listener is for.
        what: &'static str,
        /// The address from the flags.
        address: SocketAddr,
        /// Why binding failed.
        #[source]
        source: std::io::Error,
    },
    /// The gRPC StoreAPI server failed.
    #[error(transparent)]
    Grpc(#[from] ServerError),
    /// The HTTP server failed.
    #[error(transparent)]
    Http(#[from] ServeError),
    /// A task of the querier panicked.
    #[error("querier task failed: {0}")]
    Task(String),
}

/// Runs `chorus query` until `shutdown` is cancelled or a server fails; a failure stops the
/// other parts too.
pub async fn run(
    args: crate::cli::QueryArgs,
    shutdown: CancellationToken,
) -> Result<(), QueryError> {
    let config = QueryConfig::from_args(&args)?;
    let grpc_listener = bind("the gRPC StoreAPI", config.grpc_address).await?;
    let http_listener = bind("the HTTP API", config.http_address).await?;
    let stop = shutdown.child_token();
    let discovery = Discovery::spawn(config.discovery.clone(), stop.clone())?;
    let endpoints = Arc::new(EndpointSet::new(grpc_connector(&config), config.health));
    let proxy: Arc<dyn Store> = Arc::new(ProxyStore::new(
        Arc::clone(&endpoints) as Arc<dyn proxy::StoreSet>,
        ProxyConfig {
            response_timeout: config.store_response_timeout,
            replica_labels: config.replica_labels.clone(),
        },
    ));
    tracing::info!(
        replica_labels = ?config.replica_labels,
        endpoints = config.discovery.static_specs.len(),
        sd_files = config.discovery.sd_files.len(),
        "starting the querier"
    );

    let mut tasks: JoinSet<Result<(), QueryError>> = JoinSet::new();
    tasks.spawn({
        let (endpoints, addresses, stop) =
            (Arc::clone(&endpoints), discovery.subscribe(), stop.clone());
        async move {
            endpoints.run(addresses, stop).await;
            Ok(())
        }
    });
    tasks.spawn({
        let (proxy, stop) = (Arc::clone(&proxy), stop.clone());
        async move { Ok(server::serve(grpc_listener, proxy, stop).await?) }
    });

    let state = ApiState {
        store: Arc::clone(&proxy),
        query: Arc::new(
            querier::Querier::new(
                Arc::clone(&proxy),
                crate::promql::Engine::new(config.engine.clone()),
                config.max_concurrent.get(),
            )
            .with_max_samples(config.max_samples),
        ),
        endpoints: Arc::clone(&endpoints) as Arc<dyn EndpointStatus>,
        replica_labels: config.replica_labels.clone(),
        partial_response: config.partial_response,
        flags: config.flags.clone(),
        metrics: Arc::new(Metrics::new()),
        query_timeout: config.query_timeout,
        route_prefix: config.route_prefix.clone(),
    };
    let router = api::router(state, Some(crate::ui::router()));
    tasks.spawn({
        let stop = stop.clone();
        async move { Ok(api::serve(http_listener, router, stop).await?) }
    });

    let outcome = wait_all(tasks, &stop).await;
    stop.cancel();
    discovery.stopped().await;
    outcome
}

/// Waits for every task; the first failure cancels `stop` and is returned.
async fn wait_all(
    mut tasks: JoinSet<Result<(), QueryError>>,
    stop: &CancellationToken,
) -> Result<(), QueryError> {
    let mut outcome = Ok(());
    while let Some(joined) = tasks.join_next().await {
        let result = joined
            .map_err(|e| QueryError::Task(e.to_string()))
            .and_then(|r| r);
        if let Err(error) = result {
            stop.cancel();
            if outcome.is_ok() {
                outcome = Err(error);
            }
        }
    }
    outcome
}

async fn bind(what: &'static str, address: SocketAddr) -> Result<TcpListener, QueryError> {
    TcpListener::bind(address)
        .await
        .map_err(|source| QueryError::Bind {
            what,
            address,
            source,
        })
}

/// The endpoint set as the HTTP API sees it.
impl EndpointStatus for EndpointSet {
    fn stores(&self) -> shared::api::Stores {
        self.statuses()
    }

    fn warnings(&self) -> Vec<String> {
        EndpointSet::warnings(self)
    }

    fn ready(&self) -> bool {
        self.is_ready()
    }
}

/// Dials endpoints over gRPC; Info calls are bounded by the health check's timeout.
fn grpc_connector(config: &QueryConfig) -> Arc<dyn Connector> {
    let client = GrpcStoreConfig {
        info_timeout: config.health.info_timeout,
        ..GrpcStoreConfig::default()
    };
    Arc::new(move |address: &str| {
        GrpcStore::new(address, client.clone())
            .map(|store| Arc::new(store) as Arc<dyn Store>)
            .map_err(|e| StoreError::InvalidArgument(e.to_string()))
    })
}
