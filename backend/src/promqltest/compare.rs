//! Result comparison as Prometheus's runner does it (promql/promqltest/test.go
//! `compareResult`, `util/almost.Equal`): floats equal within a relative epsilon of 1e-6 (NaN
//! equals NaN), series matched by labels, order checked only when expected, range results
//! compared point by point with omitted (`_`) values skipped.

use shared::histogram::FloatHistogram;
use shared::labels::Labels;

use super::{Eval, Expected, ExpectedSeries, Query, SequenceValue};
use crate::promql::histogram::buckets;
use crate::promql::storage::{Point, SampleValue};
use crate::promql::value::{Matrix, Value};

/// Upstream `defaultEpsilon`.
const EPSILON: f64 = 1e-6;

/// Whether two floats are equal for the runner (upstream `almost.Equal`).
pub fn almost_equal(a: f64, b: f64) -> bool {
    if a.is_nan() && b.is_nan() {
        return true;
    }
    if a == b {
        return true;
    }
    let abs_sum = a.abs() + b.abs();
    let diff = (a - b).abs();
    if a == 0.0 || b == 0.0 || abs_sum < f64::MIN_POSITIVE {
        return diff < EPSILON * f64::MIN_POSITIVE;
    }
    diff / abs_sum.min(f64::MAX) < EPSILON
}

/// Checks `got` against the eval's expectation; `Err` says what differs.
pub fn compare(eval: &Eval, got: &Value) -> Result<(), String> {
    match (got, &eval.expected) {
        (Value::Scalar(v), Expected::Scalar { value, .. }) => {
            check(almost_equal(*v, *value), || {
                format!("expected scalar {value}, got {v}")
            })
        }
        (Value::String(s), Expected::String { value, .. }) => check(s == value, || {
            format!("expected string {value:?}, got {s:?}")
        }),
        (Value::Vector(v), Expected::Series(expected)) if eval.range_vector.is_none() => {
            let got: Vec<(&Labels, Vec<Point>)> = v
                .iter()
                .map(|e| (&e.labels, vec![point(0, e.value.clone())]))
                .collect();
            compare_series(&got, expected, |_| 0, eval.expects_order())
        }
        (Value::Matrix(m), Expected::Series(expected)) => {
            let (start, step) = match (eval.query, eval.range_vector) {
                (_, Some(r)) => (r.start_ms, r.step_ms),
                (
                    Query::Range {
                        start_ms, step_ms, ..
                    },
                    None,
                ) => (start_ms, step_ms),
                (Query::Instant { .. }, None) => {
                    return Err("received range result on instant evaluation".into());
                }
            };
            let time = |i: usize| {
                i64::try_from(i)
                    .ok()
                    .and_then(|i| i.checked_mul(step))
                    .and_then(|d| d.checked_add(start))
                    .unwrap_or(i64::MAX)
            };
            compare_series(&matrix_view(m), expected, time, eval.expects_order())
        }
        (got, expected) => Err(format!(
            "expected {}, got {} {}",
            describe(expected),
            got.type_name(),
            show(got)
        )),
    }
}

fn check(ok: bool, message: impl FnOnce() -> String) -> Result<(), String> {
    if ok { Ok(()) } else { Err(message()) }
}

fn point(t_ms: i64, value: SampleValue) -> Point {
    Point { t_ms, value }
}

fn matrix_view(m: &Matrix) -> Vec<(&Labels, Vec<Point>)> {
    m.iter().map(|s| (&s.labels, s.points.clone())).collect()
}

fn describe(expected: &Expected) -> &'static str {
    match expected {
        Expected::Series(_) => "series",
        Expected::Scalar { .. } => "a scalar",
        Expected::String { .. } => "a string",
    }
}

fn show(got: &Value) -> String {
    match got {
        Value::Scalar(v) => v.to_string(),
        Value::String(s) => format!("{s:?}"),
        Value::Vector(v) => format!("with {} series", v.len()),
        Value::Matrix(m) => format!("with {} series", m.len()),
    }
}

