//! Binary and unary operators over a whole range at once (upstream engine.go `rangeEval` for
//! `BinaryExpr` and the unary minus): both operands are evaluated over the range, then each
//! step applies the same operations as the step-wise evaluation to the samples present at
//! that step. Vector matching works out signatures once per series and result labels once per
//! pair ([`Join`]). Annotations are those of each step: per step, the last one the step-wise
//! evaluation would have kept.
//!
//! Knows steps and series; nothing of storage, or of how the operands were evaluated.

use std::collections::HashMap;

use shared::labels::Labels;

use super::matching::{Join, Side};
use super::{Member, apply, default_matching, drops_name, vector_matching, with_scalar};
use crate::promql::EngineError;
use crate::promql::annotations::Note;
use crate::promql::eval::{Evaluator, Ranged, StepWalk, Steps, negate_sample};
use crate::promql::parser::{BinaryExpr, UnaryExpr, UnaryOp};
use crate::promql::storage::Point;
use crate::promql::value::{Matrix, RangeSeries, Value};

/// `b` at every step of `steps`.
pub(crate) fn evaluate(
    ev: &Evaluator,
    b: &BinaryExpr,
    steps: Steps,
) -> Result<Ranged, EngineError> {
    let lhs = ev.eval_ranged(&b.lhs, steps)?;
    let rhs = ev.eval_ranged(&b.rhs, steps)?;
    let mut notes: Vec<Option<Note>> = vec![None; steps.len()];
    let result = match (lhs, rhs) {
        (Ranged::Scalar(l), Ranged::Scalar(r)) => {
            let mut values = Vec::with_capacity(l.len());
            for ((l, r), note) in l.into_iter().zip(r).zip(notes.iter_mut()) {
                match apply(b, Value::Scalar(l), Value::Scalar(r), note)? {
                    Value::Scalar(v) => values.push(v),
                    other => {
                        return Err(EngineError::Runtime(format!(
                            "internal error: scalar operation gave a {}",
                            other.type_name()
                        )));
                    }
                }
            }
            Ranged::Scalar(values)
        }
        (Ranged::Vector(v), Ranged::Scalar(s)) => {
            Ranged::Vector(vector_scalar(b, steps, v, &s, false, &mut notes)?)
        }
        (Ranged::Scalar(s), Ranged::Vector(v)) => {
            Ranged::Vector(vector_scalar(b, steps, v, &s, true, &mut notes)?)
        }
        (Ranged::Vector(l), Ranged::Vector(r)) => {
            Ranged::Vector(vectors(b, steps, &l, &r, &mut notes)?)
        }
    };
    for note in notes.iter().flatten() {
        ev.note(b.span, note);
    }
    Ok(result)
}

/// `u` at every step of `steps`.
pub(crate) fn unary(ev: &Evaluator, u: &UnaryExpr, steps: Steps) -> Result<Ranged, EngineError> {
    let value = ev.eval_ranged(&u.expr, steps)?;
    if u.op == UnaryOp::Pos {
        return Ok(value);
    }
    Ok(match value {
        Ranged::Scalar(values) => Ranged::Scalar(values.into_iter().map(|v| -v).collect()),
        Ranged::Vector(mut series) => {
            for s in &mut series {
                s.points
                    .iter_mut()
                    .for_each(|p| negate_sample(&mut p.value));
                s.drop_name = true;
            }
            Ranged::Vector(merge_same(series))
        }
    })
}

/// Each series' samples `op` the scalar of their step (or the scalar `op` them).
fn vector_scalar(
    b: &BinaryExpr,
    steps: Steps,
    series: Matrix,
    scalar: &[f64],
    scalar_left: bool,
    notes: &mut [Option<Note>],
) -> Result<Matrix, EngineError> {
    let mut out = Matrix::with_capacity(series.len());
    for mut s in series {
        let mut points = Vec::with_capacity(s.points.len());
        for p in s.points {
            let Some(i) = steps.index_of(p.t_ms) else {
                continue;
            };
            let (Some(x), Some(note)) = (scalar.get(i), notes.get_mut(i)) else {
                continue;
            };
            if let Some(value) = with_scalar(b, &p.value, *x, scalar_left, note)? {
                points.push(Point {
                    t_ms: p.t_ms,
                    value,
                });
            }
        }
        if !points.is_empty() {
            s.points = points;
            s.drop_name |= drops_name(b);
            out.push(s);
        }
    }
    Ok(merge_same(out))
}

