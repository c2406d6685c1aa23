//! Logging set-up and the process's own metrics (`/metrics`).
//!
//! [`Metrics`] counts requests and their latencies per protocol, handler and status code, and
//! renders them in the Prometheus text exposition format. It knows nothing of axum or tonic:
//! the HTTP middleware in `api` and the gRPC server call [`Metrics::observe`].

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::time::Duration;

use tracing_subscriber::EnvFilter;

use crate::cli::{LogArgs, LogFormat, LogLevel};

/// Installs the global tracing subscriber for `--log.level` and `--log.format`.
/// `RUST_LOG`, when set, overrides the level (for per-module debugging).
pub fn init_logging(args: &LogArgs) {
    let level = match args.level {
        LogLevel::Error => "error",
        LogLevel::Warn => "warn",
        LogLevel::Info => "info",
        LogLevel::Debug => "debug",
    };
    // Dependencies are noisy at debug; keep them at warn unless RUST_LOG says otherwise.
    let default = format!("warn,chorus={level}");
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    // A second initialisation (tests starting several components) keeps the first subscriber.
    let _ = match args.format {
        LogFormat::Json => builder.json().try_init(),
        LogFormat::Logfmt => builder.with_ansi(false).try_init(),
    };
}

/// The protocol a request came in over.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Protocol {
    /// The HTTP API.
    Http,
    /// The gRPC StoreAPI.
    Grpc,
}

/// Latency histogram bucket bounds, seconds.
const BUCKETS: [f64; 12] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0, 30.0,
];

#[derive(Debug, Default, Clone)]
struct Histogram {
    counts: [u64; BUCKETS.len()],
    count: u64,
    sum_seconds: f64,
}

/// Request counts and latencies of this process.
#[derive(Debug, Default)]
pub struct Metrics {
    // (protocol, handler, code) -> histogram; a BTreeMap renders in a stable order.
    requests: Mutex<BTreeMap<(Protocol, String, String), Histogram>>,
}

impl Metrics {
    /// An empty registry.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records one finished request.
    pub fn observe(&self, protocol: Protocol, handler: &str, code: &str, elapsed: Duration) {
        let seconds = elapsed.as_secs_f64();
        let mut requests = self
            .requests
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let h = requests
            .entry((protocol, handler.to_string(), code.to_string()))
            .or_default();
        h.count += 1;
        h.sum_seconds += seconds;
        for (bound, count) in BUCKETS.iter().zip(h.counts.iter_mut()) {
            if seconds <= *bound {
                *count += 1;
            }
        }
    }

    /// How many requests were recorded for `handler` (any code), e.g. for tests.
    pub fn count(&self, protocol: Protocol, handler: &str) -> u64 {
        let requests = self
            .requests
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        requests
            .iter()
            .filter(|((p, h, _), _)| *p == protocol && h == handler)
            .map(|(_, v)| v.count)
            .sum()
    }

    /// The Prometheus text exposition of every metric.
    pub fn render(&self) -> String {
        let requests = self
            .requests
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone();
        let mut out = String::new();
        let _ = writeln!(
            out,
            "# HELP chorus_build_info A metric with a constant '1' labelled by version."
        );
        let _ = writeln!(out, "# TYPE chorus_build_info gauge");
        let _ = writeln!(
            out,
            "chorus_build_info{{version=\"{}\"}} 1",
            env!("CARGO_PKG_VERSION")
        );
        for (protocol, family, label) in [
            (Protocol::Http, "chorus_http_requests", "handler"),
            (Protocol::Grpc, "chorus_grpc_server_requests", "grpc_method"),
        ] {
            let _ = writeln!(
                out,
                "# HELP {family}_total Requests handled, by {label} and status code."
            );
            let _ = writeln!(out, "# TYPE {family}_total counter");
            for ((p, handler, code), h) in requests.iter().filter(|((p, _, _), _)| *p == protocol) {
                let _ = p;
                let _ = writeln!(
                    out,
                    "{family}_total{{{label}=\"{}\",code=\"{}\"}} {}",
                    escape(handler),
                    escape(code),
                    h.count
                );
            }
            let _ = writeln!(
                out,
                "# HELP {family}_duration_seconds Request latency, by {label} and status code."
            );
            let _ = writeln!(out, "# TYPE {family}_duration_seconds histogram");
            for ((_, handler, code), h) in requests.iter().filter(|((p, _, _), _)| *p == protocol) {
                let (handler, code) = (escape(handler), escape(code));
                for (bound, count) in BUCKETS.iter().zip(h.counts.iter()) {
                    let _ = writeln!(
                        out,
                        "{family}_duration_seconds_bucket{{{label}=\"{handler}\",code=\"{code}\",le=\"{bound}\"}} {count}"
                    );
                }
                let _ = writeln!(
                    out,
                    "{family}_duration_seconds_bucket{{{label}=\"{handler}\",code=\"{code}\",le=\"+Inf\"}} {}",
                    h.count
                );
                let _ = writeln!(
                    out,
                    "{family}_duration_seconds_sum{{{label}=\"{handler}\",code=\"{code}\"}} {}",
                    h.sum_seconds
                );
                let _ = writeln!(
                    out,
                    "{family}_duration_seconds_count{{{label}=\"{handler}\",code=\"{code}\"}} {}",
                    h.count
                );
            }
        }
        out
    }
}

/// Escapes a label value for the text exposition format.
fn escape(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counts_and_cumulative_buckets() {
        let m = Metrics::new();
        m.observe(
            Protocol::Http,
            "/api/v1/labels",
            "200",
            Duration::from_millis(3),
        );
        m.observe(
            Protocol::Http,
            "/api/v1/labels",
            "200",
            Duration::from_secs(2),
        );
        m.observe(
            Protocol::Grpc,
            "/thanos.Store/Series",
            "OK",
            Duration::from_millis(1),
        );
        let text = m.render();
        assert!(
            text.contains("chorus_http_requests_total{handler=\"/api/v1/labels\",code=\"200\"} 2"),
            "{text}"
        );
        assert!(
            text.contains("handler=\"/api/v1/labels\",code=\"200\",le=\"0.005\"} 1"),
            "{text}"
        );
        assert!(
            text.contains("handler=\"/api/v1/labels\",code=\"200\",le=\"5\"} 2"),
            "{text}"
        );
        assert!(text.contains(
            "chorus_grpc_server_requests_total{grpc_method=\"/thanos.Store/Series\",code=\"OK\"} 1"
        ));
        assert_eq!(m.count(Protocol::Http, "/api/v1/labels"), 2);
    }

    #[test]
    fn label_values_are_escaped() {
        assert_eq!(escape("a\"b\\c\n"), "a\\\"b\\\\c\\n");
    }
}
