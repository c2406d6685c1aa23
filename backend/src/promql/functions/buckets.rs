//! The buckets of a native histogram with their bounds, in ascending order: negative buckets
//! from the lowest value up, the zero bucket (when it holds observations), then the positive
//! buckets (upstream model/histogram `FloatHistogram.AllBucketIterator`, `getBound`).
//!
//! Exponential schemas put the upper bound of bucket `i` at `2^(i * 2^-schema)`; custom-bucket
//! histograms (NHCB) take their bounds from `custom_values`, with `-Inf` below the first and
//! `+Inf` above the last. Knows nothing of PromQL evaluation.

use shared::histogram::{CUSTOM_BUCKETS_SCHEMA, FloatHistogram, Span, bucket_indices};

/// One bucket of a native histogram: the observations in `(lower, upper]` (the exact
/// inclusiveness does not matter to the functions using it).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Bucket {
    /// The lower bound.
    pub lower: f64,
    /// The upper bound.
    pub upper: f64,
    /// The observations in the bucket.
    pub count: f64,
}

/// `x * 2^exp` (Go's `math.Ldexp`), scaling in steps so that no intermediate power of two
/// overflows.
fn ldexp(mut x: f64, exp: i64) -> f64 {
    let mut exp = exp.clamp(-2200, 2200);
    let power = |e: i64| f64::from_bits(u64::try_from(e + 1023).unwrap_or(0) << 52);
    while exp > 1023 {
        x *= power(1023);
        exp -= 1023;
    }
    while exp < -1022 {
        x *= power(-1022);
        exp += 1022;
    }
    x * power(exp)
}

/// The upper bound of bucket `index` of exponential `schema` (upstream
/// `getBoundExponential`). The last bucket before the one counting `±Inf` observations ends at
/// `f64::MAX` rather than `+Inf`.
///
/// Upstream takes the fractional part `2^(k / 2^schema)` of positive schemas from a
/// precomputed table; this computes it with `exp2`, which agrees with that table to within
/// one ulp (exactly for the powers of two of schemas <= 0).
pub(crate) fn exponential_bound(index: i64, schema: i32) -> f64 {
    if schema < 0 {
        let exp = index.checked_shl(schema.unsigned_abs()).unwrap_or(i64::MAX);
        if exp == 1024 {
            return f64::MAX;
        }
        return ldexp(1.0, exp);
    }
    let schema = schema.min(62);
    let per_octave = 1i64 << schema;
    let fraction_index = index & (per_octave - 1);
    // 2^(fraction_index / 2^schema) / 2, in [0.5, 1).
    let fraction = (fraction_index as f64 / per_octave as f64).exp2() / 2.0;
    let exp = (index >> schema) + 1;
    if fraction == 0.5 && exp == 1025 {
        return f64::MAX;
    }
    ldexp(fraction, exp)
}

/// The upper bound of bucket `index` of a histogram with this schema and custom bounds.
fn bound(index: i64, schema: i32, custom_values: &[f64]) -> f64 {
    if schema != CUSTOM_BUCKETS_SCHEMA {
        return exponential_bound(index, schema);
    }
    match usize::try_from(index) {
        Err(_) => f64::NEG_INFINITY,
        Ok(i) => custom_values.get(i).copied().unwrap_or(f64::INFINITY),
    }
}

/// The `(index, count)` pairs of one side of a histogram.
fn indexed<'a>(spans: &'a [Span], counts: &'a [f64]) -> impl Iterator<Item = (i64, f64)> + 'a {
    bucket_indices(spans).zip(counts.iter().copied())
}

