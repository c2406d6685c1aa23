//! `rate`, `increase` and `delta`: the change over a range, extrapolated towards its edges
//! (upstream functions.go `extrapolatedRate`).
//!
//! Extrapolation reaches at most half an average sample interval past the first and last
//! samples (or all the way to the edge when closer than 1.1 intervals), and for counters never
//! below zero. `rate` divides by the range in seconds.

use super::{Evaluator, Window, floats, range_arg};
use crate::promql::EngineError;
use crate::promql::eval::not_implemented;
use crate::promql::parser::Call;
use crate::promql::storage::SampleValue;
use crate::promql::value::{Element, Value};

/// Evaluates `rate`, `increase` or `delta` (`name`).
pub(super) fn apply(ev: &Evaluator, c: &Call, t_ms: i64, name: &str) -> Result<Value, EngineError> {
    let (matrix, window) = range_arg(ev, c, 0, t_ms)?;
    let is_counter = name != "delta";
    let is_rate = name == "rate";
    let mut out = Vec::with_capacity(matrix.len());
    for s in matrix {
        let Some(samples) = floats(&s.points) else {
            return Err(not_implemented(&format!("{name} over native histograms")));
        };
        if let Some(v) = extrapolated(&samples, window, is_counter, is_rate) {
            out.push(Element {
                labels: s.labels,
                value: SampleValue::Float(v),
                drop_name: true,
            });
        }
    }
    Ok(Value::Vector(out))
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
    let range_start = w.end_ms.saturating_sub(w.range_ms);
    let mut to_start = (first_t - range_start) as f64 / 1000.0;
    let mut to_end = (w.end_ms - last_t) as f64 / 1000.0;
    let sampled = (last_t - first_t) as f64 / 1000.0;
    let average_interval = sampled / (samples.len() - 1) as f64;
    let threshold = average_interval * 1.1;
    if to_start >= threshold {
        to_start = average_interval / 2.0;
    }
    if is_counter && result > 0.0 && first_v >= 0.0 {
        let to_zero = sampled * (first_v / result);
        if to_zero < to_start {
            to_start = to_zero;
        }
    }
    if to_end >= threshold {
        to_end = average_interval / 2.0;
    }
    let mut factor = (sampled + to_start + to_end) / sampled;
    if is_rate {
        factor /= w.range_ms as f64 / 1000.0;
    }
    Some(result * factor)
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
        let Some(samples) = floats(&s.points) else {
            return Err(not_implemented("irate/idelta over native histograms"));
        };
        let [.., (prev_t, prev), (last_t, last)] = samples[..] else {
            continue;
        };
        let mut value = if is_rate && last < prev {
            last
        } else {
            last - prev
        };
        if is_rate {
            let interval = (last_t - prev_t) as f64 / 1000.0;
            if interval == 0.0 {
                continue;
            }
            value /= interval;
        }
        out.push(Element {
            labels: s.labels,
            value: SampleValue::Float(value),
            drop_name: true,
        });
    }
    Ok(Value::Vector(out))
}
