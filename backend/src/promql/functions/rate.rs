//! `rate`, `increase` and `delta`: the change over a range, extrapolated towards its edges
//! (upstream functions.go `extrapolatedRate`).
//!
//! Extrapolation reaches at most half an average sample interval past the first and last
//! samples (or all the way to the edge when closer than 1.1 intervals), and for counters never
//! below zero. `rate` divides by the range in seconds. With start timestamps (see
//! `promql::starts`), a counter also resets where a sample's start says so, and a first sample
//! that started inside the range counts from zero at its start instead of being extrapolated.

use super::{Evaluator, Window, floats, range_arg, range_starts};
use crate::promql::EngineError;
use crate::promql::parser::{Call, Span};
use shared::histogram::{CUSTOM_BUCKETS_SCHEMA, CounterResetHint, FloatHistogram};

use crate::promql::extended::{
    self,
    rate::{Kind, Range},
};
use crate::promql::histogram::{self, Notes, Operation};
use crate::promql::parser::ast::RangeExtension;
use crate::promql::starts;
use crate::promql::storage::SampleValue;
use crate::promql::value::{Element, Matrix, RangeSeries, Value};

/// Evaluates `rate`, `increase` or `delta` (`name`).
pub(super) fn apply(ev: &Evaluator, c: &Call, t_ms: i64, name: &str) -> Result<Value, EngineError> {
    let (matrix, window) = range_arg(ev, c, 0, t_ms)?;
    let is_counter = name != "delta";
    let is_rate = name == "rate";
    if let Some(ext) = window.extension {
        return Ok(extended_change(ev, c, matrix, window, ext, is_rate));
    }
    let mut out = Vec::with_capacity(matrix.len());
    for s in matrix {
        let starts = range_starts(ev, c, &s.labels, &s.points);
        let mut overlap = false;
        let counter = is_counter.then_some(Counter {
            starts: &starts,
            overlap: &mut overlap,
        });
        let value = match floats(&s.points) {
            Some(samples) => {
                if is_counter {
                    note_possible_non_counter(ev, c, &s.labels);
                }
                extrapolated(&samples, window, counter, is_rate).map(SampleValue::Float)
            }
            None => histogram_change(ev, c, &s, window, counter, is_rate)
                .map(|h| SampleValue::Histogram(Box::new(h))),
        };
        if overlap {
            let metric = s.labels.get("__name__").unwrap_or("");
            ev.warn(c.args[0].span(), starts::overlap_message(metric));
        }
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

/// An info when a float series read as a counter has a name counters do not have (upstream
/// `annotations.PossibleNonCounterInfo`), pointing at the range argument.
fn note_possible_non_counter(ev: &Evaluator, c: &Call, labels: &shared::labels::Labels) {
    let Some(name) = labels.get("__name__") else {
        return;
    };
    let counter_like = ["_total", "_sum", "_count", "_bucket"]
        .iter()
        .any(|suffix| name.ends_with(suffix));
    if let (false, Some(arg)) = (counter_like, c.args.first()) {
        ev.info(
            arg.span(),
            format!(
                "metric might not be a counter, name does not end in _total/_sum/_count/_bucket: {name:?}"
            ),
        );
    }
}

/// `rate`, `increase` or `delta` over an `anchored` or `smoothed` range, with upstream's
/// annotations about the series.
fn extended_change(
    ev: &Evaluator,
    c: &Call,
    matrix: Matrix,
    w: Window,
    ext: RangeExtension,
    per_second: bool,
) -> Value {
    let counter = c.function.name != "delta";
    let range = Range {
        start_ms: w.end_ms.saturating_sub(w.range_ms),
        end_ms: w.end_ms,
        smoothed: ext == RangeExtension::Smoothed,
    };
    let kind = Kind {
        counter,
        per_second,
    };
    let range_s = w.range_ms as f64 / 1000.0;
    let mut out = Vec::with_capacity(matrix.len());
    for s in matrix {
        let (value, notes) = extended::rate::change(&s.points, range, range_s, kind);
        let name = s.labels.get("__name__").unwrap_or("");
        for note in notes {
            note.report(ev, c.args[0].span(), name);
        }
        if counter && matches!(value, Some(SampleValue::Float(_))) {
            note_possible_non_counter(ev, c, &s.labels);
        }
        if let Some(value) = value {
            out.push(Element {
                labels: s.labels,
                value,
                drop_name: true,
            });
        }
    }
    Value::Vector(out)
}

/// What a counter (`rate`, `increase`) reads besides its samples: their start timestamps (empty
/// when unknown), and where to note that two of them overlap.
struct Counter<'a> {
    starts: &'a [i64],
    overlap: &'a mut bool,
}

impl Counter<'_> {
    /// Whether the sample `i` reset the counter after sample `i - 1` (at `prev_t`, `cur_t`)
    /// by its start timestamp; notes an overlap on the way.
    fn start_reset(&mut self, i: usize, prev_t: i64, cur_t: i64) -> bool {
        let (Some(&prev_st), Some(&cur_st)) = (self.starts.get(i - 1), self.starts.get(i)) else {
            return false;
        };
        if starts::overlaps(prev_st, prev_t, cur_st) {
            *self.overlap = true;
        }
        starts::is_reset(prev_st, prev_t, cur_st, cur_t)
    }

    /// The first sample's start when it lies inside the window and before the sample: the
    /// counter then counts from zero there.
    fn first_start(&self, first_t: i64, w: Window) -> Option<i64> {
        let range_start = w.end_ms.saturating_sub(w.range_ms);
        self.starts
            .first()
            .copied()
            .filter(|&st| st != 0 && st > range_start && st < first_t)
    }
}

