//! `irate` and `idelta`: the change between the last two samples of a range (upstream
//! functions.go `instantValue`); a drop counts as a counter reset for `irate`, as does a start
//! timestamp saying the counter restarted (see `promql::starts`).

use shared::histogram::{CounterResetHint, FloatHistogram};
use shared::labels::Labels;

use super::rate::metric_name;
use super::{Evaluator, range_arg, range_starts};
use crate::promql::EngineError;
use crate::promql::annotations::Note;
use crate::promql::eval::unwrapped_span;
use crate::promql::histogram::{self, IncompatibleSchemas, Operation};
use crate::promql::parser::Call;
use crate::promql::starts;
use crate::promql::storage::{Point, SampleValue};
use crate::promql::value::{Element, Value};

/// `irate` (`is_rate`) or `idelta` at `t_ms`.
pub(super) fn apply(
    ev: &Evaluator,
    c: &Call,
    t_ms: i64,
    is_rate: bool,
) -> Result<Value, EngineError> {
    let (matrix, _) = range_arg(ev, c, 0, t_ms)?;
    let mut out = Vec::with_capacity(matrix.len());
    for s in matrix {
        if let Some(value) = of_series(ev, c, is_rate, &s.labels, &s.points) {
            out.push(Element {
                labels: s.labels,
                value,
                drop_name: true,
            });
        }
    }
    Ok(Value::Vector(out))
}

/// `irate` (`is_rate`) or `idelta` of one series' samples `points` in a window (without stale
/// markers), with upstream's annotations about the series; `None` with fewer than two samples.
pub(super) fn of_series(
    ev: &Evaluator,
    c: &Call,
    is_rate: bool,
    labels: &Labels,
    points: &[Point],
) -> Option<SampleValue> {
    let [.., prev, last] = points else {
        return None;
    };
    let interval = (last.t_ms - prev.t_ms) as f64 / 1000.0;
    if is_rate && interval == 0.0 {
        return None;
    }
    let span = c.args.first().map_or(c.span, unwrapped_span);
    let starts = range_starts(ev, c, labels, &points[points.len() - 2..]);
    let start_reset = match starts[..] {
        [prev_st, last_st] => starts::is_reset(prev_st, prev.t_ms, last_st, last.t_ms),
        _ => false,
    };
    Some(match (&prev.value, &last.value) {
        (SampleValue::Float(p), SampleValue::Float(l)) => {
            let change = if is_rate && (l < p || start_reset) {
                *l
            } else {
                l - p
            };
            SampleValue::Float(if is_rate { change / interval } else { change })
        }
        (SampleValue::Histogram(p), SampleValue::Histogram(l)) => {
            let is_gauge = |h: &FloatHistogram| h.counter_reset_hint == CounterResetHint::Gauge;
            if is_rate && (is_gauge(p) || is_gauge(l)) {
                ev.note(span, &Note::NotCounter(metric_name(labels)));
            }
            let both_gauges = is_gauge(p) && is_gauge(l);
            if !is_rate && !both_gauges {
                ev.note(span, &Note::NotGauge(metric_name(labels)));
            }
            let change = if is_rate && (start_reset || histogram::detect_reset(p, l)) {
                (**l).clone()
            } else {
                match histogram::combine(l, p, -1.0) {
                    Ok((change, noticed)) => {
                        if noticed.bounds_reconciled {
                            let op = Operation::Subtraction;
                            ev.note(span, &Note::MismatchedCustomBuckets(op));
                        }
                        change
                    }
                    Err(IncompatibleSchemas) => {
                        ev.note(span, &Note::MixedExponentialCustom(metric_name(labels)));
                        return None;
                    }
                }
            };
            let mut h = if is_rate {
                histogram::divide(&change, interval)
            } else {
                change
            };
            h.counter_reset_hint = CounterResetHint::Gauge;
            SampleValue::Histogram(Box::new(h))
        }
        // A float next to a histogram: upstream drops the series with a warning.
        _ => {
            ev.note(span, &Note::MixedFloatsHistograms(metric_name(labels)));
            return None;
        }
    })
}
