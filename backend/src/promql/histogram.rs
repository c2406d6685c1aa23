//! Arithmetic on native histograms (upstream model/histogram/float_histogram.go `Add`, `Sub`,
//! `Mul`, `Div`): buckets are brought to the coarser schema of the two, then added index by
//! index; the result's spans list only non-empty buckets.
//!
//! Differing zero thresholds and custom bucket bounds are reconciled by [`combine`], which
//! reports what it had to paper over as [`Notes`] for the callers' annotations; exponential
//! and custom buckets cannot be combined ([`IncompatibleSchemas`]). Knows nothing of storage
//! or annotations.

use std::collections::BTreeMap;

pub(crate) mod bounds;
mod combine;
mod text;
mod trim;

/// Bucket bounds, for the query API's JSON of histogram buckets.
pub(crate) use bounds::bound as bucket_bound;
pub(crate) use combine::{
    IncompatibleSchemas, Notes, Operation, combine, detect_reset, mixed_schemas_message,
};
pub(crate) use text::describe;
pub(crate) use trim::{Keep, trim};

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
        schema.saturating_sub(target).min(63)
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

/// Whether one histogram says "counter reset" and another "no counter reset" (upstream
/// warns when aggregating such histograms).
pub(crate) fn hints_collide(hs: &[&FloatHistogram]) -> bool {
    let has = |hint| hs.iter().any(|h| h.counter_reset_hint == hint);
    has(CounterResetHint::CounterReset) && has(CounterResetHint::NotCounterReset)
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

    /// Adds `h`, reporting what had to be reconciled.
    pub(crate) fn add(&mut self, h: &FloatHistogram) -> Result<Notes, IncompatibleSchemas> {
        let fields = [self.sum.count, self.sum.zero_count, self.sum.sum];
        let same_zero_bucket = self.sum.zero_threshold == h.zero_threshold;
        let (mut next, notes) = combine(&self.sum, h, 1.0)?;
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
        Ok(notes)
    }

    /// Multiplies the sum and its compensation by `factor`.
    fn scale(&mut self, factor: f64) {
        self.sum = scale(&self.sum, factor);
        self.compensation.iter_mut().for_each(|c| *c *= factor);
    }

    /// Whether a count, the sum or a bucket has overflowed (upstream `HasOverflow`).
    fn overflowed(&self) -> bool {
        let h = &self.sum;
        [h.count, h.zero_count, h.sum]
            .iter()
            .chain(&h.positive_buckets)
            .chain(&h.negative_buckets)
            .any(|v| v.is_infinite())
    }

    /// The compensated sum.
    pub(crate) fn finish(mut self) -> FloatHistogram {
        self.sum.count += self.compensation[0];
        self.sum.zero_count += self.compensation[1];
        self.sum.sum += self.compensation[2];
        self.sum
    }
}

/// The sum (`mean: false`) or mean of histograms, Kahan-compensated, and what had to be
/// reconciled. The mean divides the sum by the count until the running sum would overflow;
/// from then on it is updated incrementally (upstream `funcAvgOverTime` and `avg`).
pub(crate) fn sum_or_mean(
    hs: &[&FloatHistogram],
    mean: bool,
) -> Result<(FloatHistogram, Notes), IncompatibleSchemas> {
    let Some((first, rest)) = hs.split_first() else {
        return Ok((FloatHistogram::default(), Notes::default()));
    };
    let mut notes = Notes::default();
    let mut total = HistogramSum::new(first);
    let mut incremental = false;
    for (i, h) in rest.iter().enumerate() {
        let count = (i + 2) as f64;
        if !mean || !incremental {
            let mut next = total.clone();
            notes = notes.merge(next.add(h)?);
            if !mean || !next.overflowed() {
                total = next;
                continue;
            }
            // From here on `total` holds the mean so far.
            incremental = true;
            total.scale(1.0 / (count - 1.0));
        }
        total.scale((count - 1.0) / count);
        notes = notes.merge(total.add(&divide(h, count))?);
    }
    let result = total.finish();
    if !mean || incremental {
        return Ok((result, notes));
    }
    Ok((divide(&result, hs.len() as f64), notes))
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

    #[test]
    fn adding_reduces_to_the_coarser_schema() {
        // Schema 1 buckets 1..=4 fold into schema 0 buckets 1, 1, 2, 2.
        let (sum, _) = combine(&h(1, 1, &[1.0, 2.0, 3.0, 4.0]), &h(0, 1, &[10.0]), 1.0).unwrap();
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
        let (diff, _) = combine(&sum, &sum, -1.0).unwrap();
        assert!(diff.positive_buckets.is_empty() && diff.count == 0.0);
        let (gap, _) = combine(&h(0, 0, &[1.0]), &h(0, 3, &[1.0]), 1.0).unwrap();
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

    #[test]
    fn a_running_sum_keeps_the_reconciled_zero_count() {
        // Schema 0 bucket 0 is (0.5, 1]; a zero threshold of 1 takes it in.
        let narrow = FloatHistogram {
            zero_threshold: 0.001,
            zero_count: 1.0,
            ..h(0, 0, &[2.0, 3.0])
        };
        let wide = FloatHistogram {
            zero_threshold: 1.0,
            zero_count: 4.0,
            ..h(0, 1, &[5.0])
        };
        let mut total = HistogramSum::new(&narrow);
        total.add(&wide).unwrap();
        let sum = total.finish();
        assert_eq!(sum.zero_threshold, 1.0);
        assert_eq!(sum.zero_count, 1.0 + 2.0 + 4.0);
        assert_eq!(sum.positive_buckets, vec![8.0]);
    }
}
