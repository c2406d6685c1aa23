//! Adding and subtracting native histograms with differing layouts, and counter-reset
//! detection between them (upstream model/histogram/float_histogram.go `Add`, `Sub`,
//! `reconcileZeroBuckets`, `zeroCountForLargerThreshold`, `intersectCustomBucketBounds`,
//! `addCustomBucketsWithMismatches`, `adjustCounterReset`, `DetectReset`).
//!
//! Exponential histograms are brought to the larger of the two zero thresholds (moved further
//! out when it falls inside a populated bucket) and to the coarser schema. Custom-bucket
//! histograms with different bounds are mapped onto the bounds both have, which is reported
//! as a reconciliation. Exponential and custom-bucket histograms cannot be combined. Knows
//! nothing of PromQL evaluation: callers turn [`Notes`] and [`IncompatibleSchemas`] into
//! annotations with the message texts given here.

use shared::histogram::{CUSTOM_BUCKETS_SCHEMA, CounterResetHint, FloatHistogram};

use super::bounds::exponential_bound;
use super::{Buckets, buckets, from_buckets};

/// An exponential histogram combined with a custom-bucket one (upstream
/// `ErrHistogramsIncompatibleSchema`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("cannot combine exponential and custom bucket histograms")]
pub(crate) struct IncompatibleSchemas;

/// What combining histograms had to paper over; each becomes an annotation upstream.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Notes {
    /// Custom bucket bounds differed and were reduced to the common ones.
    pub(crate) bounds_reconciled: bool,
    /// One histogram said "counter reset", the other "no counter reset".
    pub(crate) reset_collision: bool,
}

impl Notes {
    /// Both sets of notes.
    pub(crate) fn merge(self, other: Notes) -> Notes {
        Notes {
            bounds_reconciled: self.bounds_reconciled || other.bounds_reconciled,
            reset_collision: self.reset_collision || other.reset_collision,
        }
    }
}

/// The operation an annotation names (upstream `annotations.HistogramOperation`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Operation {
    /// `+`, or the additions inside `rate`.
    Addition,
    /// `-`, or the subtractions inside `rate`/`delta`.
    Subtraction,
    /// `sum`, `avg`, `sum_over_time`, `avg_over_time`.
    Aggregation,
}

impl Operation {
    fn as_str(self) -> &'static str {
        match self {
            Operation::Addition => "addition",
            Operation::Subtraction => "subtraction",
            Operation::Aggregation => "aggregation",
        }
    }

    /// The info text for reconciled custom bounds (upstream
    /// `NewMismatchedCustomBucketsHistogramsInfo`).
    pub(crate) fn reconciled_message(self) -> String {
        format!(
            "mismatched custom buckets were reconciled during {}",
            self.as_str()
        )
    }

    /// The warning text for colliding counter-reset hints (upstream
    /// `NewHistogramCounterResetCollisionWarning`).
    pub(crate) fn collision_message(self) -> String {
        format!(
            "conflicting counter resets during histogram {}",
            self.as_str()
        )
    }
}

/// The warning text for exponential and custom-bucket histograms mixed in one operation
/// (upstream `NewMixedExponentialCustomHistogramsWarning`).
pub(crate) fn mixed_schemas_message(metric_name: &str) -> String {
    format!(
        "vector contains a mix of histograms with exponential and custom buckets schemas for metric name {metric_name:?}"
    )
}

