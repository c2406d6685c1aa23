//! Samples and time ranges. Timestamps are `i64` milliseconds since the Unix epoch throughout.

use serde::{Deserialize, Serialize};

/// One float sample.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Sample {
    /// Milliseconds since the Unix epoch.
    pub t_ms: i64,
    /// The value; may be NaN, ±Inf or the stale marker.
    pub v: f64,
}

/// Bit pattern of Prometheus's stale marker, a NaN that marks the end of a series
/// (upstream: model/value/value.go `StaleNaN`).
pub const STALE_NAN_BITS: u64 = 0x7ff0_0000_0000_0002;

/// Whether `v` is Prometheus's stale marker (compared by bits: it is a NaN).
pub fn is_stale_nan(v: f64) -> bool {
    v.to_bits() == STALE_NAN_BITS
}

/// The stale marker as an `f64`.
pub fn stale_nan() -> f64 {
    f64::from_bits(STALE_NAN_BITS)
}

/// An inclusive time range `[min_ms, max_ms]`. Always `min_ms <= max_ms`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct TimeRange {
    min_ms: i64,
    max_ms: i64,
}

impl TimeRange {
    /// All of time.
    pub const ALL: TimeRange = TimeRange {
        min_ms: i64::MIN,
        max_ms: i64::MAX,
    };

    /// The range `[min_ms, max_ms]`; `None` when `min_ms > max_ms`.
    pub fn new(min_ms: i64, max_ms: i64) -> Option<Self> {
        (min_ms <= max_ms).then_some(Self { min_ms, max_ms })
    }

    /// First millisecond in the range.
    pub fn min_ms(&self) -> i64 {
        self.min_ms
    }

    /// Last millisecond in the range.
    pub fn max_ms(&self) -> i64 {
        self.max_ms
    }

    /// Whether the two ranges share at least one millisecond.
    pub fn overlaps(&self, other: &TimeRange) -> bool {
        self.min_ms <= other.max_ms && other.min_ms <= self.max_ms
    }

    /// Whether `t_ms` is inside the range.
    pub fn contains(&self, t_ms: i64) -> bool {
        self.min_ms <= t_ms && t_ms <= self.max_ms
    }

    /// The smallest range covering both.
    pub fn union(&self, other: &TimeRange) -> TimeRange {
        TimeRange {
            min_ms: self.min_ms.min(other.min_ms),
            max_ms: self.max_ms.max(other.max_ms),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stale_marker_is_recognised_by_bits() {
        assert!(is_stale_nan(stale_nan()));
        assert!(!is_stale_nan(f64::NAN));
    }

    #[test]
    fn ranges_overlap_inclusively() {
        let a = TimeRange::new(0, 10).unwrap();
        assert!(a.overlaps(&TimeRange::new(10, 20).unwrap()));
        assert!(!a.overlaps(&TimeRange::new(11, 20).unwrap()));
        assert!(TimeRange::new(5, 4).is_none());
    }
}
