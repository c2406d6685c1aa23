//! The tree walk: selectors with lookback and staleness, matrix selectors, subqueries, `offset`
//! and `@`, and the step loop of range queries.
//!
//! Mirrors Prometheus 3 promql/engine.go: series are fetched for every selector before
//! evaluation (`populateSeries`), then each step evaluates the tree at one timestamp. A vector
//! selector takes the latest sample in the left-open window `(t - lookback, t]` unless that
//! sample is a stale marker (`vectorSelectorSingle`); a matrix selector takes the samples in
//! `(t - range, t]` without stale markers (`matrixIterSlice`). Nothing here knows where the
//! data comes from.

use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};

use shared::histogram::CounterResetHint;
use shared::labels::Labels;

use super::annotations::{Annotation, Annotations, Evaluated, ForcedMonotonicity, Note, Severity};
use super::cursor::Cursor;
use super::parser::{
    AtModifier, Call, DurationExpr, Expr, Grouping, MatrixSelector, Span, SubqueryExpr, UnaryOp,
};
use super::parser::{VectorSelector, ast::RangeExtension};
use super::starts::{self, SelectorStarts};
use super::storage::{Point, Queryable, SampleValue, SelectHints};
use super::value::{Element, Matrix, RangeSeries, Value, Vector, drop_flagged_name};
use super::{EngineConfig, EngineError, aggregate, binary, extended, functions, histogram_stats};

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

/// The series of one selector, as fetched.
type SelectedSeries = Vec<Selected>;

/// The series a function call selects for itself, as fetched.
type CallSeries = Vec<(Labels, Vec<Point>)>;

/// One fetched series, with where the last evaluation time fell in its samples.
pub(crate) struct Selected {
    /// The series' labels.
    pub(crate) labels: Labels,
    /// Its samples in increasing time order.
    pub(crate) points: Vec<Point>,
    /// Whether any sample is a stale marker (else windows are copied without looking).
    has_stale: bool,
    /// Samples at or before the evaluation time.
    end: Cursor,
    /// Samples at or before the start of a matrix selector's window.
    start: Cursor,
}

impl Selected {
    /// The samples in `(from_ms, to_ms]` without stale markers. Times mostly move forward
    /// from one call to the next, which the cursors make cheap.
    pub(crate) fn window(&self, from_ms: i64, to_ms: i64) -> Vec<Point> {
        let from = self.start.count_up_to(&self.points, from_ms);
        let to = self.end.count_up_to(&self.points, to_ms);
        let in_range = self.points.get(from..to).unwrap_or_default();
        if self.has_stale {
            let mut window = Vec::with_capacity(in_range.len());
            window.extend(in_range.iter().filter(|p| !p.value.is_stale()).cloned());
            window
        } else {
            in_range.to_vec()
        }
    }
}

/// Evaluates one parsed query over the series fetched for it.
pub(crate) struct Evaluator {
    lookback_ms: i64,
    subquery_step_ms: i64,
    bounds: QueryBounds,
    /// Selected series keyed by the address of their selector in the (unmoved) tree.
    selected: HashMap<usize, SelectedSeries>,
    /// Series a function call selects for itself (`info()`), keyed by the call's address.
    call_selected: HashMap<usize, CallSeries>,
    /// Start timestamps of selectors under functions that read them, keyed like `selected`.
    starts: HashMap<usize, SelectorStarts>,
    /// Warnings and infos so far (evaluation takes `&self`; one query is evaluated on one
    /// thread).
    annotations: RefCell<Annotations>,
    /// Inner values of each subquery (keyed by node address) by evaluation time.
    subquery_values: RefCell<HashMap<usize, BTreeMap<i64, Value>>>,
}

/// What encloses a selector, passed on in its [`SelectHints`] (upstream `populateSeries`:
/// the closest function, the innermost subquery's step, the directly enclosing aggregation's
/// grouping).
#[derive(Debug, Clone, Copy)]
struct Around<'e> {
    func: Option<&'static str>,
    step_ms: i64,
    grouping: Option<&'e Grouping>,
}

/// The address of a node of the (unmoved) tree, as a map key.
fn node_key<T>(node: &T) -> usize {
    std::ptr::from_ref(node) as usize
}

fn key(selector: &VectorSelector) -> usize {
    node_key(selector)
}

fn duration_ms(d: &Duration) -> Result<i64, EngineError> {
    i64::try_from(d.as_millis()).map_err(|_| EngineError::Runtime("duration out of range".into()))
}

use std::time::Duration;

