//! Prometheus 3 extended selectors: the `anchored` and `smoothed` modifiers (upstream
//! promql/engine.go `matrixSelector`, `smoothSeries`, `extendFloats` and the extended branch of
//! `rangeEval` for calls; functions.go `extendedRate`, `pickFirstSampleIndices`).
//!
//! - A `smoothed` instant selector interpolates linearly between the samples around the
//!   evaluation time, each at most a lookback delta away, and carries the last value forward
//!   when nothing follows.
//! - A range selector with either modifier reads samples a lookback delta before its range (and
//!   for `smoothed` one after it) so the values at the range's edges are known: `anchored` takes
//!   the last sample at or before each edge, `smoothed` interpolates across it. Only `rate`,
//!   `increase`, `delta` (both modifiers) and `changes`, `resets` (`anchored`) accept them.
//!
//! This module knows the evaluator's selections but not where they come from. `rate` holds the
//! extended `rate`/`increase`/`delta`, `smoothed` the instant selector.

pub(crate) mod rate;
mod smoothed;

pub(crate) use smoothed::smoothed_vector;

use shared::histogram::FloatHistogram;

use super::eval::Evaluator;
use super::histogram;
use super::histogram::Operation;
use super::parser::ast::RangeExtension;
use super::parser::{Call, Expr, MatrixSelector, Span};
use super::storage::{Point, SampleValue};
use super::value::{Matrix, RangeSeries};
use super::{EngineError, annotations};

/// Functions that accept an `anchored` range (upstream `AnchoredSafeFunctions`), sorted.
const ANCHORED_SAFE: [&str; 5] = ["changes", "delta", "increase", "rate", "resets"];
/// Functions that accept a `smoothed` range (upstream `SmoothedSafeFunctions`), sorted.
const SMOOTHED_SAFE: [&str; 3] = ["delta", "increase", "rate"];

/// What evaluating a series had to report (upstream util/annotations, the annotations of the
/// same names): why it yields nothing or a doubtful value, or what was papered over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Note {
    /// Floats and histograms meet (`MixedFloatsHistogramsWarning`).
    MixedFloatsHistograms,
    /// Exponential and custom buckets meet (`MixedExponentialCustomHistogramsWarning`).
    MixedBucketKinds,
    /// `rate`/`increase` of a gauge histogram (`NativeHistogramNotCounterWarning`).
    NotCounter,
    /// `delta` of a counter histogram (`NativeHistogramNotGaugeWarning`).
    NotGauge,
    /// Custom bucket bounds were reconciled (`MismatchedCustomBucketsHistogramsInfo`, an info).
    Reconciled(Operation),
}

impl Note {
    /// Records the note about the series named `metric` on the node at `span`.
    pub(crate) fn report(self, ev: &Evaluator, span: Span, metric: &str) {
        let metric = metric.to_owned();
        let note = match self {
            Note::MixedFloatsHistograms => annotations::Note::MixedFloatsHistograms(metric),
            Note::MixedBucketKinds => annotations::Note::MixedExponentialCustom(metric),
            Note::NotCounter => annotations::Note::NotCounter(metric),
            Note::NotGauge => annotations::Note::NotGauge(metric),
            Note::Reconciled(operation) => annotations::Note::MismatchedCustomBuckets(operation),
        };
        ev.note(span, &note);
    }
}

/// The modifier's word as written in queries.
fn word(ext: RangeExtension) -> &'static str {
    match ext {
        RangeExtension::Anchored => "anchored",
        RangeExtension::Smoothed => "smoothed",
    }
}

/// Fails when `c` passes an `anchored` or `smoothed` range selector to a function that cannot
/// take one (upstream `rangeEval` for calls, with its error wording).
pub(crate) fn check_call(c: &Call) -> Result<(), EngineError> {
    for arg in &c.args {
        let Expr::MatrixSelector(m) = arg else {
            continue;
        };
        let Some(ext) = m.selector.extension else {
            continue;
        };
        let safe: &[&str] = match ext {
            RangeExtension::Anchored => &ANCHORED_SAFE,
            RangeExtension::Smoothed => &SMOOTHED_SAFE,
        };
        let name = c.function.name;
        if !safe.contains(&name) {
            return Err(EngineError::Runtime(format!(
                "{} modifier can only be used with: {} - not with {name}",
                word(ext),
                safe.join(", ")
            )));
        }
    }
    Ok(())
}

