//! Arithmetic on native histograms (upstream model/histogram/float_histogram.go `Add`, `Sub`,
//! `Mul`, `Div`): buckets are brought to the coarser schema of the two, then added index by
//! index; the result's spans list only non-empty buckets.
//!
//! Differing zero thresholds widen the zero bucket; differing custom bucket bounds are
//! reconciled to the bounds both share, which [`Noticed`] reports for an annotation, as it
//! does counter reset collisions. Exponential and custom buckets cannot be combined
//! ([`CombineError`]). Knows nothing of storage or annotations.

use std::collections::BTreeMap;

use shared::histogram::{
    CUSTOM_BUCKETS_SCHEMA, CounterResetHint, FloatHistogram, Span, bucket_indices,
};

/// Bucket counts by index.
pub(crate) type Buckets = BTreeMap<i64, f64>;

/// The buckets of `spans`/`counts` at `schema`, reduced to `target` (<= `schema`) resolution:
/// index `i` maps to `((i - 1) >> (schema - target)) + 1` (upstream `targetIdx`).
pub(crate) fn buckets(spans: &[Span], counts: &[f64], schema: i32, target: i32) -> Buckets {
    let shift = if schema == CUSTOM_BUCKETS_SCHEMA {
        0
    } else {
        schema - target
    };
    let mut out = Buckets::new();
    for (i, c) in bucket_indices(spans).zip(counts) {
        let index = if shift > 0 { ((i - 1) >> shift) + 1 } else { i };
        *out.entry(index).or_insert(0.0) += c;
    }
    out
}

/// Spans and counts listing the non-zero buckets.
fn from_buckets(b: &Buckets) -> (Vec<Span>, Vec<f64>) {
    let mut spans: Vec<Span> = Vec::new();
    let mut counts = Vec::new();
    let mut next: Option<i64> = None;
    for (&i, &c) in b.iter().filter(|(_, c)| **c != 0.0) {
        match next {
            Some(n) if n == i => {
                if let Some(last) = spans.last_mut() {
                    last.length += 1;
                }
            }
            _ => {
                let offset = i - next.unwrap_or(0);
                spans.push(Span {
                    offset: i32::try_from(offset).unwrap_or(i32::MAX),
                    length: 1,
                });
            }
        }
        counts.push(c);
        next = Some(i + 1);
    }
    (spans, counts)
}

/// Why two histograms cannot be combined (upstream `ErrHistogramsIncompatibleSchema`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub(crate) enum CombineError {
    /// One has exponential buckets, the other custom ones.
    #[error("histograms with exponential and custom buckets cannot be combined")]
    MixedSchemas,
}

/// What combining histograms noticed besides its result; callers turn these into
/// annotations (upstream `Add`'s `counterResetCollision` and `nhcbBoundsReconciled`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Noticed {
    /// One operand was marked a counter reset and another explicitly not one.
    pub counter_reset_collision: bool,
    /// Custom bucket bounds differed; the result has only the bounds both have.
    pub custom_bounds_reconciled: bool,
}

impl Noticed {
    /// Both sets of findings.
    pub(crate) fn merge(self, other: Self) -> Self {
        Self {
            counter_reset_collision: self.counter_reset_collision || other.counter_reset_collision,
            custom_bounds_reconciled: self.custom_bounds_reconciled
                || other.custom_bounds_reconciled,
        }
    }
}

/// `a + sign * b`; `None` when exponential and custom buckets meet. Use [`combine`] to learn
/// about counter reset collisions and reconciled custom bounds.
pub(crate) fn add(a: &FloatHistogram, b: &FloatHistogram, sign: f64) -> Option<FloatHistogram> {
    combine(a, b, sign).ok().map(|(h, _)| h)
}

