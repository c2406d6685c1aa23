//! Tests of the demo's in-memory store: appending, chunk cutting, matching, time ranges and external labels.

use futures::TryStreamExt;
use shared::labels::MatchOp;

use super::*;
use crate::chunkenc::XorIter;
use crate::storeapi::PartialResponse;

/// Samples at `from..=to` every `step` ms, value = time.
fn samples(from: i64, to: i64, step: i64) -> Vec<Sample> {
    (from..=to)
        .step_by(usize::try_from(step).expect("positive"))
        .map(|t| Sample {
            t_ms: t,
            v: t as f64,
        })
        .collect()
}

fn store() -> MemStore {
    let ext = Labels::from_pairs([("cluster", "demo"), ("prometheus_replica", "a")]);
    let store = MemStore::new(ComponentType::Sidecar, ext);
    let appends = [
        (
            Labels::from_pairs([("__name__", "up"), ("job", "node")]),
            samples(0, 299, 1),
        ),
        (
            Labels::from_pairs([("__name__", "up"), ("job", "api")]),
            samples(0, 99, 1),
        ),
        (
            Labels::from_pairs([("__name__", "mem"), ("job", "api"), ("cluster", "own")]),
            samples(150, 160, 1),
        ),
        (
            Labels::from_pairs([("__name__", "zzz"), ("a", "1")]),
            samples(0, 10, 1),
        ),
    ];
    for (labels, samples) in appends {
        store.append(&labels, &samples).expect("appends");
    }
    store
}

fn range(min: i64, max: i64) -> TimeRange {
    TimeRange::new(min, max).expect("ordered")
}

async fn series(store: &MemStore, request: SeriesRequest) -> Vec<Series> {
    let stream = store.series(request).await.expect("series");
    let frames: Vec<SeriesFrame> = stream.try_collect().await.expect("frames");
    frames
        .into_iter()
        .map(|f| match f {
            SeriesFrame::Series(s) => s,
            SeriesFrame::Warning(w) => panic!("unexpected warning {w}"),
        })
        .collect()
}

fn decoded(series: &Series) -> Vec<Sample> {
    let mut out = Vec::new();
    for chunk in &series.chunks {
        let raw = chunk.raw.as_ref().expect("raw chunk");
        assert_eq!(raw.hash, xxhash_rust::xxh64::xxh64(&raw.data, 0));
        let part: Vec<Sample> = XorIter::new(&raw.data)
            .expect("header")
            .collect::<Result<_, _>>()
            .expect("decodes");
        assert!(part.len() <= SAMPLES_PER_CHUNK);
        assert_eq!(
            (chunk.min_time_ms, chunk.max_time_ms),
            (part[0].t_ms, part[part.len() - 1].t_ms)
        );
        out.extend(part);
    }
    out
}

#[test]
fn encode_cuts_chunks_of_120_that_round_trip() {
    let input = samples(1_000, 1_000 + 249 * 15_000, 15_000);
    let chunks = encode(&input).expect("encodes");
    assert_eq!(chunks.len(), 3);
    let series = Series {
        labels: Labels::empty(),
        chunks,
    };
    assert_eq!(decoded(&series), input);
}

#[tokio::test]
async fn info_announces_external_labels_and_data_range() {
    let info = store().info().await.expect("info");
    assert_eq!(info.component, ComponentType::Sidecar);
    assert_eq!(
        info.label_sets,
        vec![Labels::from_pairs([
            ("cluster", "demo"),
            ("prometheus_replica", "a")
        ])]
    );
    assert_eq!(info.time_range, Some(range(0, 299)));
    assert!(info.supports_without_replica_labels);
}

