//! Element-wise float functions: `abs`, `ceil`, `exp`, `ln`, trigonometry, ... (upstream
//! functions.go `simpleFloatFunc` users). Histogram elements are left out of the result, and
//! the metric name is dropped.

use super::{Evaluator, vector_arg};
use crate::promql::EngineError;
use crate::promql::parser::Call;
use crate::promql::storage::SampleValue;
use crate::promql::value::Value;

/// An element-wise float function.
pub(super) type FloatFn = fn(f64) -> f64;

/// The implementation of `name`, if it is an element-wise float function.
pub(super) fn lookup(name: &str) -> Option<FloatFn> {
    Some(match name {
        "abs" => f64::abs,
        "ceil" => f64::ceil,
        "floor" => f64::floor,
        "exp" => f64::exp,
        "sqrt" => f64::sqrt,
        "ln" => f64::ln,
        "log2" => f64::log2,
        "log10" => f64::log10,
        "sgn" => sgn,
        "sin" => f64::sin,
        "cos" => f64::cos,
        "tan" => f64::tan,
        "asin" => f64::asin,
        "acos" => f64::acos,
        "atan" => f64::atan,
        "sinh" => f64::sinh,
        "cosh" => f64::cosh,
        "tanh" => f64::tanh,
        "asinh" => f64::asinh,
        "acosh" => f64::acosh,
        "atanh" => f64::atanh,
        "deg" => f64::to_degrees,
        "rad" => f64::to_radians,
        _ => return None,
    })
}

fn sgn(v: f64) -> f64 {
    if v > 0.0 {
        1.0
    } else if v < 0.0 {
        -1.0
    } else {
        v
    }
}

/// Applies `f` to every float element of the call's vector argument.
pub(super) fn apply(ev: &Evaluator, c: &Call, t_ms: i64, f: FloatFn) -> Result<Value, EngineError> {
    let mut v = vector_arg(ev, c, 0, t_ms)?;
    v.retain_mut(|e| match &mut e.value {
        SampleValue::Float(x) => {
            *x = f(*x);
            e.drop_name = true;
            true
        }
        SampleValue::Histogram(_) => false,
    });
    Ok(Value::Vector(v))
}
