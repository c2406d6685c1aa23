//! Typed configuration of `chorus query`, built once from the command-line flags.
//!
//! `cli` mirrors and validates the flags; this module turns them into the values the querier's
//! parts take (parsed endpoint specs, durations as `Option` where 0 means "off", the
//! partial-response policy as an enum, replica labels normalised). It does no I/O and knows
//! nothing of gRPC or HTTP.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::num::NonZeroUsize;
use std::time::Duration;

use crate::cli::{DnsResolverArg, QueryArgs};
use crate::discovery::{
    DiscoveryConfig, EndpointSpec, FileSdError, ResolverConfig, ResolverKind, SdFilePattern,
    SpecError,
};
use crate::promql::EngineConfig;
use crate::query::dedup::ReplicaLabels;
use crate::storeapi::PartialResponse;

/// How often endpoints are health-checked, and how long one check may take
/// (Thanos's hidden `--endpoint.info-timeout`, 5 s; THANOS.md §5).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HealthCheckConfig {
    /// Time between two checks of the same endpoint.
    pub interval: Duration,
    /// Deadline of one `Info` call.
    pub info_timeout: Duration,
}

impl Default for HealthCheckConfig {
    fn default() -> Self {
        Self {
            interval: Duration::from_secs(5),
            info_timeout: Duration::from_secs(5),
        }
    }
}

/// The flags could not be turned into a configuration.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// `--query.max-concurrent` must allow at least one query.
    #[error("--query.max-concurrent must be at least 1")]
    ZeroMaxConcurrent,
    /// An `--endpoint`/`--store` value is not a valid address spec.
    #[error("--endpoint/--store {spec:?}: {source}")]
    EndpointSpec {
        /// The value as given.
        spec: String,
        /// Why it is invalid.
        #[source]
        source: SpecError,
    },
    /// A `--store.sd-files` value is not a valid path pattern.
    #[error("--store.sd-files {pattern:?}: {source}")]
    SdFile {
        /// The value as given.
        pattern: String,
        /// Why it is invalid.
        #[source]
        source: FileSdError,
    },
}

/// Everything `chorus query` needs, validated.
#[derive(Debug, Clone)]
pub struct QueryConfig {
    /// Where endpoint addresses come from: `--endpoint`/`--store` specs, `--store.sd-files`,
    /// their refresh intervals and the DNS resolver.
    pub discovery: DiscoveryConfig,
    /// `--query.replica-label`: split on commas, empties dropped, sorted, unique (THANOS.md §2).
    pub replica_labels: Vec<String>,
    /// Policy used when a request does not choose one (`--[no-]query.partial-response`).
    pub partial_response: PartialResponse,
    /// `--store.response-timeout`; `None` when 0 (off).
    pub store_response_timeout: Option<Duration>,
    /// `--query.timeout`.
    pub query_timeout: Duration,
    /// `--query.max-concurrent`: how many PromQL queries may be evaluated at once. It bounds the
    /// HTTP query endpoints (as Thanos's gate in pkg/api/query/v1.go does), not the proxy: a
    /// query holds several Series streams open at once, so a per-stream bound could deadlock.
    pub max_concurrent: NonZeroUsize,
    /// The PromQL engine's settings: `--query.lookback-delta` (0 means the default, 5m), the
    /// rest at their defaults.
    pub engine: EngineConfig,
    /// `--query.max-samples`: most samples one query may load.
    pub max_samples: u64,
    /// `--grpc-address`.
    pub grpc_address: SocketAddr,
    /// `--http-address`.
    pub http_address: SocketAddr,
    /// `--web.route-prefix`, falling back to `--web.external-prefix`.
    pub route_prefix: String,
    /// Endpoint health checking.
    pub health: HealthCheckConfig,
    /// The flags as `/api/v1/status/flags` shows them: Thanos names without `--`, values as
    /// strings, plus the defaults of Thanos flags the web console reads and Chorus does not have.
    pub flags: BTreeMap<String, String>,
}

