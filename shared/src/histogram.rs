//! Prometheus native histograms: the integer-count [`Histogram`] and the [`FloatHistogram`].
//!
//! Field meanings follow upstream `model/histogram/{histogram,float_histogram,generic}.go`. Buckets are
//! described by spans: the first span's `offset` is the index of its first bucket, each later span's
//! `offset` is the gap (in buckets) after the previous span. A [`Histogram`] stores its bucket counts
//! the way Prometheus does, as deltas: the first bucket of a side is an absolute count, each following
//! one is the difference to the bucket before it (across span gaps). A [`FloatHistogram`] stores
//! absolute counts. This module only models values; encoding lives in the backend's `chunkenc`.

use serde::{Deserialize, Serialize};

use crate::series::is_stale_nan;

/// Schema of histograms with custom bucket bounds (NHCB), whose bounds are in `custom_values`.
pub const CUSTOM_BUCKETS_SCHEMA: i32 = -53;
/// Smallest exponential schema Prometheus produces.
pub const EXPONENTIAL_SCHEMA_MIN: i32 = -4;
/// Largest exponential schema Prometheus produces.
pub const EXPONENTIAL_SCHEMA_MAX: i32 = 8;
/// Smallest exponential schema Prometheus accepts when reading (reserved for future use).
pub const EXPONENTIAL_SCHEMA_MIN_RESERVED: i32 = -9;
/// Largest exponential schema Prometheus accepts when reading (reserved for future use).
pub const EXPONENTIAL_SCHEMA_MAX_RESERVED: i32 = 52;

/// Whether a reader accepts `schema` (upstream `histogram.IsKnownSchema`).
pub fn is_known_schema(schema: i32) -> bool {
    schema == CUSTOM_BUCKETS_SCHEMA
        || (EXPONENTIAL_SCHEMA_MIN_RESERVED..=EXPONENTIAL_SCHEMA_MAX_RESERVED).contains(&schema)
}

/// What is known about a counter reset between this histogram and the previous one of its series.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub enum CounterResetHint {
    /// Nothing is known; readers must compare with the previous sample.
    #[default]
    Unknown,
    /// A counter reset happened just before this sample.
    CounterReset,
    /// No counter reset happened just before this sample.
    NotCounterReset,
    /// The histogram is a gauge: counts may go down and counter resets do not apply.
    Gauge,
}

/// A run of consecutive buckets: `offset` buckets after the previous span (or, for the first span,
/// starting at bucket index `offset`), `length` buckets long.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub struct Span {
    /// Gap to the previous span, or the first bucket index for the first span.
    pub offset: i32,
    /// Number of consecutive buckets.
    pub length: u32,
}

/// Total number of buckets the spans describe.
pub fn bucket_count(spans: &[Span]) -> u64 {
    spans.iter().map(|s| u64::from(s.length)).sum()
}

/// Bucket indices the spans describe, in order (see the module doc for the offset rule).
pub fn bucket_indices(spans: &[Span]) -> impl Iterator<Item = i64> + '_ {
    let mut next = 0i64;
    spans.iter().flat_map(move |s| {
        let start = next + i64::from(s.offset);
        next = start + i64::from(s.length);
        start..next
    })
}

/// A native histogram with integer counts (upstream `histogram.Histogram`).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Histogram {
    /// Counter reset knowledge for this sample.
    pub counter_reset_hint: CounterResetHint,
    /// Resolution: exponential schema in -4..=8, or [`CUSTOM_BUCKETS_SCHEMA`].
    pub schema: i32,
    /// Observations with absolute value up to this threshold go to the zero bucket.
    pub zero_threshold: f64,
    /// Observations in the zero bucket.
    pub zero_count: u64,
    /// Total number of observations.
    pub count: u64,
    /// Sum of observations; Prometheus's stale marker here marks the whole sample stale.
    pub sum: f64,
    /// Spans of the positive buckets.
    pub positive_spans: Vec<Span>,
    /// Spans of the negative buckets.
    pub negative_spans: Vec<Span>,
    /// Positive bucket counts, delta-encoded (first absolute, then differences).
    pub positive_buckets: Vec<i64>,
    /// Negative bucket counts, delta-encoded (first absolute, then differences).
    pub negative_buckets: Vec<i64>,
    /// Upper bounds of the custom buckets; only for [`CUSTOM_BUCKETS_SCHEMA`].
    pub custom_values: Vec<f64>,
}

impl Histogram {
    /// Whether this sample is a stale marker (its sum is Prometheus's stale NaN).
    pub fn is_stale(&self) -> bool {
        is_stale_nan(self.sum)
    }

    /// Absolute positive bucket counts (running sum of the deltas, wrapping like Go's int64).
    pub fn positive_counts(&self) -> Vec<i64> {
        absolute_counts(&self.positive_buckets)
    }

    /// Absolute negative bucket counts (running sum of the deltas, wrapping like Go's int64).
    pub fn negative_counts(&self) -> Vec<i64> {
        absolute_counts(&self.negative_buckets)
    }

