//! Bucket boundaries of native histograms (upstream model/histogram/generic.go `getBound`,
//! `getBoundExponential`, and the float bucket iterators of float_histogram.go): which value
//! range each stored bucket covers, for exponential schemas and for custom bounds (NHCB).
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

/// `frac * 2^exp` without overflowing in the intermediate power of two.
fn ldexp(frac: f64, exp: i64) -> f64 {
    let half = exp / 2;
    let pow =
        |e: i64| 2f64.powi(i32::try_from(e).unwrap_or(if e < 0 { i32::MIN } else { i32::MAX }));
    frac * pow(half) * pow(exp - half)
}

/// The upper bound of exponential bucket `index` at `schema`; the last bucket below the
/// overflow bucket ends at `f64::MAX` (upstream `getBoundExponential`).
pub(crate) fn exponential_bound(index: i64, schema: i32) -> f64 {
    if schema < 0 {
        let exp = index.checked_shl(schema.unsigned_abs()).unwrap_or(i64::MAX);
        if exp == 1024 {
            return f64::MAX;
        }
        return ldexp(1.0, exp);
    }
    let Some(per_octave) = 1i64.checked_shl(schema.unsigned_abs()).filter(|p| *p > 0) else {
        // Beyond any schema Prometheus accepts: the plain formula.
        return 2f64.powf(index as f64 * 2f64.powi(-schema));
    };
    let frac_index = index & (per_octave - 1);
    // The fraction in [0.5, 1) for this position within the power of two.
    let frac = 2f64.powf(frac_index as f64 / per_octave as f64) / 2.0;
    let exp = (index >> schema) + 1;
    if frac == 0.5 && exp == 1025 {
        return f64::MAX;
    }
    ldexp(frac, exp)
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
}
