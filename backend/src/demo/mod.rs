//! `chorus demo`: the querier and web console over two synthetic Prometheus replicas, with no
//! external services.
//!
//! [`data`] generates what two HA replicas scrape (replica `b` later than `a`, and missing
//! twenty minutes); [`store::MemStore`] holds each replica's samples in XOR chunks of 120, with
//! the external labels `cluster="demo"` and `prometheus_replica="a"|"b"`. [`start`] fills the
//! stores with [`HISTORY`] of data, keeps them scraping every [`SCRAPE_INTERVAL`], serves each
//! over the gRPC StoreAPI on a loopback port, and runs the real querier ([`crate::query::run`])
//! over those ports with the flags from [`querier_args`]: the HTTP API and the console on
//! `--http-address`, the querier's StoreAPI on `--grpc-address`.
//!
//! This is wiring only: the data set lives in [`data`], the store in [`store`]; the gRPC server
//! and the querier come from [`crate::storeapi::server`] and [`crate::query`].

pub mod data;
pub mod store;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use shared::labels::Labels;
use shared::series::TimeRange;
use tokio::net::TcpListener;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::cli::{Cli, Command, DemoArgs, QueryArgs};
use crate::query::QueryError;
use crate::storeapi::ComponentType;
use crate::storeapi::server::ServerError;
use data::{ReplicaSpec, Scenario};
use store::{AppendError, MemStore};

/// The label that tells the demo's replicas apart (the querier's `--query.replica-label`).
pub const REPLICA_LABEL: &str = "prometheus_replica";
/// How much history the demo starts with.
pub const HISTORY: Duration = Duration::from_secs(6 * 3600);
/// Scrape interval of the synthetic replicas.
pub const SCRAPE_INTERVAL: Duration = Duration::from_secs(15);

