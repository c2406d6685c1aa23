//! Trend functions over a range: `deriv` and `predict_linear` (least-squares linear
//! regression, upstream functions.go `linearRegression` with Kahan-compensated sums) and
//! `double_exponential_smoothing` (upstream `funcDoubleExponentialSmoothing`).

use super::{Evaluator, range_arg, scalar_arg};
use crate::promql::EngineError;
use crate::promql::aggregate::kahan_sum_inc;
use crate::promql::annotations::Note;
use crate::promql::eval::unwrapped_span;
use crate::promql::parser::Call;
use crate::promql::storage::{Point, SampleValue};
use crate::promql::value::{Element, Value};
use shared::labels::Labels;

/// Slope (per second) and intercept at `intercept_ms` of the samples' regression line.
fn linear_regression(samples: &[(i64, f64)], intercept_ms: i64) -> (f64, f64) {
    let init_y = samples.first().map_or(f64::NAN, |s| s.1);
    let const_y = samples.iter().all(|s| s.1 == init_y);
    if const_y {
        return if init_y.is_infinite() {
            (f64::NAN, f64::NAN)
        } else {
            (0.0, init_y)
        };
    }
    let n = samples.len() as f64;
    let mut sums = [(0.0, 0.0); 4]; // x, y, xy, x²
    for &(t, y) in samples {
        let x = (t - intercept_ms) as f64 / 1000.0;
        for (sum, v) in sums.iter_mut().zip([x, y, x * y, x * x]) {
            *sum = kahan_sum_inc(v, sum.0, sum.1);
        }
    }
    let [sx, sy, sxy, sx2] = sums.map(|(s, c)| s + c);
    let cov_xy = sxy - sx * sy / n;
    let var_x = sx2 - sx * sx / n;
    let slope = cov_xy / var_x;
    (slope, sy / n - slope * sx / n)
}

/// A trend function with its parameters at one evaluation time.
#[derive(Debug, Clone, Copy)]
pub(super) enum Trend {
    /// `deriv`.
    Deriv,
    /// `predict_linear` `seconds` after the evaluation time `t_ms`.
    PredictLinear {
        /// How far ahead, in seconds.
        seconds: f64,
        /// The evaluation time.
        t_ms: i64,
    },
    /// `double_exponential_smoothing` with both factors strictly between 0 and 1.
    Smoothing {
        /// The smoothing factor.
        sf: f64,
        /// The trend factor.
        tf: f64,
    },
}

impl Trend {
    /// `double_exponential_smoothing` with factors `sf` and `tf`, which must lie strictly
    /// between 0 and 1.
    pub(super) fn smoothing(sf: f64, tf: f64) -> Result<Self, EngineError> {
        if !(sf > 0.0 && sf < 1.0) {
            return Err(EngineError::Runtime(format!(
                "invalid smoothing factor. Expected: 0 < sf < 1, got: {sf:.6}"
            )));
        }
        if !(tf > 0.0 && tf < 1.0) {
            return Err(EngineError::Runtime(format!(
                "invalid trend factor. Expected: 0 < tf < 1, got: {tf:.6}"
            )));
        }
        Ok(Trend::Smoothing { sf, tf })
    }

    /// The value of at least two float samples (timestamp, value).
    fn of(self, s: &[(i64, f64)]) -> f64 {
        match self {
            Trend::Deriv => linear_regression(s, s[0].0).0,
            Trend::PredictLinear { seconds, t_ms } => {
                let (slope, intercept) = linear_regression(s, t_ms);
                slope * seconds + intercept
            }
            Trend::Smoothing { sf, tf } => {
                let (mut s0, mut s1, mut trend) = (0.0, s[0].1, s[1].1 - s[0].1);
                for (i, &(_, v)) in s.iter().enumerate().skip(1) {
                    if i > 1 {
                        trend = tf * (s1 - s0) + (1.0 - tf) * trend;
                    }
                    let next = sf * v + (1.0 - sf) * (s1 + trend);
                    (s0, s1) = (s1, next);
                }
                s1
            }
        }
    }

