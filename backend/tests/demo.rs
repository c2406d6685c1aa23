//! `chorus demo` end to end. In-process: both replica StoreAPIs answer over real gRPC on
//! loopback with decodable XOR chunks that show the replicas' offset and gap. As a process:
//! the querier it runs deduplicates the two replicas through the HTTP API and its own StoreAPI
//! (the replica gap disappears), and serves the console.

use std::net::{SocketAddr, TcpListener};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use chorus::chunkenc::XorIter;
use chorus::cli::{DemoArgs, LogArgs, LogFormat, LogLevel};
use chorus::storeapi::client::{GrpcStore, GrpcStoreConfig};
use chorus::storeapi::{ComponentType, SeriesFrame, SeriesRequest, Store};
use futures::TryStreamExt;
use serde_json::Value;
use shared::labels::{Labels, Matcher};
use shared::series::{Sample, TimeRange};
use tokio_util::sync::CancellationToken;

/// A loopback address with a port that was free a moment ago.
fn free_address() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    listener.local_addr().expect("local address")
}

/// The series of a Series call with their decoded samples, chunk by chunk in order.
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

fn largest_gap_ms(samples: &[Sample]) -> i64 {
    samples
        .windows(2)
        .map(|w| w[1].t_ms - w[0].t_ms)
        .max()
        .unwrap_or_default()
}

fn up_api0() -> Vec<Matcher> {
    vec![
        Matcher::equal("__name__", "up"),
        Matcher::equal("instance", "api-0:8080"),
    ]
}

#[tokio::test]
async fn replica_stores_serve_offset_replicas_with_a_gap() {
    let args = DemoArgs {
        http_address: free_address(),
        grpc_address: free_address(),
        external_url: String::new(),
        engine: Default::default(),
        log: LogArgs {
            level: LogLevel::Warn,
            format: LogFormat::Logfmt,
        },
    };
    let shutdown = CancellationToken::new();
    let demo = chorus::demo::start(&args, shutdown.clone())
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

    let mut request = SeriesRequest::new(TimeRange::ALL, up_api0());
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
    assert!(largest_gap_ms(sa) < 16_000);
    assert!(largest_gap_ms(sb) >= 20 * 60 * 1000);

    // A narrow range returns only the chunks that overlap it.
    let first = sa[0].t_ms;
    let narrow = TimeRange::new(first, first + 60_000).expect("ordered");
    let some = fetch(
        &stores[0],
        SeriesRequest::new(narrow, vec![Matcher::equal("__name__", "up")]),
    )
    .await;
    assert!(!some.is_empty() && some.iter().all(|(_, s)| s.len() <= 120));

    shutdown.cancel();
    tokio::time::timeout(Duration::from_secs(20), demo.wait())
        .await
        .expect("stops in time")
        .expect("stops cleanly");
}

/// `chorus demo` as a child process, killed on drop.
struct DemoProcess {
    child: Child,
    http: String,
    grpc: SocketAddr,
    log: tempfile::NamedTempFile,
}

impl DemoProcess {
    fn start() -> Self {
        let (http, grpc) = (free_address(), free_address());
        let log = tempfile::NamedTempFile::new().expect("log file");
        let child = Command::new(env!("CARGO_BIN_EXE_chorus"))
            .args([
                "demo",
                &format!("--http-address={http}"),
                &format!("--grpc-address={grpc}"),
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log.reopen().expect("reopen the log"))
            .spawn()
            .expect("start chorus demo");
        Self {
            child,
            http: format!("http://{http}"),
            grpc,
            log,
        }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.log.path()).unwrap_or_default()
    }

    async fn get(&self, path_and_query: &str) -> (u16, String) {
        let response = reqwest::get(format!("{}{path_and_query}", self.http))
            .await
            .expect("HTTP request");
        let status = response.status().as_u16();
        (status, response.text().await.expect("body"))
    }

    /// Waits until `/api/v1/stores` lists both replicas as sidecars.
    async fn wait_for_replicas(&mut self) -> Value {
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("chorus demo exited with {status}: {}", self.log());
            }
            if let Ok(response) = reqwest::get(format!("{}/api/v1/stores", self.http)).await
                && let Ok(body) = response.text().await
                && let Ok(json) = serde_json::from_str::<Value>(&body)
                && json["data"]["sidecar"]
                    .as_array()
                    .is_some_and(|s| s.len() == 2)
            {
                return json;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        panic!("the querier did not list both replicas: {}", self.log());
    }
}

