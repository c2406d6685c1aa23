//! Operands evaluated over the whole range for a node that itself is evaluated step by step.
//!
//! A node without a range implementation (`histogram_quantile`, `sort`, …) falls back to
//! evaluating the tree at each step. Its operands need not: they are range-evaluated once
//! (series by series, streaming their selectors) and kept per step, and the step-wise
//! evaluation of the node reads them from there ([`Evaluator::eval`] asks
//! [`Evaluator::precomputed`] first). Only operands read at the node's own evaluation times
//! qualify: scalar and instant-vector arguments of calls, aggregations and operators, and
//! not those of functions that look at more than the operand's values (`timestamp` and
//! `start_timestamp` read each sample's own times; `info` selects its own series around its
//! argument).
//!
//! Nothing here knows what a node does with its operands.

use super::{Ranged, Steps};
use crate::promql::EngineError;
use crate::promql::eval::{Evaluator, node_key};
use crate::promql::parser::{Expr, ValueType};
use crate::promql::value::{Element, Value};

/// An operand's value at every step of a range, step by step.
#[derive(Debug)]
pub(crate) struct StepValues {
    steps: Steps,
    values: Vec<Value>,
}

impl StepValues {
    /// `ranged` (the operand over `steps`) turned step by step; the elements of a step keep
    /// the order of the series.
    fn new(ranged: Ranged, steps: Steps) -> Self {
        let values = match ranged {
            Ranged::Scalar(values) => values.into_iter().map(Value::Scalar).collect(),
            Ranged::Vector(series) => {
                let mut vectors: Vec<Vec<Element>> = vec![Vec::new(); steps.len()];
                for s in series {
                    for p in s.points {
                        if let Some(vector) =
                            steps.index_of(p.t_ms).and_then(|i| vectors.get_mut(i))
                        {
                            vector.push(Element {
                                labels: s.labels.clone(),
                                value: p.value,
                                drop_name: s.drop_name,
                            });
                        }
                    }
                }
                vectors.into_iter().map(Value::Vector).collect()
            }
        };
        Self { steps, values }
    }

    /// The value at evaluation time `t_ms`, if it is one of the steps.
    fn at(&self, t_ms: i64) -> Option<Value> {
        self.steps
            .index_of(t_ms)
            .and_then(|i| self.values.get(i))
            .cloned()
    }
}

/// The operands of `expr` to range-evaluate before evaluating it step by step.
fn operands(expr: &Expr) -> Vec<&Expr> {
    let qualifies =
        |e: &&Expr| matches!(e.value_type(), ValueType::Scalar | ValueType::InstantVector);
    match expr {
        Expr::Call(c) if matches!(c.function.name, "timestamp" | "start_timestamp" | "info") => {
            Vec::new()
        }
        Expr::Call(c) => c.args.iter().filter(qualifies).collect(),
        Expr::Aggregate(a) => a
            .param
            .iter()
            .map(|p| &**p)
            .chain([&*a.expr])
            .filter(qualifies)
            .collect(),
        Expr::Binary(b) => [&*b.lhs, &*b.rhs].into_iter().filter(qualifies).collect(),
        Expr::Unary(u) => [&*u.expr].into_iter().filter(qualifies).collect(),
        _ => Vec::new(),
    }
}

impl Evaluator {
    /// Range-evaluates the operands of `expr` over `steps` and keeps them for its step-wise
    /// evaluation; returns their keys, for [`Evaluator::forget_operands`].
    pub(super) fn precompute_operands(
        &self,
        expr: &Expr,
        steps: Steps,
    ) -> Result<Vec<usize>, EngineError> {
        let mut keys = Vec::new();
        for operand in operands(expr) {
            let values = StepValues::new(self.eval_ranged(operand, steps)?, steps);
            let key = node_key(operand);
            self.precomputed.borrow_mut().insert(key, values);
            keys.push(key);
        }
        Ok(keys)
    }

    /// Drops the operands [`Evaluator::precompute_operands`] kept.
    pub(super) fn forget_operands(&self, keys: &[usize]) {
        let mut precomputed = self.precomputed.borrow_mut();
        for key in keys {
            precomputed.remove(key);
        }
    }

    /// The value of `expr` at `t_ms` if it was precomputed as an operand.
    pub(in crate::promql::eval) fn precomputed(&self, expr: &Expr, t_ms: i64) -> Option<Value> {
        let precomputed = self.precomputed.borrow();
        if precomputed.is_empty() {
            return None;
        }
        precomputed.get(&node_key(expr)).and_then(|v| v.at(t_ms))
    }
}
