//! Chain merge of replicas: every timestamp any replica has, once (THANOS.md §2 step 5, `chain`).
//!
//! Mirrors Prometheus storage/merge.go (`ChainedSeriesMerge`, `chainSampleIterator`): samples
//! are merged 1:1 by timestamp, with no penalty and no counter adjustment. Where replicas share a
//! timestamp, the earliest replica in the list wins (upstream leaves that to its heap). Replica
//! counts are small, so the smallest head is found by a linear scan.

use super::iter::{SampleIterator, Value};

/// Merges any number of replicas by timestamp, keeping one sample per timestamp.
#[derive(Debug, Clone)]
pub struct ChainMerge<I> {
    replicas: Vec<I>,
    /// Current timestamp of each replica; `None` once exhausted (or before the first read).
    heads: Vec<Option<i64>>,
    started: bool,
    /// Index of the replica whose sample is current.
    current: Option<usize>,
    /// Timestamp of the current sample.
    last_t: Option<i64>,
}

impl<I: SampleIterator> ChainMerge<I> {
    /// Merges `replicas`; earlier ones win timestamp ties. Reads nothing until the first call.
    pub fn new(replicas: Vec<I>) -> Self {
        let heads = vec![None; replicas.len()];
        Self {
            replicas,
            heads,
            started: false,
            current: None,
            last_t: None,
        }
    }

    /// Positions every replica at or after `t_ms` (all of them on the first call).
    fn advance_all_to(&mut self, t_ms: i64) -> Result<(), I::Error> {
        for (replica, head) in self.replicas.iter_mut().zip(self.heads.iter_mut()) {
            if !self.started {
                *head = replica.next()?;
            }
            if head.is_some_and(|t| t < t_ms) {
                *head = replica.seek(t_ms)?;
            }
        }
        self.started = true;
        Ok(())
    }

    /// Makes the replica with the smallest head current.
    fn pick(&mut self) -> Option<i64> {
        let smallest = self
            .heads
            .iter()
            .enumerate()
            .filter_map(|(i, head)| head.map(|t| (t, i)))
            .min();
        self.current = smallest.map(|(_, i)| i);
        self.last_t = smallest.map(|(t, _)| t);
        self.last_t
    }

    /// The first timestamp after the current sample, or `None` when none can exist.
    fn after_current(&self) -> Option<i64> {
        match self.last_t {
            Some(t) => t.checked_add(1),
            None => Some(i64::MIN),
        }
    }
}

impl<I: SampleIterator> SampleIterator for ChainMerge<I> {
    type Histogram = I::Histogram;
    type Error = I::Error;

    fn next(&mut self) -> Result<Option<i64>, Self::Error> {
        if self.started && self.current.is_none() {
            return Ok(None);
        }
        let Some(target) = self.after_current() else {
            self.current = None;
            return Ok(None);
        };
        self.advance_all_to(target)?;
        Ok(self.pick())
    }

    fn seek(&mut self, t_ms: i64) -> Result<Option<i64>, Self::Error> {
        if self.started && self.current.is_none() {
            return Ok(None);
        }
        if let Some(t) = self.last_t.filter(|&t| t >= t_ms) {
            return Ok(Some(t));
        }
        self.advance_all_to(t_ms)?;
        Ok(self.pick())
    }

    fn at(&self) -> Option<(i64, Value<&Self::Histogram>)> {
        self.current
            .and_then(|i| self.replicas.get(i))
            .and_then(|r| r.at())
    }
}

#[cfg(test)]
mod tests {
    use std::convert::Infallible;

    use super::*;
    use crate::query::dedup::iter::{VecIterator, collect_samples};

    fn chain(replicas: &[&[(i64, f64)]]) -> ChainMerge<VecIterator<Infallible>> {
        ChainMerge::new(
            replicas
                .iter()
                .map(|r| VecIterator::floats(r).expect("increasing"))
                .collect(),
        )
    }

    fn floats(it: &mut ChainMerge<VecIterator<Infallible>>) -> Vec<(i64, f64)> {
        let samples = collect_samples(it).unwrap_or_else(|never| match never {});
        samples
            .into_iter()
            .filter_map(|(t, v)| v.as_float().map(|v| (t, v)))
            .collect()
    }

    /// THANOS.md §2 test vector 9 (thanos pkg/dedup/iter_test.go, chain algorithm).
    #[test]
    fn vector_9_chain_merges_one_to_one() {
        let mut it = chain(&[&[(10000, 1.0), (30000, 3.0)], &[(10000, 1.0), (20000, 2.0)]]);
        assert_eq!(
            floats(&mut it),
            vec![(10000, 1.0), (20000, 2.0), (30000, 3.0)]
        );
    }

    #[test]
    fn earliest_replica_wins_ties() {
        let mut it = chain(&[&[(1, 10.0), (3, 30.0)], &[(1, 11.0), (2, 21.0), (3, 31.0)]]);
        assert_eq!(floats(&mut it), vec![(1, 10.0), (2, 21.0), (3, 30.0)]);
    }

    #[test]
    fn seek_moves_forward_only() {
        let mut it = chain(&[&[(10, 1.0), (40, 4.0)], &[(20, 2.0), (30, 3.0)]]);
        assert_eq!(it.seek(15), Ok(Some(20)));
        assert_eq!(it.seek(5), Ok(Some(20)));
        assert_eq!(it.next(), Ok(Some(30)));
        assert_eq!(it.seek(31), Ok(Some(40)));
        assert_eq!(it.at(), Some((40, Value::Float(4.0))));
        assert_eq!(it.next(), Ok(None));
        assert_eq!(it.seek(0), Ok(None));
        assert_eq!(it.next(), Ok(None));
    }

    #[test]
    fn no_replicas_is_empty() {
        let mut it = chain(&[]);
        assert_eq!(it.next(), Ok(None));
        assert_eq!(it.at(), None);
    }
}
