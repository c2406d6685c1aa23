//! Subqueries under a range function, over a whole range at once: the inner expression is
//! range-evaluated once over the aligned step grid that spans every outer window, and the
//! windows then slide over its series as over a range selector's (upstream promql/engine.go
//! evaluates a subquery's inner expression once over its whole range for the same reason).
//!
//! An outer window `(end - range, end]` holds the inner steps at the multiples of the
//! subquery's step inside it (upstream `evalSubquery`), so every window's steps lie on one grid.
//! Only where consecutive windows touch or overlap is the grid no larger than what the windows
//! read; otherwise (and for a scalar inner expression) the caller evaluates step by step.
//! Nothing here knows what a function does with a window.

use shared::histogram::CounterResetHint;

use super::{MatrixWindows, Ranged, Steps};
use crate::promql::EngineError;
use crate::promql::eval::{Evaluator, MAX_SUBQUERY_STEPS};
use crate::promql::parser::SubqueryExpr;
use crate::promql::storage::SampleValue;
use crate::promql::value::Matrix;

/// The first multiple of `step_ms` after `start_ms` (as upstream aligns a subquery's steps).
pub(in crate::promql::eval) fn first_step(start_ms: i64, step_ms: i64) -> i64 {
    let first = step_ms.saturating_mul(start_ms / step_ms);
    if first <= start_ms {
        first.saturating_add(step_ms)
    } else {
        first
    }
}

impl Evaluator {
    /// Whether the windows of `sq` at the steps of `steps` leave gaps between them, so that one
    /// grid over all of them would hold steps no window reads. A range that cannot be computed
    /// counts as none (evaluating reports it).
    pub(crate) fn subquery_leaves_gaps(&self, sq: &SubqueryExpr, steps: Steps) -> bool {
        sq.at.is_none()
            && steps.len() > 1
            && self
                .duration(&sq.range)
                .is_ok_and(|range_ms| steps.step_ms > range_ms)
    }

    /// The inner series of `sq` over every window it has at the steps of `steps`, with those
    /// windows; `None` where the windows leave gaps between them or the inner expression is a
    /// scalar. Fails as the step-wise evaluation does for a step that is not positive or a
    /// window with too many steps.
    pub(crate) fn ranged_subquery(
        &self,
        sq: &SubqueryExpr,
        steps: Steps,
    ) -> Result<Option<(Matrix, MatrixWindows)>, EngineError> {
        let step_ms = match &sq.step {
            Some(d) => self.duration(d)?,
            None => self.subquery_step_ms,
        };
        if step_ms <= 0 {
            return Err(EngineError::NonPositiveStep);
        }
        let offset = self.offset(&sq.offset)?;
        let range_ms = self.duration(&sq.range)?;
        let ends: Vec<i64> = steps
            .times()
            .map(|t| self.base(sq.at, t).saturating_sub(offset))
            .collect();
        for &end in &ends {
            let first = first_step(end.saturating_sub(range_ms), step_ms);
            if end.saturating_sub(first) / step_ms >= MAX_SUBQUERY_STEPS {
                return Err(EngineError::TooManySamples);
            }
        }
        let (Some(&first_end), Some(&last_end)) = (ends.first(), ends.last()) else {
            return Ok(None);
        };
        if self.subquery_leaves_gaps(sq, steps) {
            return Ok(None);
        }
        let windows = MatrixWindows::new(steps, ends, range_ms);
        let first = first_step(first_end.saturating_sub(range_ms), step_ms);
        let Some(grid) = Steps::new(first, last_end, step_ms) else {
            // No window holds a step.
            return Ok(Some((Matrix::new(), windows)));
        };
        let Ranged::Vector(mut series) = self.eval_ranged(&sq.expr, grid)? else {
            return Ok(None);
        };
        forget_reset_hints(&mut series);
        Ok(Some((series, windows)))
    }
}

/// Turns histograms' "reset"/"not reset" hints into "unknown": a subquery's steps may skip or
/// repeat samples, so the hints no longer hold.
pub(in crate::promql::eval) fn forget_reset_hints(series: &mut Matrix) {
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
}

#[cfg(test)]
mod tests {
    use super::first_step;

    #[test]
    fn steps_start_after_the_window_start_on_multiples_of_the_step() {
        assert_eq!(first_step(0, 10), 10);
        assert_eq!(first_step(5, 10), 10);
        assert_eq!(first_step(-5, 10), 0);
        assert_eq!(first_step(-20, 10), -10);
        assert_eq!(first_step(-15, 10), -10);
    }
}
