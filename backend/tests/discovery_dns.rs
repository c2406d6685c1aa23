//! Discovery against a real DNS server: dnsmasq (Debian package `dnsmasq-base`) on 127.0.0.1.
//!
//! Each test starts its own dnsmasq on a free port, serving `chorus.test` from a hosts file
//! (`--addn-hosts`, re-read on SIGHUP) and SRV records, and answering NXDOMAIN for other names
//! in the zone (`--local`). Nothing leaves the loopback interface.

use std::net::{SocketAddr, UdpSocket};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use chorus::discovery::{
    Addresses, Discovery, DiscoveryConfig, DnsError, EndpointSpec, HickoryResolver, Nameservers,
    ResolverConfig, ResolverKind, resolve_spec,
};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

const DNSMASQ: &str = "/usr/sbin/dnsmasq";

const HOSTS: &str = "\
10.1.0.1 store-a.chorus.test
10.1.0.2 store-b.chorus.test
fd00::2 store-b.chorus.test
10.1.0.9 doomed.chorus.test
";

const SRV: &[&str] = &[
    "_grpc._tcp.stores.chorus.test,store-a.chorus.test,10901",
    "_grpc._tcp.stores.chorus.test,store-b.chorus.test,10902",
];

/// A dnsmasq child process, killed on drop.
struct Dnsmasq {
    child: Child,
    addr: SocketAddr,
    hosts_file: PathBuf,
    _dir: tempfile::TempDir,
}

impl Dnsmasq {
    /// Starts dnsmasq on a free port, retrying if another process took the port first.
    async fn start() -> Self {
        for _ in 0..5 {
            if let Some(dnsmasq) = Self::start_on(free_port()).await {
                return dnsmasq;
            }
        }
        panic!("dnsmasq did not start; is dnsmasq-base installed at {DNSMASQ}?");
    }

