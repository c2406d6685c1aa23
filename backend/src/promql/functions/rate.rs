//! `rate`, `increase` and `delta`: the change over a range, extrapolated towards its edges
//! (upstream functions.go `extrapolatedRate`).
//!
//! Extrapolation reaches at most half an average sample interval past the first and last
//! samples (or all the way to the edge when closer than 1.1 intervals), and for counters never
//! below zero. `rate` divides by the range in seconds.

use super::{Evaluator, Window, floats, range_arg};
use crate::promql::EngineError;
use crate::promql::annotations::Note;
use crate::promql::eval::unwrapped_span;
use crate::promql::parser::{Call, Expr};
use shared::histogram::{CUSTOM_BUCKETS_SCHEMA, CounterResetHint, FloatHistogram};
use shared::labels::Labels;

use crate::promql::histogram::{self, IncompatibleSchemas, Operation};
use crate::promql::storage::{Point, SampleValue};
use crate::promql::value::{Element, Value};

/// Evaluates `rate`, `increase` or `delta` (`name`).
pub(super) fn apply(ev: &Evaluator, c: &Call, t_ms: i64, name: &str) -> Result<Value, EngineError> {
    let (matrix, window) = range_arg(ev, c, 0, t_ms)?;
    let is_counter = name != "delta";
    let is_rate = name == "rate";
    let span = c.args.first().map_or(c.span, unwrapped_span);
    let mut out = Vec::with_capacity(matrix.len());
    for s in matrix {
        let has_floats = s
            .points
            .iter()
            .any(|p| matches!(p.value, SampleValue::Float(_)));
        if is_counter && has_floats {
            note_possible_non_counter(ev, c, &s.labels);
        }
        let value = match floats(&s.points) {
            Some(samples) => {
                extrapolated(&samples, window, is_counter, is_rate).map(SampleValue::Float)
            }
            None if has_floats => {
                ev.note(span, &Note::MixedFloatsHistograms(metric_name(&s.labels)));
                continue;
            }
            None => {
                let kind = Kind {
                    is_counter,
                    is_rate,
                };
                let (change, notes) = histogram_change(&s.points, window, kind, &s.labels);
                for note in &notes {
                    ev.note(span, note);
                }
                change.map(|h| SampleValue::Histogram(Box::new(h)))
            }
        };
        if let Some(value) = value {
            out.push(Element {
                labels: s.labels,
                value,
                drop_name: true,
            });
        }
    }
    Ok(Value::Vector(out))
}

/// An info when a series with floats read as a counter has a name counters do not have
/// (upstream engine.go, `annotations.NewPossibleNonCounterInfo`), pointing at the range
/// argument. Upstream checks this only where the argument is a range selector.
fn note_possible_non_counter(ev: &Evaluator, c: &Call, labels: &Labels) {
    let Some(name) = labels.get("__name__") else {
        return;
    };
    let counter_like = ["_total", "_sum", "_count", "_bucket"]
        .iter()
        .any(|suffix| name.ends_with(suffix));
    let Some(mut arg) = c.args.first() else {
        return;
    };
    while let Expr::Paren(p) = arg {
        arg = &p.expr;
    }
    if !counter_like && matches!(arg, Expr::MatrixSelector(_)) {
        ev.note(arg.span(), &Note::PossibleNonCounter(name.to_owned()));
    }
}

/// A series' metric name for annotations (empty without one).
fn metric_name(labels: &Labels) -> String {
    labels.get("__name__").unwrap_or_default().to_owned()
}

/// Which of `rate`, `increase` and `delta` is computed.
#[derive(Debug, Clone, Copy)]
struct Kind {
    /// `rate` and `increase` read counters, `delta` gauges.
    is_counter: bool,
    /// `rate` divides by the range.
    is_rate: bool,
}

/// The factor extrapolating a change between the first and last of `n` samples to the window
/// (upstream `extrapolatedRate`); `zero` is (first value, change) of a counter, whose
/// extrapolation stops where it would cross zero.
fn factor(
    first_t: i64,
    last_t: i64,
    n: usize,
    w: Window,
    zero: Option<(f64, f64)>,
    is_rate: bool,
) -> f64 {
    let range_start = w.end_ms.saturating_sub(w.range_ms);
    let mut to_start = (first_t - range_start) as f64 / 1000.0;
    let mut to_end = (w.end_ms - last_t) as f64 / 1000.0;
    let sampled = (last_t - first_t) as f64 / 1000.0;
    let average_interval = sampled / (n - 1) as f64;
    let threshold = average_interval * 1.1;
    if to_start >= threshold {
        to_start = average_interval / 2.0;
    }
    if let Some((first, change)) = zero.filter(|(first, change)| *change > 0.0 && *first >= 0.0) {
        to_start = to_start.min(sampled * (first / change));
    }
    if to_end >= threshold {
        to_end = average_interval / 2.0;
    }
    let mut factor = (sampled + to_start + to_end) / sampled;
    if is_rate {
        factor /= w.range_ms as f64 / 1000.0;
    }
    factor
}