/// `a + sign * b` (upstream `FloatHistogram.Add`/`Sub`): exponential buckets at the coarser
/// schema and the wider zero bucket of the two; custom buckets on the bounds both share when
/// their bounds differ.
pub(crate) fn combine(
    a: &FloatHistogram,
    b: &FloatHistogram,
    sign: f64,
) -> Result<(FloatHistogram, Noticed), CombineError> {
    let a_custom = a.schema == CUSTOM_BUCKETS_SCHEMA;
    if a_custom != (b.schema == CUSTOM_BUCKETS_SCHEMA) {
        return Err(CombineError::MixedSchemas);
    }
    let (counter_reset_hint, counter_reset_collision) = result_hint(a, b, sign);
    let mut noticed = Noticed {
        counter_reset_collision,
        custom_bounds_reconciled: false,
    };
    if a_custom {
        let bounds = if a.custom_values == b.custom_values {
            a.custom_values.clone()
        } else {
            noticed.custom_bounds_reconciled = true;
            common_bounds(&a.custom_values, &b.custom_values)
        };
        let mut out = map_custom(
            &a.positive_spans,
            &a.positive_buckets,
            &a.custom_values,
            &bounds,
        );
        let other = map_custom(
            &b.positive_spans,
            &b.positive_buckets,
            &b.custom_values,
            &bounds,
        );
        for (i, c) in other {
            *out.entry(i).or_insert(0.0) += sign * c;
        }
        let (positive_spans, positive_buckets) = from_buckets(&out);
        let sum = FloatHistogram {
            counter_reset_hint,
            schema: CUSTOM_BUCKETS_SCHEMA,
            zero_threshold: 0.0,
            zero_count: 0.0,
            count: a.count + sign * b.count,
            sum: a.sum + sign * b.sum,
            positive_spans,
            negative_spans: Vec::new(),
            positive_buckets,
            negative_buckets: Vec::new(),
            custom_values: bounds,
        };
        return Ok((sum, noticed));
    }
    let zero = ZeroBuckets::reconcile(a, b);
    let schema = a.schema.min(b.schema);
    let merge = |positive: bool| {
        let side = |h: &FloatHistogram, trim: bool| {
            let (spans, counts) = if positive {
                (&h.positive_spans, &h.positive_buckets)
            } else {
                (&h.negative_spans, &h.negative_buckets)
            };
            let mut own = buckets(spans, counts, h.schema, h.schema);
            if trim {
                own.retain(|i, _| upper_bound(*i, h.schema) > zero.threshold);
            }
            reduce(&own, h.schema, schema)
        };
        let mut out = side(a, zero.trim_a);
        for (i, c) in side(b, true) {
            *out.entry(i).or_insert(0.0) += sign * c;
        }
        from_buckets(&out)
    };
    let (positive_spans, positive_buckets) = merge(true);
    let (negative_spans, negative_buckets) = merge(false);
    let sum = FloatHistogram {
        counter_reset_hint,
        schema,
        zero_threshold: zero.threshold,
        zero_count: zero.a_count + sign * zero.b_count,
        count: a.count + sign * b.count,
        sum: a.sum + sign * b.sum,
        positive_spans,
        negative_spans,
        positive_buckets,
        negative_buckets,
        custom_values: Vec::new(),
    };
    Ok((sum, noticed))
}

/// Bucket counts at `schema` reduced to `target` (<= `schema`).
fn reduce(b: &Buckets, schema: i32, target: i32) -> Buckets {
    let shift = schema - target;
    if shift <= 0 {
        return b.clone();
    }
    let mut out = Buckets::new();
    for (&i, &c) in b {
        *out.entry(((i - 1) >> shift) + 1).or_insert(0.0) += c;
    }
    out
}

/// The upper bound of exponential bucket `index` at `schema`: `2^(index * 2^-schema)`.
fn upper_bound(index: i64, schema: i32) -> f64 {
    (index as f64 * 2f64.powi(-schema)).exp2()
}

/// The zero bucket two exponential histograms share when combined (upstream
/// `reconcileZeroBuckets`): the wider threshold, moved up past any populated bucket it would
/// cut, and each histogram's zero count at that threshold.
struct ZeroBuckets {
    threshold: f64,
    a_count: f64,
    b_count: f64,
    /// Whether `a`'s threshold grew, so its buckets below it must go.
    trim_a: bool,
}

