//! The sidecar against a real Prometheus 2.42 with backfilled data: its Store in-process, and
//! the whole `chorus sidecar` over gRPC and HTTP.

mod common;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use chorus::sidecar::prometheus::PrometheusClient;
use chorus::sidecar::source::PrometheusStore;
use chorus::sidecar::state::{NO_EXTERNAL_LABELS, NotReady, PrometheusState};
use chorus::storeapi::client::{GrpcStore, GrpcStoreConfig};
use chorus::storeapi::{
    ChunkEncoding, ComponentType, LabelNamesRequest, LabelValuesRequest, PartialResponse, Series,
    SeriesFrame, SeriesRequest, Store, StoreError,
};
use common::{Backfill, PrometheusOptions, PrometheusServer};
use futures::StreamExt;
use shared::labels::{Labels, MatchOp, Matcher};
use shared::series::TimeRange;

const METRIC: &str = "test_metric";
const PREFIX_METRIC: &str = "prefix_metric";

fn backfill() -> Backfill {
    let prefixes = Backfill::gauges(PREFIX_METRIC, &[&[], &[("a", "1")], &[("zz", "1")]], 1, 60);
    Backfill::gauges(
        METRIC,
        &[
            &[("job", "a"), ("path", "x\"y")],
            &[("job", "b"), ("path", "x\"y")],
        ],
        3,
        15,
    )
    .with(prefixes)
}

async fn start_prometheus(
    external: &[(&str, &str)],
    backfill: Option<Backfill>,
) -> PrometheusServer {
    PrometheusServer::start(PrometheusOptions {
        external_labels: external
            .iter()
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect(),
        backfill,
        // Tiny frames, so that every series spans several frames and must be joined.
        extra_args: vec!["--storage.remote.read-max-bytes-in-frame=300".into()],
        address: None,
        scrape_self: None,
    })
    .await
}

async fn store_for(
    prometheus: &PrometheusServer,
) -> (PrometheusStore, Arc<PrometheusState>, PrometheusClient) {
    let client = PrometheusClient::new(&prometheus.url, Duration::from_secs(5), 1 << 20)
        .expect("valid Prometheus URL");
    let state = Arc::new(PrometheusState::new());
    state.refresh(&client).await.expect("Prometheus answers");
    (
        PrometheusStore::new(client.clone(), state.clone()),
        state,
        client,
    )
}

async fn series(
    store: &PrometheusStore,
    request: SeriesRequest,
) -> Result<Vec<Series>, StoreError> {
    let mut stream = store.series(request).await?;
    let mut out = Vec::new();
    while let Some(frame) = stream.next().await {
        match frame? {
            SeriesFrame::Series(s) => out.push(s),
            SeriesFrame::Warning(w) => panic!("unexpected warning {w}"),
        }
    }
    Ok(out)
}

fn name_matcher() -> Matcher {
    Matcher::equal("__name__", METRIC)
}

fn label_names_request(matchers: Vec<Matcher>) -> LabelNamesRequest {
    LabelNamesRequest {
        range: TimeRange::ALL,
        matchers,
        without_replica_labels: vec![],
        partial_response: PartialResponse::Warn,
        limit: None,
    }
}

fn label_values_request(label: &str, matchers: Vec<Matcher>) -> LabelValuesRequest {
    LabelValuesRequest {
        label: label.into(),
        range: TimeRange::ALL,
        matchers,
        without_replica_labels: vec![],
        partial_response: PartialResponse::Warn,
        limit: None,
    }
}

/// Samples in an XOR chunk: its first two bytes, big-endian.
fn xor_samples(data: &[u8]) -> usize {
    usize::from(u16::from_be_bytes([data[0], data[1]]))
}

