//! Selectors over a whole range, series by series: an instant selector's sample at every step,
//! and where each step's window of a range selector falls in a series' samples (upstream
//! promql/engine.go evaluates `VectorSelector` nodes and the matrix-selector argument of range
//! functions this way, one series at a time, moving forward through its samples).
//!
//! Both walk the steps in order with positions that only move forward, so one series costs
//! its samples plus the steps, whatever the lookback or range. Only selectors without an
//! `anchored`/`smoothed` extension are handled here. Nothing here knows what a function does
//! with a window.

use std::ops::Range;

use shared::labels::Labels;

use super::Steps;
use crate::promql::EngineError;
use crate::promql::eval::Evaluator;
use crate::promql::parser::{MatrixSelector, VectorSelector};
use crate::promql::storage::{Point, SampleValue};
use crate::promql::value::{Matrix, RangeSeries};

/// How many of `points` from `from` on lie at or before `t_ms`, moving `from` forward: the
/// position after the last such point.
fn advance(points: &[Point], from: usize, t_ms: i64) -> usize {
    let mut i = from;
    while points.get(i).is_some_and(|p| p.t_ms <= t_ms) {
        i += 1;
    }
    i
}

/// The reference time (evaluation time moved by `@` and `offset`) of a selector at every step;
/// never decreasing.
fn reference_times(
    ev: &Evaluator,
    s: &VectorSelector,
    steps: Steps,
) -> Result<Vec<i64>, EngineError> {
    let offset = ev.offset(&s.offset)?;
    Ok(steps
        .times()
        .map(|t| ev.base(s.at, t).saturating_sub(offset))
        .collect())
}

impl Evaluator {
    /// The instant selector `s` (without extension) at every step: per series, the latest
    /// sample in `(t - lookback, t]` unless it is a stale marker, as
    /// [`Evaluator::vector_selector_points`] takes it at one step.
    pub(crate) fn ranged_vector_selector(
        &self,
        s: &VectorSelector,
        steps: Steps,
    ) -> Result<Matrix, EngineError> {
        self.ranged_selector_samples(s, steps, false, |p| p.value.clone())
    }

    /// `value` of the sample each series of `s` contributes at every step (as
    /// [`Evaluator::ranged_vector_selector`] picks it, whatever the selector's extension), the
    /// results flagged `drop_name`.
    pub(crate) fn ranged_selector_samples(
        &self,
        s: &VectorSelector,
        steps: Steps,
        drop_name: bool,
        value: impl Fn(&Point) -> SampleValue,
    ) -> Result<Matrix, EngineError> {
        let refs = reference_times(self, s, steps)?;
        let lookback = self.lookback_ms();
        let mut out = Matrix::new();
        self.each_series(s, |series| {
            let mut points = Vec::new();
            let mut end = 0;
            for (t_ms, &ref_ms) in steps.times().zip(&refs) {
                end = advance(&series.points, end, ref_ms);
                let Some(p) = end.checked_sub(1).and_then(|i| series.points.get(i)) else {
                    continue;
                };
                if p.t_ms <= ref_ms.saturating_sub(lookback) || p.value.is_stale() {
                    continue;
                }
                points.push(Point {
                    t_ms,
                    value: value(p),
                });
            }
            if !points.is_empty() {
                out.push(RangeSeries {
                    labels: series.labels.clone(),
                    points,
                    drop_name,
                });
            }
            Ok(())
        })?;
        Ok(out)
    }

    /// Where the windows of the range selector `m` (without extension) fall at every step.
    pub(crate) fn matrix_windows(
        &self,
        m: &MatrixSelector,
        steps: Steps,
    ) -> Result<MatrixWindows, EngineError> {
        let ends = reference_times(self, &m.selector, steps)?;
        Ok(MatrixWindows::new(steps, ends, self.duration(&m.range)?))
    }

    /// Calls `f` with the labels and stale-free samples of each series of the range selector
    /// `m`, in label order (see [`Evaluator::each_series`]).
    pub(crate) fn each_matrix_series(
        &self,
        m: &MatrixSelector,
        mut f: impl FnMut(&Labels, &[Point]) -> Result<(), EngineError>,
    ) -> Result<(), EngineError> {
        self.each_series(&m.selector, |series| {
            f(&series.labels, &series.stale_free())
        })
    }
}

/// The windows `(end - range, end]` of a range selector at the steps of a range.
#[derive(Debug, Clone)]
pub(crate) struct MatrixWindows {
    steps: Steps,
    /// The window's end at each step.
    ends: Vec<i64>,
    range_ms: i64,
}

/// One step's window over one series.
#[derive(Debug, Clone)]
pub(crate) struct StepWindow {
    /// The step's index.
    pub index: usize,
    /// The evaluation time.
    pub t_ms: i64,
    /// The window's end (the reference time); it starts `range_ms` before, exclusive.
    pub end_ms: i64,
    /// The samples in the window, as positions in the series' samples (possibly empty).
    pub samples: Range<usize>,
}

impl MatrixWindows {
    /// The windows `(end - range_ms, end]` for `ends`, one per step of `steps` (never
    /// decreasing).
    pub(crate) fn new(steps: Steps, ends: Vec<i64>, range_ms: i64) -> Self {
        Self {
            steps,
            ends,
            range_ms,
        }
    }

    /// The range of every window, in ms.
    pub(crate) fn range_ms(&self) -> i64 {
        self.range_ms
    }

    /// Each step's window over `points` (sorted by time), in step order.
    pub(crate) fn over<'a>(&'a self, points: &'a [Point]) -> impl Iterator<Item = StepWindow> + 'a {
        let (mut from, mut to) = (0, 0);
        self.steps
            .times()
            .zip(&self.ends)
            .enumerate()
            .map(move |(index, (t_ms, &end_ms))| {
                from = advance(points, from, end_ms.saturating_sub(self.range_ms));
                to = advance(points, to.max(from), end_ms);
                StepWindow {
                    index,
                    t_ms,
                    end_ms,
                    samples: from..to,
                }
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::promql::storage::SampleValue;

    #[test]
    fn windows_agree_with_binary_searches() {
        let points: Vec<Point> = [0, 10, 20, 20, 35, 60, 61, 100]
            .into_iter()
            .map(|t_ms| Point {
                t_ms,
                value: SampleValue::Float(0.0),
            })
            .collect();
        let steps = Steps::new(-20, 130, 7).expect("valid steps");
        let windows = MatrixWindows {
            steps,
            ends: steps.times().map(|t| t - 3).collect(),
            range_ms: 25,
        };
        let mut seen = 0;
        for w in windows.over(&points) {
            let from = points.partition_point(|p| p.t_ms <= w.end_ms - 25);
            let to = points.partition_point(|p| p.t_ms <= w.end_ms);
            assert_eq!(w.samples, from..to, "at {}", w.t_ms);
            assert_eq!(w.end_ms, w.t_ms - 3);
            seen += 1;
        }
        assert_eq!(seen, steps.len());
    }
}
