//! Tests of the discovery task, with a table-driven fake resolver: start-up resolution, refresh schedule, SD file changes and failure handling.

use std::net::IpAddr;
use std::sync::Mutex;

use futures::future::BoxFuture;

use super::*;
use crate::discovery::dns::{IpFamilies, SrvTarget};

/// Answers `dns+` lookups from a table that tests can change; missing names fail.
#[derive(Default)]
struct TableResolver {
    ips: Mutex<HashMap<String, Vec<IpAddr>>>,
}

impl TableResolver {
    fn set(&self, host: &str, ips: &[&str]) {
        let ips = ips.iter().map(|ip| ip.parse().expect("test IP")).collect();
        self.ips
            .lock()
            .expect("not poisoned")
            .insert(host.to_owned(), ips);
    }

    fn remove(&self, host: &str) {
        self.ips.lock().expect("not poisoned").remove(host);
    }
}

impl Resolver for TableResolver {
    fn lookup_ip<'a>(
        &'a self,
        host: &'a str,
        _: IpFamilies,
    ) -> BoxFuture<'a, Result<Vec<IpAddr>, DnsError>> {
        let found = self.ips.lock().expect("not poisoned").get(host).cloned();
        Box::pin(async move {
            found.ok_or(DnsError::NotFound {
                name: host.to_owned(),
                record: "A/AAAA",
            })
        })
    }

    fn lookup_srv<'a>(&'a self, name: &'a str) -> BoxFuture<'a, Result<Vec<SrvTarget>, DnsError>> {
        Box::pin(async move {
            Err(DnsError::NotFound {
                name: name.to_owned(),
                record: "SRV",
            })
        })
    }
}

fn specs(texts: &[&str]) -> Vec<EndpointSpec> {
    texts
        .iter()
        .map(|text| text.parse().expect("test spec"))
        .collect()
}

async fn next(rx: &mut watch::Receiver<Addresses>) -> Vec<String> {
    tokio::time::timeout(Duration::from_secs(10), rx.changed())
        .await
        .expect("an update within the timeout")
        .expect("task alive");
    rx.borrow_and_update().as_slice().to_vec()
}

#[tokio::test]
async fn refreshes_dns_and_keeps_results_of_failed_lookups() {
    let table = Arc::new(TableResolver::default());
    table.set("a", &["10.0.0.1"]);
    table.set("b", &["10.0.0.2"]);
    let config = DiscoveryConfig {
        static_specs: specs(&[
            "static:1",
            "dns+a:7",
            "dns+b:8",
            "dns+missing:9",
            "static:1",
        ]),
        dns_interval: Duration::from_millis(50),
        ..DiscoveryConfig::default()
    };
    let cancel = CancellationToken::new();
    let discovery =
        Discovery::spawn_with_resolver(config, table.clone(), cancel.clone()).expect("starts");
    let mut rx = discovery.subscribe();
    assert_eq!(rx.borrow_and_update().as_slice(), ["static:1"]);
    assert_eq!(
        next(&mut rx).await,
        ["10.0.0.1:7", "10.0.0.2:8", "static:1"]
    );

    table.set("a", &["10.0.0.3", "10.0.0.1"]);
    table.remove("b");
    assert_eq!(
        next(&mut rx).await,
        ["10.0.0.1:7", "10.0.0.2:8", "10.0.0.3:7", "static:1"]
    );

    cancel.cancel();
    tokio::time::timeout(Duration::from_secs(5), discovery.stopped())
        .await
        .expect("stops on cancel");
}

/// Rewrites `path` by renaming a complete file over it, as config tools do.
fn replace_file(path: &std::path::Path, content: &str) {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, content).expect("write");
    std::fs::rename(&tmp, path).expect("rename");
}

#[tokio::test]
async fn sd_files_are_reloaded_when_they_change() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("stores.yaml");
    std::fs::write(&file, "- targets: ['store-0:10901', 'dns+a:7']\n").expect("write");
    let table = Arc::new(TableResolver::default());
    table.set("a", &["10.0.0.1"]);
    let config = DiscoveryConfig {
        static_specs: specs(&["static:1"]),
        sd_files: vec![
            SdFilePattern::new(&format!("{}/*.yaml", dir.path().display())).expect("pattern"),
        ],
        // Long intervals: only change notifications can explain the updates below.
        sd_interval: Duration::from_secs(3600),
        dns_interval: Duration::from_secs(3600),
        ..DiscoveryConfig::default()
    };
    let cancel = CancellationToken::new();
    let discovery =
        Discovery::spawn_with_resolver(config, table.clone(), cancel.clone()).expect("starts");
    let mut rx = discovery.subscribe();
    assert_eq!(
        next(&mut rx).await,
        ["10.0.0.1:7", "static:1", "store-0:10901"]
    );

    // A changed file: a new static target and a new DNS spec, resolved right away.
    table.set("b", &["10.0.0.2"]);
    replace_file(
        &file,
        "- targets: ['store-1:10901', 'dns+a:7', 'dns+b:8']\n",
    );
    assert_eq!(
        next(&mut rx).await,
        ["10.0.0.1:7", "10.0.0.2:8", "static:1", "store-1:10901"]
    );

    // A broken file keeps its targets; a new file matching the glob adds its own.
    replace_file(&file, "- targets: ['xyz+broken:1']\n");
    std::fs::write(
        dir.path().join("more.yaml"),
        "- targets: ['store-2:10901']\n",
    )
    .expect("write");
    assert_eq!(
        next(&mut rx).await,
        [
            "10.0.0.1:7",
            "10.0.0.2:8",
            "static:1",
            "store-1:10901",
            "store-2:10901"
        ]
    );

    // A removed file takes its targets with it.
    std::fs::remove_file(&file).expect("remove");
    assert_eq!(next(&mut rx).await, ["static:1", "store-2:10901"]);

    cancel.cancel();
    discovery.stopped().await;
}

#[test]
fn zero_intervals_are_rejected() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .expect("runtime");
    let _guard = runtime.enter();
    let config = DiscoveryConfig {
        dns_interval: Duration::ZERO,
        ..DiscoveryConfig::default()
    };
    let result = Discovery::spawn_with_resolver(
        config,
        Arc::new(TableResolver::default()),
        CancellationToken::new(),
    );
    assert!(matches!(
        result,
        Err(DiscoveryError::ZeroInterval {
            flag: "--store.sd-dns-interval"
        })
    ));
}

#[test]
fn addresses_are_sorted_and_unique() {
    let addresses: Addresses = ["b:1", "a:2", "b:1"]
        .into_iter()
        .map(String::from)
        .collect();
    assert_eq!(addresses.as_slice(), ["a:2", "b:1"]);
}
