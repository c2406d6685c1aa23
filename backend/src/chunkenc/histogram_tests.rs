//! Tests for integer histogram chunks: golden bytes, chunk cutting and property round trips.

use proptest::prelude::*;
use shared::histogram::{CUSTOM_BUCKETS_SCHEMA, Span};
use shared::series::stale_nan;

use super::*;

fn one_bucket(count: u64, sum: f64) -> Histogram {
    Histogram {
        count,
        sum,
        positive_spans: vec![Span {
            offset: 0,
            length: 1,
        }],
        positive_buckets: vec![count as i64],
        ..Histogram::default()
    }
}

fn decode_chunks(chunks: &[Bytes]) -> Vec<(CounterResetHeader, Vec<(i64, Histogram)>)> {
    chunks
        .iter()
        .map(|c| {
            let it = HistogramIter::new(c).expect("header");
            (
                it.header(),
                it.collect::<Result<Vec<_>, _>>().expect("valid chunk"),
            )
        })
        .collect()
}

/// Derived by hand: header `00 01 00`; zero threshold 0 -> byte `00`; schema 0 `0`; one positive
/// span `10001`, length 1 `10001`, offset 0 `0`; no negative spans `0`; t=0 `0`; count 1 `10001`;
/// zero count 0 `0`; sum 1.0 as 64 bits; bucket 1 `10001`.
#[test]
fn golden_single_sample() {
    let mut app = HistogramAppender::new();
    assert_eq!(app.append(0, &one_bucket(1, 1.0)), Ok(Appended::Yes));
    let expected = [
        0x00, 0x01, 0x00, 0x00, 0x46, 0x22, 0x23, 0xFF, 0, 0, 0, 0, 0, 0, 0x08, 0x80,
    ];
    assert_eq!(app.to_bytes().as_ref(), &expected);
}

#[test]
fn counter_reset_cuts_with_reset_header() {
    let samples = [
        (1, one_bucket(5, 5.0)),
        (2, one_bucket(7, 9.0)),
        (3, one_bucket(2, 1.0)),
    ];
    let chunks = encode_histograms(samples.iter().map(|(t, h)| (*t, h))).expect("valid");
    let decoded = decode_chunks(&chunks);
    assert_eq!(decoded.len(), 2);
    assert_eq!(decoded[0].0, CounterResetHeader::Unknown);
    assert_eq!(decoded[1].0, CounterResetHeader::CounterReset);
    assert_eq!(
        decoded[0].1[1].1.counter_reset_hint,
        CounterResetHint::NotCounterReset
    );
    assert_eq!(decoded[1].1[0].1.count, 2);
}

#[test]
fn layout_change_cuts_without_reset() {
    let mut wider = one_bucket(6, 6.0);
    wider.positive_spans = vec![Span {
        offset: 0,
        length: 2,
    }];
    wider.positive_buckets = vec![5, -4]; // absolute 5, 1: the old bucket grew, a new one appeared
    let samples = [(1, one_bucket(5, 5.0)), (2, wider)];
    let chunks = encode_histograms(samples.iter().map(|(t, h)| (*t, h))).expect("valid");
    let headers: Vec<_> = decode_chunks(&chunks).into_iter().map(|(h, _)| h).collect();
    assert_eq!(
        headers,
        vec![
            CounterResetHeader::Unknown,
            CounterResetHeader::NotCounterReset
        ]
    );
}

#[test]
fn gauge_hint_sets_gauge_header() {
    let mut g = one_bucket(5, 5.0);
    g.counter_reset_hint = CounterResetHint::Gauge;
    let mut lower = one_bucket(1, 1.0);
    lower.counter_reset_hint = CounterResetHint::Gauge;
    let chunks = encode_histograms([(1, &g), (2, &lower)]).expect("valid");
    let decoded = decode_chunks(&chunks);
    assert_eq!(decoded.len(), 1, "gauges go down without a cut");
    assert_eq!(decoded[0].0, CounterResetHeader::Gauge);
    assert!(
        decoded[0]
            .1
            .iter()
            .all(|(_, h)| h.counter_reset_hint == CounterResetHint::Gauge)
    );
}

#[test]
fn stale_sample_keeps_only_its_sum_and_ends_the_chunk() {
    let stale = Histogram {
        sum: stale_nan(),
        count: 99,
        ..one_bucket(3, 0.0)
    };
    let samples = [(1, one_bucket(1, 1.0)), (2, stale), (3, one_bucket(2, 2.0))];
    let chunks = encode_histograms(samples.iter().map(|(t, h)| (*t, h))).expect("valid");
    let decoded = decode_chunks(&chunks);
    assert_eq!(decoded.len(), 2);
    assert_eq!(decoded[1].0, CounterResetHeader::Unknown);
    let (t, h) = &decoded[0].1[1];
    assert_eq!(*t, 2);
    assert!(h.bitwise_eq(&Histogram {
        sum: stale_nan(),
        ..Histogram::default()
    }));
}

