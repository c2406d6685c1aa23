//! A replicated data plane next to a plain Prometheus, for tests that compare Chorus with the
//! real thing: a reference Prometheus 2.42 holding a backfilled data set, two more Prometheus
//! replicas holding the same data with external labels `replica="a"` and `replica="b"`, a
//! `chorus sidecar` in front of each replica and one `chorus query` over both sidecars that
//! deduplicates on `replica`. Every process is killed when the [`ReplicatedStack`] is dropped.

use std::time::{Duration, Instant};

use serde_json::Value;

use super::{Backfill, PrometheusOptions, PrometheusServer};

/// The `chorus` binary built for this test run.
pub const CHORUS: &str = env!("CARGO_BIN_EXE_chorus");

/// The external label that tells the replicas apart.
pub const REPLICA_LABEL: &str = "replica";

/// How long any one process may take to become ready.
const READY_TIMEOUT: Duration = Duration::from_secs(30);

pub use super::ChorusProcess;

/// A reference Prometheus and a deduplicating querier over two replicas of the same data.
pub struct ReplicatedStack {
    /// The Prometheus that answers for the data directly (no external labels).
    pub reference: PrometheusServer,
    /// The replicas behind the sidecars.
    pub replicas: Vec<PrometheusServer>,
    /// One sidecar per replica.
    pub sidecars: Vec<ChorusProcess>,
    /// `chorus query` over the sidecars, deduplicating on [`REPLICA_LABEL`].
    pub query: ChorusProcess,
}

impl ReplicatedStack {
    /// Starts the three Prometheus servers (concurrently) over `backfill`, the sidecars and the
    /// querier, and waits until the querier sees both sidecars healthy.
    pub async fn start(backfill: &Backfill) -> Self {
        let options = |replica: Option<&str>| PrometheusOptions {
            external_labels: replica
                .map(|r| vec![(REPLICA_LABEL.to_string(), r.to_string())])
                .unwrap_or_default(),
            backfill: Some(backfill.clone()),
            ..Default::default()
        };
        let (reference, a, b) = tokio::join!(
            PrometheusServer::start(options(None)),
            PrometheusServer::start(options(Some("a"))),
            PrometheusServer::start(options(Some("b"))),
        );
        let replicas = vec![a, b];
        let mut sidecars: Vec<ChorusProcess> = replicas
            .iter()
            .map(|p| ChorusProcess::start("sidecar", &[format!("--prometheus.url={}", p.url)]))
            .collect();
        for sidecar in &mut sidecars {
            sidecar.wait_ready(READY_TIMEOUT).await;
        }
        let mut args: Vec<String> = sidecars
            .iter()
            .map(|s| format!("--endpoint={}", s.grpc))
            .collect();
        args.push(format!("--query.replica-label={REPLICA_LABEL}"));
        let mut query = ChorusProcess::start("query", &args);
        query.wait_ready(READY_TIMEOUT).await;
        let stack = Self {
            reference,
            replicas,
            sidecars,
            query,
        };
        stack.wait_for_stores().await;
        stack
    }

    /// Waits until the querier reports every sidecar healthy.
    async fn wait_for_stores(&self) {
        let client = reqwest::Client::new();
        let deadline = Instant::now() + READY_TIMEOUT;
        while Instant::now() < deadline {
            let up = match client
                .get(format!("{}/api/v1/stores", self.query.http))
                .send()
                .await
            {
                Ok(response) => response
                    .text()
                    .await
                    .ok()
                    .and_then(|text| serde_json::from_str::<Value>(&text).ok())
                    .and_then(|stores| {
                        stores["data"]["sidecar"]
                            .as_array()
                            .map(|a| a.iter().filter(|s| s["lastError"].is_null()).count())
                    })
                    .unwrap_or(0),
                Err(_) => 0,
            };
            if up == self.sidecars.len() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        panic!(
            "querier did not see {} healthy sidecars: {}",
            self.sidecars.len(),
            self.query.log()
        );
    }
}
