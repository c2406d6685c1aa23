//! Element-wise float functions: `abs`, `ceil`, `exp`, `ln`, trigonometry, ... (upstream
//! functions.go `simpleFloatFunc` users). Histogram elements are left out of the result, and
//! the metric name is dropped.

use super::{Evaluator, scalar_arg, vector_arg};
use crate::promql::EngineError;
use crate::promql::parser::Call;
use crate::promql::storage::SampleValue;
use crate::promql::value::Value;
use crate::promql::value::Vector;

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
    Ok(map_floats(vector_arg(ev, c, 0, t_ms)?, f))
}

/// Applies `f` to the float elements of `v`, dropping histograms and names.
fn map_floats(mut v: Vector, f: impl Fn(f64) -> f64) -> Value {
    v.retain_mut(|e| {
        let kept = map_float(&mut e.value, &f);
        e.drop_name |= kept;
        kept
    });
    Value::Vector(v)
}

/// Applies `f` to a float value; `false` for a histogram, which the element-wise float
/// functions leave out (their results also drop the metric name).
pub(super) fn map_float(value: &mut SampleValue, f: impl Fn(f64) -> f64) -> bool {
    match value {
        SampleValue::Float(x) => {
            *x = f(*x);
            true
        }
        SampleValue::Histogram(_) => false,
    }
}

/// `round(x, to_nearest)`: half rounds up (upstream `funcRound`).
pub(super) fn round_to(x: f64, to_nearest: f64) -> f64 {
    let inverse = 1.0 / to_nearest;
    (x * inverse + 0.5).floor() / inverse
}

/// `round(v, to_nearest=1)`.
pub(super) fn round(ev: &Evaluator, c: &Call, t_ms: i64) -> Result<Value, EngineError> {
    let to_nearest = if c.args.len() > 1 {
        scalar_arg(ev, c, 1, t_ms)?
    } else {
        1.0
    };
    let v = vector_arg(ev, c, 0, t_ms)?;
    Ok(map_floats(v, |x| round_to(x, to_nearest)))
}

/// Go's `math.Max`: NaN wins.
fn go_max(a: f64, b: f64) -> f64 {
    if a.is_nan() || b.is_nan() {
        f64::NAN
    } else {
        a.max(b)
    }
}

/// Go's `math.Min`: NaN wins.
fn go_min(a: f64, b: f64) -> f64 {
    if a.is_nan() || b.is_nan() {
        f64::NAN
    } else {
        a.min(b)
    }
}

/// `clamp(v, min, max)`, `clamp_min(v, min)`, `clamp_max(v, max)`.
pub(super) fn clamp(ev: &Evaluator, c: &Call, t_ms: i64, name: &str) -> Result<Value, EngineError> {
    let v = vector_arg(ev, c, 0, t_ms)?;
    let first = scalar_arg(ev, c, 1, t_ms)?;
    let second = if name == "clamp" {
        scalar_arg(ev, c, 2, t_ms)?
    } else {
        f64::NAN
    };
    match Clamp::new(name, first, second) {
        Some(clamp) => Ok(map_floats(v, |x| clamp.apply(x))),
        None => Ok(Value::Vector(Vec::new())),
    }
}

/// One of the clamping functions with its bounds at one evaluation time.
#[derive(Debug, Clone, Copy)]
pub(super) enum Clamp {
    /// `clamp_min`.
    Min(f64),
    /// `clamp_max`.
    Max(f64),
    /// `clamp`, with `min <= max`.
    Both(f64, f64),
}

impl Clamp {
    /// The function `name` with its scalar arguments (`second` only for `clamp`); `None` when
    /// `clamp`'s max is below its min, which leaves nothing.
    pub(super) fn new(name: &str, first: f64, second: f64) -> Option<Self> {
        match name {
            "clamp_min" => Some(Clamp::Min(first)),
            "clamp_max" => Some(Clamp::Max(first)),
            _ => (second >= first || first.is_nan() || second.is_nan())
                .then_some(Clamp::Both(first, second)),
        }
    }

    /// The clamped value.
    pub(super) fn apply(self, x: f64) -> f64 {
        match self {
            Clamp::Min(min) => go_max(min, x),
            Clamp::Max(max) => go_min(max, x),
            Clamp::Both(min, max) => go_max(min, go_min(max, x)),
        }
    }
}

/// `min_of(a, b)` / `max_of(a, b)` on scalars, NaN winning as in Go's `math.Min`/`math.Max`.
pub(super) fn extremum(
    ev: &Evaluator,
    c: &Call,
    t_ms: i64,
    max: bool,
) -> Result<Value, EngineError> {
    let (a, b) = (scalar_arg(ev, c, 0, t_ms)?, scalar_arg(ev, c, 1, t_ms)?);
    Ok(Value::Scalar(if max { go_max(a, b) } else { go_min(a, b) }))
}
