//! `absent` and `absent_over_time`: one element with value 1 when the argument is empty, with
//! the labels of its equality matchers (upstream functions.go `createLabelsForAbsentFunction`).

use shared::labels::{Label, Labels, MatchOp};

use super::{Evaluator, arg, range_arg, vector_arg};
use crate::promql::EngineError;
use crate::promql::parser::{Call, Expr, VectorSelector};
use crate::promql::storage::SampleValue;
use crate::promql::value::{Element, Value};

/// `absent(v)` (`over_time: false`) or `absent_over_time(m)`.
pub(super) fn apply(
    ev: &Evaluator,
    c: &Call,
    t_ms: i64,
    over_time: bool,
) -> Result<Value, EngineError> {
    let empty = if over_time {
        range_arg(ev, c, 0, t_ms)?.0.is_empty()
    } else {
        vector_arg(ev, c, 0, t_ms)?.is_empty()
    };
    if !empty {
        return Ok(Value::Vector(Vec::new()));
    }
    Ok(Value::Vector(vec![Element {
        labels: labels_of(c)?,
        value: SampleValue::Float(1.0),
        drop_name: false,
    }]))
}

/// The labels of the element `absent(c)` or `absent_over_time(c)` yields.
pub(super) fn labels_of(c: &Call) -> Result<Labels, EngineError> {
    Ok(selector(arg(c, 0)?).map_or_else(Labels::empty, absent_labels))
}

fn selector(e: &Expr) -> Option<&VectorSelector> {
    match e {
        Expr::VectorSelector(s) => Some(s),
        Expr::MatrixSelector(m) => Some(&m.selector),
        _ => None,
    }
}

/// Labels from the first `name="value"` matcher of each name other than the metric name; any
/// other matcher on that name removes it again.
fn absent_labels(s: &VectorSelector) -> Labels {
    let mut labels: Vec<Label> = Vec::new();
    let mut seen: Vec<&str> = Vec::new();
    for m in &s.matchers {
        if m.name() == "__name__" {
            continue;
        }
        if m.op() == MatchOp::Equal && !seen.contains(&m.name()) {
            labels.push(Label::new(m.name(), m.value()));
            seen.push(m.name());
        } else {
            labels.retain(|l| l.name != m.name());
        }
    }
    Labels::from_unsorted(labels)
}
