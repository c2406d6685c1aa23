//! Range functions over a range selector or a subquery, evaluated at every step of a range at
//! once: series by series, the window `(t - range, t]` slides over the series' samples
//! (upstream promql/engine.go evaluates a matrix-selector function this way, one series at a
//! time over all steps).
//!
//! Each step's window is a slice of the series' stale-free samples, found by positions that
//! only move forward; no window is copied. Every function computes a window with the same code
//! as the step-wise evaluation (its family's `of_series`), so values and annotations are the
//! same; over a series of floats only, the functions of values (`sum_over_time`, `deriv`, ...)
//! read slices of its values, taken once per series. Two shortcuts take constant time per
//! step: `rate`, `increase` and `delta` over a series of floats without start timestamps
//! (counter resets are found once per series), and the functions that read only a window's
//! ends (`count_over_time`, `last_over_time`, `irate`, ..., whose `of_series` already takes
//! constant time on a slice). A subquery argument is evaluated once over all windows (see
//! `Evaluator::ranged_subquery`) and its series then read like a selector's; an
//! `anchored`/`smoothed` range is not handled here.

use shared::labels::Labels;

use super::counter::{self, Count};
use super::over_time::{self, OverTime, float_values};
use super::rate::{Change, FloatSeries};
use super::regression::Trend;
use super::{Window, absent, floats, irate, scalar_values};
use crate::promql::EngineError;
use crate::promql::eval::{Evaluator, MatrixWindows, StepWindow, Steps, SubqueryPlan};
use crate::promql::parser::{Call, Expr, MatrixSelector};
use crate::promql::storage::{Point, SampleValue};
use crate::promql::value::{Matrix, RangeSeries};

/// The call `c` of a range function at every step of `steps`, when its range argument is a
/// plain range selector or a subquery whose windows can share one inner evaluation; `None`
/// for any other call or argument.
pub(super) fn evaluate(
    ev: &Evaluator,
    c: &Call,
    steps: Steps,
) -> Result<Option<Matrix>, EngineError> {
    let name = c.function.name;
    let Some(arg) = range_argument(c, usize::from(name == "quantile_over_time")) else {
        return Ok(None);
    };
    // Whether a subquery's windows can share one inner evaluation is known before anything is
    // read: no series may be read (and perhaps streamed) before falling back to steps.
    let plan = match arg {
        Expr::Subquery(sq) => match ev.subquery_plan(sq, steps)? {
            Some(plan) => Some(plan),
            None => return Ok(None),
        },
        _ => None,
    };
    // The parameters first, as the step-wise evaluation reads them before the range.
    let func = match name {
        "quantile_over_time" => match scalar_values(ev, c, 0, steps)? {
            Some(q) => Func::Quantile(q),
            None => return Ok(None),
        },
        "deriv" | "predict_linear" | "double_exponential_smoothing" => {
            match trends(ev, c, steps)? {
                Some(trends) => Func::Trend(trends),
                None => return Ok(None),
            }
        }
        "rate" | "increase" | "delta" => Func::Change(Change::new(c)),
        "irate" | "idelta" => Func::Instant {
            is_rate: name == "irate",
        },
        "changes" => Func::Count(Count::Changes),
        "resets" => Func::Count(Count::Resets),
        "absent_over_time" => Func::Absent,
        _ => match over_time::lookup(name) {
            Some(f) => Func::OverTime(OverTime::new(c, f)),
            None => return Ok(None),
        },
    };
    let Some(source) = Source::new(ev, arg, plan, steps)? else {
        return Ok(None);
    };
    let windows = &source.windows;
    let result = match func {
        Func::OverTime(over_time) => {
            let drop_name = |d| over_time.drops_name(d);
            source.slide(ev, drop_name, |labels, points, values| {
                let floats = over_time.reads_values().then(|| float_values(points));
                if let Some(floats) = floats.flatten() {
                    windows_in_parallel(points, &floats, windows, values, |window, _| {
                        over_time.of_values(window)
                    });
                    return Ok(());
                }
                each_window(points, points, windows, values, |window, _| {
                    over_time.of_series(ev, labels, window)
                })
            })
        }
        Func::Quantile(q) => source.slide(
            ev,
            |_| true,
            |labels, points, values| {
                each_window(points, points, windows, values, |window, w| {
                    let q = q.get(w.index).copied().unwrap_or(f64::NAN);
                    Ok(over_time::quantile_of_series(ev, c, q, labels, window))
                })
            },
        ),
        Func::Change(change) => change_over(ev, c, &change, &source),
        Func::Instant { is_rate } => source.slide(
            ev,
            |_| true,
            |labels, points, values| {
                each_window(points, points, windows, values, |window, _| {
                    Ok(irate::of_series(ev, c, is_rate, labels, window))
                })
            },
        ),
        Func::Count(count) => source.slide(
            ev,
            |_| true,
            |labels, points, values| {
                each_window(points, points, windows, values, |window, _| {
                    let counted = counter::count_in(ev, c, count, labels, window);
                    Ok(Some(SampleValue::Float(counted)))
                })
            },
        ),
        Func::Trend(trends) => source.slide(
            ev,
            |_| true,
            |labels, points, values| {
                let trend_at =
                    |w: &StepWindow| trends.get(w.index).copied().unwrap_or(Trend::Deriv);
                if let Some(floats) = floats(points) {
                    windows_in_parallel(points, &floats, windows, values, |window, w| {
                        trend_at(w).of_floats(window)
                    });
                    return Ok(());
                }
                each_window(points, points, windows, values, |window, w| {
                    Ok(trend_at(w).of_series(ev, c, labels, window))
                })
            },
        ),
        Func::Absent => absent_over_time(ev, c, &source, steps),
    };
    result.map(Some)
}

