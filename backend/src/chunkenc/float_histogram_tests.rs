//! Tests for float-histogram chunks: golden bytes, chunk cutting and property round trips.

use proptest::prelude::*;
use shared::histogram::Span;
use shared::series::stale_nan;

use super::super::histogram::tests::{LayoutParts, layout};
use super::*;

fn one_bucket(count: f64) -> FloatHistogram {
    FloatHistogram {
        count,
        sum: count,
        positive_spans: vec![Span {
            offset: 0,
            length: 1,
        }],
        positive_buckets: vec![count],
        ..FloatHistogram::default()
    }
}

fn decode_chunks(chunks: &[Bytes]) -> Vec<(CounterResetHeader, Vec<(i64, FloatHistogram)>)> {
    chunks
        .iter()
        .map(|c| {
            let it = FloatHistogramIter::new(c).expect("header");
            (
                it.header(),
                it.collect::<Result<Vec<_>, _>>().expect("valid chunk"),
            )
        })
        .collect()
}

/// Derived by hand: header `00 01 00`; threshold byte `00`; schema `0`; one span `10001`, length
/// `10001`, offset `0`; no negative spans `0`; t=0 `0`; then count 1.0, zero count 0.0, sum 1.0 and the
/// bucket 1.0, each as 64 raw bits (1.0 = 0x3FF0.., shifted by the 14 bits before it).
#[test]
fn golden_single_sample() {
    let mut app = FloatHistogramAppender::new();
    assert_eq!(app.append(0, &one_bucket(1.0)), Ok(Appended::Yes));
    let mut expected = vec![0x00, 0x01, 0x00, 0x00, 0x46, 0x20, 0xFF, 0xC0];
    expected.extend([0; 14]);
    expected.extend([0xFF, 0xC0]);
    expected.extend([0; 6]);
    expected.extend([0xFF, 0xC0]);
    expected.extend([0; 6]);
    assert_eq!(app.to_bytes().as_ref(), expected.as_slice());
}

#[test]
fn cut_headers_follow_upstream() {
    let gauge = FloatHistogram {
        counter_reset_hint: CounterResetHint::Gauge,
        ..one_bucket(3.0)
    };
    let samples = [
        (1, one_bucket(5.0)),
        (2, one_bucket(2.0)),
        (3, gauge),
        (4, one_bucket(4.0)),
    ];
    let chunks = encode_float_histograms(samples.iter().map(|(t, h)| (*t, h))).expect("valid");
    let headers: Vec<_> = decode_chunks(&chunks).into_iter().map(|(h, _)| h).collect();
    assert_eq!(
        headers,
        vec![
            CounterResetHeader::Unknown,
            CounterResetHeader::CounterReset,
            CounterResetHeader::Gauge,
            CounterResetHeader::Unknown
        ]
    );
}

#[test]
fn stale_sample_round_trips() {
    let stale = FloatHistogram {
        sum: stale_nan(),
        ..one_bucket(7.0)
    };
    let chunks = encode_float_histograms([(1, &one_bucket(1.0)), (2, &stale)]).expect("valid");
    let decoded = decode_chunks(&chunks);
    assert_eq!(decoded.len(), 1);
    assert!(decoded[0].1[1].1.bitwise_eq(&FloatHistogram {
        sum: stale_nan(),
        ..FloatHistogram::default()
    }));
}

fn float_value() -> impl Strategy<Value = f64> {
    prop_oneof![
        0.0..1e6f64,
        any::<u64>().prop_map(f64::from_bits),
        Just(f64::NAN),
        Just(f64::INFINITY),
        Just(0.0)
    ]
}

fn histogram_with(parts: LayoutParts) -> impl Strategy<Value = FloatHistogram> {
    let (schema, zero_threshold, pos, neg, custom_values) = parts;
    let n_pos = shared::histogram::bucket_count(&pos) as usize;
    let n_neg = shared::histogram::bucket_count(&neg) as usize;
    let hint = prop_oneof![
        Just(CounterResetHint::Unknown),
        Just(CounterResetHint::NotCounterReset),
        Just(CounterResetHint::CounterReset),
        Just(CounterResetHint::Gauge),
    ];
    let sum = prop_oneof![float_value(), Just(stale_nan())];
    (
        hint,
        float_value(),
        float_value(),
        sum,
        proptest::collection::vec(float_value(), n_pos),
        proptest::collection::vec(float_value(), n_neg),
    )
        .prop_map(
            move |(
                counter_reset_hint,
                count,
                zero_count,
                sum,
                positive_buckets,
                negative_buckets,
            )| {
                FloatHistogram {
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
                }
            },
        )
}

fn series() -> impl Strategy<Value = Vec<(i64, FloatHistogram)>> {
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
                let mut t = 0i64;
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
    fn round_trips(samples in series()) {
        let chunks = encode_float_histograms(samples.iter().map(|(t, h)| (*t, h))).expect("valid input");
        let decoded: Vec<_> = decode_chunks(&chunks).into_iter().flat_map(|(_, s)| s).collect();
        prop_assert_eq!(decoded.len(), samples.len());
        for ((t, want), (got_t, got)) in samples.iter().zip(&decoded) {
            prop_assert_eq!(t, got_t);
            let want = if want.is_stale() {
                FloatHistogram { sum: want.sum, ..FloatHistogram::default() }
            } else {
                FloatHistogram { counter_reset_hint: got.counter_reset_hint, ..want.clone() }
            };
            prop_assert!(want.bitwise_eq(got), "want {:?}\n got {:?}", want, got);
        }
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
        if let Ok(it) = FloatHistogramIter::new(&bytes) {
            let results: Vec<_> = it.collect();
            prop_assert!(results.iter().rev().skip(1).all(Result::is_ok));
        }
    }
}