#[tokio::test]
async fn serves_backfilled_series_with_external_labels() {
    let data = backfill();
    let prometheus = start_prometheus(&[("replica", "a")], Some(data.clone())).await;
    let (store, state, client) = store_for(&prometheus).await;
    assert_eq!(state.snapshot().readiness(), Ok(()));

    // Info: external labels and the oldest backfilled sample.
    let info = store.info().await.expect("info call succeeds");
    assert_eq!(info.component, ComponentType::Sidecar);
    assert_eq!(info.label_sets, [Labels::from_pairs([("replica", "a")])]);
    let range = info.time_range.expect("store serves series");
    assert_eq!(range.min_ms(), data.min_time_ms());
    assert_eq!(range.max_ms(), i64::MAX);
    assert!(info.supports_without_replica_labels);

    // Series: both, sorted, external label added, every sample present across joined frames.
    let got = series(
        &store,
        SeriesRequest::new(TimeRange::ALL, vec![name_matcher()]),
    )
    .await
    .expect("series call succeeds");
    let written: Vec<_> = data.series.iter().filter(|s| s.name == METRIC).collect();
    let expected: Vec<Labels> = written
        .iter()
        .map(|s| {
            let mut pairs = s.labels.clone();
            pairs.push(("__name__".into(), s.name.clone()));
            pairs.push(("replica".into(), "a".into()));
            Labels::from_pairs(pairs)
        })
        .collect();
    assert_eq!(
        got.iter().map(|s| s.labels.clone()).collect::<Vec<_>>(),
        expected
    );
    for (s, written) in got.iter().zip(&written) {
        assert!(
            s.chunks.len() > 1,
            "{} has {} chunks",
            s.labels,
            s.chunks.len()
        );
        let raw: Vec<_> = s
            .chunks
            .iter()
            .map(|c| c.raw.as_ref().expect("raw chunk present"))
            .collect();
        assert!(
            raw.iter()
                .all(|c| c.encoding == ChunkEncoding::Xor && !c.data.is_empty())
        );
        let samples: usize = raw.iter().map(|c| xor_samples(&c.data)).sum();
        assert_eq!(samples, written.samples.len(), "{}", s.labels);
        assert_eq!(
            s.chunks.first().expect("non-empty").min_time_ms,
            written.samples.first().expect("non-empty").0
        );
        assert_eq!(
            s.chunks.last().expect("non-empty").max_time_ms,
            written.samples.last().expect("non-empty").0
        );
        assert!(
            s.chunks
                .windows(2)
                .all(|w| w[0].max_time_ms < w[1].min_time_ms)
        );
    }

    // Prometheus really split the series over frames (so the joining above was exercised).
    let query = proto::prometheus::Query {
        start_timestamp_ms: 0,
        end_timestamp_ms: i64::MAX,
        matchers: vec![proto::prometheus::LabelMatcher {
            r#type: 0,
            name: "__name__".into(),
            value: METRIC.into(),
        }],
        hints: None,
    };
    let frames = client
        .remote_read(query)
        .await
        .expect("remote read starts")
        .count()
        .await;
    assert!(
        frames > data.series.len(),
        "{frames} frames for {} series",
        data.series.len()
    );

    // A time range inside the data returns the series too; one before it returns nothing.
    let last_hour = TimeRange::new(
        data.min_time_ms() + 3_600_000,
        data.min_time_ms() + 5_400_000,
    )
    .expect("ordered time range");
    assert_eq!(
        series(&store, SeriesRequest::new(last_hour, vec![name_matcher()]))
            .await
            .expect("series call succeeds")
            .len(),
        2
    );
    let before = TimeRange::new(0, data.min_time_ms() - 1).expect("ordered time range");
    assert!(
        series(&store, SeriesRequest::new(before, vec![name_matcher()]))
            .await
            .expect("series call succeeds")
            .is_empty()
    );

    // skip_chunks: same labels, no chunks.
    let mut request = SeriesRequest::new(TimeRange::ALL, vec![name_matcher()]);
    request.skip_chunks = true;
    let skipped = series(&store, request).await.expect("series call succeeds");
    assert_eq!(
        skipped.iter().map(|s| s.labels.clone()).collect::<Vec<_>>(),
        expected
    );
    assert!(skipped.iter().all(|s| s.chunks.is_empty()));

    // Matchers on the external label are decided by the sidecar.
    let replica_b = vec![name_matcher(), Matcher::equal("replica", "b")];
    assert!(
        series(&store, SeriesRequest::new(TimeRange::ALL, replica_b))
            .await
            .expect("series call succeeds")
            .is_empty()
    );
    let replica_a = vec![
        name_matcher(),
        Matcher::new(MatchOp::Regex, "replica", "a|c").expect("valid matcher"),
    ];
    assert_eq!(
        series(&store, SeriesRequest::new(TimeRange::ALL, replica_a))
            .await
            .expect("series call succeeds")
            .len(),
        2
    );
    let only_external = vec![Matcher::equal("replica", "a")];
    let err = series(&store, SeriesRequest::new(TimeRange::ALL, only_external))
        .await
        .expect_err("only external matchers are refused");
    assert!(matches!(err, StoreError::InvalidArgument(_)), "{err:?}");

    // Series whose labels are a prefix of the next one's change order once `replica` is added:
    // Prometheus sends {} < {a} < {zz}, the sidecar must send {a,replica} < {replica} < {replica,zz}.
    let prefix = vec![Matcher::equal("__name__", PREFIX_METRIC)];
    let got = series(&store, SeriesRequest::new(TimeRange::ALL, prefix))
        .await
        .expect("series call succeeds");
    let served: Vec<String> = got.iter().map(|s| s.labels.to_string()).collect();
    assert_eq!(
        served,
        [
            r#"{__name__="prefix_metric", a="1", replica="a"}"#,
            r#"{__name__="prefix_metric", replica="a"}"#,
            r#"{__name__="prefix_metric", replica="a", zz="1"}"#,
        ]
    );

    // Forwarded matchers, with a value that needs escaping.
    let job_a = vec![
        name_matcher(),
        Matcher::equal("job", "a"),
        Matcher::equal("path", "x\"y"),
    ];
    let got = series(&store, SeriesRequest::new(TimeRange::ALL, job_a))
        .await
        .expect("series call succeeds");
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].labels.get("job"), Some("a"));

    // without_replica_labels strips the external label.
    let mut request = SeriesRequest::new(TimeRange::ALL, vec![name_matcher()]);
    request.without_replica_labels = vec!["replica".into()];
    request.limit = Some(1);
    let stripped = series(&store, request).await.expect("series call succeeds");
    assert_eq!(stripped.len(), 1);
    assert!(!stripped[0].labels.contains("replica"));

    // Label names and values include the external label.
    let names = store
        .label_names(label_names_request(vec![]))
        .await
        .expect("label names call succeeds");
    assert_eq!(
        names.values,
        ["__name__", "a", "job", "path", "replica", "zz"]
    );
    let names = store
        .label_names(label_names_request(vec![name_matcher()]))
        .await
        .expect("label names call succeeds");
    assert_eq!(names.values, ["__name__", "job", "path", "replica"]);
    let names = store
        .label_names(label_names_request(vec![Matcher::equal("replica", "b")]))
        .await
        .expect("label names call succeeds");
    assert!(names.values.is_empty());
    let values = store
        .label_values(label_values_request("replica", vec![]))
        .await
        .expect("label values call succeeds");
    assert_eq!(values.values, ["a"]);
    let values = store
        .label_values(label_values_request(
            "replica",
            vec![Matcher::equal("replica", "z")],
        ))
        .await
        .expect("label values call succeeds");
    assert!(values.values.is_empty());
    let values = store
        .label_values(label_values_request(
            "replica",
            vec![Matcher::equal("job", "none")],
        ))
        .await
        .expect("label values call succeeds");
    assert!(values.values.is_empty(), "no series match job=none");
    let values = store
        .label_values(label_values_request("job", vec![]))
        .await
        .expect("label values call succeeds");
    assert_eq!(values.values, ["a", "b"]);
    let values = store
        .label_values(label_values_request(
            "job",
            vec![Matcher::equal("job", "b")],
        ))
        .await
        .expect("label values call succeeds");
    assert_eq!(values.values, ["b"]);
    let values = store
        .label_values(label_values_request(
            "path",
            vec![Matcher::equal("path", "x\"y")],
        ))
        .await
        .expect("label values call succeeds");
    assert_eq!(values.values, ["x\"y"]);
    let mut limited = label_values_request("job", vec![]);
    limited.limit = Some(1);
    assert_eq!(
        store
            .label_values(limited)
            .await
            .expect("label values call succeeds")
            .values,
        ["a"]
    );
}