/// `a + sign * b` (`sign` is 1 or -1), its buckets compacted. The counter-reset hint follows
/// upstream `adjustCounterReset`; callers implementing the `-` operator mark the result a
/// gauge themselves.
pub(crate) fn combine(
    a: &FloatHistogram,
    b: &FloatHistogram,
    sign: f64,
) -> Result<(FloatHistogram, Notes), IncompatibleSchemas> {
    let custom = a.schema == CUSTOM_BUCKETS_SCHEMA;
    if custom != (b.schema == CUSTOM_BUCKETS_SCHEMA) {
        return Err(IncompatibleSchemas);
    }
    let (counter_reset_hint, reset_collision) =
        adjust_counter_reset(a.counter_reset_hint, b.counter_reset_hint);
    let mut notes = Notes {
        reset_collision,
        ..Notes::default()
    };
    let mut out = FloatHistogram {
        counter_reset_hint,
        count: a.count + sign * b.count,
        sum: a.sum + sign * b.sum,
        ..a.clone()
    };
    if custom {
        let mut pos = buckets(&a.positive_spans, &a.positive_buckets, a.schema, a.schema);
        let mut other = buckets(&b.positive_spans, &b.positive_buckets, b.schema, b.schema);
        if a.custom_values != b.custom_values {
            notes.bounds_reconciled = true;
            let common = intersect(&a.custom_values, &b.custom_values);
            pos = map_to_bounds(&pos, &a.custom_values, &common);
            other = map_to_bounds(&other, &b.custom_values, &common);
            out.custom_values = common;
        }
        for (i, c) in other {
            *pos.entry(i).or_insert(0.0) += sign * c;
        }
        (out.positive_spans, out.positive_buckets) = from_buckets(&pos);
        return Ok((out, notes));
    }
    let mut a_side = Sides::of(a);
    let b_side = Sides::of(b);
    // Reconcile the zero buckets: both end up with the larger threshold.
    let (mut b_zero_count, mut b_threshold) = (b.zero_count, b.zero_threshold);
    let (mut a_zero_count, mut a_threshold) = (a.zero_count, a.zero_threshold);
    // Each round moves a threshold up to a bucket bound, so this ends (a NaN threshold, which
    // compares with nothing, ends it at once).
    while a_threshold > b_threshold || b_threshold > a_threshold {
        if a_threshold > b_threshold {
            (b_zero_count, b_threshold) =
                zero_count_for_larger_threshold(&b_side, b.zero_count, a_threshold);
        }
        if b_threshold > a_threshold {
            (a_zero_count, a_threshold) =
                zero_count_for_larger_threshold(&a_side, a.zero_count, b_threshold);
            a_side.drop_inside(a_threshold);
        }
    }
    out.zero_threshold = a_threshold;
    out.zero_count = a_zero_count + sign * b_zero_count;
    let schema = a.schema.min(b.schema);
    out.schema = schema;
    let merge = |mine: &Buckets, theirs: &Buckets, from: i32| {
        let mut sum = reduce(mine, a.schema, schema);
        for (i, c) in reduce(theirs, from, schema) {
            // Buckets of the other histogram inside the zero bucket are left out.
            if exponential_bound(i, schema) <= a_threshold {
                continue;
            }
            *sum.entry(i).or_insert(0.0) += sign * c;
        }
        from_buckets(&sum)
    };
    (out.positive_spans, out.positive_buckets) =
        merge(&a_side.positive, &b_side.positive, b.schema);
    (out.negative_spans, out.negative_buckets) =
        merge(&a_side.negative, &b_side.negative, b.schema);
    Ok((out, notes))
}

/// The hint of a sum or difference and whether the operands' hints collided (upstream
/// `adjustCounterReset`).
fn adjust_counter_reset(a: CounterResetHint, b: CounterResetHint) -> (CounterResetHint, bool) {
    use CounterResetHint::{CounterReset, Gauge, NotCounterReset, Unknown};
    match (a, b) {
        _ if a == b => (a, false),
        (Gauge, _) | (_, Gauge) => (Gauge, false),
        (Unknown, _) | (_, Unknown) => (Unknown, false),
        (CounterReset, NotCounterReset) | (NotCounterReset, CounterReset) => (Unknown, true),
        _ => (Unknown, false),
    }
}

/// The positive and negative buckets of an exponential histogram by index.
#[derive(Debug, Clone)]
struct Sides {
    schema: i32,
    positive: Buckets,
    negative: Buckets,
}

impl Sides {
    fn of(h: &FloatHistogram) -> Self {
        Sides {
            schema: h.schema,
            positive: buckets(&h.positive_spans, &h.positive_buckets, h.schema, h.schema),
            negative: buckets(&h.negative_spans, &h.negative_buckets, h.schema, h.schema),
        }
    }

    /// Removes the buckets now inside a zero bucket of `threshold` (upstream
    /// `trimBucketsInZeroBucket`): those whose lower bound is below it.
    fn drop_inside(&mut self, threshold: f64) {
        let schema = self.schema;
        let outside = |i: &i64, _: &mut f64| exponential_bound(i - 1, schema) >= threshold;
        self.positive.retain(outside);
        self.negative.retain(outside);
    }
}

