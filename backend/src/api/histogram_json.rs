//! Native histogram samples as Prometheus's query JSON writes them (upstream: prometheus
//! util/jsonutil/marshal.go `MarshalHistogram`, model/histogram `AllBucketIterator`).
//!
//! A histogram is `{"count": "…", "sum": "…", "buckets": [[rule, "lower", "upper", "count"], …]}`
//! with floats as strings. Buckets run from the lowest value up: negative buckets, the zero
//! bucket, positive buckets (or the custom buckets of an NHCB histogram); empty ones are left
//! out, and so is `buckets` when all are empty. `rule` says which bounds are inclusive
//! ([`BoundaryRule`]). Where the zero bucket overlaps the nearest exponential bucket, that
//! bucket's bound is moved to the zero threshold, as upstream does. Bounds come from the
//! engine's `promql::histogram` (upstream `getBound`); exponential ones are computed powers of
//! two, where upstream reads the fraction from a precomputed table (model/histogram/generic.go
//! `exponentialBounds`) whose entries for schemas 1 to 8 are up to a few ulps off the correctly
//! rounded values, so some bounds print with other last digits than Prometheus's (for example
//! `1.4142135623730951` where Prometheus writes `1.414213562373095`).
//!
//! This module only describes values: it knows nothing of HTTP or of how samples are queried.

use serde::Serialize;
use serde::ser::{SerializeSeq, Serializer};
use shared::histogram::{CUSTOM_BUCKETS_SCHEMA, FloatHistogram, Span, bucket_indices};

use super::query::format_float;
use crate::promql::histogram::bucket_bound;

/// Which ends of a bucket are inclusive; serialised as upstream's number 0..3.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BoundaryRule {
    /// `(lower, upper]`: positive exponential buckets and custom buckets after the first (0).
    OpenLeft,
    /// `[lower, upper)`: negative exponential buckets (1).
    OpenRight,
    /// `(lower, upper)` (2); upstream never produces it for a valid histogram.
    OpenBoth,
    /// `[lower, upper]`: the zero bucket and the first custom bucket (3).
    Closed,
}

impl BoundaryRule {
    fn from_inclusive(lower: bool, upper: bool) -> Self {
        match (lower, upper) {
            (false, true) => BoundaryRule::OpenLeft,
            (true, false) => BoundaryRule::OpenRight,
            (false, false) => BoundaryRule::OpenBoth,
            (true, true) => BoundaryRule::Closed,
        }
    }

    /// The number upstream writes.
    pub fn code(self) -> u8 {
        match self {
            BoundaryRule::OpenLeft => 0,
            BoundaryRule::OpenRight => 1,
            BoundaryRule::OpenBoth => 2,
            BoundaryRule::Closed => 3,
        }
    }
}

/// One non-empty bucket.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bucket {
    /// Which bounds are inclusive.
    pub rule: BoundaryRule,
    /// Lower bound.
    pub lower: f64,
    /// Upper bound.
    pub upper: f64,
    /// Observations in the bucket.
    pub count: f64,
}

impl Serialize for Bucket {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut seq = serializer.serialize_seq(Some(4))?;
        seq.serialize_element(&self.rule.code())?;
        seq.serialize_element(&format_float(self.lower))?;
        seq.serialize_element(&format_float(self.upper))?;
        seq.serialize_element(&format_float(self.count))?;
        seq.end()
    }
}

/// A histogram in its JSON form; serialises with upstream's key order (`count`, `sum`,
/// `buckets`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HistogramJson {
    /// Total observations, as a string.
    pub count: String,
    /// Sum of observations, as a string.
    pub sum: String,
    /// The non-empty buckets, lowest first; absent when there are none.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub buckets: Vec<Bucket>,
}

impl HistogramJson {
    /// The JSON form of `h`.
    pub fn new(h: &FloatHistogram) -> Self {
        Self {
            count: format_float(h.count),
            sum: format_float(h.sum),
            buckets: buckets(h),
        }
    }
}

/// The non-empty buckets of `h` from the lowest value up.
pub fn buckets(h: &FloatHistogram) -> Vec<Bucket> {
    let custom = h.schema == CUSTOM_BUCKETS_SCHEMA;
    let bound = |index: i64| bucket_bound(index, h.schema, &h.custom_values);
    let mut out = Vec::new();
    let negative: Vec<(i64, f64)> = side(&h.negative_spans, &h.negative_buckets);
    for &(index, count) in negative.iter().rev() {
        // Mirror image of the positive bucket with the same index: `[-upper, -lower)`.
        let (lower, upper) = (-bound(index), -bound(index - 1));
        out.push(bucket(h, lower, upper, lower < 0.0, upper > 0.0, count));
    }
    if !custom && h.zero_count > 0.0 {
        out.push(Bucket {
            rule: BoundaryRule::Closed,
            lower: -h.zero_threshold,
            upper: h.zero_threshold,
            count: h.zero_count,
        });
    }
    for (index, count) in side(&h.positive_spans, &h.positive_buckets) {
        let (lower, upper) = (bound(index - 1), bound(index));
        let (lower_inclusive, upper_inclusive) = if custom {
            (index == 0, true)
        } else {
            (lower < 0.0, upper > 0.0)
        };
        out.push(bucket(
            h,
            lower,
            upper,
            lower_inclusive,
            upper_inclusive,
            count,
        ));
    }
    out.retain(|b| b.count != 0.0);
    out
}

