//! Aggregations that pick elements instead of computing values: `topk`, `bottomk`, `limitk`
//! and `limit_ratio` (upstream engine.go `aggregationK`). Picked elements keep their labels.
//! One step's picking, shared by the step-wise and the range evaluation; knows nothing of
//! steps or storage.

use shared::labels::Labels;

use super::groups::Plan;
use super::{Member, Output};
use crate::promql::EngineError;
use crate::promql::annotations::Note;
use crate::promql::eval::{Evaluator, unwrapped_span};
use crate::promql::parser::{AggregateExpr, AggregateOp};
use crate::promql::value::Value;

/// `limitk(k, v)`: the first k members of each group, as they are.
pub(super) fn limit_k(k: usize, groups: &[Vec<Member<'_>>], emit: &mut impl FnMut(Output)) {
    for m in groups.iter().flat_map(|g| g.iter().take(k)) {
        emit(Output::picked(m));
    }
}

/// `limit_ratio(r, v)`: a deterministic sample of about `|r|` of the members, chosen by the
/// hash of their labels (upstream `HashRatioSampler`): with `r >= 0` those whose hash offset in
/// `[0, 1]` is below `r`, with `r < 0` the complement `>= 1 + r`.
pub(super) fn limit_ratio(
    ratio: f64,
    plan: &Plan,
    members: &[Member<'_>],
    emit: &mut impl FnMut(Output),
) {
    if ratio == 0.0 {
        return;
    }
    for m in members {
        let offset = plan.ratio_offset(m.series);
        if (ratio >= 0.0 && offset < ratio) || (ratio < 0.0 && offset >= 1.0 + ratio) {
            emit(Output::picked(m));
        }
    }
}

/// A `limit_ratio` parameter, clamped to `[-1, 1]` with upstream's warning.
pub(super) fn ratio_param(ev: &Evaluator, a: &AggregateExpr, v: Value) -> Result<f64, EngineError> {
    let Value::Scalar(ratio) = v else {
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
    Ok(capped)
}

/// Prometheus's `labels.Hash`: xxHash64 of `name 0xff value 0xff` for every label in order.
pub(super) fn label_hash(labels: &Labels) -> u64 {
    let mut bytes = Vec::with_capacity(256);
    for l in labels {
        bytes.extend_from_slice(l.name.as_bytes());
        bytes.push(0xff);
        bytes.extend_from_slice(l.value.as_bytes());
        bytes.push(0xff);
    }
    xxhash_rust::xxh64::xxh64(&bytes, 0)
}

/// A `k` parameter: an integer-valued scalar (truncated as upstream's `int64(f)`); a
/// negative one keeps nothing, as 0 does.
pub(super) fn k_param(v: Value) -> Result<usize, EngineError> {
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
    Ok(usize::try_from(k as i64).unwrap_or(0))
}

/// `topk`/`bottomk`: the k largest (smallest) float members per group, kept with their own
/// labels, largest (smallest) first, groups in order of their first float; histograms are
/// skipped with an info. Mirrors upstream's heap: a newcomer replaces the worst kept member
/// only when strictly better, and NaN is worse than any number.
pub(super) fn top_k(
    ev: &Evaluator,
    a: &AggregateExpr,
    k: usize,
    groups: &[Vec<Member<'_>>],
    emit: &mut impl FnMut(Output),
) {
    if k == 0 {
        return;
    }
    let top = a.op == AggregateOp::Topk;
    // `worse(a, b)`: a would leave before b (upstream heap's Less).
    let worse = |a: f64, b: f64| a.is_nan() || if top { a < b } else { a > b };
    // Per group with floats: where its first float is, and the members kept.
    let mut picked: Vec<(usize, Vec<(f64, &Member<'_>)>)> = Vec::new();
    for group in groups {
        let mut kept: Vec<(f64, &Member<'_>)> = Vec::new();
        let mut first = None;
        for m in group {
            let crate::promql::storage::SampleValue::Float(v) = *m.value else {
                ev.note(a.span, &Note::HistogramIgnoredInAggregation(a.op.as_str()));
                continue;
            };
            first.get_or_insert(m.series);
            if kept.len() < k {
                kept.push((v, m));
                continue;
            }
            let worst =
                (0..kept.len()).fold(0, |w, i| if worse(kept[i].0, kept[w].0) { i } else { w });
            let w = kept[worst].0;
            if (if top { w < v } else { w > v }) || (w.is_nan() && !v.is_nan()) {
                kept[worst] = (v, m);
            }
        }
        if let Some(first) = first {
            picked.push((first, kept));
        }
    }
    picked.sort_by_key(|(first, _)| *first);
    for (_, mut kept) in picked {
        kept.sort_by(|a, b| {
            if worse(b.0, a.0) {
                std::cmp::Ordering::Less
            } else if worse(a.0, b.0) {
                std::cmp::Ordering::Greater
            } else {
                std::cmp::Ordering::Equal
            }
        });
        for (_, m) in kept {
            emit(Output::picked(m));
        }
    }
}
