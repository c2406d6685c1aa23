//! Quantiles and fractions of classic histograms: cumulative bucket counts keyed by their `le`
//! upper bound (upstream promql/quantile.go `BucketQuantile`, `BucketFraction`,
//! `coalesceBuckets`, `ensureMonotonicAndIgnoreSmallDeltas`).
//!
//! Pure arithmetic on a slice of buckets: grouping series into histograms and reporting
//! annotations is the caller's business.

/// One bucket of a classic histogram: the cumulative count of observations `<= upper`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct ClassicBucket {
    /// The upper bound (the `le` label).
    pub upper: f64,
    /// The cumulative count.
    pub count: f64,
}

/// Relative differences between neighbouring cumulative counts below this are taken for
/// floating-point noise and ignored (upstream `smallDeltaTolerance`).
const SMALL_DELTA_TOLERANCE: f64 = 1e-12;

/// Where the cumulative counts had to be raised to make them monotonic (upstream's
/// "forced monotonicity").
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct MonotonicityFix {
    /// The lowest upper bound whose count was raised.
    pub min_bucket: f64,
    /// The highest upper bound whose count was raised.
    pub max_bucket: f64,
    /// The largest decrease removed.
    pub max_diff: f64,
}

/// A classic histogram's quantile and whether its input had to be fixed.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct BucketQuantile {
    /// The quantile.
    pub value: f64,
    /// Set when the counts were not monotonic.
    pub fix: Option<MonotonicityFix>,
}

/// Whether `a` and `b` differ by less than `epsilon` relative to their magnitudes (upstream
/// util/almost `Equal`).
fn almost_equal(a: f64, b: f64, epsilon: f64) -> bool {
    use shared::series::is_stale_nan;
    if is_stale_nan(a) || is_stale_nan(b) {
        return is_stale_nan(a) && is_stale_nan(b);
    }
    if (a.is_nan() && b.is_nan()) || a == b {
        return true;
    }
    let abs_sum = a.abs() + b.abs();
    let diff = (a - b).abs();
    if a == 0.0 || b == 0.0 || abs_sum < f64::MIN_POSITIVE {
        return diff < epsilon * f64::MIN_POSITIVE;
    }
    diff / abs_sum.min(f64::MAX) < epsilon
}

/// Sorts the buckets by upper bound and merges those with equal bounds; `None` when there is
/// no bucket or the highest bound is not `+Inf`.
fn sorted_and_coalesced(buckets: &mut Vec<ClassicBucket>) -> Option<()> {
    buckets.sort_by(|a, b| {
        a.upper
            .partial_cmp(&b.upper)
            .unwrap_or(std::cmp::Ordering::Equal)
    });
    if buckets.last()?.upper != f64::INFINITY {
        return None;
    }
    let mut merged: Vec<ClassicBucket> = Vec::with_capacity(buckets.len());
    for b in buckets.drain(..) {
        match merged.last_mut() {
            Some(last) if last.upper == b.upper => last.count += b.count,
            _ => merged.push(b),
        }
    }
    *buckets = merged;
    Some(())
}

/// Raises counts that fall below an earlier bucket's, after silently levelling differences
/// within `tolerance` (floating-point noise) in either direction. Returns where monotonicity
/// had to be forced.
fn ensure_monotonic(buckets: &mut [ClassicBucket], tolerance: f64) -> Option<MonotonicityFix> {
    let mut fix: Option<MonotonicityFix> = None;
    let mut prev = buckets.first()?.count;
    for b in buckets.iter_mut().skip(1) {
        let curr = b.count;
        if curr == prev {
            continue;
        }
        if almost_equal(prev, curr, tolerance) {
            b.count = prev;
            continue;
        }
        if curr < prev {
            b.count = prev;
            let f = fix.get_or_insert(MonotonicityFix {
                min_bucket: f64::INFINITY,
                max_bucket: f64::NEG_INFINITY,
                max_diff: 0.0,
            });
            f.min_bucket = f.min_bucket.min(b.upper);
            f.max_bucket = f.max_bucket.max(b.upper);
            if prev - curr > f.max_diff {
                f.max_diff = prev - curr;
            }
            continue;
        }
        prev = curr;
    }
    fix
}

