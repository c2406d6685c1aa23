//! `--query.max-samples`: how many samples one query may load into memory (upstream: prometheus
//! promql/engine.go `MaxSamples`, `ErrTooManySamples`; Thanos passes the flag to the engine).
//!
//! The querier counts samples as it loads them, while the evaluator may already be reading:
//! each deduplicated series is counted before it is handed on, and the query stops at the
//! first series that takes the total past the limit instead of after everything is in memory.
//! A [`SampleBudget`] is shared by all selections of one query (it can be shared across tasks).
//! Knows nothing of stores, PromQL or HTTP.

use std::sync::atomic::{AtomicU64, Ordering};

/// Thanos's and Prometheus's default `--query.max-samples`.
pub const DEFAULT_MAX_SAMPLES: u64 = 50_000_000;

/// The query would hold more samples than allowed (upstream `ErrTooManySamples`, whose message
/// this keeps).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("query processing would load too many samples into memory in query execution")]
pub struct TooManySamples;

/// The samples one query may still load.
#[derive(Debug)]
pub struct SampleBudget {
    max: u64,
    loaded: AtomicU64,
}

impl SampleBudget {
    /// A budget of `max` samples.
    pub fn new(max: u64) -> Self {
        Self {
            max,
            loaded: AtomicU64::new(0),
        }
    }

    /// Counts `samples` more; fails once the total is past the limit (a total equal to it is
    /// still allowed, as upstream fails on `current > max`).
    pub fn take(&self, samples: usize) -> Result<(), TooManySamples> {
        let samples = u64::try_from(samples).unwrap_or(u64::MAX);
        let before = self.loaded.fetch_add(samples, Ordering::Relaxed);
        if before.saturating_add(samples) > self.max {
            Err(TooManySamples)
        } else {
            Ok(())
        }
    }

    /// Samples counted so far (saturating).
    pub fn loaded(&self) -> u64 {
        self.loaded.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn budget_allows_up_to_the_limit_and_refuses_past_it() {
        let budget = SampleBudget::new(10);
        assert_eq!(budget.take(4), Ok(()));
        assert_eq!(budget.take(6), Ok(()), "exactly at the limit is allowed");
        assert_eq!(budget.loaded(), 10);
        assert_eq!(budget.take(1), Err(TooManySamples));
        assert_eq!(
            TooManySamples.to_string(),
            "query processing would load too many samples into memory in query execution"
        );
    }

    #[test]
    fn a_zero_budget_refuses_any_sample_but_not_an_empty_series() {
        let budget = SampleBudget::new(0);
        assert_eq!(budget.take(0), Ok(()));
        assert_eq!(budget.take(1), Err(TooManySamples));
    }
}