impl ZeroBuckets {
    fn reconcile(a: &FloatHistogram, b: &FloatHistogram) -> Self {
        let (mut a_threshold, mut a_count) = (a.zero_threshold, a.zero_count);
        let (mut b_threshold, mut b_count) = (b.zero_threshold, b.zero_count);
        let mut trim_a = false;
        while a_threshold != b_threshold {
            if a_threshold > b_threshold {
                (b_count, b_threshold) = zero_count_at(b, a_threshold);
            }
            if b_threshold > a_threshold {
                (a_count, a_threshold) = zero_count_at(a, b_threshold);
                trim_a = true;
            }
        }
        Self {
            threshold: a_threshold,
            a_count,
            b_count,
            trim_a,
        }
    }
}

/// `h`'s zero count if its zero threshold were `threshold` (>= its own), and the threshold
/// actually needed: raised to the upper bound of a populated bucket it falls inside (upstream
/// `zeroCountForLargerThreshold`).
fn zero_count_at(h: &FloatHistogram, mut threshold: f64) -> (f64, f64) {
    if threshold <= h.zero_threshold {
        return (h.zero_count, h.zero_threshold);
    }
    let positive = buckets(&h.positive_spans, &h.positive_buckets, h.schema, h.schema);
    let negative = buckets(&h.negative_spans, &h.negative_buckets, h.schema, h.schema);
    'again: loop {
        let mut count = h.zero_count;
        for (side, is_negative) in [(&positive, false), (&negative, true)] {
            for (&i, &c) in side {
                if upper_bound(i - 1, h.schema) >= threshold {
                    break;
                }
                count += c;
                let upper = upper_bound(i, h.schema);
                if upper > threshold {
                    if c != 0.0 {
                        threshold = upper;
                        if is_negative {
                            continue 'again;
                        }
                    }
                    break;
                }
            }
        }
        return (count, threshold);
    }
}

/// The bounds both lists have (upstream `intersectCustomBucketBounds`).
fn common_bounds(a: &[f64], b: &[f64]) -> Vec<f64> {
    a.iter().filter(|x| b.contains(x)).copied().collect()
}

/// Custom buckets over `from` bounds moved onto `to` bounds (a subset of them): each bucket
/// goes to the first bucket whose bound is at least its own; the `+Inf` bucket stays last
/// (upstream `addCustomBucketsWithMismatches`).
fn map_custom(spans: &[Span], counts: &[f64], from: &[f64], to: &[f64]) -> Buckets {
    let mut out = Buckets::new();
    for (i, c) in bucket_indices(spans).zip(counts) {
        let bound = usize::try_from(i).ok().and_then(|i| from.get(i));
        let target = match bound {
            Some(bound) => to.iter().position(|b| b >= bound).unwrap_or(to.len()),
            None => to.len(),
        };
        *out.entry(target as i64).or_insert(0.0) += c;
    }
    out
}

/// The result's counter reset hint and whether the operands' hints collide (upstream
/// `adjustCounterReset`); a difference is a gauge.
fn result_hint(a: &FloatHistogram, b: &FloatHistogram, sign: f64) -> (CounterResetHint, bool) {
    use CounterResetHint::{CounterReset, Gauge, NotCounterReset, Unknown};
    let collision = matches!(
        (a.counter_reset_hint, b.counter_reset_hint),
        (CounterReset, NotCounterReset) | (NotCounterReset, CounterReset)
    );
    let hint = match (a.counter_reset_hint, b.counter_reset_hint) {
        _ if sign < 0.0 => Gauge,
        (x, y) if x == y => x,
        (Gauge, _) | (_, Gauge) => Gauge,
        _ => Unknown,
    };
    (hint, collision)
}

