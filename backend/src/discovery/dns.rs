//! DNS lookups for `dns+`, `dnsdualstack+`, `dnssrv+` and `dnssrvnoa+` specs.
//!
//! Lookups go through the [`Resolver`] trait (address and SRV records only, like Thanos's
//! `ipLookupResolver` in `pkg/discovery/dns/resolver.go`), so the spec logic in
//! [`resolve_spec`] can be tested without a network; [`HickoryResolver`] is the real one. This
//! module turns names into `host:port` strings and knows nothing of gRPC or of the refresh
//! schedule (that is [`super::provider`]).

use std::collections::BTreeSet;
use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::str::FromStr;

use futures::future::BoxFuture;
use hickory_resolver::TokioResolver;
use hickory_resolver::config::{
    ConnectionConfig, LookupIpStrategy, NameServerConfig, ResolveHosts,
    ResolverConfig as HickoryConfig, ResolverOpts,
};
use hickory_resolver::net::{NetError, runtime::TokioRuntimeProvider};
use hickory_resolver::proto::rr::{RData, RecordType};

use super::spec::{EndpointSpec, HostPort, SrvName};

/// Which resolver behaviour `--store.sd-dns-resolver` asks for.
///
/// Thanos has two implementations (Go's `net.DefaultResolver` and a miekg/dns client reading
/// `/etc/resolv.conf`). Chorus accepts both names and uses hickory-resolver for both, keeping
/// the differences that change results:
/// - [`ResolverKind::Golang`] consults the hosts file first and returns both A and AAAA
///   addresses for `dns+` and SRV targets;
/// - [`ResolverKind::MiekgDns`] (Thanos's default) asks DNS only, for AAAA first and for A only
///   when there is no AAAA answer (`pkg/discovery/dns/miekgdns/resolver.go`).
///
/// `dnsdualstack+` always asks for both families.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ResolverKind {
    /// `golang`: hosts file, then DNS; A and AAAA.
    Golang,
    /// `miekgdns`: DNS only; AAAA, falling back to A.
    #[default]
    MiekgDns,
}

impl ResolverKind {
    /// The flag value, as Thanos spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Golang => "golang",
            Self::MiekgDns => "miekgdns",
        }
    }
}

impl fmt::Display for ResolverKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ResolverKind {
    type Err = DnsError;

    fn from_str(text: &str) -> Result<Self, DnsError> {
        match text {
            "golang" => Ok(Self::Golang),
            "miekgdns" => Ok(Self::MiekgDns),
            _ => Err(DnsError::UnknownResolverKind(text.to_owned())),
        }
    }
}

/// Where DNS questions are sent.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Nameservers {
    /// The system's configuration (`/etc/resolv.conf`: servers, search domains, ndots).
    #[default]
    System,
    /// These servers (UDP, then TCP on truncation), without search domains. Tests use this
    /// to ask a DNS server on `127.0.0.1:PORT`.
    Explicit(Vec<SocketAddr>),
}

/// Resolver settings for [`HickoryResolver::new`].
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ResolverConfig {
    /// Behaviour named by `--store.sd-dns-resolver`.
    pub kind: ResolverKind,
    /// Where questions go.
    pub nameservers: Nameservers,
}

/// Which address families one host lookup asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IpFamilies {
    /// Whatever the resolver kind does by default (see [`ResolverKind`]).
    Default,
    /// Both AAAA and A (`dnsdualstack+`).
    DualStack,
}

/// One SRV record: where a service instance lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SrvTarget {
    /// Target host name as the server sent it (usually fully qualified, with a trailing dot).
    pub target: String,
    /// Port from the record.
    pub port: u16,
}

