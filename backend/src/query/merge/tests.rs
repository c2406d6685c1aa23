//! Tests of [`super::merge_sorted`], [`super::strip_and_resort`] and [`super::collapse_chunks`].

use std::collections::{BTreeMap, BTreeSet};

use bytes::Bytes;
use futures::channel::mpsc;
use futures::executor::block_on;
use futures::{FutureExt, StreamExt, stream};
use proptest::prelude::*;

use super::*;

fn raw(min: i64, max: i64, data: &[u8]) -> AggrChunk {
    AggrChunk::raw(
        min,
        max,
        Chunk {
            encoding: ChunkEncoding::Xor,
            data: Bytes::copy_from_slice(data),
            hash: 0,
        },
    )
}

fn labels(pairs: &[(&str, &str)]) -> Labels {
    Labels::from_pairs(pairs.iter().copied())
}

fn series(name: &str, chunks: Vec<AggrChunk>) -> Result<SeriesFrame, StoreError> {
    Ok(SeriesFrame::Series(Series {
        labels: labels(&[("__name__", name)]),
        chunks,
    }))
}

fn from_frames(frames: Vec<Result<SeriesFrame, StoreError>>) -> SeriesStream {
    Box::pin(stream::iter(frames))
}

fn collect_all(stream: SeriesStream) -> Vec<Result<SeriesFrame, StoreError>> {
    block_on(stream.collect())
}

fn names(frames: &[Result<SeriesFrame, StoreError>]) -> Vec<String> {
    frames
        .iter()
        .map(|f| match f {
            Ok(SeriesFrame::Series(s)) => s.labels.get("__name__").unwrap_or_default().to_owned(),
            Ok(SeriesFrame::Warning(w)) => format!("warning:{w}"),
            Err(e) => format!("error:{e}"),
        })
        .collect()
}

#[test]
fn merges_sorted_streams_and_collapses_equal_series() {
    let a = from_frames(vec![
        series("a", vec![raw(0, 9, b"a0")]),
        series("c", vec![raw(0, 9, b"c0")]),
    ]);
    let b = from_frames(vec![
        series("a", vec![raw(10, 19, b"a1"), raw(0, 9, b"a0")]),
        series("b", vec![raw(0, 9, b"b0")]),
    ]);
    let c = from_frames(vec![series("c", vec![raw(0, 9, b"c0-other")])]);
    let out = collect_all(merge_sorted(vec![a, b, c]));
    assert_eq!(names(&out), ["a", "b", "c"]);
    let Ok(SeriesFrame::Series(first)) = &out[0] else {
        panic!("series expected")
    };
    assert_eq!(
        first.chunks,
        vec![raw(0, 9, b"a0"), raw(10, 19, b"a1")],
        "identical chunk kept once, sorted"
    );
    let Ok(SeriesFrame::Series(last)) = &out[2] else {
        panic!("series expected")
    };
    assert_eq!(
        last.chunks.len(),
        2,
        "different chunks of equal series are both kept"
    );
}

#[test]
fn collapses_equal_series_within_one_stream() {
    let a = from_frames(vec![
        series("a", vec![raw(0, 9, b"x")]),
        series("a", vec![raw(10, 19, b"y")]),
    ]);
    let out = collect_all(merge_sorted(vec![a]));
    assert_eq!(names(&out), ["a"]);
    let Ok(SeriesFrame::Series(s)) = &out[0] else {
        panic!("series expected")
    };
    assert_eq!(s.chunks.len(), 2);
}

#[test]
fn empty_inputs_give_an_empty_stream() {
    assert!(collect_all(merge_sorted(Vec::new())).is_empty());
    assert!(collect_all(merge_sorted(vec![from_frames(Vec::new())])).is_empty());
}

#[test]
fn warnings_and_errors_are_passed_on() {
    let a = from_frames(vec![
        series("a", vec![]),
        Ok(SeriesFrame::Warning("w".into())),
        series("b", vec![]),
    ]);
    let b = from_frames(vec![Err(StoreError::Unavailable("down".into()))]);
    let out = collect_all(merge_sorted(vec![a, b]));
    let got: BTreeSet<String> = names(&out).into_iter().collect();
    let expected: BTreeSet<String> = ["a", "b", "warning:w", "error:unavailable: down"]
        .into_iter()
        .map(String::from)
        .collect();
    assert_eq!(got, expected);
}

/// The merge emits as soon as it can: a warning at once, a series once every input has shown a
/// later one, without waiting for inputs to end.
#[test]
fn streams_without_waiting_for_inputs_to_end() {
    let (tx_a, rx_a) = mpsc::unbounded();
    let (tx_b, rx_b) = mpsc::unbounded();
    let mut merged = merge_sorted(vec![Box::pin(rx_a), Box::pin(rx_b)]);

    tx_a.unbounded_send(Ok(SeriesFrame::Warning("slow".into())))
        .expect("receiver alive");
    let first = merged.next().now_or_never().flatten();
    assert_eq!(first, Some(Ok(SeriesFrame::Warning("slow".into()))));

    tx_a.unbounded_send(series("a", vec![]))
        .expect("receiver alive");
    tx_a.unbounded_send(series("c", vec![]))
        .expect("receiver alive");
    assert!(
        merged.next().now_or_never().is_none(),
        "b has shown nothing: a may still come from it"
    );

    tx_b.unbounded_send(series("b", vec![]))
        .expect("receiver alive");
    assert_eq!(
        merged.next().now_or_never().flatten(),
        Some(series("a", vec![]))
    );
    assert!(
        merged.next().now_or_never().is_none(),
        "b may send another b"
    );

    drop(tx_b);
    assert_eq!(
        merged.next().now_or_never().flatten(),
        Some(series("b", vec![]))
    );
    drop(tx_a);
    assert_eq!(
        merged.next().now_or_never().flatten(),
        Some(series("c", vec![]))
    );
    assert_eq!(merged.next().now_or_never(), Some(None));
}

