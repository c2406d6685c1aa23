//! Command-line flags, with the Thanos flag names that existing manifests already pass.
//!
//! This module mirrors the flags and validates them (clap types, `*Args`); the subcommand modules
//! own the typed configuration they build from them. Flags that Thanos has and Chorus does not
//! need are accepted and ignored with a log line, so manifests written for Thanos start unchanged.

use std::net::SocketAddr;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Chorus: a highly-available query layer for Prometheus (Thanos Querier and Sidecar compatible).
#[derive(Debug, Parser)]
#[command(name = "chorus", version, about, long_about = None)]
pub struct Cli {
    /// The component to run.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the Thanos StoreAPI (gRPC) from a Prometheus server, through its remote-read API.
    Sidecar(SidecarArgs),
    /// Query StoreAPI endpoints: fan-out, merge, deduplicate replicas, serve the Prometheus HTTP API.
    Query(QueryArgs),
    /// Run the querier and web console over two built-in synthetic replicas (no services needed).
    Demo(DemoArgs),
    /// Run PromQL test scripts (Prometheus `promqltest` format) through the Chorus engine.
    PromqlTest(PromqlTestArgs),
}

/// Flags of `chorus promql-test`.
///
/// Prints each failing eval, a summary per file and, last, `N passed, M failed`. Exits 0 when no
/// eval fails outside the baseline, 1 otherwise, 2 when a script or the baseline cannot be read.
#[derive(Debug, Args)]
pub struct PromqlTestArgs {
    /// Script files to run.
    #[arg(value_name = "FILE", required = true)]
    pub files: Vec<std::path::PathBuf>,
    /// Expected failures, one `file:line` per line (basename, line of the `eval`; `#` comments):
    /// only failures not listed fail the run, listed evals that pass are reported.
    #[arg(long, value_name = "FILE")]
    pub baseline: Option<std::path::PathBuf>,
    /// Write the failures of this run as a baseline to FILE (the run then succeeds).
    #[arg(long, value_name = "FILE")]
    pub write_baseline: Option<std::path::PathBuf>,
}

/// Log verbosity (`--log.level`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum LogLevel {
    /// Only errors.
    Error,
    /// Warnings and errors.
    Warn,
    /// Informational messages (default).
    #[default]
    Info,
    /// Everything, including per-request details.
    Debug,
}

/// Log output format (`--log.format`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum LogFormat {
    /// One text line per event with `key=value` fields (Thanos calls its text format `logfmt`).
    #[default]
    Logfmt,
    /// One JSON object per line.
    Json,
}

/// Logging flags shared by every subcommand.
#[derive(Debug, Clone, Args)]
pub struct LogArgs {
    /// Log filtering level.
    #[arg(long = "log.level", value_enum, default_value_t = LogLevel::Info)]
    pub level: LogLevel,
    /// Log format to use.
    #[arg(long = "log.format", value_enum, default_value_t = LogFormat::Logfmt)]
    pub format: LogFormat,
}

/// Parses a Prometheus-style duration (`30s`, `5m`, `1h30m`, `250ms`, `0s`).
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    if s == "0" {
        return Ok(Duration::ZERO);
    }
    humantime::parse_duration(s).map_err(|e| format!("invalid duration {s:?}: {e}"))
}

/// Parses `--web.external-url`: empty (unset), or an absolute `http://` or `https://` URL with a
/// host and no query or fragment. Trailing slashes are dropped, so paths append with one `/`.
pub fn parse_external_url(s: &str) -> Result<String, String> {
    let s = s.trim();
    if s.is_empty() {
        return Ok(String::new());
    }
    let rest = s
        .strip_prefix("http://")
        .or_else(|| s.strip_prefix("https://"))
        .ok_or_else(|| {
            format!("invalid external URL {s:?}: it must start with http:// or https://")
        })?;
    let host = rest.split('/').next().unwrap_or_default();
    if host.is_empty() || host.contains(char::is_whitespace) {
        return Err(format!("invalid external URL {s:?}: no host"));
    }
    if rest.contains(['?', '#']) {
        return Err(format!(
            "invalid external URL {s:?}: no query or fragment allowed"
        ));
    }
    Ok(s.trim_end_matches('/').to_string())
}

