//! Helpers for integration tests that start real processes on 127.0.0.1.
//!
//! [`PrometheusServer`] runs `/usr/bin/prometheus` (2.42) on a free port over a temporary TSDB,
//! optionally backfilled from an OpenMetrics text with `promtool tsdb create-blocks-from
//! openmetrics`, and kills it when dropped. [`Backfill`] generates such a text and remembers
//! what it wrote, so tests can derive their expectations from it. [`ChorusProcess`] runs the
//! `chorus` binary the same way. [`dataset`] is a varied data set for comparisons with
//! Prometheus, and [`stack`] puts `chorus sidecar`s and `chorus query` in front of replicated
//! Prometheus servers.
#![allow(dead_code)] // Each test binary uses a different subset of these helpers.

pub mod dataset;
pub mod stack;

use std::fmt::Write as _;
use std::net::{SocketAddr, TcpListener};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Path of the Prometheus binary.
pub const PROMETHEUS: &str = "/usr/bin/prometheus";
/// Path of promtool.
pub const PROMTOOL: &str = "/usr/bin/promtool";

/// Backfills the OpenMetrics file `om` into TSDB blocks under `tsdb` with promtool; panics with
/// promtool's output when it fails.
pub fn create_blocks(om: &std::path::Path, tsdb: &std::path::Path) {
    let output = Command::new(PROMTOOL)
        .args(["tsdb", "create-blocks-from", "openmetrics", "-q"])
        .arg(om)
        .arg(tsdb)
        .output()
        .expect("run promtool");
    assert!(
        output.status.success(),
        "promtool failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// A port that was free a moment ago on 127.0.0.1.
pub fn free_port() -> u16 {
    free_address().port()
}

/// An address on 127.0.0.1 with a port that was free a moment ago.
pub fn free_address() -> SocketAddr {
    let [address] = free_addresses();
    address
}

/// `N` distinct addresses on 127.0.0.1 with ports that were free a moment ago (all bound at
/// once, so no two are the same).
pub fn free_addresses<const N: usize>() -> [SocketAddr; N] {
    let listeners: [TcpListener; N] =
        std::array::from_fn(|_| TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0"));
    listeners.map(|l| l.local_addr().expect("local address of a bound listener"))
}

/// The directory of Prometheus's PromQL test scripts: `$CHORUS_PROMQL_TESTDATA`, or else
/// `../shared/promql-testdata` beside the repository. It may be absent; tests then skip.
pub fn promql_testdata_dir() -> PathBuf {
    std::env::var_os("CHORUS_PROMQL_TESTDATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../../shared/promql-testdata"
            ))
        })
}

/// Now, in ms since the epoch.
pub fn now_ms() -> i64 {
    let since = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970");
    i64::try_from(since.as_millis()).expect("ms since epoch fit in i64")
}

/// One backfilled gauge series: its labels (besides `__name__`) and its samples.
#[derive(Debug, Clone)]
pub struct BackfillSeries {
    /// Metric name.
    pub name: String,
    /// Other labels, as written.
    pub labels: Vec<(String, String)>,
    /// (ms, value) samples, increasing in time.
    pub samples: Vec<(i64, f64)>,
}

/// Data to backfill: series with samples every `step` between `start_ms` and `end_ms`.
#[derive(Debug, Clone, Default)]
pub struct Backfill {
    /// The series written.
    pub series: Vec<BackfillSeries>,
}

impl Backfill {
    /// Gauges named `name` with the given label sets, one sample every `step_s` seconds from
    /// `hours` hours ago until one hour ago (backfilled blocks must be older than the head).
    pub fn gauges(name: &str, label_sets: &[&[(&str, &str)]], hours: i64, step_s: i64) -> Self {
        let end_s = now_ms() / 1000 - 3600;
        let start_s = end_s - hours * 3600;
        let series = label_sets
            .iter()
            .enumerate()
            .map(|(i, labels)| BackfillSeries {
                name: name.to_string(),
                labels: labels
                    .iter()
                    .map(|(n, v)| (n.to_string(), v.to_string()))
                    .collect(),
                samples: (start_s..end_s)
                    .step_by(step_s as usize)
                    .map(|t| (t * 1000, (t % 97 + i as i64) as f64))
                    .collect(),
            })
            .collect();
        Self { series }
    }

