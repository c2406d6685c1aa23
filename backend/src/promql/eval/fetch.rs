//! Selecting before evaluating: walks the tree once, selects every selector's series over the
//! times it will be read at (with Thanos-style hints on what encloses it), and keeps each
//! selection in the [`Evaluator`] as the lazy set storage returned (upstream promql/engine.go
//! `populateSeries`, which also only calls `Select`). Nothing is read here but the series a
//! function call selects for itself (`info()`) and start timestamps: selectors' series are read
//! when evaluation first needs them (`selected`). A selector under a subquery is marked to be
//! materialized, since it is read at every outer step.

use std::cell::RefCell;
use std::collections::HashMap;
use std::time::Duration;

use super::selected::{Reading, SelectorSeries};
use super::{Evaluator, QueryBounds, key, node_key};
use crate::promql::parser::{Expr, Grouping, VectorSelector};
use crate::promql::starts::{self, SelectorStarts};
use crate::promql::storage::{Queryable, SelectHints};
use crate::promql::{EngineConfig, EngineError, extended, functions, histogram_stats};

/// What encloses a selector, passed on in its [`SelectHints`] (upstream `populateSeries`:
/// the closest function, the innermost subquery's step, the directly enclosing aggregation's
/// grouping).
#[derive(Debug, Clone, Copy)]
struct Around<'e> {
    func: Option<&'static str>,
    step_ms: i64,
    grouping: Option<&'e Grouping>,
    /// Whether a subquery encloses the selector (so it is read once per outer step).
    in_subquery: bool,
}

fn duration_ms(d: &Duration) -> Result<i64, EngineError> {
    i64::try_from(d.as_millis()).map_err(|_| EngineError::Runtime("duration out of range".into()))
}

impl Evaluator {
    /// Selects the series of every selector in `expr` for a query with these bounds (lazily:
    /// see the module doc).
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
            precomputed: RefCell::default(),
        };
        let around = Around {
            func: None,
            step_ms: bounds.step_ms,
            grouping: None,
            in_subquery: false,
        };
        evaluator.fetch(storage, expr, bounds.start_ms, bounds.end_ms, around)?;
        for selector in histogram_stats::stats_selectors(expr) {
            if let Some(series) = evaluator.selected.get_mut(&key(selector)) {
                series.resolve_hints();
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
                let around = Around {
                    step_ms,
                    in_subquery: true,
                    ..inner
                };
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
                let (matchers, hints) =
                    functions::info_selection(self, c, start_ms, end_ms, around.step_ms)?;
                let series = storage
                    .select(&matchers, hints)
                    .map(|s| s.map(|s| (s.labels, s.samples.collect())))
                    .collect::<Result<_, _>>()?;
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
        let reading = if around.in_subquery {
            Reading::Materialize
        } else {
            Reading::MayStream
        };
        let set = storage.select(&selector.matchers, hints.clone());
        let series = SelectorSeries::new(set, reading);
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
}
