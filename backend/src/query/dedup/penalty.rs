//! Penalty deduplication of two replicas, `D(a, b)` (THANOS.md §2 "Penalty merge").
//!
//! Mirrors thanos pkg/dedup/iter.go (`dedupSeriesIterator`). It follows one replica and only
//! switches when the other is clearly ahead; the replica it did not pick is sought with a penalty
//! of twice the last step, so that two replicas scraping at different moments do not interleave
//! into a series with twice the sample rate. N replicas nest: `D(D(D(r0, r1), r2), r3)`.
//! This module knows samples only: no chunks, no labels, no PromQL.

use super::counter::AdjustableIterator;
use super::iter::{SampleIterator, Value};

/// Penalty applied to the replica not picked while no sample has been chosen yet: timestamps
/// are in ms and scrape intervals are seconds long (thanos pkg/dedup/iter.go `initialPenalty`).
pub const INITIAL_PENALTY_MS: i64 = 5000;

/// Where the merged iterator stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Position {
    /// Neither replica has been read yet.
    Fresh,
    /// A sample is current (on the side `use_a` names).
    At(i64),
    /// Both replicas are exhausted.
    Exhausted,
}

/// Merges replica `a` with replica `b`, penalising the one not picked; ties go to `a`.
///
/// Both replicas are [`AdjustableIterator`]s (wrap plain iterators in
/// [`Replica`](super::counter::Replica)) and so is the result, which is what lets it nest.
#[derive(Debug, Clone)]
pub struct PenaltyDedup<A, B> {
    a: A,
    b: B,
    /// Current timestamp of `a`, `None` once exhausted (then never sought again).
    a_t: Option<i64>,
    /// Current timestamp of `b`, `None` once exhausted.
    b_t: Option<i64>,
    /// Timestamp of the last sample shown; `None` before the first.
    last_t: Option<i64>,
    pen_a_ms: i64,
    pen_b_ms: i64,
    use_a: bool,
    position: Position,
}

impl<A, B> PenaltyDedup<A, B>
where
    A: AdjustableIterator,
    B: AdjustableIterator<Histogram = A::Histogram, Error = A::Error>,
{
    /// Deduplicates `a` (the preferred replica) with `b`. Reads nothing until the first call.
    pub fn new(a: A, b: B) -> Self {
        Self {
            a,
            b,
            a_t: None,
            b_t: None,
            last_t: None,
            pen_a_ms: 0,
            pen_b_ms: 0,
            use_a: true,
            position: Position::Fresh,
        }
    }

    /// The float the merged series currently shows on the side it follows, if any.
    fn current_float(&self) -> Option<f64> {
        let current = if self.use_a {
            self.a_t.and(self.a.at())
        } else {
            self.b_t.and(self.b.at())
        };
        current.and_then(|(_, v)| v.as_float())
    }

    /// Where to seek a side next: one past the last sample shown, plus that side's penalty.
    fn seek_target(&self, penalty_ms: i64) -> i64 {
        match self.last_t {
            Some(t) => t.saturating_add(1).saturating_add(penalty_ms),
            None => i64::MIN,
        }
    }

    /// Penalty for the side not picked when the picked one is at `picked_t`.
    fn penalty_for_other(&self, picked_t: i64) -> i64 {
        match self.last_t {
            Some(last) => picked_t.saturating_sub(last).saturating_mul(2),
            None => INITIAL_PENALTY_MS,
        }
    }

    /// One step of THANOS.md §2 `Next()`; returns the new current timestamp.
    fn step(&mut self) -> Result<Option<i64>, A::Error> {
        if self.position == Position::Fresh {
            // The upstream constructor reads one sample from each side.
            self.a_t = self.a.next()?;
            self.b_t = self.b.next()?;
        }
        let last_float = self.current_float();
        let was_a = self.use_a;

        if self.a_t.is_some() {
            self.a_t = self.a.seek(self.seek_target(self.pen_a_ms))?;
        }
        if self.b_t.is_some() {
            self.b_t = self.b.seek(self.seek_target(self.pen_b_ms))?;
        }

        let picked = match (self.a_t, self.b_t) {
            (None, b_t) => {
                self.use_a = false;
                if let Some(tb) = b_t {
                    self.last_t = Some(tb);
                    self.pen_b_ms = 0;
                }
                b_t
            }
            (Some(ta), None) => {
                self.use_a = true;
                self.last_t = Some(ta);
                self.pen_a_ms = 0;
                Some(ta)
            }
            (Some(ta), Some(tb)) if ta <= tb => {
                self.use_a = true;
                self.pen_b_ms = self.penalty_for_other(ta);
                self.pen_a_ms = 0;
                self.last_t = Some(ta);
                Some(ta)
            }
            (Some(_), Some(tb)) => {
                self.use_a = false;
                self.pen_a_ms = self.penalty_for_other(tb);
                self.pen_b_ms = 0;
                self.last_t = Some(tb);
                Some(tb)
            }
        };

        if self.use_a != was_a
            && let Some(last) = last_float
        {
            self.adjust_at_value(last);
        }
        self.position = picked.map_or(Position::Exhausted, Position::At);
        Ok(picked)
    }
}