/// Bucket indices with their counts; extra counts or indices (an invalid histogram) are
/// dropped rather than guessed at.
fn side(spans: &[Span], counts: &[f64]) -> Vec<(i64, f64)> {
    bucket_indices(spans).zip(counts.iter().copied()).collect()
}

/// A bucket with the bound nearest zero moved out to the zero threshold where it lies inside
/// the zero bucket.
fn bucket(
    h: &FloatHistogram,
    mut lower: f64,
    mut upper: f64,
    lower_inclusive: bool,
    upper_inclusive: bool,
    count: f64,
) -> Bucket {
    let zt = h.zero_threshold;
    if upper < 0.0 && upper > -zt {
        upper = -zt;
    } else if lower > 0.0 && lower < zt {
        lower = zt;
    }
    Bucket {
        rule: BoundaryRule::from_inclusive(lower_inclusive, upper_inclusive),
        lower,
        upper,
        count,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use shared::histogram::CounterResetHint;

    fn histogram(schema: i32) -> FloatHistogram {
        FloatHistogram {
            counter_reset_hint: CounterResetHint::Unknown,
            schema,
            zero_threshold: 0.0,
            zero_count: 0.0,
            count: 0.0,
            sum: 0.0,
            positive_spans: Vec::new(),
            negative_spans: Vec::new(),
            positive_buckets: Vec::new(),
            negative_buckets: Vec::new(),
            custom_values: Vec::new(),
        }
    }

    fn span(offset: i32, length: u32) -> Span {
        Span { offset, length }
    }

    fn text(h: &FloatHistogram) -> String {
        serde_json::to_string(&HistogramJson::new(h)).expect("serialises")
    }

    #[test]
    fn exponential_histogram_lists_negative_zero_and_positive_buckets() {
        let h = FloatHistogram {
            zero_threshold: 0.001,
            zero_count: 2.0,
            count: 12.0,
            sum: 3.5,
            // Indices 0, 1 and (after a gap of one) 3.
            positive_spans: vec![span(0, 2), span(1, 1)],
            positive_buckets: vec![1.0, 2.0, 3.0],
            // Indices -1 and 0.
            negative_spans: vec![span(-1, 2)],
            negative_buckets: vec![4.0, 0.0],
            ..histogram(0)
        };
        assert_eq!(
            text(&h),
            concat!(
                r#"{"count":"12","sum":"3.5","buckets":["#,
                r#"[1,"-0.5","-0.25","4"],"#,
                r#"[3,"-0.001","0.001","2"],"#,
                r#"[0,"0.5","1","1"],"#,
                r#"[0,"1","2","2"],"#,
                r#"[0,"4","8","3"]]}"#
            )
        );
    }

    #[test]
    fn schema_two_bounds_are_fourth_roots_of_two() {
        let h = FloatHistogram {
            count: 3.0,
            sum: 1.0,
            positive_spans: vec![span(1, 2)],
            positive_buckets: vec![1.0, 2.0],
            ..histogram(2)
        };
        assert_eq!(
            text(&h),
            r#"{"count":"3","sum":"1","buckets":[[0,"1","1.189207115002721","1"],[0,"1.189207115002721","1.4142135623730951","2"]]}"#
        );
    }

    #[test]
    fn negative_schema_buckets_span_several_powers_of_two() {
        // Schema -1: each bucket spans a factor of 4.
        let h = FloatHistogram {
            count: 1.0,
            positive_spans: vec![span(1, 1)],
            positive_buckets: vec![1.0],
            ..histogram(-1)
        };
        assert_eq!(
            text(&h),
            r#"{"count":"1","sum":"0","buckets":[[0,"1","4","1"]]}"#
        );
    }

    #[test]
    fn bounds_inside_the_zero_bucket_move_to_the_threshold() {
        let h = FloatHistogram {
            zero_threshold: 0.3,
            zero_count: 1.0,
            count: 3.0,
            positive_spans: vec![span(-1, 1)],
            positive_buckets: vec![1.0],
            negative_spans: vec![span(-1, 1)],
            negative_buckets: vec![1.0],
            ..histogram(0)
        };
        let got: Vec<(u8, f64, f64)> = buckets(&h)
            .iter()
            .map(|b| (b.rule.code(), b.lower, b.upper))
            .collect();
        assert_eq!(got, [(1, -0.5, -0.3), (3, -0.3, 0.3), (0, 0.3, 0.5)]);
    }

    #[test]
    fn custom_buckets_start_closed_at_minus_infinity() {
        let h = FloatHistogram {
            count: 6.0,
            sum: 10.0,
            custom_values: vec![1.0, 2.5],
            positive_spans: vec![span(0, 3)],
            positive_buckets: vec![1.0, 0.0, 5.0],
            ..histogram(CUSTOM_BUCKETS_SCHEMA)
        };
        assert_eq!(
            text(&h),
            r#"{"count":"6","sum":"10","buckets":[[3,"-Inf","1","1"],[0,"2.5","+Inf","5"]]}"#
        );
    }

    #[test]
    fn empty_histogram_has_no_buckets_key() {
        let h = FloatHistogram {
            zero_threshold: 0.001,
            count: 0.0,
            sum: 0.0,
            positive_spans: vec![span(0, 1)],
            positive_buckets: vec![0.0],
            ..histogram(3)
        };
        assert_eq!(text(&h), r#"{"count":"0","sum":"0"}"#);
    }

    #[test]
    fn the_second_rule_is_for_open_intervals() {
        assert_eq!(BoundaryRule::from_inclusive(false, false).code(), 2);
    }
}