    /// Both data sets.
    pub fn with(mut self, other: Backfill) -> Self {
        self.series.extend(other.series);
        self
    }

    /// Oldest sample, ms.
    pub fn min_time_ms(&self) -> i64 {
        self.series
            .iter()
            .filter_map(|s| s.samples.first())
            .map(|s| s.0)
            .min()
            .unwrap_or(i64::MAX)
    }

    /// The OpenMetrics text, ending with `# EOF`.
    pub fn openmetrics(&self) -> String {
        let mut out = String::new();
        let mut names: Vec<&str> = self.series.iter().map(|s| s.name.as_str()).collect();
        names.dedup();
        for name in names {
            let _ = writeln!(out, "# TYPE {name} gauge");
            for s in self.series.iter().filter(|s| s.name == name) {
                let labels: Vec<String> = s
                    .labels
                    .iter()
                    .map(|(n, v)| {
                        format!("{n}=\"{}\"", v.replace('\\', "\\\\").replace('"', "\\\""))
                    })
                    .collect();
                for (t_ms, v) in &s.samples {
                    let (secs, ms) = (t_ms.div_euclid(1000), t_ms.rem_euclid(1000));
                    let _ = writeln!(
                        out,
                        "{name}{{{}}} {} {secs}.{ms:03}",
                        labels.join(","),
                        openmetrics_value(*v)
                    );
                }
            }
        }
        out.push_str("# EOF\n");
        out
    }
}

/// A sample value as OpenMetrics writes it (`NaN`, `+Inf`, `-Inf`, else Rust's shortest form).
fn openmetrics_value(v: f64) -> String {
    if v.is_nan() {
        "NaN".into()
    } else if v == f64::INFINITY {
        "+Inf".into()
    } else if v == f64::NEG_INFINITY {
        "-Inf".into()
    } else {
        format!("{v:?}")
    }
}

/// How to start Prometheus.
#[derive(Debug, Clone, Default)]
pub struct PrometheusOptions {
    /// `global.external_labels`; empty writes none.
    pub external_labels: Vec<(String, String)>,
    /// Data to backfill before start.
    pub backfill: Option<Backfill>,
    /// A directory of TSDB blocks (as `promtool tsdb create-blocks-from` writes them) copied
    /// into the data directory before start, for data too large to hold as a [`Backfill`].
    pub blocks: Option<PathBuf>,
    /// More command-line flags.
    pub extra_args: Vec<String>,
    /// Listen here instead of on a free port (then there is no retry on another port).
    pub address: Option<SocketAddr>,
    /// Scrape its own `/metrics` at this interval (job `prometheus`), so it holds live series
    /// and metric metadata; `None` scrapes nothing.
    pub scrape_self: Option<Duration>,
}

/// A running Prometheus, killed on drop.
pub struct PrometheusServer {
    child: Option<Child>,
    /// `http://127.0.0.1:<port>`.
    pub url: String,
    /// Its address.
    pub address: SocketAddr,
    dir: tempfile::TempDir,
}

impl PrometheusServer {
    /// Starts Prometheus and waits until `/-/ready` answers 200.
    pub async fn start(options: PrometheusOptions) -> Self {
        let mut dir = tempfile::tempdir().expect("temporary directory");
        let tsdb = dir.path().join("tsdb");
        std::fs::create_dir_all(&tsdb).expect("create the TSDB directory");
        if let Some(backfill) = &options.backfill {
            let om = dir.path().join("data.om");
            std::fs::write(&om, backfill.openmetrics()).expect("write the OpenMetrics file");
            create_blocks(&om, &tsdb);
        }
        if let Some(blocks) = &options.blocks {
            copy_dir(blocks, &tsdb).expect("copy the TSDB blocks");
        }
        let config = dir.path().join("prometheus.yml");
        let mut last_error = String::new();
        let attempts = if options.address.is_some() { 1 } else { 3 };
        for _attempt in 0..attempts {
            let address = options.address.unwrap_or_else(free_address);
            std::fs::write(&config, config_yaml(&options, address))
                .expect("write the Prometheus configuration");
            let mut server = Self {
                child: None,
                url: format!("http://{address}"),
                address,
                dir,
            };
            let log = std::fs::File::create(server.log_path()).expect("create the Prometheus log");
            let child = Command::new(PROMETHEUS)
                .arg(format!("--config.file={}", config.display()))
                .arg(format!("--storage.tsdb.path={}", tsdb.display()))
                .arg(format!("--web.listen-address={address}"))
                .arg("--storage.tsdb.retention.time=100y")
                .args(&options.extra_args)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(log)
                .spawn()
                .expect("start prometheus");
            server.child = Some(child);
            if server.wait_ready(Duration::from_secs(30)).await {
                return server;
            }
            last_error = server.log();
            server.stop();
            dir = server.into_dir();
        }
        panic!("prometheus did not become ready: {last_error}");
    }