#[tokio::test]
async fn stopped_prometheus_gives_a_clear_unavailable_error() {
    let mut prometheus = start_prometheus(&[("replica", "a")], Some(backfill())).await;
    let (store, state, client) = store_for(&prometheus).await;
    prometheus.stop();

    let err = series(
        &store,
        SeriesRequest::new(TimeRange::ALL, vec![name_matcher()]),
    )
    .await
    .expect_err("Prometheus is down");
    let StoreError::Unavailable(message) = &err else {
        panic!("expected Unavailable, got {err:?}")
    };
    assert!(
        message.contains(&format!("prometheus at {}", prometheus.url)),
        "{message}"
    );
    assert!(
        message.to_lowercase().contains("connection refused"),
        "{message}"
    );
    let err = store
        .label_names(label_names_request(vec![]))
        .await
        .expect_err("Prometheus is down");
    assert!(matches!(err, StoreError::Unavailable(_)), "{err:?}");

    // The refresh fails, so the sidecar reports not ready (but keeps the last labels).
    assert!(state.refresh(&client).await.is_err());
    assert!(matches!(
        state.snapshot().readiness(),
        Err(NotReady::Unreachable(_))
    ));
    assert!(store.info().await.is_ok());
}

#[tokio::test]
async fn prometheus_without_external_labels_is_refused() {
    let prometheus = start_prometheus(&[], None).await;
    let (store, state, _) = store_for(&prometheus).await;
    assert_eq!(
        state.snapshot().readiness(),
        Err(NotReady::NoExternalLabels)
    );
    let err = store.info().await.expect_err("no external labels");
    assert_eq!(err, StoreError::Unavailable(NO_EXTERNAL_LABELS.into()));
    let err = series(
        &store,
        SeriesRequest::new(TimeRange::ALL, vec![name_matcher()]),
    )
    .await
    .expect_err("no external labels");
    assert_eq!(err, StoreError::Unavailable(NO_EXTERNAL_LABELS.into()));
}

