//! Aggregations over a whole range at once (upstream engine.go `rangeEvalAgg`): the input is
//! evaluated over the range, its series are put in groups once, then each step hands the
//! series with a point at that step to the same step function as the step-wise evaluation,
//! in the input's series order, so results (summation order included) and annotations are
//! the step-wise ones.
//!
//! Knows steps and series; nothing of storage, or of how the input was evaluated.

use std::collections::HashMap;

use shared::labels::Labels;

use super::groups::Plan;
use super::{Member, Output, Param, param_value, parameter, step};
use crate::promql::EngineError;
use crate::promql::eval::{Evaluator, Ranged, StepWalk, Steps};
use crate::promql::parser::{AggregateExpr, AggregateOp};
use crate::promql::storage::{Point, SampleValue};
use crate::promql::value::{Matrix, RangeSeries, Value};

/// `a` at every step of `steps`; `None` when an operand is not of the type the aggregation
/// takes (the caller then evaluates step by step, which reports the error as it always has).
pub(crate) fn evaluate(
    ev: &Evaluator,
    a: &AggregateExpr,
    steps: Steps,
) -> Result<Option<Ranged>, EngineError> {
    // An instant query's `topk` and `bottomk` list their elements in heap order (upstream
    // returns them so; eval_ordered tests check it), which the step-wise evaluation gives.
    // Decided before reading anything: a selector read here may be streamed, and then cannot
    // be read again by the fallback.
    if steps.len() == 1 && matches!(a.op, AggregateOp::Topk | AggregateOp::Bottomk) {
        return Ok(None);
    }
    let Some(params) = parameters(ev, a, steps)? else {
        return Ok(None);
    };
    let input = match ev.eval_ranged(&a.expr, steps)? {
        Ranged::Vector(input) => input,
        Ranged::Scalar(_) => return Ok(None),
    };
    let plan = Plan::new(a, input.iter().map(|s| &s.labels));
    let mut walk = StepWalk::new(&input);
    let mut members = Vec::with_capacity(input.len());
    let mut groups = Vec::new();
    let mut out = Outputs::new(&plan, &input);
    for (t_ms, param) in steps.times().zip(params) {
        members.clear();
        members.extend(
            walk.at(t_ms)
                .map(|(series, s, p)| Member::of_point(series, s, p)),
        );
        step(ev, a, &plan, &param, &members, &mut groups, &mut |o| {
            out.add(o, t_ms);
        })?;
    }
    Ok(Some(Ranged::Vector(out.finish())))
}

/// The checked parameter at every step: scalar parameters evaluated over the range, a
/// `count_values` label (a string) at each step. `None` when a scalar parameter is not one.
fn parameters(
    ev: &Evaluator,
    a: &AggregateExpr,
    steps: Steps,
) -> Result<Option<Vec<Param>>, EngineError> {
    let scalar = matches!(
        a.op,
        AggregateOp::Topk
            | AggregateOp::Bottomk
            | AggregateOp::Limitk
            | AggregateOp::LimitRatio
            | AggregateOp::Quantile
    );
    let values = match (&a.param, scalar) {
        (Some(p), true) => match ev.eval_ranged(p, steps)? {
            Ranged::Scalar(values) => Some(values),
            Ranged::Vector(_) => return Ok(None),
        },
        _ => None,
    };
    let mut params = Vec::with_capacity(steps.len());
    for (i, t_ms) in steps.times().enumerate() {
        let value = || match values.as_ref().and_then(|v| v.get(i)) {
            Some(v) => Ok(Value::Scalar(*v)),
            None => param_value(ev, a, t_ms),
        };
        params.push(parameter(ev, a, value)?);
    }
    Ok(Some(params))
}

/// The output series as steps add points to them, in order of first output.
struct Outputs<'a> {
    plan: &'a Plan,
    input: &'a Matrix,
    /// The output series, each with its rank: where its samples come in a step's output
    /// relative to the others (group number, input position, or order of appearance).
    series: Vec<((usize, bool), RangeSeries)>,
    /// Per group, its output series without and with the name flag.
    by_group: Vec<[Option<usize>; 2]>,
    /// Per input series, its output series.
    by_series: Vec<Option<usize>>,
    /// `count_values` outputs by labels.
    by_labels: HashMap<Labels, usize>,
}

impl<'a> Outputs<'a> {
    fn new(plan: &'a Plan, input: &'a Matrix) -> Self {
        Outputs {
            plan,
            input,
            series: Vec::new(),
            by_group: vec![[None; 2]; plan.group_count()],
            by_series: vec![None; input.len()],
            by_labels: HashMap::new(),
        }
    }

