//! The tree walk: selectors with lookback and staleness, matrix selectors, subqueries, `offset`
//! and `@`, and the step loop of range queries.
//!
//! Mirrors Prometheus 3 promql/engine.go: every selector is selected before evaluation
//! (`populateSeries`), as a lazy set read when evaluation first needs it (`selected`: step-wise
//! readers materialize it, a range evaluation reading each series once may stream it), then
//! each step evaluates the tree at one timestamp. A vector selector takes the latest sample in
//! the left-open window `(t - lookback, t]` unless that sample is a stale marker
//! (`vectorSelectorSingle`); a matrix selector takes the samples in `(t - range, t]` without
//! stale markers (`matrixIterSlice`). Nothing here knows where the data comes from. `fetch` does the selecting before evaluation; `selected` holds each
//! selector's series; `steps` runs the step loops of range queries and subqueries.

use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};

use shared::labels::Labels;

use super::annotations::{Annotation, Annotations, Evaluated, ForcedMonotonicity, Note, Severity};
use super::parser::{AtModifier, Call, DurationExpr, Expr, MatrixSelector, Span, UnaryOp};
use super::parser::{ValueType, VectorSelector, ast::RangeExtension};
use super::starts::SelectorStarts;
use super::storage::{Point, SampleValue};
use super::value::{Element, Matrix, RangeSeries, Value, Vector, drop_flagged_name};
use super::{EngineError, aggregate, binary, extended, functions};

mod fetch;
mod ranged;
mod selected;
mod steps;

pub(crate) use selected::Selected;
use selected::SelectorSeries;

use ranged::StepValues;
#[cfg(test)]
pub(crate) use ranged::testing;
pub(crate) use ranged::{MatrixWindows, Ranged, StepWalk, StepWindow, Steps, SubqueryPlan};

/// The query's time bounds, in ms; `step_ms` is 0 for an instant query.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct QueryBounds {
    /// First evaluation time (the `@ start()` time).
    pub start_ms: i64,
    /// Last evaluation time (the `@ end()` time).
    pub end_ms: i64,
    /// Distance between evaluation times.
    pub step_ms: i64,
}

/// Most evaluation steps one subquery may take at one outer step; beyond it the query fails as
/// upstream's sample limit would (a `[1y:1ms]` subquery must not run for hours).
const MAX_SUBQUERY_STEPS: i64 = 11_000_000;

/// The series a function call selects for itself, as fetched.
type CallSeries = Vec<(Labels, Vec<Point>)>;

/// Evaluates one parsed query over the series fetched for it.
pub(crate) struct Evaluator {
    lookback_ms: i64,
    subquery_step_ms: i64,
    bounds: QueryBounds,
    /// Each selector's series (lazy until read, see `selected`), keyed by the address of the
    /// selector in the (unmoved) tree.
    selected: HashMap<usize, SelectorSeries>,
    /// Series a function call selects for itself (`info()`), keyed by the call's address.
    call_selected: HashMap<usize, CallSeries>,
    /// Start timestamps of selectors under functions that read them, keyed like `selected`.
    starts: HashMap<usize, SelectorStarts>,
    /// Warnings and infos so far (evaluation takes `&self`; one query is evaluated on one
    /// thread).
    annotations: RefCell<Annotations>,
    /// Inner values of each subquery (keyed by node address) by evaluation time.
    subquery_values: RefCell<HashMap<usize, BTreeMap<i64, Value>>>,
    /// Operands range-evaluated for a node evaluated step by step, keyed by node address (see
    /// `ranged/operands.rs`).
    precomputed: RefCell<HashMap<usize, StepValues>>,
}

/// The address of a node of the (unmoved) tree, as a map key.
fn node_key<T>(node: &T) -> usize {
    std::ptr::from_ref(node) as usize
}

fn key(selector: &VectorSelector) -> usize {
    node_key(selector)
}

impl Evaluator {
    /// The lookback delta, in ms.
    pub(crate) fn lookback_ms(&self) -> i64 {
        self.lookback_ms
    }