/// Errors from DNS lookups and resolver set-up.
#[derive(Debug, thiserror::Error)]
pub enum DnsError {
    /// The name does not exist, or has no records of the asked type (NXDOMAIN or NODATA).
    #[error("no {record} records for {name:?}")]
    NotFound {
        /// The name asked about.
        name: String,
        /// Record type asked for (`A/AAAA`, `SRV`).
        record: &'static str,
    },
    /// The lookup failed for another reason (timeout, network, server failure).
    #[error("{record} lookup of {name:?} failed: {source}")]
    Lookup {
        /// The name asked about.
        name: String,
        /// Record type asked for.
        record: &'static str,
        /// What went wrong.
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// The system DNS configuration could not be read.
    #[error("reading the system DNS configuration: {0}")]
    SystemConfig(#[source] NetError),
    /// The resolver could not be built from the configuration.
    #[error("building the DNS resolver: {0}")]
    Build(#[source] NetError),
    /// `--store.sd-dns-resolver` named no known resolver.
    #[error("unknown DNS resolver {0:?} (expected golang or miekgdns)")]
    UnknownResolverKind(String),
}

/// Address and SRV lookups, the two questions endpoint specs ask.
///
/// Implementations report a name without records as [`DnsError::NotFound`].
pub trait Resolver: Send + Sync + 'static {
    /// The IP addresses of `host`.
    fn lookup_ip<'a>(
        &'a self,
        host: &'a str,
        families: IpFamilies,
    ) -> BoxFuture<'a, Result<Vec<IpAddr>, DnsError>>;

    /// The SRV records of `name`.
    fn lookup_srv<'a>(&'a self, name: &'a str) -> BoxFuture<'a, Result<Vec<SrvTarget>, DnsError>>;
}

/// Resolves one spec to `host:port` addresses, sorted and without duplicates.
///
/// Mirrors Thanos `pkg/discovery/dns/resolver.go` `dnsSD.Resolve`, except that a name that does
/// not exist is an error (so the provider keeps the previous result) rather than an empty
/// answer. An SRV target without addresses is skipped with a warning, as in Thanos.
pub async fn resolve_spec<R: Resolver + ?Sized>(
    resolver: &R,
    spec: &EndpointSpec,
) -> Result<Vec<String>, DnsError> {
    let mut addresses = BTreeSet::new();
    match spec {
        EndpointSpec::Static(addr) => {
            addresses.insert(addr.to_string());
        }
        EndpointSpec::Dns(addr) => {
            add_ips(&mut addresses, resolver, addr, IpFamilies::Default).await?;
        }
        EndpointSpec::DnsDualStack(addr) => {
            add_ips(&mut addresses, resolver, addr, IpFamilies::DualStack).await?;
        }
        EndpointSpec::DnsSrv(srv) => {
            for record in resolver.lookup_srv(srv.name()).await? {
                let target = HostPort::new(record.target, srv_port(srv, record.port));
                match add_ips(&mut addresses, resolver, &target, IpFamilies::Default).await {
                    Err(DnsError::NotFound { .. }) => {
                        tracing::warn!(
                            srv = srv.name(),
                            target = target.host(),
                            "SRV target has no addresses"
                        );
                    }
                    other => other?,
                }
            }
        }
        EndpointSpec::DnsSrvNoA(srv) => {
            for record in resolver.lookup_srv(srv.name()).await? {
                let host = record.target.trim_end_matches('.');
                addresses.insert(HostPort::new(host, srv_port(srv, record.port)).to_string());
            }
        }
    }
    Ok(addresses.into_iter().collect())
}

/// A port given in the spec wins over the one in the record.
fn srv_port(srv: &SrvName, record_port: u16) -> u16 {
    srv.port().unwrap_or(record_port)
}

async fn add_ips<R: Resolver + ?Sized>(
    addresses: &mut BTreeSet<String>,
    resolver: &R,
    addr: &HostPort,
    families: IpFamilies,
) -> Result<(), DnsError> {
    for ip in resolver.lookup_ip(addr.host(), families).await? {
        addresses.insert(SocketAddr::new(ip, addr.port()).to_string());
    }
    Ok(())
}

/// [`Resolver`] over hickory-resolver, for both [`ResolverKind`]s.
///
/// Answers are not cached between lookups (every TTL is clamped to zero), as with Thanos's
/// resolvers: each refresh asks the server again, so record changes show on the next refresh.
#[derive(Clone)]
pub struct HickoryResolver {
    inner: TokioResolver,
    kind: ResolverKind,
}

impl fmt::Debug for HickoryResolver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HickoryResolver")
            .field("kind", &self.kind)
            .finish_non_exhaustive()
    }
}

impl HickoryResolver {
    /// Builds a resolver; with [`Nameservers::System`] this reads `/etc/resolv.conf`.
    pub fn new(config: &ResolverConfig) -> Result<Self, DnsError> {
        let provider = TokioRuntimeProvider::default();
        let mut builder = match &config.nameservers {
            Nameservers::System => {
                TokioResolver::builder(provider).map_err(DnsError::SystemConfig)?
            }
            Nameservers::Explicit(servers) => {
                let servers = servers
                    .iter()
                    .map(|server| {
                        let mut udp = ConnectionConfig::udp();
                        udp.port = server.port();
                        let mut tcp = ConnectionConfig::tcp();
                        tcp.port = server.port();
                        NameServerConfig::new(server.ip(), true, vec![udp, tcp])
                    })
                    .collect();
                TokioResolver::builder_with_config(
                    HickoryConfig::from_name_servers(servers),
                    provider,
                )
            }
        };
        let options: &mut ResolverOpts = builder.options_mut();
        options.positive_max_ttl = Some(std::time::Duration::ZERO);
        options.negative_max_ttl = Some(std::time::Duration::ZERO);
        options.ip_strategy = LookupIpStrategy::Ipv4AndIpv6;
        options.use_hosts_file = match config.kind {
            ResolverKind::Golang => ResolveHosts::Always,
            ResolverKind::MiekgDns => ResolveHosts::Never,
        };
        let inner = builder.build().map_err(DnsError::Build)?;
        Ok(Self {
            inner,
            kind: config.kind,
        })
    }

