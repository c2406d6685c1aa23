//! What histogram and float-histogram chunks share (upstream `tsdb/chunkenc/histogram_meta.go`):
//! the counter-reset bits of the 3-byte header (`frame` keeps the header itself current), the
//! bucket layout written before the first sample (zero threshold, schema, spans, custom bounds),
//! and the comparisons the appenders' decisions to cut a new chunk are made of.
//!
//! It knows nothing about how counts are encoded per sample.

use shared::histogram::{
    CUSTOM_BUCKETS_SCHEMA, Span, bucket_count, bucket_indices, is_known_schema,
};

use super::ChunkError;
use super::bits::{BitReader, BitWriter};
use super::varbit::{put_varbit_int, put_varbit_uint, read_varbit_int, read_varbit_uint};

/// Header size of histogram chunks: 2-byte sample count and 1 flag byte.
pub(crate) const HISTOGRAM_HEADER_LEN: usize = 3;
/// The counter-reset bits of the flag byte.
const HEADER_MASK: u8 = 0b1100_0000;

/// The top two bits of a histogram chunk's third byte: why the chunk was started.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum CounterResetHeader {
    /// Not known whether a counter reset preceded the chunk (`0b00`).
    #[default]
    Unknown,
    /// The chunk starts right after a counter reset (`0b10`).
    CounterReset,
    /// The chunk continues a counter without reset (`0b01`).
    NotCounterReset,
    /// The chunk holds gauge histograms (`0b11`).
    Gauge,
}

impl CounterResetHeader {
    /// The flag byte bits.
    pub fn bits(self) -> u8 {
        match self {
            Self::Unknown => 0b0000_0000,
            Self::CounterReset => 0b1000_0000,
            Self::NotCounterReset => 0b0100_0000,
            Self::Gauge => 0b1100_0000,
        }
    }

    /// Reads the header from a flag byte (the low six bits are ignored).
    pub fn from_flags(flags: u8) -> Self {
        match flags & HEADER_MASK {
            0b1000_0000 => Self::CounterReset,
            0b0100_0000 => Self::NotCounterReset,
            0b1100_0000 => Self::Gauge,
            _ => Self::Unknown,
        }
    }
}

/// Outcome of appending to a histogram chunk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[must_use = "a sample that needs a new chunk was not appended"]
pub enum Appended {
    /// The sample is in the chunk.
    Yes,
    /// The sample was not appended: finish this chunk and append it to a new one with this header.
    NeedsNewChunk(CounterResetHeader),
}

/// The bucket layout fixed by a chunk's first sample.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Layout {
    pub(crate) schema: i32,
    pub(crate) zero_threshold: f64,
    pub(crate) positive_spans: Vec<Span>,
    pub(crate) negative_spans: Vec<Span>,
    pub(crate) custom_values: Vec<f64>,
}

impl Layout {
    /// Upstream `writeHistogramChunkLayout`.
    pub(crate) fn write(&self, w: &mut BitWriter) {
        write_zero_threshold(w, self.zero_threshold);
        put_varbit_int(w, i64::from(self.schema));
        write_spans(w, &self.positive_spans);
        write_spans(w, &self.negative_spans);
        if self.schema == CUSTOM_BUCKETS_SCHEMA {
            put_varbit_uint(w, self.custom_values.len() as u64);
            for &bound in &self.custom_values {
                write_custom_bound(w, bound);
            }
        }
    }

    /// Upstream `readHistogramChunkLayout` plus its known-schema check. Counts are bounded by the bits
    /// left, so malformed input cannot make us allocate more than the input's size warrants.
    pub(crate) fn read(r: &mut BitReader<'_>) -> Result<Self, ChunkError> {
        let end = |_| ChunkError::Truncated { sample: 0 };
        let zero_threshold = read_zero_threshold(r)?;
        let schema = read_varbit_int(r).map_err(end)?;
        // Upstream truncates to int32 before checking.
        let schema32 = schema as i32;
        let positive_spans = read_spans(r)?;
        let negative_spans = read_spans(r)?;
        let mut custom_values = Vec::new();
        if schema32 == CUSTOM_BUCKETS_SCHEMA {
            let n = bounded_count(r, "custom bounds")?;
            custom_values.reserve(n);
            for _ in 0..n {
                custom_values.push(read_custom_bound(r)?);
            }
        }
        if !is_known_schema(schema32) {
            return Err(ChunkError::UnknownSchema { schema });
        }
        let buckets = bucket_count(&positive_spans) + bucket_count(&negative_spans);
        if buckets > r.remaining_bits() {
            return Err(ChunkError::LayoutTooLarge {
                what: "buckets",
                count: buckets,
                bits_left: r.remaining_bits(),
            });
        }
        Ok(Self {
            schema: schema32,
            zero_threshold,
            positive_spans,
            negative_spans,
            custom_values,
        })
    }