    /// Records a warning about the node at `span` (upstream `annotations.PromQLWarning`).
    pub(crate) fn warn(&self, span: Span, message: impl Into<String>) {
        self.annotate(Severity::Warning, span, message.into());
    }

    /// Records an info about the node at `span` (upstream `annotations.PromQLInfo`).
    pub(crate) fn info(&self, span: Span, message: impl Into<String>) {
        self.annotate(Severity::Info, span, message.into());
    }

    /// Records `note` about the node at `span`, as a warning or info as its kind is.
    pub(crate) fn note(&self, span: Span, note: &Note) {
        match note.severity() {
            Severity::Warning => self.warn(span, note.message()),
            Severity::Info => self.info(span, note.message()),
        }
    }

    /// Records that `histogram_quantile` forced monotonicity on the buckets at `span`; such
    /// infos with the same message are reported once, summarised.
    pub(crate) fn info_forced_monotonicity(
        &self,
        span: Span,
        message: String,
        fix: ForcedMonotonicity,
    ) {
        self.annotations
            .borrow_mut()
            .add_forced_monotonicity(message, span, fix);
    }

    fn annotate(&self, severity: Severity, span: Span, message: String) {
        self.annotations.borrow_mut().add(Annotation {
            severity,
            message,
            span,
        });
    }

    /// `value` with the annotations collected while computing it, rendered against `query`.
    pub(crate) fn finish<T>(self, query: &str, value: T) -> Evaluated<T> {
        let (warnings, infos) = self.annotations.into_inner().render(query);
        Evaluated {
            value,
            warnings,
            infos,
        }
    }

    /// The query's bounds (for `step()`, `range()`, `start()`, `end()`).
    pub(crate) fn bounds(&self) -> QueryBounds {
        self.bounds
    }

    /// The evaluation time an `@` modifier pins, or `t_ms`.
    pub(crate) fn base(&self, at: Option<AtModifier>, t_ms: i64) -> i64 {
        match at {
            None => t_ms,
            Some(AtModifier::Timestamp(ms)) => ms,
            Some(AtModifier::Start) => self.bounds.start_ms,
            Some(AtModifier::End) => self.bounds.end_ms,
        }
    }

    /// A duration expression in ms, with `step()` and `range()` of this query.
    pub(crate) fn duration(&self, d: &DurationExpr) -> Result<i64, EngineError> {
        let to_s = |ms: i64| ms as f64 / 1000.0;
        let range_ms = self.bounds.end_ms.saturating_sub(self.bounds.start_ms);
        let ms = d.evaluate_seconds(to_s(self.bounds.step_ms), to_s(range_ms)) * 1000.0;
        if !ms.is_finite() || ms.abs() >= i64::MAX as f64 {
            return Err(EngineError::Runtime(format!(
                "duration out of range: {d:?}"
            )));
        }
        Ok(ms.round() as i64)
    }

    pub(crate) fn offset(&self, offset: &Option<DurationExpr>) -> Result<i64, EngineError> {
        offset.as_ref().map_or(Ok(0), |d| self.duration(d))
    }

    fn selector_series(&self, selector: &VectorSelector) -> Result<&SelectorSeries, EngineError> {
        self.selected.get(&key(selector)).ok_or_else(|| {
            EngineError::Runtime("internal error: selector evaluated without fetching".into())
        })
    }

    /// Every series of `selector`, in label order, for a reader that reads them at many
    /// times (step by step). The first read materializes them; a selector whose series were
    /// streamed by [`Evaluator::each_series`] cannot be read again (an internal error).
    pub(crate) fn series(&self, selector: &VectorSelector) -> Result<&[Selected], EngineError> {
        self.selector_series(selector)?.series()
    }

