//! Tests for the XOR chunk codec: hand-computed golden bytes and property round trips.

use proptest::prelude::*;
use shared::series::{STALE_NAN_BITS, Sample};

use super::*;

fn encode(samples: &[(i64, f64)]) -> Bytes {
    let mut app = XorAppender::new();
    for &(t, v) in samples {
        app.append(t, v).expect("increasing timestamps");
    }
    app.to_bytes()
}

fn decode_all(bytes: &[u8]) -> Vec<(i64, u64)> {
    XorIter::new(bytes)
        .expect("header")
        .map(|s| s.map(|s| (s.t_ms, s.v.to_bits())))
        .collect::<Result<_, _>>()
        .expect("valid chunk")
}

/// Derived by hand from the format (see the module doc):
/// - count 4 -> `00 04`
/// - t=1000: zig-zag 2000 as uvarint -> `D0 0F`; v=1.0 -> `3F F0 00 00 00 00 00 00`
/// - t delta 15000 as uvarint -> `98 75`; v=2.0: xor 0x7FF0.. has 1 leading and 52 trailing zeros,
///   so `11` `00001` `001011` `11111111111` -> `C2 5F FF`
/// - t=31000 (dod 0) `0`, same value `0`; t=46005 (dod 5) `10` `00000000000101`; v=3.0: xor
///   0x0008.. (12 leading, 51 trailing) does not fit the old window: `11` `01100` `000001` `1`
///   -> `20 01 76 03`
#[test]
fn golden_four_samples() {
    let samples = [(1000, 1.0), (16000, 2.0), (31000, 2.0), (46005, 3.0)];
    let bytes = encode(&samples);
    let expected: [u8; 21] = [
        0x00, 0x04, 0xD0, 0x0F, 0x3F, 0xF0, 0, 0, 0, 0, 0, 0, 0x98, 0x75, 0xC2, 0x5F, 0xFF, 0x20,
        0x01, 0x76, 0x03,
    ];
    assert_eq!(bytes.as_ref(), &expected);
    let back = decode_all(&bytes);
    assert_eq!(
        back,
        samples
            .iter()
            .map(|&(t, v)| (t, f64::to_bits(v)))
            .collect::<Vec<_>>()
    );
}

/// One sample with a negative timestamp: zig-zag(-1) = 1 -> `01`, then the stale marker's bits.
#[test]
fn golden_single_stale_sample() {
    let bytes = encode(&[(-1, f64::from_bits(STALE_NAN_BITS))]);
    assert_eq!(
        bytes.as_ref(),
        &[0x00, 0x01, 0x01, 0x7F, 0xF0, 0, 0, 0, 0, 0, 0x02]
    );
}

/// The window-reuse branch: 2.0 -> 3.0 -> 2.0 gives the same xor twice, the second time as `10` + 1 bit.
#[test]
fn golden_window_reuse() {
    let bytes = encode(&[(0, 2.0), (1, 3.0), (2, 2.0)]);
    // 00 03 | t 0 -> 00 | 40 00.. | delta 1 -> 01 | 11 01100 000001 1 | dod `0` | `10` `1` | padding
    // bits after the t-delta byte: 1101 1000 0000 1101 01(00 0000)
    assert_eq!(
        bytes.as_ref(),
        &[
            0x00, 0x03, 0x00, 0x40, 0, 0, 0, 0, 0, 0, 0, 0x01, 0xD8, 0x0D, 0x40
        ]
    );
    assert_eq!(decode_all(&bytes).len(), 3);
}

#[test]
fn rejects_non_increasing_timestamps() {
    let mut app = XorAppender::new();
    app.append(10, 1.0).expect("first");
    assert_eq!(
        app.append(10, 1.0),
        Err(ChunkError::NonIncreasingTimestamp {
            prev_ms: 10,
            t_ms: 10
        })
    );
    assert_eq!(
        app.append(9, 1.0),
        Err(ChunkError::NonIncreasingTimestamp {
            prev_ms: 10,
            t_ms: 9
        })
    );
    assert_eq!(app.num_samples(), 1);
}

#[test]
fn extreme_timestamps_round_trip() {
    let samples = [
        (i64::MIN, 0.0),
        (-1, 1.0),
        (i64::MAX - 1, f64::INFINITY),
        (i64::MAX, f64::NEG_INFINITY),
    ];
    let bytes = encode(&samples);
    assert_eq!(
        decode_all(&bytes),
        samples
            .iter()
            .map(|&(t, v)| (t, v.to_bits()))
            .collect::<Vec<_>>()
    );
}