/// Whether `cur` is a counter reset after `prev` (upstream `FloatHistogram.DetectReset`): its
/// hint decides when it is "reset" or "not reset"; otherwise a lower count, a change between
/// exponential and custom buckets, a finer schema, a narrower zero bucket or one cutting a
/// populated bucket of `prev`, or a lower zero count or bucket. Custom buckets of different
/// bounds are compared on the bounds both share.
pub(crate) fn detect_reset(prev: &FloatHistogram, cur: &FloatHistogram) -> bool {
    match cur.counter_reset_hint {
        CounterResetHint::CounterReset => return true,
        CounterResetHint::NotCounterReset => return false,
        CounterResetHint::Unknown | CounterResetHint::Gauge => {}
    }
    if cur.count < prev.count {
        return true;
    }
    let lower = |now: Buckets, before: Buckets| {
        before
            .into_iter()
            .any(|(i, c)| now.get(&i).copied().unwrap_or(0.0) < c)
    };
    if cur.schema == CUSTOM_BUCKETS_SCHEMA {
        if prev.schema != CUSTOM_BUCKETS_SCHEMA {
            return true;
        }
        let bounds = common_bounds(&cur.custom_values, &prev.custom_values);
        let map = |h: &FloatHistogram| {
            map_custom(
                &h.positive_spans,
                &h.positive_buckets,
                &h.custom_values,
                &bounds,
            )
        };
        return lower(map(cur), map(prev));
    }
    if cur.schema > prev.schema || cur.zero_threshold < prev.zero_threshold {
        return true;
    }
    let (prev_zero_count, threshold) = zero_count_at(prev, cur.zero_threshold);
    if threshold != cur.zero_threshold || cur.zero_count < prev_zero_count {
        return true;
    }
    let above_zero = |spans: &[Span], counts: &[f64], h: &FloatHistogram| {
        let mut own = buckets(spans, counts, h.schema, h.schema);
        own.retain(|i, _| upper_bound(*i, h.schema) > threshold);
        reduce(&own, h.schema, cur.schema)
    };
    lower(
        above_zero(&cur.positive_spans, &cur.positive_buckets, cur),
        above_zero(&prev.positive_spans, &prev.positive_buckets, prev),
    ) || lower(
        above_zero(&cur.negative_spans, &cur.negative_buckets, cur),
        above_zero(&prev.negative_spans, &prev.negative_buckets, prev),
    )
}

/// A running histogram sum with Kahan compensation of its count, zero count and sum (upstream
/// `KahanAdd`; bucket counts are added plainly).
#[derive(Debug, Clone)]
pub(crate) struct HistogramSum {
    sum: FloatHistogram,
    compensation: [f64; 3],
}

impl HistogramSum {
    /// Starts with `h`.
    pub(crate) fn new(h: &FloatHistogram) -> Self {
        Self {
            sum: h.clone(),
            compensation: [0.0; 3],
        }
    }

    /// Adds `h`, telling whether custom bounds had to be reconciled.
    pub(crate) fn add(&mut self, h: &FloatHistogram) -> Result<Noticed, CombineError> {
        let fields = [self.sum.count, self.sum.zero_count, self.sum.sum];
        let same_zero_bucket = self.sum.zero_threshold == h.zero_threshold;
        let (mut next, noticed) = combine(&self.sum, h, 1.0)?;
        let added = [h.count, h.zero_count, h.sum];
        let mut exact = [0.0; 3];
        for i in 0..3 {
            (exact[i], self.compensation[i]) =
                crate::promql::aggregate::kahan_sum_inc(added[i], fields[i], self.compensation[i]);
        }
        if !same_zero_bucket {
            // The zero bucket absorbed buckets: its count is the reconciled one.
            exact[1] = next.zero_count + self.compensation[1];
            self.compensation[1] = 0.0;
        }
        [next.count, next.zero_count, next.sum] = exact;
        self.sum = next;
        Ok(noticed)
    }

    /// The compensated sum.
    pub(crate) fn finish(mut self) -> FloatHistogram {
        self.sum.count += self.compensation[0];
        self.sum.zero_count += self.compensation[1];
        self.sum.sum += self.compensation[2];
        self.sum
    }
}