/// A range function with its parameters at every step.
enum Func {
    OverTime(OverTime),
    Quantile(Vec<f64>),
    Change(Change),
    Instant { is_rate: bool },
    Count(Count),
    Trend(Vec<Trend>),
    Absent,
}

/// The range argument `i` of `c` (in parentheses or not) when it is a range selector without
/// extension or a subquery.
fn range_argument(c: &Call, i: usize) -> Option<&Expr> {
    let mut e = c.args.get(i)?;
    while let Expr::Paren(p) = e {
        e = &p.expr;
    }
    match e {
        Expr::MatrixSelector(m) if m.selector.extension.is_none() => Some(e),
        Expr::Subquery(_) => Some(e),
        _ => None,
    }
}

/// Where the windows of a range function take their samples from, with the windows.
struct Source<'e> {
    series: Series<'e>,
    windows: MatrixWindows,
}

enum Series<'e> {
    /// A range selector's series, read as fetched (without stale markers).
    Selector(&'e MatrixSelector),
    /// A subquery's inner series, evaluated once for all windows.
    Subquery(Matrix),
}

impl<'e> Source<'e> {
    /// The source of the range argument `e` (see [`range_argument`]), a subquery with its
    /// `plan`; `None` for anything else.
    fn new(
        ev: &Evaluator,
        e: &'e Expr,
        plan: Option<SubqueryPlan>,
        steps: Steps,
    ) -> Result<Option<Self>, EngineError> {
        Ok(match (e, plan) {
            (Expr::MatrixSelector(m), _) => Some(Source {
                series: Series::Selector(m),
                windows: ev.matrix_windows(m, steps)?,
            }),
            (Expr::Subquery(sq), Some(plan)) => {
                let (inner, windows) = ev.ranged_subquery(sq, plan)?;
                Some(Source {
                    series: Series::Subquery(inner),
                    windows,
                })
            }
            _ => None,
        })
    }

    /// Calls `f` with each series' labels, samples and name-dropping flag, in label order.
    fn each(
        &self,
        ev: &Evaluator,
        mut f: impl FnMut(&Labels, &[Point], bool) -> Result<(), EngineError>,
    ) -> Result<(), EngineError> {
        match &self.series {
            Series::Selector(m) => {
                ev.each_matrix_series(m, |labels, points| f(labels, points, false))
            }
            Series::Subquery(inner) => inner
                .iter()
                .try_for_each(|s| f(&s.labels, &s.points, s.drop_name)),
        }
    }

    /// Whether series may have start timestamps (only a range selector's can).
    fn may_have_starts(&self, ev: &Evaluator) -> bool {
        match &self.series {
            Series::Selector(m) => ev.start_timestamps(&m.selector).is_some(),
            Series::Subquery(_) => false,
        }
    }

