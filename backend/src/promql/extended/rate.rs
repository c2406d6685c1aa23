//! `rate`, `increase` and `delta` over `anchored` and `smoothed` ranges (upstream functions.go
//! `extendedRate` and `extendedHistogramRate`): the value at the range's right edge minus the
//! value at its left edge, plus for counters the value before every reset in between. Nothing
//! is extrapolated; `rate` divides by the range.

use shared::histogram::{CounterResetHint, FloatHistogram};

use super::{Edges, Note, add, interpolate_histograms, mixes_bucket_kinds};
use crate::promql::histogram;
use crate::promql::histogram::detect_reset;
use crate::promql::storage::{Point, SampleValue, histogram_points};

/// The range a change is taken over: `(start_ms, end_ms]`, and whether its edges interpolate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Range {
    /// The range's (excluded) start.
    pub start_ms: i64,
    /// The range's (included) end.
    pub end_ms: i64,
    /// `smoothed` rather than `anchored`.
    pub smoothed: bool,
}

/// What the function computes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Kind {
    /// `rate` or `increase` (resets count), not `delta`.
    pub counter: bool,
    /// `rate`: per second.
    pub per_second: bool,
}

/// The change of one series over `range` (the points are the raw extended window), with the
/// notes it raised; `None` when there is nothing to measure.
pub(crate) fn change(
    points: &[Point],
    range: Range,
    range_s: f64,
    kind: Kind,
) -> (Option<SampleValue>, Vec<Note>) {
    let floats: Vec<(i64, f64)> = points
        .iter()
        .filter_map(|p| match p.value {
            SampleValue::Float(f) => Some((p.t_ms, f)),
            SampleValue::Histogram(_) => None,
        })
        .collect();
    if floats.len() == points.len() {
        let value = float_change(&floats, range, range_s, kind).map(SampleValue::Float);
        return (value, Vec::new());
    }
    if !floats.is_empty() {
        return (None, vec![Note::MixedFloatsHistograms]);
    }
    let histograms: Vec<(i64, &FloatHistogram)> = histogram_points(points);
    let mut notes = Vec::new();
    let value = histogram_change(&histograms, range, range_s, kind, &mut notes)
        .map(|h| SampleValue::Histogram(Box::new(h)));
    (value, notes)
}

/// `extendedRate` for floats.
fn float_change(f: &[(i64, f64)], range: Range, range_s: f64, kind: Kind) -> Option<f64> {
    let Range {
        start_ms,
        end_ms,
        smoothed,
    } = range;
    let edges = Edges::find(f, |p| p.0, start_ms, end_ms, smoothed)?;
    let left = super::pick_left(f, edges.first, start_ms, smoothed, kind.counter);
    let right = super::pick_right(f, edges.last, end_ms, smoothed, kind.counter);
    let mut result = right - left;
    if kind.counter {
        // Resets across an interpolated edge are already in the edge's value.
        let mut prev = left;
        for &(_, v) in edges.inner(f, |p| p.0, start_ms, end_ms) {
            if v < prev {
                result += prev;
            }
            prev = v;
        }
        if right < prev {
            result += prev;
        }
    }
    Some(if kind.per_second {
        result / range_s
    } else {
        result
    })
}

/// `extendedHistogramRate`.
fn histogram_change(
    h: &[(i64, &FloatHistogram)],
    range: Range,
    range_s: f64,
    kind: Kind,
    notes: &mut Vec<Note>,
) -> Option<FloatHistogram> {
    let Range {
        start_ms,
        end_ms,
        smoothed,
    } = range;
    let edges = Edges::find(h, |p| p.0, start_ms, end_ms, smoothed)?;
    let used = h.get(edges.first..=edges.last)?;
    let custom = used.first()?.1;
    if used.iter().any(|(_, x)| mixes_bucket_kinds(custom, x)) {
        notes.push(Note::MixedBucketKinds);
        return None;
    }
    if kind.counter
        && used
            .iter()
            .any(|(_, x)| x.counter_reset_hint == CounterResetHint::Gauge)
    {
        notes.push(Note::NotCounter);
    }
    let (Some(left), Some(right)) = (
        pick_left(h, edges.first, start_ms, smoothed, kind.counter, notes),
        pick_right(h, edges.last, end_ms, smoothed, kind.counter, notes),
    ) else {
        notes.push(Note::MixedBucketKinds);
        return None;
    };
    let gauge = CounterResetHint::Gauge;
    if !kind.counter && (left.counter_reset_hint != gauge || right.counter_reset_hint != gauge) {
        notes.push(Note::NotGauge);
    }
    let mut result = add(&right, &left, -1.0, notes)?;
    if kind.counter {
        let edge_values = (&left, &right);
        if let Some(correction) = correction(h, edges, edge_values, start_ms, smoothed, notes)? {
            result = add(&result, &correction, 1.0, notes)?;
        }
    }
    if kind.per_second {
        result = histogram::divide(&result, range_s);
    }
    result.counter_reset_hint = gauge;
    Some(result)
}

