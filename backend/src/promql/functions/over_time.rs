//! `*_over_time`: one value per series from the samples of a range (upstream functions.go
//! `funcSumOverTime` and neighbours). `last_over_time` and `first_over_time` keep the metric
//! name; the others drop it.

use super::{Evaluator, floats, range_arg, scalar_arg};
use crate::promql::EngineError;
use shared::histogram::FloatHistogram;

use crate::promql::aggregate::{Mean, kahan_sum_inc};
use crate::promql::annotations::Note;
use crate::promql::eval::{not_implemented, unwrapped_span};
use crate::promql::histogram::{self, IncompatibleSchemas, Operation};
use crate::promql::parser::{Call, Span};
use crate::promql::storage::{Point, SampleValue};
use crate::promql::value::{Element, Value};
use shared::labels::Labels;

/// What a function makes of one series' samples (never empty).
#[derive(Debug, Clone, Copy)]
pub(super) enum OverTimeFn {
    /// A function of the samples.
    Points(fn(&[Point]) -> Option<SampleValue>),
    /// A function of float values only: nothing for samples with a histogram.
    Values(fn(&[f64]) -> f64),
}

impl OverTimeFn {
    fn apply(self, points: &[Point]) -> Option<SampleValue> {
        match self {
            OverTimeFn::Points(f) => f(points),
            OverTimeFn::Values(f) => float_fn(points, f),
        }
    }
}

/// The implementation of `name`, if it is an `*_over_time` function.
pub(super) fn lookup(name: &str) -> Option<OverTimeFn> {
    use OverTimeFn::{Points, Values};
    Some(match name {
        "count_over_time" => Points(|p| Some(SampleValue::Float(p.len() as f64))),
        "present_over_time" => Points(|_| Some(SampleValue::Float(1.0))),
        "last_over_time" => Points(|p| p.last().map(|p| p.value.clone())),
        "first_over_time" => Points(|p| p.first().map(|p| p.value.clone())),
        "sum_over_time" => Values(sum),
        "avg_over_time" => Values(avg),
        "min_over_time" => Values(|v| extremum(v, |a, b| a < b)),
        "max_over_time" => Values(|v| extremum(v, |a, b| a > b)),
        "stdvar_over_time" => Values(variance),
        "mad_over_time" => Values(median_absolute_deviation),
        "ts_of_min_over_time" => Points(|p| ts_of_extremum(p, |a, b| a < b)),
        "ts_of_max_over_time" => Points(|p| ts_of_extremum(p, |a, b| a > b)),
        "ts_of_first_over_time" => Points(|p| {
            p.first()
                .map(|p| SampleValue::Float(p.t_ms as f64 / 1000.0))
        }),
        "ts_of_last_over_time" => {
            Points(|p| p.last().map(|p| SampleValue::Float(p.t_ms as f64 / 1000.0)))
        }
        "stddev_over_time" => Values(|v| variance(v).sqrt()),
        _ => return None,
    })
}

/// Applies `f` to every series of the call's range argument.
pub(super) fn apply(
    ev: &Evaluator,
    c: &Call,
    t_ms: i64,
    f: OverTimeFn,
) -> Result<Value, EngineError> {
    let (matrix, _) = range_arg(ev, c, 0, t_ms)?;
    let over_time = OverTime::new(c, f);
    let mut out = Vec::with_capacity(matrix.len());
    for s in matrix {
        if let Some(value) = over_time.of_series(ev, &s.labels, &s.points)? {
            out.push(Element {
                labels: s.labels,
                value,
                drop_name: over_time.drops_name(s.drop_name),
            });
        }
    }
    Ok(Value::Vector(out))
}

/// An `*_over_time` function as one call computes it for each series, whatever the window
/// (the step-wise evaluation and the sliding windows of a range evaluation share it).
pub(super) struct OverTime {
    name: &'static str,
    f: OverTimeFn,
    /// `last_over_time` and `first_over_time` keep the metric name.
    keeps_name: bool,
    /// The function reads floats only, ignoring histograms with an info.
    floats_only: bool,
    /// `sum_over_time` and `avg_over_time`, which also sum histograms.
    summing: bool,
    /// Where annotations point: the range argument.
    span: Span,
}

impl OverTime {
    /// The computation of the call `c` of an `*_over_time` function implemented by `f`.
    pub(super) fn new(c: &Call, f: OverTimeFn) -> Self {
        let name = c.function.name;
        Self {
            name,
            f,
            keeps_name: matches!(name, "last_over_time" | "first_over_time"),
            floats_only: matches!(
                name,
                "min_over_time"
                    | "max_over_time"
                    | "stdvar_over_time"
                    | "stddev_over_time"
                    | "mad_over_time"
                    | "ts_of_min_over_time"
                    | "ts_of_max_over_time"
            ),
            summing: matches!(name, "sum_over_time" | "avg_over_time"),
            span: c.args.first().map_or(c.span, unwrapped_span),
        }
    }

