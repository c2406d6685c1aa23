//! Finding where an evaluation time falls in a series' samples without a binary search at
//! every step.
//!
//! The step loop asks each series, time after time, how many samples lie at or before `t`.
//! Times mostly increase by one step, so the answer moves forward by a sample or two: a
//! [`Cursor`] remembers the last answer and scans forward from it, falling back to a binary
//! search when the time jumps (subqueries restart their window at each outer step). Upstream
//! keeps a forward-only iterator per series for the same reason. Knows only [`Point`].

use std::cell::Cell;

use super::storage::Point;

/// Samples scanned forward before giving up and searching.
const SCAN: usize = 8;

/// The position found for the previous time, per series (one evaluation, one thread).
#[derive(Debug, Default)]
pub(crate) struct Cursor(Cell<usize>);

impl Cursor {
    /// How many of `points` (sorted by time) have `t_ms <= at_ms`, as
    /// `points.partition_point(|p| p.t_ms <= at_ms)`.
    pub(crate) fn count_up_to(&self, points: &[Point], at_ms: i64) -> usize {
        let hint = self.0.get().min(points.len());
        let before = |i: usize| points.get(i).is_some_and(|p| p.t_ms <= at_ms);
        let found = if hint == 0 || before(hint - 1) {
            let limit = hint.saturating_add(SCAN).min(points.len());
            match (hint..limit).find(|&i| !before(i)) {
                Some(i) => i,
                None => {
                    let rest = points.get(limit..).unwrap_or_default();
                    limit + rest.partition_point(|p| p.t_ms <= at_ms)
                }
            }
        } else {
            let head = points.get(..hint).unwrap_or_default();
            head.partition_point(|p| p.t_ms <= at_ms)
        };
        self.0.set(found);
        found
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::promql::storage::SampleValue;

    #[test]
    fn agrees_with_a_binary_search_whatever_the_order_of_times() {
        let points: Vec<Point> = (0..100)
            .map(|i| Point {
                t_ms: i * 15,
                value: SampleValue::Float(0.0),
            })
            .collect();
        let cursor = Cursor::default();
        let forward = (-20..1600).step_by(7);
        let jumps = [1500, 3, 700, 699, 2000, -5, 30, 31, 1485];
        for at in forward.chain(jumps) {
            let expected = points.partition_point(|p| p.t_ms <= at);
            assert_eq!(cursor.count_up_to(&points, at), expected, "at {at}");
        }
        assert_eq!(Cursor::default().count_up_to(&[], 10), 0);
    }
}
