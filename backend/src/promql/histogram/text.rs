//! The text form of a native histogram used as a label value by `count_values` (upstream
//! model/histogram/float_histogram.go `FloatHistogram.String`, `Bucket.String`): count, sum,
//! then the populated buckets from the lowest to the highest, floats written as Go's `%g`.
//!
//! Knows nothing of PromQL evaluation.

use shared::histogram::{CUSTOM_BUCKETS_SCHEMA, FloatHistogram};

use super::bounds::{self, Bucket};

/// `{count:C, sum:S, [lower,upper):count, ...}`.
pub(crate) fn describe(h: &FloatHistogram) -> String {
    let mut out = format!("{{count:{}, sum:{}", go_g(h.count), go_g(h.sum));
    let custom = h.schema == CUSTOM_BUCKETS_SCHEMA;
    let negative: Vec<Bucket> = bounds::negative(h).filter(|b| b.count != 0.0).collect();
    for b in negative.iter().rev() {
        out.push_str(&format!(", {}", bucket(b, b.lower < 0.0, b.upper > 0.0)));
    }
    if h.zero_count != 0.0 {
        let zero = Bucket {
            lower: -h.zero_threshold,
            upper: h.zero_threshold,
            count: h.zero_count,
        };
        out.push_str(&format!(", {}", bucket(&zero, true, true)));
    }
    for b in bounds::positive(h).filter(|b| b.count != 0.0) {
        let (lower_inclusive, upper_inclusive) = if custom {
            // Only the first custom bucket (index 0) includes its lower bound, -Inf.
            (b.lower == f64::NEG_INFINITY, true)
        } else {
            (b.lower < 0.0, b.upper > 0.0)
        };
        out.push_str(&format!(
            ", {}",
            bucket(&b, lower_inclusive, upper_inclusive)
        ));
    }
    out.push('}');
    out
}

fn bucket(b: &Bucket, lower_inclusive: bool, upper_inclusive: bool) -> String {
    format!(
        "{}{},{}{}:{}",
        if lower_inclusive { '[' } else { '(' },
        go_g(b.lower),
        go_g(b.upper),
        if upper_inclusive { ']' } else { ')' },
        go_g(b.count)
    )
}

/// A float as Go's `%g` writes it.
fn go_g(v: f64) -> String {
    crate::promql::go_format::go_g(v, None)
}

#[cfg(test)]
mod tests {
    use shared::histogram::Span;

    use super::*;

    #[test]
    fn buckets_are_listed_from_lowest_to_highest() {
        let h = FloatHistogram {
            count: 20.0,
            sum: 10.0,
            zero_threshold: 0.001,
            zero_count: 2.0,
            positive_spans: vec![Span {
                offset: 0,
                length: 2,
            }],
            positive_buckets: vec![1.0, 2.0],
            negative_spans: vec![Span {
                offset: 0,
                length: 2,
            }],
            negative_buckets: vec![1.0, 2.0],
            ..FloatHistogram::default()
        };
        assert_eq!(
            describe(&h),
            "{count:20, sum:10, [-2,-1):2, [-1,-0.5):1, [-0.001,0.001]:2, (0.5,1]:1, (1,2]:2}"
        );
        let custom = FloatHistogram {
            schema: CUSTOM_BUCKETS_SCHEMA,
            count: 3.0,
            sum: 4.0,
            custom_values: vec![1.0],
            positive_spans: vec![Span {
                offset: 0,
                length: 2,
            }],
            positive_buckets: vec![1.0, 2.0],
            ..FloatHistogram::default()
        };
        assert_eq!(
            describe(&custom),
            "{count:3, sum:4, [-Inf,1]:1, (1,+Inf]:2}"
        );
    }
}