#[test]
fn seek_includes_the_current_sample() {
    let bytes = encode(&[(10, 1.0), (20, 2.0), (30, 3.0)]);
    let mut it = XorIter::new(&bytes).expect("header");
    assert_eq!(it.seek(15), Some(Ok(Sample { t_ms: 20, v: 2.0 })));
    assert_eq!(it.seek(5), Some(Ok(Sample { t_ms: 20, v: 2.0 })));
    assert_eq!(it.next(), Some(Ok(Sample { t_ms: 30, v: 3.0 })));
    assert_eq!(it.seek(31), None);
}

#[test]
fn truncated_chunk_errors_once() {
    let bytes = encode(&[(1000, 1.0), (16000, 2.0), (31000, 2.5)]);
    let cut = &bytes[..bytes.len() - 2];
    let results: Vec<_> = XorIter::new(cut).expect("header").collect();
    assert_eq!(results.len(), 3);
    assert!(matches!(
        results[2],
        Err(ChunkError::Truncated { sample: 2 })
    ));
    assert_eq!(
        XorIter::new(&[0]).err(),
        Some(ChunkError::TooShort { len: 1, header: 2 })
    );
}

/// Floats that stress the XOR path: special values, repeats and small changes.
fn value() -> impl Strategy<Value = f64> {
    prop_oneof![
        any::<u64>().prop_map(f64::from_bits),
        Just(f64::from_bits(STALE_NAN_BITS)),
        Just(f64::NAN),
        Just(f64::INFINITY),
        Just(f64::NEG_INFINITY),
        Just(0.0),
        Just(-0.0),
        (0u32..1000).prop_map(f64::from),
        (-1e6..1e6f64),
    ]
}

/// Strictly increasing timestamps with regular, jittered, tiny and huge steps.
fn timestamps(n: usize) -> impl Strategy<Value = Vec<i64>> {
    let step = prop_oneof![
        4 => Just(15_000i64),
        4 => 14_000i64..16_000,
        2 => 1i64..3,
        1 => 1i64..=i64::MAX / 4,
    ];
    (any::<i64>(), proptest::collection::vec(step, n)).prop_map(|(start, steps)| {
        let mut t = start;
        let mut out = vec![t];
        for s in steps {
            match t.checked_add(s) {
                Some(next) => {
                    t = next;
                    out.push(t);
                }
                None => break,
            }
        }
        out
    })
}

fn series() -> impl Strategy<Value = Vec<(i64, f64)>> {
    (0usize..200).prop_flat_map(|n| {
        (timestamps(n), proptest::collection::vec(value(), n + 1))
            .prop_map(|(ts, vs)| ts.into_iter().zip(vs).collect::<Vec<_>>())
    })
}

proptest! {
    #[test]
    fn round_trips_by_bits(samples in series()) {
        let bytes = encode(&samples);
        let expected: Vec<_> = samples.iter().map(|&(t, v)| (t, v.to_bits())).collect();
        prop_assert_eq!(decode_all(&bytes), expected);
    }

    #[test]
    fn seek_finds_first_at_or_after(samples in series(), target in any::<i64>()) {
        let bytes = encode(&samples);
        let mut it = XorIter::new(&bytes).expect("header");
        let got = it.seek(target).map(|r| r.expect("valid").t_ms);
        prop_assert_eq!(got, samples.iter().map(|s| s.0).find(|&t| t >= target));
    }

    #[test]
    fn truncated_chunk_decodes_a_prefix_then_one_error(
        samples in series(),
        cut in any::<prop::sample::Index>(),
    ) {
        let bytes = encode(&samples);
        // Every cut drops real bits: the encoder never writes an empty last byte.
        let cut = 2 + cut.index(bytes.len() - 2);
        let results: Vec<_> = XorIter::new(&bytes[..cut]).expect("header").collect();
        let (last, decoded) = results.split_last().expect("a cut chunk still yields its error");
        let k = decoded.len();
        prop_assert!(k < samples.len());
        prop_assert_eq!(last, &Err(ChunkError::Truncated { sample: k as u16 }));
        for (got, &(t, v)) in decoded.iter().zip(&samples) {
            let got = got.as_ref().expect("samples before the cut decode");
            prop_assert_eq!((got.t_ms, got.v.to_bits()), (t, v.to_bits()));
        }
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
        if let Ok(it) = XorIter::new(&bytes) {
            let results: Vec<_> = it.collect();
            // At most one error, and only at the end.
            prop_assert!(results.iter().rev().skip(1).all(Result::is_ok));
        }
    }
}