/// How far before and after its reference time a selector reads, in ms: `range_ms` is the
/// range of a range selector, `None` for an instant selector (upstream `getTimeRangesForSelector`).
pub(crate) fn fetch_margins(
    ext: Option<RangeExtension>,
    range_ms: Option<i64>,
    lookback_ms: i64,
) -> (i64, i64) {
    match (range_ms, ext) {
        (None, Some(RangeExtension::Smoothed)) => (lookback_ms, lookback_ms),
        (None, _) => (lookback_ms, 0),
        (Some(range), None) => (range, 0),
        (Some(range), Some(RangeExtension::Anchored)) => (range.saturating_add(lookback_ms), 0),
        (Some(range), Some(RangeExtension::Smoothed)) => {
            (range.saturating_add(lookback_ms), lookback_ms)
        }
    }
}

/// The raw samples an extended range selector hands to the function it is an argument of: those
/// in `(end - range - lookback, end]`, for `smoothed` up to `end + lookback`.
pub(crate) fn raw_matrix(
    ev: &Evaluator,
    m: &MatrixSelector,
    t_ms: i64,
) -> Result<Matrix, EngineError> {
    let s = &m.selector;
    let end = ev.base(s.at, t_ms).saturating_sub(ev.offset(&s.offset)?);
    let (before, after) =
        fetch_margins(s.extension, Some(ev.duration(&m.range)?), ev.lookback_ms());
    let mut out = Matrix::new();
    for series in ev.series(s)? {
        let points = series.window(end.saturating_sub(before), end.saturating_add(after));
        if !points.is_empty() {
            out.push(RangeSeries {
                labels: series.labels.clone(),
                points,
                drop_name: false,
            });
        }
    }
    Ok(out)
}

/// An extended range selector evaluated on its own: each series' samples inside the range with
/// a point added at each edge (upstream `matrixSelector` with `extendFloats`). Histograms are
/// refused as upstream refuses them.
pub(crate) fn matrix(ev: &Evaluator, m: &MatrixSelector, t_ms: i64) -> Result<Matrix, EngineError> {
    let Some(ext) = m.selector.extension else {
        return raw_matrix(ev, m, t_ms);
    };
    let s = &m.selector;
    let end = ev.base(s.at, t_ms).saturating_sub(ev.offset(&s.offset)?);
    let start = end.saturating_sub(ev.duration(&m.range)?);
    let mut out = Matrix::new();
    for mut series in raw_matrix(ev, m, t_ms)? {
        let floats: Option<Vec<(i64, f64)>> = series
            .points
            .iter()
            .map(|p| match p.value {
                SampleValue::Float(f) => Some((p.t_ms, f)),
                SampleValue::Histogram(_) => None,
            })
            .collect();
        let Some(floats) = floats else {
            return Err(EngineError::Runtime(format!(
                "{} modifier is not supported with histograms",
                word(ext)
            )));
        };
        series.points = extend_floats(&floats, start, end, ext == RangeExtension::Smoothed)
            .into_iter()
            .map(|(t_ms, f)| Point {
                t_ms,
                value: SampleValue::Float(f),
            })
            .collect();
        if !series.points.is_empty() {
            out.push(series);
        }
    }
    Ok(out)
}

/// The samples strictly inside `(start, end)` framed by a point at each edge: the last sample
/// at or before it for `anchored`, an interpolation for `smoothed` (upstream `extendFloats`).
fn extend_floats(f: &[(i64, f64)], start: i64, end: i64, smoothed: bool) -> Vec<(i64, f64)> {
    let Some(edges) = Edges::find(f, |p| p.0, start, end, smoothed) else {
        return Vec::new();
    };
    let left = pick_left(f, edges.first, start, smoothed, false);
    let right = pick_right(f, edges.last, end, smoothed, false);
    let inner = edges.inner(f, |p| p.0, start, end);
    let mut out = Vec::with_capacity(inner.len() + 2);
    out.push((start, left));
    out.extend_from_slice(inner);
    out.push((end, right));
    out
}

/// The indices of the samples that define a range's edges (upstream `extendedRate` and
/// `extendFloats`): `first` is the last sample at or before the start (or the first sample),
/// `last` the last sample, or for `smoothed` the first at or after the end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Edges {
    /// Index of the sample the left edge comes from.
    pub first: usize,
    /// Index of the sample the right edge comes from.
    pub last: usize,
}