    /// Calls `f` with each series of `selector`, in label order, for a caller that reads every
    /// series once and keeps nothing of it but what it computes (a range evaluation series by
    /// series). Unless the selector is already materialized or lies under a subquery, the
    /// series are streamed: each is pulled from storage when needed and dropped after `f`,
    /// and the selector cannot be read again (see `eval/selected.rs` for the rule).
    pub(crate) fn each_series(
        &self,
        selector: &VectorSelector,
        f: impl FnMut(&Selected) -> Result<(), EngineError>,
    ) -> Result<(), EngineError> {
        self.selector_series(selector)?.each(f)
    }

    /// The start timestamps fetched for `selector`, if it has any.
    pub(crate) fn start_timestamps(&self, selector: &VectorSelector) -> Option<&SelectorStarts> {
        self.starts.get(&key(selector))
    }

    /// The series `c` selected for itself.
    pub(crate) fn call_series(&self, c: &Call) -> Result<&CallSeries, EngineError> {
        self.call_selected.get(&node_key(c)).ok_or_else(|| {
            EngineError::Runtime("internal error: call evaluated without fetching".into())
        })
    }

    /// The result of an instant query at `t_ms`, with `__name__` dropped where flagged.
    pub(crate) fn instant_result(&self, expr: &Expr, t_ms: i64) -> Result<Value, EngineError> {
        let value = match expr.value_type() {
            // Through the range evaluation, at one step: selectors stream there.
            ValueType::Scalar | ValueType::InstantVector => {
                match self.eval_ranged(expr, Steps::single(t_ms))? {
                    Ranged::Scalar(values) => {
                        Value::Scalar(values.first().copied().unwrap_or(f64::NAN))
                    }
                    Ranged::Vector(series) => Value::Vector(
                        series
                            .into_iter()
                            .flat_map(|s| {
                                let (labels, drop_name) = (s.labels, s.drop_name);
                                s.points.into_iter().map(move |p| Element {
                                    labels: labels.clone(),
                                    value: p.value,
                                    drop_name,
                                })
                            })
                            .collect(),
                    ),
                }
            }
            ValueType::RangeVector | ValueType::String => self.eval(expr, t_ms)?,
        };
        Ok(match value {
            Value::Vector(mut v) => {
                for e in &mut v {
                    drop_flagged_name(&mut e.labels, &mut e.drop_name);
                }
                ensure_unique(v.iter().map(|e| &e.labels))?;
                Value::Vector(v)
            }
            Value::Matrix(mut m) => {
                for s in &mut m {
                    drop_flagged_name(&mut s.labels, &mut s.drop_name);
                }
                ensure_unique(m.iter().map(|s| &s.labels))?;
                Value::Matrix(m)
            }
            other => other,
        })
    }

    /// The value of `expr` at `t_ms`.
    pub(crate) fn eval(&self, expr: &Expr, t_ms: i64) -> Result<Value, EngineError> {
        if let Some(value) = self.precomputed(expr, t_ms) {
            return Ok(value);
        }
        match expr {
            Expr::Number(n) => Ok(Value::Scalar(n.value)),
            Expr::String(s) => Ok(Value::String(s.value.clone())),
            Expr::VectorSelector(s) => self.vector_selector(s, t_ms).map(Value::Vector),
            Expr::MatrixSelector(m) => self.matrix_selector(m, t_ms).map(Value::Matrix),
            Expr::Subquery(sq) => self.subquery(sq, t_ms).map(Value::Matrix),
            Expr::Paren(p) => self.eval(&p.expr, t_ms),
            Expr::Unary(u) => match (u.op, self.eval(&u.expr, t_ms)?) {
                (UnaryOp::Pos, v) => Ok(v),
                (UnaryOp::Neg, Value::Scalar(v)) => Ok(Value::Scalar(-v)),
                (UnaryOp::Neg, Value::Vector(v)) => negate(v).map(Value::Vector),
                (UnaryOp::Neg, other) => Err(EngineError::Runtime(format!(
                    "unary minus on {}",
                    other.type_name()
                ))),
            },
            Expr::Binary(b) => {
                let lhs = self.eval(&b.lhs, t_ms)?;
                let rhs = self.eval(&b.rhs, t_ms)?;
                binary::evaluate(self, b, lhs, rhs)
            }
            Expr::Aggregate(a) => aggregate::evaluate(self, a, t_ms),
            Expr::Call(c) => functions::call(self, c, t_ms),
        }
    }

