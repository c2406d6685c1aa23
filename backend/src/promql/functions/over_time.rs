//! `*_over_time`: one value per series from the samples of a range (upstream functions.go
//! `funcSumOverTime` and neighbours). `last_over_time` and `first_over_time` keep the metric
//! name; the others drop it.

use super::{Evaluator, floats, range_arg};
use crate::promql::EngineError;
use crate::promql::aggregate::{Mean, kahan_sum_inc};
use crate::promql::eval::not_implemented;
use crate::promql::parser::Call;
use crate::promql::storage::{Point, SampleValue};
use crate::promql::value::{Element, Value};

/// What a function makes of one series' samples (never empty).
pub(super) type OverTimeFn = fn(&[Point]) -> Option<SampleValue>;

/// The implementation of `name`, if it is an `*_over_time` function.
pub(super) fn lookup(name: &str) -> Option<OverTimeFn> {
    Some(match name {
        "count_over_time" => |p| Some(SampleValue::Float(p.len() as f64)),
        "present_over_time" => |_| Some(SampleValue::Float(1.0)),
        "last_over_time" => |p| p.last().map(|p| p.value.clone()),
        "first_over_time" => |p| p.first().map(|p| p.value.clone()),
        "sum_over_time" => |p| float_fn(p, sum),
        "avg_over_time" => |p| float_fn(p, avg),
        "min_over_time" => |p| float_fn(p, |v| extremum(v, |a, b| a < b)),
        "max_over_time" => |p| float_fn(p, |v| extremum(v, |a, b| a > b)),
        "stdvar_over_time" => |p| float_fn(p, variance),
        "stddev_over_time" => |p| float_fn(p, |v| variance(v).sqrt()),
        _ => return None,
    })
}

/// Applies `f` to every series of the call's range argument.
pub(super) fn apply(
    ev: &Evaluator,
    c: &Call,
    t_ms: i64,
    name: &str,
    f: OverTimeFn,
) -> Result<Value, EngineError> {
    let (matrix, _) = range_arg(ev, c, 0, t_ms)?;
    let keeps_name = matches!(name, "last_over_time" | "first_over_time");
    let mut out = Vec::with_capacity(matrix.len());
    for s in matrix {
        let value = match f(&s.points) {
            Some(v) => v,
            None if floats(&s.points).is_none() => {
                return Err(not_implemented(&format!("{name} over native histograms")));
            }
            None => continue,
        };
        out.push(Element {
            labels: s.labels,
            value,
            drop_name: s.drop_name || !keeps_name,
        });
    }
    Ok(Value::Vector(out))
}

fn float_fn(points: &[Point], f: fn(&[f64]) -> f64) -> Option<SampleValue> {
    let values: Vec<f64> = floats(points)?.into_iter().map(|(_, v)| v).collect();
    (!values.is_empty()).then(|| SampleValue::Float(f(&values)))
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
