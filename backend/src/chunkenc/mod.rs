//! Prometheus chunk codecs, bit-exact with upstream `tsdb/chunkenc`: XOR float chunks, histogram
//! chunks (integer counts) and float-histogram chunks, both directions.
//!
//! This module turns bytes into samples and back. It knows nothing about series, labels, stores or
//! the wire protocol; [`crate::storeapi`] carries the bytes and names the [`ChunkEncoding`].
//!
//! # Decoding
//! - [`decode`]`(encoding, data)` returns a [`SampleIter`], an iterator of
//!   `Result<(i64, SampleValue), ChunkError>`; floats come out without allocating, histograms boxed.
//! - For the float fast path use [`XorIter::new`] directly: an iterator of
//!   `Result<shared::series::Sample, ChunkError>`.
//! - [`HistogramIter`] yields `(i64, Histogram)` and [`FloatHistogramIter`] `(i64, FloatHistogram)`.
//! - Every decoder has `seek(t_ms)`: the first sample with `t >= t_ms`, counting the last sample
//!   returned (upstream `Seek` then `At`). Decoders never panic: malformed input yields one
//!   `Err(ChunkError)` and then `None`.
//! - Histograms keep Prometheus's representation: [`Histogram`] buckets are delta-encoded, float
//!   buckets absolute. A stale sample decodes as a histogram whose only set field is the stale `sum`
//!   (as upstream `AtHistogram`). The per-sample [`CounterResetHint`] is `Gauge` in gauge chunks,
//!   `NotCounterReset` after the first sample and `Unknown` for the first (upstream `counterResetHint`);
//!   the chunk's own header is [`HistogramIter::header`]. Schemas 9..=52 are returned as read
//!   (upstream would reduce them to 8).
//!
//! - Speed (`benches/chunk_codec.rs`): the XOR decoder reads through a `u64` bit buffer that is
//!   topped up eight bytes at a time without branching (`bits`), decodes each later sample's
//!   timestamp prefix and value control bits from one peeked word, and keeps the reader inlined into
//!   the caller's loop so its state lives in registers (an out-of-line call taking the reader by
//!   reference, even on the cold varint path, would pin it to memory).
//!
//! # Encoding
//! - [`XorAppender::append`]`(t_ms, v)` then [`XorAppender::to_bytes`]. Timestamps must strictly
//!   increase ([`ChunkError::NonIncreasingTimestamp`]; upstream's appender leaves that check to the
//!   head); values are stored by bits (NaN payloads and the stale marker survive). A full chunk
//!   (`u16::MAX` samples) gives [`ChunkError::ChunkFull`] where upstream panics.
//! - Bytes are those of current upstream `bstream.go`: the last byte is zero-padded and never empty.
//!   Prometheus 2.x's older `writeByte` could leave one extra zero byte at the end; readers ignore it
//!   (`backend/tests/chunkenc_prometheus.rs` compares our encoding with promtool-written blocks).
//! - [`HistogramAppender::append`]`(t_ms, &Histogram)` and [`FloatHistogramAppender::append`] return
//!   [`Appended::Yes`], or [`Appended::NeedsNewChunk`] with the [`CounterResetHeader`] the next chunk
//!   must be created with ([`HistogramAppender::with_header`]); the sample was then not appended.
//!   [`encode_histograms`] and [`encode_float_histograms`] do that loop and return all chunks.
//!   A stale histogram (stale-marker `sum`) is written as upstream does: only its sum survives.
//! - Where upstream cuts a new chunk (counter reset, schema or zero-threshold change, custom bounds
//!   change, after a stale sample, gauge/counter switch), we cut with the same header. Where upstream
//!   would *recode* the open chunk because the bucket layout changed (new buckets: forward inserts;
//!   buckets missing from the new sample: backward inserts), we instead cut a new chunk whose header is
//!   `NotCounterReset` (or `Gauge` for gauge histograms): every chunk we write is one upstream could
//!   have written, and decodes to the same samples; chunks may be cut earlier than upstream's.
//!
//! # Layout
//! `bits` (bit streams), `varbit` (variable-width integers), `xor` (float chunks and the XOR value
//! codec), `layout` (histogram header bits and bucket layout), `frame` (what histogram appenders and
//! iterators do with the header), `histogram`, `float_histogram`.

mod bits;
mod float_histogram;
mod frame;
mod histogram;
mod layout;
mod varbit;
mod xor;

pub use float_histogram::{FloatHistogramAppender, FloatHistogramIter, encode_float_histograms};
pub use histogram::{HistogramAppender, HistogramIter, encode_histograms};
pub use layout::{Appended, CounterResetHeader};
pub use xor::{XorAppender, XorIter};

use shared::histogram::{CounterResetHint, FloatHistogram, Histogram};

use crate::storeapi::ChunkEncoding;