/// A whole `chorus sidecar` (HTTP probes, gRPC StoreAPI) running in-process.
struct RunningSidecar {
    http_url: String,
    grpc_address: String,
    shutdown: tokio_util::sync::CancellationToken,
    task: tokio::task::JoinHandle<Result<(), chorus::sidecar::SidecarError>>,
}

impl RunningSidecar {
    async fn start(prometheus_url: &str, [http, grpc]: [SocketAddr; 2]) -> Self {
        let cli = <chorus::cli::Cli as clap::Parser>::try_parse_from([
            "chorus".to_string(),
            "sidecar".into(),
            format!("--prometheus.url={prometheus_url}"),
            format!("--http-address={http}"),
            format!("--grpc-address={grpc}"),
            "--prometheus.refresh-interval=500ms".into(),
            "--tsdb.path=/prometheus".into(),
        ])
        .expect("sidecar flags parse");
        let chorus::cli::Command::Sidecar(args) = cli.command else {
            panic!("not the sidecar command")
        };
        let shutdown = tokio_util::sync::CancellationToken::new();
        let task = tokio::spawn(chorus::sidecar::run(args, shutdown.clone()));
        let sidecar = Self {
            http_url: format!("http://{http}"),
            grpc_address: grpc.to_string(),
            shutdown,
            task,
        };
        let (status, _) = sidecar.wait_for(|(status, _)| status != 0).await;
        assert_ne!(status, 0, "the sidecar's HTTP server did not come up");
        sidecar
    }

    /// `/-/ready`'s status and body (status 0 while the server does not answer).
    async fn ready(&self) -> (u16, String) {
        match reqwest::get(format!("{}/-/ready", self.http_url)).await {
            Ok(response) => (
                response.status().as_u16(),
                response.text().await.unwrap_or_default(),
            ),
            Err(_) => (0, String::new()),
        }
    }

