//! Range evaluation: the value of an expression at every step of a range, computed node by
//! node over the whole range at once (upstream promql/engine.go `rangeEval` and the
//! series-by-series loops of `eval` for matrix-selector functions).
//!
//! [`Evaluator::eval_ranged`] dispatches on the node. Nodes with a range implementation
//! compute all steps in one pass over their input (series by series for selectors and range
//! functions, once per series for an aggregation's grouping); every other node falls back to
//! evaluating the tree at each step ([`Evaluator::eval`]) and gathering the values by series,
//! which is always correct and is what the whole engine did before. Nothing here knows where
//! the data comes from.

#[cfg(test)]
mod equivalence;
mod operands;
mod selectors;
mod subquery;

pub(in crate::promql::eval) use operands::StepValues;

pub(crate) use subquery::SubqueryPlan;

use std::collections::BTreeMap;

use shared::labels::Labels;

pub(crate) use selectors::{MatrixWindows, StepWindow};
pub(super) use subquery::{first_step, forget_reset_hints};

use super::Evaluator;
use crate::promql::parser::{Expr, ValueType};
use crate::promql::storage::{Point, SampleValue};
use crate::promql::value::{Matrix, RangeSeries, Value, drop_flagged_name};
use crate::promql::{EngineError, aggregate, binary, functions};

/// The evaluation times of a range: `start_ms`, `start_ms + step_ms`, … up to `end_ms`
/// inclusive. An instant evaluation is one step (`start_ms == end_ms`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Steps {
    /// The first evaluation time.
    pub start_ms: i64,
    /// The last evaluation time (a multiple of the step after the start, or equal to it).
    pub end_ms: i64,
    /// The distance between evaluation times; positive (any positive value for one step).
    pub step_ms: i64,
}

impl Steps {
    /// The times from `start_ms` to at most `end_ms`, `step_ms` apart; `None` for an empty
    /// range or a step that is not positive.
    pub(crate) fn new(start_ms: i64, end_ms: i64, step_ms: i64) -> Option<Self> {
        if step_ms <= 0 || end_ms < start_ms {
            return None;
        }
        let count = (end_ms - start_ms) / step_ms;
        Some(Self {
            start_ms,
            end_ms: start_ms + count * step_ms,
            step_ms,
        })
    }

    /// One step at `t_ms`.
    #[allow(
        dead_code,
        reason = "for range nodes evaluated at one time (subqueries, instants)"
    )]
    pub(crate) fn single(t_ms: i64) -> Self {
        Self {
            start_ms: t_ms,
            end_ms: t_ms,
            step_ms: 1,
        }
    }

    /// How many evaluation times there are.
    pub(crate) fn len(&self) -> usize {
        usize::try_from((self.end_ms - self.start_ms) / self.step_ms).map_or(usize::MAX, |n| n + 1)
    }

    /// The evaluation times, in order.
    pub(crate) fn times(&self) -> impl Iterator<Item = i64> + use<> {
        let Steps {
            start_ms,
            end_ms,
            step_ms,
        } = *self;
        std::iter::successors(Some(start_ms), move |t| {
            t.checked_add(step_ms).filter(|next| *next <= end_ms)
        })
    }

    /// The index of evaluation time `t_ms`, if it is one.
    pub(crate) fn index_of(&self, t_ms: i64) -> Option<usize> {
        let offset = t_ms.checked_sub(self.start_ms)?;
        if t_ms > self.end_ms || offset < 0 || offset % self.step_ms != 0 {
            return None;
        }
        usize::try_from(offset / self.step_ms).ok()
    }
}

/// An expression's value at every step of a range.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Ranged {
    /// A scalar expression: one value per step, in step order.
    Scalar(Vec<f64>),
    /// An instant-vector expression: each series with a point at the steps where it has a
    /// value (point times are step times, increasing). Labels with their `drop_name` flag are
    /// unique.
    Vector(Matrix),
}

/// Walks the series of a range vector step by step: at each step, the series with a point
/// there, in series order. Steps must be asked for in increasing order.
pub(crate) struct StepWalk<'a> {
    series: &'a [RangeSeries],
    /// Per series, its first point not handed out yet.
    next: Vec<usize>,
}

