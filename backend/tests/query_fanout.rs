//! `chorus query` as a real process over real gRPC: three in-memory StoreAPI endpoints on
//! loopback (two replicas and one that never sends series), the querier started with
//! `--endpoint` flags, and the querier's own StoreAPI called through `GrpcStore`.

use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use chorus::storeapi::client::{GrpcStore, GrpcStoreConfig};
use chorus::storeapi::server;
use chorus::storeapi::{
    AggrChunk, Chunk, ChunkEncoding, ComponentType, LabelNamesRequest, LabelValuesRequest,
    LabelsResponse, PartialResponse, Series, SeriesFrame, SeriesRequest, SeriesStream, Store,
    StoreError, StoreInfo,
};
use futures::StreamExt;
use futures::future::BoxFuture;
use shared::labels::{Labels, Matcher, matches_all};
use shared::series::TimeRange;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

/// A sidecar-like store: series carry its external labels; it cannot strip replica labels, so
/// the querier must. `hang` makes Series never send a frame.
struct ReplicaStore {
    external: Labels,
    series: Vec<Series>,
    hang: bool,
}

impl ReplicaStore {
    fn new(external: &[(&str, &str)], hang: bool) -> Self {
        let external = Labels::from_pairs(external.iter().copied());
        let mut series: Vec<Series> = ["a", "b"]
            .into_iter()
            .map(|job| {
                let mut labels = Labels::from_pairs([("__name__", "up"), ("job", job)]);
                labels.merge_from(&external);
                let chunk = Chunk {
                    encoding: ChunkEncoding::Xor,
                    data: Bytes::from(job.as_bytes().to_vec()),
                    hash: 0,
                };
                Series {
                    labels,
                    chunks: vec![AggrChunk::raw(0, 1000, chunk)],
                }
            })
            .collect();
        series.sort_by(|a, b| a.labels.cmp(&b.labels));
        Self {
            external,
            series,
            hang,
        }
    }
}

impl Store for ReplicaStore {
    fn info(&self) -> BoxFuture<'_, Result<StoreInfo, StoreError>> {
        let info = StoreInfo {
            component: ComponentType::Sidecar,
            label_sets: vec![self.external.clone()],
            time_range: TimeRange::new(0, 1000),
            supports_without_replica_labels: false,
            serves_metadata: false,
        };
        Box::pin(async move { Ok(info) })
    }

    fn series(&self, request: SeriesRequest) -> BoxFuture<'_, Result<SeriesStream, StoreError>> {
        let frames: Vec<Result<SeriesFrame, StoreError>> = self
            .series
            .iter()
            .filter(|s| matches_all(&request.matchers, &s.labels))
            .map(|s| Ok(SeriesFrame::Series(s.clone())))
            .collect();
        let hang = self.hang;
        Box::pin(async move {
            let stream: SeriesStream = if hang {
                futures::stream::pending().boxed()
            } else {
                futures::stream::iter(frames).boxed()
            };
            Ok(stream)
        })
    }

    fn label_names(
        &self,
        _request: LabelNamesRequest,
    ) -> BoxFuture<'_, Result<LabelsResponse, StoreError>> {
        Box::pin(async move { Ok(LabelsResponse::default()) })
    }

    fn label_values(
        &self,
        _request: LabelValuesRequest,
    ) -> BoxFuture<'_, Result<LabelsResponse, StoreError>> {
        Box::pin(async move { Ok(LabelsResponse::default()) })
    }
}

async fn serve(store: ReplicaStore, shutdown: &CancellationToken) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind loopback");
    let address = listener.local_addr().expect("local address");
    tokio::spawn(server::serve(listener, Arc::new(store), shutdown.clone()));
    address
}

/// A port that was free a moment ago.
fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind loopback");
    listener.local_addr().expect("local address").port()
}

/// Kills the querier when the test ends, however it ends.
struct Querier(Child);

