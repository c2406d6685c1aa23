//! Quantile, fraction and variance estimates of one native histogram (upstream
//! promql/quantile.go `HistogramQuantile`, `HistogramFraction`, functions.go
//! `histogramVariance`, model/histogram `Bucket.FractionBelow`).
//!
//! Within an exponential bucket observations are assumed spread evenly on a logarithmic scale;
//! within custom buckets (NHCB) and the zero bucket, linearly. A histogram with only positive
//! buckets has its zero bucket start at 0; one with only negative buckets has it end at 0.
//! Pure arithmetic: the caller turns the returned [`NanObservations`] into annotations.

use shared::histogram::{CUSTOM_BUCKETS_SCHEMA, FloatHistogram};

use crate::promql::histogram::bounds::{Bucket, ascending};

/// What NaN observations (a NaN sum and fewer bucketed observations than the count) did to a
/// result.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum NanObservations {
    /// The quantile lies above every bucket: the result is NaN.
    QuantileIsNan,
    /// NaN observations count as the highest values: the quantile is skewed upwards.
    QuantileSkewed,
    /// NaN observations are in no bucket: fractions do not add up to 1.
    FractionExcludesNans,
}

fn uses_custom_buckets(h: &FloatHistogram) -> bool {
    h.schema == CUSTOM_BUCKETS_SCHEMA
}

/// Whether the bucket straddles zero (the zero bucket, or a custom bucket around 0).
fn straddles_zero(b: &Bucket) -> bool {
    b.lower <= 0.0 && b.upper >= 0.0
}

/// Moves a zero-straddling bucket's bound to 0 when all other buckets are on one side.
fn clip_to_one_side(h: &FloatHistogram, b: &mut Bucket) {
    if h.negative_buckets.is_empty() && !h.positive_buckets.is_empty() {
        b.lower = 0.0;
    } else if h.positive_buckets.is_empty() && !h.negative_buckets.is_empty() {
        b.upper = 0.0;
    }
}

/// The fraction of `b`'s width at or below `v` (strictly inside it): linear, or on a
/// logarithmic scale mirrored for negative buckets (upstream `Bucket.FractionBelow`).
fn fraction_below(b: &Bucket, v: f64, linear: bool) -> f64 {
    if linear {
        return (v - b.lower) / (b.upper - b.lower);
    }
    let (log_lower, log_upper, log_v) =
        (b.lower.abs().log2(), b.upper.abs().log2(), v.abs().log2());
    if v > 0.0 {
        (log_v - log_lower) / (log_upper - log_lower)
    } else {
        1.0 - (log_v - log_upper) / (log_lower - log_upper)
    }
}

/// The `q` quantile of `h` (upstream `HistogramQuantile`): `-Inf` below 0, `+Inf` above 1,
/// NaN for a NaN `q` or an empty histogram.
pub(crate) fn quantile(q: f64, h: &FloatHistogram) -> (f64, Option<NanObservations>) {
    if q < 0.0 {
        return (f64::NEG_INFINITY, None);
    }
    if q > 1.0 {
        return (f64::INFINITY, None);
    }
    if h.count == 0.0 || q.is_nan() {
        return (f64::NAN, None);
    }
    let custom = uses_custom_buckets(h);
    let all = ascending(h);
    // NaN observations are in no bucket, so they can only be accounted for from below.
    let forward = h.sum.is_nan() || q < 0.5;
    let mut order: Box<dyn Iterator<Item = &Bucket>> = if forward {
        Box::new(all.iter())
    } else {
        Box::new(all.iter().rev())
    };
    let mut rank = if forward {
        q * h.count
    } else {
        (1.0 - q) * h.count
    };
    let (mut bucket, mut count) = (
        Bucket {
            lower: 0.0,
            upper: 0.0,
            count: 0.0,
        },
        0.0,
    );
    for b in order.by_ref() {
        bucket = *b;
        if b.count == 0.0 {
            continue;
        }
        count += b.count;
        if count >= rank {
            break;
        }
    }
    if !custom && bucket.lower < 0.0 && bucket.upper > 0.0 {
        clip_to_one_side(h, &mut bucket);
    } else if custom {
        if bucket.lower == f64::NEG_INFINITY {
            if bucket.upper <= 0.0 {
                return (bucket.upper, None);
            }
            bucket.lower = 0.0;
        } else if bucket.upper == f64::INFINITY {
            return (bucket.lower, None);
        }
    }
    // Rounding can make the buckets add up to more than the count.
    count = count.min(h.count);
    if count < rank {
        if h.sum.is_nan() {
            return (f64::NAN, Some(NanObservations::QuantileIsNan));
        }
        return (bucket.upper, None);
    }
    if forward {
        rank -= count - bucket.count;
    } else {
        rank = count - rank;
    }
    let mut note = None;
    if h.sum.is_nan() {
        count += order.map(|b| b.count).sum::<f64>();
        if count < h.count {
            note = Some(NanObservations::QuantileSkewed);
        }
    }
    let fraction = rank / bucket.count;
    if custom || straddles_zero(&bucket) {
        return (
            bucket.lower + (bucket.upper - bucket.lower) * fraction,
            note,
        );
    }
    let (log_lower, log_upper) = (bucket.lower.abs().log2(), bucket.upper.abs().log2());
    let value = if bucket.lower > 0.0 {
        (log_lower + (log_upper - log_lower) * fraction).exp2()
    } else {
        -(log_upper + (log_lower - log_upper) * (1.0 - fraction)).exp2()
    };
    (value, note)
}