    fn add(&mut self, o: Output, t_ms: i64) {
        let (slot, value) = match o {
            Output::Group {
                group,
                value,
                drop_name,
            } => {
                let plan = self.plan;
                let slot = Self::slot(
                    &mut self.series,
                    &mut self.by_group[group][usize::from(drop_name)],
                    || ((group, drop_name), plan.labels(group).clone(), drop_name),
                );
                (slot, value)
            }
            Output::Series { series: i, value } => {
                let s = &self.input[i];
                let slot = Self::slot(&mut self.series, &mut self.by_series[i], || {
                    ((i, false), s.labels.clone(), s.drop_name)
                });
                (slot, value)
            }
            Output::Counted { labels, count } => {
                let slot = match self.by_labels.get(&labels) {
                    Some(&slot) => slot,
                    None => {
                        let (mut fresh, rank) = (None, (self.series.len(), false));
                        let slot = Self::slot(&mut self.series, &mut fresh, || {
                            (rank, labels.clone(), false)
                        });
                        self.by_labels.insert(labels, slot);
                        slot
                    }
                };
                (slot, SampleValue::Float(count))
            }
        };
        self.series[slot].1.points.push(Point { t_ms, value });
    }

    /// The output series `known` names, made (with the rank and labels `make` gives) if
    /// there is none yet.
    fn slot(
        series: &mut Vec<((usize, bool), RangeSeries)>,
        known: &mut Option<usize>,
        make: impl FnOnce() -> ((usize, bool), Labels, bool),
    ) -> usize {
        *known.get_or_insert_with(|| {
            let (rank, labels, drop_name) = make();
            let points = Vec::new();
            series.push((
                rank,
                RangeSeries {
                    labels,
                    points,
                    drop_name,
                },
            ));
            series.len() - 1
        })
    }

    /// The output series in the order each step gives its samples (as far as one order can).
    fn finish(mut self) -> Matrix {
        self.series.sort_by_key(|(rank, _)| *rank);
        self.series.into_iter().map(|(_, s)| s).collect()
    }
}

#[cfg(test)]
mod tests {
    use crate::promql::eval::testing::{STEPS, assert_same_as_steps, storage};

    #[test]
    fn value_aggregations_match_the_step_wise_evaluation() {
        let s = storage();
        for op in [
            "sum", "avg", "count", "group", "min", "max", "stddev", "stdvar",
        ] {
            for grouping in ["", " by (job)", " without (instance)", " by (__name__)"] {
                for operand in ["a", "h", "m", "-a", "{__name__=~\"a|b\"}", "(-a or b)"] {
                    let query = format!("{op}{grouping} ({operand})");
                    assert_same_as_steps(&s, &query, STEPS).expect(&query);
                }
            }
        }
    }

    #[test]
    fn parameterised_aggregations_match_the_step_wise_evaluation() {
        let s = storage();
        for query in [
            "quantile(0.5, a)",
            "quantile by (job) (0.9, a)",
            "quantile(1.5, m)",
            "quantile(scalar(b{job=\"j2\"}) / 8, a)",
            "topk(2, a)",
            "bottomk by (job) (1, a)",
            "topk(scalar(b{job=\"j1\"}) - 10, a)",
            "topk by (job) (1, m)",
            "limitk(1, a)",
            "limitk by (job) (2, -a)",
            "limitk(-1, a)",
            "limit_ratio(0.5, a)",
            "limit_ratio(-0.3, a)",
            "limit_ratio(2, a)",
            "limit_ratio(0, a)",
            "count_values(\"v\", a)",
            "count_values by (job) (\"job\", b)",
            "count_values(\"v\", h)",
            "sum(sum by (job) (a))",
        ] {
            assert_same_as_steps(&s, query, STEPS).expect(query);
        }
    }

    #[test]
    fn parameter_errors_are_the_step_wise_ones() {
        let s = storage();
        for (query, error) in [
            ("topk(NaN, a)", "Parameter value is NaN"),
            (
                "limit_ratio(scalar(b{job=\"j2\"}) - 4, a)",
                "Ratio value is NaN",
            ),
            ("count_values(\"\", a)", "invalid label name"),
        ] {
            let got = assert_same_as_steps(&s, query, STEPS).expect_err(query);
            assert!(got.contains(error), "{query}: {got}");
        }
    }
}