impl<A, B> SampleIterator for PenaltyDedup<A, B>
where
    A: AdjustableIterator,
    B: AdjustableIterator<Histogram = A::Histogram, Error = A::Error>,
{
    type Histogram = A::Histogram;
    type Error = A::Error;

    fn next(&mut self) -> Result<Option<i64>, Self::Error> {
        if self.position == Position::Exhausted {
            return Ok(None);
        }
        self.step()
    }

    /// Steps with `next` until the current sample is at or after `t_ms`, rather than seeking
    /// the replicas directly, so that a gap in the followed replica is still filled.
    ///
    /// Unlike upstream, a seek before the first `next` runs the selection first: upstream
    /// would return replica `a`'s first sample even when `b` starts earlier.
    fn seek(&mut self, t_ms: i64) -> Result<Option<i64>, Self::Error> {
        loop {
            let current = match self.position {
                Position::Fresh => self.step()?,
                Position::At(t) => Some(t),
                Position::Exhausted => None,
            };
            match current {
                Some(t) if t < t_ms => {
                    self.step()?;
                }
                other => return Ok(other),
            }
        }
    }

    fn at(&self) -> Option<(i64, Value<&Self::Histogram>)> {
        match self.position {
            Position::At(_) if self.use_a => self.a.at(),
            Position::At(_) => self.b.at(),
            Position::Fresh | Position::Exhausted => None,
        }
    }
}

