//! The histogram trim operators `h </ x` (keep observations below `x`) and `h >/ x` (keep
//! observations above `x`), upstream model/histogram/float_histogram.go `TrimBuckets`.
//!
//! Buckets entirely on the kept side stay, buckets entirely on the other side are dropped,
//! and the bucket containing `x` keeps the interpolated share of its count (linear for custom
//! buckets and the zero bucket, logarithmic for exponential buckets; buckets reaching to an
//! infinity are kept or dropped whole, except that a custom first bucket `(-Inf, u]` with
//! `u > 0` is treated as `[0, u]`). When anything was trimmed, the count is recomputed and the
//! sum is estimated from the kept buckets' midpoints. Knows nothing of PromQL evaluation.

use shared::histogram::{CUSTOM_BUCKETS_SCHEMA, FloatHistogram};

use super::bounds::{self, Bucket};
use super::{buckets, from_buckets};

/// Which side of the trim point is kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Keep {
    /// `</`: observations below the trim point.
    Below,
    /// `>/`: observations above the trim point.
    Above,
}

/// `h </ x` or `h >/ x`.
pub(crate) fn trim(h: &FloatHistogram, x: f64, keep: Keep) -> FloatHistogram {
    let custom = h.schema == CUSTOM_BUCKETS_SCHEMA;
    let mut out = h.clone();
    let mut totals = Totals::default();
    let positive: Vec<Bucket> = bounds::positive(h).collect();
    let negative: Vec<Bucket> = bounds::negative(h).collect();
    let has_positive = trim_side(
        &positive,
        &mut out.positive_buckets,
        x,
        keep,
        true,
        custom,
        &mut totals,
    );
    let has_negative = trim_side(
        &negative,
        &mut out.negative_buckets,
        x,
        keep,
        false,
        custom,
        &mut totals,
    );
    if h.zero_count > 0.0 {
        let mut zero = Bucket {
            lower: -h.zero_threshold,
            upper: h.zero_threshold,
            count: h.zero_count,
        };
        if has_negative && !has_positive {
            zero.upper = 0.0;
        }
        if has_positive && !has_negative {
            zero.lower = 0.0;
        }
        let (kept, midpoint) = trim_zero_bucket(&zero, x, keep);
        if kept != h.zero_count {
            out.zero_count = kept;
            totals.trimmed = true;
        }
        totals.add(kept, midpoint);
    }
    if !totals.trimmed {
        return out;
    }
    out.count = totals.count;
    out.sum = totals.sum;
    (out.positive_spans, out.positive_buckets) = from_buckets(&buckets(
        &out.positive_spans,
        &out.positive_buckets,
        out.schema,
        out.schema,
    ));
    (out.negative_spans, out.negative_buckets) = from_buckets(&buckets(
        &out.negative_spans,
        &out.negative_buckets,
        out.schema,
        out.schema,
    ));
    out
}

/// The kept count and the estimated sum of what is kept.
#[derive(Debug, Default)]
struct Totals {
    count: f64,
    sum: f64,
    trimmed: bool,
}

impl Totals {
    fn add(&mut self, count: f64, midpoint: f64) {
        self.count += count;
        self.sum += midpoint * count;
    }
}

/// Trims one side's `counts` (parallel to `side`); whether it has a populated bucket.
fn trim_side(
    side: &[Bucket],
    counts: &mut [f64],
    x: f64,
    keep: Keep,
    positive: bool,
    custom: bool,
    totals: &mut Totals,
) -> bool {
    let mut populated = false;
    for (b, count) in side.iter().zip(counts.iter_mut()) {
        if b.count == 0.0 {
            continue;
        }
        populated = true;
        let (whole, partial) = match keep {
            Keep::Below => (b.upper <= x, b.lower < x),
            Keep::Above => (b.lower >= x, b.upper > x),
        };
        if whole {
            totals.add(b.count, midpoint(b.lower, b.upper, positive, custom));
        } else if partial {
            let (kept, mid) = trim_bucket(b, x, keep, positive, custom);
            totals.add(kept, mid);
            if *count != kept {
                *count = kept;
                totals.trimmed = true;
            }
        } else {
            *count = 0.0;
            totals.trimmed = true;
        }
    }
    populated
}

/// The kept count of a bucket containing `x`, and the midpoint of its kept part (upstream
/// `computeBucketTrim`).
fn trim_bucket(b: &Bucket, x: f64, keep: Keep, positive: bool, custom: bool) -> (f64, f64) {
    if b.lower == f64::NEG_INFINITY || b.upper == f64::INFINITY {
        return trim_infinite_bucket(b, x, keep);
    }
    let below = if x <= b.lower {
        0.0
    } else if x >= b.upper {
        b.count
    } else {
        b.count * b.fraction_below(x, custom)
    };
    match keep {
        Keep::Below => (below, midpoint(b.lower, x, positive, custom)),
        Keep::Above => (b.count - below, midpoint(x, b.upper, positive, custom)),
    }
}