/// Flags of `chorus sidecar`.
#[derive(Debug, Clone, Args)]
pub struct SidecarArgs {
    /// URL at which to reach Prometheus's API.
    #[arg(long = "prometheus.url", default_value = "http://localhost:9090")]
    pub prometheus_url: String,
    /// Listen address for the gRPC StoreAPI.
    #[arg(long = "grpc-address", default_value = "0.0.0.0:10901")]
    pub grpc_address: SocketAddr,
    /// Listen address for HTTP (health, readiness, metrics).
    #[arg(long = "http-address", default_value = "0.0.0.0:10902")]
    pub http_address: SocketAddr,
    /// How often to re-read Prometheus's external labels and time range.
    #[arg(long = "prometheus.refresh-interval", default_value = "30s", value_parser = parse_duration)]
    pub refresh_interval: Duration,
    /// Timeout of each call to Prometheus other than remote read.
    #[arg(long = "prometheus.get_config_timeout", default_value = "30s", value_parser = parse_duration)]
    pub get_config_timeout: Duration,
    /// Logging.
    #[command(flatten)]
    pub log: LogArgs,
    /// Thanos sidecar flags accepted for compatibility and ignored (logged at start).
    #[command(flatten)]
    pub ignored: IgnoredSidecarArgs,
}

/// Thanos sidecar flags Chorus accepts and ignores: Chorus does not upload blocks or reload configs.
#[derive(Debug, Clone, Args, Default)]
pub struct IgnoredSidecarArgs {
    /// Ignored: Prometheus's TSDB path (Chorus reads through remote read).
    #[arg(long = "tsdb.path", value_name = "PATH")]
    pub tsdb_path: Option<String>,
    /// Ignored: object storage configuration (Chorus does not upload blocks).
    #[arg(long = "objstore.config", value_name = "YAML")]
    pub objstore_config: Option<String>,
    /// Ignored: object storage configuration file.
    #[arg(long = "objstore.config-file", value_name = "FILE")]
    pub objstore_config_file: Option<String>,
    /// Ignored: shipper settings (`--shipper.upload-compacted`, ...).
    #[arg(long = "shipper.upload-compacted", num_args = 0..=1, default_missing_value = "true", value_name = "BOOL")]
    pub shipper_upload_compacted: Option<String>,
    /// Ignored: reloader settings.
    #[arg(long = "reloader.config-file", value_name = "FILE")]
    pub reloader_config_file: Option<String>,
    /// Ignored: reloader settings.
    #[arg(long = "reloader.config-envsubst-file", value_name = "FILE")]
    pub reloader_config_envsubst_file: Option<String>,
    /// Ignored: reloader settings (repeatable).
    #[arg(long = "reloader.rule-dir", value_name = "DIR")]
    pub reloader_rule_dir: Vec<String>,
    /// Ignored: reloader settings (repeatable).
    #[arg(long = "reloader.watch-interval", value_name = "DURATION")]
    pub reloader_watch_interval: Option<String>,
    /// Ignored: reloader settings.
    #[arg(long = "reloader.retry-interval", value_name = "DURATION")]
    pub reloader_retry_interval: Option<String>,
}

impl IgnoredSidecarArgs {
    /// The ignored flags that were given, as `--name=value` strings, for a log line.
    pub fn given(&self) -> Vec<String> {
        let mut out = Vec::new();
        let mut push = |name: &str, v: &Option<String>| {
            if let Some(v) = v {
                out.push(format!("--{name}={v}"));
            }
        };
        push("tsdb.path", &self.tsdb_path);
        push(
            "objstore.config",
            &self
                .objstore_config
                .as_ref()
                .map(|_| "<redacted>".to_string()),
        );
        push("objstore.config-file", &self.objstore_config_file);
        push("shipper.upload-compacted", &self.shipper_upload_compacted);
        push("reloader.config-file", &self.reloader_config_file);
        push(
            "reloader.config-envsubst-file",
            &self.reloader_config_envsubst_file,
        );
        push("reloader.watch-interval", &self.reloader_watch_interval);
        push("reloader.retry-interval", &self.reloader_retry_interval);
        for dir in &self.reloader_rule_dir {
            out.push(format!("--reloader.rule-dir={dir}"));
        }
        out
    }
}

