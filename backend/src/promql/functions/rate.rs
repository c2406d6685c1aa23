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
use crate::promql::parser::{Call, Expr, Span};
use shared::histogram::{CUSTOM_BUCKETS_SCHEMA, CounterResetHint, FloatHistogram};

use crate::promql::histogram::{self, Notes, Operation};
use crate::promql::storage::SampleValue;
use crate::promql::value::{Element, RangeSeries, Value};

/// Evaluates `rate`, `increase` or `delta` (`name`).
pub(super) fn apply(ev: &Evaluator, c: &Call, t_ms: i64, name: &str) -> Result<Value, EngineError> {
    let (matrix, window) = range_arg(ev, c, 0, t_ms)?;
    let is_counter = name != "delta";
    let is_rate = name == "rate";
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
            None => histogram_change(ev, c, &s, window, is_counter, is_rate)
                .map(|h| SampleValue::Histogram(Box::new(h))),
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
fn note_possible_non_counter(ev: &Evaluator, c: &Call, labels: &shared::labels::Labels) {
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
/// samples, when floats and histograms mix, or when exponential and custom buckets mix
/// (both with a warning). A first sample followed by a counter reset only contributes its
/// count to the extrapolation, so its layout does not matter.
fn histogram_change(
    ev: &Evaluator,
    c: &Call,
    s: &RangeSeries,
    w: Window,
    is_counter: bool,
    is_rate: bool,
) -> Option<FloatHistogram> {
    let span = c.args.first().map(unwrapped_span)?;
    let name = s.labels.get("__name__").unwrap_or("");
    let Some(histograms) = s
        .points
        .iter()
        .map(|p| match &p.value {
            SampleValue::Histogram(h) => Some((p.t_ms, h.as_ref())),
            SampleValue::Float(_) => None,
        })
        .collect::<Option<Vec<(i64, &FloatHistogram)>>>()
    else {
        ev.note(span, &Note::MixedFloatsHistograms(name.to_owned()));
        return None;
    };
    let [(first_t, first), .., (last_t, last)] = histograms[..] else {
        return None;
    };
    let gauge = |h: &FloatHistogram| h.counter_reset_hint == CounterResetHint::Gauge;
    if is_counter && histograms.iter().any(|(_, h)| gauge(h)) {
        ev.note(span, &Note::NotCounter(name.to_owned()));
    }
    let both_gauges = gauge(first) && gauge(last);
    if !is_counter && !both_gauges {
        ev.note(span, &Note::NotGauge(name.to_owned()));
    }
    // A reset right after the first sample: start from an empty histogram of the second's layout.
    let empty;
    let mut prev = first;
    if is_counter && histogram::detect_reset(first, histograms[1].1) {
        empty = FloatHistogram {
            schema: histograms[1].1.schema,
            custom_values: histograms[1].1.custom_values.clone(),
            ..FloatHistogram::default()
        };
        prev = &empty;
    }
    let mixed = |custom: bool| histograms[1..].iter().any(|(_, h)| is_custom(h) != custom);
    if mixed(is_custom(prev)) {
        ev.note(span, &Note::MixedExponentialCustom(name.to_owned()));
        return None;
    }
    let (mut change, n) = histogram::combine(last, prev, -1.0).ok()?;
    note_reconciled(ev, span, n, Operation::Subtraction);
    if is_counter {
        for &(_, cur) in &histograms[1..] {
            if histogram::detect_reset(prev, cur) {
                let n;
                (change, n) = histogram::combine(&change, prev, 1.0).ok()?;
                note_reconciled(ev, span, n, Operation::Addition);
            }
            prev = cur;
        }
    }
    let zero = (is_counter && change.count > 0.0).then_some((first.count, change.count));
    let mut result = histogram::scale(
        &change,
        factor(first_t, last_t, histograms.len(), w, zero, is_rate),
    );
    result.counter_reset_hint = CounterResetHint::Gauge;
    Some(result)
}

fn is_custom(h: &FloatHistogram) -> bool {
    h.schema == CUSTOM_BUCKETS_SCHEMA
}

/// An info when custom bounds were reconciled in `operation`.
fn note_reconciled(ev: &Evaluator, span: Span, n: Notes, operation: Operation) {
    if n.bounds_reconciled {
        ev.note(span, &Note::MismatchedCustomBuckets(operation));
    }
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
                let Some(change) = instant_change(ev, c, &s.labels, (p, l), is_rate) else {
                    continue;
                };
                let mut h = if is_rate {
                    histogram::divide(&change, interval)
                } else {
                    change
                };
                h.counter_reset_hint = CounterResetHint::Gauge;
                SampleValue::Histogram(Box::new(h))
            }
            _ => {
                let name = s.labels.get("__name__").unwrap_or_default().to_owned();
                let span = c.args.first().map_or(c.span, unwrapped_span);
                ev.note(span, &Note::MixedFloatsHistograms(name));
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

/// The change between the last two histograms of an `irate` (`is_rate`) or `idelta` range
/// (upstream `instantValue`): the last one after a counter reset, else the difference, with
/// warnings for a gauge under `irate`, a counter under `idelta`, and mixed exponential and
/// custom buckets (then `None`), and an info for reconciled custom bounds.
fn instant_change(
    ev: &Evaluator,
    c: &Call,
    labels: &shared::labels::Labels,
    (prev, last): (&FloatHistogram, &FloatHistogram),
    is_rate: bool,
) -> Option<FloatHistogram> {
    let span = c.args.first().map(unwrapped_span)?;
    let name = labels.get("__name__").unwrap_or("");
    let gauges = [prev, last].map(|h| h.counter_reset_hint == CounterResetHint::Gauge);
    if is_rate && gauges.contains(&true) {
        ev.note(span, &Note::NotCounter(name.to_owned()));
    }
    if !is_rate && gauges.contains(&false) {
        ev.note(span, &Note::NotGauge(name.to_owned()));
    }
    if is_rate && histogram::detect_reset(prev, last) {
        return Some(last.clone());
    }
    match histogram::combine(last, prev, -1.0) {
        Ok((change, n)) => {
            note_reconciled(ev, span, n, Operation::Subtraction);
            Some(change)
        }
        Err(histogram::IncompatibleSchemas) => {
            ev.note(span, &Note::MixedExponentialCustom(name.to_owned()));
            None
        }
    }
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