    fn vector_selector(&self, s: &VectorSelector, t_ms: i64) -> Result<Vector, EngineError> {
        if s.extension == Some(RangeExtension::Smoothed) {
            return extended::smoothed_vector(self, s, t_ms);
        }
        Ok(self
            .vector_selector_points(s, t_ms)?
            .into_iter()
            .map(|(labels, p)| Element {
                labels: labels.clone(),
                value: p.value.clone(),
                drop_name: false,
            })
            .collect())
    }

    /// The sample each series of `s` contributes at `t_ms`, with its own timestamp
    /// (upstream `vectorSelectorSingle`; `timestamp()` needs the sample's time, and upstream
    /// takes it without smoothing).
    pub(crate) fn vector_selector_points(
        &self,
        s: &VectorSelector,
        t_ms: i64,
    ) -> Result<Vec<(&Labels, &Point)>, EngineError> {
        let ref_ms = self
            .base(s.at, t_ms)
            .saturating_sub(self.offset(&s.offset)?);
        let oldest_excluded = ref_ms.saturating_sub(self.lookback_ms);
        let mut out = Vec::new();
        for series in self.series(s)? {
            let end = series.end.count_up_to(&series.points, ref_ms);
            let Some(p) = end.checked_sub(1).and_then(|i| series.points.get(i)) else {
                continue;
            };
            if p.t_ms <= oldest_excluded || p.value.is_stale() {
                continue;
            }
            out.push((&series.labels, p));
        }
        Ok(out)
    }

    fn matrix_selector(&self, m: &MatrixSelector, t_ms: i64) -> Result<Matrix, EngineError> {
        let s = &m.selector;
        if s.extension.is_some() {
            return extended::matrix(self, m, t_ms);
        }
        let ref_ms = self
            .base(s.at, t_ms)
            .saturating_sub(self.offset(&s.offset)?);
        let oldest_excluded = ref_ms.saturating_sub(self.duration(&m.range)?);
        let mut out = Matrix::new();
        for series in self.series(s)? {
            let window = series.window(oldest_excluded, ref_ms);
            if !window.is_empty() {
                out.push(RangeSeries {
                    labels: series.labels.clone(),
                    points: window,
                    drop_name: false,
                });
            }
        }
        Ok(out)
    }
}

fn negate(mut v: Vector) -> Result<Vector, EngineError> {
    for e in &mut v {
        negate_sample(&mut e.value);
        e.drop_name = true;
    }
    Ok(v)
}

/// `-v` for one sample of a vector (whose name is then to be dropped).
pub(crate) fn negate_sample(v: &mut SampleValue) {
    match v {
        SampleValue::Float(f) => *f = -*f,
        SampleValue::Histogram(h) => **h = super::histogram::negate(h),
    }
}

/// Where annotations about `expr` point: upstream removes the parentheses around function
/// arguments and aggregation operands before evaluating (`preprocessExpr`, `unwrapParenExpr`),
/// so its position is that of the expression inside them.
pub(crate) fn unwrapped_span(mut expr: &Expr) -> Span {
    while let Expr::Paren(p) = expr {
        expr = &p.expr;
    }
    expr.span()
}

/// An error for a feature not supported yet.
pub(crate) fn not_implemented(what: &str) -> EngineError {
    EngineError::NotImplemented(what.to_owned())
}

/// Fails when two label sets are equal (upstream `ContainsSameLabelset`).
fn ensure_unique<'a>(labels: impl Iterator<Item = &'a Labels>) -> Result<(), EngineError> {
    let mut seen = std::collections::HashSet::new();
    for l in labels {
        if !seen.insert(l) {
            return Err(EngineError::DuplicateLabelset);
        }
    }
    Ok(())
}