/// The fraction of `h`'s observations between `lower` and `upper` (upstream
/// `HistogramFraction`): NaN for an empty histogram or a NaN bound, 0 when `lower >= upper`.
/// Nothing is interpolated within a bucket with an infinite bound.
pub(crate) fn fraction(
    lower: f64,
    upper: f64,
    h: &FloatHistogram,
) -> (f64, Option<NanObservations>) {
    if h.count == 0.0 || lower.is_nan() || upper.is_nan() {
        return (f64::NAN, None);
    }
    if lower >= upper {
        return (0.0, None);
    }
    let custom = uses_custom_buckets(h);
    let all = ascending(h);
    let mut rest = all.iter();
    let (mut count, mut rank) = (0.0, 0.0);
    let (mut lower_rank, mut upper_rank): (Option<f64>, Option<f64>) = (None, None);
    for original in rest.by_ref() {
        let mut b = *original;
        count += b.count;
        let zero_bucket = straddles_zero(&b);
        if zero_bucket {
            clip_to_one_side(h, &mut b);
        }
        let linear = custom || zero_bucket;
        let rank_at = |v: f64| {
            if linear && b.lower == f64::NEG_INFINITY {
                b.count
            } else {
                rank + b.count * fraction_below(&b, v, linear)
            }
        };
        if lower_rank.is_none() && b.lower >= lower {
            lower_rank = Some(rank);
        }
        if upper_rank.is_none() && b.lower >= upper {
            upper_rank = Some(rank);
        }
        if lower_rank.is_some() && upper_rank.is_some() {
            break;
        }
        if lower_rank.is_none() && b.lower < lower && b.upper > lower {
            lower_rank = Some(rank_at(lower));
        }
        if upper_rank.is_none() && b.lower < upper && b.upper > upper {
            upper_rank = Some(rank_at(upper));
        }
        if lower_rank.is_some() && upper_rank.is_some() {
            break;
        }
        rank += b.count;
    }
    let mut note = None;
    if h.sum.is_nan() {
        count += rest.map(|b| b.count).sum::<f64>();
        if count < h.count {
            note = Some(NanObservations::FractionExcludesNans);
        }
    } else {
        count = h.count;
    }
    let clamp = |r: Option<f64>| r.filter(|r| *r <= count).unwrap_or(count);
    ((clamp(upper_rank) - clamp(lower_rank)) / h.count, note)
}

/// The variance of `h`'s observations, each bucket's observations taken at its midpoint: the
/// arithmetic mean for custom buckets, 0 for the zero bucket and the geometric mean for
/// exponential buckets (upstream `histogramVariance`).
pub(crate) fn variance(h: &FloatHistogram) -> f64 {
    let mean = h.sum / h.count;
    let custom = uses_custom_buckets(h);
    let (mut sum, mut compensation) = (0.0, 0.0);
    for b in ascending(h).iter().filter(|b| b.count != 0.0) {
        let value = if custom {
            (b.upper + b.lower) / 2.0
        } else if straddles_zero(b) {
            0.0
        } else if b.upper < 0.0 {
            -(b.upper * b.lower).sqrt()
        } else {
            (b.upper * b.lower).sqrt()
        };
        let delta = value - mean;
        (sum, compensation) =
            crate::promql::aggregate::kahan_sum_inc(b.count * delta * delta, sum, compensation);
    }
    (sum + compensation) / h.count
}

#[cfg(test)]
mod tests {
    use shared::histogram::Span;

    use super::*;

    fn exponential(schema: i32, first: i32, counts: &[f64], sum: f64) -> FloatHistogram {
        FloatHistogram {
            schema,
            count: counts.iter().sum(),
            sum,
            positive_spans: vec![Span {
                offset: first,
                length: u32::try_from(counts.len()).unwrap(),
            }],
            positive_buckets: counts.to_vec(),
            ..FloatHistogram::default()
        }
    }