/// Compares series by labels; `time(i)` is the timestamp of expected value `i`.
fn compare_series(
    got: &[(&Labels, Vec<Point>)],
    expected: &[ExpectedSeries],
    time: impl Fn(usize) -> i64,
    ordered: bool,
) -> Result<(), String> {
    for (gi, (labels, points)) in got.iter().enumerate() {
        let Some((ei, exp)) = expected
            .iter()
            .enumerate()
            .find(|(_, e)| &e.labels == *labels)
        else {
            return Err(format!(
                "unexpected metric {labels} in result, with values {}",
                show_points(points)
            ));
        };
        if ordered && ei != gi {
            return Err(format!(
                "expected metric {labels} at position {ei}, got it at {gi}"
            ));
        }
        let want: Vec<Point> = exp
            .values
            .iter()
            .enumerate()
            .filter_map(|(i, v)| expected_value(v).map(|v| point(time(i), v)))
            .collect();
        let same = want.len() == points.len()
            && want
                .iter()
                .zip(points)
                .all(|(w, g)| w.t_ms == g.t_ms && values_equal(w, g, exp));
        if !same {
            return Err(format!(
                "expected {} for {labels} (line {}), got {}",
                show_points(&want),
                exp.line,
                show_points(points)
            ));
        }
    }
    if let Some(missing) = expected
        .iter()
        .find(|e| !got.iter().any(|(l, _)| *l == &e.labels))
    {
        return Err(format!(
            "expected metric {} (line {}) not found in result",
            missing.labels, missing.line
        ));
    }
    Ok(())
}

fn expected_value(v: &SequenceValue) -> Option<SampleValue> {
    match v {
        SequenceValue::Float(f) => Some(SampleValue::Float(*f)),
        SequenceValue::Stale => Some(SampleValue::Float(shared::series::stale_nan())),
        SequenceValue::Histogram(h) => Some(SampleValue::Histogram(h.histogram.clone())),
        SequenceValue::Missing => None,
    }
}

fn values_equal(want: &Point, got: &Point, exp: &ExpectedSeries) -> bool {
    match (&want.value, &got.value) {
        (SampleValue::Float(a), SampleValue::Float(b)) => almost_equal(*a, *b),
        (SampleValue::Histogram(a), SampleValue::Histogram(b)) => {
            let hint_set = exp
                .values
                .iter()
                .any(|v| matches!(v, SequenceValue::Histogram(h) if h.counter_reset_hint_set));
            histograms_equal(a, b, hint_set)
        }
        _ => false,
    }
}

/// Histogram comparison after dropping empty buckets (upstream compares `Compact(0)` forms);
/// the counter-reset hint only when the test set it.
fn histograms_equal(a: &FloatHistogram, b: &FloatHistogram, compare_hint: bool) -> bool {
    let floats = |x: &[f64], y: &[f64]| {
        x.len() == y.len() && x.iter().zip(y).all(|(p, q)| almost_equal(*p, *q))
    };
    let non_empty = |h: &FloatHistogram, positive: bool| -> Vec<(i64, f64)> {
        let (spans, counts) = if positive {
            (&h.positive_spans, &h.positive_buckets)
        } else {
            (&h.negative_spans, &h.negative_buckets)
        };
        buckets(spans, counts, h.schema, h.schema)
            .into_iter()
            .filter(|(_, c)| *c != 0.0)
            .collect()
    };
    let same_buckets = |positive: bool| {
        let (x, y) = (non_empty(a, positive), non_empty(b, positive));
        x.len() == y.len()
            && x.iter()
                .zip(&y)
                .all(|(p, q)| p.0 == q.0 && almost_equal(p.1, q.1))
    };
    (!compare_hint || a.counter_reset_hint == b.counter_reset_hint)
        && a.schema == b.schema
        && almost_equal(a.zero_threshold, b.zero_threshold)
        && almost_equal(a.zero_count, b.zero_count)
        && almost_equal(a.count, b.count)
        && almost_equal(a.sum, b.sum)
        && same_buckets(true)
        && same_buckets(false)
        && floats(&a.custom_values, &b.custom_values)
}

fn show_points(points: &[Point]) -> String {
    let shown: Vec<String> = points
        .iter()
        .map(|p| match &p.value {
            SampleValue::Float(f) => format!("{f}@{}", p.t_ms),
            SampleValue::Histogram(h) => format!("{{count:{} sum:{}}}@{}", h.count, h.sum, p.t_ms),
        })
        .collect();
    format!("[{}]", shown.join(" "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn almost_equal_is_relative_and_nan_equals_nan() {
        assert!(almost_equal(f64::NAN, f64::NAN));
        assert!(almost_equal(1.0, 1.0 + 1e-9));
        assert!(!almost_equal(1.0, 1.0001));
        assert!(almost_equal(1e12, 1e12 + 1.0));
        assert!(!almost_equal(0.0, 1e-300));
        assert!(almost_equal(f64::INFINITY, f64::INFINITY));
        assert!(!almost_equal(f64::INFINITY, f64::NEG_INFINITY));
    }
}