/// What can stop the demo.
#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    /// The clock is so far from the present that the demo's history does not fit in i64 ms.
    #[error("the clock reads {now_ms} ms since the epoch: no six-hour history ends there")]
    Clock {
        /// The time read.
        now_ms: i64,
    },
    /// Generated samples could not be stored.
    #[error("replica {replica}: {source}")]
    Append {
        /// Replica name.
        replica: String,
        /// What went wrong.
        source: AppendError,
    },
    /// A listener could not be opened.
    #[error("cannot listen on {address}: {source}")]
    Listen {
        /// The address asked for.
        address: SocketAddr,
        /// Why.
        source: std::io::Error,
    },
    /// A replica's StoreAPI server stopped with an error.
    #[error("StoreAPI server of replica {replica} failed: {source}")]
    StoreServer {
        /// Replica name.
        replica: String,
        /// The server's error.
        source: ServerError,
    },
    /// The querier could not start or stopped with an error.
    #[error("querier: {0}")]
    Querier(#[from] QueryError),
    /// The querier's flags, built from the demo's, do not parse (a bug: they are generated).
    #[error("querier flags for the demo: {0}")]
    QuerierFlags(#[source] clap::Error),
    /// A task panicked or was aborted.
    #[error("a demo task ended abnormally: {0}")]
    Task(#[from] tokio::task::JoinError),
}

/// One synthetic replica: how it scrapes and what it has stored.
#[derive(Debug)]
pub struct DemoReplica {
    /// How it scrapes (its name is the replica label's value).
    pub spec: ReplicaSpec,
    /// Its data.
    pub store: Arc<MemStore>,
}

/// The demo's replicas with [`HISTORY`] of data up to `now_ms` included, and their scenario.
pub fn replicas(now_ms: i64) -> Result<(Scenario, Vec<DemoReplica>), DemoError> {
    let (scenario, history) =
        Scenario::ending_at(now_ms, HISTORY, SCRAPE_INTERVAL).ok_or(DemoError::Clock { now_ms })?;
    let replicas = data::demo_replicas(&scenario)
        .into_iter()
        .map(|spec| {
            let external =
                Labels::from_pairs([("cluster", "demo"), (REPLICA_LABEL, spec.name.as_str())]);
            let replica = DemoReplica {
                store: Arc::new(MemStore::new(ComponentType::Sidecar, external)),
                spec,
            };
            scrape(&scenario, &replica, history)?;
            Ok(replica)
        })
        .collect::<Result<Vec<_>, DemoError>>()?;
    Ok((scenario, replicas))
}

/// Appends to `replica` what it scraped during `range`.
fn scrape(scenario: &Scenario, replica: &DemoReplica, range: TimeRange) -> Result<(), DemoError> {
    for series in data::generate(scenario, &replica.spec, range) {
        replica
            .store
            .append(&series.labels, &series.samples)
            .map_err(|source| DemoError::Append {
                replica: replica.spec.name.clone(),
                source,
            })?;
    }
    Ok(())
}

/// The flags of a `chorus query` over the demo's replica stores: `--endpoint` for each of
/// `stores`, `--query.replica-label=prometheus_replica`, and the demo's listen addresses,
/// engine flags and logging. Built by parsing, so every other flag keeps its default.
pub fn querier_args(demo: &DemoArgs, stores: &[SocketAddr]) -> Result<QueryArgs, DemoError> {
    use clap::{Parser, ValueEnum};
    let name = |value: Option<clap::builder::PossibleValue>| {
        value.map(|v| v.get_name().to_string()).unwrap_or_default()
    };
    let mut argv = vec![
        "chorus".to_string(),
        "query".to_string(),
        format!("--http-address={}", demo.http_address),
        format!("--grpc-address={}", demo.grpc_address),
        format!("--query.replica-label={REPLICA_LABEL}"),
        format!(
            "--query.lookback-delta={}",
            humantime::format_duration(demo.engine.lookback_delta)
        ),
        format!("--query.max-samples={}", demo.engine.max_samples),
        format!("--log.level={}", name(demo.log.level.to_possible_value())),
        format!("--log.format={}", name(demo.log.format.to_possible_value())),
    ];
    if !demo.external_url.is_empty() {
        argv.push(format!("--web.external-url={}", demo.external_url));
    }
    argv.extend(stores.iter().map(|address| format!("--endpoint={address}")));
    match Cli::try_parse_from(argv)
        .map_err(DemoError::QuerierFlags)?
        .command
    {
        Command::Query(args) => Ok(args),
        _ => Err(DemoError::QuerierFlags(clap::Error::raw(
            clap::error::ErrorKind::InvalidSubcommand,
            "the generated command line is not `query`",
        ))),
    }
}

/// Runs the demo until `shutdown` is cancelled or a part fails.
pub async fn run(args: DemoArgs, shutdown: CancellationToken) -> Result<(), DemoError> {
    start(&args, shutdown).await?.wait().await
}

/// The demo, running.
#[derive(Debug)]
pub struct RunningDemo {
    /// Each replica's name and the address of its gRPC StoreAPI.
    pub store_addresses: Vec<(String, SocketAddr)>,
    /// Where the querier's HTTP API and console listen (`--http-address`).
    pub http_address: SocketAddr,
    tasks: JoinSet<Result<(), DemoError>>,
    shutdown: CancellationToken,
}

/// Builds the replicas, starts their scraping, their StoreAPI servers and the querier; returns
/// once the replica servers listen (the querier binds its own addresses as it starts).
pub async fn start(args: &DemoArgs, shutdown: CancellationToken) -> Result<RunningDemo, DemoError> {
    let now_ms = chrono::Utc::now().timestamp_millis();
    let (scenario, replicas) = tokio::task::spawn_blocking(move || replicas(now_ms)).await??;
    // The demo's own token: a failing part stops the others without cancelling the caller's.
    let shutdown = shutdown.child_token();
    let mut tasks: JoinSet<Result<(), DemoError>> = JoinSet::new();
    let mut store_addresses = Vec::new();
    for replica in &replicas {
        let listener = listen(SocketAddr::from(([127, 0, 0, 1], 0))).await?;
        let address = local_address(&listener)?;
        let name = replica.spec.name.clone();
        tracing::info!(replica = %name, %address, series = replica.store.num_series(), "replica StoreAPI serving");
        store_addresses.push((name.clone(), address));
        let (store, shutdown) = (Arc::clone(&replica.store), shutdown.clone());
        tasks.spawn(async move {
            crate::storeapi::server::serve(listener, store, shutdown)
                .await
                .map_err(|source| DemoError::StoreServer {
                    replica: name,
                    source,
                })
        });
    }
    tasks.spawn(keep_scraping(scenario, replicas, now_ms, shutdown.clone()));
    let addresses: Vec<SocketAddr> = store_addresses
        .iter()
        .map(|(_, address)| *address)
        .collect();
    let querier = querier_args(args, &addresses)?;
    tracing::info!(address = %args.http_address, "querier starting: open http://{}", args.http_address);
    let http_address = args.http_address;
    let querier_shutdown = shutdown.clone();
    tasks.spawn(async move { Ok(crate::query::run(querier, querier_shutdown).await?) });
    Ok(RunningDemo {
        store_addresses,
        http_address,
        tasks,
        shutdown,
    })
}

/// Every scrape interval, appends to each replica what it scraped since the last time, so the
/// data stays current while the demo runs.
async fn keep_scraping(
    scenario: Scenario,
    replicas: Vec<DemoReplica>,
    mut scraped_until_ms: i64,
    shutdown: CancellationToken,
) -> Result<(), DemoError> {
    let mut ticks = tokio::time::interval(SCRAPE_INTERVAL);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return Ok(()),
            _ = ticks.tick() => {}
        }
        let now_ms = chrono::Utc::now().timestamp_millis();
        let Some(range) = TimeRange::new(scraped_until_ms.saturating_add(1), now_ms) else {
            continue;
        };
        for replica in &replicas {
            scrape(&scenario, replica, range)?;
        }
        scraped_until_ms = now_ms;
    }
}

