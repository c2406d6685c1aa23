//! Series-level dedup: merges runs of adjacent series with equal labels (THANOS.md §2 step 5).
//!
//! Mirrors thanos pkg/dedup/iter.go (`dedupSeriesSet`): the input is sorted by labels with the
//! replica labels already stripped, and only ADJACENT equal series are grouped; there is no
//! global regrouping. It knows labels and sample iterators, not chunks or where series come from.

use std::iter::Peekable;
use std::marker::PhantomData;

use shared::labels::Labels;

use super::iter::SampleIterator;
use super::{DedupAlgorithm, DedupIterator, ValueKind, deduplicate};

/// Yields one `(labels, merged samples)` per run of adjacent equal-label input series.
///
/// Holds one peeked series beyond the run it is building, so it streams.
pub struct DedupSeriesSet<'a, S: Iterator> {
    series: Peekable<S>,
    algorithm: DedupAlgorithm,
    kind: ValueKind,
    _iterators: PhantomData<&'a ()>,
}

impl<'a, S, I> DedupSeriesSet<'a, S>
where
    S: Iterator<Item = (Labels, I)>,
    I: SampleIterator + Send + 'a,
{
    /// Groups `series` (sorted by labels, replica labels stripped) and merges each group.
    pub fn new(series: S, algorithm: DedupAlgorithm, kind: ValueKind) -> Self {
        Self {
            series: series.peekable(),
            algorithm,
            kind,
            _iterators: PhantomData,
        }
    }
}

impl<'a, S, I> Iterator for DedupSeriesSet<'a, S>
where
    S: Iterator<Item = (Labels, I)>,
    I: SampleIterator + Send + 'a,
{
    type Item = (Labels, DedupIterator<'a, I::Histogram, I::Error>);

    fn next(&mut self) -> Option<Self::Item> {
        let (labels, first) = self.series.next()?;
        let mut replicas = vec![first];
        while let Some((_, replica)) = self.series.next_if(|(next, _)| *next == labels) {
            replicas.push(replica);
        }
        Some((labels, deduplicate(replicas, self.algorithm, self.kind)))
    }
}

#[cfg(test)]
mod tests {
    use std::convert::Infallible;

    use super::*;
    use crate::query::dedup::iter::{OwnedSample, Value, VecIterator, collect_samples};

    fn series(
        labels: &[(&str, &str)],
        samples: &[(i64, f64)],
    ) -> (Labels, VecIterator<Infallible>) {
        (
            Labels::from_pairs(labels.iter().copied()),
            VecIterator::floats(samples).expect("increasing"),
        )
    }

    fn floats(samples: &[(i64, f64)]) -> Vec<OwnedSample<Infallible>> {
        samples.iter().map(|&(t, v)| (t, Value::Float(v))).collect()
    }

    fn run(
        input: Vec<(Labels, VecIterator<Infallible>)>,
    ) -> Vec<(Labels, Vec<OwnedSample<Infallible>>)> {
        DedupSeriesSet::new(input.into_iter(), DedupAlgorithm::Penalty, ValueKind::Gauge)
            .map(|(labels, mut it)| {
                let samples = collect_samples(&mut it).unwrap_or_else(|never| match never {});
                (labels, samples)
            })
            .collect()
    }

    const AC: [(&str, &str); 2] = [("a", "1"), ("c", "3")];
    const ACD: [(&str, &str); 3] = [("a", "1"), ("c", "3"), ("d", "4")];

    /// THANOS.md §2 test vector 6 (thanos pkg/dedup/iter_test.go `TestDedupSeriesSet`).
    #[test]
    fn vector_6_adjacent_series_merge_into_one() {
        let out = run(vec![
            series(&AC, &[(10000, 1.0), (20000, 2.0)]),
            series(&AC, &[(60000, 3.0), (70000, 4.0)]),
            series(&AC, &[(200000, 5.0), (210000, 6.0)]),
            series(&AC, &[(10000, 1.0), (20000, 2.0)]),
        ]);
        let expected = floats(&[
            (10000, 1.0),
            (20000, 2.0),
            (60000, 3.0),
            (70000, 4.0),
            (200000, 5.0),
            (210000, 6.0),
        ]);
        assert_eq!(out, vec![(Labels::from_pairs(AC), expected)]);
    }

    /// THANOS.md §2 test vector 6: an interleaved series splits the group.
    #[test]
    fn vector_6_only_adjacent_series_are_grouped() {
        let out = run(vec![
            series(&AC, &[(10000, 1.0)]),
            series(&ACD, &[(10000, 2.0)]),
            series(&AC, &[(20000, 3.0)]),
        ]);
        let labels: Vec<Labels> = out.iter().map(|(l, _)| l.clone()).collect();
        assert_eq!(
            labels,
            vec![
                Labels::from_pairs(AC),
                Labels::from_pairs(ACD),
                Labels::from_pairs(AC)
            ]
        );
        assert_eq!(out[2].1, floats(&[(20000, 3.0)]));
    }
}