impl QueryConfig {
    /// Builds the configuration from parsed flags.
    pub fn from_args(args: &QueryArgs) -> Result<Self, ConfigError> {
        let max_concurrent =
            NonZeroUsize::new(args.max_concurrent).ok_or(ConfigError::ZeroMaxConcurrent)?;
        let route_prefix = if args.route_prefix.is_empty() {
            args.external_prefix.clone()
        } else {
            args.route_prefix.clone()
        };
        Ok(Self {
            discovery: discovery_config(args)?,
            replica_labels: ReplicaLabels::from_flags(&args.replica_labels).into_vec(),
            partial_response: if args.partial_response_enabled() {
                PartialResponse::Warn
            } else {
                PartialResponse::Abort
            },
            store_response_timeout: (!args.store_response_timeout.is_zero())
                .then_some(args.store_response_timeout),
            query_timeout: args.query_timeout,
            max_concurrent,
            engine: engine_config(args),
            max_samples: args.engine.max_samples,
            grpc_address: args.grpc_address,
            http_address: args.http_address,
            route_prefix,
            health: HealthCheckConfig::default(),
            flags: flag_values(args),
        })
    }
}

fn engine_config(args: &QueryArgs) -> EngineConfig {
    let defaults = EngineConfig::default();
    let lookback = args.engine.lookback_delta;
    EngineConfig {
        lookback_delta: if lookback.is_zero() {
            defaults.lookback_delta
        } else {
            lookback
        },
        ..defaults
    }
}

/// `/api/v1/status/flags` (thanos pkg/api/query/v1.go `flags`; the console reads
/// `query.default-step`, `query.mode`, `query.promql-engine` and `query.partial-response`).
fn flag_values(args: &QueryArgs) -> BTreeMap<String, String> {
    let duration = |d: Duration| humantime::format_duration(d).to_string();
    let resolver = resolver_kind(args.sd_dns_resolver);
    [
        ("endpoint", args.endpoints.join(",")),
        ("store", args.stores.join(",")),
        ("store.sd-files", args.sd_files.join(",")),
        ("store.sd-interval", duration(args.sd_interval)),
        ("store.sd-dns-interval", duration(args.sd_dns_interval)),
        ("store.sd-dns-resolver", resolver.as_str().to_string()),
        (
            "store.response-timeout",
            duration(args.store_response_timeout),
        ),
        ("query.replica-label", args.replica_labels.join(",")),
        (
            "query.partial-response",
            args.partial_response_enabled().to_string(),
        ),
        ("query.timeout", duration(args.query_timeout)),
        ("query.max-concurrent", args.max_concurrent.to_string()),
        ("query.lookback-delta", duration(args.engine.lookback_delta)),
        ("query.max-samples", args.engine.max_samples.to_string()),
        ("query.default-step", "1s".to_string()),
        ("query.mode", "local".to_string()),
        ("query.promql-engine", "prometheus".to_string()),
        ("grpc-address", args.grpc_address.to_string()),
        ("http-address", args.http_address.to_string()),
        ("web.route-prefix", args.route_prefix.clone()),
        ("web.external-prefix", args.external_prefix.clone()),
        ("web.external-url", args.external_url.clone()),
    ]
    .into_iter()
    .map(|(name, value)| (name.to_string(), value))
    .collect()
}

fn discovery_config(args: &QueryArgs) -> Result<DiscoveryConfig, ConfigError> {
    let static_specs = args
        .all_endpoints()
        .into_iter()
        .map(|spec| {
            spec.parse::<EndpointSpec>()
                .map_err(|source| ConfigError::EndpointSpec { spec, source })
        })
        .collect::<Result<_, _>>()?;
    let sd_files = args
        .sd_files
        .iter()
        .map(|pattern| {
            SdFilePattern::new(pattern).map_err(|source| ConfigError::SdFile {
                pattern: pattern.clone(),
                source,
            })
        })
        .collect::<Result<_, _>>()?;
    let kind = resolver_kind(args.sd_dns_resolver);
    Ok(DiscoveryConfig {
        static_specs,
        sd_files,
        sd_interval: args.sd_interval,
        dns_interval: args.sd_dns_interval,
        resolver: ResolverConfig {
            kind,
            ..ResolverConfig::default()
        },
    })
}