impl<A, B> AdjustableIterator for PenaltyDedup<A, B>
where
    A: AdjustableIterator,
    B: AdjustableIterator<Histogram = A::Histogram, Error = A::Error>,
{
    fn adjust_at_value(&mut self, last_float: f64) {
        if self.a_t.is_some() && matches!(self.a.at(), Some((_, Value::Float(_)))) {
            self.a.adjust_at_value(last_float);
        }
        if self.b_t.is_some() && matches!(self.b.at(), Some((_, Value::Float(_)))) {
            self.b.adjust_at_value(last_float);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::convert::Infallible;

    use super::*;
    use crate::query::dedup::counter::{Replica, ValueKind};
    use crate::query::dedup::iter::{VecIterator, collect_samples};
    use crate::query::dedup::{DedupAlgorithm, deduplicate};

    type Samples = Vec<(i64, f64)>;

    fn iter(samples: &[(i64, f64)]) -> VecIterator<Infallible> {
        VecIterator::floats(samples).expect("test samples are increasing")
    }

    fn dedup(replicas: &[&[(i64, f64)]], kind: ValueKind) -> Samples {
        let mut it = deduplicate(
            replicas.iter().map(|r| iter(r)).collect(),
            DedupAlgorithm::Penalty,
            kind,
        );
        let samples = collect_samples(&mut it).unwrap_or_else(|never| match never {});
        samples
            .into_iter()
            .map(|(t, v)| (t, v.as_float().expect("float input gives float output")))
            .collect()
    }

    fn at_times(times: &[i64], v: f64) -> Samples {
        times.iter().map(|&t| (t, v)).collect()
    }

    /// THANOS.md §2 test vector 1: equal timestamps, ties go to the first replica.
    #[test]
    fn vector_1_ties_go_to_a() {
        let a = [(10000, 10.0), (20000, 11.0), (30000, 12.0), (40000, 13.0)];
        let b = [(10000, 20.0), (20000, 21.0), (30000, 22.0), (40000, 23.0)];
        assert_eq!(dedup(&[&a, &b], ValueKind::Gauge), a.to_vec());
    }

    /// THANOS.md §2 test vector 2: the replica that starts earlier is followed.
    #[test]
    fn vector_2_earlier_replica_wins() {
        let a = at_times(&[10100, 20100, 30100, 40100], 1.0);
        let b = at_times(&[10000, 20000, 30000, 40000], 2.0);
        assert_eq!(dedup(&[&a, &b], ValueKind::Gauge), b);
    }

    /// THANOS.md §2 test vector 3: a one-interval gap does not switch replicas.
    #[test]
    fn vector_3_no_switch_on_one_interval_gap() {
        let a = at_times(&[10000, 20000, 40000], 1.0);
        let b = at_times(&[10000, 20000, 30000, 40000], 2.0);
        assert_eq!(dedup(&[&a, &b], ValueKind::Gauge), a);
    }

    /// THANOS.md §2 test vector 4: offset replica, one-interval gap, no switch.
    #[test]
    fn vector_4_offset_replica_does_not_fill_short_gap() {
        let a = at_times(&[10000, 20000, 40000], 1.0);
        let b = at_times(&[15000, 25000, 35000, 45000], 2.0);
        assert_eq!(dedup(&[&a, &b], ValueKind::Gauge), a);
    }

    /// THANOS.md §2 test vector 5: a gap over two intervals switches, and dedup stays there.
    #[test]
    fn vector_5_long_gap_switches_and_stays() {
        let a = at_times(&[10000, 20000, 30000, 60000, 70000], 1.0);
        let b = at_times(&[10100, 20100, 30100, 40100, 50100, 60100], 2.0);
        let expected = vec![
            (10000, 1.0),
            (20000, 1.0),
            (30000, 1.0),
            (50100, 2.0),
            (60100, 2.0),
        ];
        assert_eq!(dedup(&[&a, &b], ValueKind::Gauge), expected);
    }

    const V7_A: [(i64, f64); 8] = [
        (10000, 8.0),
        (20000, 9.0),
        (50001, 10.0),
        (60000, 11.0),
        (70000, 12.0),
        (80000, 13.0),
        (90000, 14.0),
        (100000, 15.0),
    ];
    const V7_B: [(i64, f64); 4] = [(10001, 8.0), (45001, 8.5), (55001, 9.5), (65001, 10.5)];

    /// THANOS.md §2 test vector 7 (thanos pkg/dedup/iter_test.go, counter case, issue #2401),
    /// with forward-only iterators: the 90000 sample is skipped (see the THANOS.md caveat;
    /// upstream's mock seek moves backwards and keeps it).
    #[test]
    fn vector_7_counter_adjusted_with_forward_only_iterators() {
        let expected = vec![
            (10000, 8.0),
            (20000, 9.0),
            (45001, 9.0),
            (55001, 10.0),
            (65001, 11.0),
            (100000, 15.0),
        ];
        assert_eq!(dedup(&[&V7_A, &V7_B], ValueKind::Counter), expected);
    }

    /// THANOS.md §2 test vector 7 without the counter adjuster: b's values pass unchanged.
    #[test]
    fn vector_7_without_adjuster_drops() {
        let expected = vec![
            (10000, 8.0),
            (20000, 9.0),
            (45001, 8.5),
            (55001, 9.5),
            (65001, 10.5),
            (100000, 15.0),
        ];
        assert_eq!(dedup(&[&V7_A, &V7_B], ValueKind::Gauge), expected);
    }

    /// Every `interval_ms` from `from_ms` to `to_ms` inclusive, minus `[gap_from, gap_to)`.
    fn scrapes(
        from_ms: i64,
        to_ms: i64,
        interval_ms: i64,
        gap: Option<(i64, i64)>,
        value: impl Fn(i64) -> f64,
    ) -> Samples {
        (from_ms..=to_ms)
            .step_by(usize::try_from(interval_ms).expect("positive interval"))
            .filter(|t| gap.is_none_or(|(from, to)| *t < from || *t >= to))
            .map(|t| (t, value(t)))
            .collect()
    }

    /// The longest step a switch can leave with a 15 s interval: the other replica is sought
    /// twice the last step ahead, then waits for its next scrape (THANOS.md §2).
    const MAX_SWITCH_STEP_MS: i64 = 3 * 15_000;

    fn max_step(samples: &Samples) -> i64 {
        samples
            .windows(2)
            .map(|w| w[1].0 - w[0].0)
            .max()
            .unwrap_or(0)
    }

    /// Issue scenario: two replicas scraping the same target 5 s apart give one sample per scrape
    /// interval (the first replica's), not an interleaved series at double rate.
    #[test]
    fn offset_replicas_do_not_interleave() {
        let a = scrapes(0, 300_000, 15_000, None, |t| t as f64);
        let b = scrapes(5_000, 305_000, 15_000, None, |t| t as f64 + 0.5);
        assert_eq!(dedup(&[&a, &b], ValueKind::Gauge), a);
        let reversed = dedup(&[&b, &a], ValueKind::Gauge);
        assert_eq!(
            reversed.first(),
            Some(&(0, 0.0)),
            "the earlier replica is followed whatever the order"
        );
        assert!(
            reversed.len() <= a.len() + 1,
            "no doubled sample rate: {} samples",
            reversed.len()
        );
    }

    /// Issue scenario: a gap in one replica is filled by the other.
    #[test]
    fn gap_in_one_replica_is_filled() {
        let gap = (60_000, 150_000);
        let a = scrapes(0, 300_000, 15_000, Some(gap), |_| 1.0);
        let b = scrapes(5_000, 305_000, 15_000, None, |_| 2.0);
        let out = dedup(&[&a, &b], ValueKind::Gauge);
        assert!(max_step(&a) >= 90_000);
        assert!(
            max_step(&out) <= MAX_SWITCH_STEP_MS,
            "max step {} ms",
            max_step(&out)
        );
        assert!(
            out.iter().any(|&(t, v)| v == 2.0 && gap.0 < t && t < gap.1),
            "b fills the gap: {out:?}"
        );
        assert!(out.windows(2).all(|w| w[0].0 < w[1].0));
    }

    /// Issue scenario: gaps in both replicas at different times leave no gap in the result: each
    /// replica alone misses six scrapes in a row, the result at most two (at a switch).
    #[test]
    fn gaps_in_both_replicas_leave_no_gap() {
        let gap_a = (60_000, 150_000);
        let gap_b = (200_000, 290_000);
        let a = scrapes(0, 400_000, 15_000, Some(gap_a), |_| 1.0);
        let b = scrapes(5_000, 405_000, 15_000, Some(gap_b), |_| 2.0);
        let out = dedup(&[&a, &b], ValueKind::Gauge);
        assert!(max_step(&a) >= 90_000 && max_step(&b) >= 90_000);
        assert!(
            max_step(&out) <= MAX_SWITCH_STEP_MS,
            "max step {} ms in {out:?}",
            max_step(&out)
        );
        assert!(
            out.iter()
                .any(|&(t, v)| v == 2.0 && gap_a.0 < t && t < gap_a.1)
        );
        assert!(
            out.iter()
                .any(|&(t, v)| v == 1.0 && gap_b.0 < t && t < gap_b.1)
        );
        assert_eq!(out.last(), a.last());
    }

    /// Issue scenario: counters that differ slightly between replicas (b lost one increment)
    /// neither drop nor spike when dedup switches replicas.
    #[test]
    fn slightly_different_counters_stay_monotonic() {
        let per_ms = 1.0 / 60_000.0;
        let a = scrapes(0, 400_000, 15_000, Some((60_000, 150_000)), |t| {
            100.0 + t as f64 * per_ms
        });
        let b = scrapes(5_000, 405_000, 15_000, Some((200_000, 290_000)), |t| {
            99.0 + t as f64 * per_ms
        });
        let out = dedup(&[&a, &b], ValueKind::Counter);
        let replica_difference = 1.0;
        for w in out.windows(2) {
            let (dt, dv) = (w[1].0 - w[0].0, w[1].1 - w[0].1);
            assert!(dv >= 0.0, "counter drops at {:?}", w);
            assert!(
                dv <= dt as f64 * per_ms + replica_difference + 1e-9,
                "counter spikes at {:?}",
                w
            );
        }
        let unadjusted = dedup(&[&a, &b], ValueKind::Gauge);
        assert!(
            unadjusted.windows(2).any(|w| w[1].1 < w[0].1),
            "the scenario does switch to the lower replica"
        );
    }

    /// Seeking steps through `next`, so a gap in the followed replica is still filled.
    #[test]
    fn seek_does_not_skip_the_gap_fill() {
        let a = at_times(&[10000, 20000, 30000, 60000, 70000], 1.0);
        let b = at_times(&[10100, 20100, 30100, 40100, 50100, 60100], 2.0);
        let mut it = PenaltyDedup::new(
            Replica::new(iter(&a), ValueKind::Gauge),
            Replica::new(iter(&b), ValueKind::Gauge),
        );
        assert_eq!(it.seek(35000), Ok(Some(50100)));
        assert_eq!(it.seek(0), Ok(Some(50100)), "seek never moves backwards");
        assert_eq!(it.next(), Ok(Some(60100)));
        assert_eq!(it.next(), Ok(None));
        assert_eq!(it.seek(0), Ok(None));
    }

    /// A seek before the first `next` still prefers the replica that starts earlier.
    #[test]
    fn first_seek_selects_like_next() {
        let a = at_times(&[10100, 20100], 1.0);
        let b = at_times(&[10000, 20000], 2.0);
        let mut it = PenaltyDedup::new(
            Replica::new(iter(&a), ValueKind::Gauge),
            Replica::new(iter(&b), ValueKind::Gauge),
        );
        assert_eq!(it.seek(5000), Ok(Some(10000)));
        assert_eq!(it.at(), Some((10000, Value::Float(2.0))));
    }

    #[test]
    fn exhausted_replica_hands_over_to_the_other() {
        let a = at_times(&[10000], 1.0);
        let b = at_times(&[10000, 20000, 30000], 2.0);
        assert_eq!(
            dedup(&[&a, &b], ValueKind::Gauge),
            vec![(10000, 1.0), (20000, 2.0), (30000, 2.0)]
        );
        assert_eq!(dedup(&[&[], &b], ValueKind::Gauge), b);
        assert_eq!(dedup(&[&b, &[]], ValueKind::Gauge), b);
    }
}
