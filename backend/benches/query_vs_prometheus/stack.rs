//! The processes compared: one Prometheus holding the data, and two Prometheus replicas
//! (external label `replica`) each behind a `chorus sidecar`, with a `chorus query`
//! deduplicating over both. Every process is killed on drop. Knows nothing of queries.

use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::{PrometheusOptions, PrometheusServer, free_address};

/// The `chorus` binary built with this bench.
const CHORUS: &str = env!("CARGO_BIN_EXE_chorus");

/// A `chorus` process, killed on drop; its stderr goes to a file shown when it fails.
pub struct ChorusProcess {
    child: Child,
    /// `http://127.0.0.1:<port>`.
    pub http: String,
    /// Its gRPC address.
    pub grpc: SocketAddr,
    log: tempfile::NamedTempFile,
}

impl ChorusProcess {
    fn start(subcommand: &str, args: &[String]) -> Self {
        let (http, grpc) = (free_address(), free_address());
        let log = tempfile::NamedTempFile::new().expect("temporary log file");
        let child = Command::new(CHORUS)
            .arg(subcommand)
            .arg(format!("--http-address={http}"))
            .arg(format!("--grpc-address={grpc}"))
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log.reopen().expect("reopen the log file"))
            .spawn()
            .expect("start chorus");
        Self {
            child,
            http: format!("http://{http}"),
            grpc,
            log,
        }
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.log.path()).unwrap_or_default()
    }

    async fn wait_ready(&mut self) {
        let client = reqwest::Client::new();
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("chorus exited with {status}: {}", self.log());
            }
            if let Ok(r) = client.get(format!("{}/-/ready", self.http)).send().await
                && r.status().is_success()
            {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("chorus did not become ready: {}", self.log());
    }
}

impl Drop for ChorusProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

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
            let mut sidecar =
                ChorusProcess::start("sidecar", &[format!("--prometheus.url={}", server.url)]);
            sidecar.wait_ready().await;
            replicas.push(server);
            sidecars.push(sidecar);
        }
        let mut args: Vec<String> = sidecars
            .iter()
            .map(|s| format!("--endpoint={}", s.grpc))
            .collect();
        args.push("--query.replica-label=replica".into());
        let mut query = ChorusProcess::start("query", &args);
        query.wait_ready().await;
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