impl Edges {
    /// The edges of `(start, end]` in `points` (timestamps by `t`); `None` when no sample lies
    /// after the start, or for `smoothed` none at or before the end.
    pub(crate) fn find<T>(
        points: &[T],
        t: impl Fn(&T) -> i64,
        start: i64,
        end: i64,
        smoothed: bool,
    ) -> Option<Self> {
        let mut last = points.len().checked_sub(1)?;
        let before_last = points.get(..last).unwrap_or_default();
        let first = before_last
            .partition_point(|p| t(p) <= start)
            .saturating_sub(1);
        if smoothed {
            last = before_last.partition_point(|p| t(p) < end);
        }
        if t(points.get(last)?) <= start || (smoothed && t(points.get(first)?) > end) {
            return None;
        }
        Some(Self { first, last })
    }

    /// The samples strictly inside `(start, end)` between the edges' samples.
    pub(crate) fn inner<T>(
        self,
        points: &[T],
        t: impl Fn(&T) -> i64,
        start: i64,
        end: i64,
    ) -> &[T] {
        let mut from = self.first;
        if points.get(from).is_some_and(|p| t(p) <= start) {
            from += 1;
        }
        let mut to = self.last + 1;
        if points.get(self.last).is_some_and(|p| t(p) >= end) {
            to -= 1;
        }
        points.get(from..to).unwrap_or_default()
    }
}

/// The value at the left edge (upstream `pickOrInterpolateLeft`).
fn pick_left(f: &[(i64, f64)], first: usize, start: i64, smoothed: bool, counter: bool) -> f64 {
    let (t, v) = f[first];
    match f.get(first + 1) {
        Some(&(t2, v2)) if smoothed && t < start => interpolate(v, t, v2, t2, start, counter),
        _ => v,
    }
}

/// The value at the right edge (upstream `pickOrInterpolateRight`).
fn pick_right(f: &[(i64, f64)], last: usize, end: i64, smoothed: bool, counter: bool) -> f64 {
    let (t, v) = f[last];
    match last.checked_sub(1).map(|i| f[i]) {
        Some((t1, v1)) if smoothed && t > end => interpolate(v1, t1, v, t, end, counter),
        _ => v,
    }
}

/// The straight line through `(t1, v1)` and `(t2, v2)` at `t`; for a counter that dropped, the
/// line starts from zero instead (upstream `interpolate`).
fn interpolate(v1: f64, t1: i64, v2: f64, t2: i64, t: i64, counter: bool) -> f64 {
    let v1 = if counter && v2 < v1 { 0.0 } else { v1 };
    v1 + (v2 - v1) * (t - t1) as f64 / (t2 - t1) as f64
}

/// `a + sign * b`, noting reconciled custom bounds; `None` (noted) for exponential and custom
/// buckets (upstream `addHistogramWithAnnotations`, `subHistogramWithAnnotations`).
pub(crate) fn add(
    a: &FloatHistogram,
    b: &FloatHistogram,
    sign: f64,
    notes: &mut Vec<Note>,
) -> Option<FloatHistogram> {
    match histogram::combine(a, b, sign) {
        Ok((sum, n)) => {
            if n.bounds_reconciled {
                let operation = if sign < 0.0 {
                    Operation::Subtraction
                } else {
                    Operation::Addition
                };
                notes.push(Note::Reconciled(operation));
            }
            Some(sum)
        }
        Err(histogram::IncompatibleSchemas) => {
            notes.push(Note::MixedBucketKinds);
            None
        }
    }
}

/// Whether one of the histograms uses custom buckets and the other exponential ones.
pub(crate) fn mixes_bucket_kinds(a: &FloatHistogram, b: &FloatHistogram) -> bool {
    uses_custom(a) != uses_custom(b)
}

fn uses_custom(h: &FloatHistogram) -> bool {
    h.schema == shared::histogram::CUSTOM_BUCKETS_SCHEMA
}

/// The histogram on the line from `h1` at `t1` to `h2` at `t2`, at `t`; a counter that reset
/// starts from zero (upstream `interpolateHistograms`). The result keeps `h2`'s hint. `None`
/// when the two cannot be combined.
pub(crate) fn interpolate_histograms(
    h1: &FloatHistogram,
    t1: i64,
    h2: &FloatHistogram,
    t2: i64,
    t: i64,
    counter: bool,
    notes: &mut Vec<Note>,
) -> Option<FloatHistogram> {
    if t == t1 {
        return Some(h1.clone());
    }
    if t == t2 {
        return Some(h2.clone());
    }
    let fraction = (t - t1) as f64 / (t2 - t1) as f64;
    let mut out = if counter && histogram::detect_reset(h1, h2) {
        histogram::scale(h2, fraction)
    } else {
        let change = add(h2, h1, -1.0, notes)?;
        add(&histogram::scale(&change, fraction), h1, 1.0, notes)?
    };
    out.counter_reset_hint = h2.counter_reset_hint;
    Some(out)
}

