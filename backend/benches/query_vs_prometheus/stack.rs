//! The processes compared: one Prometheus holding the data, and two Prometheus replicas
//! (external label `replica`) each behind a `chorus sidecar`, with a `chorus query`
//! deduplicating over both. Every process is killed on drop. Knows nothing of queries.

use std::path::Path;
use std::time::{Duration, Instant};

use crate::common::{ChorusProcess, PrometheusOptions, PrometheusServer};

/// How long any `chorus` process may take to become ready.
const READY_TIMEOUT: Duration = Duration::from_secs(60);

/// Everything the benchmark queries.
pub struct Stack {
    /// The single Prometheus queried directly.
    pub prometheus: PrometheusServer,
    /// The querier over the replicas.
    pub query: ChorusProcess,
    _replicas: Vec<PrometheusServer>,
    _sidecars: Vec<ChorusProcess>,
}

impl Stack {
    /// Starts every process over copies of the TSDB blocks in `blocks` and waits until the
    /// querier sees both sidecars healthy.
    pub async fn start(blocks: &Path) -> Self {
        let prometheus = PrometheusServer::start(PrometheusOptions {
            blocks: Some(blocks.to_path_buf()),
            ..PrometheusOptions::default()
        })
        .await;
        let mut replicas = Vec::new();
        let mut sidecars = Vec::new();
        for replica in ["a", "b"] {
            let server = PrometheusServer::start(PrometheusOptions {
                external_labels: vec![("replica".into(), replica.into())],
                blocks: Some(blocks.to_path_buf()),
                ..PrometheusOptions::default()
            })
            .await;
            let url = format!("--prometheus.url={}", server.url);
            let mut sidecar = ChorusProcess::start_logging("sidecar", "info", &[url]);
            sidecar.wait_ready(READY_TIMEOUT).await;
            replicas.push(server);
            sidecars.push(sidecar);
        }
        let mut args: Vec<String> = sidecars
            .iter()
            .map(|s| format!("--endpoint={}", s.grpc))
            .collect();
        args.push("--query.replica-label=replica".into());
        let mut query = ChorusProcess::start_logging("query", "info", &args);
        query.wait_ready(READY_TIMEOUT).await;
        let stack = Self {
            prometheus,
            query,
            _replicas: replicas,
            _sidecars: sidecars,
        };
        stack.wait_for_sidecars(2).await;
        stack
    }

    async fn wait_for_sidecars(&self, n: usize) {
        let client = reqwest::Client::new();
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            let url = format!("{}/api/v1/stores", self.query.http);
            if let Ok(response) = client.get(url).send().await
                && let Ok(bytes) = response.bytes().await
                && let Ok(body) = serde_json::from_slice::<serde_json::Value>(&bytes)
            {
                let healthy = body["data"]["sidecar"]
                    .as_array()
                    .map_or(0, |a| a.iter().filter(|s| s["lastError"].is_null()).count());
                if healthy == n {
                    return;
                }
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        panic!(
            "querier did not see {n} healthy sidecars: {}",
            self.query.log()
        );
    }
}

/// Peak resident set size of a process in KiB (`VmHWM` in `/proc/PID/status`).
pub fn peak_rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()
}