#[test]
fn strip_and_resort_removes_replica_labels_and_puts_warnings_first() {
    let frames = vec![
        Ok(SeriesFrame::Series(Series {
            labels: labels(&[("job", "b"), ("replica", "0")]),
            chunks: vec![],
        })),
        Ok(SeriesFrame::Warning("w".into())),
        Ok(SeriesFrame::Series(Series {
            labels: labels(&[("job", "a"), ("replica", "1")]),
            chunks: vec![],
        })),
        Ok(SeriesFrame::Series(Series {
            labels: labels(&[("job", "a"), ("replica", "0")]),
            chunks: vec![],
        })),
    ];
    let out = collect_all(strip_and_resort(
        from_frames(frames),
        vec!["replica".into()],
    ));
    let expected = vec![
        Ok(SeriesFrame::Warning("w".into())),
        Ok(SeriesFrame::Series(Series {
            labels: labels(&[("job", "a")]),
            chunks: vec![],
        })),
        Ok(SeriesFrame::Series(Series {
            labels: labels(&[("job", "a")]),
            chunks: vec![],
        })),
        Ok(SeriesFrame::Series(Series {
            labels: labels(&[("job", "b")]),
            chunks: vec![],
        })),
    ];
    assert_eq!(out, expected);
    // The merge then collapses the two replicas of job="a".
    let stripped = strip_and_resort(
        from_frames(expected.into_iter().skip(1).collect()),
        Vec::new(),
    );
    assert_eq!(collect_all(merge_sorted(vec![stripped])).len(), 2);
}

/// THANOS.md §2 step 3: a downsampled chunk is kept if any of its aggregates is new, and an
/// identical one is dropped however often it repeats.
#[test]
fn downsampled_chunks_sharing_some_aggregates_are_both_kept() {
    let chunk = |data: &[u8]| Chunk {
        encoding: ChunkEncoding::Xor,
        data: Bytes::copy_from_slice(data),
        hash: 0,
    };
    let a = AggrChunk {
        min_time_ms: 0,
        max_time_ms: 9,
        count: Some(chunk(b"n")),
        sum: Some(chunk(b"s1")),
        ..AggrChunk::default()
    };
    let b = AggrChunk {
        sum: Some(chunk(b"s2")),
        ..a.clone()
    };
    assert_eq!(
        collapse_chunks(vec![a.clone(), b.clone(), a.clone()]),
        vec![a, b]
    );
    assert!(collapse_chunks(vec![AggrChunk::default()]).is_empty());
}

#[test]
fn stored_hash_is_used_when_present() {
    let with_hash = |data: &[u8]| {
        AggrChunk::raw(
            0,
            9,
            Chunk {
                encoding: ChunkEncoding::Xor,
                data: Bytes::copy_from_slice(data),
                hash: 7,
            },
        )
    };
    assert_eq!(
        collapse_chunks(vec![with_hash(b"x"), with_hash(b"y")]).len(),
        1
    );
}

/// One input stream: sorted label sets from a small alphabet, each with a few chunks.
fn input() -> impl Strategy<Value = Vec<(Labels, Vec<AggrChunk>)>> {
    let one_series = (0u8..12, prop::collection::vec((0i64..50, 0u8..6), 0..4));
    prop::collection::vec(one_series, 0..10).prop_map(|mut series| {
        series.sort_by_key(|(name, _)| *name);
        series
            .into_iter()
            .map(|(name, chunks)| {
                let labels = labels(&[("__name__", "m"), ("i", &format!("{name:02}"))]);
                let chunks = chunks
                    .into_iter()
                    .map(|(min, data)| {
                        raw(min, min + 9, &[u8::try_from(min).unwrap_or(u8::MAX), data])
                    })
                    .collect();
                (labels, chunks)
            })
            .collect()
    })
}

proptest! {
    #[test]
    fn merge_output_is_sorted_and_complete(inputs in prop::collection::vec(input(), 0..5)) {
        let mut expected: BTreeMap<Labels, BTreeSet<(i64, Vec<u8>)>> = BTreeMap::new();
        for (labels, chunks) in inputs.iter().flatten() {
            let entry = expected.entry(labels.clone()).or_default();
            entry.extend(chunks.iter().map(|c| (c.min_time_ms, c.raw.as_ref().map(|r| r.data.to_vec()).unwrap_or_default())));
        }
        let streams = inputs
            .into_iter()
            .map(|s| from_frames(s.into_iter().map(|(labels, chunks)| Ok(SeriesFrame::Series(Series { labels, chunks }))).collect()))
            .collect();
        let out = collect_all(merge_sorted(streams));
        let mut got: BTreeMap<Labels, BTreeSet<(i64, Vec<u8>)>> = BTreeMap::new();
        let mut previous: Option<Labels> = None;
        for frame in out {
            let Ok(SeriesFrame::Series(s)) = frame else { return Err(TestCaseError::fail("only series expected")) };
            prop_assert!(previous.as_ref().is_none_or(|p| *p < s.labels), "labels strictly increase");
            prop_assert!(s.chunks.windows(2).all(|w| chunk_order(&w[0], &w[1]) == Ordering::Less), "chunks sorted, unique");
            let chunks = s.chunks.iter().map(|c| (c.min_time_ms, c.raw.as_ref().map(|r| r.data.to_vec()).unwrap_or_default()));
            got.insert(s.labels.clone(), chunks.collect());
            previous = Some(s.labels);
        }
        prop_assert_eq!(got, expected);
    }
}