/// The sum (`mean: false`) or mean of `first` and `rest`: a Kahan-compensated sum, divided by
/// the count for the mean unless the sum overflows, in which case the mean is computed
/// incrementally (as upstream `avg` does). [`Noticed::counter_reset_collision`] says whether
/// both a counter reset and a "not reset" hint were among them (upstream `aggregation`'s
/// `counterResetSeen && notCounterResetSeen`).
pub(crate) fn sum_or_mean(
    first: &FloatHistogram,
    rest: &[&FloatHistogram],
    mean: bool,
) -> Result<(FloatHistogram, Noticed), CombineError> {
    let mut total = HistogramSum::new(first);
    let mut noticed = Noticed::default();
    for h in rest {
        noticed = noticed.merge(total.add(h)?);
    }
    let hints = || {
        std::iter::once(first)
            .chain(rest.iter().copied())
            .map(|h| h.counter_reset_hint)
    };
    noticed.counter_reset_collision = hints().any(|h| h == CounterResetHint::CounterReset)
        && hints().any(|h| h == CounterResetHint::NotCounterReset);
    let sum = total.finish();
    if !mean {
        return Ok((sum, noticed));
    }
    let finite = |h: &FloatHistogram| {
        h.count.is_finite()
            && h.positive_buckets
                .iter()
                .chain(&h.negative_buckets)
                .all(|c| c.is_finite())
    };
    let n = rest.len() + 1;
    if finite(&sum)
        || !std::iter::once(first)
            .chain(rest.iter().copied())
            .all(finite)
    {
        return Ok((divide(&sum, n as f64), noticed));
    }
    let mut mean = first.clone();
    for (i, h) in rest.iter().enumerate() {
        // The sum above succeeded, so these layouts combine.
        let difference = add(h, &mean, -1.0).ok_or(CombineError::MixedSchemas)?;
        let step = divide(&difference, (i + 2) as f64);
        mean = add(&mean, &step, 1.0).ok_or(CombineError::MixedSchemas)?;
    }
    Ok((mean, noticed))
}

/// Whether two histograms hold the same observations: same schema, zero bucket, count, sum
/// and non-empty buckets, however their spans are laid out (upstream `Equals` on compacted
/// histograms; NaN sums compare by bits).
pub(crate) fn equal(a: &FloatHistogram, b: &FloatHistogram) -> bool {
    let non_empty = |spans: &[Span], counts: &[f64], schema: i32| -> Vec<(i64, u64)> {
        buckets(spans, counts, schema, schema)
            .into_iter()
            .filter(|(_, c)| *c != 0.0)
            .map(|(i, c)| (i, c.to_bits()))
            .collect()
    };
    a.schema == b.schema
        && a.zero_threshold == b.zero_threshold
        && a.zero_count == b.zero_count
        && a.count == b.count
        && a.sum.to_bits() == b.sum.to_bits()
        && a.custom_values == b.custom_values
        && non_empty(&a.positive_spans, &a.positive_buckets, a.schema)
            == non_empty(&b.positive_spans, &b.positive_buckets, b.schema)
        && non_empty(&a.negative_spans, &a.negative_buckets, a.schema)
            == non_empty(&b.negative_spans, &b.negative_buckets, b.schema)
}

/// Every count and the sum multiplied by `factor`.
pub(crate) fn scale(h: &FloatHistogram, factor: f64) -> FloatHistogram {
    map_values(h, |v| v * factor)
}

/// Every count and the sum divided by `divisor`. Division by zero leaves no buckets: the
/// zero bucket holds `count / 0` (what upstream's `Div` yields for a zero divisor).
pub(crate) fn divide(h: &FloatHistogram, divisor: f64) -> FloatHistogram {
    if divisor == 0.0 {
        return FloatHistogram {
            counter_reset_hint: h.counter_reset_hint,
            schema: h.schema,
            zero_threshold: h.zero_threshold,
            zero_count: h.count / divisor,
            count: h.count / divisor,
            sum: h.sum / divisor,
            custom_values: h.custom_values.clone(),
            ..FloatHistogram::default()
        };
    }
    map_values(h, |v| v / divisor)
}

/// `-h`: every count negated; the result is a gauge.
pub(crate) fn negate(h: &FloatHistogram) -> FloatHistogram {
    let mut out = map_values(h, |v| -v);
    out.counter_reset_hint = CounterResetHint::Gauge;
    out
}

