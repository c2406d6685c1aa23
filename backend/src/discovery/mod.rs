//! Endpoint discovery: `--endpoint`/`--store` specs and `--store.sd-files` turned into a live,
//! sorted set of `host:port` addresses.
//!
//! - [`spec`] parses one spec (`host:port`, `dns+`, `dnsdualstack+`, `dnssrv+`, `dnssrvnoa+`).
//! - [`dns`] resolves specs through the [`Resolver`] trait; [`HickoryResolver`] is the real
//!   implementation for both `--store.sd-dns-resolver` kinds.
//! - [`file_sd`] reads Prometheus `file_sd` files; `file_watch` signals their changes.
//! - [`provider`] runs the refresh task and publishes [`Addresses`] on a `watch` channel.
//!
//! This module resolves names to addresses and knows nothing of gRPC: the querier dials what
//! it publishes (STYLE.md §2). Behaviour follows THANOS.md §4 and Thanos `pkg/discovery/dns`.
//!
//! ```no_run
//! # async fn example() -> Result<(), Box<dyn std::error::Error>> {
//! use chorus::discovery::{Discovery, DiscoveryConfig};
//! let config = DiscoveryConfig {
//!     static_specs: vec!["dnssrv+_grpc._tcp.thanos-store.monitoring.svc".parse()?],
//!     ..DiscoveryConfig::default()
//! };
//! let cancel = tokio_util::sync::CancellationToken::new();
//! let discovery = Discovery::spawn(config, cancel.clone())?;
//! let mut addresses = discovery.subscribe();
//! while addresses.changed().await.is_ok() {
//!     println!("{:?}", addresses.borrow_and_update().as_slice());
//! }
//! # Ok(()) }
//! ```

pub mod dns;
pub mod file_sd;
mod file_watch;
pub mod provider;
pub mod spec;

pub use dns::{
    DnsError, HickoryResolver, Nameservers, Resolver, ResolverConfig, ResolverKind, resolve_spec,
};
pub use file_sd::{FileSdError, SdFilePattern};
pub use provider::{Addresses, Discovery, DiscoveryConfig, DiscoveryError};
pub use spec::{EndpointSpec, HostPort, SpecError, SrvName};