    /// Addresses of one family, or `NotFound` when there are none.
    async fn lookup_family(
        &self,
        host: &str,
        record_type: RecordType,
    ) -> Result<Vec<IpAddr>, DnsError> {
        let lookup = self
            .inner
            .lookup(host, record_type)
            .await
            .map_err(|err| lookup_error(host, "A/AAAA", err))?;
        let ips: Vec<IpAddr> = lookup
            .answers()
            .iter()
            .filter_map(|record| match &record.data {
                RData::A(a) => Some(IpAddr::V4(a.0)),
                RData::AAAA(aaaa) => Some(IpAddr::V6(aaaa.0)),
                _ => None,
            })
            .collect();
        if ips.is_empty() {
            return Err(DnsError::NotFound {
                name: host.to_owned(),
                record: "A/AAAA",
            });
        }
        Ok(ips)
    }

    /// AAAA and A together; `NotFound` only when both are empty.
    async fn lookup_both(&self, host: &str) -> Result<Vec<IpAddr>, DnsError> {
        let (v6, v4) = futures::join!(
            self.lookup_family(host, RecordType::AAAA),
            self.lookup_family(host, RecordType::A)
        );
        match (v6, v4) {
            (Ok(mut v6), Ok(v4)) => {
                v6.extend(v4);
                Ok(v6)
            }
            (Ok(ips), Err(DnsError::NotFound { .. }))
            | (Err(DnsError::NotFound { .. }), Ok(ips)) => Ok(ips),
            (Err(err), _) | (_, Err(err)) => Err(err),
        }
    }
}

/// Maps hickory's "no records" answers to [`DnsError::NotFound`].
fn lookup_error(name: &str, record: &'static str, err: NetError) -> DnsError {
    if err.is_no_records_found() {
        DnsError::NotFound {
            name: name.to_owned(),
            record,
        }
    } else {
        DnsError::Lookup {
            name: name.to_owned(),
            record,
            source: Box::new(err),
        }
    }
}

