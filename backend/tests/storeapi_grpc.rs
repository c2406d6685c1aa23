//! The StoreAPI over real gRPC on loopback: in-memory stores served by `storeapi::server`, called
//! through `storeapi::client::GrpcStore` (and, where the domain types cannot express a bad
//! request, through a raw tonic client).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use chorus::storeapi::client::{GrpcStore, GrpcStoreConfig};
use chorus::storeapi::server;
use chorus::storeapi::{
    AggrChunk, Chunk, ChunkEncoding, ComponentType, LabelNamesRequest, LabelValuesRequest,
    LabelsResponse, PartialResponse, Series, SeriesFrame, SeriesRequest, SeriesStream, Store,
    StoreError, StoreInfo,
};
use futures::future::BoxFuture;
use futures::{StreamExt, TryStreamExt};
use shared::labels::{Labels, MatchOp, Matcher, matches_all};
use shared::series::TimeRange;
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_stream::wrappers::{ReceiverStream, TcpListenerStream};
use tokio_util::sync::CancellationToken;

/// A store over a fixed, sorted list of series.
struct MemStore {
    info: StoreInfo,
    series: Vec<Series>,
}

impl MemStore {
    fn new(series: Vec<Series>) -> Self {
        let info = StoreInfo {
            component: ComponentType::Sidecar,
            label_sets: vec![Labels::from_pairs([("cluster", "eu")])],
            time_range: TimeRange::new(0, 1_000_000),
            supports_without_replica_labels: true,
            serves_metadata: true,
        };
        let mut series = series;
        series.sort_by(|a, b| a.labels.cmp(&b.labels));
        Self { info, series }
    }

    fn matching<'a>(&'a self, matchers: &'a [Matcher]) -> impl Iterator<Item = &'a Series> + 'a {
        self.series
            .iter()
            .filter(move |s| matches_all(matchers, &s.labels))
    }
}

fn sorted_unique(mut values: Vec<String>) -> LabelsResponse {
    values.sort();
    values.dedup();
    LabelsResponse {
        values,
        warnings: vec!["from memory".into()],
    }
}

impl Store for MemStore {
    fn info(&self) -> BoxFuture<'_, Result<StoreInfo, StoreError>> {
        Box::pin(async move { Ok(self.info.clone()) })
    }

    fn series(&self, request: SeriesRequest) -> BoxFuture<'_, Result<SeriesStream, StoreError>> {
        let skip_chunks = request.skip_chunks;
        let selected: Vec<Series> = self
            .matching(&request.matchers)
            .take(
                request
                    .limit
                    .map_or(usize::MAX, |n| usize::try_from(n).unwrap_or(usize::MAX)),
            )
            .map(|s| Series {
                labels: s.labels.clone(),
                chunks: if skip_chunks {
                    Vec::new()
                } else {
                    s.chunks.clone()
                },
            })
            .collect();
        let frames = std::iter::once(Ok(SeriesFrame::Warning("first frame".into())))
            .chain(selected.into_iter().map(|s| Ok(SeriesFrame::Series(s))));
        Box::pin(async move { Ok(Box::pin(futures::stream::iter(frames)) as SeriesStream) })
    }

    fn label_names(
        &self,
        request: LabelNamesRequest,
    ) -> BoxFuture<'_, Result<LabelsResponse, StoreError>> {
        let names = self
            .matching(&request.matchers)
            .flat_map(|s| s.labels.iter().map(|l| l.name.clone()))
            .collect();
        Box::pin(async move { Ok(sorted_unique(names)) })
    }

    fn label_values(
        &self,
        request: LabelValuesRequest,
    ) -> BoxFuture<'_, Result<LabelsResponse, StoreError>> {
        let values = self
            .matching(&request.matchers)
            .filter_map(|s| s.labels.get(&request.label).map(str::to_owned))
            .collect();
        Box::pin(async move { Ok(sorted_unique(values)) })
    }
}

/// A store whose every call fails with one error, and whose Series stream is fed by the test.
struct ScriptedStore {
    error: StoreError,
    frames: Mutex<Option<mpsc::Receiver<Result<SeriesFrame, StoreError>>>>,
    /// Info never answers.
    hang_info: bool,
}

impl ScriptedStore {
    fn failing(error: StoreError) -> Self {
        Self {
            error,
            frames: Mutex::new(None),
            hang_info: false,
        }
    }
}