/// For `anchored` `changes` and `resets`: the samples from the last one at or before the
/// range start on (upstream `pickFirstSampleIndices`); `None` when none lies after the start.
pub(crate) fn anchored_points(points: &[Point], start: i64) -> Option<&[Point]> {
    let after = points.partition_point(|p| p.t_ms <= start);
    if after >= points.len() {
        return None;
    }
    points.get(after.saturating_sub(1)..)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(t_s: i64, v: f64) -> (i64, f64) {
        (t_s * 1000, v)
    }

    #[test]
    fn edges_pick_the_samples_around_the_range() {
        let pts = [f(0, 1.0), f(15, 2.0), f(30, 3.0), f(45, 4.0), f(60, 5.0)];
        // Range (20s, 50s]: the last sample at or before 20s is 15s.
        let e = Edges::find(&pts, |p| p.0, 20_000, 50_000, false).unwrap();
        assert_eq!(e, Edges { first: 1, last: 4 });
        let e = Edges::find(&pts, |p| p.0, 20_000, 50_000, true).unwrap();
        assert_eq!(
            e,
            Edges { first: 1, last: 4 },
            "first sample at or after 50s"
        );
        assert_eq!(e.inner(&pts, |p| p.0, 20_000, 50_000), &pts[2..4]);
        assert!(Edges::find(&pts, |p| p.0, 60_000, 90_000, false).is_none());
        assert!(Edges::find(&pts, |p| p.0, -90_000, -60_000, true).is_none());
    }

    #[test]
    fn extend_floats_frames_the_range_with_its_edges() {
        let pts = [f(0, 1.0), f(15, 2.0), f(30, 3.0), f(45, 4.0), f(60, 5.0)];
        // An anchored window never holds samples after its end.
        let anchored = extend_floats(&pts[..4], 20_000, 50_000, false);
        assert_eq!(
            anchored,
            vec![(20_000, 2.0), f(30, 3.0), f(45, 4.0), (50_000, 4.0)]
        );
        let smoothed = extend_floats(&pts, 20_000, 50_000, true);
        let values: Vec<f64> = smoothed.iter().map(|p| p.1).collect();
        assert!((values[0] - 2.0 - 1.0 / 3.0).abs() < 1e-12, "{values:?}");
        assert!((values[3] - 4.0 - 1.0 / 3.0).abs() < 1e-12, "{values:?}");
    }

    #[test]
    fn counters_interpolate_from_zero_across_a_reset() {
        assert_eq!(interpolate(100.0, 0, 10.0, 15, 12, true), 8.0);
        assert_eq!(interpolate(100.0, 0, 10.0, 10, 5, false), 55.0);
    }

    #[test]
    fn only_the_documented_functions_take_extended_ranges() {
        let e = super::super::parser::parse("deriv(foo[3m] smoothed)").unwrap();
        let Expr::Call(c) = e else { panic!("a call") };
        let err = check_call(&c).unwrap_err().to_string();
        assert_eq!(
            err,
            "smoothed modifier can only be used with: delta, increase, rate - not with deriv"
        );
        let e = super::super::parser::parse("resets(foo[3m] anchored)").unwrap();
        let Expr::Call(c) = e else { panic!("a call") };
        assert!(check_call(&c).is_ok());
    }

    #[test]
    fn adding_notes_reconciled_bounds_and_refuses_mixed_kinds() {
        let custom = |bounds: Vec<f64>| FloatHistogram {
            schema: shared::histogram::CUSTOM_BUCKETS_SCHEMA,
            count: 1.0,
            custom_values: bounds,
            ..FloatHistogram::default()
        };
        let mut notes = Vec::new();
        let sum = add(
            &custom(vec![5.0, 10.0]),
            &custom(vec![5.0]),
            1.0,
            &mut notes,
        );
        assert_eq!(sum.map(|h| h.count), Some(2.0));
        assert_eq!(notes, [Note::Reconciled(Operation::Addition)]);
        notes.clear();
        let exponential = FloatHistogram::default();
        assert!(add(&exponential, &custom(vec![5.0]), -1.0, &mut notes).is_none());
        assert_eq!(notes, [Note::MixedBucketKinds]);
    }
}
