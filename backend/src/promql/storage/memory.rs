//! An in-memory [`Queryable`]: series kept sorted by labels, samples sorted by time.
//!
//! Used by the test-script runner (`promqltest::run`) and by tests; it knows nothing else.

use std::collections::BTreeMap;

use shared::labels::{Labels, Matcher, matches_all};

use super::{Point, Queryable, SelectHints, SeriesStartTimestamps, StorageError, StorageSeries};

/// Series held in memory, keyed by labels.
#[derive(Debug, Default, Clone)]
pub struct MemoryStorage {
    series: BTreeMap<Labels, Vec<Point>>,
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
        let points = self.series.entry(labels.clone()).or_default();
        match points.binary_search_by_key(&point.t_ms, |p| p.t_ms) {
            Ok(i) => points[i] = point,
            Err(i) => points.insert(i, point),
        }
    }

    /// Drops every series.
    pub fn clear(&mut self) {
        self.series.clear();
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

impl Queryable for MemoryStorage {
    fn select(
        &self,
        matchers: &[Matcher],
        hints: SelectHints,
    ) -> Result<Vec<StorageSeries>, StorageError> {
        Ok(self
            .series
            .iter()
            .filter(|(labels, _)| matches_all(matchers, labels))
            .filter_map(|(labels, points)| {
                let from = points.partition_point(|p| p.t_ms < hints.start_ms);
                let to = points.partition_point(|p| p.t_ms <= hints.end_ms);
                let selected: Vec<Point> = points.get(from..to)?.to_vec();
                (!selected.is_empty()).then(|| StorageSeries {
                    labels: labels.clone(),
                    samples: Box::new(selected.into_iter()),
                })
            })
            .collect())
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
        let got = s.select(&[Matcher::equal("__name__", "m")], hints).unwrap();
        assert_eq!(got.len(), 1, "series a has nothing in range");
        let got: Vec<Point> = got.into_iter().next().unwrap().samples.collect();
        assert_eq!(got, vec![point(20, 7.0), point(30, 30.0)]);
        let all = SelectHints {
            start_ms: 0,
            end_ms: 100,
            ..SelectHints::default()
        };
        let labels: Vec<Labels> = s
            .select(&[Matcher::equal("__name__", "m")], all.clone())
            .unwrap()
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