/// Two vectors joined at each step.
fn vectors(
    b: &BinaryExpr,
    steps: Steps,
    lhs: &Matrix,
    rhs: &Matrix,
    notes: &mut [Option<Note>],
) -> Result<Matrix, EngineError> {
    let default = default_matching(b);
    let matching = vector_matching(b, &default)?;
    let mut join = Join::new(
        b,
        matching,
        lhs.iter().map(|s| &s.labels),
        rhs.iter().map(|s| &s.labels),
    );
    let (mut left_walk, mut right_walk) = (StepWalk::new(lhs), StepWalk::new(rhs));
    let (mut left, mut right) = (Vec::new(), Vec::new());
    if b.op.is_set_operator() {
        // Output series by side and operand position: the operand's own.
        let mut out: HashMap<(Side, usize), RangeSeries> = HashMap::new();
        let mut order = Vec::new();
        for t_ms in steps.times() {
            members_at(&mut left_walk, t_ms, &mut left);
            members_at(&mut right_walk, t_ms, &mut right);
            join.set_step(&left, &right, &mut |side: Side, m: &Member<'_>| {
                let s = out.entry((side, m.series)).or_insert_with(|| {
                    order.push((side, m.series));
                    RangeSeries {
                        labels: m.labels.clone(),
                        points: Vec::new(),
                        drop_name: m.drop_name,
                    }
                });
                s.points.push(Point {
                    t_ms,
                    value: m.value.clone(),
                });
            });
        }
        // Left series before right ones, in operand order: each step's order.
        order.sort_by_key(|&(side, series)| (side == Side::Right, series));
        let series = order
            .into_iter()
            .filter_map(|key| out.remove(&key))
            .collect();
        return Ok(merge_same(series));
    }
    let mut out = Matrix::new();
    for (t_ms, note) in steps.times().zip(notes.iter_mut()) {
        members_at(&mut left_walk, t_ms, &mut left);
        members_at(&mut right_walk, t_ms, &mut right);
        let mut emitted = Vec::new();
        join.step(&left, &right, note, &mut |output, value| {
            emitted.push((output, value));
        })?;
        for (output, value) in emitted {
            while out.len() <= output {
                let (labels, drop_name) = join.output(out.len()).clone();
                out.push(RangeSeries {
                    labels,
                    points: Vec::new(),
                    drop_name,
                });
            }
            out[output].points.push(Point { t_ms, value });
        }
    }
    // Series in the order each step gives its samples, for whatever consumes them per step.
    let mut ranked: Vec<((u8, usize), RangeSeries)> = out
        .into_iter()
        .enumerate()
        .filter(|(_, s)| !s.points.is_empty())
        .map(|(output, s)| (join.rank(output), s))
        .collect();
    ranked.sort_by_key(|(rank, _)| *rank);
    Ok(ranked.into_iter().map(|(_, s)| s).collect())
}

/// The members of the series `walk` has a point for at `t_ms`, into `into`.
fn members_at<'a>(walk: &mut StepWalk<'a>, t_ms: i64, into: &mut Vec<Member<'a>>) {
    into.clear();
    into.extend(
        walk.at(t_ms)
            .map(|(series, s, p)| Member::of_point(series, s, p)),
    );
}

/// `series` with those whose labels and name flag coincide merged into the first of them,
/// points in time order, as gathering the steps' values by series would make them.
fn merge_same(series: Matrix) -> Matrix {
    let mut index: HashMap<(Labels, bool), usize> = HashMap::with_capacity(series.len());
    let mut out: Matrix = Vec::with_capacity(series.len());
    let mut merged = false;
    for s in series {
        match index.get(&(s.labels.clone(), s.drop_name)) {
            Some(&i) => {
                out[i].points.extend(s.points);
                merged = true;
            }
            None => {
                index.insert((s.labels.clone(), s.drop_name), out.len());
                out.push(s);
            }
        }
    }
    if merged {
        for s in &mut out {
            s.points.sort_by_key(|p| p.t_ms);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use crate::promql::eval::testing::{STEPS, assert_same_as_steps, storage};

    #[test]
    fn scalar_and_unary_operations_match_the_step_wise_evaluation() {
        let s = storage();
        for query in [
            "1 + 2",
            "time() / 60",
            "scalar(b{job=\"j2\"}) ^ 2",
            "-time()",
            "a * 2",
            "2 - a",
            "a > 1",
            "1 < a",
            "a >= bool 1",
            "-a",
            "- - a",
            "+a",
            "h * 2",
            "h / 0",
            "h > 1",
            "h </ 1",
            "m - 1",
            "-h",
            "a + scalar(b{job=\"j2\"})",
        ] {
            assert_same_as_steps(&s, query, STEPS).expect(query);
        }
    }

    #[test]
    fn vector_matching_matches_the_step_wise_evaluation() {
        let s = storage();
        for query in [
            "a / on(job) group_left b",
            "b / on(job) group_right a",
            "a - ignoring(instance) group_left(__name__) b",
            "a * on(job) group_left(__name__) -b",
            "a + b",
            "a > on(job) group_left b",
            "a == bool on(job) group_left b",
            "a + on(job) group_left fill(0) b",
            "b - on(job) group_right fill_left(1) a",
            "a + on(job, instance) fill_right(7) b",
            "h + on(job) h",
            "h - on(job) m",
            "m * ignoring() m",
            "a and b",
            "a and on(job) b",
            "a or b",
            "-a or a",
            "a unless on(job) b",
            "a unless on(job) (b > 4)",
            "(a or b) + on(job, instance) group_left a",
            "sum(b{job=\"j1\"} * on() group_right a{instance!=\"3\"})",
        ] {
            assert_same_as_steps(&s, query, STEPS).expect(query);
        }
    }

    #[test]
    fn matching_errors_are_the_step_wise_ones() {
        let s = storage();
        for (query, error) in [
            ("a + on(job) b", "multiple matches for labels: many-to-one"),
            (
                // From the fourth step on.
                "a{job=\"j1\", instance!=\"3\"} + on(job) b",
                "multiple matches for labels: many-to-one",
            ),
            (
                "b + on() b",
                "found duplicate series for the match group {}",
            ),
            (
                // From the fourth step on.
                "b + on(job) a{job=\"j1\", instance!=\"3\"}",
                "found duplicate series for the match group {job=\"j1\"} on the right",
            ),
            (
                // Result labels that coincide: the included label is missing on the "one" side.
                "a * on(job) group_left(instance) b",
                "grouping labels must ensure unique matches",
            ),
        ] {
            let got = assert_same_as_steps(&s, query, STEPS).expect_err(query);
            assert!(got.contains(error), "{query}: {got}");
        }
        let joined = assert_same_as_steps(&s, "a / on(job) group_left b", STEPS);
        assert!(joined.is_ok_and(|text| text.contains("instance")));
    }
}
