//! Tests of the endpoint set over in-memory stores and a map-backed connector: health checks,
//! metadata kept across failures, discovery changes, status output, timeouts and the run loop.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use std::time::Duration;

use chrono::DateTime;
use shared::labels::Labels;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use super::*;
use crate::query::memstore::{MemStore, sidecar_info};

/// A connector over a fixed address → store map; unknown addresses fail to connect.
fn connector(stores: &[(&str, &Arc<MemStore>)]) -> Arc<dyn Connector> {
    let stores: HashMap<String, Arc<MemStore>> = stores
        .iter()
        .map(|(address, store)| (address.to_string(), Arc::clone(store)))
        .collect();
    Arc::new(move |address: &str| match stores.get(address) {
        Some(store) => Ok(Arc::clone(store) as Arc<dyn Store>),
        None => Err(StoreError::Unavailable(format!("cannot dial {address}"))),
    })
}

fn addresses(list: &[&str]) -> BTreeSet<String> {
    list.iter().map(|a| a.to_string()).collect()
}

fn queryable_addresses(set: &EndpointSet) -> Vec<String> {
    set.queryable().into_iter().map(|s| s.address).collect()
}

fn all() -> Vec<String> {
    vec!["a:1".to_string(), "b:1".to_string()]
}

#[tokio::test]
async fn a_failing_endpoint_keeps_its_metadata_but_is_not_queried() {
    let a = Arc::new(MemStore::new(
        sidecar_info(&[("replica", "a")], 100, 200),
        vec![],
    ));
    let b = Arc::new(MemStore::new(
        sidecar_info(&[("replica", "b")], 100, 300),
        vec![],
    ));
    let set = EndpointSet::new(
        connector(&[("a:1", &a), ("b:1", &b)]),
        HealthCheckConfig::default(),
    );
    assert_eq!(set.set_addresses(&addresses(&["a:1", "b:1"])), all());
    assert!(
        queryable_addresses(&set).is_empty(),
        "nothing is queried before its first check"
    );

    set.check(&all()).await;
    assert_eq!(queryable_addresses(&set), all());

    a.set_info(Err(StoreError::Unavailable("connection refused".into())));
    set.check(&all()).await;
    assert_eq!(queryable_addresses(&set), ["b:1"]);
    let statuses = set.statuses();
    let sidecars = &statuses["sidecar"];
    assert_eq!(
        sidecars.len(),
        2,
        "a down endpoint stays listed: {statuses:?}"
    );
    let down = &sidecars[0];
    assert_eq!(down.name, "a:1");
    assert_eq!(
        down.last_error.as_deref(),
        Some("unavailable: connection refused")
    );
    assert_eq!(down.label_sets, [Labels::from_pairs([("replica", "a")])]);
    assert_eq!((down.min_time, down.max_time), (100, 200));
    assert!(down.last_successful_check.is_some());
    assert_eq!(sidecars[1].last_error, None);

    a.set_info(Ok(sidecar_info(&[("replica", "a")], 100, 250)));
    set.check(&all()).await;
    assert_eq!(queryable_addresses(&set), all());
    assert_eq!(
        set.statuses()["sidecar"][0].max_time,
        250,
        "a recovered endpoint's new announcement is used"
    );
}

#[tokio::test]
async fn endpoints_gone_from_discovery_are_dropped() {
    let a = Arc::new(MemStore::new(
        sidecar_info(&[("replica", "a")], 0, 10),
        vec![],
    ));
    let b = Arc::new(MemStore::new(
        sidecar_info(&[("replica", "b")], 0, 10),
        vec![],
    ));
    let set = EndpointSet::new(
        connector(&[("a:1", &a), ("b:1", &b)]),
        HealthCheckConfig::default(),
    );
    set.set_addresses(&addresses(&["a:1", "b:1"]));
    set.check(&all()).await;
    assert_eq!(
        set.set_addresses(&addresses(&["b:1"])),
        Vec::<String>::new()
    );
    assert_eq!(queryable_addresses(&set), ["b:1"]);
    let names: Vec<String> = set
        .statuses()
        .values()
        .flatten()
        .map(|s| s.name.clone())
        .collect();
    assert_eq!(names, ["b:1"]);
}

#[tokio::test]
async fn endpoints_that_never_answered_are_shown_as_unknown_with_their_error() {
    let a = Arc::new(MemStore::new(
        sidecar_info(&[("replica", "a")], 0, 10),
        vec![],
    ));
    a.set_info(Err(StoreError::Unimplemented(
        "unknown service thanos.info.Info".into(),
    )));
    let set = EndpointSet::new(connector(&[("a:1", &a)]), HealthCheckConfig::default());
    set.set_addresses(&addresses(&["a:1", "nowhere:1"]));
    set.check(&["a:1".to_string(), "nowhere:1".to_string()])
        .await;
    assert!(queryable_addresses(&set).is_empty());
    let statuses = set.statuses();
    let unknown = &statuses["unknown-store-api"];
    assert_eq!(unknown.len(), 2);
    assert_eq!(
        unknown[0].last_error.as_deref(),
        Some("unimplemented: unknown service thanos.info.Info")
    );
    assert_eq!(
        unknown[1].last_error.as_deref(),
        Some("unavailable: cannot dial nowhere:1")
    );
    assert_eq!(unknown[1].last_successful_check, None);
    assert_eq!(
        (unknown[1].min_time, unknown[1].max_time),
        (i64::MIN, i64::MAX)
    );
}

