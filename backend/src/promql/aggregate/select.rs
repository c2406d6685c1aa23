//! Aggregations that pick elements instead of computing values: `topk`, `bottomk`, `limitk`
//! and `limit_ratio` (upstream engine.go `aggregationK`). Picked elements keep their labels.

use shared::labels::Labels;

use super::{group_labels, grouped, input, param};
use crate::promql::EngineError;
use crate::promql::annotations::Note;
use crate::promql::eval::{Evaluator, unwrapped_span};
use crate::promql::parser::{AggregateExpr, AggregateOp};
use crate::promql::storage::SampleValue;
use crate::promql::value::{Element, Value, Vector};

/// `limitk(k, v)`: the first k elements of each group, as they are.
pub(super) fn limit_k(ev: &Evaluator, a: &AggregateExpr, t_ms: i64) -> Result<Value, EngineError> {
    let k = integer_param(param(ev, a, t_ms)?)?;
    let groups = grouped(input(ev, a, t_ms)?, &a.grouping);
    let k = usize::try_from(k).unwrap_or(0);
    Ok(Value::Vector(
        groups
            .into_iter()
            .flat_map(|(_, e)| e.into_iter().take(k))
            .collect(),
    ))
}

/// `limit_ratio(r, v)`: a deterministic sample of about `|r|` of the elements, chosen by the
/// hash of their labels (upstream `HashRatioSampler`): with `r >= 0` those whose hash offset in
/// `[0, 1]` is below `r`, with `r < 0` the complement `>= 1 + r`. `r` is clamped to `[-1, 1]`
/// (with upstream's warning).
pub(super) fn limit_ratio(
    ev: &Evaluator,
    a: &AggregateExpr,
    t_ms: i64,
) -> Result<Value, EngineError> {
    let Value::Scalar(ratio) = param(ev, a, t_ms)? else {
        return Err(EngineError::Runtime(
            "limit_ratio: ratio must be a scalar".into(),
        ));
    };
    if ratio.is_nan() {
        return Err(EngineError::Runtime("Ratio value is NaN".into()));
    }
    let capped = ratio.clamp(-1.0, 1.0);
    if let (true, Some(p)) = (capped != ratio, &a.param) {
        ev.note(
            unwrapped_span(p),
            &Note::InvalidRatio { got: ratio, capped },
        );
    }
    let ratio = capped;
    let input = input(ev, a, t_ms)?;
    if ratio == 0.0 {
        return Ok(Value::Vector(Vec::new()));
    }
    let kept = input.into_iter().filter(|e| {
        let offset = label_hash(&e.labels) as f64 / u64::MAX as f64;
        (ratio >= 0.0 && offset < ratio) || (ratio < 0.0 && offset >= 1.0 + ratio)
    });
    Ok(Value::Vector(kept.collect()))
}

/// Prometheus's `labels.Hash`: xxHash64 of `name 0xff value 0xff` for every label in order.
fn label_hash(labels: &Labels) -> u64 {
    let mut bytes = Vec::with_capacity(256);
    for l in labels {
        bytes.extend_from_slice(l.name.as_bytes());
        bytes.push(0xff);
        bytes.extend_from_slice(l.value.as_bytes());
        bytes.push(0xff);
    }
    xxhash_rust::xxh64::xxh64(&bytes, 0)
}

/// A `k` parameter: an integer-valued scalar (truncated as upstream's `int64(f)`).
fn integer_param(v: Value) -> Result<i64, EngineError> {
    let Value::Scalar(k) = v else {
        return Err(EngineError::Runtime("k must be a scalar".into()));
    };
    if k.is_nan() {
        return Err(EngineError::Runtime("Parameter value is NaN".into()));
    }
    if k.abs() >= 9.2e18 {
        return Err(EngineError::Runtime(format!(
            "Scalar value {k} overflows int64"
        )));
    }
    Ok(k as i64)
}

/// `topk`/`bottomk`: the k largest (smallest) float elements per group, kept with their own
/// labels, largest (smallest) first; histograms are skipped with an info. Mirrors upstream's heap: a newcomer replaces the worst kept
/// element only when strictly better, and NaN is worse than any number.
pub(super) fn top_k(ev: &Evaluator, a: &AggregateExpr, t_ms: i64) -> Result<Value, EngineError> {
    let k = integer_param(param(ev, a, t_ms)?)?;
    let input = input(ev, a, t_ms)?;
    if k < 1 {
        return Ok(Value::Vector(Vec::new()));
    }
    let k = usize::try_from(k).unwrap_or(usize::MAX);
    let top = a.op == AggregateOp::Topk;
    // `worse(a, b)`: a would leave before b (upstream heap's Less).
    let worse = |a: f64, b: f64| a.is_nan() || if top { a < b } else { a > b };
    let mut groups: Vec<(Labels, Vec<(f64, Element)>)> = Vec::new();
    for e in input {
        let SampleValue::Float(v) = e.value else {
            ev.note(a.span, &Note::HistogramIgnoredInAggregation(a.op.as_str()));
            continue;
        };
        let key = group_labels(&e, &a.grouping);
        let kept = match groups.iter().position(|(l, _)| *l == key) {
            Some(i) => &mut groups[i].1,
            None => {
                groups.push((key, Vec::new()));
                &mut groups.last_mut().expect("just pushed").1
            }
        };
        if kept.len() < k {
            kept.push((v, e));
            continue;
        }
        let worst = (0..kept.len()).fold(0, |w, i| if worse(kept[i].0, kept[w].0) { i } else { w });
        let w = kept[worst].0;
        if (if top { w < v } else { w > v }) || (w.is_nan() && !v.is_nan()) {
            kept[worst] = (v, e);
        }
    }
    let mut out = Vector::new();
    for (_, mut kept) in groups {
        kept.sort_by(|a, b| {
            if worse(b.0, a.0) {
                std::cmp::Ordering::Less
            } else if worse(a.0, b.0) {
                std::cmp::Ordering::Greater
            } else {
                std::cmp::Ordering::Equal
            }
        });
        out.extend(kept.into_iter().map(|(_, e)| e));
    }
    Ok(Value::Vector(out))
}
