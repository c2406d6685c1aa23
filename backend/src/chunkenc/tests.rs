//! Tests of the [`decode`] entry point across encodings, including corrupted real chunks.

use proptest::prelude::*;
use shared::histogram::Span;

use super::*;

fn xor_chunk() -> bytes::Bytes {
    let mut app = XorAppender::new();
    for i in 0..120i64 {
        app.append(
            1_700_000_000_000 + i * 15_000 + (i % 7) * 3,
            (i * i) as f64 * 0.5,
        )
        .expect("increasing");
    }
    app.to_bytes()
}

fn histogram_chunk() -> bytes::Bytes {
    let hs: Vec<_> = (0..20u64)
        .map(|i| Histogram {
            count: 3 * i,
            sum: i as f64,
            positive_spans: vec![
                Span {
                    offset: -1,
                    length: 2,
                },
                Span {
                    offset: 2,
                    length: 1,
                },
            ],
            positive_buckets: vec![i as i64, 0, i as i64],
            ..Histogram::default()
        })
        .collect();
    let chunks =
        encode_histograms(hs.iter().enumerate().map(|(i, h)| (i as i64 * 1000, h))).expect("valid");
    chunks[0].clone()
}

fn float_histogram_chunk() -> bytes::Bytes {
    let hs: Vec<_> = (0..20u64)
        .map(|i| FloatHistogram {
            count: 2.0 * i as f64,
            sum: i as f64 * 1.5,
            negative_spans: vec![Span {
                offset: 0,
                length: 2,
            }],
            negative_buckets: vec![i as f64, i as f64],
            ..FloatHistogram::default()
        })
        .collect();
    let chunks = encode_float_histograms(hs.iter().enumerate().map(|(i, h)| (i as i64 * 1000, h)))
        .expect("valid");
    chunks[0].clone()
}

#[test]
fn decode_dispatches_on_encoding() {
    let xor = xor_chunk();
    let floats: Vec<_> = decode(ChunkEncoding::Xor, &xor)
        .expect("header")
        .collect::<Result<_, _>>()
        .expect("ok");
    assert_eq!(floats.len(), 120);
    assert_eq!(floats[3], (1_700_000_045_009, SampleValue::Float(4.5)));

    let hist = histogram_chunk();
    let mut it = decode(ChunkEncoding::Histogram, &hist).expect("header");
    match it.seek(5_000) {
        Some(Ok((5_000, SampleValue::Histogram(h)))) => {
            assert_eq!(h.positive_counts(), vec![5, 5, 10])
        }
        other => panic!("unexpected {other:?}"),
    }
    assert_eq!(it.count(), 14);

    let fh = float_histogram_chunk();
    let last = decode(ChunkEncoding::FloatHistogram, &fh)
        .expect("header")
        .last();
    match last {
        Some(Ok((19_000, SampleValue::FloatHistogram(h)))) => {
            assert_eq!(h.negative_buckets, vec![19.0, 19.0])
        }
        other => panic!("unexpected {other:?}"),
    }
}

#[test]
fn missing_header_is_an_error() {
    assert_eq!(
        decode(ChunkEncoding::Histogram, &[0, 1]).err(),
        Some(ChunkError::TooShort { len: 2, header: 3 })
    );
    assert!(
        decode(ChunkEncoding::Xor, &[0, 0])
            .expect("empty chunk")
            .next()
            .is_none()
    );
}

fn encoding() -> impl Strategy<Value = ChunkEncoding> {
    prop_oneof![
        Just(ChunkEncoding::Xor),
        Just(ChunkEncoding::Histogram),
        Just(ChunkEncoding::FloatHistogram)
    ]
}

fn drain(encoding: ChunkEncoding, bytes: &[u8]) -> Result<usize, ChunkError> {
    let mut n = 0;
    for item in decode(encoding, bytes)? {
        item?;
        n += 1;
    }
    Ok(n)
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(enc in encoding(), bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
        let mut it = match decode(enc, &bytes) { Ok(it) => it, Err(_) => return Ok(()) };
        let mut errors = 0;
        for item in it.by_ref() {
            if item.is_err() { errors += 1; }
        }
        prop_assert!(errors <= 1);
        prop_assert!(it.next().is_none(), "an exhausted or failed iterator stays exhausted");
    }

    /// Real chunks with corrupted bytes reach deeper decoder states than random bytes do.
    #[test]
    fn corrupted_chunks_never_panic(
        which in 0usize..3,
        edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..4),
        cut in any::<prop::sample::Index>(),
    ) {
        let (enc, chunk) = match which {
            0 => (ChunkEncoding::Xor, xor_chunk()),
            1 => (ChunkEncoding::Histogram, histogram_chunk()),
            _ => (ChunkEncoding::FloatHistogram, float_histogram_chunk()),
        };
        let mut bytes = chunk.to_vec();
        for (at, byte) in edits {
            let i = at.index(bytes.len());
            bytes[i] = byte;
        }
        let _ = drain(enc, &bytes);
        let len = cut.index(bytes.len());
        let _ = drain(enc, &bytes[..len]);
    }
}