impl RunningDemo {
    /// Waits until every task has stopped. The first one to stop, with an error or because of
    /// shutdown, stops the others; the first error is returned.
    pub async fn wait(mut self) -> Result<(), DemoError> {
        let mut outcome = Ok(());
        while let Some(joined) = self.tasks.join_next().await {
            self.shutdown.cancel();
            if let Err(error) = joined.map_err(DemoError::from).and_then(|r| r) {
                tracing::error!(%error, "demo stopped");
                if outcome.is_ok() {
                    outcome = Err(error);
                }
            }
        }
        outcome
    }
}

async fn listen(address: SocketAddr) -> Result<TcpListener, DemoError> {
    TcpListener::bind(address)
        .await
        .map_err(|source| DemoError::Listen { address, source })
}

fn local_address(listener: &TcpListener) -> Result<SocketAddr, DemoError> {
    let unknown = SocketAddr::from(([127, 0, 0, 1], 0));
    listener.local_addr().map_err(|source| DemoError::Listen {
        address: unknown,
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::{EngineArgs, LogArgs, LogFormat, LogLevel};

    #[test]
    fn querier_flags_name_every_store_and_the_replica_label() {
        let demo = DemoArgs {
            http_address: "127.0.0.1:10902".parse().expect("address"),
            grpc_address: "127.0.0.1:10901".parse().expect("address"),
            external_url: "https://chorus.example.com/demo".into(),
            engine: EngineArgs {
                lookback_delta: std::time::Duration::from_secs(90),
                max_samples: 1234,
            },
            log: LogArgs {
                level: LogLevel::Debug,
                format: LogFormat::Json,
            },
        };
        let stores: Vec<SocketAddr> = vec![
            "127.0.0.1:4001".parse().expect("address"),
            "127.0.0.1:4002".parse().expect("address"),
        ];
        let args = querier_args(&demo, &stores).expect("parses");
        assert_eq!(args.all_endpoints(), ["127.0.0.1:4001", "127.0.0.1:4002"]);
        assert_eq!(args.replica_labels, [REPLICA_LABEL]);
        assert_eq!(
            (args.http_address, args.grpc_address),
            (demo.http_address, demo.grpc_address)
        );
        assert_eq!(
            (args.log.level, args.log.format),
            (LogLevel::Debug, LogFormat::Json)
        );
        assert!(args.partial_response_enabled());
        assert_eq!(args.external_url, "https://chorus.example.com/demo");
        assert_eq!(
            (args.engine.lookback_delta, args.engine.max_samples),
            (std::time::Duration::from_secs(90), 1234)
        );
    }

    #[test]
    fn replicas_carry_their_labels_and_six_hours() {
        let now_ms = 1_800_000_000_000;
        let (scenario, replicas) = replicas(now_ms).expect("builds");
        let names: Vec<&str> = replicas.iter().map(|r| r.spec.name.as_str()).collect();
        assert_eq!(names, ["a", "b"]);
        assert_eq!(
            replicas[0].store.num_series(),
            replicas[1].store.num_series()
        );
        assert!(replicas[0].store.num_series() > 50);
        assert_eq!(scenario.origin_ms(), now_ms - 6 * 3600 * 1000);
        // Scraping on appends only what is new.
        let next = TimeRange::new(now_ms + 1, now_ms + 60_000).expect("ordered");
        scrape(&scenario, &replicas[0], next).expect("appends in order");
        assert!(
            scrape(&scenario, &replicas[0], next).is_err(),
            "the same minute twice is out of order"
        );
    }
}
