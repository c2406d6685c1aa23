//! Start timestamps (a sample's "created" time: when the counter it belongs to started from
//! zero) and how PromQL reads them (upstream promql/functions.go `isStartTimestampReset`,
//! `checkStartTimeOverlap`, and the engine's `useStartTimestamps`).
//!
//! Only `rate`, `increase`, `irate` and `resets` over a range selector, and `start_timestamp`
//! over an instant selector, see them; anything in between (a subquery, an operator) drops
//! them. A start time of 0 means unknown, as upstream.

use std::collections::HashMap;

use shared::labels::Labels;

use super::storage::SeriesStartTimestamps;

/// The functions whose selector arguments are fetched with start timestamps.
pub(crate) const FUNCTIONS: [&str; 5] = ["increase", "irate", "rate", "resets", "start_timestamp"];

/// The start timestamps of one selector's series.
#[derive(Debug, Default)]
pub(crate) struct SelectorStarts {
    by_series: HashMap<Labels, Vec<(i64, i64)>>,
}

impl SelectorStarts {
    /// Indexes what the storage returned.
    pub(crate) fn new(series: Vec<SeriesStartTimestamps>) -> Self {
        Self {
            by_series: series.into_iter().collect(),
        }
    }

    /// The start timestamp of the sample of `labels` at `t_ms`; 0 when unknown.
    pub(crate) fn at(&self, labels: &Labels, t_ms: i64) -> i64 {
        self.by_series
            .get(labels)
            .and_then(|pairs| {
                pairs
                    .binary_search_by_key(&t_ms, |(t, _)| *t)
                    .ok()
                    .and_then(|i| pairs.get(i))
            })
            .map_or(0, |(_, st)| *st)
    }

    /// The start timestamps of samples at `times` of `labels`; `None` when the series has none.
    pub(crate) fn of(&self, labels: &Labels, times: impl Iterator<Item = i64>) -> Option<Vec<i64>> {
        self.by_series.get(labels)?;
        Some(times.map(|t| self.at(labels, t)).collect())
    }
}

/// Whether the current sample restarted its counter after the previous one, judged by start
/// timestamps alone (upstream `isStartTimestampReset`): its start is known, before its own time
/// and after the previous sample, or exactly at the previous sample when that one had a known,
/// valid start of its own (a delta sample rather than a cumulative one of unknown start).
pub(crate) fn is_reset(prev_st: i64, prev_t: i64, cur_st: i64, cur_t: i64) -> bool {
    if cur_st == 0 || cur_st >= cur_t || cur_st < prev_t {
        return false;
    }
    if cur_st > prev_t {
        return true;
    }
    prev_st <= prev_t && prev_st != 0 && prev_st != prev_t
}

/// Whether the current sample's start lies before the previous sample without being the same
/// start (upstream `checkStartTimeOverlap`): the two samples claim overlapping intervals.
pub(crate) fn overlaps(prev_st: i64, prev_t: i64, cur_st: i64) -> bool {
    cur_st != 0 && cur_st < prev_t && cur_st != prev_st
}

/// The warning for overlapping start times (upstream `NewStartTimeOverlapWarning`).
pub(crate) fn overlap_message(metric: &str) -> String {
    format!(
        "sample has start time that overlaps with previous sample timestamp for metric {metric:?}"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resets_follow_start_timestamps() {
        // Unknown or invalid starts never reset.
        assert!(!is_reset(0, 60, 0, 120));
        assert!(!is_reset(0, 60, 120, 120), "start at the sample itself");
        assert!(
            !is_reset(0, 60, 30, 120),
            "starts before the previous sample: cumulative"
        );
        assert!(
            is_reset(0, 60, 90, 120),
            "started after the previous sample"
        );
        // Starting exactly at the previous sample: a delta only if that one had its own start.
        assert!(is_reset(1, 60, 60, 120));
        assert!(!is_reset(0, 60, 60, 120), "cumulative of unknown start");
        assert!(!is_reset(60, 60, 60, 120), "previous start at its own time");
        assert!(!is_reset(120, 60, 60, 120), "invalid previous start");
    }

    #[test]
    fn overlaps_need_a_different_earlier_start() {
        assert!(!overlaps(0, 60, 0));
        assert!(!overlaps(30, 60, 30), "same cumulative start");
        assert!(
            !overlaps(0, 60, 60),
            "delta starting at the previous sample"
        );
        assert!(overlaps(0, 60, 30));
    }

    #[test]
    fn lookups_give_zero_when_unknown() {
        let labels = Labels::from_pairs([("a", "b")]);
        let starts = SelectorStarts::new(vec![(labels.clone(), vec![(10, 5), (20, 15)])]);
        assert_eq!(starts.at(&labels, 20), 15);
        assert_eq!(starts.at(&labels, 30), 0);
        assert_eq!(starts.of(&labels, [10, 30].into_iter()), Some(vec![5, 0]));
        assert_eq!(starts.of(&Labels::empty(), [10].into_iter()), None);
    }
}