/// The sum of the histograms before each reset between the edges (upstream
/// `correctForCounterResetsHistogram`): `Some(None)` without resets, `None` when they cannot
/// be added.
fn correction(
    h: &[(i64, &FloatHistogram)],
    edges: Edges,
    (left, right): (&FloatHistogram, &FloatHistogram),
    start_ms: i64,
    smoothed: bool,
    notes: &mut Vec<Note>,
) -> Option<Option<FloatHistogram>> {
    let mut first = edges.first + 1;
    let mut prev = left;
    if let (Some(&(t0, h0)), Some(&(_, h1))) = (h.get(edges.first), h.get(edges.first + 1)) {
        // An interpolated left edge that crossed a reset already starts from zero.
        if smoothed && t0 < start_ms && detect_reset(h0, h1) {
            prev = h1;
            first += 1;
        }
    }
    // The right edge is the last sample or interpolated from it: compare it last, by itself.
    if first > edges.last {
        return Some(None);
    }
    let mut total: Option<FloatHistogram> = None;
    let mut accumulate = |x: &FloatHistogram, notes: &mut Vec<Note>| {
        total = Some(match &total {
            None => x.clone(),
            Some(t) => add(t, x, 1.0, notes)?,
        });
        Some(())
    };
    for &(_, cur) in h.get(first..edges.last).unwrap_or_default() {
        if detect_reset(prev, cur) {
            accumulate(prev, notes)?;
        }
        prev = cur;
    }
    if detect_reset(prev, right) {
        accumulate(prev, notes)?;
    }
    Some(total)
}

/// The histogram at the left edge; `None` when interpolation meets incompatible histograms.
fn pick_left(
    h: &[(i64, &FloatHistogram)],
    first: usize,
    start_ms: i64,
    smoothed: bool,
    counter: bool,
    notes: &mut Vec<Note>,
) -> Option<FloatHistogram> {
    let &(t, x) = h.get(first)?;
    match h.get(first + 1) {
        Some(&(t2, x2)) if smoothed && t < start_ms => {
            if mixes_bucket_kinds(x, x2) {
                return None;
            }
            interpolate_histograms(x, t, x2, t2, start_ms, counter, notes)
        }
        _ => Some(x.clone()),
    }
}

/// The histogram at the right edge; `None` when interpolation meets incompatible histograms.
fn pick_right(
    h: &[(i64, &FloatHistogram)],
    last: usize,
    end_ms: i64,
    smoothed: bool,
    counter: bool,
    notes: &mut Vec<Note>,
) -> Option<FloatHistogram> {
    let &(t, x) = h.get(last)?;
    match last.checked_sub(1).and_then(|i| h.get(i)) {
        Some(&(t1, x1)) if smoothed && t > end_ms => {
            if mixes_bucket_kinds(x1, x) {
                return None;
            }
            interpolate_histograms(x1, t1, x, t, end_ms, counter, notes)
        }
        _ => Some(x.clone()),
    }
}

#[cfg(test)]
mod tests {
    use super::super::interpolate;
    use super::*;

    fn points(values: &[(i64, f64)]) -> Vec<Point> {
        values
            .iter()
            .map(|&(t_s, v)| Point {
                t_ms: t_s * 1000,
                value: SampleValue::Float(v),
            })
            .collect()
    }

    fn float(v: (Option<SampleValue>, Vec<Note>)) -> f64 {
        match v.0 {
            Some(SampleValue::Float(f)) => f,
            other => panic!("expected a float, got {other:?}"),
        }
    }

    const INCREASE: Kind = Kind {
        counter: true,
        per_second: false,
    };

    #[test]
    fn anchored_increase_takes_the_samples_at_the_edges() {
        // PROM-52 reference: metric 1+1x4 9+1x4 every 15s, increase over 1m at 80s.
        let pts = points(&[
            (0, 1.0),
            (15, 2.0),
            (30, 3.0),
            (45, 4.0),
            (60, 5.0),
            (75, 9.0),
        ]);
        let range = Range {
            start_ms: 20_000,
            end_ms: 80_000,
            smoothed: false,
        };
        assert_eq!(float(change(&pts, range, 60.0, INCREASE)), 7.0);
    }

    #[test]
    fn smoothed_increase_interpolates_and_counts_resets() {
        // Smoothed rate across a reset: 100 at 0s, 10 at 15s; at 12s over 10s.
        let pts = points(&[(0, 100.0), (15, 10.0)]);
        let range = Range {
            start_ms: 2_000,
            end_ms: 12_000,
            smoothed: true,
        };
        let got = float(change(&pts, range, 10.0, INCREASE));
        let expected = interpolate(100.0, 0, 10.0, 15_000, 12_000, true)
            - interpolate(100.0, 0, 10.0, 15_000, 2_000, true);
        assert!((got - expected).abs() < 1e-12, "{got} vs {expected}");
        assert!((got - 20.0 / 3.0).abs() < 1e-12);
    }

    #[test]
    fn nothing_after_the_start_yields_nothing() {
        let pts = points(&[(0, 1.0)]);
        let range = Range {
            start_ms: 0,
            end_ms: 10_000,
            smoothed: false,
        };
        assert_eq!(change(&pts, range, 10.0, INCREASE).0, None);
    }
}