/// `--store.sd-dns-resolver`: which DNS client Thanos would use. Both are served by the same
/// resolver in Chorus; the flag is accepted so manifests start unchanged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum DnsResolverArg {
    /// Go's resolver in Thanos.
    Golang,
    /// miekg/dns in Thanos (its default).
    #[default]
    Miekgdns,
}

/// Flags of `chorus query`.
#[derive(Debug, Clone, Args)]
pub struct QueryArgs {
    /// Addresses of StoreAPI endpoints (repeatable): `host:port`, `dns+host:port`,
    /// `dnssrv+_grpc._tcp.name`, `dnssrvnoa+name`.
    #[arg(long = "endpoint", value_name = "ADDRESS")]
    pub endpoints: Vec<String>,
    /// Older alias of --endpoint (repeatable).
    #[arg(long = "store", value_name = "ADDRESS")]
    pub stores: Vec<String>,
    /// Files with StoreAPI addresses in Prometheus's file_sd format (YAML or JSON), reloaded on change.
    #[arg(long = "store.sd-files", value_name = "PATH")]
    pub sd_files: Vec<String>,
    /// Refresh interval to re-read the SD files.
    #[arg(long = "store.sd-interval", default_value = "5m", value_parser = parse_duration)]
    pub sd_interval: Duration,
    /// Interval between DNS resolutions.
    #[arg(long = "store.sd-dns-interval", default_value = "30s", value_parser = parse_duration)]
    pub sd_dns_interval: Duration,
    /// DNS resolver to use (both values use Chorus's resolver; accepted for compatibility).
    #[arg(long = "store.sd-dns-resolver", value_enum, default_value_t = DnsResolverArg::Miekgdns)]
    pub sd_dns_resolver: DnsResolverArg,
    /// Per-store deadline for a Series call to produce data; 0 disables it.
    #[arg(long = "store.response-timeout", default_value = "0ms", value_parser = parse_duration)]
    pub store_response_timeout: Duration,
    /// Labels that tell replicas apart; removed for deduplication (repeatable or comma-separated).
    #[arg(long = "query.replica-label", value_name = "LABEL")]
    pub replica_labels: Vec<String>,
    /// Answer with partial data and a warning when some stores fail (the default).
    #[arg(
        long = "query.partial-response",
        overrides_with = "no_partial_response"
    )]
    pub partial_response: bool,
    /// Fail the whole request when a store fails.
    #[arg(
        long = "no-query.partial-response",
        overrides_with = "partial_response"
    )]
    pub no_partial_response: bool,
    /// Maximum time to process a query.
    #[arg(long = "query.timeout", default_value = "2m", value_parser = parse_duration)]
    pub query_timeout: Duration,
    /// Maximum number of PromQL queries evaluated concurrently; further queries wait for a turn
    /// within their timeout.
    #[arg(long = "query.max-concurrent", default_value_t = 20)]
    pub max_concurrent: usize,
    /// PromQL engine settings.
    #[command(flatten)]
    pub engine: EngineArgs,
    /// Listen address for the gRPC StoreAPI (queriers can be chained).
    #[arg(long = "grpc-address", default_value = "0.0.0.0:10901")]
    pub grpc_address: SocketAddr,
    /// Listen address for the HTTP API and the web console.
    #[arg(long = "http-address", default_value = "0.0.0.0:10902")]
    pub http_address: SocketAddr,
    /// Prefix for API and UI routes (defaults to --web.external-prefix).
    #[arg(long = "web.route-prefix", default_value = "")]
    pub route_prefix: String,
    /// Static prefix under which the UI is reached behind a reverse proxy.
    #[arg(long = "web.external-prefix", default_value = "")]
    pub external_prefix: String,
    /// URL under which users reach Chorus from outside (ingress, reverse proxy): the console's
    /// "Copy link" builds links on it instead of the page's own address (a port-forward's
    /// localhost, say). It does not change the routes (see --web.route-prefix).
    #[arg(long = "web.external-url", default_value = "", value_parser = parse_external_url)]
    pub external_url: String,
    /// Logging.
    #[command(flatten)]
    pub log: LogArgs,
}

