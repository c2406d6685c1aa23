//! Time and conversion functions: `time()`, `timestamp()`, `step()`, `range()`, `start()`,
//! `end()`, the calendar functions (`hour()`, `month()`, ...; UTC), `vector()` and `scalar()`
//! (upstream functions.go `funcTime`, `funcTimestamp`, `dateWrapper`, `funcVector`, `funcScalar`).

use chrono::{DateTime, Datelike, Timelike, Utc};
use shared::labels::Labels;

use super::{Evaluator, arg, scalar_arg, vector_arg};
use crate::promql::EngineError;
use crate::promql::parser::Call;
use crate::promql::parser::Expr;
use crate::promql::storage::SampleValue;
use crate::promql::value::{Element, Value};

/// A timestamp in ms as the float seconds PromQL shows.
pub(super) fn seconds(t_ms: i64) -> f64 {
    t_ms as f64 / 1000.0
}

/// `vector(s)`: one element without labels.
pub(super) fn vector(ev: &Evaluator, c: &Call, t_ms: i64) -> Result<Value, EngineError> {
    let v = scalar_arg(ev, c, 0, t_ms)?;
    Ok(Value::Vector(vec![Element {
        labels: Labels::empty(),
        value: SampleValue::Float(v),
        drop_name: false,
    }]))
}

/// `scalar(v)`: the value of the vector's only float element, NaN otherwise.
pub(super) fn scalar(ev: &Evaluator, c: &Call, t_ms: i64) -> Result<Value, EngineError> {
    let v = vector_arg(ev, c, 0, t_ms)?;
    let mut floats = v.iter().filter_map(|e| match e.value {
        SampleValue::Float(f) => Some(f),
        SampleValue::Histogram(_) => None,
    });
    Ok(Value::Scalar(match (floats.next(), floats.next()) {
        (Some(f), None) => f,
        _ => f64::NAN,
    }))
}

/// `timestamp(v)`: a selector's samples' own timestamps, or the evaluation time for any other
/// argument (the engine special-cases a selector argument upstream).
pub(super) fn timestamp(ev: &Evaluator, c: &Call, t_ms: i64) -> Result<Value, EngineError> {
    let mut e = arg(c, 0)?;
    while let Expr::Paren(p) = e {
        e = &p.expr;
    }
    let elements = if let Expr::VectorSelector(s) = e {
        ev.vector_selector_points(s, t_ms)?
            .into_iter()
            .map(|(labels, p)| Element {
                labels: labels.clone(),
                value: SampleValue::Float(seconds(p.t_ms)),
                drop_name: true,
            })
            .collect()
    } else {
        let mut v = vector_arg(ev, c, 0, t_ms)?;
        for e in &mut v {
            e.value = SampleValue::Float(seconds(t_ms));
            e.drop_name = true;
        }
        v
    };
    Ok(Value::Vector(elements))
}

/// `step()`, `range()`, `start()` or `end()` of the query, in seconds (0 step for an instant
/// query).
pub(super) fn query(ev: &Evaluator, name: &str) -> f64 {
    let b = ev.bounds();
    match name {
        "step" => seconds(b.step_ms),
        "range" => seconds(b.end_ms.saturating_sub(b.start_ms)),
        "start" => seconds(b.start_ms),
        _ => seconds(b.end_ms),
    }
}

/// A calendar function of each float element read as Unix seconds, or of the evaluation time
/// when called without an argument.
pub(super) fn date(ev: &Evaluator, c: &Call, t_ms: i64, name: &str) -> Result<Value, EngineError> {
    let mut v = if c.args.is_empty() {
        vec![Element {
            labels: Labels::empty(),
            value: SampleValue::Float(seconds(t_ms)),
            drop_name: false,
        }]
    } else {
        vector_arg(ev, c, 0, t_ms)?
    };
    v.retain_mut(|e| match &mut e.value {
        SampleValue::Float(f) => {
            *f = calendar(*f, name);
            e.drop_name = true;
            true
        }
        SampleValue::Histogram(_) => false,
    });
    Ok(Value::Vector(v))
}

fn calendar(unix_seconds: f64, name: &str) -> f64 {
    // Go's time.Unix(int64(f), 0): the fraction is truncated.
    let Some(t) = DateTime::<Utc>::from_timestamp(unix_seconds as i64, 0) else {
        return f64::NAN;
    };
    f64::from(match name {
        "minute" => t.minute(),
        "hour" => t.hour(),
        "day_of_month" => t.day(),
        "day_of_week" => t.weekday().num_days_from_sunday(),
        "day_of_year" => t.ordinal(),
        "month" => t.month(),
        "year" => return f64::from(t.year()),
        _ => days_in_month(t.year(), t.month()),
    })
}

fn days_in_month(year: i32, month: u32) -> u32 {
    let (next_year, next_month) = if month == 12 {
        (year + 1, 1)
    } else {
        (year, month + 1)
    };
    let first = chrono::NaiveDate::from_ymd_opt(year, month, 1);
    let next = chrono::NaiveDate::from_ymd_opt(next_year, next_month, 1);
    match (first, next) {
        (Some(a), Some(b)) => u32::try_from((b - a).num_days()).unwrap_or(0),
        _ => 0,
    }
}