    /// Starts dnsmasq on `port` and waits until it answers; `None` if it exited.
    async fn start_on(port: u16) -> Option<Self> {
        let dir = tempfile::tempdir().expect("tempdir");
        let hosts_file = dir.path().join("hosts");
        std::fs::write(&hosts_file, HOSTS).expect("write hosts file");
        let mut command = Command::new(DNSMASQ);
        command.args([
            "--no-daemon",
            "--no-resolv",
            "--no-hosts",
            "--conf-file=/dev/null",
            "--pid-file",
            "--listen-address=127.0.0.1",
            "--bind-interfaces",
            "--local=/chorus.test/",
            "--local-ttl=0",
            "--user=root",
        ]);
        command
            .arg(format!("--port={port}"))
            .arg(format!("--addn-hosts={}", hosts_file.display()));
        for srv in SRV {
            command.arg(format!("--srv-host={srv}"));
        }
        let child = command
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn();
        let child = child.unwrap_or_else(|err| {
            panic!("cannot run {DNSMASQ} (Debian package dnsmasq-base): {err}")
        });
        let mut dnsmasq = Self {
            child,
            addr: SocketAddr::from(([127, 0, 0, 1], port)),
            hosts_file,
            _dir: dir,
        };
        let resolver = dnsmasq.resolver(ResolverKind::MiekgDns);
        let probe: EndpointSpec = "dns+store-a.chorus.test:1".parse().expect("valid spec");
        for _ in 0..100 {
            if dnsmasq.child.try_wait().expect("child status").is_some() {
                return None;
            }
            if resolve_spec(&resolver, &probe).await.is_ok() {
                return Some(dnsmasq);
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("dnsmasq on port {port} never answered");
    }

    fn resolver_config(&self, kind: ResolverKind) -> ResolverConfig {
        ResolverConfig {
            kind,
            nameservers: Nameservers::Explicit(vec![self.addr]),
        }
    }

    fn resolver(&self, kind: ResolverKind) -> HickoryResolver {
        HickoryResolver::new(&self.resolver_config(kind)).expect("resolver")
    }

    /// Replaces the hosts file and makes dnsmasq re-read it.
    fn set_hosts(&self, hosts: &str) {
        std::fs::write(&self.hosts_file, hosts).expect("write hosts file");
        let status = Command::new("kill")
            .arg("-HUP")
            .arg(self.child.id().to_string())
            .status()
            .expect("run kill");
        assert!(status.success(), "SIGHUP to dnsmasq failed");
    }
}

impl Drop for Dnsmasq {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    let socket = UdpSocket::bind("127.0.0.1:0").expect("bind a UDP port");
    socket.local_addr().expect("local addr").port()
}

async fn resolve(resolver: &HickoryResolver, spec: &str) -> Result<Vec<String>, DnsError> {
    resolve_spec(resolver, &spec.parse().expect("valid spec")).await
}

async fn next_update(rx: &mut watch::Receiver<Addresses>) -> Vec<String> {
    tokio::time::timeout(Duration::from_secs(30), rx.changed())
        .await
        .expect("an update within 30s")
        .expect("discovery task alive");
    rx.borrow_and_update().as_slice().to_vec()
}

fn specs(texts: &[&str]) -> Vec<EndpointSpec> {
    texts
        .iter()
        .map(|text| text.parse().expect("valid spec"))
        .collect()
}

#[tokio::test]
async fn every_lookup_form_against_dnsmasq() {
    let dnsmasq = Dnsmasq::start().await;
    let miekg = dnsmasq.resolver(ResolverKind::MiekgDns);
    let golang = dnsmasq.resolver(ResolverKind::Golang);

    assert_eq!(
        resolve(&miekg, "dns+store-a.chorus.test:10901")
            .await
            .expect("A"),
        ["10.1.0.1:10901"]
    );
    // miekgdns asks for AAAA first and takes A only when there is none; golang takes both.
    assert_eq!(
        resolve(&miekg, "dns+store-b.chorus.test:7")
            .await
            .expect("AAAA"),
        ["[fd00::2]:7"]
    );
    assert_eq!(
        resolve(&golang, "dns+store-b.chorus.test:7")
            .await
            .expect("both"),
        ["10.1.0.2:7", "[fd00::2]:7"]
    );
    assert_eq!(
        resolve(&miekg, "dnsdualstack+store-b.chorus.test:7")
            .await
            .expect("dual stack"),
        ["10.1.0.2:7", "[fd00::2]:7"]
    );

    assert_eq!(
        resolve(&golang, "dnssrv+_grpc._tcp.stores.chorus.test")
            .await
            .expect("SRV"),
        ["10.1.0.1:10901", "10.1.0.2:10902", "[fd00::2]:10902"]
    );
    assert_eq!(
        resolve(&miekg, "dnssrv+_grpc._tcp.stores.chorus.test:19000")
            .await
            .expect("SRV, port given"),
        ["10.1.0.1:19000", "[fd00::2]:19000"]
    );
    assert_eq!(
        resolve(&miekg, "dnssrvnoa+_grpc._tcp.stores.chorus.test")
            .await
            .expect("SRV, no A"),
        ["store-a.chorus.test:10901", "store-b.chorus.test:10902"]
    );

    for missing in [
        "dns+nope.chorus.test:1",
        "dnssrv+_grpc._tcp.nope.chorus.test",
        "dnssrvnoa+_x._tcp.nope.chorus.test",
    ] {
        let err = resolve(&miekg, missing).await.expect_err(missing);
        assert!(matches!(err, DnsError::NotFound { .. }), "{missing}: {err}");
    }
}

#[tokio::test]
async fn discovery_follows_record_changes_and_keeps_vanished_names() {
    let dnsmasq = Dnsmasq::start().await;
    let config = DiscoveryConfig {
        static_specs: specs(&[
            "static.chorus.test:1",
            "dns+store-a.chorus.test:10901",
            "dns+doomed.chorus.test:10901",
            "dnssrv+_grpc._tcp.stores.chorus.test",
        ]),
        dns_interval: Duration::from_millis(200),
        resolver: dnsmasq.resolver_config(ResolverKind::MiekgDns),
        ..DiscoveryConfig::default()
    };
    let cancel = CancellationToken::new();
    let discovery = Discovery::spawn(config, cancel.clone()).expect("discovery starts");
    let mut rx = discovery.subscribe();
    assert_eq!(rx.borrow_and_update().as_slice(), ["static.chorus.test:1"]);
    assert_eq!(
        next_update(&mut rx).await,
        [
            "10.1.0.1:10901",
            "10.1.0.9:10901",
            "[fd00::2]:10902",
            "static.chorus.test:1"
        ]
    );

    // store-a moves, doomed disappears (NXDOMAIN: an error, so its old address stays).
    dnsmasq.set_hosts(
        &HOSTS
            .replace("10.1.0.1 store-a", "10.1.0.11 store-a")
            .replace("10.1.0.9 doomed", ""),
    );
    assert_eq!(
        next_update(&mut rx).await,
        [
            "10.1.0.11:10901",
            "10.1.0.9:10901",
            "[fd00::2]:10902",
            "static.chorus.test:1"
        ]
    );
    let resolver = dnsmasq.resolver(ResolverKind::MiekgDns);
    assert!(matches!(
        resolve(&resolver, "dns+doomed.chorus.test:10901").await,
        Err(DnsError::NotFound { .. })
    ));

    cancel.cancel();
    tokio::time::timeout(Duration::from_secs(5), discovery.stopped())
        .await
        .expect("stops on cancel");
}

/// A loopback port held on both UDP and TCP (as dnsmasq will use it) until dropped, so that
/// no other test takes it meanwhile; queries sent to it go unanswered.
fn reserve_port() -> (u16, UdpSocket, std::net::TcpListener) {
    for _ in 0..100 {
        let udp = UdpSocket::bind("127.0.0.1:0").expect("bind a UDP port");
        let port = udp.local_addr().expect("local addr").port();
        if let Ok(tcp) = std::net::TcpListener::bind(("127.0.0.1", port)) {
            return (port, udp, tcp);
        }
    }
    panic!("no loopback port free on both UDP and TCP");
}

#[tokio::test]
async fn discovery_retries_until_the_dns_server_answers() {
    let (port, udp, tcp) = reserve_port();
    let config = DiscoveryConfig {
        static_specs: specs(&["dnssrv+_grpc._tcp.stores.chorus.test"]),
        dns_interval: Duration::from_millis(200),
        resolver: ResolverConfig {
            kind: ResolverKind::MiekgDns,
            nameservers: Nameservers::Explicit(vec![SocketAddr::from(([127, 0, 0, 1], port))]),
        },
        ..DiscoveryConfig::default()
    };
    let cancel = CancellationToken::new();
    let discovery = Discovery::spawn(config, cancel.clone()).expect("discovery starts");
    let mut rx = discovery.subscribe();

    // Nobody answers yet: nothing is discovered, and the task keeps running.
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert!(rx.borrow_and_update().is_empty());

    drop((udp, tcp));
    let _dnsmasq = match Dnsmasq::start_on(port).await {
        Some(dnsmasq) => dnsmasq,
        None => panic!("port {port} was taken before dnsmasq could use it"),
    };
    assert_eq!(
        next_update(&mut rx).await,
        ["10.1.0.1:10901", "[fd00::2]:10902"]
    );

    cancel.cancel();
    tokio::time::timeout(Duration::from_secs(5), discovery.stopped())
        .await
        .expect("stops on cancel");
}
