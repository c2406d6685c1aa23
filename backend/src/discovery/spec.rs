//! Endpoint specs: the text of one `--endpoint`/`--store` flag or one file-SD target, parsed.
//!
//! The text before the first `+` names the DNS query type, as in Thanos
//! (`pkg/discovery/dns/provider.go` `GetQTypeName`, THANOS.md §4 "Address forms"). Host names
//! never contain `+`, so any `+` means a prefix, and an unknown prefix is an error rather than a
//! strange host name. This module only parses; it knows nothing of DNS or gRPC.

use std::fmt;
use std::net::Ipv6Addr;
use std::str::FromStr;

/// One way of naming StoreAPI endpoints, as given on the command line or in an SD file.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum EndpointSpec {
    /// `host:port`, used as it is.
    Static(HostPort),
    /// `dns+host:port`: the host's addresses (resolver-dependent A/AAAA order), each with `port`.
    Dns(HostPort),
    /// `dnsdualstack+host:port`: both AAAA and A addresses of the host, each with `port`.
    DnsDualStack(HostPort),
    /// `dnssrv+name[:port]`: SRV lookup, then A/AAAA for each target.
    DnsSrv(SrvName),
    /// `dnssrvnoa+name[:port]`: SRV lookup only; each target host name (trailing dot removed)
    /// is used as it is.
    DnsSrvNoA(SrvName),
}

impl EndpointSpec {
    /// Whether this spec needs a DNS lookup to yield addresses.
    pub fn is_dynamic(&self) -> bool {
        !matches!(self, Self::Static(_))
    }
}

/// A host (name, IPv4 or IPv6 address) and a port; displays as `host:port`, with brackets
/// around an IPv6 address.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct HostPort {
    host: String,
    port: u16,
}

impl HostPort {
    /// Joins a host and a port. `host` is an unbracketed name or IP address; the caller
    /// vouches for it (it comes from DNS or from a parsed spec).
    pub fn new(host: impl Into<String>, port: u16) -> Self {
        Self {
            host: host.into(),
            port,
        }
    }

    /// The host, without brackets.
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The port.
    pub fn port(&self) -> u16 {
        self.port
    }
}

impl fmt::Display for HostPort {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.host.contains(':') {
            write!(f, "[{}]:{}", self.host, self.port)
        } else {
            write!(f, "{}:{}", self.host, self.port)
        }
    }
}

/// The name of an SRV record set, with an optional port that overrides the ports in the
/// records (Thanos `pkg/discovery/dns/resolver.go`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SrvName {
    name: String,
    port: Option<u16>,
}

impl SrvName {
    /// The record name, e.g. `_grpc._tcp.thanos-store.monitoring.svc`.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The port given in the spec, if any.
    pub fn port(&self) -> Option<u16> {
        self.port
    }
}

impl fmt::Display for SrvName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.port {
            Some(port) => write!(f, "{}:{port}", self.name),
            None => f.write_str(&self.name),
        }
    }
}

impl fmt::Display for EndpointSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Static(addr) => write!(f, "{addr}"),
            Self::Dns(addr) => write!(f, "dns+{addr}"),
            Self::DnsDualStack(addr) => write!(f, "dnsdualstack+{addr}"),
            Self::DnsSrv(name) => write!(f, "dnssrv+{name}"),
            Self::DnsSrvNoA(name) => write!(f, "dnssrvnoa+{name}"),
        }
    }
}

/// The lookup types, for error messages.
const KNOWN_PREFIXES: &str = "expected dns, dnssrv, dnssrvnoa or dnsdualstack";

