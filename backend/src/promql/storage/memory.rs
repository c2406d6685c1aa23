//! An in-memory [`Queryable`]: series kept sorted by labels, samples sorted by time.
//!
//! A selection is lazy like any other: the set holds a shared reference to the series (copied
//! on write, so appending after selecting leaves the set as it was) and finds the next matching
//! series, and the next sample, only when pulled. The conformance suite evaluates through it, so
//! it exercises the evaluator's streaming path. Used by the test-script runner
//! (`promqltest::run`) and by tests; it knows nothing else.

use std::collections::BTreeMap;
use std::ops::Bound;
use std::sync::Arc;

use shared::labels::{Labels, Matcher, matches_all};

use super::{
    Point, Queryable, SelectHints, SeriesSet, SeriesStartTimestamps, StorageError, StorageSeries,
};

/// Series by labels; each series' samples shared with the sets that read them.
type SeriesMap = BTreeMap<Labels, Arc<Vec<Point>>>;

/// Series held in memory, keyed by labels.
#[derive(Debug, Default, Clone)]
pub struct MemoryStorage {
    series: Arc<SeriesMap>,
    /// Start timestamps by series and sample time, for samples that have one.
    start_timestamps: BTreeMap<Labels, BTreeMap<i64, i64>>,
}

impl MemoryStorage {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a sample; a sample at an existing timestamp of the series replaces it (and its
    /// start timestamp).
    pub fn append(&mut self, labels: &Labels, point: Point) {
        if let Some(starts) = self.start_timestamps.get_mut(labels) {
            starts.remove(&point.t_ms);
        }
        self.insert(labels, point);
    }

    /// Adds a sample with its start timestamp (the time its counter started counting from).
    pub fn append_with_start(&mut self, labels: &Labels, point: Point, start_ms: i64) {
        self.start_timestamps
            .entry(labels.clone())
            .or_default()
            .insert(point.t_ms, start_ms);
        self.insert(labels, point);
    }

    fn insert(&mut self, labels: &Labels, point: Point) {
        let series = Arc::make_mut(&mut self.series);
        let points = Arc::make_mut(series.entry(labels.clone()).or_default());
        match points.binary_search_by_key(&point.t_ms, |p| p.t_ms) {
            Ok(i) => points[i] = point,
            Err(i) => points.insert(i, point),
        }
    }

    /// Drops every series.
    pub fn clear(&mut self) {
        self.series = Arc::default();
        self.start_timestamps.clear();
    }

    /// How many series are held.
    pub fn len(&self) -> usize {
        self.series.len()
    }

    /// Whether no series are held.
    pub fn is_empty(&self) -> bool {
        self.series.is_empty()
    }
}

/// A lazy selection: walks the series after the last one it returned.
struct Selection {
    series: Arc<SeriesMap>,
    matchers: Vec<Matcher>,
    hints: SelectHints,
    /// The labels of the last series looked at; `None` before the first.
    after: Option<Labels>,
}

impl Iterator for Selection {
    type Item = Result<StorageSeries, StorageError>;

    fn next(&mut self) -> Option<Self::Item> {
        let lower = match &self.after {
            None => Bound::Unbounded,
            Some(labels) => Bound::Excluded(labels),
        };
        let mut found = None;
        let mut last = None;
        for (labels, points) in self.series.range::<Labels, _>((lower, Bound::Unbounded)) {
            last = Some(labels);
            if !matches_all(&self.matchers, labels) {
                continue;
            }
            let from = points.partition_point(|p| p.t_ms < self.hints.start_ms);
            let to = points.partition_point(|p| p.t_ms <= self.hints.end_ms);
            if from < to {
                found = Some((labels.clone(), SamplesIn::new(points, from, to)));
                break;
            }
        }
        self.after = last.cloned();
        found.map(|(labels, samples)| {
            Ok(StorageSeries {
                labels,
                samples: Box::new(samples),
            })
        })
    }
}

/// The samples `from..to` of a shared series, copied one at a time.
struct SamplesIn {
    points: Arc<Vec<Point>>,
    next: usize,
    to: usize,
}

impl SamplesIn {
    fn new(points: &Arc<Vec<Point>>, from: usize, to: usize) -> Self {
        Self {
            points: Arc::clone(points),
            next: from,
            to,
        }
    }
}

impl Iterator for SamplesIn {
    type Item = Point;

    fn next(&mut self) -> Option<Point> {
        if self.next >= self.to {
            return None;
        }
        let point = self.points.get(self.next).cloned();
        self.next += 1;
        point
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let left = self.to.saturating_sub(self.next);
        (left, Some(left))
    }
}

impl ExactSizeIterator for SamplesIn {}

impl Queryable for MemoryStorage {
    fn select(&self, matchers: &[Matcher], hints: SelectHints) -> SeriesSet {
        Box::new(Selection {
            series: Arc::clone(&self.series),
            matchers: matchers.to_vec(),
            hints,
            after: None,
        })
    }