    /// Whether a sample with this schema and threshold shares the bucket boundaries (upstream compares
    /// the floats with `!=`, so a NaN threshold never matches).
    pub(crate) fn same_resolution(&self, schema: i32, zero_threshold: f64) -> bool {
        self.schema == schema && self.zero_threshold == zero_threshold
    }

    /// Upstream `CustomBucketBoundsMatch` (float `==`).
    pub(crate) fn same_custom_values(&self, custom_values: &[f64]) -> bool {
        self.custom_values.len() == custom_values.len()
            && self
                .custom_values
                .iter()
                .zip(custom_values)
                .all(|(a, b)| a == b)
    }

    /// Whether the sample has exactly this chunk's spans.
    pub(crate) fn same_spans(&self, positive: &[Span], negative: &[Span]) -> bool {
        self.positive_spans == positive && self.negative_spans == negative
    }
}

/// Checks what an encoder needs of a histogram: a known schema, custom bounds only with the custom
/// schema, and as many bucket counts as the spans describe.
pub(crate) fn validate(
    schema: i32,
    custom_values: &[f64],
    sides: [(&'static str, &[Span], usize); 2],
) -> Result<(), ChunkError> {
    if !is_known_schema(schema) {
        return Err(ChunkError::UnknownSchema {
            schema: i64::from(schema),
        });
    }
    if schema != CUSTOM_BUCKETS_SCHEMA && !custom_values.is_empty() {
        return Err(ChunkError::UnexpectedCustomValues { schema });
    }
    for (side, spans, buckets) in sides {
        let described = bucket_count(spans);
        if described != buckets as u64 {
            return Err(ChunkError::BucketCountMismatch {
                side,
                spans: described,
                buckets,
            });
        }
    }
    Ok(())
}

/// Whether any bucket went down from `old` to `new` (by bucket index), which upstream reads as a
/// counter reset (`expandIntSpansAndBuckets`/`expandFloatSpansAndBuckets`): a bucket present in both
/// with a smaller count, or a bucket with a non-zero count that disappeared.
pub(crate) fn buckets_decreased<T: Copy + PartialOrd + Default>(
    old_spans: &[Span],
    old: &[T],
    new_spans: &[Span],
    new: &[T],
) -> bool {
    let mut old_it = bucket_indices(old_spans)
        .zip(old.iter().copied())
        .peekable();
    let mut new_it = bucket_indices(new_spans)
        .zip(new.iter().copied())
        .peekable();
    while let Some(&(oi, ov)) = old_it.peek() {
        match new_it.peek() {
            Some(&(ni, _)) if ni < oi => {
                new_it.next();
            }
            Some(&(ni, nv)) if ni == oi => {
                if nv < ov {
                    return true;
                }
                old_it.next();
                new_it.next();
            }
            _ => {
                if ov != T::default() {
                    return true;
                }
                old_it.next();
            }
        }
    }
    false
}

fn write_spans(w: &mut BitWriter, spans: &[Span]) {
    put_varbit_uint(w, spans.len() as u64);
    for s in spans {
        put_varbit_uint(w, u64::from(s.length));
        put_varbit_int(w, i64::from(s.offset));
    }
}

fn read_spans(r: &mut BitReader<'_>) -> Result<Vec<Span>, ChunkError> {
    let end = |_| ChunkError::Truncated { sample: 0 };
    let n = bounded_count(r, "spans")?;
    let mut spans = Vec::with_capacity(n);
    for _ in 0..n {
        // Upstream truncates to uint32/int32.
        let length = read_varbit_uint(r).map_err(end)? as u32;
        let offset = read_varbit_int(r).map_err(end)? as i32;
        spans.push(Span { offset, length });
    }
    Ok(spans)
}

/// Reads a count of items that each take at least one bit, rejecting counts the data cannot hold.
fn bounded_count(r: &mut BitReader<'_>, what: &'static str) -> Result<usize, ChunkError> {
    let count = read_varbit_uint(r).map_err(|_| ChunkError::Truncated { sample: 0 })?;
    let bits_left = r.remaining_bits();
    if count > bits_left {
        return Err(ChunkError::LayoutTooLarge {
            what,
            count,
            bits_left,
        });
    }
    Ok(count as usize)
}

/// Upstream `putZeroThreshold`: 0 as byte 0; a power of two 2^(e-1) with -242 <= e <= 11 as byte
/// e+243; anything else as byte 255 and the 64 float bits.
fn write_zero_threshold(w: &mut BitWriter, threshold: f64) {
    if threshold == 0.0 {
        w.write_byte(0);
        return;
    }
    let bits = threshold.to_bits();
    let biased = ((bits >> 52) & 0x7ff) as i32;
    // A positive normal float with an empty mantissa is what Go's Frexp reports as frac == 0.5.
    let power_of_two =
        bits >> 63 == 0 && bits & ((1 << 52) - 1) == 0 && biased != 0 && biased != 0x7ff;
    let exp = biased - 1022;
    if power_of_two && (-242..=11).contains(&exp) {
        w.write_byte((exp + 243) as u8);
    } else {
        w.write_byte(255);
        w.write_bits(bits, 64);
    }
}

fn read_zero_threshold(r: &mut BitReader<'_>) -> Result<f64, ChunkError> {
    let end = |_| ChunkError::Truncated { sample: 0 };
    Ok(match r.read_byte().map_err(end)? {
        0 => 0.0,
        255 => f64::from_bits(r.read_bits(64).map_err(end)?),
        // 0.5 * 2^(b-243) = 2^(b-244), a normal float for every b in 1..=254.
        b => f64::from_bits(((i64::from(b) - 244 + 1023) as u64) << 52),
    })
}

/// Upstream `putCustomBound`: bounds that are whole thousandths in `0..=33554.430` as varbit
/// `round(f*1000)+1`, others as a zero varbit and the 64 float bits.
fn write_custom_bound(w: &mut BitWriter, bound: f64) {
    let thousandths = bound * 1000.0;
    let whole = (bound * 1000.0).round() as u64 as f64 / 1000.0 == bound;
    if !(0.0..=33_554_430.0).contains(&thousandths) || !whole {
        w.write_bit(false);
        w.write_bits(bound.to_bits(), 64);
    } else {
        put_varbit_uint(w, thousandths.round() as u64 + 1);
    }
}

fn read_custom_bound(r: &mut BitReader<'_>) -> Result<f64, ChunkError> {
    let end = |_| ChunkError::Truncated { sample: 0 };
    Ok(match read_varbit_uint(r).map_err(end)? {
        0 => f64::from_bits(r.read_bits(64).map_err(end)?),
        b => (b - 1) as f64 / 1000.0,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layout_round_trip(layout: &Layout) -> Layout {
        let mut w = BitWriter::with_header(0);
        layout.write(&mut w);
        w.write_bits(0, 64); // room for the bucket-count bound check
        let bytes = w.to_bytes();
        Layout::read(&mut BitReader::new(&bytes)).expect("valid layout")
    }

    #[test]
    fn zero_threshold_encodings() {
        for (threshold, first_byte) in [
            (0.0, 0u8),
            (0.5, 243),
            (1.0, 244),
            (2f64.powi(-128), 116),
            (0.3, 255),
        ] {
            let mut w = BitWriter::with_header(0);
            write_zero_threshold(&mut w, threshold);
            let bytes = w.to_bytes();
            assert_eq!(bytes[0], first_byte, "threshold {threshold}");
            let back = read_zero_threshold(&mut BitReader::new(&bytes)).expect("complete");
            assert_eq!(back.to_bits(), threshold.to_bits());
        }
    }

    #[test]
    fn custom_bounds_round_trip() {
        let layout = Layout {
            schema: CUSTOM_BUCKETS_SCHEMA,
            zero_threshold: 0.0,
            positive_spans: vec![Span {
                offset: 0,
                length: 4,
            }],
            negative_spans: vec![],
            custom_values: vec![0.005, 1.0, 33554.43, 1e9, -2.5, 0.1 + 0.2],
        };
        let back = layout_round_trip(&layout);
        assert_eq!(back.custom_values.len(), layout.custom_values.len());
        for (a, b) in back.custom_values.iter().zip(&layout.custom_values) {
            assert_eq!(a.to_bits(), b.to_bits());
        }
        assert_eq!(back.positive_spans, layout.positive_spans);
    }

    #[test]
    fn unknown_schema_is_rejected() {
        let layout = Layout {
            schema: 60,
            ..Layout::default()
        };
        let mut w = BitWriter::with_header(0);
        layout.write(&mut w);
        let bytes = w.to_bytes();
        assert_eq!(
            Layout::read(&mut BitReader::new(&bytes)),
            Err(ChunkError::UnknownSchema { schema: 60 })
        );
    }

    #[test]
    fn bucket_decrease_detection() {
        let a = [Span {
            offset: 0,
            length: 2,
        }];
        let b = [Span {
            offset: 0,
            length: 3,
        }];
        assert!(!buckets_decreased(&a, &[1, 2], &b, &[1, 2, 0]));
        assert!(buckets_decreased(&a, &[1, 2], &b, &[1, 1, 5]));
        assert!(!buckets_decreased(&b, &[1, 2, 0], &a, &[1, 2]));
        assert!(buckets_decreased(&b, &[1, 2, 3], &a, &[1, 2]));
    }

    #[test]
    fn header_bits() {
        for h in [
            CounterResetHeader::Unknown,
            CounterResetHeader::CounterReset,
            CounterResetHeader::NotCounterReset,
            CounterResetHeader::Gauge,
        ] {
            assert_eq!(CounterResetHeader::from_flags(h.bits() | 0b0011_1111), h);
        }
    }
}