impl<'a> StepWalk<'a> {
    /// A walk over `series` from its first points.
    pub(crate) fn new(series: &'a [RangeSeries]) -> Self {
        Self {
            series,
            next: vec![0; series.len()],
        }
    }

    /// The series (position and series) with a point at `t_ms`, with that point.
    pub(crate) fn at(
        &mut self,
        t_ms: i64,
    ) -> impl Iterator<Item = (usize, &'a RangeSeries, &'a Point)> + '_ {
        let series = self.series;
        series
            .iter()
            .zip(self.next.iter_mut())
            .enumerate()
            .filter_map(move |(i, (s, next))| {
                let p = s.points.get(*next).filter(|p| p.t_ms == t_ms)?;
                *next += 1;
                Some((i, s, p))
            })
    }
}

impl Evaluator {
    /// The value of `expr` (a scalar or instant-vector expression) at every step of `steps`.
    pub(crate) fn eval_ranged(&self, expr: &Expr, steps: Steps) -> Result<Ranged, EngineError> {
        match expr {
            Expr::Number(n) => Ok(Ranged::Scalar(vec![n.value; steps.len()])),
            Expr::Paren(p) => self.eval_ranged(&p.expr, steps),
            Expr::VectorSelector(s) if s.extension.is_none() => {
                self.ranged_vector_selector(s, steps).map(Ranged::Vector)
            }
            Expr::Call(c) => match functions::ranged(self, c, steps)? {
                Some(ranged) => Ok(ranged),
                None => self.ranged_by_steps(expr, steps),
            },
            Expr::Aggregate(a) => match aggregate::ranged::evaluate(self, a, steps)? {
                Some(ranged) => Ok(ranged),
                None => self.ranged_by_steps(expr, steps),
            },
            Expr::Binary(b) => binary::ranged::evaluate(self, b, steps),
            Expr::Unary(u) => binary::ranged::unary(self, u, steps),
            _ => self.ranged_by_steps(expr, steps),
        }
    }

    /// The fallback: `expr` evaluated at each step and gathered by series.
    pub(crate) fn ranged_by_steps(&self, expr: &Expr, steps: Steps) -> Result<Ranged, EngineError> {
        let operands = self.precompute_operands(expr, steps)?;
        let result = self.gathered_by_steps(expr, steps);
        self.forget_operands(&operands);
        result
    }

    /// `expr` evaluated at each step and gathered by series (its operands may be precomputed).
    fn gathered_by_steps(&self, expr: &Expr, steps: Steps) -> Result<Ranged, EngineError> {
        if steps.len() == 1 {
            return self.ranged_at_one_step(expr, steps.start_ms);
        }
        let gathered = self.gather(steps.start_ms, steps.end_ms, steps.step_ms, |t| {
            self.eval(expr, t)
        })?;
        if expr.value_type() != ValueType::Scalar {
            return Ok(Ranged::Vector(gathered.into_values().collect()));
        }
        // A scalar has a value at every step; gathering made it one series without labels.
        let mut values = Vec::with_capacity(steps.len());
        let points = gathered
            .into_values()
            .next()
            .map(|s| s.points)
            .unwrap_or_default();
        for p in points {
            if let SampleValue::Float(v) = p.value {
                values.push(v);
            }
        }
        if values.len() != steps.len() {
            return Err(EngineError::Runtime(
                "internal error: a scalar without a value at some step".into(),
            ));
        }
        Ok(Ranged::Scalar(values))
    }

    /// The fallback at a single step: `expr` evaluated at `t_ms`, each element a series of one
    /// point in the order evaluation gave them, duplicates kept, so that an instant query's
    /// result keeps its order (`sort`, `topk`) and still refuses duplicate label sets at the end.
    fn ranged_at_one_step(&self, expr: &Expr, t_ms: i64) -> Result<Ranged, EngineError> {
        match self.eval(expr, t_ms)? {
            Value::Scalar(v) => Ok(Ranged::Scalar(vec![v])),
            Value::Vector(v) => Ok(Ranged::Vector(
                v.into_iter()
                    .map(|e| RangeSeries {
                        labels: e.labels,
                        points: vec![Point {
                            t_ms,
                            value: e.value,
                        }],
                        drop_name: e.drop_name,
                    })
                    .collect(),
            )),
            other => Err(EngineError::Runtime(format!(
                "cannot evaluate {} over steps",
                other.type_name()
            ))),
        }
    }

