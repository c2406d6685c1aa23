//! `rate`, `increase` and `delta`: the change over a range, extrapolated towards its edges
//! (upstream functions.go `extrapolatedRate`).
//!
//! Extrapolation reaches at most half an average sample interval past the first and last
//! samples (or all the way to the edge when closer than 1.1 intervals), and for counters never
//! below zero. `rate` divides by the range in seconds. With start timestamps (see
//! `promql::starts`), a counter also resets where a sample's start says so, and a first sample
//! that started inside the range counts from zero at its start instead of being extrapolated.

mod native;

use std::ops::Range;

use native::histogram_change;

use super::{Evaluator, Window, floats, range_arg, range_starts};
use crate::promql::EngineError;
use crate::promql::annotations::Note;
use crate::promql::eval::unwrapped_span;
use crate::promql::parser::{Call, Expr, Span};
use shared::labels::{Labels, MatchOp};

use crate::promql::extended;
use crate::promql::parser::ast::RangeExtension;
use crate::promql::starts;
use crate::promql::storage::{Point, SampleValue};
use crate::promql::value::{Element, Matrix, Value};

/// Evaluates `rate`, `increase` or `delta` (`name`).
pub(super) fn apply(ev: &Evaluator, c: &Call, t_ms: i64, name: &str) -> Result<Value, EngineError> {
    let (matrix, window) = range_arg(ev, c, 0, t_ms)?;
    if let Some(ext) = window.extension {
        return Ok(extended_change(ev, c, matrix, window, ext, name == "rate"));
    }
    let change = Change::new(c);
    let mut out = Vec::with_capacity(matrix.len());
    for s in matrix {
        if let Some(value) = change.of_series(ev, c, &s.labels, &s.points, window) {
            out.push(Element {
                labels: s.labels,
                value,
                drop_name: true,
            });
        }
    }
    Ok(Value::Vector(out))
}

/// `rate`, `increase` or `delta` as one call computes it for each series, whatever the window
/// (the step-wise evaluation and the sliding windows of a range evaluation share it).
pub(super) struct Change {
    kind: Kind,
    /// Where the annotations about the series point: the range argument.
    span: Span,
    /// Whether series' names are checked for looking like counters.
    check_names: bool,
}

impl Change {
    /// The computation of the call `c` (`rate`, `increase` or `delta`).
    pub(super) fn new(c: &Call) -> Self {
        let is_counter = c.function.name != "delta";
        Self {
            kind: Kind {
                is_counter,
                is_rate: c.function.name == "rate",
            },
            span: c.args.first().map_or(c.span, unwrapped_span),
            check_names: is_counter && !selects_counter_name(c),
        }
    }

    /// The change of one series' samples `points` (not empty, without stale markers) over
    /// `window` (without extension), with upstream's annotations about the series.
    pub(super) fn of_series(
        &self,
        ev: &Evaluator,
        c: &Call,
        labels: &Labels,
        points: &[Point],
        window: Window,
    ) -> Option<SampleValue> {
        let starts = range_starts(ev, c, labels, points);
        let mut overlap = false;
        let counter = self.kind.is_counter.then_some(Counter {
            starts: &starts,
            overlap: &mut overlap,
        });
        let has_floats = points
            .iter()
            .any(|p| matches!(p.value, SampleValue::Float(_)));
        if self.check_names && has_floats {
            note_possible_non_counter(ev, c, labels);
        }
        let value = match floats(points) {
            Some(samples) => {
                extrapolated(&samples, window, counter, self.kind.is_rate).map(SampleValue::Float)
            }
            None if has_floats => {
                ev.note(self.span, &Note::MixedFloatsHistograms(metric_name(labels)));
                return None;
            }
            None => {
                let (change, notes) = histogram_change(points, window, self.kind, labels, counter);
                for note in &notes {
                    ev.note(self.span, note);
                }
                change.map(|h| SampleValue::Histogram(Box::new(h)))
            }
        };
        if overlap {
            let metric = labels.get("__name__").unwrap_or("");
            ev.warn(self.span, starts::overlap_message(metric));
        }
        value
    }

    /// Annotates a series of floats as [`Change::of_series`] does for any window with samples
    /// (once per series is enough: annotations count once).
    pub(super) fn note_floats(&self, ev: &Evaluator, c: &Call, labels: &Labels) {
        if self.check_names {
            note_possible_non_counter(ev, c, labels);
        }
    }

    /// The change of `series[samples]` over `window`, for a series of floats without start
    /// timestamps, in constant time unless the counter resets inside the window: the same value
    /// as [`Change::of_series`] on those samples, whose annotations
    /// [`Change::note_floats`] makes.
    pub(super) fn of_floats(
        &self,
        series: &FloatSeries,
        samples: Range<usize>,
        window: Window,
    ) -> Option<f64> {
        let values = series.samples.get(samples.clone())?;
        let (&(first_t, first_v), &(last_t, last_v)) = (values.first()?, values.last()?);
        if values.len() < 2 {
            return None;
        }
        let mut result = last_v - first_v;
        if self.kind.is_counter {
            // The resets after the window's first sample, in order, as `extrapolated` adds them.
            let from = series.resets.partition_point(|&i| i <= samples.start);
            let inside = series.resets.get(from..).unwrap_or_default();
            for &i in inside.iter().take_while(|&&i| i < samples.end) {
                result += series.samples[i - 1].1;
            }
        }
        let zero = self.kind.is_counter.then_some((first_v, result));
        let n = values.len();
        Some(result * factor((first_t, last_t, n), window, zero, None, self.kind.is_rate))
    }
}

