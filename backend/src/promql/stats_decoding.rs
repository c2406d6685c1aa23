//! Counter reset hints as upstream's `HistogramStatsIterator` gives them.
//!
//! Upstream reads a selector whose only histogram consumers are `histogram_count`,
//! `histogram_sum` and `histogram_avg` through that iterator (engine.go
//! `detectHistogramStatsDecoding`): no subquery, `histogram_quantile(s)`, `histogram_fraction`
//! or trim operator may lie between them. The iterator replaces an "unknown" hint by what
//! comparing with the previous histogram of the series finds, "reset" or "not reset"
//! (histogram_stats_iterator.go), which is how aggregations over such selectors can meet
//! conflicting hints and warn about them. Knows nothing of storage or evaluation.

use std::collections::HashSet;

use shared::histogram::CounterResetHint;

use super::histogram::detect_reset;
use super::parser::{BinaryOp, Expr, VectorSelector};
use super::storage::{Point, SampleValue};

/// The addresses of the selectors in `expr` read through the stats iterator.
pub(crate) fn selectors(expr: &Expr) -> HashSet<usize> {
    let mut out = HashSet::new();
    walk(expr, false, &mut out);
    out
}

/// The key a selector is known by: its address in the (unmoved) tree.
pub(crate) fn key(selector: &VectorSelector) -> usize {
    std::ptr::from_ref(selector) as usize
}

fn walk(expr: &Expr, stats: bool, out: &mut HashSet<usize>) {
    match expr {
        Expr::Number(_) | Expr::String(_) => {}
        Expr::VectorSelector(s) => {
            if stats {
                out.insert(key(s));
            }
        }
        Expr::MatrixSelector(m) => {
            if stats {
                out.insert(key(&m.selector));
            }
        }
        // Below these the buckets are needed: nothing is read through the iterator.
        Expr::Subquery(_) => {}
        Expr::Call(c)
            if matches!(
                c.function.name,
                "histogram_quantile" | "histogram_quantiles" | "histogram_fraction"
            ) => {}
        Expr::Binary(b) if matches!(b.op, BinaryOp::TrimUpper | BinaryOp::TrimLower) => {}
        Expr::Call(c) => {
            let stats = stats
                || matches!(
                    c.function.name,
                    "histogram_count" | "histogram_sum" | "histogram_avg"
                );
            c.args.iter().for_each(|a| walk(a, stats, out));
        }
        Expr::Aggregate(a) => {
            if let Some(p) = &a.param {
                walk(p, stats, out);
            }
            walk(&a.expr, stats, out);
        }
        Expr::Binary(b) => {
            walk(&b.lhs, stats, out);
            walk(&b.rhs, stats, out);
        }
        Expr::Unary(u) => walk(&u.expr, stats, out),
        Expr::Paren(p) => walk(&p.expr, stats, out),
    }
}

/// Gives each histogram with an unknown hint the one the stats iterator would: "reset" or
/// "not reset" after the series' previous histogram, unknown for its first.
pub(crate) fn detect_hints(points: &mut [Point]) {
    let mut previous: Option<usize> = None;
    for i in 0..points.len() {
        let detected = match (&points[i].value, previous.map(|p| &points[p].value)) {
            (SampleValue::Histogram(cur), Some(SampleValue::Histogram(prev)))
                if cur.counter_reset_hint == CounterResetHint::Unknown && !cur.is_stale() =>
            {
                Some(if detect_reset(prev, cur) {
                    CounterResetHint::CounterReset
                } else {
                    CounterResetHint::NotCounterReset
                })
            }
            _ => None,
        };
        if let (Some(hint), SampleValue::Histogram(h)) = (detected, &mut points[i].value) {
            h.counter_reset_hint = hint;
        }
        previous = match &points[i].value {
            SampleValue::Histogram(h) if !h.is_stale() => Some(i),
            _ => None,
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::promql::parser::parse;
    use shared::histogram::FloatHistogram;

    fn count_of_selected(query: &str) -> usize {
        selectors(&parse(query).expect("parses")).len()
    }

    #[test]
    fn only_selectors_under_histogram_stats_functions_without_subqueries() {
        assert_eq!(count_of_selected("histogram_count(sum(a))"), 1);
        assert_eq!(count_of_selected("histogram_sum(rate(a[5m])) + b"), 1);
        assert_eq!(count_of_selected("sum(a)"), 0);
        assert_eq!(count_of_selected("histogram_count(rate(a[5m:1m]))"), 0);
        assert_eq!(
            count_of_selected("histogram_count(histogram_quantile(0.5, a))"),
            0
        );
    }

    #[test]
    fn unknown_hints_become_reset_or_not_reset() {
        let h = |count: f64, hint| Point {
            t_ms: 0,
            value: SampleValue::Histogram(Box::new(FloatHistogram {
                count,
                counter_reset_hint: hint,
                ..FloatHistogram::default()
            })),
        };
        let mut points = vec![
            h(3.0, CounterResetHint::Unknown),
            h(4.0, CounterResetHint::Unknown),
            h(2.0, CounterResetHint::Unknown),
            h(1.0, CounterResetHint::Gauge),
        ];
        detect_hints(&mut points);
        let hints: Vec<CounterResetHint> = points
            .iter()
            .map(|p| match &p.value {
                SampleValue::Histogram(h) => h.counter_reset_hint,
                SampleValue::Float(_) => unreachable!("only histograms here"),
            })
            .collect();
        assert_eq!(
            hints,
            vec![
                CounterResetHint::Unknown,
                CounterResetHint::NotCounterReset,
                CounterResetHint::CounterReset,
                CounterResetHint::Gauge
            ]
        );
    }
}