    fn select_start_timestamps(
        &self,
        matchers: &[Matcher],
        hints: SelectHints,
    ) -> Result<Vec<SeriesStartTimestamps>, StorageError> {
        if hints.start_ms > hints.end_ms {
            return Ok(Vec::new());
        }
        Ok(self
            .start_timestamps
            .iter()
            .filter(|(labels, _)| matches_all(matchers, labels))
            .filter_map(|(labels, starts)| {
                let pairs: Vec<(i64, i64)> = starts
                    .range(hints.start_ms..=hints.end_ms)
                    .map(|(t, st)| (*t, *st))
                    .collect();
                (!pairs.is_empty()).then(|| (labels.clone(), pairs))
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::promql::storage::SampleValue;

    fn point(t_ms: i64, v: f64) -> Point {
        Point {
            t_ms,
            value: SampleValue::Float(v),
        }
    }

    fn collect(set: SeriesSet) -> Vec<StorageSeries> {
        set.collect::<Result<_, _>>().expect("memory never fails")
    }

    fn labels(i: usize) -> Labels {
        Labels::from_pairs([("__name__", "m".to_owned()), ("i", format!("{i:03}"))])
    }

    #[test]
    fn a_selection_is_read_as_it_is_pulled_and_keeps_what_it_saw() {
        let mut s = MemoryStorage::new();
        for i in 0..5 {
            s.append(&labels(i), point(10, i as f64));
            s.append(&labels(i), point(20, i as f64));
        }
        let other = Labels::from_pairs([("__name__", "other")]);
        s.append(&other, point(10, 0.0));
        let all = SelectHints {
            start_ms: 0,
            end_ms: 100,
            ..SelectHints::default()
        };
        let mut set = s.select(&[Matcher::equal("__name__", "m")], all);
        let first = set.next().expect("a series").expect("no error");
        assert_eq!(first.labels, labels(0));
        let mut samples = first.samples;
        assert_eq!(samples.size_hint(), (2, Some(2)));
        // Appending after selecting copies the series: the set reads what was selected.
        s.append(&labels(0), point(15, 99.0));
        s.append(&labels(1), point(15, 99.0));
        s.append(&labels(9), point(15, 99.0));
        assert_eq!(samples.next(), Some(point(10, 0.0)));
        assert_eq!(samples.next(), Some(point(20, 0.0)));
        assert_eq!(samples.next(), None);
        let rest: Vec<(Labels, usize)> = set
            .map(|r| r.map(|x| (x.labels, x.samples.count())))
            .collect::<Result<_, _>>()
            .expect("no error");
        let expected: Vec<(Labels, usize)> = (1..5).map(|i| (labels(i), 2)).collect();
        assert_eq!(rest, expected);
        assert_eq!(s.len(), 7, "the store itself took the new samples");
    }

    #[test]
    fn selects_by_matchers_and_time_range_in_label_order() {
        let mut s = MemoryStorage::new();
        let b = Labels::from_pairs([("__name__", "m"), ("i", "b")]);
        let a = Labels::from_pairs([("__name__", "m"), ("i", "a")]);
        for t in [30, 10, 20] {
            s.append(&b, point(t, t as f64));
        }
        s.append(&a, point(100, 1.0));
        s.append(&b, point(20, 7.0));
        let hints = SelectHints {
            start_ms: 15,
            end_ms: 30,
            ..SelectHints::default()
        };
        let got = collect(s.select(&[Matcher::equal("__name__", "m")], hints));
        assert_eq!(got.len(), 1, "series a has nothing in range");
        let got: Vec<Point> = got.into_iter().next().unwrap().samples.collect();
        assert_eq!(got, vec![point(20, 7.0), point(30, 30.0)]);
        let all = SelectHints {
            start_ms: 0,
            end_ms: 100,
            ..SelectHints::default()
        };
        let labels: Vec<Labels> =
            collect(s.select(&[Matcher::equal("__name__", "m")], all.clone()))
                .into_iter()
                .map(|x| x.labels)
                .collect();
        assert_eq!(labels, vec![a.clone(), b]);
        s.append_with_start(&a, point(200, 2.0), 150);
        s.append_with_start(&a, point(300, 3.0), 250);
        s.append(&a, point(300, 4.0));
        let starts = s
            .select_start_timestamps(&[Matcher::equal("i", "a")], all.clone())
            .unwrap();
        let hints = SelectHints {
            end_ms: 1_000,
            ..all
        };
        assert!(starts.is_empty(), "outside the range");
        let starts = s
            .select_start_timestamps(&[Matcher::equal("i", "a")], hints)
            .unwrap();
        assert_eq!(starts, vec![(a, vec![(200, 150)])], "replaced without one");
        s.clear();
        assert!(s.is_empty());
    }
}