/// All buckets of `h` in ascending order of their bounds, empty ones included. A negative or
/// positive bucket overlapping the zero bucket has that bound moved to the zero threshold.
pub(crate) fn ascending(h: &FloatHistogram) -> Vec<Bucket> {
    let custom = h.schema == CUSTOM_BUCKETS_SCHEMA;
    let threshold = h.zero_threshold;
    let b = |i: i64| bound(i, h.schema, &h.custom_values);
    let negative: Vec<(i64, f64)> = indexed(&h.negative_spans, &h.negative_buckets).collect();
    let mut out = Vec::with_capacity(negative.len() + h.positive_buckets.len() + 1);
    for &(i, count) in negative.iter().rev() {
        let (lower, mut upper) = (-b(i), -b(i - 1));
        if upper < 0.0 && upper > -threshold {
            upper = -threshold;
        }
        out.push(Bucket {
            lower,
            upper,
            count,
        });
    }
    if h.zero_count > 0.0 && !custom {
        out.push(Bucket {
            lower: -threshold,
            upper: threshold,
            count: h.zero_count,
        });
    }
    for (i, count) in indexed(&h.positive_spans, &h.positive_buckets) {
        let upper = b(i);
        if !custom && upper <= 0.0 {
            // Bounds that underflow to zero (upstream skips buckets up to its start value 0).
            continue;
        }
        let mut lower = b(i - 1);
        if lower > 0.0 && lower < threshold {
            lower = threshold;
        }
        out.push(Bucket {
            lower,
            upper,
            count,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn span(offset: i32, length: u32) -> Span {
        Span { offset, length }
    }

    #[test]
    fn exponential_bounds_follow_the_schema() {
        assert_eq!(exponential_bound(0, 0), 1.0);
        assert_eq!(exponential_bound(1, 0), 2.0);
        assert_eq!(exponential_bound(-1, 0), 0.5);
        assert_eq!(exponential_bound(1, 1), std::f64::consts::SQRT_2);
        assert_eq!(exponential_bound(3, 1), 2.0 * std::f64::consts::SQRT_2);
        assert_eq!(exponential_bound(1, -1), 4.0);
        assert_eq!(exponential_bound(-2, -2), 1.0 / 256.0);
        let eighth_root = exponential_bound(1, 3);
        assert!((eighth_root.powi(8) - 2.0).abs() < 1e-15, "{eighth_root}");
        // The last finite bucket ends at the largest float, the next one at +Inf.
        assert_eq!(exponential_bound(1024, 0), f64::MAX);
        assert_eq!(exponential_bound(1025, 0), f64::INFINITY);
        assert_eq!(exponential_bound(256, -2), f64::MAX);
        assert_eq!(exponential_bound(2048, 1), f64::MAX);
    }

    #[test]
    fn buckets_ascend_through_negative_zero_and_positive() {
        let h = FloatHistogram {
            schema: 0,
            zero_threshold: 0.75,
            zero_count: 2.0,
            negative_spans: vec![span(0, 2)],
            negative_buckets: vec![1.0, 3.0],
            positive_spans: vec![span(0, 1), span(1, 1)],
            positive_buckets: vec![4.0, 5.0],
            ..FloatHistogram::default()
        };
        let got: Vec<(f64, f64, f64)> = ascending(&h)
            .iter()
            .map(|b| (b.lower, b.upper, b.count))
            .collect();
        assert_eq!(
            got,
            vec![
                (-2.0, -1.0, 3.0),
                // (-1, -0.5] overlaps the zero bucket: its upper bound moves to -0.75.
                (-1.0, -0.75, 1.0),
                (-0.75, 0.75, 2.0),
                (0.75, 1.0, 4.0),
                (2.0, 4.0, 5.0),
            ]
        );
    }

    #[test]
    fn custom_buckets_use_their_bounds_and_infinities() {
        let h = FloatHistogram {
            schema: CUSTOM_BUCKETS_SCHEMA,
            custom_values: vec![1.0, 5.0],
            zero_count: 0.0,
            positive_spans: vec![span(0, 3)],
            positive_buckets: vec![1.0, 2.0, 3.0],
            ..FloatHistogram::default()
        };
        let got: Vec<(f64, f64)> = ascending(&h).iter().map(|b| (b.lower, b.upper)).collect();
        assert_eq!(
            got,
            vec![(f64::NEG_INFINITY, 1.0), (1.0, 5.0), (5.0, f64::INFINITY)]
        );
    }
}