impl Evaluator {
    /// Fetches the series of every selector in `expr` for a query with these bounds.
    pub(crate) fn new(
        config: &EngineConfig,
        storage: &dyn Queryable,
        expr: &Expr,
        bounds: QueryBounds,
    ) -> Result<Self, EngineError> {
        let mut evaluator = Self {
            lookback_ms: duration_ms(&config.lookback_delta)?,
            subquery_step_ms: duration_ms(&config.default_subquery_step)?,
            bounds,
            selected: HashMap::new(),
            call_selected: HashMap::new(),
            starts: HashMap::new(),
            annotations: RefCell::default(),
            subquery_values: RefCell::default(),
        };
        let around = Around {
            func: None,
            step_ms: bounds.step_ms,
            grouping: None,
        };
        evaluator.fetch(storage, expr, bounds.start_ms, bounds.end_ms, around)?;
        for selector in histogram_stats::stats_selectors(expr) {
            if let Some(series) = evaluator.selected.get_mut(&key(selector)) {
                for s in series {
                    histogram_stats::resolve_hints(&mut s.points);
                }
            }
        }
        Ok(evaluator)
    }

    /// Fetches the selectors of `expr` evaluated at times in `[start_ms, end_ms]`; `around`
    /// describes the enclosing expression for the [`SelectHints`].
    fn fetch(
        &mut self,
        storage: &dyn Queryable,
        expr: &Expr,
        start_ms: i64,
        end_ms: i64,
        around: Around<'_>,
    ) -> Result<(), EngineError> {
        let inner = Around {
            grouping: None,
            ..around
        };
        match expr {
            Expr::Number(_) | Expr::String(_) => Ok(()),
            Expr::VectorSelector(s) => self.select(storage, s, start_ms, end_ms, None, around),
            Expr::MatrixSelector(m) => {
                let range = Some(self.duration(&m.range)?);
                self.select(storage, &m.selector, start_ms, end_ms, range, inner)
            }
            Expr::Subquery(sq) => {
                let (range, offset) = (self.duration(&sq.range)?, self.offset(&sq.offset)?);
                let (from, to) = (self.base(sq.at, start_ms), self.base(sq.at, end_ms));
                let from = from.saturating_sub(offset).saturating_sub(range);
                let step_ms = match &sq.step {
                    Some(d) => self.duration(d)?,
                    None => self.subquery_step_ms,
                };
                let around = Around { step_ms, ..inner };
                self.fetch(storage, &sq.expr, from, to.saturating_sub(offset), around)
            }
            Expr::Call(c) if c.function.name == "info" => {
                // The label-selector argument selects nothing by itself.
                if let Some(a) = c.args.first() {
                    let around = Around {
                        func: Some("info"),
                        ..inner
                    };
                    self.fetch(storage, a, start_ms, end_ms, around)?;
                }
                let (matchers, hints) = functions::info_selection(self, c, start_ms, end_ms)?;
                let series = storage
                    .select(&matchers, hints)?
                    .into_iter()
                    .map(|s| (s.labels, s.samples.collect()))
                    .collect();
                self.call_selected.insert(node_key(c), series);
                Ok(())
            }
            Expr::Call(c) => {
                let around = Around {
                    func: Some(c.function.name),
                    ..inner
                };
                c.args
                    .iter()
                    .try_for_each(|a| self.fetch(storage, a, start_ms, end_ms, around))
            }
            Expr::Aggregate(a) => {
                let around = Around {
                    func: None,
                    ..inner
                };
                if let Some(p) = &a.param {
                    self.fetch(storage, p, start_ms, end_ms, around)?;
                }
                let grouping = Some(&a.grouping);
                self.fetch(
                    storage,
                    &a.expr,
                    start_ms,
                    end_ms,
                    Around { grouping, ..around },
                )
            }
            Expr::Binary(b) => {
                let around = Around {
                    func: None,
                    ..inner
                };
                self.fetch(storage, &b.lhs, start_ms, end_ms, around)?;
                self.fetch(storage, &b.rhs, start_ms, end_ms, around)
            }
            Expr::Unary(u) => self.fetch(storage, &u.expr, start_ms, end_ms, inner),
            Expr::Paren(p) => self.fetch(storage, &p.expr, start_ms, end_ms, inner),
        }
    }

