//! Counter adjustment: a replica that is switched to must not make a counter go down.
//!
//! Mirrors thanos pkg/dedup/iter.go (`adjustableSeriesIterator`, `counterErrAdjustSeriesIterator`,
//! THANOS.md §2 "Counters"). Whether a series is a counter is the caller's call, made with
//! [`ValueKind`]; this module must not guess it from a PromQL function name.
//!
//! Why: replicas scrape at different moments, and a replica that restarted may have missed the
//! last increments before a reset. Say replica 1 reads 20, 30, 40 and replica 2 reads 25, 35, 45:
//! if dedup follows replica 2 and then switches to replica 1 at 40 after having shown 45, a
//! `rate` would see a drop and count a reset. The adjuster lifts all of replica 1's later values
//! by the 5 it is behind, so the merged counter only rises.

use super::iter::{SampleIterator, Value};

/// Whether a series' values may be adjusted as a counter when dedup switches replicas.
///
/// The caller decides (e.g. the querier sets `Counter` under `rate`, `increase`, `irate` and
/// `resets`, as THANOS.md §2 describes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ValueKind {
    /// Values pass through unchanged.
    #[default]
    Gauge,
    /// Float values never drop when dedup switches replicas.
    Counter,
}

/// A [`SampleIterator`] that the penalty dedup can tell "the merged series just showed this
/// float" when it switches to or away from it.
pub trait AdjustableIterator: SampleIterator {
    /// Called right after a replica switch with the last float value shown before it; the
    /// iterator may lift its current and later float values so they are not below it.
    fn adjust_at_value(&mut self, last_float: f64);
}

impl<I: AdjustableIterator + ?Sized> AdjustableIterator for Box<I> {
    fn adjust_at_value(&mut self, last_float: f64) {
        (**self).adjust_at_value(last_float);
    }
}

/// One replica's samples as the penalty dedup sees them: unchanged for [`ValueKind::Gauge`],
/// counter-adjusted for [`ValueKind::Counter`] (histograms are never adjusted).
#[derive(Debug, Clone)]
pub struct Replica<I> {
    inner: I,
    kind: ValueKind,
    /// Added to every float of this replica; only ever grows.
    offset: f64,
}

impl<I> Replica<I> {
    /// Wraps one replica's iterator.
    pub fn new(inner: I, kind: ValueKind) -> Self {
        Self {
            inner,
            kind,
            offset: 0.0,
        }
    }
}

impl<I: SampleIterator> SampleIterator for Replica<I> {
    type Histogram = I::Histogram;
    type Error = I::Error;

    fn next(&mut self) -> Result<Option<i64>, Self::Error> {
        self.inner.next()
    }

    fn seek(&mut self, t_ms: i64) -> Result<Option<i64>, Self::Error> {
        self.inner.seek(t_ms)
    }

    fn at(&self) -> Option<(i64, Value<&Self::Histogram>)> {
        self.inner.at().map(|(t, v)| match v {
            Value::Float(f) => (t, Value::Float(f + self.offset)),
            histogram => (t, histogram),
        })
    }
}

impl<I: SampleIterator> AdjustableIterator for Replica<I> {
    fn adjust_at_value(&mut self, last_float: f64) {
        if self.kind == ValueKind::Gauge {
            return;
        }
        if let Some((_, Value::Float(current))) = self.at()
            && last_float > current
        {
            self.offset += last_float - current;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::query::dedup::iter::VecIterator;

    fn replica(kind: ValueKind) -> Replica<VecIterator<std::convert::Infallible>> {
        Replica::new(
            VecIterator::floats(&[(1, 40.0), (2, 50.0)]).expect("increasing"),
            kind,
        )
    }

    #[test]
    fn counter_lifts_current_and_later_values() {
        let mut it = replica(ValueKind::Counter);
        assert_eq!(it.next(), Ok(Some(1)));
        it.adjust_at_value(45.0);
        assert_eq!(it.at(), Some((1, Value::Float(45.0))));
        // A lower last value never lowers it again.
        it.adjust_at_value(10.0);
        assert_eq!(it.at(), Some((1, Value::Float(45.0))));
        assert_eq!(it.next(), Ok(Some(2)));
        assert_eq!(it.at(), Some((2, Value::Float(55.0))));
    }

    #[test]
    fn gauge_is_never_adjusted() {
        let mut it = replica(ValueKind::Gauge);
        assert_eq!(it.next(), Ok(Some(1)));
        it.adjust_at_value(45.0);
        assert_eq!(it.at(), Some((1, Value::Float(40.0))));
    }

    #[test]
    fn histograms_are_not_adjusted() {
        let inner = VecIterator::new(vec![(1, Value::Histogram(7u8))]).expect("increasing");
        let mut it = Replica::new(inner, ValueKind::Counter);
        assert_eq!(it.next(), Ok(Some(1)));
        it.adjust_at_value(100.0);
        assert_eq!(it.at(), Some((1, Value::Histogram(&7u8))));
    }
}