/// Everything that can go wrong encoding or decoding a chunk.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChunkError {
    /// The data cannot even hold the chunk header.
    #[error("chunk of {len} bytes is shorter than its {header}-byte header")]
    TooShort {
        /// Bytes given.
        len: usize,
        /// Header size of the format.
        header: usize,
    },
    /// The bit stream ended inside a sample the header announced.
    #[error("chunk data ends inside sample {sample}")]
    Truncated {
        /// Index of the sample being read.
        sample: u16,
    },
    /// A varint timestamp is longer than 64 bits.
    #[error("varint overflows 64 bits in sample {sample}")]
    VarintOverflow {
        /// Index of the sample being read.
        sample: u16,
    },
    /// An XOR value's window claims more than 64 significant bits.
    #[error(
        "XOR value window of {leading} leading zeros and {sig} significant bits in sample {sample}"
    )]
    BadXorWindow {
        /// Index of the sample being read.
        sample: u16,
        /// Leading zero count read.
        leading: u32,
        /// Significant bit count read.
        sig: u32,
    },
    /// A histogram chunk names a schema Prometheus does not know.
    #[error("unknown histogram schema {schema}")]
    UnknownSchema {
        /// The schema read or given.
        schema: i64,
    },
    /// A histogram layout declares more spans, buckets or bounds than the chunk could possibly hold.
    #[error(
        "histogram layout declares {count} {what}, more than the chunk's {bits_left} remaining bits allow"
    )]
    LayoutTooLarge {
        /// What was counted (spans, buckets, custom bounds).
        what: &'static str,
        /// The declared count.
        count: u64,
        /// Bits left in the chunk at that point.
        bits_left: u64,
    },
    /// A timestamp did not increase.
    #[error("timestamp {t_ms} does not follow {prev_ms}")]
    NonIncreasingTimestamp {
        /// Timestamp of the previous sample.
        prev_ms: i64,
        /// Timestamp rejected.
        t_ms: i64,
    },
    /// The chunk already holds `u16::MAX` samples.
    #[error("chunk is full ({} samples)", u16::MAX)]
    ChunkFull,
    /// A histogram's spans and bucket counts disagree.
    #[error("{side} spans describe {spans} buckets but {buckets} are given")]
    BucketCountMismatch {
        /// "positive" or "negative".
        side: &'static str,
        /// Buckets the spans describe.
        spans: u64,
        /// Bucket counts given.
        buckets: usize,
    },
    /// Custom bucket bounds were given for an exponential schema (they would be lost).
    #[error("custom bucket bounds given for exponential schema {schema}")]
    UnexpectedCustomValues {
        /// The histogram's schema.
        schema: i32,
    },
}

/// One decoded sample value.
#[derive(Debug, Clone, PartialEq)]
pub enum SampleValue {
    /// From an XOR chunk.
    Float(f64),
    /// From a histogram chunk.
    Histogram(Box<Histogram>),
    /// From a float-histogram chunk.
    FloatHistogram(Box<FloatHistogram>),
}

/// Decoder for any chunk encoding; see [`decode`].
#[derive(Debug, Clone)]
pub enum SampleIter<'a> {
    /// XOR float chunk.
    Xor(XorIter<'a>),
    /// Histogram chunk.
    Histogram(HistogramIter<'a>),
    /// Float-histogram chunk.
    FloatHistogram(FloatHistogramIter<'a>),
}

/// A decoder for `data` in the given encoding. Fails only when the header is missing; errors inside
/// the data come from the iterator.
pub fn decode(encoding: ChunkEncoding, data: &[u8]) -> Result<SampleIter<'_>, ChunkError> {
    Ok(match encoding {
        ChunkEncoding::Xor => SampleIter::Xor(XorIter::new(data)?),
        ChunkEncoding::Histogram => SampleIter::Histogram(HistogramIter::new(data)?),
        ChunkEncoding::FloatHistogram => SampleIter::FloatHistogram(FloatHistogramIter::new(data)?),
    })
}

type Decoded = Result<(i64, SampleValue), ChunkError>;

impl SampleIter<'_> {
    /// The first sample with `t >= target_ms`, counting the last sample returned.
    pub fn seek(&mut self, target_ms: i64) -> Option<Decoded> {
        Some(match self {
            Self::Xor(it) => it
                .seek(target_ms)?
                .map(|s| (s.t_ms, SampleValue::Float(s.v))),
            Self::Histogram(it) => it
                .seek(target_ms)?
                .map(|(t, h)| (t, SampleValue::Histogram(Box::new(h)))),
            Self::FloatHistogram(it) => it
                .seek(target_ms)?
                .map(|(t, h)| (t, SampleValue::FloatHistogram(Box::new(h)))),
        })
    }
}

impl Iterator for SampleIter<'_> {
    type Item = Decoded;

    #[inline]
    fn next(&mut self) -> Option<Decoded> {
        Some(match self {
            Self::Xor(it) => it.next()?.map(|s| (s.t_ms, SampleValue::Float(s.v))),
            Self::Histogram(it) => it
                .next()?
                .map(|(t, h)| (t, SampleValue::Histogram(Box::new(h)))),
            Self::FloatHistogram(it) => it
                .next()?
                .map(|(t, h)| (t, SampleValue::FloatHistogram(Box::new(h)))),
        })
    }
}

/// The per-sample hint upstream derives from the chunk header (`counterResetHint` in
/// `tsdb/chunkenc/histogram_meta.go`); `index` counts from 0.
fn sample_hint(header: CounterResetHeader, index: u16) -> CounterResetHint {
    match header {
        CounterResetHeader::Gauge => CounterResetHint::Gauge,
        _ if index > 0 => CounterResetHint::NotCounterReset,
        _ => CounterResetHint::Unknown,
    }
}

#[cfg(test)]
mod tests;