fn resolver_kind(arg: DnsResolverArg) -> ResolverKind {
    match arg {
        DnsResolverArg::Golang => ResolverKind::Golang,
        DnsResolverArg::Miekgdns => ResolverKind::MiekgDns,
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;
    use crate::cli::{Cli, Command};

    fn config(args: &[&str]) -> Result<QueryConfig, ConfigError> {
        let cli = Cli::try_parse_from(["chorus", "query"].iter().chain(args.iter()))
            .expect("flags parse");
        let Command::Query(args) = cli.command else {
            panic!("not a query command")
        };
        QueryConfig::from_args(&args)
    }

    #[test]
    fn replica_labels_are_split_sorted_and_unique() {
        let c = config(&[
            "--query.replica-label=replica,prometheus_replica",
            "--query.replica-label=replica,",
        ])
        .expect("valid");
        assert_eq!(c.replica_labels, ["prometheus_replica", "replica"]);
    }

    #[test]
    fn zero_response_timeout_means_off() {
        assert_eq!(config(&[]).expect("valid").store_response_timeout, None);
        let c = config(&["--store.response-timeout=2s"]).expect("valid");
        assert_eq!(c.store_response_timeout, Some(Duration::from_secs(2)));
    }

    #[test]
    fn partial_response_policy_follows_the_flag() {
        assert_eq!(
            config(&[]).expect("valid").partial_response,
            PartialResponse::Warn
        );
        let c = config(&["--no-query.partial-response"]).expect("valid");
        assert_eq!(c.partial_response, PartialResponse::Abort);
    }

    #[test]
    fn route_prefix_defaults_to_external_prefix() {
        assert_eq!(
            config(&["--web.external-prefix=/thanos"])
                .expect("valid")
                .route_prefix,
            "/thanos"
        );
        let c = config(&["--web.external-prefix=/thanos", "--web.route-prefix=/r"]).expect("valid");
        assert_eq!(c.route_prefix, "/r");
    }

    #[test]
    fn flags_are_listed_with_thanos_names() {
        let c = config(&[
            "--query.replica-label=replica",
            "--no-query.partial-response",
            "--query.timeout=30s",
        ])
        .expect("valid");
        assert_eq!(c.flags["query.replica-label"], "replica");
        assert_eq!(c.flags["query.partial-response"], "false");
        assert_eq!(c.flags["query.timeout"], "30s");
        assert_eq!(c.flags["store.sd-dns-resolver"], "miekgdns");
        assert_eq!(c.flags["query.default-step"], "1s");
        assert_eq!(c.flags["web.external-url"], "");
        let c = config(&["--web.external-url=https://chorus.example.com/q"]).expect("valid");
        assert_eq!(c.flags["web.external-url"], "https://chorus.example.com/q");
    }

    #[test]
    fn engine_flags_reach_the_engine_config() {
        let c = config(&[]).expect("valid");
        assert_eq!(c.engine.lookback_delta, Duration::from_secs(300));
        assert_eq!(c.max_samples, 50_000_000);
        let c = config(&["--query.lookback-delta=1m", "--query.max-samples=10"]).expect("valid");
        assert_eq!(c.engine.lookback_delta, Duration::from_secs(60));
        assert_eq!(c.max_samples, 10);
        assert_eq!(c.flags["query.lookback-delta"], "1m");
        assert_eq!(c.flags["query.max-samples"], "10");
        let c = config(&["--query.lookback-delta=0s"]).expect("valid");
        assert_eq!(c.engine.lookback_delta, Duration::from_secs(300));
    }

    #[test]
    fn zero_max_concurrent_is_rejected() {
        assert!(matches!(
            config(&["--query.max-concurrent=0"]),
            Err(ConfigError::ZeroMaxConcurrent)
        ));
    }
}