    fn custom(bounds: &[f64], counts: &[f64]) -> FloatHistogram {
        FloatHistogram {
            schema: CUSTOM_BUCKETS_SCHEMA,
            custom_values: bounds.to_vec(),
            ..exponential(0, 0, counts, 1.0)
        }
    }

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() <= 1e-12 * a.abs().max(b.abs())
    }

    #[test]
    fn exponential_buckets_interpolate_on_a_log_scale() {
        // Schema 0, bucket 1 is (1, 2]: halfway in observations is sqrt(2).
        let h = exponential(0, 1, &[4.0], 6.0);
        assert!(close(quantile(0.5, &h).0, std::f64::consts::SQRT_2));
        assert!(close(quantile(0.25, &h).0, 2f64.powf(0.25)));
        assert_eq!(quantile(1.0, &h).0, 2.0);
        assert_eq!(quantile(-1.0, &h).0, f64::NEG_INFINITY);
        assert_eq!(quantile(2.0, &h).0, f64::INFINITY);
        assert!(quantile(f64::NAN, &h).0.is_nan());
        // And histogram_fraction inverts it.
        assert!(close(fraction(0.0, std::f64::consts::SQRT_2, &h).0, 0.5));
        assert_eq!(fraction(f64::NEG_INFINITY, f64::INFINITY, &h).0, 1.0);
        assert_eq!(fraction(3.0, 2.0, &h).0, 0.0);
    }

    #[test]
    fn zero_bucket_interpolates_linearly_from_zero_for_positive_histograms() {
        let h = FloatHistogram {
            zero_threshold: 0.5,
            zero_count: 2.0,
            count: 4.0,
            ..exponential(0, 0, &[2.0], 2.0)
        };
        // Buckets: zero [0, 0.5] (lower clipped to 0) and (0.5, 1].
        assert!(close(quantile(0.25, &h).0, 0.25));
        assert!(close(fraction(0.0, 0.25, &h).0, 0.25));
        let negative = FloatHistogram {
            negative_spans: h.positive_spans.clone(),
            negative_buckets: h.positive_buckets.clone(),
            positive_spans: Vec::new(),
            positive_buckets: Vec::new(),
            ..h.clone()
        };
        // Mirrored: zero bucket [-0.5, 0].
        assert!(close(quantile(0.75, &negative).0, -0.25));
        assert!(close(quantile(0.25, &negative).0, -(2f64.powf(-0.5))));
    }

    #[test]
    fn custom_buckets_interpolate_linearly_and_stop_at_infinite_bounds() {
        // (-Inf, 10]: 4, (10, 20]: 4, (20, +Inf]: 2.
        let h = custom(&[10.0, 20.0], &[4.0, 4.0, 2.0]);
        assert!(close(quantile(0.2, &h).0, 5.0));
        assert!(close(quantile(0.6, &h).0, 15.0));
        assert_eq!(quantile(0.9, &h).0, 20.0);
        assert!(close(fraction(0.0, 15.0, &h).0, 0.6));
        assert!(close(fraction(15.0, 1000.0, &h).0, 0.2));
        // A first bucket with a non-positive bound answers with the bound.
        let low = custom(&[-1.0, 20.0], &[4.0, 4.0, 2.0]);
        assert_eq!(quantile(0.1, &low).0, -1.0);
    }

    #[test]
    fn nan_observations_are_reported() {
        // Count 10 but only 8 observations in buckets: 2 NaNs.
        let mut h = exponential(0, 1, &[8.0], f64::NAN);
        h.count = 10.0;
        let (q, note) = quantile(0.95, &h);
        assert!(q.is_nan());
        assert_eq!(note, Some(NanObservations::QuantileIsNan));
        let (q, note) = quantile(0.4, &h);
        assert!(close(q, 2f64.powf(0.5)), "{q}");
        assert_eq!(note, Some(NanObservations::QuantileSkewed));
        let (f, note) = fraction(f64::NEG_INFINITY, f64::INFINITY, &h);
        assert_eq!(f, 0.8);
        assert_eq!(note, Some(NanObservations::FractionExcludesNans));
    }

    #[test]
    fn variance_uses_bucket_midpoints() {
        // Custom buckets (0, 10] and (10, 20] with one observation each: midpoints 5 and 15.
        let h = FloatHistogram {
            positive_spans: vec![Span {
                offset: 1,
                length: 2,
            }],
            sum: 20.0,
            ..custom(&[0.0, 10.0, 20.0], &[1.0, 1.0])
        };
        assert!(close(variance(&h), 25.0));
        // Exponential (1, 2] and (2, 4]: geometric midpoints sqrt(2) and sqrt(8).
        let e = exponential(0, 1, &[1.0, 1.0], 2f64.sqrt() + 8f64.sqrt());
        let mean = e.sum / 2.0;
        let want = ((2f64.sqrt() - mean).powi(2) + (8f64.sqrt() - mean).powi(2)) / 2.0;
        assert!(close(variance(&e), want));
    }
}
