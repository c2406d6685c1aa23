//! `chorus demo` end to end in-process: both replica StoreAPIs answer over real gRPC on
//! loopback with decodable XOR chunks that show the replicas' offset and gap, and the console
//! is served over HTTP.

use std::time::Duration;

use chorus::chunkenc::XorIter;
use chorus::cli::{DemoArgs, LogArgs, LogFormat, LogLevel};
use chorus::storeapi::client::{GrpcStore, GrpcStoreConfig};
use chorus::storeapi::{ComponentType, SeriesFrame, SeriesRequest, Store};
use futures::TryStreamExt;
use shared::labels::{Labels, Matcher};
use shared::series::{Sample, TimeRange};
use tokio_util::sync::CancellationToken;

fn args() -> DemoArgs {
    DemoArgs {
        http_address: "127.0.0.1:0".parse().expect("address"),
        grpc_address: "127.0.0.1:0".parse().expect("address"),
        log: LogArgs {
            level: LogLevel::Info,
            format: LogFormat::Logfmt,
        },
    }
}

/// Every sample of the series matching `matchers`, decoded, with the series' labels.
async fn fetch(store: &GrpcStore, request: SeriesRequest) -> Vec<(Labels, Vec<Sample>)> {
    let frames: Vec<SeriesFrame> = store
        .series(request)
        .await
        .expect("series call")
        .try_collect()
        .await
        .expect("stream");
    let mut out = Vec::new();
    for frame in frames {
        let SeriesFrame::Series(series) = frame else {
            panic!("unexpected warning {frame:?}")
        };
        let mut samples = Vec::new();
        for chunk in &series.chunks {
            let raw = chunk.raw.as_ref().expect("raw chunk");
            let decoded: Result<Vec<Sample>, _> =
                XorIter::new(&raw.data).expect("chunk header").collect();
            samples.extend(decoded.expect("chunk decodes"));
        }
        out.push((series.labels, samples));
    }
    out
}

#[tokio::test]
async fn demo_serves_two_replicas_and_the_console() {
    let shutdown = CancellationToken::new();
    let demo = chorus::demo::start(&args(), shutdown.clone())
        .await
        .expect("demo starts");
    assert_eq!(demo.store_addresses.len(), 2);
    let stores: Vec<GrpcStore> = demo
        .store_addresses
        .iter()
        .map(|(_, address)| {
            GrpcStore::new(address.to_string(), GrpcStoreConfig::default()).expect("client")
        })
        .collect();

    for ((name, _), store) in demo.store_addresses.iter().zip(&stores) {
        let info = store.info().await.expect("info");
        assert_eq!(info.component, ComponentType::Sidecar);
        assert_eq!(
            info.label_sets,
            vec![Labels::from_pairs([
                ("cluster", "demo"),
                ("prometheus_replica", name)
            ])]
        );
        let range = info.time_range.expect("serves series");
        assert!(
            range.max_ms() - range.min_ms() > 5 * 3600 * 1000,
            "about six hours of data"
        );
    }

    let up = vec![
        Matcher::equal("__name__", "up"),
        Matcher::equal("instance", "api-0:8080"),
    ];
    let mut request = SeriesRequest::new(TimeRange::ALL, up);
    request.without_replica_labels = vec!["prometheus_replica".into()];
    let a = fetch(&stores[0], request.clone()).await;
    let b = fetch(&stores[1], request).await;
    assert_eq!(a.len(), 1);
    assert_eq!(
        a[0].0, b[0].0,
        "identical labels once the replica label is stripped"
    );
    let (sa, sb) = (&a[0].1, &b[0].1);
    assert!(sa.iter().all(|s| s.v == 1.0));
    assert!(
        sa.len() > sb.len() + 70,
        "replica b misses twenty minutes: {} vs {}",
        sa.len(),
        sb.len()
    );
    let largest_gap = |s: &[Sample]| {
        s.windows(2)
            .map(|w| w[1].t_ms - w[0].t_ms)
            .max()
            .unwrap_or_default()
    };
    assert!(largest_gap(sa) < 16_000);
    assert!(largest_gap(sb) >= 20 * 60 * 1000);

    // A narrow range returns only the chunks that overlap it.
    let first = sa[0].t_ms;
    let narrow = TimeRange::new(first, first + 60_000).expect("ordered");
    let some = fetch(
        &stores[0],
        SeriesRequest::new(narrow, vec![Matcher::equal("__name__", "up")]),
    )
    .await;
    assert!(some.iter().all(|(_, s)| s.len() <= 120));

    let body = reqwest::get(format!("http://{}/graph", demo.http_address))
        .await
        .expect("console reachable")
        .text()
        .await
        .expect("body");
    assert!(
        body.contains("<html") || body.contains("<!DOCTYPE html>"),
        "{body}"
    );

    shutdown.cancel();
    tokio::time::timeout(Duration::from_secs(10), demo.wait())
        .await
        .expect("stops in time")
        .expect("stops cleanly");
}