fn map_values(h: &FloatHistogram, f: impl Fn(f64) -> f64) -> FloatHistogram {
    let mut out = h.clone();
    out.zero_count = f(out.zero_count);
    out.count = f(out.count);
    out.sum = f(out.sum);
    out.positive_buckets.iter_mut().for_each(|c| *c = f(*c));
    out.negative_buckets.iter_mut().for_each(|c| *c = f(*c));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(schema: i32, first: i32, counts: &[f64]) -> FloatHistogram {
        FloatHistogram {
            schema,
            count: counts.iter().sum(),
            sum: 1.0,
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
            ..h(0, 0, counts)
        }
    }

    #[test]
    fn custom_buckets_of_different_bounds_add_on_the_shared_bounds() {
        // Bounds [5, 10] and [10]: buckets (..5] and (5..10] of the first both go to (..10].
        let (sum, noticed) = combine(
            &custom(&[5.0, 10.0], &[1.0, 2.0, 3.0]),
            &custom(&[10.0], &[4.0, 5.0]),
            1.0,
        )
        .unwrap();
        assert!(noticed.custom_bounds_reconciled);
        assert_eq!(sum.custom_values, vec![10.0]);
        assert_eq!(sum.positive_buckets, vec![7.0, 8.0]);
        let (_, noticed) = combine(&custom(&[1.0], &[1.0]), &custom(&[1.0], &[1.0]), -1.0).unwrap();
        assert!(!noticed.custom_bounds_reconciled);
        assert_eq!(
            combine(&custom(&[1.0], &[1.0]), &h(0, 0, &[1.0]), 1.0),
            Err(CombineError::MixedSchemas)
        );
    }

    #[test]
    fn a_wider_zero_bucket_absorbs_the_buckets_below_it_and_hints_collide() {
        // Schema 0 bucket 0 is (0.5, 1]; a zero threshold of 1 takes it in.
        let narrow = FloatHistogram {
            zero_threshold: 0.001,
            zero_count: 1.0,
            counter_reset_hint: CounterResetHint::CounterReset,
            ..h(0, 0, &[2.0, 3.0])
        };
        let wide = FloatHistogram {
            zero_threshold: 1.0,
            zero_count: 4.0,
            counter_reset_hint: CounterResetHint::NotCounterReset,
            ..h(0, 1, &[5.0])
        };
        let (sum, noticed) = combine(&narrow, &wide, 1.0).unwrap();
        assert_eq!(sum.zero_threshold, 1.0);
        assert_eq!(sum.zero_count, 1.0 + 2.0 + 4.0);
        assert_eq!(sum.positive_buckets, vec![8.0]);
        assert!(noticed.counter_reset_collision);
        assert_eq!(sum.counter_reset_hint, CounterResetHint::Unknown);
    }

    #[test]
    fn adding_reduces_to_the_coarser_schema() {
        // Schema 1 buckets 1..=4 fold into schema 0 buckets 1, 1, 2, 2.
        let sum = add(&h(1, 1, &[1.0, 2.0, 3.0, 4.0]), &h(0, 1, &[10.0]), 1.0).unwrap();
        assert_eq!(sum.schema, 0);
        assert_eq!(sum.positive_buckets, vec![13.0, 7.0]);
        assert_eq!(
            sum.positive_spans,
            vec![Span {
                offset: 1,
                length: 2
            }]
        );
        assert_eq!((sum.count, sum.sum), (20.0, 2.0));
        let diff = add(&sum, &sum, -1.0).unwrap();
        assert!(diff.positive_buckets.is_empty() && diff.count == 0.0);
        let gap = add(&h(0, 0, &[1.0]), &h(0, 3, &[1.0]), 1.0).unwrap();
        assert_eq!(
            gap.positive_spans,
            vec![
                Span {
                    offset: 0,
                    length: 1
                },
                Span {
                    offset: 2,
                    length: 1
                }
            ]
        );
        assert_eq!(scale(&gap, 2.0).positive_buckets, vec![2.0, 2.0]);
    }
}