/// The extrapolated change of `samples` (timestamp, value) over `window`; `None` with fewer
/// than two samples.
fn extrapolated(samples: &[(i64, f64)], w: Window, is_counter: bool, is_rate: bool) -> Option<f64> {
    let (&(first_t, first_v), &(last_t, last_v)) = (samples.first()?, samples.last()?);
    if samples.len() < 2 {
        return None;
    }
    let mut result = last_v - first_v;
    if is_counter {
        for pair in samples.windows(2) {
            if pair[1].1 < pair[0].1 {
                result += pair[0].1;
            }
        }
    }
    let zero = is_counter.then_some((first_v, result));
    Some(result * factor(first_t, last_t, samples.len(), w, zero, is_rate))
}

/// The extrapolated change of a histogram series (upstream `histogramRate`): last minus first,
/// plus the value before each counter reset; a gauge histogram. `None` with fewer than two
/// samples, or when exponential and custom buckets mix. Also returns what upstream annotates:
/// gauges read as counters and the reverse, mixed schemas, reconciled custom bounds.
fn histogram_change(
    points: &[Point],
    w: Window,
    kind: Kind,
    labels: &Labels,
) -> (Option<FloatHistogram>, Vec<Note>) {
    let mut notes = Vec::new();
    let histograms: Vec<(i64, &FloatHistogram)> = points
        .iter()
        .filter_map(|p| match &p.value {
            SampleValue::Histogram(h) => Some((p.t_ms, h.as_ref())),
            SampleValue::Float(_) => None,
        })
        .collect();
    let (Some(&(first_t, first)), Some(&(last_t, last))) = (histograms.first(), histograms.last())
    else {
        return (None, notes);
    };
    if histograms.len() < 2 {
        return (None, notes);
    }
    let is_gauge = |h: &FloatHistogram| h.counter_reset_hint == CounterResetHint::Gauge;
    if kind.is_counter && histograms.iter().any(|(_, h)| is_gauge(h)) {
        notes.push(Note::NotCounter(metric_name(labels)));
    }
    // A reset right after the first sample makes its layout irrelevant (upstream nulls it).
    let reset_after_first = kind.is_counter && histogram::detect_reset(first, histograms[1].1);
    let custom = |h: &FloatHistogram| h.schema == CUSTOM_BUCKETS_SCHEMA;
    let start = if reset_after_first { 1 } else { 0 };
    let layout = custom(histograms[start].1);
    if histograms[start..].iter().any(|(_, h)| custom(h) != layout) {
        notes.push(Note::MixedExponentialCustom(metric_name(labels)));
        return (None, notes);
    }
    let empty;
    let subtrahend = if reset_after_first {
        empty = FloatHistogram {
            schema: histograms[1].1.schema,
            custom_values: histograms[1].1.custom_values.clone(),
            ..FloatHistogram::default()
        };
        &empty
    } else {
        first
    };
    let Ok((mut change, noticed)) = histogram::combine(last, subtrahend, -1.0) else {
        notes.push(Note::MixedExponentialCustom(metric_name(labels)));
        return (None, notes);
    };
    if noticed.bounds_reconciled {
        notes.push(Note::MismatchedCustomBuckets(Operation::Subtraction));
    }
    if kind.is_counter {
        for pair in histograms.windows(2).skip(start) {
            if !histogram::detect_reset(pair[0].1, pair[1].1) {
                continue;
            }
            let Ok((sum, noticed)) = histogram::combine(&change, pair[0].1, 1.0) else {
                notes.push(Note::MixedExponentialCustom(metric_name(labels)));
                return (None, notes);
            };
            if noticed.bounds_reconciled {
                notes.push(Note::MismatchedCustomBuckets(Operation::Addition));
            }
            change = sum;
        }
    } else if !is_gauge(first) || !is_gauge(last) {
        notes.push(Note::NotGauge(metric_name(labels)));
    }
    let zero = (kind.is_counter && change.count > 0.0).then_some((first.count, change.count));
    let mut result = histogram::scale(
        &change,
        factor(first_t, last_t, histograms.len(), w, zero, kind.is_rate),
    );
    result.counter_reset_hint = CounterResetHint::Gauge;
    (Some(result), notes)
}