impl Drop for DemoProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test]
async fn demo_process_deduplicates_replicas_and_serves_the_console() {
    let mut demo = DemoProcess::start();
    let stores = demo.wait_for_replicas().await;
    let label_sets: Vec<String> = stores["data"]["sidecar"]
        .as_array()
        .expect("sidecars")
        .iter()
        .map(|s| {
            s["labelSets"][0]["prometheus_replica"]
                .as_str()
                .unwrap_or_default()
                .to_string()
        })
        .collect();
    assert_eq!(label_sets.len(), 2);
    assert!(
        label_sets.contains(&"a".to_string()) && label_sets.contains(&"b".to_string()),
        "{stores}"
    );

    let selector = "match[]=up%7Binstance%3D%22api-0%3A8080%22%7D";
    let (status, body) = demo.get(&format!("/api/v1/series?{selector}")).await;
    assert_eq!(status, 200, "{body}");
    let deduplicated: Value = serde_json::from_str(&body).expect("JSON");
    let series = deduplicated["data"].as_array().expect("series list");
    assert_eq!(series.len(), 1, "{body}");
    assert!(series[0].get("prometheus_replica").is_none(), "{body}");
    let (_, body) = demo
        .get(&format!("/api/v1/series?{selector}&dedup=false"))
        .await;
    let both: Value = serde_json::from_str(&body).expect("JSON");
    assert_eq!(both["data"].as_array().map(Vec::len), Some(2), "{body}");

    // PromQL over the fan-out: one deduplicated series, two without dedup.
    let count = "query=count(up%7Binstance%3D%22api-0%3A8080%22%7D)";
    for (params, expected) in [("", "1"), ("&dedup=false", "2")] {
        let (status, body) = demo.get(&format!("/api/v1/query?{count}{params}")).await;
        assert_eq!(status, 200, "{body}");
        let answer: Value = serde_json::from_str(&body).expect("JSON");
        assert_eq!(answer["data"]["resultType"], "vector", "{body}");
        assert_eq!(answer["data"]["result"][0]["value"][1], expected, "{body}");
    }
    // A range query over the last six hours has a point at every step: dedup fills the gap.
    let end = chrono::Utc::now().timestamp() - 60;
    let range = format!(
        "/api/v1/query_range?query=up%7Binstance%3D%22api-0%3A8080%22%7D&start={}&end={end}&step=60",
        end - 6 * 3600 + 600
    );
    let (status, body) = demo.get(&range).await;
    assert_eq!(status, 200, "{body}");
    let answer: Value = serde_json::from_str(&body).expect("JSON");
    let result = answer["data"]["result"].as_array().expect("a matrix");
    assert_eq!(result.len(), 1, "{body}");
    let points = result[0]["values"].as_array().map_or(0, Vec::len);
    assert_eq!(points, 6 * 60 - 10 + 1, "{body}");
    let (status, body) = demo.get("/api/v1/query?query=up%5B").await;
    assert_eq!(status, 400, "{body}");
    // Statistics on request, counting the samples read through the fan-out.
    let (status, body) = demo.get(&format!("/api/v1/query?{count}&stats=all")).await;
    assert_eq!(status, 200, "{body}");
    let answer: Value = serde_json::from_str(&body).expect("JSON");
    let samples = &answer["data"]["stats"]["samples"];
    assert!(
        samples["samplesRead"].as_u64().is_some_and(|n| n > 0),
        "{body}"
    );
    assert!(
        answer["data"]["stats"]["timings"]["execTotalTime"].is_f64(),
        "{body}"
    );

    // The console's formatter and syntax tree.
    let (status, body) = demo
        .get("/api/v1/format_query?query=sum(rate(up%5B5m%5D))by(job)")
        .await;
    assert_eq!(status, 200, "{body}");
    let formatted: Value = serde_json::from_str(&body).expect("JSON");
    assert_eq!(formatted["data"], "sum by (job) (rate(up[5m]))", "{body}");
    let (status, body) = demo
        .get("/api/v1/parse_query?query=sum(rate(up%5B5m%5D))by(job)")
        .await;
    assert_eq!(status, 200, "{body}");
    let tree: Value = serde_json::from_str(&body).expect("JSON");
    assert_eq!(tree["data"]["type"], "aggregation", "{body}");
    assert_eq!(
        tree["data"]["grouping"],
        serde_json::json!(["job"]),
        "{body}"
    );
    assert_eq!(tree["data"]["expr"]["func"]["name"], "rate", "{body}");
    assert_eq!(tree["data"]["expr"]["args"][0]["range"], 300_000, "{body}");
    let (status, body) = demo.get("/api/v1/parse_query?query=sum(").await;
    assert_eq!(status, 400, "{body}");
    let error: Value = serde_json::from_str(&body).expect("JSON");
    assert_eq!(error["errorType"], "bad_data", "{body}");
    let message = error["error"].as_str().unwrap_or_default();
    assert!(
        message.starts_with("invalid parameter \"query\": 1:") && message.contains("parse error"),
        "{body}"
    );

    // Through the querier's own StoreAPI, the deduplicated series has no twenty-minute hole:
    // replica a fills replica b's gap.
    let querier =
        GrpcStore::new(demo.grpc.to_string(), GrpcStoreConfig::default()).expect("client");
    let mut request = SeriesRequest::new(TimeRange::ALL, up_api0());
    request.without_replica_labels = vec!["prometheus_replica".into()];
    let merged = fetch(&querier, request).await;
    assert_eq!(merged.len(), 1, "one series after deduplication");
    let mut samples = merged[0].1.clone();
    samples.sort_by_key(|s| s.t_ms);
    assert!(samples.len() > 6 * 240 - 10, "{} samples", samples.len());
    assert!(
        largest_gap_ms(&samples) < 60_000,
        "largest gap {} ms",
        largest_gap_ms(&samples)
    );

    let (status, page) = demo.get("/graph").await;
    assert_eq!(status, 200);
    assert!(
        page.to_ascii_lowercase().contains("<!doctype html>"),
        "{page}"
    );
}