#[tokio::test]
async fn series_are_matched_sorted_and_cut_to_the_range() {
    let s = store();
    let got = series(
        &s,
        SeriesRequest::new(range(130, 250), vec![Matcher::equal("__name__", "up")]),
    )
    .await;
    let jobs: Vec<_> = got
        .iter()
        .map(|s| s.labels.get("job").unwrap_or_default())
        .collect();
    assert_eq!(jobs, ["node"], "api's samples end at 99");
    // Closed chunks [0,119] and [120,239] are outside or inside; the open one [240,299] is read.
    let mins: Vec<i64> = got[0].chunks.iter().map(|c| c.min_time_ms).collect();
    assert_eq!(mins, [120, 240]);
    assert_eq!(decoded(&got[0]), samples(120, 299, 1));
    assert!(
        got.iter()
            .all(|s| s.labels.get("prometheus_replica") == Some("a"))
    );
    let got = series(
        &s,
        SeriesRequest::new(range(150, 155), vec![Matcher::equal("job", "api")]),
    )
    .await;
    assert_eq!(got.len(), 1);
    assert_eq!(
        got[0].labels.get("cluster"),
        Some("own"),
        "a series' own label wins"
    );
    let re = Matcher::new(MatchOp::Regex, "job", "a.*").expect("valid regex");
    assert_eq!(
        series(&s, SeriesRequest::new(range(0, 1000), vec![re]))
            .await
            .len(),
        2
    );
}

#[tokio::test]
async fn appends_extend_series_in_order_only() {
    let s = store();
    let up = Labels::from_pairs([("__name__", "up"), ("job", "api")]);
    s.append(&up, &samples(100, 400, 1))
        .expect("later samples append");
    let err = s
        .append(&up, &[Sample { t_ms: 400, v: 0.0 }])
        .expect_err("same time again");
    assert!(
        matches!(
            err,
            AppendError::OutOfOrder {
                t_ms: 400,
                last_ms: 400,
                ..
            }
        ),
        "{err}"
    );
    let got = series(
        &s,
        SeriesRequest::new(
            range(0, 1000),
            vec![
                Matcher::equal("job", "api"),
                Matcher::equal("__name__", "up"),
            ],
        ),
    )
    .await;
    assert_eq!(decoded(&got[0]), samples(0, 400, 1));
    assert_eq!(
        s.info().await.expect("info").time_range,
        Some(range(0, 400))
    );
}

#[tokio::test]
async fn replica_labels_are_stripped_and_order_kept() {
    let s = store();
    let mut request = SeriesRequest::new(range(0, 1000), vec![]);
    request.without_replica_labels = vec!["prometheus_replica".into(), "job".into()];
    request.skip_chunks = true;
    let got = series(&s, request).await;
    assert_eq!(got.len(), 4);
    assert!(
        got.iter()
            .all(|s| s.chunks.is_empty() && !s.labels.contains("prometheus_replica"))
    );
    assert_eq!(
        got.iter().filter(|s| s.labels.contains("job")).count(),
        3,
        "only external labels are stripped"
    );
    assert!(got.windows(2).all(|w| w[0].labels < w[1].labels));
}

#[tokio::test]
async fn limit_caps_series_and_label_answers() {
    let s = store();
    let mut request = SeriesRequest::new(range(0, 1000), vec![]);
    request.limit = Some(2);
    assert_eq!(series(&s, request).await.len(), 2);
    let names = s
        .label_names(LabelNamesRequest {
            range: range(0, 1000),
            matchers: vec![],
            without_replica_labels: vec!["prometheus_replica".into()],
            partial_response: PartialResponse::Warn,
            limit: None,
        })
        .await
        .expect("names");
    assert_eq!(names.values, ["__name__", "a", "cluster", "job"]);
}

#[tokio::test]
async fn label_values_honour_matchers_range_and_replica_labels() {
    let s = store();
    let request = |label: &str, min, max, without: Vec<String>| LabelValuesRequest {
        label: label.into(),
        range: range(min, max),
        matchers: vec![Matcher::equal("job", "api")],
        without_replica_labels: without,
        partial_response: PartialResponse::Warn,
        limit: None,
    };
    assert_eq!(
        s.label_values(request("__name__", 0, 1000, vec![]))
            .await
            .expect("values")
            .values,
        ["mem", "up"]
    );
    assert_eq!(
        s.label_values(request("__name__", 100, 1000, vec![]))
            .await
            .expect("values")
            .values,
        ["mem"]
    );
    let stripped = s.label_values(request(
        "prometheus_replica",
        0,
        1000,
        vec!["prometheus_replica".into()],
    ));
    assert!(stripped.await.expect("values").values.is_empty());
}