/// Trimming a bucket with an infinite bound (upstream `handleInfinityBuckets`): the kept
/// count and a representative value for the sum.
fn trim_infinite_bucket(b: &Bucket, x: f64, keep: Keep) -> (f64, f64) {
    let finite_or_zero = |v: f64| if v.is_infinite() { 0.0 } else { v };
    if b.lower == f64::NEG_INFINITY {
        return match keep {
            Keep::Below if x >= b.upper => (b.count, 0.0),
            // Only custom buckets start at -Inf: a positive upper bound makes it [0, upper].
            Keep::Below if x > 0.0 && b.upper > 0.0 && b.upper.is_finite() => {
                (b.count * x / b.upper, x / 2.0)
            }
            Keep::Below if b.upper <= 0.0 => (b.count, x),
            Keep::Above if x <= b.lower => (b.count, 0.0),
            Keep::Above if x >= 0.0 && b.upper > x && b.upper.is_finite() => {
                (b.count * (1.0 - x / b.upper), (x + b.upper) / 2.0)
            }
            _ => (0.0, finite_or_zero(b.upper)),
        };
    }
    match keep {
        Keep::Above if x >= b.lower => (b.count, x),
        _ => (0.0, finite_or_zero(b.lower)),
    }
}

/// The kept share of the zero bucket and its midpoint (upstream `computeZeroBucketTrim`).
fn trim_zero_bucket(zero: &Bucket, x: f64, keep: Keep) -> (f64, f64) {
    let (lower, upper) = (zero.lower, zero.upper);
    match keep {
        Keep::Below if x <= lower => (0.0, 0.0),
        Keep::Below if x >= upper => (zero.count, (lower + upper) / 2.0),
        Keep::Below => (
            zero.count * (x - lower) / (upper - lower),
            (lower + x) / 2.0,
        ),
        Keep::Above if x <= lower => (zero.count, (lower + upper) / 2.0),
        Keep::Above if x >= upper => (0.0, 0.0),
        Keep::Above => (
            zero.count * (upper - x) / (upper - lower),
            (x + upper) / 2.0,
        ),
    }
}

/// A representative value of the interval `[lower, upper]`: the arithmetic mean for linear
/// buckets, the (signed) geometric mean for exponential ones, and the finite bound (or half
/// of it) when the other is infinite (upstream `computeMidpoint`).
fn midpoint(lower: f64, upper: f64, positive: bool, linear: bool) -> f64 {
    if lower.is_infinite() {
        if upper.is_infinite() {
            return 0.0;
        }
        return if upper > 0.0 { upper / 2.0 } else { upper };
    }
    if upper.is_infinite() {
        return lower;
    }
    if linear {
        return (lower + upper) / 2.0;
    }
    let geometric = (lower * upper).abs().sqrt();
    if positive { geometric } else { -geometric }
}

#[cfg(test)]
mod tests {
    use shared::histogram::Span;

    use super::*;

    fn nhcb(bounds: &[f64], counts: &[f64]) -> FloatHistogram {
        FloatHistogram {
            schema: CUSTOM_BUCKETS_SCHEMA,
            count: counts.iter().sum(),
            sum: 100.0,
            custom_values: bounds.to_vec(),
            positive_spans: vec![Span {
                offset: 0,
                length: u32::try_from(counts.len()).unwrap(),
            }],
            positive_buckets: counts.to_vec(),
            ..FloatHistogram::default()
        }
    }

    #[test]
    fn custom_buckets_are_interpolated_linearly() {
        // Buckets (-Inf,10] [10,20] (20,+Inf] with 4, 4 and 2 observations.
        let h = nhcb(&[10.0, 20.0], &[4.0, 4.0, 2.0]);
        let below = trim(&h, 15.0, Keep::Below);
        assert_eq!(below.positive_buckets, vec![4.0, 2.0]);
        assert_eq!(below.count, 6.0);
        // (-Inf,10] is treated as [0,10]: midpoint 5; the kept half of [10,20]: midpoint 12.5.
        assert_eq!(below.sum, 4.0 * 5.0 + 2.0 * 12.5);
        let above = trim(&h, 15.0, Keep::Above);
        assert_eq!(above.positive_buckets, vec![2.0, 2.0]);
        assert_eq!(above.positive_spans[0].offset, 1);
        // The +Inf bucket is kept whole at its lower bound.
        assert_eq!(above.sum, 2.0 * 17.5 + 2.0 * 20.0);
        // Above 100 only the +Inf bucket may hold observations: kept whole, valued at 100.
        let high = trim(&h, 100.0, Keep::Above);
        assert_eq!(high.positive_buckets, vec![2.0]);
        assert_eq!((high.count, high.sum), (2.0, 200.0));
        let finite = trim(&h, 1000.0, Keep::Below);
        assert_eq!(finite.count, 8.0, "</ a finite value drops the +Inf bucket");
        assert_eq!(
            trim(&h, f64::INFINITY, Keep::Below),
            h,
            "</ +Inf keeps everything"
        );
    }

    #[test]
    fn exponential_buckets_are_interpolated_logarithmically() {
        // Schema 0: bucket 1 is (1,2], bucket 2 is (2,4]; zero bucket [-1,1].
        let h = FloatHistogram {
            count: 9.0,
            sum: 20.0,
            zero_threshold: 1.0,
            zero_count: 1.0,
            positive_spans: vec![Span {
                offset: 1,
                length: 2,
            }],
            positive_buckets: vec![4.0, 4.0],
            ..FloatHistogram::default()
        };
        let below = trim(&h, 2f64.powf(1.5), Keep::Below);
        assert_eq!(below.positive_buckets, vec![4.0, 2.0]);
        assert_eq!(below.zero_count, 1.0);
        assert_eq!(below.count, 7.0);
        let above = trim(&h, 0.5, Keep::Above);
        // Only positive buckets: the zero bucket counts as [0,1], half of it is dropped.
        assert_eq!(above.zero_count, 0.5);
        assert_eq!(above.positive_buckets, vec![4.0, 4.0]);
    }
}