impl Store for ScriptedStore {
    fn info(&self) -> BoxFuture<'_, Result<StoreInfo, StoreError>> {
        Box::pin(async move {
            if self.hang_info {
                futures::future::pending::<()>().await;
            }
            Err(self.error.clone())
        })
    }

    fn series(&self, _request: SeriesRequest) -> BoxFuture<'_, Result<SeriesStream, StoreError>> {
        let frames = self.frames.lock().expect("lock not poisoned").take();
        Box::pin(async move {
            match frames {
                Some(rx) => Ok(Box::pin(ReceiverStream::new(rx)) as SeriesStream),
                None => Err(self.error.clone()),
            }
        })
    }

    fn label_names(
        &self,
        _request: LabelNamesRequest,
    ) -> BoxFuture<'_, Result<LabelsResponse, StoreError>> {
        Box::pin(async move { Err(self.error.clone()) })
    }

    fn label_values(
        &self,
        _request: LabelValuesRequest,
    ) -> BoxFuture<'_, Result<LabelsResponse, StoreError>> {
        Box::pin(async move { Err(self.error.clone()) })
    }
}

/// A running server; cancels and joins it when asked.
struct Running {
    address: String,
    shutdown: CancellationToken,
    task: JoinHandle<Result<(), String>>,
}

impl Running {
    async fn start(store: Arc<dyn Store>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind loopback");
        let address = listener.local_addr().expect("bound address").to_string();
        let shutdown = CancellationToken::new();
        let serving = server::serve(listener, store, shutdown.clone());
        let task = tokio::spawn(async move { serving.await.map_err(|e| e.to_string()) });
        Self {
            address,
            shutdown,
            task,
        }
    }

    /// Serves only the legacy `thanos.Store` service, like a Thanos component older than v0.22.
    async fn start_legacy_only(store: Arc<dyn Store>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind loopback");
        let address = listener.local_addr().expect("bound address").to_string();
        let shutdown = CancellationToken::new();
        let (store_service, _info_service) = server::store_service(store);
        let token = shutdown.clone();
        let task = tokio::spawn(async move {
            tonic::transport::Server::builder()
                .add_service(store_service)
                .serve_with_incoming_shutdown(
                    TcpListenerStream::new(listener),
                    token.cancelled_owned(),
                )
                .await
                .map_err(|e| e.to_string())
        });
        Self {
            address,
            shutdown,
            task,
        }
    }

    fn client(&self) -> GrpcStore {
        GrpcStore::new(self.address.clone(), GrpcStoreConfig::default()).expect("valid address")
    }

    async fn stop(self) {
        self.shutdown.cancel();
        let result = tokio::time::timeout(Duration::from_secs(10), self.task).await;
        assert!(
            matches!(result, Ok(Ok(Ok(())))),
            "server did not stop cleanly: {result:?}"
        );
    }
}

fn xor_chunk(seed: u64) -> Chunk {
    Chunk {
        encoding: ChunkEncoding::Xor,
        data: Bytes::from(seed.to_be_bytes().to_vec()),
        hash: seed,
    }
}

fn numbered_series(n: usize) -> Vec<Series> {
    (0..n)
        .map(|i| Series {
            labels: Labels::from_pairs([
                ("__name__", "up".to_owned()),
                ("instance", format!("host-{i:05}")),
                (
                    "parity",
                    (if i % 2 == 0 { "even" } else { "odd" }).to_owned(),
                ),
            ]),
            chunks: vec![AggrChunk::raw(i as i64, i as i64 + 10, xor_chunk(i as u64))],
        })
        .collect()
}

fn request(matchers: Vec<Matcher>) -> SeriesRequest {
    SeriesRequest::new(TimeRange::new(0, 1000).expect("ordered"), matchers)
}

#[tokio::test]
async fn info_uses_the_info_service_and_falls_back_to_legacy() {
    let store = Arc::new(MemStore::new(Vec::new()));
    let expected = store.info.clone();

    let server = Running::start(store.clone()).await;
    let client = server.client();
    assert_eq!(client.address(), server.address);
    assert_eq!(
        client.info().await.expect("info"),
        expected,
        "the Info service carries every field"
    );
    server.stop().await;

    let legacy = Running::start_legacy_only(store).await;
    let info = legacy.client().info().await.expect("legacy info");
    assert_eq!(info.component, ComponentType::Sidecar);
    assert_eq!(
        (info.label_sets, info.time_range),
        (expected.label_sets, expected.time_range)
    );
    assert!(
        !info.serves_metadata,
        "the legacy response cannot announce metadata"
    );
    legacy.stop().await;
}