    /// Each series turned by `each` into its values at the steps (pushed in step order);
    /// series without any are left out. A result drops the metric name as `drop_name` says
    /// from its series' flag.
    fn slide(
        &self,
        ev: &Evaluator,
        drop_name: impl Fn(bool) -> bool,
        mut each: impl FnMut(&Labels, &[Point], &mut Vec<Point>) -> Result<(), EngineError>,
    ) -> Result<Matrix, EngineError> {
        let mut out = Matrix::new();
        self.each(ev, |labels, points, dropped| {
            let mut values = Vec::new();
            each(labels, points, &mut values)?;
            if !values.is_empty() {
                out.push(RangeSeries {
                    labels: labels.clone(),
                    points: values,
                    drop_name: drop_name(dropped),
                });
            }
            Ok(())
        })?;
        Ok(out)
    }
}

/// The trend function `c` with its parameters at every step, checked in step order as the
/// step-wise evaluation checks them.
fn trends(ev: &Evaluator, c: &Call, steps: Steps) -> Result<Option<Vec<Trend>>, EngineError> {
    Ok(Some(match c.function.name {
        "predict_linear" => {
            let Some(seconds) = scalar_values(ev, c, 1, steps)? else {
                return Ok(None);
            };
            steps
                .times()
                .zip(seconds)
                .map(|(t_ms, seconds)| Trend::PredictLinear { seconds, t_ms })
                .collect()
        }
        "double_exponential_smoothing" => {
            let Some(sf) = scalar_values(ev, c, 1, steps)? else {
                return Ok(None);
            };
            let Some(tf) = scalar_values(ev, c, 2, steps)? else {
                return Ok(None);
            };
            sf.into_iter()
                .zip(tf)
                .map(|(sf, tf)| Trend::smoothing(sf, tf))
                .collect::<Result<_, _>>()?
        }
        _ => vec![Trend::Deriv; steps.len()],
    }))
}

/// Pushes onto `values` what `f` makes of each step's non-empty window over the series'
/// samples `points`, given as the slice of `items` (one per sample) it covers.
fn each_window<T>(
    points: &[Point],
    items: &[T],
    windows: &MatrixWindows,
    values: &mut Vec<Point>,
    mut f: impl FnMut(&[T], &StepWindow) -> Result<Option<SampleValue>, EngineError>,
) -> Result<(), EngineError> {
    for w in windows.over(points) {
        let window = items.get(w.samples.clone()).unwrap_or_default();
        if window.is_empty() {
            continue;
        }
        if let Some(value) = f(window, &w)? {
            values.push(Point {
                t_ms: w.t_ms,
                value,
            });
        }
    }
    Ok(())
}

/// Samples a series' windows must hold in all before [`windows_in_parallel`] splits them
/// across threads: below it, starting a thread costs more than it saves.
const PARALLEL_SAMPLES: usize = 32_768;

/// Like [`each_window`] for a pure function of each window (no annotations, no errors), which
/// windows are independent of one another: when the series' windows hold at least
/// [`PARALLEL_SAMPLES`] samples in all (long ranges over many steps: `deriv(x[1h])`,
/// `avg_over_time(x[1d])`), they are split into consecutive runs evaluated on as many threads
/// as the machine has cores (at most four). Every window gets the same arithmetic either way,
/// and the points keep step order, so the result is the same bit for bit.
fn windows_in_parallel<T: Sync>(
    points: &[Point],
    items: &[T],
    windows: &MatrixWindows,
    values: &mut Vec<Point>,
    f: impl Fn(&[T], &StepWindow) -> Option<SampleValue> + Sync,
) {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get().min(4));
    windows_split(
        points,
        items,
        windows,
        values,
        &f,
        threads,
        PARALLEL_SAMPLES,
    );
}

/// [`windows_in_parallel`] with its thread count and threshold as parameters (for tests).
fn windows_split<T: Sync>(
    points: &[Point],
    items: &[T],
    windows: &MatrixWindows,
    values: &mut Vec<Point>,
    f: &(impl Fn(&[T], &StepWindow) -> Option<SampleValue> + Sync),
    threads: usize,
    min_samples: usize,
) {
    let all: Vec<StepWindow> = windows.over(points).collect();
    let run = |part: &[StepWindow]| -> Vec<Point> {
        part.iter()
            .filter_map(|w| {
                let window = items.get(w.samples.clone()).unwrap_or_default();
                if window.is_empty() {
                    return None;
                }
                f(window, w).map(|value| Point {
                    t_ms: w.t_ms,
                    value,
                })
            })
            .collect()
    };
    let work: usize = all.iter().map(|w| w.samples.len()).sum();
    if threads < 2 || work < min_samples {
        values.extend(run(&all));
        return;
    }
    let per_thread = all.len().div_ceil(threads);
    let parts: Vec<Vec<Point>> = std::thread::scope(|scope| {
        let handles: Vec<_> = all
            .chunks(per_thread.max(1))
            .map(|part| scope.spawn(move || run(part)))
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
            })
            .collect()
    });
    values.extend(parts.into_iter().flatten());
}