    /// Selects the series of `selector` for evaluation times in `[start_ms, end_ms]`, reading
    /// around each reference time what `range` (that of a matrix selector) and the selector's
    /// extension need.
    fn select(
        &mut self,
        storage: &dyn Queryable,
        selector: &VectorSelector,
        start_ms: i64,
        end_ms: i64,
        range: Option<i64>,
        around: Around<'_>,
    ) -> Result<(), EngineError> {
        let offset = self.offset(&selector.offset)?;
        let (before_ms, after_ms) =
            extended::fetch_margins(selector.extension, range, self.lookback_ms);
        let hints = SelectHints {
            start_ms: self
                .base(selector.at, start_ms)
                .saturating_sub(offset)
                .saturating_sub(before_ms),
            end_ms: self
                .base(selector.at, end_ms)
                .saturating_sub(offset)
                .saturating_add(after_ms),
            func: around.func,
            step_ms: around.step_ms,
            range_ms: range.unwrap_or(0),
            grouping: around.grouping.cloned(),
        };
        let series = storage
            .select(&selector.matchers, hints.clone())?
            .into_iter()
            .map(|s| {
                let points: Vec<Point> = s.samples.collect();
                Selected {
                    labels: s.labels,
                    has_stale: points.iter().any(|p| p.value.is_stale()),
                    points,
                    end: Cursor::default(),
                    start: Cursor::default(),
                }
            })
            .collect();
        self.selected.insert(key(selector), series);
        if around.func.is_some_and(|f| starts::FUNCTIONS.contains(&f)) {
            let found = storage.select_start_timestamps(&selector.matchers, hints)?;
            if !found.is_empty() {
                self.starts
                    .insert(key(selector), SelectorStarts::new(found));
            }
        }
        Ok(())
    }

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

    /// The series fetched for `selector`.
    pub(crate) fn series(&self, selector: &VectorSelector) -> Result<&SelectedSeries, EngineError> {
        self.selected.get(&key(selector)).ok_or_else(|| {
            EngineError::Runtime("internal error: selector evaluated without fetching".into())
        })
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
        Ok(match self.eval(expr, t_ms)? {
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

    /// The result of a range query: each step evaluated, series gathered and sorted by labels.
    /// Series whose labels coincide once names are dropped merge, unless they have points at
    /// the same time (upstream `cleanupMetricLabels` and `mergeSeriesWithSameLabelset`).
    pub(crate) fn range_result(&self, expr: &Expr) -> Result<Matrix, EngineError> {
        let b = self.bounds;
        let series = self.gather_steps(expr, b.start_ms, b.end_ms, b.step_ms)?;
        let mut merged: BTreeMap<Labels, Vec<Point>> = BTreeMap::new();
        for mut s in series.into_values() {
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

    /// Evaluates `expr` at every step in `[from_ms, to_ms]` and gathers the points by series.
    fn gather_steps(
        &self,
        expr: &Expr,
        from_ms: i64,
        to_ms: i64,
        step_ms: i64,
    ) -> Result<BTreeMap<(Labels, bool), RangeSeries>, EngineError> {
        self.gather(from_ms, to_ms, step_ms, |t| self.eval(expr, t))
    }

    /// The values `at` gives at every step in `[from_ms, to_ms]`, gathered by series.
    fn gather(
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

    /// The value of `expr` at `t_ms`.
    pub(crate) fn eval(&self, expr: &Expr, t_ms: i64) -> Result<Value, EngineError> {
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

    /// `expr[range:step]`: steps aligned to multiples of the step, in `(t - range, t]`
    /// (upstream `evalSubquery`); histograms lose "reset"/"not reset" hints.
    fn subquery(&self, sq: &SubqueryExpr, t_ms: i64) -> Result<Matrix, EngineError> {
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
        let mut first = step_ms.saturating_mul(start / step_ms);
        if first <= start {
            first = first.saturating_add(step_ms);
        }
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
        // The steps may skip or repeat samples, so "reset"/"not reset" hints no longer hold.
        for p in series.iter_mut().flat_map(|s| s.points.iter_mut()) {
            if let SampleValue::Histogram(h) = &mut p.value
                && matches!(
                    h.counter_reset_hint,
                    CounterResetHint::CounterReset | CounterResetHint::NotCounterReset
                )
            {
                h.counter_reset_hint = CounterResetHint::Unknown;
            }
        }
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

fn negate(mut v: Vector) -> Result<Vector, EngineError> {
    for e in &mut v {
        match &mut e.value {
            SampleValue::Float(f) => *f = -*f,
            SampleValue::Histogram(h) => **h = super::histogram::negate(h),
        }
        e.drop_name = true;
    }
    Ok(v)
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