    /// The value of the float values `values` of a window without histograms (not empty), the
    /// same as [`OverTime::of_series`] gives for them without copying them, for the functions
    /// that read values only; `None` for the others.
    pub(super) fn of_values(&self, values: &[f64]) -> Option<SampleValue> {
        match self.f {
            OverTimeFn::Values(f) => (!values.is_empty()).then(|| SampleValue::Float(f(values))),
            OverTimeFn::Points(_) => None,
        }
    }

    /// Whether [`OverTime::of_values`] computes this function.
    pub(super) fn reads_values(&self) -> bool {
        matches!(self.f, OverTimeFn::Values(_))
    }

    /// Whether a result from a series flagged `drop_name` drops the metric name.
    pub(super) fn drops_name(&self, drop_name: bool) -> bool {
        drop_name || !self.keeps_name
    }

    /// The value of one series' samples `points` in a window (not empty, without stale
    /// markers), with upstream's annotations about the series. Functions that read only the
    /// window's ends (`count`, `last`, ...) take constant time.
    pub(super) fn of_series(
        &self,
        ev: &Evaluator,
        labels: &Labels,
        points: &[Point],
    ) -> Result<Option<SampleValue>, EngineError> {
        let metric = || labels.get("__name__").unwrap_or_default().to_owned();
        let histograms = || {
            points
                .iter()
                .filter(|p| matches!(p.value, SampleValue::Histogram(_)))
                .count()
        };
        if self.floats_only {
            let histograms = histograms();
            if histograms > 0 {
                // Upstream computes on the floats alone, noting the histograms it skipped.
                let floats: Vec<Point> = points
                    .iter()
                    .filter(|p| matches!(p.value, SampleValue::Float(_)))
                    .cloned()
                    .collect();
                if floats.is_empty() {
                    return Ok(None);
                }
                ev.note(self.span, &Note::HistogramIgnoredInMixedRange(metric()));
                return Ok(self.f.apply(&floats));
            }
        }
        if self.summing {
            let histograms = histograms();
            if histograms > 0 && histograms < points.len() {
                ev.note(self.span, &Note::MixedFloatsHistograms(metric()));
                return Ok(None);
            }
        }
        match self.f.apply(points) {
            Some(v) => Ok(Some(v)),
            None if histograms() == 0 => Ok(None),
            None if self.summing => {
                let mean = self.name == "avg_over_time";
                Ok(histogram_sum(ev, self.span, labels, points, mean)
                    .map(|h| SampleValue::Histogram(Box::new(h))))
            }
            None => Err(not_implemented(&format!(
                "{} over native histograms",
                self.name
            ))),
        }
    }
}

/// `f` of the values of `points`; `None` when empty or when any is a histogram.
fn float_fn(points: &[Point], f: fn(&[f64]) -> f64) -> Option<SampleValue> {
    let values = float_values(points)?;
    (!values.is_empty()).then(|| SampleValue::Float(f(&values)))
}

/// The values of `points`, or `None` when any is a histogram.
pub(super) fn float_values(points: &[Point]) -> Option<Vec<f64>> {
    points
        .iter()
        .map(|p| match p.value {
            SampleValue::Float(v) => Some(v),
            SampleValue::Histogram(_) => None,
        })
        .collect()
}

fn sum(values: &[f64]) -> f64 {
    let (s, c) = values
        .iter()
        .fold((0.0, 0.0), |(s, c), v| kahan_sum_inc(*v, s, c));
    s + c
}

fn avg(values: &[f64]) -> f64 {
    let mut mean = Mean::default();
    values.iter().for_each(|v| mean.add(*v));
    mean.value()
}

/// The first value `better` prefers over all others; a NaN is replaced by any number.
fn extremum(values: &[f64], better: fn(f64, f64) -> bool) -> f64 {
    values.iter().skip(1).fold(values[0], |acc, &v| {
        if better(v, acc) || acc.is_nan() {
            v
        } else {
            acc
        }
    })
}

/// Population variance with a Kahan-compensated running mean (upstream `varianceOverTime`).
fn variance(values: &[f64]) -> f64 {
    let (mut count, mut mean, mut c_mean, mut aux, mut c_aux) = (0.0, 0.0, 0.0, 0.0, 0.0);
    for &v in values {
        count += 1.0;
        let delta = v - (mean + c_mean);
        (mean, c_mean) = kahan_sum_inc(delta / count, mean, c_mean);
        (aux, c_aux) = kahan_sum_inc(delta * (v - (mean + c_mean)), aux, c_aux);
    }
    (aux + c_aux) / count
}