/// The `q` quantile of a classic histogram, interpolating linearly within the bucket it falls
/// in (upstream `BucketQuantile`). The lowest bucket starts at 0 unless its upper bound is not
/// positive, in which case that bound is the answer; a quantile in the `+Inf` bucket is the
/// second-highest bound. NaN without observations, without a `+Inf` bucket or with fewer than
/// two buckets; `q` below 0 gives `-Inf`, above 1 `+Inf`.
pub(crate) fn bucket_quantile(q: f64, mut buckets: Vec<ClassicBucket>) -> BucketQuantile {
    let value = |value| BucketQuantile { value, fix: None };
    if q.is_nan() {
        return value(f64::NAN);
    }
    if q < 0.0 {
        return value(f64::NEG_INFINITY);
    }
    if q > 1.0 {
        return value(f64::INFINITY);
    }
    if sorted_and_coalesced(&mut buckets).is_none() {
        return value(f64::NAN);
    }
    let fix = ensure_monotonic(&mut buckets, SMALL_DELTA_TOLERANCE);
    let result = |value| BucketQuantile { value, fix };
    let n = buckets.len();
    if n < 2 {
        return result(f64::NAN);
    }
    let observations = buckets[n - 1].count;
    if observations == 0.0 {
        return result(f64::NAN);
    }
    let mut rank = q * observations;
    // The first bucket (the +Inf one excluded) reaching the rank.
    let b = buckets[..n - 1].partition_point(|x| x.count < rank);
    if b == n - 1 {
        return result(buckets[n - 2].upper);
    }
    if b == 0 && buckets[0].upper <= 0.0 {
        return result(buckets[0].upper);
    }
    let (end, mut count) = (buckets[b].upper, buckets[b].count);
    let mut start = 0.0;
    if b > 0 {
        start = buckets[b - 1].upper;
        count -= buckets[b - 1].count;
        rank -= buckets[b - 1].count;
    }
    result(start + (end - start) * (rank / count))
}

/// The fraction of a classic histogram's observations between `lower` and `upper`,
/// interpolating linearly within buckets (upstream `BucketFraction`). NaN without a `+Inf`
/// bucket, without observations or for a NaN bound; 0 when `lower >= upper`.
pub(crate) fn bucket_fraction(lower: f64, upper: f64, mut buckets: Vec<ClassicBucket>) -> f64 {
    if sorted_and_coalesced(&mut buckets).is_none() {
        return f64::NAN;
    }
    let count = buckets.last().map_or(0.0, |b| b.count);
    if count == 0.0 || lower.is_nan() || upper.is_nan() {
        return f64::NAN;
    }
    if lower >= upper {
        return 0.0;
    }
    let (mut rank, mut lower_rank, mut upper_rank) = (0.0, None, None);
    let mut bucket_start = match buckets.first() {
        Some(b) if b.upper <= 0.0 => f64::NEG_INFINITY,
        _ => 0.0,
    };
    for (i, b) in buckets.iter().enumerate() {
        if let Some(prev) = i.checked_sub(1).and_then(|p| buckets.get(p)) {
            bucket_start = prev.upper;
        }
        let bucket_end = b.upper;
        // Rank at `v` strictly inside the bucket; nothing is interpolated in a bucket with an
        // infinite bound.
        let interpolate = |v: f64| {
            if bucket_start == f64::NEG_INFINITY {
                b.count
            } else {
                rank + (b.count - rank) * (v - bucket_start) / (bucket_end - bucket_start)
            }
        };
        if lower_rank.is_none() && bucket_start >= lower {
            lower_rank = Some(rank);
        }
        if upper_rank.is_none() && bucket_start >= upper {
            upper_rank = Some(rank);
        }
        if lower_rank.is_some() && upper_rank.is_some() {
            break;
        }
        if lower_rank.is_none() && bucket_start < lower && bucket_end > lower {
            lower_rank = Some(interpolate(lower));
        }
        if upper_rank.is_none() && bucket_start < upper && bucket_end > upper {
            upper_rank = Some(interpolate(upper));
        }
        if lower_rank.is_some() && upper_rank.is_some() {
            break;
        }
        rank = b.count;
    }
    let clamp = |r: Option<f64>| r.filter(|r| *r <= count).unwrap_or(count);
    (clamp(upper_rank) - clamp(lower_rank)) / count
}

#[cfg(test)]
mod tests {
    use super::*;

    fn buckets(pairs: &[(f64, f64)]) -> Vec<ClassicBucket> {
        pairs
            .iter()
            .map(|&(upper, count)| ClassicBucket { upper, count })
            .collect()
    }

    const INF: f64 = f64::INFINITY;