impl QueryArgs {
    /// Whether partial response is on (the default unless `--no-query.partial-response`).
    pub fn partial_response_enabled(&self) -> bool {
        !self.no_partial_response
    }

    /// `--endpoint` and `--store` values together.
    pub fn all_endpoints(&self) -> Vec<String> {
        self.endpoints
            .iter()
            .chain(self.stores.iter())
            .cloned()
            .collect()
    }
}

/// PromQL engine flags, shared by `chorus query` and `chorus demo` (Thanos's names and defaults).
#[derive(Debug, Clone, Args)]
pub struct EngineArgs {
    /// How far back a selector looks for the latest sample of a series (0 means the default,
    /// 5m).
    #[arg(long = "query.lookback-delta", default_value = "5m", value_parser = parse_duration)]
    pub lookback_delta: Duration,
    /// Most samples one query may load into memory; a query that needs more fails with HTTP 422
    /// ("query processing would load too many samples into memory in query execution").
    #[arg(long = "query.max-samples", default_value_t = 50_000_000)]
    pub max_samples: u64,
}

/// The flags' defaults.
impl Default for EngineArgs {
    fn default() -> Self {
        Self {
            lookback_delta: Duration::from_secs(5 * 60),
            max_samples: 50_000_000,
        }
    }
}

/// Flags of `chorus demo`.
#[derive(Debug, Clone, Args)]
pub struct DemoArgs {
    /// Listen address for the HTTP API and the web console.
    #[arg(long = "http-address", default_value = "127.0.0.1:10902")]
    pub http_address: SocketAddr,
    /// Listen address for the querier's gRPC StoreAPI.
    #[arg(long = "grpc-address", default_value = "127.0.0.1:10901")]
    pub grpc_address: SocketAddr,
    /// URL under which users reach the demo: the console's "Copy link" builds links on it
    /// (as `chorus query --web.external-url`).
    #[arg(long = "web.external-url", default_value = "", value_parser = parse_external_url)]
    pub external_url: String,
    /// PromQL engine settings, passed to the querier.
    #[command(flatten)]
    pub engine: EngineArgs,
    /// Logging.
    #[command(flatten)]
    pub log: LogArgs,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Cli, clap::Error> {
        Cli::try_parse_from(std::iter::once("chorus").chain(args.iter().copied()))
    }

    #[test]
    fn promql_test_takes_files_and_baseline_flags() {
        let cli = parse(&["promql-test", "--baseline", "b.txt", "a.test", "c.test"]).unwrap();
        let Command::PromqlTest(args) = cli.command else {
            panic!("not a promql-test command")
        };
        assert_eq!(
            args.files,
            [std::path::PathBuf::from("a.test"), "c.test".into()]
        );
        assert_eq!(args.baseline, Some("b.txt".into()));
        assert_eq!(args.write_baseline, None);
        let cli = parse(&["promql-test", "--write-baseline=out.txt", "a.test"]).unwrap();
        let Command::PromqlTest(args) = cli.command else {
            panic!("not a promql-test command")
        };
        assert_eq!(args.write_baseline, Some("out.txt".into()));
        assert!(parse(&["promql-test"]).is_err(), "FILE is required");
        assert!(parse(&["promql-test", "--baseline"]).is_err());
    }

