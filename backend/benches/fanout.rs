//! End-to-end fan-out benchmark: two replicas served as StoreAPI over gRPC on loopback, read
//! through the querier's fan-out proxy (merge, replica-label stripping), split into chunk groups
//! and deduplicated sample by sample with the penalty algorithm.
//!
//! Prints samples per second (input samples of both replicas over wall time) and the peak RSS the
//! query adds to the querier side, for two data sizes: if the pipeline streams, the peak does not
//! grow with the size. The two stores run in a child process (this binary, re-executed with
//! `--serve-stores`), so the figure is the querier's alone.
//! Run with `cargo bench -p chorus --bench fanout` (the `bench` profile, optimised).

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Instant;

use chorus::demo::store::MemStore;
use chorus::query::dedup::{DedupAlgorithm, SampleIterator, ValueKind, deduplicate, overlap_split};
use chorus::query::proxy::{ProxyConfig, ProxyStore, StoreRef};
use chorus::query::series_iter::ChunkSeriesIterator;
use chorus::storeapi::client::{GrpcStore, GrpcStoreConfig};
use chorus::storeapi::{ComponentType, SeriesFrame, SeriesRequest, Store};
use futures::StreamExt;
use shared::labels::{Labels, MatchOp, Matcher};
use shared::series::{Sample, TimeRange};
use tokio_util::sync::CancellationToken;

const SCRAPE_MS: i64 = 15_000;
const REPLICA_OFFSET_MS: i64 = 7_000;

/// Reads a `Vm*` line of /proc/self/status, in KiB.
fn status_kib(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// Resets the peak RSS (VmHWM) to the current RSS (Linux `clear_refs` 5).
fn reset_peak_rss() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

fn replica(name: &str, series: usize, samples_per_series: usize, offset_ms: i64) -> MemStore {
    let store = MemStore::new(
        ComponentType::Sidecar,
        Labels::from_pairs([("replica", name)]),
    );
    for s in 0..series {
        let labels = Labels::from_pairs([
            ("__name__", "bench_requests_total".to_string()),
            ("instance", format!("host-{s:05}")),
            ("job", format!("job-{}", s % 10)),
        ]);
        let mut value = 0.0;
        let samples: Vec<Sample> = (0..samples_per_series as i64)
            .map(|i| {
                value += ((i * 7 + s as i64) % 13) as f64;
                Sample {
                    t_ms: i * SCRAPE_MS + offset_ms + (i * 31 % 400),
                    v: value,
                }
            })
            .collect();
        store
            .append(&labels, &samples)
            .expect("generated samples are in order");
    }
    store
}

/// The sample count in an XOR chunk's 2-byte big-endian header.
fn xor_samples(data: &[u8]) -> u16 {
    match data {
        [hi, lo, ..] => u16::from_be_bytes([*hi, *lo]),
        _ => 0,
    }
}

struct Figures {
    input_samples: u64,
    output_samples: u64,
    series: u64,
    seconds: f64,
    peak_growth_mib: f64,
}

/// Child-process mode: serves the two replicas on loopback, prints their addresses on one line,
/// and serves until its standard input closes.
async fn serve_stores(series: usize, samples_per_series: usize) {
    let shutdown = CancellationToken::new();
    let mut addresses = Vec::new();
    for (name, offset) in [("a", 0), ("b", REPLICA_OFFSET_MS)] {
        let store: Arc<dyn Store> = Arc::new(replica(name, series, samples_per_series, offset));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind loopback");
        addresses.push(listener.local_addr().expect("bound address").to_string());
        tokio::spawn(chorus::storeapi::server::serve(
            listener,
            store,
            shutdown.clone(),
        ));
    }
    println!("{}", addresses.join(" "));
    // The parent closes our stdin when it is done (or dies).
    let _ = tokio::task::spawn_blocking(|| std::io::stdin().lines().count()).await;
    shutdown.cancel();
}

async fn run(series: usize, samples_per_series: usize) -> Figures {
    let exe = std::env::current_exe().expect("path of this benchmark");
    let mut child = Command::new(exe)
        .args([
            "--serve-stores",
            &series.to_string(),
            &samples_per_series.to_string(),
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("start the store process");
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("piped stdout"))
        .read_line(&mut line)
        .expect("store addresses");
    let mut refs = Vec::new();
    for address in line.split_whitespace() {
        let client = GrpcStore::new(address, GrpcStoreConfig::default()).expect("address");
        let info = client.info().await.expect("info over gRPC");
        refs.push(StoreRef {
            address: address.to_string(),
            store: Arc::new(client),
            info: Arc::new(info),
        });
    }
    let proxy = ProxyStore::new(
        Arc::new(refs),
        ProxyConfig {
            response_timeout: None,
            replica_labels: vec!["replica".into()],
        },
    );

    reset_peak_rss();
    let before_kib = status_kib("VmRSS:");
    let started = Instant::now();
    let matcher = Matcher::new(MatchOp::Regex, "__name__", "bench_.*").expect("valid regex");
    let mut request = SeriesRequest::new(TimeRange::ALL, vec![matcher]);
    request.without_replica_labels = vec!["replica".into()];
    let mut stream = proxy.series(request).await.expect("series call");
    let (mut output_samples, mut input_samples, mut n_series) = (0u64, 0u64, 0u64);
    while let Some(frame) = stream.next().await {
        let SeriesFrame::Series(series) = frame.expect("no store errors") else {
            continue;
        };
        n_series += 1;
        let groups = overlap_split(series.chunks);
        let replicas: Vec<_> = groups
            .iter()
            .map(|g| ChunkSeriesIterator::new(g, TimeRange::ALL))
            .collect();
        let mut merged = deduplicate(replicas, DedupAlgorithm::Penalty, ValueKind::Counter);
        while merged.next().expect("valid chunks").is_some() {
            output_samples += 1;
        }
        input_samples += groups
            .iter()
            .flatten()
            .filter_map(|c| c.raw.as_ref())
            .map(|c| u64::from(xor_samples(&c.data)))
            .sum::<u64>();
    }
    let seconds = started.elapsed().as_secs_f64();
    let peak_kib = status_kib("VmHWM:");
    drop(child.stdin.take());
    let _ = child.wait();
    Figures {
        input_samples,
        output_samples,
        series: n_series,
        seconds,
        peak_growth_mib: peak_kib.saturating_sub(before_kib) as f64 / 1024.0,
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    if let [_, flag, series, per_series] = args.as_slice()
        && flag == "--serve-stores"
    {
        let (series, per_series) = (
            series.parse().expect("series count"),
            per_series.parse().expect("samples per series"),
        );
        runtime.block_on(serve_stores(series, per_series));
        return;
    }
    // `cargo bench` passes `--bench`; `cargo test --benches` passes nothing and wants a quick run.
    let full = args.iter().any(|a| a == "--bench");
    let sizes: &[(usize, usize)] = if full {
        &[(200, 5_000), (1_000, 5_000)]
    } else {
        &[(20, 500)]
    };
    println!("fan-out + merge + penalty dedup of two replicas over gRPC on loopback");
    for &(series, per_series) in sizes {
        let f = runtime.block_on(run(series, per_series));
        assert_eq!(
            f.series as usize, series,
            "every series comes back once, deduplicated"
        );
        println!(
            "{:>9} input samples ({} series x {} x 2 replicas): {:6.2} s, {:6.2} M samples/s in, {} samples out, peak RSS +{:.1} MiB",
            f.input_samples,
            series,
            per_series,
            f.seconds,
            f.input_samples as f64 / f.seconds / 1e6,
            f.output_samples,
            f.peak_growth_mib,
        );
    }
}