/// A series of floats as `rate`, `increase` and `delta` read it over many windows: its
/// samples, and where its counter resets, found once.
pub(super) struct FloatSeries {
    samples: Vec<(i64, f64)>,
    /// The positions of samples lower than the sample before them.
    resets: Vec<usize>,
}

impl FloatSeries {
    /// The series of `points` (without stale markers); `None` when any is a histogram.
    pub(super) fn new(points: &[Point]) -> Option<Self> {
        let samples = floats(points)?;
        let resets = (1..samples.len())
            .filter(|&i| is_float_reset(samples[i - 1].1, samples[i].1))
            .collect();
        Some(Self { samples, resets })
    }
}

/// Whether a counter reset between two float samples.
fn is_float_reset(prev: f64, cur: f64) -> bool {
    cur < prev
}

/// An info when a series with floats read as a counter has a name counters do not have
/// (upstream engine.go, `annotations.NewPossibleNonCounterInfo`), pointing at the range
/// argument. Upstream checks this only where the argument is a range selector.
fn note_possible_non_counter(ev: &Evaluator, c: &Call, labels: &Labels) {
    let Some(name) = labels.get("__name__") else {
        return;
    };
    let counter_like = is_counter_name(name);
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

/// Whether the range argument is a selector whose `__name__="..."` matcher already names a
/// counter, so no series of it needs the name check (which, made for every series at every
/// step, costs a label lookup each).
fn selects_counter_name(c: &Call) -> bool {
    let mut arg = c.args.first();
    while let Some(Expr::Paren(p)) = arg {
        arg = Some(&p.expr);
    }
    let Some(Expr::MatrixSelector(m)) = arg else {
        return false;
    };
    m.selector.matchers.iter().any(|matcher| {
        matcher.op() == MatchOp::Equal
            && matcher.name() == "__name__"
            && is_counter_name(matcher.value())
    })
}

/// Whether a metric name ends like a counter's.
fn is_counter_name(name: &str) -> bool {
    ["_total", "_sum", "_count", "_bucket"]
        .iter()
        .any(|suffix| name.ends_with(suffix))
}

/// A series' metric name for annotations (empty without one).
pub(super) fn metric_name(labels: &Labels) -> String {
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
    let range = extended::rate::Range {
        start_ms: w.end_ms.saturating_sub(w.range_ms),
        end_ms: w.end_ms,
        smoothed: ext == RangeExtension::Smoothed,
    };
    let kind = extended::rate::Kind {
        counter,
        per_second,
    };
    let range_s = w.range_ms as f64 / 1000.0;
    let span = c.args.first().map_or(c.span, unwrapped_span);
    let mut out = Vec::with_capacity(matrix.len());
    for s in matrix {
        let (value, notes) = extended::rate::change(&s.points, range, range_s, kind);
        let name = s.labels.get("__name__").unwrap_or("");
        for note in notes {
            note.report(ev, span, name);
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
            if counter.start_reset(i + 1, prev_t, cur_t) || is_float_reset(prev, cur) {
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

    #[test]
    fn start_timestamps_reset_counters_and_replace_left_extrapolation() {
        let labels = Labels::from_pairs([("__name__", "c_total")]);
        let float = |t_ms, v| Point {
            t_ms,
            value: SampleValue::Float(v),
        };
        let mut s = MemoryStorage::new();
        // One sample that started 30s before it, inside the window: it counts from zero there.
        s.append_with_start(&labels, float(120_000, 6.0), 90_000);
        fn value(s: &MemoryStorage, q: &str, t_ms: i64) -> Option<SampleValue> {
            match Engine::default().instant(s, q, t_ms) {
                Ok(e) => match e.value {
                    crate::promql::value::Value::Vector(v) => v.first().map(|e| e.value.clone()),
                    other => panic!("expected a vector, got {other:?}"),
                },
                Err(e) => panic!("{e}"),
            }
        }
        assert_eq!(
            value(&s, "increase(c_total[5m])", 150_000),
            Some(SampleValue::Float(6.0))
        );
        // Delta samples: each starts at the previous one, so every step is a reset.
        s.append_with_start(&labels, float(180_000, 6.0), 120_000);
        s.append_with_start(&labels, float(240_000, 6.0), 180_000);
        let Some(SampleValue::Float(irate)) = value(&s, "irate(c_total[5m])", 240_000) else {
            panic!("irate yields a float")
        };
        assert!((irate - 0.1).abs() < 1e-12, "{irate}");
        assert_eq!(
            value(&s, "resets(c_total[5m])", 240_000),
            Some(SampleValue::Float(2.0))
        );
        // Without start timestamps a subquery sees no resets.
        assert_eq!(
            value(&s, "resets(c_total[5m:1m])", 240_000),
            Some(SampleValue::Float(0.0))
        );
    }
}
