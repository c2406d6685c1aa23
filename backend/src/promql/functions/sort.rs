//! `sort`, `sort_desc`, `sort_by_label` and `sort_by_label_desc` (upstream functions.go
//! `funcSort`, `funcSortByLabel`): order only matters for instant queries; names are kept.

use std::cmp::Ordering;

use super::{Evaluator, arg, vector_arg};
use crate::promql::EngineError;
use crate::promql::parser::Call;
use crate::promql::storage::SampleValue;
use crate::promql::value::{Element, Value};

fn float(e: &Element) -> f64 {
    match e.value {
        SampleValue::Float(f) => f,
        SampleValue::Histogram(_) => f64::NAN,
    }
}

/// A warning when sorting inside a range query, whose result is ordered by labels anyway
/// (upstream engine.go, `annotations.NewSortInRangeQueryWarning`).
pub(super) fn warn_in_range_query(ev: &Evaluator, c: &Call) {
    let bounds = ev.bounds();
    if bounds.start_ms != bounds.end_ms {
        ev.warn(
            c.span,
            "sort is ineffective for range queries since results are always ordered by labels",
        );
    }
}

/// `sort(v)` (`descending: false`) or `sort_desc(v)`: by value, NaN last either way.
pub(super) fn by_value(
    ev: &Evaluator,
    c: &Call,
    t_ms: i64,
    descending: bool,
) -> Result<Value, EngineError> {
    let mut v = vector_arg(ev, c, 0, t_ms)?;
    v.retain(|e| matches!(e.value, SampleValue::Float(_)));
    v.sort_by(|a, b| {
        let (x, y) = (float(a), float(b));
        match (x.is_nan(), y.is_nan()) {
            (true, true) => Ordering::Equal,
            (true, false) => Ordering::Greater,
            (false, true) => Ordering::Less,
            _ if descending => y.total_cmp(&x),
            _ => x.total_cmp(&y),
        }
    });
    Ok(Value::Vector(v))
}

/// `sort_by_label(v, label...)` / `sort_by_label_desc`: natural order of the labels' values,
/// then the whole label set.
pub(super) fn by_label(
    ev: &Evaluator,
    c: &Call,
    t_ms: i64,
    descending: bool,
) -> Result<Value, EngineError> {
    let names = (1..c.args.len())
        .map(|i| match ev.eval(arg(c, i)?, t_ms)? {
            Value::String(s) => Ok(s),
            other => Err(super::type_error(c, "string", &other)),
        })
        .collect::<Result<Vec<_>, _>>()?;
    let mut v = vector_arg(ev, c, 0, t_ms)?;
    v.sort_by(|a, b| {
        let order = names
            .iter()
            .map(|n| {
                let (x, y) = (
                    a.labels.get(n).unwrap_or_default(),
                    b.labels.get(n).unwrap_or_default(),
                );
                natural_cmp(x, y)
            })
            .find(|o| o.is_ne())
            .unwrap_or_else(|| a.labels.cmp(&b.labels));
        if descending { order.reverse() } else { order }
    });
    Ok(Value::Vector(v))
}

/// Natural order: runs of digits compare as numbers, everything else bytewise.
fn natural_cmp(a: &str, b: &str) -> Ordering {
    let (mut x, mut y) = (a, b);
    loop {
        match (chunk(x), chunk(y)) {
            (None, None) => return Ordering::Equal,
            (None, Some(_)) => return Ordering::Less,
            (Some(_), None) => return Ordering::Greater,
            (Some((cx, rx)), Some((cy, ry))) => {
                let digits = |s: &str| s.bytes().all(|c| c.is_ascii_digit());
                let order = if digits(cx) && digits(cy) {
                    let (tx, ty) = (cx.trim_start_matches('0'), cy.trim_start_matches('0'));
                    tx.len().cmp(&ty.len()).then_with(|| tx.cmp(ty))
                } else {
                    cx.cmp(cy)
                };
                if order.is_ne() {
                    return order;
                }
                (x, y) = (rx, ry);
            }
        }
    }
}

/// The leading run of digits or of non-digits, and the rest.
fn chunk(s: &str) -> Option<(&str, &str)> {
    let first = s.bytes().next()?;
    let end = s
        .bytes()
        .position(|c| c.is_ascii_digit() != first.is_ascii_digit())
        .unwrap_or(s.len());
    Some(s.split_at(end))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn natural_order_compares_numbers_by_value() {
        assert_eq!(natural_cmp("a10", "a9"), Ordering::Greater);
        assert_eq!(natural_cmp("a09", "a9"), Ordering::Equal);
        assert_eq!(natural_cmp("abc", "abd"), Ordering::Less);
        assert_eq!(natural_cmp("x", "x1"), Ordering::Less);
    }
}