/// Why an endpoint spec was rejected; every variant carries the offending text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SpecError {
    /// Nothing was given.
    #[error("empty endpoint address")]
    Empty,
    /// The text before `+` is not a known lookup type.
    #[error(
        "endpoint {spec:?}: unknown lookup type {prefix:?} ({})",
        KNOWN_PREFIXES
    )]
    UnknownPrefix {
        /// The whole spec.
        spec: String,
        /// The text before the first `+`.
        prefix: String,
    },
    /// A form that needs a port has none.
    #[error("endpoint {spec:?}: missing port (expected host:port)")]
    MissingPort {
        /// The whole spec.
        spec: String,
    },
    /// The port is not a number in 1..=65535.
    #[error("endpoint {spec:?}: invalid port {port:?}")]
    InvalidPort {
        /// The whole spec.
        spec: String,
        /// The text after the last `:`.
        port: String,
    },
    /// The host is empty or has characters no host name or IP address has.
    #[error("endpoint {spec:?}: invalid host {host:?}")]
    InvalidHost {
        /// The whole spec.
        spec: String,
        /// The host part.
        host: String,
    },
}

impl FromStr for EndpointSpec {
    type Err = SpecError;

    fn from_str(spec: &str) -> Result<Self, SpecError> {
        if spec.is_empty() {
            return Err(SpecError::Empty);
        }
        let Some((prefix, rest)) = spec.split_once('+') else {
            return parse_host_port(spec, spec).map(Self::Static);
        };
        match prefix {
            "dns" => parse_host_port(spec, rest).map(Self::Dns),
            "dnsdualstack" => parse_host_port(spec, rest).map(Self::DnsDualStack),
            "dnssrv" => parse_srv_name(spec, rest).map(Self::DnsSrv),
            "dnssrvnoa" => parse_srv_name(spec, rest).map(Self::DnsSrvNoA),
            _ => Err(SpecError::UnknownPrefix {
                spec: spec.to_owned(),
                prefix: prefix.to_owned(),
            }),
        }
    }
}

/// Splits `text` into host and optional port text. `[v6]` and `[v6]:port` keep the brackets
/// out of the host; an unbracketed text with one `:` is `host:port`.
fn split_host_port<'a>(spec: &str, text: &'a str) -> Result<(&'a str, Option<&'a str>), SpecError> {
    let invalid_host = || SpecError::InvalidHost {
        spec: spec.to_owned(),
        host: text.to_owned(),
    };
    if let Some(bracketed) = text.strip_prefix('[') {
        let (host, after) = bracketed.split_once(']').ok_or_else(invalid_host)?;
        if host.parse::<Ipv6Addr>().is_err() {
            return Err(invalid_host());
        }
        return match after {
            "" => Ok((host, None)),
            _ => after
                .strip_prefix(':')
                .map(|port| (host, Some(port)))
                .ok_or_else(invalid_host),
        };
    }
    match text.split_once(':') {
        None => Ok((text, None)),
        // More than one colon without brackets: an IPv6 address that cannot carry a port.
        Some((_, port)) if port.contains(':') => Err(invalid_host()),
        Some((host, port)) => Ok((host, Some(port))),
    }
}

fn parse_port(spec: &str, port: &str) -> Result<u16, SpecError> {
    match port.parse::<u16>() {
        Ok(n) if n != 0 && port.bytes().all(|b| b.is_ascii_digit()) => Ok(n),
        _ => Err(SpecError::InvalidPort {
            spec: spec.to_owned(),
            port: port.to_owned(),
        }),
    }
}