/// The window a step's samples were taken from, as the functions read it.
fn window_of(windows: &MatrixWindows, w: &StepWindow) -> Window {
    Window {
        end_ms: w.end_ms,
        range_ms: windows.range_ms(),
        extension: None,
    }
}

/// `rate`, `increase` or `delta`: in constant time per step over series of floats without
/// start timestamps, else window by window.
fn change_over(
    ev: &Evaluator,
    c: &Call,
    change: &Change,
    source: &Source<'_>,
) -> Result<Matrix, EngineError> {
    let windows = &source.windows;
    let without_starts = !source.may_have_starts(ev);
    source.slide(
        ev,
        |_| true,
        |labels, points, values| {
            let floats = without_starts.then(|| FloatSeries::new(points)).flatten();
            let Some(series) = floats else {
                return each_window(points, points, windows, values, |window, w| {
                    let range = window_of(windows, w);
                    Ok(change.of_series(ev, c, labels, window, range))
                });
            };
            let mut noted = false;
            for w in windows.over(points) {
                if w.samples.is_empty() {
                    continue;
                }
                if !std::mem::replace(&mut noted, true) {
                    change.note_floats(ev, c, labels);
                }
                let range = window_of(windows, &w);
                if let Some(v) = change.of_floats(&series, w.samples, range) {
                    values.push(Point {
                        t_ms: w.t_ms,
                        value: SampleValue::Float(v),
                    });
                }
            }
            Ok(())
        },
    )
}

/// `absent_over_time`: one element at the steps where no series has a sample in its window.
fn absent_over_time(
    ev: &Evaluator,
    c: &Call,
    source: &Source<'_>,
    steps: Steps,
) -> Result<Matrix, EngineError> {
    let mut present = vec![false; steps.len()];
    source.each(ev, |_, points, _| {
        for w in source.windows.over(points) {
            if !w.samples.is_empty()
                && let Some(p) = present.get_mut(w.index)
            {
                *p = true;
            }
        }
        Ok(())
    })?;
    let points: Vec<Point> = steps
        .times()
        .zip(present)
        .filter(|(_, present)| !present)
        .map(|(t_ms, _)| Point {
            t_ms,
            value: SampleValue::Float(1.0),
        })
        .collect();
    if points.is_empty() {
        return Ok(Matrix::new());
    }
    Ok(vec![RangeSeries {
        labels: absent::labels_of(c)?,
        points,
        drop_name: false,
    }])
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Split over threads or not, the windows give the same points in the same order.
    #[test]
    fn windows_split_over_threads_give_the_same_points() {
        let points: Vec<Point> = (0..5_000)
            .map(|i| Point {
                t_ms: i * 15_000 + 7,
                value: SampleValue::Float(((i as f64) / 9.0).sin() * 40.0 + 50.0),
            })
            .collect();
        let floats: Vec<(i64, f64)> = points
            .iter()
            .map(|p| match p.value {
                SampleValue::Float(v) => (p.t_ms, v),
                SampleValue::Histogram(_) => unreachable!("floats only"),
            })
            .collect();
        let steps = Steps::new(3_600_000, 70_000_000, 60_000).expect("valid steps");
        let ends: Vec<i64> = steps.times().collect();
        let windows = MatrixWindows::new(steps, ends, 900_000);
        let deriv = |window: &[(i64, f64)], _: &StepWindow| Trend::Deriv.of_floats(window);
        let mut alone = Vec::new();
        windows_split(&points, &floats, &windows, &mut alone, &deriv, 1, 0);
        assert_eq!(alone.len(), steps.len());
        for threads in [2, 3, 7] {
            let mut split = Vec::new();
            windows_split(&points, &floats, &windows, &mut split, &deriv, threads, 0);
            assert_eq!(split, alone, "{threads} threads");
        }
        // Below the threshold nothing is split, and the answer is the same too.
        let mut small = Vec::new();
        windows_split(
            &points,
            &floats,
            &windows,
            &mut small,
            &deriv,
            4,
            usize::MAX,
        );
        assert_eq!(small, alone);
    }
}