#[tokio::test]
async fn check_times_are_rfc3339_with_nanoseconds() {
    let a = Arc::new(MemStore::new(
        sidecar_info(&[("replica", "a")], 0, 10),
        vec![],
    ));
    let set = EndpointSet::new(connector(&[("a:1", &a)]), HealthCheckConfig::default());
    set.set_addresses(&addresses(&["a:1"]));
    set.check(&["a:1".to_string()]).await;
    let status = &set.statuses()["sidecar"][0];
    let parsed = DateTime::parse_from_rfc3339(&status.last_check).expect("RFC 3339");
    assert_eq!(parsed.offset().local_minus_utc(), 0);
    let fraction = status
        .last_check
        .rsplit('.')
        .next()
        .expect("has a fraction");
    assert_eq!(fraction.len(), "123456789Z".len(), "{}", status.last_check);
    assert_eq!(
        status.last_successful_check.as_deref(),
        Some(status.last_check.as_str())
    );
}

#[tokio::test(start_paused = true)]
async fn an_info_call_that_hangs_times_out() {
    let a = Arc::new(MemStore::new(
        sidecar_info(&[("replica", "a")], 0, 10),
        vec![],
    ));
    a.hang_info();
    let config = HealthCheckConfig {
        interval: Duration::from_secs(5),
        info_timeout: Duration::from_secs(3),
    };
    let set = EndpointSet::new(connector(&[("a:1", &a)]), config);
    set.set_addresses(&addresses(&["a:1"]));
    let started = tokio::time::Instant::now();
    set.check(&["a:1".to_string()]).await;
    assert_eq!(started.elapsed(), Duration::from_secs(3));
    let statuses = set.statuses();
    assert_eq!(
        statuses["unknown-store-api"][0].last_error.as_deref(),
        Some("deadline exceeded: no Info answer in 3s")
    );
}

#[tokio::test]
async fn duplicate_label_sets_of_one_component_type_are_reported() {
    let a = Arc::new(MemStore::new(
        sidecar_info(&[("replica", "a")], 0, 10),
        vec![],
    ));
    let b = Arc::new(MemStore::new(
        sidecar_info(&[("replica", "a")], 0, 10),
        vec![],
    ));
    let c = Arc::new(MemStore::new(
        sidecar_info(&[("replica", "c")], 0, 10),
        vec![],
    ));
    let mut gateway_info = sidecar_info(&[("replica", "a")], 0, 10);
    gateway_info.component = ComponentType::Store;
    let d = Arc::new(MemStore::new(gateway_info, vec![]));
    let set = EndpointSet::new(
        connector(&[("a:1", &a), ("b:1", &b), ("c:1", &c), ("d:1", &d)]),
        HealthCheckConfig::default(),
    );
    let everything = set.set_addresses(&addresses(&["a:1", "b:1", "c:1", "d:1"]));
    set.check(&everything).await;
    assert_eq!(
        set.warnings(),
        [r#"sidecar endpoints a:1, b:1 all announce the external labels {replica="a"}"#]
    );
    assert_eq!(
        queryable_addresses(&set).len(),
        4,
        "duplicates are still queried"
    );

    b.set_info(Err(StoreError::Unavailable("gone".into())));
    set.check(&everything).await;
    assert!(
        set.warnings().is_empty(),
        "a down endpoint no longer duplicates: {:?}",
        set.warnings()
    );
}

#[tokio::test(start_paused = true)]
async fn run_follows_discovery_and_checks_periodically() {
    let a = Arc::new(MemStore::new(
        sidecar_info(&[("replica", "a")], 0, 10),
        vec![],
    ));
    let b = Arc::new(MemStore::new(
        sidecar_info(&[("replica", "b")], 0, 10),
        vec![],
    ));
    let set = Arc::new(EndpointSet::new(
        connector(&[("a:1", &a), ("b:1", &b)]),
        HealthCheckConfig::default(),
    ));
    let (publish, discovered) = watch::channel(addresses(&["a:1"]));
    let shutdown = CancellationToken::new();
    let running = tokio::spawn({
        let (set, shutdown) = (Arc::clone(&set), shutdown.clone());
        async move { set.run(discovered, shutdown).await }
    });

    tokio::time::sleep(Duration::from_millis(10)).await;
    assert!(set.is_ready());
    assert_eq!(queryable_addresses(&set), ["a:1"]);

    publish.send_replace(addresses(&["a:1", "b:1"]));
    tokio::time::sleep(Duration::from_millis(10)).await;
    assert_eq!(
        queryable_addresses(&set),
        all(),
        "a new address is checked without waiting for the interval"
    );

    a.set_info(Err(StoreError::Unavailable("down".into())));
    tokio::time::sleep(Duration::from_secs(5)).await;
    assert_eq!(
        queryable_addresses(&set),
        ["b:1"],
        "the periodic check notices the failure"
    );

    publish.send_replace(addresses(&["b:1"]));
    tokio::time::sleep(Duration::from_millis(10)).await;
    assert_eq!(set.statuses().values().flatten().count(), 1);

    shutdown.cancel();
    tokio::time::timeout(Duration::from_secs(1), running)
        .await
        .expect("run stops on shutdown")
        .expect("no panic");
}