#[tokio::test]
async fn series_stream_through_grpc() {
    let all = numbered_series(5000);
    let server = Running::start(Arc::new(MemStore::new(all.clone()))).await;
    let client = server.client();

    let frames: Vec<SeriesFrame> = client
        .series(request(vec![Matcher::equal("__name__", "up")]))
        .await
        .expect("series call")
        .try_collect()
        .await
        .expect("no stream error");
    assert_eq!(frames[0], SeriesFrame::Warning("first frame".into()));
    let got: Vec<Series> = frames
        .into_iter()
        .skip(1)
        .map(|f| match f {
            SeriesFrame::Series(s) => s,
            SeriesFrame::Warning(w) => panic!("unexpected warning {w}"),
        })
        .collect();
    assert_eq!(got, all, "every series arrives whole, in order");

    let mut odd = request(vec![
        Matcher::new(MatchOp::Regex, "parity", "o.d").expect("valid regex"),
    ]);
    odd.skip_chunks = true;
    odd.limit = Some(10);
    let frames: Vec<SeriesFrame> = client
        .series(odd)
        .await
        .expect("series call")
        .try_collect()
        .await
        .expect("ok");
    let series: Vec<&Series> = frames
        .iter()
        .filter_map(|f| {
            if let SeriesFrame::Series(s) = f {
                Some(s)
            } else {
                None
            }
        })
        .collect();
    assert_eq!(series.len(), 10);
    assert!(
        series
            .iter()
            .all(|s| s.labels.get("parity") == Some("odd") && s.chunks.is_empty())
    );
    server.stop().await;
}

#[tokio::test]
async fn messages_beyond_the_default_four_megabytes_pass() {
    let big = Series {
        labels: Labels::from_pairs([("__name__", "big")]),
        chunks: vec![AggrChunk::raw(
            0,
            1,
            Chunk {
                encoding: ChunkEncoding::Xor,
                data: Bytes::from(vec![7u8; 6 << 20]),
                hash: 0,
            },
        )],
    };
    let server = Running::start(Arc::new(MemStore::new(vec![big.clone()]))).await;
    let frames: Vec<SeriesFrame> = server
        .client()
        .series(request(Vec::new()))
        .await
        .expect("call")
        .try_collect()
        .await
        .expect("no error");
    assert_eq!(frames.last(), Some(&SeriesFrame::Series(big)));
    server.stop().await;
}

#[tokio::test]
async fn label_names_and_values() {
    let server = Running::start(Arc::new(MemStore::new(numbered_series(20)))).await;
    let client = server.client();
    let range = TimeRange::new(0, 1000).expect("ordered");
    let names = client
        .label_names(LabelNamesRequest {
            range,
            matchers: Vec::new(),
            without_replica_labels: Vec::new(),
            partial_response: PartialResponse::Warn,
            limit: None,
        })
        .await
        .expect("label names");
    assert_eq!(names.values, vec!["__name__", "instance", "parity"]);
    assert_eq!(names.warnings, vec!["from memory"]);

    let values = client
        .label_values(LabelValuesRequest {
            label: "parity".into(),
            range,
            matchers: vec![
                Matcher::new(MatchOp::NotEqual, "instance", "host-00001").expect("not a regex"),
            ],
            without_replica_labels: Vec::new(),
            partial_response: PartialResponse::Abort,
            limit: None,
        })
        .await
        .expect("label values");
    assert_eq!(values.values, vec!["even", "odd"]);
    server.stop().await;
}

#[tokio::test]
async fn invalid_regex_is_rejected_as_invalid_argument() {
    use proto::thanos as pb;
    let server = Running::start(Arc::new(MemStore::new(numbered_series(3)))).await;
    let mut raw = pb::store_client::StoreClient::connect(format!("http://{}", server.address))
        .await
        .expect("connect");
    let status = raw
        .series(pb::SeriesRequest {
            max_time: 10,
            matchers: vec![pb::LabelMatcher {
                r#type: pb::label_matcher::Type::Re as i32,
                name: "job".into(),
                value: "(unclosed".into(),
            }],
            ..Default::default()
        })
        .await
        .expect_err("an invalid regex must be rejected");
    assert_eq!(status.code(), tonic::Code::InvalidArgument);
    assert!(
        status.message().contains("invalid regular expression"),
        "{}",
        status.message()
    );

    let inverted = raw
        .label_names(pb::LabelNamesRequest {
            start: 10,
            end: 1,
            ..Default::default()
        })
        .await
        .expect_err("an inverted range must be rejected");
    assert_eq!(inverted.code(), tonic::Code::InvalidArgument);
    server.stop().await;
}