/// Host names and IPv4 addresses: letters, digits, `-`, `.` and `_` (SRV labels).
fn check_host(spec: &str, host: &str) -> Result<(), SpecError> {
    let valid = !host.is_empty()
        && (host.contains(':')
            || host
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_')));
    if valid {
        Ok(())
    } else {
        Err(SpecError::InvalidHost {
            spec: spec.to_owned(),
            host: host.to_owned(),
        })
    }
}

fn parse_host_port(spec: &str, text: &str) -> Result<HostPort, SpecError> {
    let (host, port) = split_host_port(spec, text)?;
    check_host(spec, host)?;
    let port = port.ok_or_else(|| SpecError::MissingPort {
        spec: spec.to_owned(),
    })?;
    Ok(HostPort::new(host, parse_port(spec, port)?))
}

fn parse_srv_name(spec: &str, text: &str) -> Result<SrvName, SpecError> {
    let (name, port) = split_host_port(spec, text)?;
    check_host(spec, name)?;
    let port = port.map(|port| parse_port(spec, port)).transpose()?;
    Ok(SrvName {
        name: name.to_owned(),
        port,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<EndpointSpec, SpecError> {
        text.parse()
    }

    #[test]
    fn static_addresses() {
        assert_eq!(
            parse("store-0:10901"),
            Ok(EndpointSpec::Static(HostPort::new("store-0", 10901)))
        );
        assert_eq!(
            parse("10.1.2.3:19090"),
            Ok(EndpointSpec::Static(HostPort::new("10.1.2.3", 19090)))
        );
        assert_eq!(
            parse("[::1]:10901"),
            Ok(EndpointSpec::Static(HostPort::new("::1", 10901)))
        );
    }

    #[test]
    fn dns_forms() {
        assert_eq!(
            parse("dns+thanos-store.svc:10901"),
            Ok(EndpointSpec::Dns(HostPort::new("thanos-store.svc", 10901)))
        );
        assert_eq!(
            parse("dnsdualstack+store:1"),
            Ok(EndpointSpec::DnsDualStack(HostPort::new("store", 1)))
        );
        let srv = parse("dnssrv+_grpc._tcp.store.svc").expect("valid");
        let EndpointSpec::DnsSrv(name) = &srv else {
            panic!("not SRV: {srv:?}")
        };
        assert_eq!((name.name(), name.port()), ("_grpc._tcp.store.svc", None));
        let noa = parse("dnssrvnoa+_grpc._tcp.store.svc:9000").expect("valid");
        let EndpointSpec::DnsSrvNoA(name) = &noa else {
            panic!("not SRV-no-A: {noa:?}")
        };
        assert_eq!(
            (name.name(), name.port()),
            ("_grpc._tcp.store.svc", Some(9000))
        );
    }

    #[test]
    fn display_round_trips() {
        for text in [
            "store:10901",
            "[2001:db8::1]:10901",
            "dns+store:1",
            "dnsdualstack+[::1]:2",
            "dnssrv+_grpc._tcp.a.b",
            "dnssrvnoa+_grpc._tcp.a.b:3",
        ] {
            assert_eq!(parse(text).expect(text).to_string(), text);
        }
    }

    #[test]
    fn missing_port_is_an_error() {
        assert_eq!(
            parse("store"),
            Err(SpecError::MissingPort {
                spec: "store".into()
            })
        );
        assert_eq!(
            parse("dns+store"),
            Err(SpecError::MissingPort {
                spec: "dns+store".into()
            })
        );
        assert!(matches!(
            parse("dnsdualstack+[::1]"),
            Err(SpecError::MissingPort { .. })
        ));
    }

    #[test]
    fn unknown_prefix_names_it() {
        let err = parse("xyz+store:1").expect_err("unknown prefix");
        assert_eq!(
            err,
            SpecError::UnknownPrefix {
                spec: "xyz+store:1".into(),
                prefix: "xyz".into()
            }
        );
        assert!(err.to_string().contains("\"xyz\""), "{err}");
    }

    #[test]
    fn bad_ports_and_hosts() {
        for text in [
            "store:0",
            "store:65536",
            "store:http",
            "store:1 ",
            "dnssrv+a:-1",
            "a:",
        ] {
            assert!(
                matches!(parse(text), Err(SpecError::InvalidPort { .. })),
                "{text}"
            );
        }
        for text in [
            ":1",
            "dns+:1",
            "st ore:1",
            "::1:10901",
            "[nothex]:1",
            "[::1]x",
            "a/b:1",
        ] {
            assert!(
                matches!(parse(text), Err(SpecError::InvalidHost { .. })),
                "{text}"
            );
        }
        assert_eq!(parse(""), Err(SpecError::Empty));
    }

    #[test]
    fn only_lookups_are_dynamic() {
        assert!(!parse("a:1").expect("valid").is_dynamic());
        assert!(parse("dns+a:1").expect("valid").is_dynamic());
    }
}