    /// The result of a range query: `expr` over the query's steps, series sorted by labels.
    /// Series whose labels coincide once names are dropped merge, unless they have points at
    /// the same time (upstream `cleanupMetricLabels` and `mergeSeriesWithSameLabelset`).
    pub(crate) fn range_result(&self, expr: &Expr) -> Result<Matrix, EngineError> {
        let b = self.bounds;
        let Some(steps) = Steps::new(b.start_ms, b.end_ms, b.step_ms) else {
            return Err(EngineError::NonPositiveStep);
        };
        let series = match self.eval_ranged(expr, steps)? {
            Ranged::Scalar(values) => vec![RangeSeries {
                labels: Labels::empty(),
                points: steps
                    .times()
                    .zip(values)
                    .map(|(t_ms, v)| Point {
                        t_ms,
                        value: SampleValue::Float(v),
                    })
                    .collect(),
                drop_name: false,
            }],
            Ranged::Vector(series) => series,
        };
        let mut merged: BTreeMap<Labels, Vec<Point>> = BTreeMap::new();
        for mut s in series {
            if s.points.is_empty() {
                continue;
            }
            drop_flagged_name(&mut s.labels, &mut s.drop_name);
            merged.entry(s.labels).or_default().extend(s.points);
        }
        merged
            .into_iter()
            .map(|(labels, mut points)| {
                points.sort_by_key(|p| p.t_ms);
                if points.windows(2).any(|w| w[0].t_ms == w[1].t_ms) {
                    return Err(EngineError::DuplicateLabelset);
                }
                Ok(RangeSeries {
                    labels,
                    points,
                    drop_name: false,
                })
            })
            .collect()
    }
}

/// Checking a range node against the step-wise evaluation it replaces.
#[cfg(test)]
pub(crate) mod testing {
    use super::{Ranged, Steps};
    use crate::promql::eval::{Evaluator, QueryBounds};
    use crate::promql::parser;
    use crate::promql::storage::memory::MemoryStorage;
    use crate::promql::storage::{Point, Queryable, SampleValue};
    use crate::promql::{EngineConfig, value::Matrix};
    use shared::histogram::FloatHistogram;
    use shared::labels::Labels;

    /// The steps [`storage`] is meant for: 0 to 20 min by 1 min.
    pub(crate) const STEPS: (i64, i64, i64) = (0, 1_200_000, 60_000);

    /// Series over 20 minutes at a 30 s interval, with what makes range evaluation differ
    /// from a plain loop if it gets anything wrong: series starting late, ending early (by a
    /// stale marker or by stopping, so the lookback keeps them a while), a gap, NaN and
    /// infinite values, native histograms, and floats and histograms under one name.
    /// `a{job, instance}` (six series), `b{job}` (two), `h{job}` (histograms), `m{job}` (a mix).
    pub(crate) fn storage() -> MemoryStorage {
        let mut s = MemoryStorage::new();
        let mut add =
            |labels: &[(&str, &str)], from: i64, to: i64, value: &dyn Fn(i64) -> SampleValue| {
                let labels = Labels::from_pairs(labels.iter().copied());
                for i in from..to {
                    let point = Point {
                        t_ms: i * 30_000,
                        value: value(i),
                    };
                    s.append(&labels, point);
                }
            };
        let float = |f: f64| SampleValue::Float(f);
        add(
            &[("__name__", "a"), ("job", "j1"), ("instance", "1")],
            0,
            40,
            &|i| float(i as f64 * 0.1),
        );
        add(
            &[("__name__", "a"), ("job", "j1"), ("instance", "2")],
            6,
            40,
            &|i| float(1e16 + i as f64),
        );
        add(
            &[("__name__", "a"), ("job", "j1"), ("instance", "3")],
            0,
            12,
            &|i| float(3.0 - i as f64),
        );
        add(
            &[("__name__", "a"), ("job", "j2"), ("instance", "1")],
            0,
            40,
            &|i| float(if i % 7 == 3 { f64::NAN } else { i as f64 }),
        );
        add(
            &[("__name__", "a"), ("job", "j2"), ("instance", "2")],
            0,
            25,
            &|i| {
                float(if i == 24 {
                    shared::series::stale_nan()
                } else {
                    -(i as f64)
                })
            },
        );
        add(
            &[("__name__", "a"), ("job", "j2"), ("instance", "2")],
            32,
            40,
            &|i| float(i as f64 / 3.0),
        );
        add(
            &[("__name__", "a"), ("job", "j3"), ("instance", "9")],
            10,
            30,
            &|i| float(if i == 20 { f64::INFINITY } else { 2.0 }),
        );
        add(&[("__name__", "b"), ("job", "j1")], 0, 40, &|i| {
            float(1.0 + i as f64)
        });
        add(&[("__name__", "b"), ("job", "j2")], 8, 30, &|_| float(4.0));
        let histogram = |i: i64| {
            SampleValue::Histogram(Box::new(FloatHistogram {
                count: 2.0 * i as f64,
                sum: 3.0 * i as f64,
                zero_count: i as f64,
                ..FloatHistogram::default()
            }))
        };
        add(&[("__name__", "h"), ("job", "j1")], 0, 40, &histogram);
        add(&[("__name__", "h"), ("job", "j2")], 10, 30, &histogram);
        add(&[("__name__", "m"), ("job", "j1")], 0, 40, &|i| {
            float(i as f64)
        });
        add(&[("__name__", "m"), ("job", "j2")], 0, 40, &|i| {
            if i % 10 < 5 { histogram(i) } else { float(5.0) }
        });
        s
    }

