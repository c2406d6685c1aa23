//! Selectors whose histograms are read only for their statistics, and the counter-reset hints
//! such reads produce (upstream promql/engine.go `detectHistogramStatsDecoding` and
//! promql/histogram_stats_iterator.go).
//!
//! Under `histogram_count`, `histogram_sum` or `histogram_avg` — with no subquery,
//! `histogram_quantile(s)`, `histogram_fraction` or trim operator on the way — Prometheus reads
//! a selector's histograms through an iterator that resolves every "unknown" counter-reset
//! hint by comparing with the histogram it read before, so such queries see explicit "reset" /
//! "not reset" hints (which, for example, make aggregations warn about colliding hints). Knows
//! the syntax tree and sample values, not storage or evaluation.

use shared::histogram::{CounterResetHint, FloatHistogram};

use super::histogram::detect_reset;
use super::parser::{BinaryOp, Expr, VectorSelector};
use super::storage::{Point, SampleValue};

/// What the path from the root to a node says about statistics-only reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Path {
    /// No statistics function seen.
    Plain,
    /// Under a statistics function.
    Stats,
    /// Under something that needs whole histograms.
    Full,
}

/// The selectors of `expr` read for statistics only, in tree order.
pub(crate) fn stats_selectors(expr: &Expr) -> Vec<&VectorSelector> {
    let mut out = Vec::new();
    walk(expr, Path::Plain, &mut out);
    out
}

fn walk<'a>(expr: &'a Expr, path: Path, out: &mut Vec<&'a VectorSelector>) {
    match expr {
        Expr::Number(_) | Expr::String(_) => {}
        Expr::VectorSelector(s) => {
            if path == Path::Stats {
                out.push(s);
            }
        }
        Expr::MatrixSelector(m) => {
            if path == Path::Stats {
                out.push(&m.selector);
            }
        }
        Expr::Subquery(sq) => walk(&sq.expr, Path::Full, out),
        Expr::Call(c) => {
            let path = match (path, c.function.name) {
                (Path::Full, _) => Path::Full,
                (_, "histogram_count" | "histogram_sum" | "histogram_avg") => Path::Stats,
                (_, "histogram_quantile" | "histogram_quantiles" | "histogram_fraction") => {
                    Path::Full
                }
                (p, _) => p,
            };
            c.args.iter().for_each(|a| walk(a, path, out));
        }
        Expr::Aggregate(a) => {
            if let Some(p) = &a.param {
                walk(p, path, out);
            }
            walk(&a.expr, path, out);
        }
        Expr::Binary(b) => {
            let path = if matches!(b.op, BinaryOp::TrimUpper | BinaryOp::TrimLower) {
                Path::Full
            } else {
                path
            };
            walk(&b.lhs, path, out);
            walk(&b.rhs, path, out);
        }
        Expr::Unary(u) => walk(&u.expr, path, out),
        Expr::Paren(p) => walk(&p.expr, path, out),
    }
}

/// Resolves the "unknown" hints of a series' histograms against the histogram read before
/// (stale markers and floats are skipped; the first histogram stays unknown).
pub(crate) fn resolve_hints(points: &mut [Point]) {
    let mut last: Option<FloatHistogram> = None;
    for p in points {
        let SampleValue::Histogram(h) = &mut p.value else {
            continue;
        };
        if h.is_stale() {
            continue;
        }
        if h.counter_reset_hint == CounterResetHint::Unknown
            && let Some(prev) = &last
        {
            h.counter_reset_hint = if detect_reset(prev, h) {
                CounterResetHint::CounterReset
            } else {
                CounterResetHint::NotCounterReset
            };
        }
        last = Some((**h).clone());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::promql::parser::parse;

    fn names(q: &str) -> Vec<String> {
        let expr = parse(q).unwrap();
        stats_selectors(&expr)
            .iter()
            .map(|s| s.name.clone().unwrap_or_default())
            .collect()
    }

    #[test]
    fn only_plain_paths_under_statistics_functions_count() {
        assert_eq!(names("histogram_count(sum(a)) + b"), vec!["a"]);
        assert_eq!(names("histogram_sum(rate(a[5m]))"), vec!["a"]);
        assert!(names("histogram_count(rate(a[5m:1m]))").is_empty());
        assert!(names("histogram_quantile(0.5, histogram_count(a))").is_empty());
        assert!(names("histogram_count(a </ 3)").is_empty());
        assert!(names("sum(a)").is_empty());
    }

    #[test]
    fn unknown_hints_are_resolved_against_the_previous_histogram() {
        let h = |count: f64| FloatHistogram {
            count,
            ..FloatHistogram::default()
        };
        let mut points: Vec<Point> = [3.0, 2.0, 2.0]
            .into_iter()
            .enumerate()
            .map(|(i, c)| Point {
                t_ms: i as i64,
                value: SampleValue::Histogram(Box::new(h(c))),
            })
            .collect();
        resolve_hints(&mut points);
        let hints: Vec<CounterResetHint> = points
            .iter()
            .map(|p| match &p.value {
                SampleValue::Histogram(h) => h.counter_reset_hint,
                SampleValue::Float(_) => unreachable!("only histograms"),
            })
            .collect();
        assert_eq!(
            hints,
            vec![
                CounterResetHint::Unknown,
                CounterResetHint::CounterReset,
                CounterResetHint::NotCounterReset
            ]
        );
    }
}