/// The zero count `h` would have with a zero threshold of at least `threshold`, and the
/// threshold, moved out to the end of a populated bucket it would cut (upstream
/// `zeroCountForLargerThreshold`).
fn zero_count_for_larger_threshold(h: &Sides, zero_count: f64, mut threshold: f64) -> (f64, f64) {
    let bound = |i: i64| exponential_bound(i, h.schema);
    'again: loop {
        let mut count = zero_count;
        if threshold.is_nan() {
            return (count, threshold);
        }
        for (&i, &c) in &h.positive {
            if bound(i - 1) >= threshold {
                break;
            }
            count += c;
            if bound(i) > threshold {
                if c != 0.0 {
                    threshold = bound(i);
                }
                break;
            }
        }
        for (&i, &c) in &h.negative {
            if bound(i - 1) >= threshold {
                break;
            }
            count += c;
            if bound(i) > threshold {
                if c != 0.0 {
                    threshold = bound(i);
                    continue 'again;
                }
                break;
            }
        }
        return (count, threshold);
    }
}

/// Buckets at `from` merged into the coarser schema `to` (upstream `targetIdx`).
fn reduce(b: &Buckets, from: i32, to: i32) -> Buckets {
    let shift = from.saturating_sub(to).min(63);
    if shift <= 0 {
        return b.clone();
    }
    let mut out = Buckets::new();
    for (&i, &c) in b {
        *out.entry(((i - 1) >> shift) + 1).or_insert(0.0) += c;
    }
    out
}

/// The bounds two custom-bucket layouts share (upstream `intersectCustomBucketBounds`).
fn intersect(a: &[f64], b: &[f64]) -> Vec<f64> {
    a.iter().copied().filter(|x| b.contains(x)).collect()
}

/// Custom buckets at `from` bounds moved to the bucket of `to` that contains them: the first
/// whose bound is at least theirs, or the `+Inf` bucket.
fn map_to_bounds(b: &Buckets, from: &[f64], to: &[f64]) -> Buckets {
    let mut out = Buckets::new();
    for (&i, &c) in b {
        let bound = usize::try_from(i)
            .ok()
            .and_then(|i| from.get(i))
            .copied()
            .unwrap_or(f64::INFINITY);
        let target = to.iter().position(|t| *t >= bound).unwrap_or(to.len());
        *out.entry(target as i64).or_insert(0.0) += c;
    }
    out
}

/// Whether `cur` starts over after `prev` (upstream `FloatHistogram.DetectReset`): as its hint
/// says when it is "reset" or "not reset"; otherwise a lower count, a finer schema, a smaller
/// zero threshold, a zero threshold cutting a populated bucket of `prev`, a switch to custom
/// buckets, or any bucket (at common bounds) with a lower count than before.
pub(crate) fn detect_reset(prev: &FloatHistogram, cur: &FloatHistogram) -> bool {
    match cur.counter_reset_hint {
        CounterResetHint::CounterReset => return true,
        CounterResetHint::NotCounterReset => return false,
        _ => {}
    }
    if cur.count < prev.count {
        return true;
    }
    let custom = cur.schema == CUSTOM_BUCKETS_SCHEMA;
    if custom != (prev.schema == CUSTOM_BUCKETS_SCHEMA) {
        return true;
    }
    if custom {
        let common = intersect(&cur.custom_values, &prev.custom_values);
        let now = map_to_bounds(&Sides::of(cur).positive, &cur.custom_values, &common);
        let before = map_to_bounds(&Sides::of(prev).positive, &prev.custom_values, &common);
        return lower_somewhere(&before, &now);
    }
    if cur.schema > prev.schema || cur.zero_threshold < prev.zero_threshold {
        return true;
    }
    let mut before = Sides::of(prev);
    let (zero_count, threshold) =
        zero_count_for_larger_threshold(&before, prev.zero_count, cur.zero_threshold);
    if threshold != cur.zero_threshold || cur.zero_count < zero_count {
        return true;
    }
    before.drop_inside(threshold);
    let now = Sides::of(cur);
    lower_somewhere(
        &reduce(&before.positive, prev.schema, cur.schema),
        &now.positive,
    ) || lower_somewhere(
        &reduce(&before.negative, prev.schema, cur.schema),
        &now.negative,
    )
}