    /// Evaluates `query` over `[start_ms, end_ms]` both by [`Evaluator::eval_ranged`] and step
    /// by step, and asserts the same series (in any order, floats bit for bit), annotations
    /// and error. Returns the series (as text) or the error.
    pub(crate) fn assert_same_as_steps(
        storage: &dyn Queryable,
        query: &str,
        (start_ms, end_ms, step_ms): (i64, i64, i64),
    ) -> Result<String, String> {
        let expr = parser::parse(query).expect("the test query parses");
        let steps = Steps::new(start_ms, end_ms, step_ms).expect("valid test steps");
        let bounds = QueryBounds {
            start_ms,
            end_ms,
            step_ms,
        };
        let run = |ranged: bool| {
            let ev = Evaluator::new(&EngineConfig::default(), storage, &expr, bounds)
                .expect("the test storage answers");
            let result = if ranged {
                ev.eval_ranged(&expr, steps)
            } else {
                ev.ranged_by_steps(&expr, steps)
            };
            let result = result.map(describe).map_err(|e| e.to_string());
            let evaluated = ev.finish(query, ());
            (result, evaluated.warnings, evaluated.infos)
        };
        let (ranged, stepped) = (run(true), run(false));
        assert_eq!(ranged, stepped, "{query}");
        ranged.0
    }

    /// The value in a form that compares NaNs and ignores the order of series.
    fn describe(value: Ranged) -> String {
        match value {
            Ranged::Scalar(values) => format!("{values:?}"),
            Ranged::Vector(mut series) => {
                series.retain(|s| !s.points.is_empty());
                series.sort_by(|a, b| (&a.labels, a.drop_name).cmp(&(&b.labels, b.drop_name)));
                let series: Matrix = series;
                format!("{series:?}")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Steps;

    #[test]
    fn steps_count_and_times() {
        let steps = Steps::new(1_000, 10_500, 2_000).expect("valid");
        assert_eq!(steps.end_ms, 9_000);
        assert_eq!(steps.len(), 5);
        let times: Vec<i64> = steps.times().collect();
        assert_eq!(times, vec![1_000, 3_000, 5_000, 7_000, 9_000]);
        assert_eq!(steps.index_of(5_000), Some(2));
        assert_eq!(steps.index_of(5_001), None);
        assert_eq!(steps.index_of(11_000), None);
        assert_eq!(steps.index_of(-1_000), None);
    }

    #[test]
    fn single_step_and_invalid_ranges() {
        let one = Steps::single(42);
        assert_eq!(one.len(), 1);
        assert_eq!(one.times().collect::<Vec<_>>(), vec![42]);
        assert_eq!(Steps::new(0, 10, 0), None);
        assert_eq!(Steps::new(10, 0, 1), None);
    }
}