/// The factor extrapolating a change between the first and last of `n` samples to the window
/// (upstream `extrapolatedRate`); `zero` is (first value, change) of a counter, whose
/// extrapolation stops where it would cross zero. A `first_start` replaces extrapolation to
/// the left: the change then covers the time from it.
fn factor(
    (first_t, last_t, n): (i64, i64, usize),
    w: Window,
    zero: Option<(f64, f64)>,
    first_start: Option<i64>,
    is_rate: bool,
) -> f64 {
    let range_start = w.end_ms.saturating_sub(w.range_ms);
    let mut to_start = (first_t - range_start) as f64 / 1000.0;
    let mut to_end = (w.end_ms - last_t) as f64 / 1000.0;
    let mut sampled = (last_t - first_t) as f64 / 1000.0;
    let average_interval = if n > 1 { sampled / (n - 1) as f64 } else { 0.0 };
    let threshold = average_interval * 1.1;
    if let Some(start) = first_start {
        to_start = 0.0;
        sampled = (last_t - start) as f64 / 1000.0;
    } else {
        if to_start >= threshold {
            to_start = average_interval / 2.0;
        }
        if let Some((first, change)) = zero.filter(|(first, change)| *change > 0.0 && *first >= 0.0)
        {
            to_start = to_start.min(sampled * (first / change));
        }
    }
    if to_end >= threshold {
        to_end = average_interval / 2.0;
    }
    let mut factor = if sampled == 0.0 {
        1.0
    } else {
        (sampled + to_start + to_end) / sampled
    };
    if is_rate {
        factor /= w.range_ms as f64 / 1000.0;
    }
    factor
}

/// The extrapolated change of `samples` (timestamp, value) over `window`, for a counter when
/// `counter` is given; `None` with fewer than two samples (unless the only one started inside
/// the window).
fn extrapolated(
    samples: &[(i64, f64)],
    w: Window,
    mut counter: Option<Counter<'_>>,
    is_rate: bool,
) -> Option<f64> {
    let (&(first_t, first_v), &(last_t, last_v)) = (samples.first()?, samples.last()?);
    let first_start = counter.as_ref().and_then(|c| c.first_start(first_t, w));
    if samples.len() < 2 && first_start.is_none() {
        return None;
    }
    let mut result = last_v - first_v;
    if let Some(counter) = &mut counter {
        for (i, pair) in samples.windows(2).enumerate() {
            let ((prev_t, prev), (cur_t, cur)) = (pair[0], pair[1]);
            if counter.start_reset(i + 1, prev_t, cur_t) || cur < prev {
                result += prev;
            }
        }
    }
    if first_start.is_some() {
        result += first_v;
    }
    let zero = counter.is_some().then_some((first_v, result));
    let n = samples.len();
    Some(result * factor((first_t, last_t, n), w, zero, first_start, is_rate))
}

