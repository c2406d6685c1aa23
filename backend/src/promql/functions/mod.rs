//! The function table: a call's name to its implementation (upstream promql/functions.go
//! `FunctionCalls`). Signatures are checked by the parser; each family lives in its own file.
//! A function not listed here fails with "not implemented yet: function NAME".

mod absent;
mod counter;
mod elementwise;
mod histogram;
mod histogram_notes;
mod histogram_quantile;
mod info;
mod irate;
mod label;
mod math;
mod native_quantile;
mod over_time;
mod per_step;
mod quantile;
mod rate;
mod regression;
mod sliding;
mod sort;
mod time;

pub(crate) use info::selection as info_selection;
pub(crate) use over_time::quantile_of;

use super::eval::{Evaluator, Ranged, Steps, not_implemented};
use super::parser::ast::RangeExtension;
use super::parser::{Call, Expr};
use super::storage::{Point, SampleValue};
use super::value::{Matrix, Value, Vector};
use super::{EngineError, extended};
use shared::labels::Labels;

/// Evaluates `c` at `t_ms`.
pub(crate) fn call(ev: &Evaluator, c: &Call, t_ms: i64) -> Result<Value, EngineError> {
    let name = c.function.name;
    extended::check_call(c)?;
    if let Some(f) = math::lookup(name) {
        return math::apply(ev, c, t_ms, f);
    }
    if let Some(f) = over_time::lookup(name) {
        return over_time::apply(ev, c, t_ms, f);
    }
    match name {
        "rate" | "increase" | "delta" => rate::apply(ev, c, t_ms, name),
        "changes" => counter::apply(ev, c, t_ms, counter::Count::Changes),
        "resets" => counter::apply(ev, c, t_ms, counter::Count::Resets),
        "start_timestamp" => counter::start_timestamp(ev, c, t_ms),
        "irate" | "idelta" => irate::apply(ev, c, t_ms, name == "irate"),
        "label_replace" => label::replace(ev, c, t_ms),
        "label_join" => label::join(ev, c, t_ms),
        "absent" => absent::apply(ev, c, t_ms, false),
        "absent_over_time" => absent::apply(ev, c, t_ms, true),
        "round" => math::round(ev, c, t_ms),
        "clamp" | "clamp_min" | "clamp_max" => math::clamp(ev, c, t_ms, name),
        "quantile_over_time" => over_time::quantile(ev, c, t_ms),
        "time" => Ok(Value::Scalar(time::seconds(t_ms))),
        "step" | "range" | "start" | "end" => Ok(Value::Scalar(time::query(ev, name))),
        "min_of" | "max_of" => math::extremum(ev, c, t_ms, name == "max_of"),
        "minute" | "hour" | "day_of_month" | "day_of_week" | "day_of_year" | "days_in_month"
        | "month" | "year" => time::date(ev, c, t_ms, name),
        "vector" => time::vector(ev, c, t_ms),
        "timestamp" => time::timestamp(ev, c, t_ms),
        "histogram_count" | "histogram_sum" | "histogram_avg" | "histogram_stddev"
        | "histogram_stdvar" => histogram::field(ev, c, t_ms, name),
        "histogram_quantile" => histogram_quantile::quantile(ev, c, t_ms),
        "histogram_quantiles" => histogram_quantile::quantiles(ev, c, t_ms),
        "histogram_fraction" => histogram_quantile::fraction(ev, c, t_ms),
        "sort" | "sort_desc" => {
            sort::warn_in_range_query(ev, c);
            sort::by_value(ev, c, t_ms, name == "sort_desc")
        }
        "sort_by_label" | "sort_by_label_desc" => {
            sort::warn_in_range_query(ev, c);
            sort::by_label(ev, c, t_ms, name == "sort_by_label_desc")
        }
        "deriv" => regression::deriv(ev, c, t_ms),
        "predict_linear" => regression::predict_linear(ev, c, t_ms),
        "double_exponential_smoothing" => regression::double_exponential_smoothing(ev, c, t_ms),
        "info" => info::evaluate(ev, c, t_ms),
        "pi" => Ok(Value::Scalar(std::f64::consts::PI)),
        "scalar" => time::scalar(ev, c, t_ms),
        _ => Err(not_implemented(&format!("function {name}"))),
    }
}

/// Evaluates `c` at every step of `steps` at once, where the call has a range implementation;
/// `None` where it has not (the caller then evaluates it step by step).
pub(crate) fn ranged(
    ev: &Evaluator,
    c: &Call,
    steps: Steps,
) -> Result<Option<Ranged>, EngineError> {
    extended::check_call(c)?;
    if let Some(m) = sliding::evaluate(ev, c, steps)? {
        return Ok(Some(Ranged::Vector(m)));
    }
    if let Some(ranged) = per_step::evaluate(ev, c, steps)? {
        return Ok(Some(ranged));
    }
    elementwise::evaluate(ev, c, steps)
}

