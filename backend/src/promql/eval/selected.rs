//! Each selector's series as the evaluator holds them: a lazy set from storage until the
//! selector is first read, then either materialized (kept for reading at any time) or streamed
//! (handed over one series at a time and dropped).
//!
//! The rule, which [`SelectorSeries::series`] and [`SelectorSeries::each`] enforce:
//! - A step-wise reader (instant queries, the step-wise fallback of range queries, subqueries)
//!   reads a selector at many times, so the first such read materializes every series; every
//!   later read of either kind uses the materialized series.
//! - A reader that reads each series once (the range evaluation of a node outside subqueries)
//!   may stream a selector that is not materialized yet: series arrive as storage produces them
//!   and only the one being read is held, so evaluation overlaps fetching and memory holds one
//!   series of the selection rather than all of them. A selector under a subquery is read once
//!   per outer step, so it is never streamed: it is materialized on first read instead.
//! - Reading a selector again after it was streamed is an evaluation bug, not an empty
//!   selection: it fails with an internal error rather than silently reading nothing.
//!
//! Per-series preparation (histogram counter-reset hints for statistics-only reads, whether any
//! sample is a stale marker) happens as each series arrives. A storage error is returned
//! where the set yields it; reading the selector again returns it again. Nothing here knows
//! where the series come from or what the evaluator computes with them.

use std::borrow::Cow;
use std::cell::{OnceCell, RefCell};

use shared::labels::Labels;

use crate::promql::EngineError;
use crate::promql::cursor::Cursor;
use crate::promql::histogram_stats;
use crate::promql::storage::{Point, SeriesSet, StorageError, StorageSeries};

/// One fetched series, with where the last evaluation time fell in its samples.
pub(crate) struct Selected {
    /// The series' labels.
    pub(crate) labels: Labels,
    /// Its samples in increasing time order.
    pub(crate) points: Vec<Point>,
    /// Whether any sample is a stale marker (else windows are copied without looking).
    has_stale: bool,
    /// Samples at or before the evaluation time.
    pub(super) end: Cursor,
    /// Samples at or before the start of a matrix selector's window.
    start: Cursor,
}

impl Selected {
    /// A series read from storage, its samples collected; with `resolve_hints`, histogram
    /// counter-reset hints are resolved for a statistics-only read.
    fn new(series: StorageSeries, resolve_hints: bool) -> Self {
        let mut points: Vec<Point> = series.samples.collect();
        if resolve_hints {
            histogram_stats::resolve_hints(&mut points);
        }
        Self {
            labels: series.labels,
            has_stale: points.iter().any(|p| p.value.is_stale()),
            points,
            end: Cursor::default(),
            start: Cursor::default(),
        }
    }

    /// The series' samples without stale markers (borrowed when it has none), as range
    /// selectors read them (upstream `matrixIterSlice` skips them).
    pub(crate) fn stale_free(&self) -> Cow<'_, [Point]> {
        if self.has_stale {
            Cow::Owned(
                self.points
                    .iter()
                    .filter(|p| !p.value.is_stale())
                    .cloned()
                    .collect(),
            )
        } else {
            Cow::Borrowed(&self.points)
        }
    }

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

/// How a selector may be read once (see the module doc).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Reading {
    /// A once-only reader may stream the series.
    MayStream,
    /// The selector is read more than once whatever the reader (it is under a subquery):
    /// always materialize.
    Materialize,
}

/// Where a selector's series are.
enum State {
    /// Not read yet: the lazy set from storage.
    Unread(SeriesSet),
    /// Being streamed, or streamed: nothing is left to read.
    Streamed,
    /// Reading failed with this error.
    Failed(StorageError),
    /// Materialized (in [`SelectorSeries::materialized`]).
    Materialized,
}

/// One selector's series.
pub(crate) struct SelectorSeries {
    state: RefCell<State>,
    materialized: OnceCell<Vec<Selected>>,
    reading: Reading,
    resolve_hints: bool,
}

/// The error for a selector read after its series were streamed.
fn read_after_streaming() -> EngineError {
    EngineError::Runtime(
        "internal error: selector read again after its series were streamed".into(),
    )
}

impl SelectorSeries {
    /// A selector's series, not read yet.
    pub(crate) fn new(set: SeriesSet, reading: Reading) -> Self {
        Self {
            state: RefCell::new(State::Unread(set)),
            materialized: OnceCell::new(),
            reading,
            resolve_hints: false,
        }
    }

    /// Resolves histogram counter-reset hints in every series as it arrives (the selector is
    /// read for histogram statistics only).
    pub(crate) fn resolve_hints(&mut self) {
        self.resolve_hints = true;
    }

    /// The series set not read yet, leaving the state `Streamed` (the caller reads it); the
    /// error of an earlier failed read, again; or an error if it was read already.
    fn take_unread(&self) -> Result<SeriesSet, EngineError> {
        match self.state.replace(State::Streamed) {
            State::Unread(set) => Ok(set),
            State::Streamed | State::Materialized => Err(read_after_streaming()),
            State::Failed(error) => {
                self.state.replace(State::Failed(error.clone()));
                Err(error.into())
            }
        }
    }

    /// Every series, materialized on the first call.
    pub(crate) fn series(&self) -> Result<&[Selected], EngineError> {
        if let Some(series) = self.materialized.get() {
            return Ok(series);
        }
        let set = self.take_unread()?;
        let collected: Result<Vec<Selected>, StorageError> = set
            .map(|s| s.map(|s| Selected::new(s, self.resolve_hints)))
            .collect();
        match collected {
            Ok(series) => {
                self.state.replace(State::Materialized);
                Ok(self.materialized.get_or_init(|| series))
            }
            Err(error) => {
                self.state.replace(State::Failed(error.clone()));
                Err(error.into())
            }
        }
    }

    /// Calls `f` with each series in label order: the materialized ones if there are, else,
    /// when the selector may be streamed, each series as it arrives (dropped after `f`), else
    /// after materializing them.
    pub(crate) fn each(
        &self,
        mut f: impl FnMut(&Selected) -> Result<(), EngineError>,
    ) -> Result<(), EngineError> {
        if self.materialized.get().is_some() || self.reading == Reading::Materialize {
            return self.series()?.iter().try_for_each(f);
        }
        let set = self.take_unread()?;
        for series in set {
            match series {
                Ok(series) => f(&Selected::new(series, self.resolve_hints))?,
                Err(error) => {
                    self.state.replace(State::Failed(error.clone()));
                    return Err(error.into());
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
