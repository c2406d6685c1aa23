//! Functions of a whole instant vector at each step (`histogram_quantile`,
//! `histogram_fraction`), over a range: the vector argument and the parameters are
//! range-evaluated once, then the function's own step-wise code runs on each step's elements
//! (upstream promql/engine.go `rangeEval` hands such functions one step's vector at a time).
//!
//! A step's elements come in the order of the argument's series; the results are gathered by
//! labels as the step-wise evaluation gathers them. Nothing here knows what the functions
//! compute.

use std::collections::BTreeMap;

use shared::labels::Labels;

use super::histogram_quantile::{fraction_of_vector, quantile_of_vector};
use super::{arg, scalar_values};
use crate::promql::EngineError;
use crate::promql::eval::{Evaluator, Ranged, Steps};
use crate::promql::parser::Call;
use crate::promql::storage::Point;
use crate::promql::value::{Element, Matrix, RangeSeries, Vector};

/// The call `c` at every step of `steps` for the functions listed above; `None` for others or
/// for arguments of the wrong type (the step-wise evaluation reports those).
pub(super) fn evaluate(
    ev: &Evaluator,
    c: &Call,
    steps: Steps,
) -> Result<Option<Ranged>, EngineError> {
    match c.function.name {
        "histogram_quantile" => {
            let Some(q) = scalar_values(ev, c, 0, steps)? else {
                return Ok(None);
            };
            let Ranged::Vector(m) = ev.eval_ranged(arg(c, 1)?, steps)? else {
                return Ok(None);
            };
            each_step(m, steps, |i, t_ms, v| {
                let q = q.get(i).copied().unwrap_or(f64::NAN);
                quantile_of_vector(ev, c, t_ms, q, v)
            })
            .map(Some)
        }
        "histogram_fraction" => {
            let Some(lower) = scalar_values(ev, c, 0, steps)? else {
                return Ok(None);
            };
            let Some(upper) = scalar_values(ev, c, 1, steps)? else {
                return Ok(None);
            };
            let Ranged::Vector(m) = ev.eval_ranged(arg(c, 2)?, steps)? else {
                return Ok(None);
            };
            each_step(m, steps, |i, t_ms, v| {
                let bound = |b: &[f64]| b.get(i).copied().unwrap_or(f64::NAN);
                fraction_of_vector(ev, c, t_ms, (bound(&lower), bound(&upper)), v)
            })
            .map(Some)
        }
        _ => Ok(None),
    }
    .map(|m| m.map(Ranged::Vector))
}

/// `f(step index, time, elements)` at every step, its results gathered by labels and
/// name-dropping flag (in that order; points in step order).
fn each_step(
    m: Matrix,
    steps: Steps,
    mut f: impl FnMut(usize, i64, Vector) -> Result<Vector, EngineError>,
) -> Result<Matrix, EngineError> {
    let mut at: Vec<Vector> = vec![Vector::new(); steps.len()];
    for s in m {
        for p in s.points {
            if let Some(v) = steps.index_of(p.t_ms).and_then(|i| at.get_mut(i)) {
                v.push(Element {
                    labels: s.labels.clone(),
                    value: p.value,
                    drop_name: s.drop_name,
                });
            }
        }
    }
    let mut gathered: BTreeMap<(Labels, bool), Vec<Point>> = BTreeMap::new();
    for (i, (t_ms, v)) in steps.times().zip(at).enumerate() {
        for e in f(i, t_ms, v)? {
            gathered
                .entry((e.labels, e.drop_name))
                .or_default()
                .push(Point {
                    t_ms,
                    value: e.value,
                });
        }
    }
    Ok(gathered
        .into_iter()
        .map(|((labels, drop_name), points)| RangeSeries {
            labels,
            points,
            drop_name,
        })
        .collect())
}