    /// The process id, while running.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    fn log_path(&self) -> PathBuf {
        self.dir.path().join("prometheus.log")
    }

    /// Prometheus's log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.log_path()).unwrap_or_default()
    }

    async fn wait_ready(&mut self, timeout: Duration) -> bool {
        let client = reqwest::Client::new();
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if let Some(child) = self.child.as_mut()
                && let Ok(Some(_)) = child.try_wait()
            {
                return false;
            }
            if let Ok(response) = client.get(format!("{}/-/ready", self.url)).send().await
                && response.status().is_success()
            {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        false
    }

    /// Kills the process and waits for it.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    fn into_dir(mut self) -> tempfile::TempDir {
        self.stop();
        let placeholder = tempfile::tempdir().expect("temporary directory");
        std::mem::replace(&mut self.dir, placeholder)
    }
}

/// Copies the directory tree `from` into `to` (created if missing).
fn copy_dir(from: &std::path::Path, to: &std::path::Path) -> std::io::Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let target = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            copy_dir(&entry.path(), &target)?;
        } else {
            std::fs::copy(entry.path(), target)?;
        }
    }
    Ok(())
}

/// The configuration file: external labels and, if asked, a job scraping `address` itself.
fn config_yaml(options: &PrometheusOptions, address: SocketAddr) -> String {
    let mut yaml = String::from("global:\n  scrape_interval: 15s\n");
    if !options.external_labels.is_empty() {
        yaml.push_str("  external_labels:\n");
        for (n, v) in &options.external_labels {
            let _ = writeln!(yaml, "    {n}: {v:?}");
        }
    }
    if let Some(interval) = options.scrape_self {
        let _ = write!(
            yaml,
            "scrape_configs:\n  - job_name: prometheus\n    scrape_interval: {}ms\n    static_configs:\n      - targets: [\"{address}\"]\n",
            interval.as_millis()
        );
    }
    yaml
}

impl Drop for PrometheusServer {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A `chorus` process on free loopback ports, killed on drop; its stderr goes to a file shown
/// when a test fails.
pub struct ChorusProcess {
    child: Child,
    /// `http://127.0.0.1:<port>` of its HTTP server.
    pub http: String,
    /// Its gRPC address.
    pub grpc: SocketAddr,
    log: tempfile::NamedTempFile,
}

impl ChorusProcess {
    /// Starts `chorus <subcommand>` with free `--http-address`/`--grpc-address`, debug logs and
    /// `args`.
    pub fn start(subcommand: &str, args: &[String]) -> Self {
        Self::start_logging(subcommand, "debug", args)
    }

    /// Starts `chorus <subcommand>` like [`ChorusProcess::start`], logging at `level` (benchmarks
    /// use `info`, so logging does not weigh on what they time).
    pub fn start_logging(subcommand: &str, level: &str, args: &[String]) -> Self {
        let [http, grpc] = free_addresses();
        let log = tempfile::NamedTempFile::new().expect("temporary log file");
        let child = Command::new(env!("CARGO_BIN_EXE_chorus"))
            .arg(subcommand)
            .arg(format!("--http-address={http}"))
            .arg(format!("--grpc-address={grpc}"))
            .arg(format!("--log.level={level}"))
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

    /// Its log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.log.path()).unwrap_or_default()
    }

    /// Kills it now (as a crash would), without waiting for the drop.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Waits until `/-/ready` answers 200; panics with the log if it exits or times out.
    pub async fn wait_ready(&mut self, timeout: Duration) {
        let client = reqwest::Client::new();
        let deadline = Instant::now() + timeout;
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

/// Percent-encodes everything but unreserved characters (for query strings and form bodies).
pub fn form_encode(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}