    #[test]
    fn quantile_interpolates_linearly_within_the_bucket() {
        // 10 observations in (0, 1], 10 in (1, 2], none above.
        let h = buckets(&[(2.0, 20.0), (1.0, 10.0), (INF, 20.0)]);
        assert_eq!(bucket_quantile(0.5, h.clone()).value, 1.0);
        assert_eq!(bucket_quantile(0.25, h.clone()).value, 0.5);
        assert_eq!(bucket_quantile(0.75, h.clone()).value, 1.5);
        assert_eq!(bucket_quantile(0.0, h.clone()).value, 0.0);
        assert_eq!(bucket_quantile(1.0, h).value, 2.0);
    }

    #[test]
    fn quantile_edge_cases() {
        let h = buckets(&[(1.0, 10.0), (INF, 20.0)]);
        // In the +Inf bucket: the highest finite bound.
        assert_eq!(bucket_quantile(0.9, h.clone()).value, 1.0);
        assert_eq!(bucket_quantile(-0.1, h.clone()).value, f64::NEG_INFINITY);
        assert_eq!(bucket_quantile(1.1, h.clone()).value, f64::INFINITY);
        assert!(bucket_quantile(f64::NAN, h).value.is_nan());
        // No +Inf bucket, too few buckets, no observations.
        assert!(
            bucket_quantile(0.5, buckets(&[(1.0, 1.0), (2.0, 2.0)]))
                .value
                .is_nan()
        );
        assert!(bucket_quantile(0.5, buckets(&[(INF, 2.0)])).value.is_nan());
        assert!(
            bucket_quantile(0.5, buckets(&[(1.0, 0.0), (INF, 0.0)]))
                .value
                .is_nan()
        );
        assert!(bucket_quantile(0.5, Vec::new()).value.is_nan());
        // A lowest bucket with a non-positive bound answers with that bound.
        let negative = buckets(&[(-1.0, 10.0), (0.0, 20.0), (INF, 20.0)]);
        assert_eq!(bucket_quantile(0.2, negative.clone()).value, -1.0);
        assert_eq!(bucket_quantile(0.75, negative).value, -0.5);
    }

    #[test]
    fn duplicate_bounds_are_merged() {
        let h = buckets(&[(1.0, 5.0), (1.0, 5.0), (INF, 20.0)]);
        assert_eq!(bucket_quantile(0.25, h).value, 0.5);
    }

    #[test]
    fn monotonicity_is_forced_and_reported() {
        let h = buckets(&[
            (1.0, 10.0),
            (2.0, 8.0),
            (3.0, 7.0),
            (4.0, 20.0),
            (INF, 20.0),
        ]);
        let got = bucket_quantile(0.75, h);
        assert_eq!(
            got.fix,
            Some(MonotonicityFix {
                min_bucket: 2.0,
                max_bucket: 3.0,
                max_diff: 3.0
            })
        );
        // Counts become 10, 10, 10, 20: rank 15 lies halfway into (3, 4].
        assert_eq!(got.value, 3.5);
    }

    #[test]
    fn tiny_deltas_are_noise_not_a_monotonicity_problem() {
        let almost_ten = 10.0 * (1.0 - 1e-14);
        let h = buckets(&[(1.0, 10.0), (2.0, almost_ten), (INF, 20.0)]);
        let got = bucket_quantile(0.5, h);
        assert_eq!(got.fix, None);
        assert_eq!(got.value, 1.0);
    }

    #[test]
    fn fraction_interpolates_and_clamps() {
        let h = buckets(&[(1.0, 10.0), (2.0, 20.0), (INF, 40.0)]);
        assert_eq!(bucket_fraction(0.0, 1.0, h.clone()), 0.25);
        assert_eq!(bucket_fraction(0.5, 1.5, h.clone()), 0.25);
        assert_eq!(bucket_fraction(f64::NEG_INFINITY, 2.0, h.clone()), 0.5);
        // Nothing is interpolated in the +Inf bucket.
        assert_eq!(bucket_fraction(2.0, 100.0, h.clone()), 0.0);
        assert_eq!(bucket_fraction(2.0, INF, h.clone()), 0.5);
        assert_eq!(bucket_fraction(1.0, 1.0, h.clone()), 0.0);
        assert!(bucket_fraction(f64::NAN, 1.0, h).is_nan());
        assert!(bucket_fraction(0.0, 1.0, buckets(&[(1.0, 1.0)])).is_nan());
    }
}