    /// The value of the floats of one series' samples `points` in a window, if there are at
    /// least two. Histograms are skipped, with an info when the series also has floats
    /// (upstream `funcDeriv` and neighbours: only once a float result, or a single float,
    /// shows the mix).
    pub(super) fn of_series(
        self,
        ev: &Evaluator,
        c: &Call,
        labels: &Labels,
        points: &[Point],
    ) -> Option<SampleValue> {
        let samples: Vec<(i64, f64)> = points
            .iter()
            .filter_map(|p| match p.value {
                SampleValue::Float(v) => Some((p.t_ms, v)),
                SampleValue::Histogram(_) => None,
            })
            .collect();
        if samples.len() < points.len() && !samples.is_empty() {
            let metric = labels.get("__name__").unwrap_or_default().to_owned();
            let span = c.args.first().map_or(c.span, unwrapped_span);
            ev.note(span, &Note::HistogramIgnoredInMixedRange(metric));
        }
        self.of_floats(&samples)
    }

    /// The value of the float samples (timestamp, value) of a window without histograms, the
    /// same as [`Trend::of_series`] gives for them; `None` with fewer than two.
    pub(super) fn of_floats(self, samples: &[(i64, f64)]) -> Option<SampleValue> {
        (samples.len() >= 2).then(|| SampleValue::Float(self.of(samples)))
    }
}

/// Applies `trend` to every series of the call's range argument at `t_ms`.
fn per_series(ev: &Evaluator, c: &Call, t_ms: i64, trend: Trend) -> Result<Value, EngineError> {
    let (matrix, _) = range_arg(ev, c, 0, t_ms)?;
    let mut out = Vec::with_capacity(matrix.len());
    for s in matrix {
        if let Some(value) = trend.of_series(ev, c, &s.labels, &s.points) {
            out.push(Element {
                labels: s.labels,
                value,
                drop_name: true,
            });
        }
    }
    Ok(Value::Vector(out))
}

/// `deriv(m)`: the regression slope per second.
pub(super) fn deriv(ev: &Evaluator, c: &Call, t_ms: i64) -> Result<Value, EngineError> {
    per_series(ev, c, t_ms, Trend::Deriv)
}

/// `predict_linear(m, seconds)`: the regression line's value `seconds` after the evaluation time.
pub(super) fn predict_linear(ev: &Evaluator, c: &Call, t_ms: i64) -> Result<Value, EngineError> {
    let seconds = scalar_arg(ev, c, 1, t_ms)?;
    per_series(ev, c, t_ms, Trend::PredictLinear { seconds, t_ms })
}

/// `double_exponential_smoothing(m, smoothing_factor, trend_factor)`: Holt's linear method.
pub(super) fn double_exponential_smoothing(
    ev: &Evaluator,
    c: &Call,
    t_ms: i64,
) -> Result<Value, EngineError> {
    let (sf, tf) = (scalar_arg(ev, c, 1, t_ms)?, scalar_arg(ev, c, 2, t_ms)?);
    per_series(ev, c, t_ms, Trend::smoothing(sf, tf)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regression_of_a_line_recovers_its_slope_and_intercept() {
        let samples: Vec<(i64, f64)> = (0..10)
            .map(|i| (i * 15_000 + 7, 2.0 + 0.5 * (i * 15) as f64))
            .collect();
        let (slope, intercept) = linear_regression(&samples, 7);
        assert!((slope - 0.5).abs() < 1e-12, "{slope}");
        assert!((intercept - 2.0).abs() < 1e-12, "{intercept}");
        let constant = [(0, 3.0), (1_000, 3.0)];
        assert_eq!(linear_regression(&constant, 0), (0.0, 3.0));
    }
}