    async fn wait_for(&self, done: impl Fn((u16, String)) -> bool) -> (u16, String) {
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        loop {
            let state = self.ready().await;
            if done(state.clone()) || std::time::Instant::now() > deadline {
                return state;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    async fn stop(self) {
        self.shutdown.cancel();
        let result = tokio::time::timeout(Duration::from_secs(10), self.task).await;
        let outcome = result
            .expect("sidecar stops in time")
            .expect("sidecar task does not panic");
        assert!(outcome.is_ok(), "{outcome:?}");
    }
}

async fn grpc_series(store: &GrpcStore, request: SeriesRequest) -> Result<Vec<Series>, StoreError> {
    let mut stream = store.series(request).await?;
    let mut out = Vec::new();
    while let Some(frame) = stream.next().await {
        if let SeriesFrame::Series(s) = frame? {
            out.push(s);
        }
    }
    Ok(out)
}

#[tokio::test]
async fn sidecar_serves_grpc_and_probes() {
    let data = backfill();
    let mut prometheus = start_prometheus(&[("replica", "a")], Some(data.clone())).await;
    let sidecar = RunningSidecar::start(&prometheus.url, common::free_addresses()).await;
    let (status, body) = sidecar.wait_for(|(status, _)| status == 200).await;
    assert_eq!(status, 200, "{body}");
    let healthy = reqwest::get(format!("{}/-/healthy", sidecar.http_url))
        .await
        .expect("HTTP answers");
    assert_eq!(
        healthy.text().await.expect("body"),
        "Chorus sidecar is Healthy.\n"
    );

    let store =
        GrpcStore::new(&sidecar.grpc_address, GrpcStoreConfig::default()).expect("valid address");
    let info = store.info().await.expect("info over gRPC");
    assert_eq!(info.component, ComponentType::Sidecar);
    assert_eq!(info.label_sets, [Labels::from_pairs([("replica", "a")])]);
    assert_eq!(
        info.time_range.map(|r| (r.min_ms(), r.max_ms())),
        Some((data.min_time_ms(), i64::MAX))
    );
    assert!(info.supports_without_replica_labels);

    let got = grpc_series(
        &store,
        SeriesRequest::new(TimeRange::ALL, vec![name_matcher()]),
    )
    .await
    .expect("series over gRPC");
    assert_eq!(got.len(), 2);
    assert!(
        got.iter()
            .all(|s| s.labels.get("replica") == Some("a") && !s.chunks.is_empty())
    );
    assert!(got[0].labels < got[1].labels);
    let none = vec![name_matcher(), Matcher::equal("replica", "b")];
    assert!(
        grpc_series(&store, SeriesRequest::new(TimeRange::ALL, none))
            .await
            .expect("empty result")
            .is_empty()
    );
    let err = grpc_series(
        &store,
        SeriesRequest::new(TimeRange::ALL, vec![Matcher::equal("replica", "a")]),
    )
    .await
    .expect_err("only external matchers are refused");
    assert!(matches!(err, StoreError::InvalidArgument(_)), "{err:?}");
    let values = store
        .label_values(label_values_request("replica", vec![]))
        .await
        .expect("label values over gRPC");
    assert_eq!(values.values, ["a"]);

    let metrics = reqwest::get(format!("{}/metrics", sidecar.http_url))
        .await
        .expect("HTTP answers");
    let metrics = metrics.text().await.expect("body");
    assert!(
        metrics.contains(
            r#"chorus_grpc_server_requests_total{grpc_method="/thanos.Store/Series",code="OK"} 2"#
        ),
        "{metrics}"
    );
    assert!(
        metrics.contains(r#"grpc_method="/thanos.Store/Series",code="InvalidArgument"} 1"#),
        "{metrics}"
    );
    assert!(
        metrics.contains(r#"chorus_http_requests_total{handler="/-/ready",code="200"}"#),
        "{metrics}"
    );

    // Prometheus goes away: Series fails with Unavailable naming it, and the sidecar turns unready.
    prometheus.stop();
    let err = grpc_series(
        &store,
        SeriesRequest::new(TimeRange::ALL, vec![name_matcher()]),
    )
    .await
    .expect_err("Prometheus is down");
    let StoreError::Unavailable(message) = &err else {
        panic!("expected Unavailable, got {err:?}")
    };
    assert!(
        message.contains(&format!("prometheus at {}", prometheus.url)),
        "{message}"
    );
    let (status, body) = sidecar.wait_for(|(status, _)| status == 503).await;
    assert_eq!(status, 503, "{body}");
    assert!(body.contains("prometheus at"), "{body}");
    sidecar.stop().await;
}

#[tokio::test]
async fn sidecar_without_external_labels_is_not_ready() {
    let prometheus = start_prometheus(&[], None).await;
    let sidecar = RunningSidecar::start(&prometheus.url, common::free_addresses()).await;
    let (status, body) = sidecar
        .wait_for(|(_, body)| body.contains("external labels"))
        .await;
    assert_eq!(status, 503);
    assert!(body.contains(NO_EXTERNAL_LABELS), "{body}");
    let store =
        GrpcStore::new(&sidecar.grpc_address, GrpcStoreConfig::default()).expect("valid address");
    let err = store.info().await.expect_err("no external labels");
    assert!(
        matches!(&err, StoreError::Unavailable(m) if m.contains(NO_EXTERNAL_LABELS)),
        "{err:?}"
    );
    sidecar.stop().await;
}

#[tokio::test]
async fn sidecar_waits_for_prometheus_to_come_up() {
    let [address, http, grpc] = common::free_addresses();
    let sidecar = RunningSidecar::start(&format!("http://{address}"), [http, grpc]).await;
    let unreachable = format!("prometheus at http://{address}");
    let (status, body) = sidecar
        .wait_for(|(_, body)| body.contains(&unreachable))
        .await;
    assert_eq!(status, 503);
    assert!(body.contains(&unreachable), "{body}");

    let _prometheus = PrometheusServer::start(PrometheusOptions {
        external_labels: vec![("replica".into(), "a".into())],
        address: Some(address),
        ..PrometheusOptions::default()
    })
    .await;
    let (status, body) = sidecar.wait_for(|(status, _)| status == 200).await;
    assert_eq!(status, 200, "{body}");
    sidecar.stop().await;
}