/// The scalar argument `i` at every step; `None` when it is not a scalar (the step-wise
/// evaluation then reports the error).
fn scalar_values(
    ev: &Evaluator,
    c: &Call,
    i: usize,
    steps: Steps,
) -> Result<Option<Vec<f64>>, EngineError> {
    Ok(match ev.eval_ranged(arg(c, i)?, steps)? {
        Ranged::Scalar(values) => Some(values),
        Ranged::Vector(_) => None,
    })
}

/// The argument `i` evaluated as an instant vector.
fn vector_arg(ev: &Evaluator, c: &Call, i: usize, t_ms: i64) -> Result<Vector, EngineError> {
    match ev.eval(arg(c, i)?, t_ms)? {
        Value::Vector(v) => Ok(v),
        other => Err(type_error(c, "instant vector", &other)),
    }
}

/// The argument `i` evaluated as a scalar.
fn scalar_arg(ev: &Evaluator, c: &Call, i: usize, t_ms: i64) -> Result<f64, EngineError> {
    match ev.eval(arg(c, i)?, t_ms)? {
        Value::Scalar(v) => Ok(v),
        other => Err(type_error(c, "scalar", &other)),
    }
}

/// The time window a range argument covers at `t_ms`: `(end_ms - range_ms, end_ms]`.
#[derive(Debug, Clone, Copy)]
struct Window {
    end_ms: i64,
    range_ms: i64,
    /// The range selector's `anchored`/`smoothed` modifier: the matrix then holds the raw
    /// samples around the window (see `extended::raw_matrix`).
    extension: Option<RangeExtension>,
}

/// The argument `i` evaluated as a range vector, with the window it covers.
fn range_arg(
    ev: &Evaluator,
    c: &Call,
    i: usize,
    t_ms: i64,
) -> Result<(Matrix, Window), EngineError> {
    let mut e = arg(c, i)?;
    while let Expr::Paren(p) = e {
        e = &p.expr;
    }
    let window = match e {
        Expr::MatrixSelector(m) => Window {
            end_ms: ev
                .base(m.selector.at, t_ms)
                .saturating_sub(ev.offset(&m.selector.offset)?),
            range_ms: ev.duration(&m.range)?,
            extension: m.selector.extension,
        },
        Expr::Subquery(s) => Window {
            end_ms: ev.base(s.at, t_ms).saturating_sub(ev.offset(&s.offset)?),
            range_ms: ev.duration(&s.range)?,
            extension: None,
        },
        _ => {
            return Err(EngineError::Runtime(format!(
                "{}: expected a range vector",
                c.function.name
            )));
        }
    };
    if let (Expr::MatrixSelector(m), Some(_)) = (e, window.extension) {
        return Ok((extended::raw_matrix(ev, m, t_ms)?, window));
    }
    match ev.eval(e, t_ms)? {
        Value::Matrix(m) => Ok((m, window)),
        other => Err(type_error(c, "range vector", &other)),
    }
}

/// The start timestamps of `points` of the series `labels` of the call's first argument, when
/// that is a range selector whose series have them (a subquery has none, as upstream); empty
/// otherwise.
fn range_starts(ev: &Evaluator, c: &Call, labels: &Labels, points: &[Point]) -> Vec<i64> {
    let mut e = c.args.first();
    while let Some(Expr::Paren(p)) = e {
        e = Some(&p.expr);
    }
    let Some(Expr::MatrixSelector(m)) = e else {
        return Vec::new();
    };
    ev.start_timestamps(&m.selector)
        .and_then(|s| s.of(labels, points.iter().map(|p| p.t_ms)))
        .unwrap_or_default()
}

fn arg(c: &Call, i: usize) -> Result<&Expr, EngineError> {
    c.args.get(i).ok_or_else(|| {
        EngineError::Runtime(format!("{}: missing argument {}", c.function.name, i + 1))
    })
}

fn type_error(c: &Call, expected: &str, got: &Value) -> EngineError {
    EngineError::Runtime(format!(
        "{}: expected {expected}, got {}",
        c.function.name,
        got.type_name()
    ))
}

/// The floats of a series' points, or `None` when any point is a histogram.
fn floats(points: &[super::storage::Point]) -> Option<Vec<(i64, f64)>> {
    let mut out = Vec::with_capacity(points.len());
    for p in points {
        match p.value {
            SampleValue::Float(f) => out.push((p.t_ms, f)),
            SampleValue::Histogram(_) => return None,
        }
    }
    Some(out)
}