/// The `q` quantile by linear interpolation between closest ranks (upstream `quantile`).
pub(crate) fn quantile_of(q: f64, values: &mut [f64]) -> f64 {
    if values.is_empty() || q.is_nan() {
        return f64::NAN;
    }
    if q < 0.0 {
        return f64::NEG_INFINITY;
    }
    if q > 1.0 {
        return f64::INFINITY;
    }
    // Go's sort.Float64s puts NaNs first.
    values.sort_by(|a, b| match (a.is_nan(), b.is_nan()) {
        (true, true) => std::cmp::Ordering::Equal,
        (true, false) => std::cmp::Ordering::Less,
        (false, true) => std::cmp::Ordering::Greater,
        _ => a.total_cmp(b),
    });
    let n = values.len() as f64;
    let rank = q * (n - 1.0);
    let lower = rank.floor().max(0.0);
    let upper = (lower + 1.0).min(n - 1.0);
    let weight = rank - rank.floor();
    values[lower as usize] * (1.0 - weight) + values[upper as usize] * weight
}

/// `quantile_over_time(q, m)`.
pub(super) fn quantile(ev: &Evaluator, c: &Call, t_ms: i64) -> Result<Value, EngineError> {
    let q = scalar_arg(ev, c, 0, t_ms)?;
    let (matrix, _) = range_arg(ev, c, 1, t_ms)?;
    let mut out = Vec::with_capacity(matrix.len());
    for s in matrix {
        if let Some(value) = quantile_of_series(ev, c, q, &s.labels, &s.points) {
            out.push(Element {
                labels: s.labels,
                value,
                drop_name: true,
            });
        }
    }
    Ok(Value::Vector(out))
}

/// `quantile_over_time` of one series' samples `points` in a window, with upstream's
/// annotations; `None` without floats.
pub(super) fn quantile_of_series(
    ev: &Evaluator,
    c: &Call,
    q: f64,
    labels: &Labels,
    points: &[Point],
) -> Option<SampleValue> {
    let mut values: Vec<f64> = points
        .iter()
        .filter_map(|p| match p.value {
            SampleValue::Float(f) => Some(f),
            SampleValue::Histogram(_) => None,
        })
        .collect();
    if values.is_empty() {
        return None;
    }
    // Upstream checks the parameter only for series with floats, and both annotations point
    // at it.
    let q_span = c.args.first().map_or(c.span, unwrapped_span);
    if q.is_nan() || !(0.0..=1.0).contains(&q) {
        ev.note(q_span, &Note::InvalidQuantile(q));
    }
    if values.len() < points.len() {
        let metric = labels.get("__name__").unwrap_or_default().to_owned();
        ev.note(q_span, &Note::HistogramIgnoredInMixedRange(metric));
    }
    Some(SampleValue::Float(quantile_of(q, &mut values)))
}

/// The median of the absolute deviations from the median (upstream `funcMadOverTime`).
fn median_absolute_deviation(values: &[f64]) -> f64 {
    if values.iter().any(|v| v.is_nan()) {
        return f64::NAN;
    }
    let median = quantile_of(0.5, &mut values.to_vec());
    let mut deviations: Vec<f64> = values.iter().map(|v| (v - median).abs()).collect();
    quantile_of(0.5, &mut deviations)
}

/// The (Kahan-compensated) sum or mean of a series of histograms, annotated at `span` as
/// upstream `funcSumOverTime`/`funcAvgOverTime` do: `None` with a warning when exponential and
/// custom buckets mix; a warning when counter resets collide, an info when custom bounds were
/// reconciled.
fn histogram_sum(
    ev: &Evaluator,
    span: Span,
    labels: &Labels,
    points: &[Point],
    mean: bool,
) -> Option<FloatHistogram> {
    let histograms: Vec<&FloatHistogram> = points
        .iter()
        .filter_map(|p| match &p.value {
            SampleValue::Histogram(h) => Some(h.as_ref()),
            SampleValue::Float(_) => None,
        })
        .collect();
    if histograms.is_empty() {
        return None;
    }
    if histogram::hints_collide(&histograms) {
        ev.note(span, &Note::CounterResetCollision(Operation::Aggregation));
    }
    match histogram::sum_or_mean(&histograms, mean) {
        Ok((sum, notes)) => {
            if notes.bounds_reconciled {
                ev.note(span, &Note::MismatchedCustomBuckets(Operation::Aggregation));
            }
            Some(sum)
        }
        Err(IncompatibleSchemas) => {
            let metric = labels.get("__name__").unwrap_or_default().to_owned();
            ev.note(span, &Note::MixedExponentialCustom(metric));
            None
        }
    }
}

/// The timestamp in seconds of the first sample `better` prefers over all others (NaN loses).
fn ts_of_extremum(points: &[Point], better: fn(f64, f64) -> bool) -> Option<SampleValue> {
    let samples = floats(points)?;
    let (first, rest) = samples.split_first()?;
    let best = rest.iter().fold(*first, |acc, &(t, v)| {
        if better(v, acc.1) || (acc.1.is_nan() && !v.is_nan()) {
            (t, v)
        } else {
            acc
        }
    });
    Some(SampleValue::Float(best.0 as f64 / 1000.0))
}