/// Whether some bucket of `now` holds less than in `before`.
fn lower_somewhere(before: &Buckets, now: &Buckets) -> bool {
    before
        .iter()
        .any(|(i, c)| now.get(i).copied().unwrap_or(0.0) < *c)
}

#[cfg(test)]
mod tests {
    use shared::histogram::Span;

    use super::*;

    fn h(schema: i32, zero: (f64, f64), first: i32, counts: &[f64]) -> FloatHistogram {
        FloatHistogram {
            schema,
            zero_threshold: zero.0,
            zero_count: zero.1,
            count: counts.iter().sum::<f64>() + zero.1,
            positive_spans: vec![Span {
                offset: first,
                length: u32::try_from(counts.len()).unwrap(),
            }],
            positive_buckets: counts.to_vec(),
            ..FloatHistogram::default()
        }
    }

    fn nhcb(bounds: &[f64], counts: &[f64]) -> FloatHistogram {
        FloatHistogram {
            custom_values: bounds.to_vec(),
            ..h(CUSTOM_BUCKETS_SCHEMA, (0.0, 0.0), 0, counts)
        }
    }

    #[test]
    fn custom_bounds_are_reduced_to_the_common_ones() {
        // [5 10] buckets (-Inf,5] (5,10] (10,Inf]; [2 10]: (-Inf,2] (2,10] (10,Inf].
        let (sum, notes) = combine(
            &nhcb(&[5.0, 10.0], &[1.0, 2.0, 3.0]),
            &nhcb(&[2.0, 10.0], &[4.0, 5.0, 6.0]),
            1.0,
        )
        .unwrap();
        assert!(notes.bounds_reconciled);
        assert_eq!(sum.custom_values, vec![10.0]);
        assert_eq!(sum.positive_buckets, vec![12.0, 9.0]);
        assert_eq!(sum.count, 21.0);
        let exponential = h(0, (0.0, 0.0), 0, &[1.0]);
        assert_eq!(
            combine(&exponential, &nhcb(&[1.0], &[1.0]), 1.0),
            Err(IncompatibleSchemas)
        );
    }

    #[test]
    fn zero_thresholds_are_reconciled_to_the_larger_one() {
        // Schema 0: bucket 0 is (0.5,1], bucket 1 is (1,2]. Threshold 1 swallows bucket 0.
        let fine = h(0, (0.1, 1.0), 0, &[2.0, 3.0]);
        let wide = h(0, (1.0, 4.0), 1, &[5.0]);
        let (sum, _) = combine(&fine, &wide, 1.0).unwrap();
        assert_eq!(sum.zero_threshold, 1.0);
        assert_eq!(sum.zero_count, 7.0);
        assert_eq!(sum.positive_buckets, vec![8.0]);
        // A threshold inside a populated bucket moves to its upper bound.
        let cut = h(0, (1.5, 1.0), 2, &[1.0]);
        let (sum, _) = combine(&fine, &cut, 1.0).unwrap();
        assert_eq!(sum.zero_threshold, 2.0);
        assert_eq!(sum.zero_count, 1.0 + 2.0 + 3.0 + 1.0);
    }

    #[test]
    fn resets_follow_hints_then_counts() {
        let before = nhcb(&[5.0, 10.0], &[1.0, 2.0, 3.0]);
        let mut after = nhcb(&[10.0], &[3.0, 4.0]);
        assert!(
            !detect_reset(&before, &after),
            "(-Inf,10] holds 3 both times"
        );
        after.counter_reset_hint = CounterResetHint::CounterReset;
        assert!(detect_reset(&before, &after));
        let lower = nhcb(&[10.0], &[2.0, 5.0]);
        assert!(detect_reset(&before, &lower));
        assert_eq!(
            adjust_counter_reset(
                CounterResetHint::CounterReset,
                CounterResetHint::NotCounterReset
            ),
            (CounterResetHint::Unknown, true)
        );
    }
}
