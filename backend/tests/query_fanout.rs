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

fn start_querier(endpoints: &[SocketAddr], grpc_port: u16) -> Querier {
    let mut command = Command::new(env!("CARGO_BIN_EXE_chorus"));
    command
        .arg("query")
        .arg("--query.replica-label=prometheus_replica")
        .arg("--store.response-timeout=1s")
        .arg(format!("--grpc-address=127.0.0.1:{grpc_port}"))
        .arg("--http-address=127.0.0.1:0")
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
    let _querier = start_querier(&[a, b, stuck], grpc_port);
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
