//! The traits the evaluator reads data through, and the point types they yield.
//!
//! As Prometheus's engine sees only `storage.Queryable` (promql/engine.go `populateSeries`),
//! ours sees only [`Queryable`]: select series by matchers over a time range (the range is a
//! hint; an implementation may return more), each with its samples in timestamp order.
//!
//! A selection is a lazy [`SeriesSet`], as upstream's `storage.SeriesSet`: the series arrive
//! one at a time in label order, and an error may arrive in place of any of them (a store that
//! fails mid-stream, a sample limit reached while loading). The evaluator pulls a set only when
//! it reads the selector, so an implementation may still be fetching when it is handed out.
//! `query::querier` implements it over the fan-out; [`memory::MemoryStorage`] is the in-memory
//! implementation used by the test-script runner and tests. Nothing here knows the StoreAPI,
//! gRPC or HTTP.

pub mod memory;

use shared::histogram::FloatHistogram;
use shared::labels::{Labels, Matcher};

use super::parser::Grouping;

/// The value of one sample: a float (possibly the stale marker) or a native histogram.
#[derive(Debug, Clone, PartialEq)]
pub enum SampleValue {
    /// A float; Prometheus's stale NaN marks the end of a series.
    Float(f64),
    /// A native histogram; a stale marker when its sum is the stale NaN.
    Histogram(Box<FloatHistogram>),
}

impl SampleValue {
    /// Whether this is a staleness marker.
    pub fn is_stale(&self) -> bool {
        match self {
            SampleValue::Float(v) => shared::series::is_stale_nan(*v),
            SampleValue::Histogram(h) => h.is_stale(),
        }
    }
}

/// One stored sample.
#[derive(Debug, Clone, PartialEq)]
pub struct Point {
    /// Milliseconds since the epoch.
    pub t_ms: i64,
    /// The value.
    pub value: SampleValue,
}

/// The native-histogram samples of `points` as (time, histogram), in order; floats left out.
pub(crate) fn histogram_points(points: &[Point]) -> Vec<(i64, &FloatHistogram)> {
    points
        .iter()
        .filter_map(|p| match &p.value {
            SampleValue::Histogram(h) => Some((p.t_ms, h.as_ref())),
            SampleValue::Float(_) => None,
        })
        .collect()
}

/// What the evaluator will read of the selected series (upstream `storage.SelectHints`, as
/// promql/engine.go `populateSeries` fills it). Only the time range binds an implementation;
/// the rest describes the query around the selector, for stores that can use it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SelectHints {
    /// Earliest timestamp needed, inclusive, in ms.
    pub start_ms: i64,
    /// Latest timestamp needed, inclusive, in ms.
    pub end_ms: i64,
    /// The function call closest around the selector (`rate` in `sum(rate(x[5m]))`), `None`
    /// when an aggregation or binary operator comes first or there is none (upstream
    /// `SelectHints.Func`; upstream also names aggregations). The querier deduplicates counters
    /// under `rate`, `increase`, `irate` and `resets`.
    pub func: Option<&'static str>,
    /// Evaluation step in ms: that of the innermost enclosing subquery, else the query's
    /// (0 for an instant query) (upstream `SelectHints.Step`).
    pub step_ms: i64,
    /// The range of the matrix selector in ms, 0 for an instant vector selector (upstream
    /// `SelectHints.Range`).
    pub range_ms: i64,
    /// The grouping of the aggregation directly around the selector, as in `sum by (job) (x)`
    /// (upstream `SelectHints.By` and `SelectHints.Grouping`).
    pub grouping: Option<Grouping>,
}

/// A selected series: its labels and its samples in increasing timestamp order.
pub struct StorageSeries {
    /// The series' labels (sorted, unique per selection).
    pub labels: Labels,
    /// The samples, in increasing timestamp order.
    pub samples: Box<dyn Iterator<Item = Point> + Send>,
}

impl std::fmt::Debug for StorageSeries {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StorageSeries")
            .field("labels", &self.labels)
            .finish_non_exhaustive()
    }
}

/// The series of one selection, in label order, produced as they are read; an `Err` in place
/// of a series ends the selection (upstream `storage.SeriesSet` with its `Err()`).
pub type SeriesSet = Box<dyn Iterator<Item = Result<StorageSeries, StorageError>> + Send>;

/// A [`SeriesSet`] with no series.
pub fn empty_series_set() -> SeriesSet {
    Box::new(std::iter::empty())
}

/// Why a selection failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StorageError {
    /// The underlying source failed; the message is shown to the user.
    #[error("{0}")]
    Source(String),
}

/// The start timestamps of one series' samples: `(sample time, start time)` pairs in
/// increasing sample time, only for samples that have one (upstream `AtST`; a start time of 0
/// means unknown there too).
pub type SeriesStartTimestamps = (Labels, Vec<(i64, i64)>);

/// Series selection (upstream `storage.Querier.Select`).
pub trait Queryable: Send + Sync {
    /// The series whose labels satisfy every matcher, with samples at least covering `hints`,
    /// sorted by labels, as a lazy set: nothing need be read before the set is pulled, and a
    /// failure may arrive at any point of it.
    fn select(&self, matchers: &[Matcher], hints: SelectHints) -> SeriesSet;

    /// The start timestamps (created timestamps) of the samples [`Queryable::select`] returns
    /// for the same arguments, for series that have any. The engine asks only for selectors
    /// under `rate`, `increase`, `irate`, `resets` and `start_timestamp`. By default there are
    /// none: the StoreAPI does not carry them.
    fn select_start_timestamps(
        &self,
        _matchers: &[Matcher],
        _hints: SelectHints,
    ) -> Result<Vec<SeriesStartTimestamps>, StorageError> {
        Ok(Vec::new())
    }
}

/// One selection a query makes: its matchers and the time range it reads.
#[derive(Debug, Clone, PartialEq)]
pub struct Selection {
    /// The selector's matchers.
    pub matchers: Vec<Matcher>,
    /// The time range read.
    pub hints: SelectHints,
}

/// A [`Queryable`] that returns nothing and remembers what was asked (for
/// `Engine::selections`).
#[derive(Debug, Default)]
pub(crate) struct Recorder {
    selections: std::sync::Mutex<Vec<Selection>>,
}

impl Recorder {
    /// What was asked, in order.
    pub(crate) fn into_selections(self) -> Vec<Selection> {
        self.selections
            .into_inner()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl Queryable for Recorder {
    fn select(&self, matchers: &[Matcher], hints: SelectHints) -> SeriesSet {
        let selection = Selection {
            matchers: matchers.to_vec(),
            hints,
        };
        self.selections
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push(selection);
        empty_series_set()
    }
}