/// The extrapolated change of a histogram series (upstream `histogramRate`): last minus first,
/// plus the value before each counter reset; a gauge histogram. `None` with fewer than two
/// samples, when floats and histograms mix, or when exponential and custom buckets mix
/// (both with a warning). A first sample followed by a counter reset only contributes its
/// count to the extrapolation, so its layout does not matter. A first sample that started
/// inside the window counts from zero at its start (then one sample is enough).
fn histogram_change(
    ev: &Evaluator,
    c: &Call,
    s: &RangeSeries,
    w: Window,
    mut counter: Option<Counter<'_>>,
    is_rate: bool,
) -> Option<FloatHistogram> {
    let is_counter = counter.is_some();
    let span = c.args.first().map(|a| a.span())?;
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
        ev.warn(
            span,
            format!("encountered a mix of histograms and floats for metric name {name:?}"),
        );
        return None;
    };
    let (&(first_t, first), &(last_t, last)) = (histograms.first()?, histograms.last()?);
    let first_start = counter.as_ref().and_then(|k| k.first_start(first_t, w));
    if histograms.len() < 2 {
        // Only a start inside the window makes a single sample a change.
        let start = first_start?;
        let n = histograms.len();
        return Some(histogram::scale(
            first,
            factor((first_t, last_t, n), w, None, Some(start), is_rate),
        ));
    }
    let gauge = |h: &FloatHistogram| h.counter_reset_hint == CounterResetHint::Gauge;
    if is_counter && histograms.iter().any(|(_, h)| gauge(h)) {
        ev.warn(
            span,
            format!("this native histogram metric is not a counter: {name:?}"),
        );
    }
    if !is_counter && (!gauge(first) || !gauge(last)) {
        ev.warn(
            span,
            format!("this native histogram metric is not a gauge: {name:?}"),
        );
    }
    // A reset right after the first sample: start from an empty histogram of the second's layout.
    let empty;
    let mut prev = first;
    let second = histograms[1];
    let reset_after_first = counter
        .as_mut()
        .is_some_and(|k| k.start_reset(1, first_t, second.0));
    if is_counter && (reset_after_first || histogram::detect_reset(first, second.1)) {
        empty = FloatHistogram {
            schema: histograms[1].1.schema,
            custom_values: histograms[1].1.custom_values.clone(),
            ..FloatHistogram::default()
        };
        prev = &empty;
    }
    let mixed = |custom: bool| histograms[1..].iter().any(|(_, h)| is_custom(h) != custom);
    if mixed(is_custom(prev)) {
        ev.warn(span, histogram::mixed_schemas_message(name));
        return None;
    }
    let (mut change, n) = histogram::combine(last, prev, -1.0).ok()?;
    note_reconciled(ev, span, n, Operation::Subtraction);
    if let Some(counter) = &mut counter {
        for (i, pair) in histograms.windows(2).enumerate() {
            let ((prev_t, _), (cur_t, cur)) = (pair[0], pair[1]);
            if counter.start_reset(i + 1, prev_t, cur_t) || histogram::detect_reset(prev, cur) {
                let n;
                (change, n) = histogram::combine(&change, prev, 1.0).ok()?;
                note_reconciled(ev, span, n, Operation::Addition);
            }
            prev = cur;
        }
    }
    change.counter_reset_hint = CounterResetHint::Gauge;
    if first_start.is_some() {
        // The first sample counts from zero at its start.
        let n;
        (change, n) = match histogram::combine(&change, first, 1.0) {
            Ok(sum) => sum,
            Err(histogram::IncompatibleSchemas) => {
                ev.warn(span, histogram::mixed_schemas_message(name));
                return None;
            }
        };
        note_reconciled(ev, span, n, Operation::Addition);
    }
    let zero = (is_counter && change.count > 0.0).then_some((first.count, change.count));
    let n = histograms.len();
    let mut result = histogram::scale(
        &change,
        factor((first_t, last_t, n), w, zero, first_start, is_rate),
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
        ev.info(span, operation.reconciled_message());
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
        let starts = range_starts(ev, c, &s.labels, &s.points);
        let start_reset = match starts[..] {
            [.., prev_st, last_st] => starts::is_reset(prev_st, prev.t_ms, last_st, last.t_ms),
            _ => false,
        };
        let value = match (&prev.value, &last.value) {
            (SampleValue::Float(p), SampleValue::Float(l)) => {
                let change = if is_rate && (l < p || start_reset) {
                    *l
                } else {
                    l - p
                };
                SampleValue::Float(if is_rate { change / interval } else { change })
            }
            (SampleValue::Histogram(p), SampleValue::Histogram(l)) => {
                let Some(change) = instant_change(ev, c, &s.labels, (p, l), is_rate, start_reset)
                else {
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
                let name = s.labels.get("__name__").unwrap_or("");
                if let Some(arg) = c.args.first() {
                    ev.warn(
                        arg.span(),
                        format!(
                            "encountered a mix of histograms and floats for metric name {name:?}"
                        ),
                    );
                }
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
    start_reset: bool,
) -> Option<FloatHistogram> {
    let span = c.args.first().map(|a| a.span())?;
    let name = labels.get("__name__").unwrap_or("");
    let gauges = [prev, last].map(|h| h.counter_reset_hint == CounterResetHint::Gauge);
    if is_rate && gauges.contains(&true) {
        ev.warn(
            span,
            format!("this native histogram metric is not a counter: {name:?}"),
        );
    }
    if !is_rate && gauges.contains(&false) {
        ev.warn(
            span,
            format!("this native histogram metric is not a gauge: {name:?}"),
        );
    }
    if is_rate && (start_reset || histogram::detect_reset(prev, last)) {
        return Some(last.clone());
    }
    match histogram::combine(last, prev, -1.0) {
        Ok((change, n)) => {
            note_reconciled(ev, span, n, Operation::Subtraction);
            Some(change)
        }
        Err(histogram::IncompatibleSchemas) => {
            ev.warn(span, histogram::mixed_schemas_message(name));
            None
        }
    }
}