#[test]
fn rejects_inconsistent_histograms() {
    let mut bad = one_bucket(1, 1.0);
    bad.positive_buckets.push(1);
    let err = HistogramAppender::new().append(0, &bad);
    assert_eq!(
        err,
        Err(ChunkError::BucketCountMismatch {
            side: "positive",
            spans: 1,
            buckets: 2
        })
    );
    let mut bad = one_bucket(1, 1.0);
    bad.custom_values = vec![1.0];
    assert_eq!(
        HistogramAppender::new().append(0, &bad),
        Err(ChunkError::UnexpectedCustomValues { schema: 0 })
    );
}

pub(crate) fn spans() -> impl Strategy<Value = Vec<Span>> {
    proptest::collection::vec(
        (-3i32..4, 0u32..4).prop_map(|(offset, length)| Span { offset, length }),
        0..4,
    )
}

/// Schema, zero threshold, positive and negative spans, custom bounds.
pub(crate) type LayoutParts = (i32, f64, Vec<Span>, Vec<Span>, Vec<f64>);

pub(crate) fn layout() -> impl Strategy<Value = LayoutParts> {
    let schema = prop_oneof![Just(CUSTOM_BUCKETS_SCHEMA), -4i32..=8];
    let threshold = prop_oneof![Just(0.0), Just(2f64.powi(-128)), Just(0.001), Just(1.0)];
    (schema, threshold, spans(), spans()).prop_flat_map(|(schema, zt, pos, neg)| {
        let custom = if schema == CUSTOM_BUCKETS_SCHEMA {
            proptest::collection::vec(
                prop_oneof![
                    0.0..100.0f64,
                    (0u32..5000).prop_map(|m| f64::from(m) / 1000.0)
                ],
                0..5,
            )
            .boxed()
        } else {
            Just(Vec::new()).boxed()
        };
        let neg = if schema == CUSTOM_BUCKETS_SCHEMA {
            Vec::new()
        } else {
            neg
        };
        custom.prop_map(move |c| (schema, zt, pos.clone(), neg.clone(), c))
    })
}

fn histogram_with(parts: LayoutParts) -> impl Strategy<Value = Histogram> {
    let (schema, zero_threshold, pos, neg, custom_values) = parts;
    let n_pos = shared::histogram::bucket_count(&pos) as usize;
    let n_neg = shared::histogram::bucket_count(&neg) as usize;
    let delta = prop_oneof![-5i64..5, any::<i64>()];
    let hint = prop_oneof![
        Just(CounterResetHint::Unknown),
        Just(CounterResetHint::NotCounterReset),
        Just(CounterResetHint::CounterReset),
        Just(CounterResetHint::Gauge),
    ];
    let count = prop_oneof![0u64..1000, any::<u64>()];
    let sum = prop_oneof![
        -1e3..1e3f64,
        Just(stale_nan()),
        Just(f64::NAN),
        Just(f64::INFINITY)
    ];
    (
        hint,
        count.clone(),
        count,
        sum,
        proptest::collection::vec(delta.clone(), n_pos),
        proptest::collection::vec(delta, n_neg),
    )
        .prop_map(
            move |(
                counter_reset_hint,
                count,
                zero_count,
                sum,
                positive_buckets,
                negative_buckets,
            )| Histogram {
                counter_reset_hint,
                schema,
                zero_threshold,
                zero_count,
                count,
                sum,
                positive_spans: pos.clone(),
                negative_spans: neg.clone(),
                positive_buckets,
                negative_buckets,
                custom_values: custom_values.clone(),
            },
        )
}

fn histogram_series() -> impl Strategy<Value = Vec<(i64, Histogram)>> {
    (
        layout(),
        layout(),
        proptest::collection::vec((1i64..100_000, any::<bool>()), 1..30),
    )
        .prop_flat_map(|(a, b, steps)| {
            let hs: Vec<_> = steps
                .iter()
                .map(|&(_, second)| histogram_with(if second { b.clone() } else { a.clone() }))
                .collect();
            (Just(steps), hs).prop_map(|(steps, hs)| {
                let mut t = -50_000i64;
                steps
                    .iter()
                    .zip(hs)
                    .map(|(&(dt, _), h)| {
                        t += dt;
                        (t, h)
                    })
                    .collect()
            })
        })
}

proptest! {
    #[test]
    fn round_trips(samples in histogram_series()) {
        let chunks = encode_histograms(samples.iter().map(|(t, h)| (*t, h))).expect("valid input");
        let decoded: Vec<_> = decode_chunks(&chunks).into_iter().flat_map(|(_, s)| s).collect();
        prop_assert_eq!(decoded.len(), samples.len());
        for ((t, want), (got_t, got)) in samples.iter().zip(&decoded) {
            prop_assert_eq!(t, got_t);
            let want = if want.is_stale() {
                Histogram { sum: want.sum, ..Histogram::default() }
            } else {
                Histogram { counter_reset_hint: got.counter_reset_hint, ..want.clone() }
            };
            prop_assert!(want.bitwise_eq(got), "want {:?}\n got {:?}", want, got);
        }
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
        if let Ok(it) = HistogramIter::new(&bytes) {
            let results: Vec<_> = it.collect();
            prop_assert!(results.iter().rev().skip(1).all(Result::is_ok));
        }
    }
}
