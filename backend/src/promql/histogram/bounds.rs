//! Bucket boundaries of native histograms (upstream model/histogram/generic.go `getBound`,
//! `getBoundExponential`, and the float bucket iterators of float_histogram.go): which value
//! range each stored bucket covers, for exponential schemas and for custom bounds (NHCB), one
//! side at a time or all buckets in ascending order (`AllBucketIterator`).
//!
//! Knows nothing of PromQL evaluation; it only maps bucket indices to bounds.

use shared::histogram::{CUSTOM_BUCKETS_SCHEMA, FloatHistogram, Span, bucket_indices};

/// One stored bucket with the range of values it covers.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Bucket {
    /// The lower bound (exclusive for positive exponential buckets).
    pub(crate) lower: f64,
    /// The upper bound.
    pub(crate) upper: f64,
    /// The observations in the bucket.
    pub(crate) count: f64,
}

impl Bucket {
    /// The fraction of the bucket's width at or below `v`, for `lower < v < upper` with finite
    /// bounds: linear for custom and zero buckets, on a log2 scale for exponential buckets
    /// (upstream `Bucket.FractionBelow`).
    pub(crate) fn fraction_below(&self, v: f64, linear: bool) -> f64 {
        if linear {
            return (v - self.lower) / (self.upper - self.lower);
        }
        let (lower, upper, v_log) = (
            self.lower.abs().log2(),
            self.upper.abs().log2(),
            v.abs().log2(),
        );
        if v > 0.0 {
            (v_log - lower) / (upper - lower)
        } else {
            1.0 - (v_log - upper) / (lower - upper)
        }
    }
}

/// `x * 2^exp` (Go's `math.Ldexp`), scaling in steps so that no intermediate power of two
/// overflows and only the last multiplication rounds.
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

/// The upper bound of bucket `index` at exponential `schema`: `2^(index / 2^schema)`. The
/// last bucket before the one counting `±Inf` observations ends at `f64::MAX` rather than
/// `+Inf` (upstream `getBoundExponential`).
///
/// Upstream reads the fraction `2^(j / 2^schema) / 2` of positive schemas from a table of
/// constants; this computes it with `exp2`, which gives the nearest float to the exact power
/// for all 256 fractions of schema 8 (checked against 60-digit decimal powers). Upstream's
/// constants lie up to two ulps below the exact powers for most fractions (231 of 256 at
/// schema 8), so a bound can differ from Prometheus's in its last digit.
pub(crate) fn exponential_bound(index: i64, schema: i32) -> f64 {
    if schema <= 0 {
        let exp = index.checked_shl(schema.unsigned_abs()).unwrap_or(i64::MAX);
        if exp == 1024 {
            return f64::MAX;
        }
        return ldexp(1.0, exp);
    }
    let schema = schema.unsigned_abs().min(62);
    let per_octave = 1i64 << schema;
    let position = index & (per_octave - 1);
    // In [0.5, 1): the position within the power of two.
    let fraction = (position as f64 / per_octave as f64).exp2() / 2.0;
    let exp = (index >> schema) + 1;
    if fraction == 0.5 && exp == 1025 {
        return f64::MAX;
    }
    ldexp(fraction, exp)
}

/// The upper bound of bucket `index` (its lower bound is that of `index - 1`): custom bounds
/// end in `+Inf`, and index -1 of custom bounds is `-Inf` (upstream `getBound`).
pub(crate) fn bound(index: i64, schema: i32, custom: &[f64]) -> f64 {
    if schema != CUSTOM_BUCKETS_SCHEMA {
        return exponential_bound(index, schema);
    }
    match usize::try_from(index) {
        Ok(i) => custom.get(i).copied().unwrap_or(f64::INFINITY),
        Err(_) => f64::NEG_INFINITY,
    }
}

fn side<'a>(
    spans: &'a [Span],
    counts: &'a [f64],
    schema: i32,
    custom: &'a [f64],
    positive: bool,
) -> impl Iterator<Item = Bucket> + 'a {
    bucket_indices(spans).zip(counts).map(move |(i, &count)| {
        let (upper, lower) = (bound(i, schema, custom), bound(i - 1, schema, custom));
        if positive {
            Bucket {
                lower,
                upper,
                count,
            }
        } else {
            Bucket {
                lower: -upper,
                upper: -lower,
                count,
            }
        }
    })
}

/// The positive (or custom) buckets in ascending order, one per stored count.
pub(crate) fn positive(h: &FloatHistogram) -> impl Iterator<Item = Bucket> + '_ {
    side(
        &h.positive_spans,
        &h.positive_buckets,
        h.schema,
        &h.custom_values,
        true,
    )
}

/// The negative buckets from the zero bucket downwards, one per stored count.
pub(crate) fn negative(h: &FloatHistogram) -> impl Iterator<Item = Bucket> + '_ {
    side(&h.negative_spans, &h.negative_buckets, h.schema, &[], false)
}

/// All buckets of `h` in ascending order of their bounds, empty ones included. A negative or
/// positive bucket overlapping the zero bucket has that bound moved to the zero threshold.
pub(crate) fn ascending(h: &FloatHistogram) -> Vec<Bucket> {
    let custom = h.schema == CUSTOM_BUCKETS_SCHEMA;
    let threshold = h.zero_threshold;
    let b = |i: i64| bound(i, h.schema, &h.custom_values);
    let negative: Vec<(i64, f64)> = bucket_indices(&h.negative_spans)
        .zip(h.negative_buckets.iter().copied())
        .collect();
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
    for (i, count) in bucket_indices(&h.positive_spans).zip(h.positive_buckets.iter().copied()) {
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

    #[test]
    fn exponential_bounds_follow_the_schema() {
        assert_eq!(exponential_bound(0, 0), 1.0);
        assert_eq!(exponential_bound(1, 0), 2.0);
        assert_eq!(exponential_bound(-1, 0), 0.5);
        assert_eq!(exponential_bound(1, -1), 4.0);
        assert!((exponential_bound(1, 1) - 2f64.sqrt()).abs() < 1e-15);
        assert_eq!(exponential_bound(2, 1), 2.0);
        assert_eq!(exponential_bound(1024, 0), f64::MAX);
        assert_eq!(exponential_bound(1025, 0), f64::INFINITY);
        assert_eq!(exponential_bound(256, -2), f64::MAX);
    }

    #[test]
    fn custom_buckets_are_bounded_by_infinities() {
        let h = FloatHistogram {
            schema: CUSTOM_BUCKETS_SCHEMA,
            custom_values: vec![1.0, 5.0],
            positive_spans: vec![Span {
                offset: 0,
                length: 3,
            }],
            positive_buckets: vec![1.0, 2.0, 3.0],
            ..FloatHistogram::default()
        };
        let b: Vec<(f64, f64)> = positive(&h).map(|b| (b.lower, b.upper)).collect();
        assert_eq!(
            b,
            vec![(f64::NEG_INFINITY, 1.0), (1.0, 5.0), (5.0, f64::INFINITY)]
        );
        let mid = Bucket {
            lower: 1.0,
            upper: 5.0,
            count: 2.0,
        };
        assert_eq!(mid.fraction_below(2.0, true), 0.25);
        let exp = Bucket {
            lower: 1.0,
            upper: 4.0,
            count: 1.0,
        };
        assert_eq!(exp.fraction_below(2.0, false), 0.5);
    }

    fn span(offset: i32, length: u32) -> Span {
        Span { offset, length }
    }

    #[test]
    fn exponential_bounds_at_every_kind_of_schema() {
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