    #[test]
    fn seed_manifest_arguments_parse() {
        let cli = parse(&[
            "query",
            "--log.level=debug",
            "--query.replica-label=prometheus_replica",
            "--store.sd-dns-resolver=miekgdns",
            "--store=dnssrv+_grpc._tcp.thanos-store-api.prometheus.svc.cluster.local",
        ])
        .unwrap();
        let Command::Query(q) = cli.command else {
            panic!("not a query command")
        };
        assert_eq!(q.log.level, LogLevel::Debug);
        assert_eq!(q.replica_labels, ["prometheus_replica"]);
        assert_eq!(
            q.all_endpoints(),
            ["dnssrv+_grpc._tcp.thanos-store-api.prometheus.svc.cluster.local"]
        );
        assert!(q.partial_response_enabled());
        assert_eq!(q.query_timeout, Duration::from_secs(120));
    }

    #[test]
    fn partial_response_can_be_switched_off_and_on() {
        let Command::Query(q) = parse(&["query", "--no-query.partial-response"])
            .unwrap()
            .command
        else {
            panic!("not a query command")
        };
        assert!(!q.partial_response_enabled());
        let Command::Query(q) = parse(&[
            "query",
            "--no-query.partial-response",
            "--query.partial-response",
        ])
        .unwrap()
        .command
        else {
            panic!("not a query command")
        };
        assert!(q.partial_response_enabled());
    }

    #[test]
    fn unknown_flags_are_rejected() {
        let err = parse(&["query", "--no-such-flag"]).unwrap_err();
        assert!(err.to_string().contains("--no-such-flag"), "{err}");
    }

    #[test]
    fn thanos_sidecar_flags_are_accepted() {
        let cli = parse(&[
            "sidecar",
            "--prometheus.url=http://localhost:9090",
            "--tsdb.path=/prometheus",
            "--objstore.config-file=/etc/objstore.yaml",
            "--reloader.config-file=/etc/prometheus/prometheus.yaml.gz",
            "--shipper.upload-compacted",
        ])
        .unwrap();
        let Command::Sidecar(s) = cli.command else {
            panic!("not a sidecar command")
        };
        assert_eq!(s.ignored.given().len(), 4);
    }

    #[test]
    fn engine_flag_defaults_match_the_default_value() {
        let Command::Query(q) = parse(&["query"]).unwrap().command else {
            panic!("not a query command")
        };
        assert_eq!(
            q.engine.lookback_delta,
            EngineArgs::default().lookback_delta
        );
        assert_eq!(q.engine.max_samples, EngineArgs::default().max_samples);
        let Command::Demo(d) = parse(&["demo", "--query.max-samples=7"]).unwrap().command else {
            panic!("not a demo command")
        };
        assert_eq!(d.engine.max_samples, 7);
    }

    #[test]
    fn external_url_is_checked_and_loses_its_trailing_slash() {
        let Command::Query(q) = parse(&[
            "query",
            "--web.external-url=https://chorus.example.com/thanos/",
        ])
        .unwrap()
        .command
        else {
            panic!("not a query command")
        };
        assert_eq!(q.external_url, "https://chorus.example.com/thanos");
        let Command::Demo(d) = parse(&["demo", "--web.external-url=http://h:9090"])
            .unwrap()
            .command
        else {
            panic!("not a demo command")
        };
        assert_eq!(d.external_url, "http://h:9090");
        assert_eq!(parse_external_url("").unwrap(), "");
        for bad in [
            "chorus.example.com",
            "ftp://h/",
            "https:///x",
            "http://h/?a=1",
            "http://h/#f",
        ] {
            assert!(parse_external_url(bad).is_err(), "{bad}");
            assert!(
                parse(&["query", &format!("--web.external-url={bad}")]).is_err(),
                "{bad}"
            );
        }
    }

    #[test]
    fn durations_parse_like_prometheus() {
        assert_eq!(parse_duration("1h30m").unwrap(), Duration::from_secs(5400));
        assert_eq!(parse_duration("0").unwrap(), Duration::ZERO);
        assert!(parse_duration("soon").is_err());
    }
}
