//! Replica deduplication at the sample level (THANOS.md §2 steps 4–5).
//!
//! Pure computation: no I/O, and no PromQL. Whether values are counters is said by the caller
//! with [`ValueKind`]; the algorithm by [`DedupAlgorithm`]. The pieces, in pipeline order:
//! - [`replica_labels`]: which labels tell replicas apart ([`ReplicaLabels`]).
//! - [`overlap`]: one merged series' overlapping chunks → non-overlapping groups
//!   ([`overlap_split`]), each read as one replica.
//! - [`iter`]: the [`SampleIterator`] trait (`next`, `seek`, `at`) that chunk decoders implement
//!   and the PromQL evaluator reads, with [`VecIterator`] for samples in memory.
//! - [`penalty`] ([`PenaltyDedup`]) and [`counter`] ([`Replica`]): Thanos's default merge;
//!   [`chain`] ([`ChainMerge`]): 1:1 by timestamp. [`deduplicate`] builds either over N replicas.
//! - [`series_set`]: merges runs of adjacent equal-label series ([`DedupSeriesSet`]).

pub mod chain;
pub mod counter;
pub mod iter;
pub mod overlap;
pub mod penalty;
pub mod replica_labels;
pub mod series_set;

#[cfg(test)]
mod properties;

pub use chain::ChainMerge;
pub use counter::{AdjustableIterator, Replica, ValueKind};
pub use iter::{OwnedSample, SampleIterator, Value, VecIterator, collect_samples};
pub use overlap::overlap_split;
pub use penalty::{INITIAL_PENALTY_MS, PenaltyDedup};
pub use replica_labels::ReplicaLabels;
pub use series_set::DedupSeriesSet;

/// How replicas of one series are merged (Thanos's `--deduplication.func`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DedupAlgorithm {
    /// Follow one replica, switch only across gaps ([`PenaltyDedup`]); Thanos's default.
    #[default]
    Penalty,
    /// Every timestamp of any replica, once ([`ChainMerge`]).
    Chain,
}

/// The merged samples of one series' replicas.
pub type DedupIterator<'a, H, E> = Box<dyn SampleIterator<Histogram = H, Error = E> + Send + 'a>;

/// An adjustable iterator as the penalty nesting holds it.
type DynAdjustable<'a, H, E> = Box<dyn AdjustableIterator<Histogram = H, Error = E> + Send + 'a>;

/// Merges `replicas` of one series into one iterator.
///
/// With [`DedupAlgorithm::Penalty`] the replicas nest as `D(D(D(r0, r1), r2), r3)`, so earlier
/// replicas are preferred, and `kind` chooses counter adjustment (THANOS.md §2). With
/// [`DedupAlgorithm::Chain`] `kind` has no effect. A single replica passes through unchanged;
/// no replicas give an empty iterator.
pub fn deduplicate<'a, I>(
    replicas: Vec<I>,
    algorithm: DedupAlgorithm,
    kind: ValueKind,
) -> DedupIterator<'a, I::Histogram, I::Error>
where
    I: SampleIterator + Send + 'a,
{
    match algorithm {
        DedupAlgorithm::Chain => Box::new(ChainMerge::new(replicas)),
        DedupAlgorithm::Penalty => {
            let mut replicas = replicas.into_iter().map(|r| Replica::new(r, kind));
            let Some(first) = replicas.next() else {
                return Box::new(ChainMerge::<I>::new(Vec::new()));
            };
            let first: DynAdjustable<'a, I::Histogram, I::Error> = Box::new(first);
            let nested = replicas.fold(
                first,
                |acc, r| -> DynAdjustable<'a, I::Histogram, I::Error> {
                    Box::new(PenaltyDedup::new(acc, r))
                },
            );
            nested as DedupIterator<'a, I::Histogram, I::Error>
        }
    }
}
