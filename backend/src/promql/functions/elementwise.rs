//! Element-wise functions evaluated at every step of a range at once: the argument is
//! range-evaluated once and each of its series transformed as a whole (upstream
//! promql/engine.go `rangeEval` calls such functions step by step; the result is the same).
//!
//! Covers the float functions (`abs`, `ceil`, `ln`, trigonometry, ...), `round`, the clamps,
//! `label_replace`, `label_join`, and the time and conversion functions `time()`, `pi()`,
//! `step()`/`range()`/`start()`/`end()`, `timestamp()`, `vector()` and `scalar()`. Each applies the same
//! per-element code as the step-wise evaluation, and the result is ordered and merged by
//! labels as gathering steps orders and merges it: series whose labels (with their
//! name-dropping flag) become equal merge into one.

use std::collections::BTreeMap;

use shared::labels::Labels;

use super::label::Edit;
use super::math::{self, Clamp};
use super::{arg, scalar_values, time};
use crate::promql::EngineError;
use crate::promql::eval::{Evaluator, Ranged, Steps};
use crate::promql::parser::{Call, Expr};
use crate::promql::storage::{Point, SampleValue};
use crate::promql::value::{Matrix, RangeSeries};

/// The call `c` at every step of `steps`, for the functions listed above; `None` for others
/// or for arguments of the wrong type (the step-wise evaluation reports those).
pub(super) fn evaluate(
    ev: &Evaluator,
    c: &Call,
    steps: Steps,
) -> Result<Option<Ranged>, EngineError> {
    let name = c.function.name;
    if let Some(f) = math::lookup(name) {
        return map_floats(ev, c, steps, |_| Some(f));
    }
    Ok(Some(match name {
        "time" => Ranged::Scalar(steps.times().map(time::seconds).collect()),
        "pi" => Ranged::Scalar(vec![std::f64::consts::PI; steps.len()]),
        "step" | "range" | "start" | "end" => {
            Ranged::Scalar(vec![time::query(ev, name); steps.len()])
        }
        "vector" => {
            let Some(values) = scalar_values(ev, c, 0, steps)? else {
                return Ok(None);
            };
            let points = steps
                .times()
                .zip(values)
                .map(|(t_ms, v)| Point {
                    t_ms,
                    value: SampleValue::Float(v),
                })
                .collect();
            Ranged::Vector(vec![RangeSeries {
                labels: Labels::empty(),
                points,
                drop_name: false,
            }])
        }
        "scalar" => match ev.eval_ranged(arg(c, 0)?, steps)? {
            Ranged::Vector(m) => Ranged::Scalar(only_floats(&m, steps)),
            Ranged::Scalar(_) => return Ok(None),
        },
        "round" => {
            let to_nearest = if c.args.len() > 1 {
                scalar_values(ev, c, 1, steps)?
            } else {
                Some(vec![1.0; steps.len()])
            };
            let Some(to_nearest) = to_nearest else {
                return Ok(None);
            };
            return map_floats(ev, c, steps, |i| {
                let to_nearest = to_nearest.get(i).copied()?;
                Some(move |x| math::round_to(x, to_nearest))
            });
        }
        "clamp" | "clamp_min" | "clamp_max" => return clamp(ev, c, steps),
        "timestamp" => return timestamp(ev, c, steps),
        "label_replace" | "label_join" => {
            let edit = if name == "label_replace" {
                Edit::replace(ev, c, steps.start_ms)?
            } else {
                Edit::join(ev, c, steps.start_ms)?
            };
            let Ranged::Vector(mut m) = ev.eval_ranged(arg(c, 0)?, steps)? else {
                return Ok(None);
            };
            for s in &mut m {
                edit.apply(&mut s.labels, &mut s.drop_name);
            }
            return regroup(m).map(|m| Some(Ranged::Vector(m)));
        }
        _ => return Ok(None),
    }))
}

/// `clamp`, `clamp_min` or `clamp_max`: the vector, then the bounds, as the step-wise
/// evaluation reads them.
fn clamp(ev: &Evaluator, c: &Call, steps: Steps) -> Result<Option<Ranged>, EngineError> {
    let name = c.function.name;
    let Ranged::Vector(m) = ev.eval_ranged(arg(c, 0)?, steps)? else {
        return Ok(None);
    };
    let Some(first) = scalar_values(ev, c, 1, steps)? else {
        return Ok(None);
    };
    let second = if name == "clamp" {
        scalar_values(ev, c, 2, steps)?
    } else {
        Some(vec![f64::NAN; steps.len()])
    };
    let Some(second) = second else {
        return Ok(None);
    };
    let clamps: Vec<Option<Clamp>> = first
        .into_iter()
        .zip(second)
        .map(|(a, b)| Clamp::new(name, a, b))
        .collect();
    map_series(m, steps, |i| {
        let clamp = clamps.get(i).copied().flatten()?;
        Some(move |x| clamp.apply(x))
    })
    .map(Some)
}

