//! The step loops: steps gathered into series, and subqueries, whose inner
//! steps are evaluated once per time even where outer windows overlap (upstream
//! promql/engine.go `rangeEval` and `evalSubquery`).

use std::collections::{BTreeMap, HashMap};

use shared::labels::Labels;

use super::ranged::{first_step, forget_reset_hints};
use super::{Evaluator, MAX_SUBQUERY_STEPS, node_key};
use crate::promql::EngineError;
use crate::promql::parser::SubqueryExpr;
use crate::promql::storage::{Point, SampleValue};
use crate::promql::value::{Matrix, RangeSeries, Value};

impl Evaluator {
    /// The values `at` gives at every step in `[from_ms, to_ms]`, gathered by series.
    pub(super) fn gather(
        &self,
        from_ms: i64,
        to_ms: i64,
        step_ms: i64,
        mut at: impl FnMut(i64) -> Result<Value, EngineError>,
    ) -> Result<BTreeMap<(Labels, bool), RangeSeries>, EngineError> {
        let mut gathered = Gathered::default();
        let mut add = |labels: Labels, drop_name: bool, point: Point| {
            gathered.add(labels, drop_name, point);
        };
        let mut t = from_ms;
        while t <= to_ms {
            match at(t)? {
                Value::Scalar(v) => add(
                    Labels::empty(),
                    false,
                    Point {
                        t_ms: t,
                        value: SampleValue::Float(v),
                    },
                ),
                Value::Vector(v) => {
                    for e in v {
                        add(
                            e.labels,
                            e.drop_name,
                            Point {
                                t_ms: t,
                                value: e.value,
                            },
                        );
                    }
                }
                other => {
                    return Err(EngineError::Runtime(format!(
                        "cannot evaluate {} over steps",
                        other.type_name()
                    )));
                }
            }
            t = match t.checked_add(step_ms) {
                Some(next) => next,
                None => break,
            };
        }
        Ok(gathered.into_map())
    }

    /// `expr[range:step]`: steps aligned to multiples of the step, in `(t - range, t]`
    /// (upstream `evalSubquery`); histograms lose "reset"/"not reset" hints.
    pub(super) fn subquery(&self, sq: &SubqueryExpr, t_ms: i64) -> Result<Matrix, EngineError> {
        let step_ms = match &sq.step {
            Some(d) => self.duration(d)?,
            None => self.subquery_step_ms,
        };
        if step_ms <= 0 {
            return Err(EngineError::NonPositiveStep);
        }
        let end = self
            .base(sq.at, t_ms)
            .saturating_sub(self.offset(&sq.offset)?);
        let start = end.saturating_sub(self.duration(&sq.range)?);
        let first = first_step(start, step_ms);
        let steps = end.saturating_sub(first) / step_ms;
        if steps >= MAX_SUBQUERY_STEPS {
            return Err(EngineError::TooManySamples);
        }
        let mut series: Matrix = self
            .gather(first, end, step_ms, |t| self.subquery_step(sq, t))?
            .into_values()
            .collect();
        // Outer steps move forward: inner values before this window are not asked for again
        // (and are evaluated anew if they are).
        if let Some(values) = self.subquery_values.borrow_mut().get_mut(&node_key(sq)) {
            *values = values.split_off(&first);
        }
        forget_reset_hints(&mut series);
        Ok(series)
    }

    /// The subquery's inner expression at `t_ms`, evaluated once per time: the windows of
    /// successive outer steps overlap (upstream evaluates the inner expression once over the
    /// whole range for the same reason). Evaluation depends only on the time, so this is exact.
    fn subquery_step(&self, sq: &SubqueryExpr, t_ms: i64) -> Result<Value, EngineError> {
        let key = node_key(sq);
        if let Some(value) = self
            .subquery_values
            .borrow()
            .get(&key)
            .and_then(|values| values.get(&t_ms))
        {
            return Ok(value.clone());
        }
        let value = self.eval(&sq.expr, t_ms)?;
        self.subquery_values
            .borrow_mut()
            .entry(key)
            .or_default()
            .insert(t_ms, value.clone());
        Ok(value)
    }
}

/// Points gathered by series over the steps of a range. A step usually yields its series in
/// the order of the step before, so the series after the one last added is tried first and
/// the index (hashing every label) is consulted only when that guess fails.
#[derive(Default)]
struct Gathered {
    series: Vec<RangeSeries>,
    index: HashMap<(Labels, bool), usize>,
    next: usize,
}

impl Gathered {
    fn add(&mut self, labels: Labels, drop_name: bool, point: Point) {
        let guessed = self
            .series
            .get(self.next)
            .is_some_and(|s| s.drop_name == drop_name && s.labels == labels);
        let i = if guessed {
            self.next
        } else {
            let key = (labels, drop_name);
            match self.index.get(&key) {
                Some(&i) => i,
                None => {
                    let i = self.series.len();
                    self.series.push(RangeSeries {
                        labels: key.0.clone(),
                        points: Vec::new(),
                        drop_name,
                    });
                    self.index.insert(key, i);
                    i
                }
            }
        };
        if let Some(s) = self.series.get_mut(i) {
            s.points.push(point);
        }
        self.next = i + 1;
    }

    fn into_map(self) -> BTreeMap<(Labels, bool), RangeSeries> {
        self.series
            .into_iter()
            .map(|s| ((s.labels.clone(), s.drop_name), s))
            .collect()
    }
}