/// `irate` (`is_rate`) or `idelta`: from the last two samples of the range (upstream
/// `instantValue`); a drop counts as a counter reset for `irate`.
pub(super) fn instant(
    ev: &Evaluator,
    c: &Call,
    t_ms: i64,
    is_rate: bool,
) -> Result<Value, EngineError> {
    let (matrix, _) = range_arg(ev, c, 0, t_ms)?;
    let span = c.args.first().map_or(c.span, unwrapped_span);
    let mut out = Vec::with_capacity(matrix.len());
    for s in matrix {
        let [.., prev, last] = &s.points[..] else {
            continue;
        };
        let interval = (last.t_ms - prev.t_ms) as f64 / 1000.0;
        if is_rate && interval == 0.0 {
            continue;
        }
        let value = match (&prev.value, &last.value) {
            (SampleValue::Float(p), SampleValue::Float(l)) => {
                let change = if is_rate && l < p { *l } else { l - p };
                SampleValue::Float(if is_rate { change / interval } else { change })
            }
            (SampleValue::Histogram(p), SampleValue::Histogram(l)) => {
                let is_gauge = |h: &FloatHistogram| h.counter_reset_hint == CounterResetHint::Gauge;
                if is_rate && (is_gauge(p) || is_gauge(l)) {
                    ev.note(span, &Note::NotCounter(metric_name(&s.labels)));
                }
                let both_gauges = is_gauge(p) && is_gauge(l);
                if !is_rate && !both_gauges {
                    ev.note(span, &Note::NotGauge(metric_name(&s.labels)));
                }
                let change = if is_rate && histogram::detect_reset(p, l) {
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
                            let name = metric_name(&s.labels);
                            ev.note(span, &Note::MixedExponentialCustom(name));
                            continue;
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
                ev.note(span, &Note::MixedFloatsHistograms(metric_name(&s.labels)));
                continue;
            }
        };
        out.push(Element {
            labels: s.labels,
            value,
            drop_name: true,
        });
    }
    Ok(Value::Vector(out))
}

#[cfg(test)]
mod tests {
    use crate::promql::Engine;
    use crate::promql::storage::memory::MemoryStorage;
    use crate::promql::storage::{Point, SampleValue};
    use shared::histogram::{CounterResetHint, FloatHistogram};
    use shared::labels::Labels;

    fn storage(name: &str, values: Vec<SampleValue>) -> MemoryStorage {
        let mut s = MemoryStorage::new();
        let labels = Labels::from_pairs([("__name__", name)]);
        for (i, value) in values.into_iter().enumerate() {
            let t_ms = i64::try_from(i).expect("few samples") * 60_000;
            s.append(&labels, Point { t_ms, value });
        }
        s
    }

    fn gauge(count: f64) -> SampleValue {
        SampleValue::Histogram(Box::new(FloatHistogram {
            count,
            counter_reset_hint: CounterResetHint::Gauge,
            ..FloatHistogram::default()
        }))
    }

    #[test]
    fn counter_functions_warn_about_gauges_and_mixes_and_note_odd_names() {
        let s = storage("g", vec![gauge(1.0), gauge(2.0), gauge(3.0)]);
        let rate = Engine::default()
            .instant(&s, "rate(g[5m])", 120_000)
            .expect("query runs");
        assert_eq!(
            rate.warnings,
            vec![r#"PromQL warning: this native histogram metric is not a counter: "g" (1:6)"#]
        );
        let delta = Engine::default()
            .instant(&s, "delta(g[5m])", 120_000)
            .expect("query runs");
        assert!(delta.warnings.is_empty(), "{:?}", delta.warnings);

        let s = storage("m", vec![SampleValue::Float(1.0), gauge(2.0)]);
        let mixed = Engine::default()
            .instant(&s, "increase((m[5m]))", 60_000)
            .expect("query runs");
        assert_eq!(
            mixed.warnings,
            vec![
                r#"PromQL warning: encountered a mix of histograms and floats for metric name "m" (1:11)"#
            ]
        );
        assert_eq!(
            mixed.infos,
            vec![
                r#"PromQL info: metric might not be a counter, name does not end in _total/_sum/_count/_bucket: "m" (1:11)"#
            ]
        );
    }
}
