//! Chunks from a real Prometheus: the XOR chunks Prometheus 2.42 streams from its remote-read API,
//! decoded by `chunkenc`, give exactly the samples Prometheus's own query API returns — including
//! NaN, ±Inf, extreme magnitudes and timestamps off the second grid.

mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use chorus::chunkenc;
use chorus::sidecar::prometheus::PrometheusClient;
use chorus::storeapi::ChunkEncoding;
use common::{Backfill, BackfillSeries, PrometheusOptions, PrometheusServer, now_ms};
use futures::StreamExt;
use proto::prometheus::{LabelMatcher, Query, chunk, label_matcher};

const METRIC: &str = "remote_read_values";

/// A few series with awkward values at irregular, millisecond-precision timestamps.
fn backfill() -> Backfill {
    let end_ms = (now_ms() / 1000 - 3600) * 1000;
    let start_ms = end_ms - 2 * 3600 * 1000;
    let specials = [
        f64::NAN,
        f64::INFINITY,
        f64::NEG_INFINITY,
        1e300,
        -1e-300,
        0.0,
        -0.5,
        42.125,
    ];
    let series = (0..4)
        .map(|i| {
            let mut t = start_ms + i * 7;
            let mut samples = Vec::new();
            let mut k = 0usize;
            while t < end_ms {
                let v = if k % 11 == 3 {
                    specials[(k / 11) % specials.len()]
                } else {
                    (k as f64) * 0.1 + i as f64
                };
                samples.push((t, v));
                // Irregular steps: 15 s give or take some milliseconds, sometimes a long pause.
                t += 15_000
                    + ((k * 37 + i as usize * 13) % 900) as i64
                    + if k % 97 == 0 { 600_000 } else { 0 };
                k += 1;
            }
            BackfillSeries {
                name: METRIC.into(),
                labels: vec![("series".into(), format!("s{i}"))],
                samples,
            }
        })
        .collect();
    Backfill { series }
}

/// Samples per series from the query API: `METRIC[range]` at `time` returns raw samples.
async fn samples_from_query_api(
    url: &str,
    time_ms: i64,
    range_s: i64,
) -> BTreeMap<String, Vec<(i64, f64)>> {
    let query = format!("{METRIC}[{range_s}s]");
    let response = reqwest::get(format!(
        "{url}/api/v1/query?query={query}&time={}.{:03}",
        time_ms / 1000,
        time_ms % 1000
    ))
    .await
    .expect("query API")
    .text()
    .await
    .expect("body");
    let body: serde_json::Value = serde_json::from_str(&response).expect("JSON");
    assert_eq!(body["status"], "success", "{body}");
    let mut out = BTreeMap::new();
    for series in body["data"]["result"].as_array().expect("a matrix") {
        let name = series["metric"]["series"]
            .as_str()
            .expect("series label")
            .to_string();
        let samples = series["values"]
            .as_array()
            .expect("values")
            .iter()
            .map(|pair| {
                let t = pair[0].as_f64().expect("timestamp");
                let v: f64 = match pair[1].as_str().expect("value string") {
                    "NaN" => f64::NAN,
                    "+Inf" => f64::INFINITY,
                    "-Inf" => f64::NEG_INFINITY,
                    other => other.parse().expect("a float"),
                };
                ((t * 1000.0).round() as i64, v)
            })
            .collect();
        out.insert(name, samples);
    }
    out
}

fn same(a: &[(i64, f64)], b: &[(i64, f64)]) -> bool {
    a.len() == b.len()
        && a.iter()
            .zip(b)
            .all(|(x, y)| x.0 == y.0 && (x.1 == y.1 || (x.1.is_nan() && y.1.is_nan())))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn remote_read_chunks_decode_to_the_query_api_samples() {
    let data = backfill();
    let prometheus = PrometheusServer::start(PrometheusOptions {
        external_labels: vec![("replica".into(), "a".into())],
        backfill: Some(data.clone()),
        ..Default::default()
    })
    .await;
    let end_ms = data
        .series
        .iter()
        .filter_map(|s| s.samples.last())
        .map(|s| s.0)
        .max()
        .expect("samples")
        + 1;
    let start_ms = data.min_time_ms();

    let client =
        PrometheusClient::new(&prometheus.url, Duration::from_secs(10), 64 << 20).expect("client");
    let query = Query {
        start_timestamp_ms: start_ms,
        end_timestamp_ms: end_ms,
        matchers: vec![LabelMatcher {
            r#type: label_matcher::Type::Eq as i32,
            name: "__name__".into(),
            value: METRIC.into(),
        }],
        hints: None,
    };
    let mut stream = client.remote_read(query).await.expect("remote read");
    let mut decoded: BTreeMap<String, Vec<(i64, f64)>> = BTreeMap::new();
    let mut chunks = 0;
    while let Some(series) = stream.next().await {
        let series = series.expect("a series frame");
        let name = series
            .labels
            .iter()
            .find(|l| l.name == "series")
            .expect("series label")
            .value
            .clone();
        let samples = decoded.entry(name).or_default();
        for chunk in &series.chunks {
            assert_eq!(
                chunk.r#type,
                chunk::Encoding::Xor as i32,
                "float data comes in XOR chunks"
            );
            chunks += 1;
            for sample in chunkenc::decode(ChunkEncoding::Xor, &chunk.data).expect("chunk header") {
                let (t, v) = sample.expect("a sample");
                let chunkenc::SampleValue::Float(v) = v else {
                    panic!("a float sample")
                };
                assert!(
                    t >= chunk.min_time_ms && t <= chunk.max_time_ms,
                    "{t} outside its chunk"
                );
                samples.push((t, v));
            }
        }
    }
    assert!(
        chunks > data.series.len(),
        "the data should span several chunks per series, got {chunks}"
    );

    let range_s = (end_ms - start_ms) / 1000 + 2;
    let expected = samples_from_query_api(&prometheus.url, end_ms, range_s).await;
    assert_eq!(
        decoded.keys().collect::<Vec<_>>(),
        expected.keys().collect::<Vec<_>>()
    );
    for (name, samples) in &decoded {
        let want = &expected[name];
        assert!(
            same(samples, want),
            "{name}: decoded {} samples, the query API has {}",
            samples.len(),
            want.len()
        );
    }
    // And they are the samples that were backfilled.
    for s in &data.series {
        let name = &s.labels[0].1;
        assert!(
            same(&decoded[name], &s.samples),
            "{name} differs from the backfilled data"
        );
    }
}
