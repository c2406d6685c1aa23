//! Counter bookkeeping: `changes` and `resets` over a range (floats, histograms or both;
//! `anchored` ranges start from the last sample at or before the range), and
//! `start_timestamp` (upstream functions.go `funcChanges`, `funcResets`,
//! `pickFirstSampleIndices`, `funcStartTimestamp`).
//!
//! `resets` also counts a reset where a sample's start timestamp says its counter restarted
//! (see `promql::starts`); `start_timestamp` reads start timestamps only straight from an
//! instant selector.

use super::{Evaluator, arg, range_arg, range_starts, vector_arg};
use crate::promql::EngineError;
use crate::promql::extended::anchored_points;
use crate::promql::histogram::{self, detect_reset};
use crate::promql::parser::{Call, Expr};
use crate::promql::starts;
use crate::promql::storage::{Point, SampleValue};
use crate::promql::value::{Element, Value};
use shared::labels::Labels;

/// What is counted between consecutive samples.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Count {
    /// A different value (`changes`).
    Changes,
    /// A counter reset (`resets`).
    Resets,
}

/// `changes(v range)` or `resets(v range)`.
pub(super) fn apply(
    ev: &Evaluator,
    c: &Call,
    t_ms: i64,
    count: Count,
) -> Result<Value, EngineError> {
    let (matrix, window) = range_arg(ev, c, 0, t_ms)?;
    let mut out = Vec::with_capacity(matrix.len());
    for s in matrix {
        let points = match window.extension {
            // Only `anchored` gets here (see `extended::check_call`).
            Some(_) => {
                let start = window.end_ms.saturating_sub(window.range_ms);
                match anchored_points(&s.points, start) {
                    Some(points) => points,
                    None => continue,
                }
            }
            None => &s.points[..],
        };
        if points.is_empty() {
            continue;
        }
        let counted = count_in(ev, c, count, &s.labels, points);
        out.push(Element {
            labels: s.labels,
            value: SampleValue::Float(counted),
            drop_name: true,
        });
    }
    Ok(Value::Vector(out))
}

/// How many times consecutive samples of `points` (one series' window, without stale markers)
/// differ as `count` says (`changes` or `resets`).
pub(super) fn count_in(
    ev: &Evaluator,
    c: &Call,
    count: Count,
    labels: &Labels,
    points: &[Point],
) -> f64 {
    let starts = match count {
        Count::Resets => range_starts(ev, c, labels, points),
        Count::Changes => Vec::new(),
    };
    let counted = points
        .windows(2)
        .enumerate()
        .filter(|(i, pair)| {
            let start_reset = match (starts.get(*i), starts.get(i + 1)) {
                (Some(&prev_st), Some(&cur_st)) => {
                    starts::is_reset(prev_st, pair[0].t_ms, cur_st, pair[1].t_ms)
                }
                _ => false,
            };
            differs(count, &pair[0], &pair[1], start_reset)
        })
        .count();
    counted as f64
}

/// Whether `cur` counts after `prev`: a switch between float and histogram always does.
fn differs(count: Count, prev: &Point, cur: &Point, start_reset: bool) -> bool {
    use SampleValue::{Float, Histogram};
    match (count, &prev.value, &cur.value) {
        (Count::Changes, Float(p), Float(c)) => p != c && !(p.is_nan() && c.is_nan()),
        (Count::Changes, Histogram(p), Histogram(c)) => !histogram::equal(p, c),
        (Count::Resets, Float(p), Float(c)) => c < p || start_reset,
        (Count::Resets, Histogram(p), Histogram(c)) => start_reset || detect_reset(p, c),
        (_, Float(_), Histogram(_)) | (_, Histogram(_), Float(_)) => true,
    }
}

/// `start_timestamp(v)`: the start timestamps, in seconds, of the samples an instant selector
/// picks (0 where unknown); nothing for any other argument, which carries none.
pub(super) fn start_timestamp(ev: &Evaluator, c: &Call, t_ms: i64) -> Result<Value, EngineError> {
    let Expr::VectorSelector(s) = arg(c, 0)? else {
        vector_arg(ev, c, 0, t_ms)?;
        return Ok(Value::Vector(Vec::new()));
    };
    let found = ev.start_timestamps(s);
    let out = ev
        .vector_selector_points(s, t_ms)?
        .into_iter()
        .map(|(labels, p)| {
            let st = found.map_or(0, |f| f.at(labels, p.t_ms));
            Element {
                labels: labels.clone(),
                value: SampleValue::Float(st as f64 / 1000.0),
                drop_name: true,
            }
        })
        .collect();
    Ok(Value::Vector(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(t_ms: i64, v: f64) -> Point {
        Point {
            t_ms,
            value: SampleValue::Float(v),
        }
    }

    #[test]
    fn resets_count_drops_and_start_resets_changes_count_differences() {
        let (a, b) = (p(0, 2.0), p(60, 3.0));
        assert!(!differs(Count::Resets, &a, &b, false));
        assert!(
            differs(Count::Resets, &a, &b, true),
            "restarted by its start"
        );
        assert!(differs(Count::Resets, &b, &a, false));
        assert!(differs(Count::Changes, &a, &b, false));
        let nan = (p(0, f64::NAN), p(60, f64::NAN));
        assert!(!differs(Count::Changes, &nan.0, &nan.1, false));
        let h = Point {
            t_ms: 120,
            value: SampleValue::Histogram(Box::default()),
        };
        assert!(differs(Count::Resets, &b, &h, false), "float to histogram");
        assert!(differs(Count::Changes, &h, &a, false), "histogram to float");
    }
}
