//! `time()`, `timestamp()`, `vector()` and `scalar()` (upstream functions.go `funcTime`,
//! `funcTimestamp`, `funcVector`, `funcScalar`).

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