    /// The same histogram with float counts (upstream `Histogram.ToFloat`).
    pub fn to_float(&self) -> FloatHistogram {
        let float = |counts: Vec<i64>| counts.into_iter().map(|c| c as f64).collect();
        FloatHistogram {
            counter_reset_hint: self.counter_reset_hint,
            schema: self.schema,
            zero_threshold: self.zero_threshold,
            zero_count: self.zero_count as f64,
            count: self.count as f64,
            sum: self.sum,
            positive_spans: self.positive_spans.clone(),
            negative_spans: self.negative_spans.clone(),
            positive_buckets: float(self.positive_counts()),
            negative_buckets: float(self.negative_counts()),
            custom_values: self.custom_values.clone(),
        }
    }

    /// Equality that compares floats by their bits, so NaNs and stale markers compare equal to themselves.
    pub fn bitwise_eq(&self, other: &Self) -> bool {
        self.counter_reset_hint == other.counter_reset_hint
            && self.schema == other.schema
            && self.zero_threshold.to_bits() == other.zero_threshold.to_bits()
            && self.zero_count == other.zero_count
            && self.count == other.count
            && self.sum.to_bits() == other.sum.to_bits()
            && self.positive_spans == other.positive_spans
            && self.negative_spans == other.negative_spans
            && self.positive_buckets == other.positive_buckets
            && self.negative_buckets == other.negative_buckets
            && floats_bitwise_eq(&self.custom_values, &other.custom_values)
    }
}

/// A native histogram with float counts (upstream `histogram.FloatHistogram`).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct FloatHistogram {
    /// Counter reset knowledge for this sample.
    pub counter_reset_hint: CounterResetHint,
    /// Resolution: exponential schema in -4..=8, or [`CUSTOM_BUCKETS_SCHEMA`].
    pub schema: i32,
    /// Observations with absolute value up to this threshold go to the zero bucket.
    pub zero_threshold: f64,
    /// Observations in the zero bucket.
    pub zero_count: f64,
    /// Total number of observations.
    pub count: f64,
    /// Sum of observations; Prometheus's stale marker here marks the whole sample stale.
    pub sum: f64,
    /// Spans of the positive buckets.
    pub positive_spans: Vec<Span>,
    /// Spans of the negative buckets.
    pub negative_spans: Vec<Span>,
    /// Absolute positive bucket counts.
    pub positive_buckets: Vec<f64>,
    /// Absolute negative bucket counts.
    pub negative_buckets: Vec<f64>,
    /// Upper bounds of the custom buckets; only for [`CUSTOM_BUCKETS_SCHEMA`].
    pub custom_values: Vec<f64>,
}

impl FloatHistogram {
    /// Whether this sample is a stale marker (its sum is Prometheus's stale NaN).
    pub fn is_stale(&self) -> bool {
        is_stale_nan(self.sum)
    }

    /// Equality that compares floats by their bits, so NaNs and stale markers compare equal to themselves.
    pub fn bitwise_eq(&self, other: &Self) -> bool {
        self.counter_reset_hint == other.counter_reset_hint
            && self.schema == other.schema
            && self.zero_threshold.to_bits() == other.zero_threshold.to_bits()
            && self.zero_count.to_bits() == other.zero_count.to_bits()
            && self.count.to_bits() == other.count.to_bits()
            && self.sum.to_bits() == other.sum.to_bits()
            && self.positive_spans == other.positive_spans
            && self.negative_spans == other.negative_spans
            && floats_bitwise_eq(&self.positive_buckets, &other.positive_buckets)
            && floats_bitwise_eq(&self.negative_buckets, &other.negative_buckets)
            && floats_bitwise_eq(&self.custom_values, &other.custom_values)
    }
}

fn absolute_counts(deltas: &[i64]) -> Vec<i64> {
    deltas
        .iter()
        .scan(0i64, |acc, d| {
            *acc = acc.wrapping_add(*d);
            Some(*acc)
        })
        .collect()
}

fn floats_bitwise_eq(a: &[f64], b: &[f64]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.to_bits() == y.to_bits())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucket_indices_follow_span_offsets() {
        let spans = [
            Span {
                offset: -2,
                length: 2,
            },
            Span {
                offset: 3,
                length: 1,
            },
        ];
        assert_eq!(bucket_indices(&spans).collect::<Vec<_>>(), vec![-2, -1, 3]);
        assert_eq!(bucket_count(&spans), 3);
    }

    #[test]
    fn to_float_resolves_deltas() {
        let h = Histogram {
            count: 9,
            positive_spans: vec![Span {
                offset: 0,
                length: 3,
            }],
            positive_buckets: vec![2, 3, -4],
            ..Histogram::default()
        };
        let f = h.to_float();
        assert_eq!(f.positive_buckets, vec![2.0, 5.0, 1.0]);
        assert_eq!(f.count, 9.0);
    }

    #[test]
    fn known_schemas() {
        assert!(is_known_schema(CUSTOM_BUCKETS_SCHEMA));
        assert!(is_known_schema(-9) && is_known_schema(52));
        assert!(!is_known_schema(-10) && !is_known_schema(53) && !is_known_schema(-52));
    }
}