/// `timestamp(v)`: a selector's samples' own times, or the evaluation times for any other
/// argument (see `time::timestamp`).
fn timestamp(ev: &Evaluator, c: &Call, steps: Steps) -> Result<Option<Ranged>, EngineError> {
    let mut e = arg(c, 0)?;
    while let Expr::Paren(p) = e {
        e = &p.expr;
    }
    if let Expr::VectorSelector(s) = e {
        let own_time = |p: &Point| SampleValue::Float(time::seconds(p.t_ms));
        let m = ev.ranged_selector_samples(s, steps, true, own_time)?;
        return Ok(Some(Ranged::Vector(m)));
    }
    let Ranged::Vector(mut m) = ev.eval_ranged(e, steps)? else {
        return Ok(None);
    };
    for s in &mut m {
        for p in &mut s.points {
            p.value = SampleValue::Float(time::seconds(p.t_ms));
        }
        s.drop_name = true;
    }
    regroup(m).map(|m| Some(Ranged::Vector(m)))
}

/// Argument 0 with `f_at(step)` applied to its floats (`None` leaves the step out); histograms
/// are left out and names dropped, as [`math::map_float`] does.
fn map_floats<F: Fn(f64) -> f64>(
    ev: &Evaluator,
    c: &Call,
    steps: Steps,
    f_at: impl Fn(usize) -> Option<F>,
) -> Result<Option<Ranged>, EngineError> {
    let Ranged::Vector(m) = ev.eval_ranged(arg(c, 0)?, steps)? else {
        return Ok(None);
    };
    map_series(m, steps, f_at).map(Some)
}

/// Each series of `m` with `f_at(step)` applied to its floats, regrouped.
fn map_series<F: Fn(f64) -> f64>(
    mut m: Matrix,
    steps: Steps,
    f_at: impl Fn(usize) -> Option<F>,
) -> Result<Ranged, EngineError> {
    for s in &mut m {
        s.points.retain_mut(|p| {
            let f = steps.index_of(p.t_ms).and_then(&f_at);
            f.is_some_and(|f| math::map_float(&mut p.value, f))
        });
        s.drop_name = true;
    }
    m.retain(|s| !s.points.is_empty());
    regroup(m).map(Ranged::Vector)
}

/// `scalar()` at each step: the only float element's value, else NaN.
fn only_floats(m: &Matrix, steps: Steps) -> Vec<f64> {
    let mut found: Vec<(usize, f64)> = vec![(0, f64::NAN); steps.len()];
    for p in m.iter().flat_map(|s| &s.points) {
        if let (SampleValue::Float(v), Some(slot)) = (
            &p.value,
            steps.index_of(p.t_ms).and_then(|i| found.get_mut(i)),
        ) {
            *slot = (slot.0 + 1, *v);
        }
    }
    found
        .into_iter()
        .map(|(n, v)| if n == 1 { v } else { f64::NAN })
        .collect()
}

/// The series ordered by labels and name-dropping flag, those equal in both merged, as
/// gathering step values by series orders and merges them. Two that merge with points at the
/// same step fail the query, as upstream's `rangeEval` fails when a function's output holds a
/// series twice at one step.
pub(super) fn regroup(m: Matrix) -> Result<Matrix, EngineError> {
    let mut by_key: BTreeMap<(Labels, bool), Vec<Point>> = BTreeMap::new();
    let mut merged = false;
    for s in m {
        let points = by_key.entry((s.labels, s.drop_name)).or_default();
        merged |= !points.is_empty();
        points.extend(s.points);
    }
    let mut out = Matrix::with_capacity(by_key.len());
    for ((labels, drop_name), mut points) in by_key {
        if merged {
            points.sort_by_key(|p| p.t_ms);
            if points.windows(2).any(|w| w[0].t_ms == w[1].t_ms) {
                return Err(EngineError::DuplicateLabelset);
            }
        }
        out.push(RangeSeries {
            labels,
            points,
            drop_name,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn series(name: &str, drop_name: bool, times: &[i64]) -> RangeSeries {
        RangeSeries {
            labels: Labels::from_pairs([("__name__", name)]),
            points: times
                .iter()
                .map(|&t_ms| Point {
                    t_ms,
                    value: SampleValue::Float(t_ms as f64),
                })
                .collect(),
            drop_name,
        }
    }

    #[test]
    fn regroup_sorts_merges_disjoint_steps_and_refuses_collisions() {
        let sorted = regroup(vec![series("b", false, &[1]), series("a", true, &[2])]);
        let keys: Vec<_> = sorted
            .expect("no collision")
            .iter()
            .map(|s| (s.labels.get("__name__").map(str::to_owned), s.drop_name))
            .collect();
        assert_eq!(
            keys,
            vec![(Some("a".into()), true), (Some("b".into()), false)]
        );
        let merged = regroup(vec![series("a", true, &[3, 5]), series("a", true, &[1, 4])])
            .expect("disjoint steps merge");
        let times: Vec<i64> = merged[0].points.iter().map(|p| p.t_ms).collect();
        assert_eq!(times, vec![1, 3, 4, 5]);
        assert!(matches!(
            regroup(vec![series("a", true, &[1, 2]), series("a", true, &[2])]),
            Err(EngineError::DuplicateLabelset)
        ));
    }
}