impl Resolver for HickoryResolver {
    fn lookup_ip<'a>(
        &'a self,
        host: &'a str,
        families: IpFamilies,
    ) -> BoxFuture<'a, Result<Vec<IpAddr>, DnsError>> {
        Box::pin(async move {
            // An IP address needs no lookup (Go's resolver and miekg's both pass it through).
            if let Ok(ip) = host.parse::<IpAddr>() {
                return Ok(vec![ip]);
            }
            match (families, self.kind) {
                (IpFamilies::DualStack, _) | (IpFamilies::Default, ResolverKind::Golang) => {
                    self.lookup_both(host).await
                }
                (IpFamilies::Default, ResolverKind::MiekgDns) => {
                    match self.lookup_family(host, RecordType::AAAA).await {
                        Ok(ips) => Ok(ips),
                        Err(_) => self.lookup_family(host, RecordType::A).await,
                    }
                }
            }
        })
    }

    fn lookup_srv<'a>(&'a self, name: &'a str) -> BoxFuture<'a, Result<Vec<SrvTarget>, DnsError>> {
        Box::pin(async move {
            let lookup = self
                .inner
                .srv_lookup(name)
                .await
                .map_err(|err| lookup_error(name, "SRV", err))?;
            let targets: Vec<SrvTarget> = lookup
                .answers()
                .iter()
                .filter_map(|record| match &record.data {
                    RData::SRV(srv) => Some(SrvTarget {
                        target: srv.target.to_string(),
                        port: srv.port,
                    }),
                    _ => None,
                })
                .collect();
            if targets.is_empty() {
                return Err(DnsError::NotFound {
                    name: name.to_owned(),
                    record: "SRV",
                });
            }
            Ok(targets)
        })
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;
    use std::net::{Ipv4Addr, Ipv6Addr};

    use super::*;

    /// Answers from fixed tables; names missing from a table are `NotFound`.
    #[derive(Default)]
    struct FakeResolver {
        ips: HashMap<&'static str, Vec<IpAddr>>,
        srv: HashMap<&'static str, Vec<SrvTarget>>,
        failing: Option<&'static str>,
    }

    impl Resolver for FakeResolver {
        fn lookup_ip<'a>(
            &'a self,
            host: &'a str,
            _: IpFamilies,
        ) -> BoxFuture<'a, Result<Vec<IpAddr>, DnsError>> {
            Box::pin(async move {
                if self.failing == Some(host) {
                    return Err(DnsError::Lookup {
                        name: host.into(),
                        record: "A/AAAA",
                        source: "timeout".into(),
                    });
                }
                self.ips.get(host).cloned().ok_or(DnsError::NotFound {
                    name: host.into(),
                    record: "A/AAAA",
                })
            })
        }

        fn lookup_srv<'a>(
            &'a self,
            name: &'a str,
        ) -> BoxFuture<'a, Result<Vec<SrvTarget>, DnsError>> {
            Box::pin(async move {
                self.srv.get(name).cloned().ok_or(DnsError::NotFound {
                    name: name.into(),
                    record: "SRV",
                })
            })
        }
    }

    fn fake() -> FakeResolver {
        let v4 = |d| IpAddr::V4(Ipv4Addr::new(10, 0, 0, d));
        let mut fake = FakeResolver::default();
        fake.ips.insert("store-a.", vec![v4(2), v4(1)]);
        fake.ips
            .insert("store-b.", vec![IpAddr::V6(Ipv6Addr::LOCALHOST), v4(1)]);
        fake.ips.insert("flaky.", vec![v4(9)]);
        fake.srv.insert(
            "_grpc._tcp.stores",
            vec![
                SrvTarget {
                    target: "store-a.".into(),
                    port: 10901,
                },
                SrvTarget {
                    target: "store-b.".into(),
                    port: 10902,
                },
                SrvTarget {
                    target: "gone.".into(),
                    port: 10903,
                },
            ],
        );
        fake.srv.insert(
            "_grpc._tcp.flaky",
            vec![SrvTarget {
                target: "flaky.".into(),
                port: 1,
            }],
        );
        fake.failing = Some("flaky.");
        fake
    }

    async fn resolve(text: &str) -> Result<Vec<String>, DnsError> {
        resolve_spec(&fake(), &text.parse().expect("valid spec")).await
    }

    #[tokio::test]
    async fn dns_uses_the_spec_port_for_every_address() {
        assert_eq!(
            resolve("dns+store-a.:7").await.expect("resolves"),
            ["10.0.0.1:7", "10.0.0.2:7"]
        );
        assert_eq!(
            resolve("dnsdualstack+store-b.:7").await.expect("resolves"),
            ["10.0.0.1:7", "[::1]:7"]
        );
    }

    #[tokio::test]
    async fn srv_takes_ports_from_records_and_skips_targets_without_addresses() {
        assert_eq!(
            resolve("dnssrv+_grpc._tcp.stores").await.expect("resolves"),
            [
                "10.0.0.1:10901",
                "10.0.0.1:10902",
                "10.0.0.2:10901",
                "[::1]:10902"
            ]
        );
        assert_eq!(
            resolve("dnssrv+_grpc._tcp.stores:5")
                .await
                .expect("resolves"),
            ["10.0.0.1:5", "10.0.0.2:5", "[::1]:5"]
        );
    }

    #[tokio::test]
    async fn srv_no_a_strips_the_trailing_dot() {
        assert_eq!(
            resolve("dnssrvnoa+_grpc._tcp.stores")
                .await
                .expect("resolves"),
            ["gone:10903", "store-a:10901", "store-b:10902"]
        );
    }

    #[tokio::test]
    async fn missing_names_and_failed_targets_are_errors() {
        assert!(matches!(
            resolve("dns+nowhere.:1").await,
            Err(DnsError::NotFound { .. })
        ));
        assert!(matches!(
            resolve("dnssrv+_grpc._tcp.nowhere").await,
            Err(DnsError::NotFound { .. })
        ));
        assert!(matches!(
            resolve("dnssrv+_grpc._tcp.flaky").await,
            Err(DnsError::Lookup { .. })
        ));
    }

    #[tokio::test]
    async fn static_specs_need_no_lookup() {
        assert_eq!(resolve("nowhere:1").await.expect("static"), ["nowhere:1"]);
    }

    #[test]
    fn resolver_kinds_parse_from_thanos_names() {
        for kind in [ResolverKind::Golang, ResolverKind::MiekgDns] {
            assert_eq!(kind.as_str().parse::<ResolverKind>().expect("known"), kind);
        }
        assert!(matches!(
            "bind".parse::<ResolverKind>(),
            Err(DnsError::UnknownResolverKind(_))
        ));
    }
}