impl Drop for Querier {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start_querier(endpoints: &[SocketAddr], grpc_port: u16, http_port: u16) -> Querier {
    let mut command = Command::new(env!("CARGO_BIN_EXE_chorus"));
    command
        .arg("query")
        .arg("--query.replica-label=prometheus_replica")
        .arg("--store.response-timeout=1s")
        .arg(format!("--grpc-address=127.0.0.1:{grpc_port}"))
        .arg(format!("--http-address=127.0.0.1:{http_port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    for endpoint in endpoints {
        command.arg(format!("--endpoint={endpoint}"));
    }
    Querier(command.spawn().expect("start chorus query"))
}

/// Polls the querier's Info until it announces label sets (its endpoints were checked).
async fn wait_until_ready(querier: &GrpcStore) -> StoreInfo {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Ok(info) = querier.info().await
            && info.label_sets.len() == 2
        {
            return info;
        }
        assert!(
            Instant::now() < deadline,
            "the querier did not pick up its endpoints in time"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn request(policy: PartialResponse) -> SeriesRequest {
    let mut request = SeriesRequest::new(
        TimeRange::new(0, 1000).expect("valid range"),
        vec![Matcher::equal("__name__", "up")],
    );
    request.without_replica_labels = vec!["prometheus_replica".into()];
    request.partial_response = policy;
    request
}

#[tokio::test]
async fn the_querier_merges_replicas_and_cuts_off_a_silent_store() {
    let shutdown = CancellationToken::new();
    let a = serve(
        ReplicaStore::new(&[("cluster", "eu"), ("prometheus_replica", "a")], false),
        &shutdown,
    )
    .await;
    let b = serve(
        ReplicaStore::new(&[("cluster", "eu"), ("prometheus_replica", "b")], false),
        &shutdown,
    )
    .await;
    let stuck = serve(
        ReplicaStore::new(&[("cluster", "us"), ("prometheus_replica", "c")], true),
        &shutdown,
    )
    .await;
    let grpc_port = free_port();
    let _querier = start_querier(&[a, b, stuck], grpc_port, free_port());
    let client = GrpcStore::new(format!("127.0.0.1:{grpc_port}"), GrpcStoreConfig::default())
        .expect("valid address");

    let info = wait_until_ready(&client).await;
    assert_eq!(info.component, ComponentType::Query);
    assert_eq!(
        info.label_sets,
        [
            Labels::from_pairs([("cluster", "eu")]),
            Labels::from_pairs([("cluster", "us")])
        ]
    );
    assert_eq!(info.time_range, TimeRange::new(0, 1000));

    let started = Instant::now();
    let mut stream = client
        .series(request(PartialResponse::Warn))
        .await
        .expect("series opens");
    let (mut series, mut warnings) = (Vec::new(), Vec::new());
    while let Some(frame) = stream.next().await {
        match frame.expect("partial response keeps the answer") {
            SeriesFrame::Series(s) => series.push(s),
            SeriesFrame::Warning(w) => warnings.push(w),
        }
    }
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "took {:?}",
        started.elapsed()
    );
    let labels: Vec<String> = series.iter().map(|s| s.labels.to_string()).collect();
    assert_eq!(
        labels,
        [
            r#"{__name__="up", cluster="eu", job="a"}"#,
            r#"{__name__="up", cluster="eu", job="b"}"#
        ]
    );
    assert!(
        series.iter().all(|s| s.chunks.len() == 1),
        "identical replica chunks are sent once"
    );
    assert_eq!(
        warnings,
        [format!("failed to receive any data in 1s from {stuck}")]
    );

    let mut stream = client
        .series(request(PartialResponse::Abort))
        .await
        .expect("series opens");
    let mut failure = None;
    while let Some(frame) = stream.next().await {
        if let Err(error) = frame {
            failure = Some(error);
            break;
        }
    }
    let failure = failure.expect("partial response off fails the request");
    assert!(
        matches!(&failure, StoreError::Aborted(m) if m.contains(&stuck.to_string())),
        "the failure names the silent store: {failure:?}"
    );
    shutdown.cancel();
}

/// GETs `path` from the querier's HTTP API as JSON, retrying until `accept` likes the answer.
async fn get_until(
    http_port: u16,
    path: &str,
    accept: impl Fn(&serde_json::Value) -> bool,
) -> serde_json::Value {
    let url = format!("http://127.0.0.1:{http_port}{path}");
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Ok(response) = reqwest::get(&url).await
            && let Ok(bytes) = response.bytes().await
            && let Ok(body) = serde_json::from_slice::<serde_json::Value>(&bytes)
            && accept(&body)
        {
            return body;
        }
        assert!(
            Instant::now() < deadline,
            "no acceptable answer from {url} in time"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn the_http_api_shows_dead_endpoints_and_duplicate_label_sets() {
    let shutdown = CancellationToken::new();
    let a = serve(
        ReplicaStore::new(&[("cluster", "eu"), ("prometheus_replica", "a")], false),
        &shutdown,
    )
    .await;
    let twin = serve(
        ReplicaStore::new(&[("cluster", "eu"), ("prometheus_replica", "a")], false),
        &shutdown,
    )
    .await;
    let dead: SocketAddr = format!("127.0.0.1:{}", free_port())
        .parse()
        .expect("valid address");
    let http_port = free_port();
    let _querier = start_querier(&[a, twin, dead], free_port(), http_port);

    let stores = get_until(http_port, "/api/v1/stores", |body| {
        body["data"]["sidecar"]
            .as_array()
            .is_some_and(|s| s.len() == 2)
            && body["data"]["unknown-store-api"]
                .as_array()
                .is_some_and(|s| s.len() == 1)
    })
    .await;
    let down = &stores["data"]["unknown-store-api"][0];
    assert_eq!(down["name"], dead.to_string());
    assert!(
        down["lastError"].as_str().is_some_and(|e| !e.is_empty()),
        "{down}"
    );
    let sidecar = &stores["data"]["sidecar"][0];
    assert_eq!(sidecar["lastError"], serde_json::Value::Null);
    assert_eq!(sidecar["labelSets"][0]["prometheus_replica"], "a");
    let warnings = stores["warnings"]
        .as_array()
        .expect("duplicate label sets are reported");
    assert_eq!(warnings.len(), 1);
    let warning = warnings[0].as_str().expect("a string");
    assert!(
        warning.contains(&a.to_string()) && warning.contains(&twin.to_string()),
        "{warning}"
    );

    let series = get_until(http_port, "/api/v1/series?match[]=up", |body| {
        body["status"] == "success"
    })
    .await;
    let names: Vec<&str> = series["data"]
        .as_array()
        .expect("a list of series")
        .iter()
        .filter_map(|s| s["job"].as_str())
        .collect();
    assert_eq!(names, ["a", "b"], "the twins' series are merged: {series}");
    assert!(
        series["data"]
            .as_array()
            .into_iter()
            .flatten()
            .all(|s| s.get("prometheus_replica").is_none()),
        "deduplication removes the replica label: {series}"
    );
    shutdown.cancel();
}
