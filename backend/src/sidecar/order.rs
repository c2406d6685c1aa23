//! Keeps series sorted after external labels are added, holding back as few as possible.
//!
//! Prometheus streams series sorted by its own labels. Adding the same external labels to every
//! series keeps that order except in one case: when a series' labels are a proper prefix of the
//! next one's (`{a="1"}` then `{a="1",b="1"}` with external `c`: `{a="1",c=…}` now sorts after
//! `{a="1",b="1",c=…}`). Series that extend a given series follow it contiguously in Prometheus's
//! order, so [`Reorder`] holds back only the chain of series that are prefixes of the newest one
//! and releases the rest in order. Memory stays bounded by the length of such a chain, unlike
//! Thanos's `resortingServer` (pkg/store/flushable.go), which buffers the whole response.
//!
//! That argument needs series without labels named like external labels (Prometheus itself
//! never stores those for scraped series unless `honor_labels` lets a target set them). A
//! series that would still come out of order is reported as [`OrderError`] rather than sent
//! out of order, since queriers merge store streams assuming they are sorted.

use std::collections::VecDeque;

use shared::labels::Labels;

use crate::storeapi::Series;

/// A series would have been sent out of order.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "series {next} sorts before the already sent {previous} once external labels are added; \
     Prometheus has series carrying external label names"
)]
pub struct OrderError {
    /// The series that came too late.
    pub next: Labels,
    /// The last series sent.
    pub previous: Labels,
}

/// A series from Prometheus with the labels it had there.
#[derive(Debug)]
struct Pending {
    own: Labels,
    series: Series,
}

/// Restores sort order of series whose labels were extended (see the module docs).
#[derive(Debug, Default)]
pub struct Reorder {
    /// Sorted by served labels.
    pending: VecDeque<Pending>,
    last_sent: Option<Labels>,
}

impl Reorder {
    /// An empty buffer.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds the next series in Prometheus's order (`own`: its labels in Prometheus; `series`:
    /// as served). Returns the series that can be sent now, in order.
    pub fn push(&mut self, own: Labels, series: Series) -> Result<Vec<Series>, OrderError> {
        let at = self
            .pending
            .partition_point(|p| p.series.labels <= series.labels);
        self.pending.insert(
            at,
            Pending {
                own: own.clone(),
                series,
            },
        );
        let mut ready = Vec::new();
        while let Some(front) = self.pending.front() {
            if is_prefix(&front.own, &own) {
                break;
            }
            let front = self.pending.pop_front().expect("front exists");
            ready.push(self.release(front.series)?);
        }
        Ok(ready)
    }

    /// Everything still held back, in order; call when Prometheus's stream ended.
    pub fn finish(&mut self) -> Result<Vec<Series>, OrderError> {
        let pending = std::mem::take(&mut self.pending);
        pending
            .into_iter()
            .map(|p| self.release(p.series))
            .collect()
    }

    fn release(&mut self, series: Series) -> Result<Series, OrderError> {
        if let Some(previous) = &self.last_sent
            && series.labels <= *previous
        {
            return Err(OrderError {
                next: series.labels,
                previous: previous.clone(),
            });
        }
        self.last_sent = Some(series.labels.clone());
        Ok(series)
    }
}

/// Whether `prefix`'s labels are the first labels of `labels` (equal sets count).
fn is_prefix(prefix: &Labels, labels: &Labels) -> bool {
    prefix.len() <= labels.len() && prefix.iter().zip(labels.iter()).all(|(a, b)| a == b)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sidecar::external::series_labels;
    use proptest::prelude::*;

    fn run(own: &[Labels], external: &Labels) -> Result<Vec<Labels>, OrderError> {
        let mut reorder = Reorder::new();
        let mut out = Vec::new();
        for l in own {
            let series = Series {
                labels: series_labels(l.clone(), external, external),
                chunks: vec![],
            };
            out.extend(
                reorder
                    .push(l.clone(), series)?
                    .into_iter()
                    .map(|s| s.labels),
            );
        }
        out.extend(reorder.finish()?.into_iter().map(|s| s.labels));
        Ok(out)
    }

    #[test]
    fn prefix_series_are_reordered() {
        let own = [
            Labels::from_pairs([("a", "1")]),
            Labels::from_pairs([("a", "1"), ("b", "1")]),
        ];
        let out = run(&own, &Labels::from_pairs([("c", "x")])).expect("series stay sorted");
        assert_eq!(
            out,
            [
                Labels::from_pairs([("a", "1"), ("b", "1"), ("c", "x")]),
                Labels::from_pairs([("a", "1"), ("c", "x")])
            ]
        );
    }

    #[test]
    fn unrelated_series_are_released_at_once() {
        let mut reorder = Reorder::new();
        let ext = Labels::from_pairs([("r", "x")]);
        let a = Labels::from_pairs([("a", "1")]);
        let b = Labels::from_pairs([("a", "2")]);
        let s = |l: &Labels| Series {
            labels: series_labels(l.clone(), &ext, &ext),
            chunks: vec![],
        };
        assert!(
            reorder
                .push(a.clone(), s(&a))
                .expect("series stay sorted")
                .is_empty()
        );
        assert_eq!(
            reorder
                .push(b.clone(), s(&b))
                .expect("series stay sorted")
                .len(),
            1
        );
        assert_eq!(reorder.finish().expect("series stay sorted").len(), 1);
    }

    #[test]
    fn colliding_series_out_of_order_are_an_error() {
        // Prometheus order: {a="1",b="2",c="5"} < {a="1",b="2",d="1"} < {a="1",b="3"}. The
        // external b="9" replaces every b, so the last one now sorts before the first, which
        // was already released when the second arrived.
        let own = [
            Labels::from_pairs([("a", "1"), ("b", "2"), ("c", "5")]),
            Labels::from_pairs([("a", "1"), ("b", "2"), ("d", "1")]),
            Labels::from_pairs([("a", "1"), ("b", "3")]),
        ];
        let err = run(&own, &Labels::from_pairs([("b", "9")]))
            .expect_err("colliding labels break the order");
        assert!(err.to_string().contains("external label names"), "{err}");
    }

    proptest! {
        #[test]
        fn output_is_sorted_without_collisions(
            mut own in proptest::collection::btree_set(
                proptest::collection::btree_map("[a-f]", "[0-2]", 0..4), 0..20),
            ext in proptest::collection::btree_map("[a-h]", "[x-z]", 0..3),
        ) {
            let external = Labels::from_pairs(ext);
            own.retain(|m| !m.keys().any(|k| external.contains(k)));
            let mut own: Vec<Labels> = own.into_iter().map(Labels::from_pairs).collect();
            own.sort();
            own.dedup();
            let out = run(&own, &external).expect("series stay sorted");
            prop_assert_eq!(out.len(), own.len());
            prop_assert!(out.windows(2).all(|w| w[0] < w[1]));
        }
    }
}