#[tokio::test]
async fn store_errors_keep_their_kind_across_the_wire() {
    let cases = [
        StoreError::InvalidArgument("bad matcher".into()),
        StoreError::Unavailable("prometheus down".into()),
        StoreError::DeadlineExceeded("too slow".into()),
        StoreError::Aborted("partial response disabled".into()),
        StoreError::Cancelled("client left".into()),
        StoreError::Unimplemented("no exemplars".into()),
        StoreError::Internal("boom".into()),
    ];
    for error in cases {
        let store = ScriptedStore::failing(error.clone());
        let server = Running::start(Arc::new(store)).await;
        let client = server.client();
        let got = client.info().await.expect_err("scripted failure");
        assert_eq!(
            std::mem::discriminant(&got),
            std::mem::discriminant(&error),
            "{error:?} became {got:?}"
        );
        let message = error.to_string();
        let detail = message.rsplit(": ").next().expect("non-empty");
        assert!(got.to_string().contains(detail), "{got} lost {detail:?}");
        let got = client
            .series(request(Vec::new()))
            .await
            .err()
            .expect("scripted failure");
        assert_eq!(std::mem::discriminant(&got), std::mem::discriminant(&error));
        server.stop().await;
    }
}

#[tokio::test]
async fn series_stream_is_streamed_and_ends_with_the_store_error() {
    let (tx, rx) = mpsc::channel(1);
    let store = ScriptedStore {
        frames: Mutex::new(Some(rx)),
        ..ScriptedStore::failing(StoreError::Internal("unused".into()))
    };
    let server = Running::start(Arc::new(store)).await;
    let mut frames = server
        .client()
        .series(request(Vec::new()))
        .await
        .expect("series call");

    let first = numbered_series(1).remove(0);
    tx.send(Ok(SeriesFrame::Series(first.clone())))
        .await
        .expect("stream open");
    let got = tokio::time::timeout(Duration::from_secs(10), frames.next())
        .await
        .expect("first frame before the end");
    assert_eq!(
        got,
        Some(Ok(SeriesFrame::Series(first))),
        "frames are passed on as they come"
    );

    tx.send(Err(StoreError::Unavailable("remote read broke".into())))
        .await
        .expect("stream open");
    drop(tx);
    match frames.next().await {
        Some(Err(StoreError::Unavailable(message))) => {
            assert!(message.contains("remote read broke"), "{message}")
        }
        other => panic!("expected the store's error, got {other:?}"),
    }
    assert_eq!(frames.next().await, None, "the stream ends after an error");
    server.stop().await;
}

#[tokio::test]
async fn info_gives_up_after_the_info_timeout() {
    let store = ScriptedStore {
        hang_info: true,
        ..ScriptedStore::failing(StoreError::Internal("unused".into()))
    };
    let server = Running::start(Arc::new(store)).await;
    let config = GrpcStoreConfig {
        info_timeout: Duration::from_millis(200),
        ..GrpcStoreConfig::default()
    };
    let client = GrpcStore::new(server.address.clone(), config).expect("valid address");
    let started = std::time::Instant::now();
    match client.info().await {
        Err(StoreError::DeadlineExceeded(message)) => {
            assert!(message.contains(&server.address), "{message}")
        }
        other => panic!("expected DeadlineExceeded, got {other:?}"),
    }
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "took {:?}",
        started.elapsed()
    );
    server.stop().await;
}

#[tokio::test]
async fn a_closed_port_is_unavailable() {
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind loopback");
    let address = listener.local_addr().expect("bound address").to_string();
    drop(listener);

    let client =
        GrpcStore::new(address.clone(), GrpcStoreConfig::default()).expect("valid address");
    match client.info().await {
        Err(StoreError::Unavailable(message)) => {
            assert!(
                message.contains(&address) && message.contains("connect"),
                "{message}"
            )
        }
        other => panic!("expected Unavailable, got {other:?}"),
    }
    match client.series(request(Vec::new())).await {
        Err(StoreError::Unavailable(message)) => assert!(message.contains(&address), "{message}"),
        Err(other) => panic!("expected Unavailable, got {other:?}"),
        Ok(_) => panic!("expected Unavailable, got a stream"),
    }
}

#[tokio::test]
async fn addresses_must_be_host_and_port() {
    assert!(GrpcStore::new("localhost", GrpcStoreConfig::default()).is_err());
    assert!(GrpcStore::new("bad host:1", GrpcStoreConfig::default()).is_err());
    assert!(GrpcStore::new("localhost:10901/path", GrpcStoreConfig::default()).is_err());
    assert!(GrpcStore::new("[::1]:10901", GrpcStoreConfig::default()).is_ok());
}
