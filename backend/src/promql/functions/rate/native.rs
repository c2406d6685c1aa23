//! `rate`, `increase` and `delta` of native histograms (upstream functions.go
//! `histogramRate`): the change between the first and last histogram plus, for counters, the
//! histogram before each reset, extrapolated like floats. Knows nothing of floats.

use shared::histogram::{CUSTOM_BUCKETS_SCHEMA, CounterResetHint, FloatHistogram};
use shared::labels::Labels;

use super::{Counter, Kind, Window, factor, metric_name};
use crate::promql::annotations::Note;
use crate::promql::histogram::{self, Operation};
use crate::promql::storage::{Point, histogram_points};

/// The extrapolated change of a histogram series (upstream `histogramRate`): last minus first,
/// plus the value before each counter reset; a gauge histogram. `None` with fewer than two
/// samples, or when exponential and custom buckets mix. Also returns what upstream annotates:
/// gauges read as counters and the reverse, mixed schemas, reconciled custom bounds. `counter`
/// (for `rate` and `increase`) brings start timestamps: a first sample that started inside the
/// window counts from zero at its start (then one sample is enough).
pub(super) fn histogram_change(
    points: &[Point],
    w: Window,
    kind: Kind,
    labels: &Labels,
    mut counter: Option<Counter<'_>>,
) -> (Option<FloatHistogram>, Vec<Note>) {
    let mut notes = Vec::new();
    let histograms: Vec<(i64, &FloatHistogram)> = histogram_points(points);
    let (Some(&(first_t, first)), Some(&(last_t, last))) = (histograms.first(), histograms.last())
    else {
        return (None, notes);
    };
    let first_start = counter.as_ref().and_then(|k| k.first_start(first_t, w));
    if histograms.len() < 2 {
        let Some(start) = first_start else {
            return (None, notes);
        };
        let f = factor((first_t, last_t, 1), w, None, Some(start), kind.is_rate);
        return (Some(histogram::scale(first, f)), notes);
    }
    let is_gauge = |h: &FloatHistogram| h.counter_reset_hint == CounterResetHint::Gauge;
    if kind.is_counter && histograms.iter().any(|(_, h)| is_gauge(h)) {
        notes.push(Note::NotCounter(metric_name(labels)));
    }
    // A reset right after the first sample makes its layout irrelevant (upstream nulls it).
    let second = histograms[1];
    let reset_after_first = kind.is_counter
        && (counter
            .as_mut()
            .is_some_and(|k| k.start_reset(1, first_t, second.0))
            || histogram::detect_reset(first, second.1));
    let custom = |h: &FloatHistogram| h.schema == CUSTOM_BUCKETS_SCHEMA;
    let start = if reset_after_first { 1 } else { 0 };
    let layout = custom(histograms[start].1);
    if histograms[start..].iter().any(|(_, h)| custom(h) != layout) {
        notes.push(Note::MixedExponentialCustom(metric_name(labels)));
        return (None, notes);
    }
    let empty;
    let subtrahend = if reset_after_first {
        empty = FloatHistogram {
            schema: histograms[1].1.schema,
            custom_values: histograms[1].1.custom_values.clone(),
            ..FloatHistogram::default()
        };
        &empty
    } else {
        first
    };
    let Ok((mut change, noticed)) = histogram::combine(last, subtrahend, -1.0) else {
        notes.push(Note::MixedExponentialCustom(metric_name(labels)));
        return (None, notes);
    };
    if noticed.bounds_reconciled {
        notes.push(Note::MismatchedCustomBuckets(Operation::Subtraction));
    }
    if kind.is_counter {
        for (i, pair) in histograms.windows(2).enumerate().skip(start) {
            let start_reset = counter
                .as_mut()
                .is_some_and(|k| k.start_reset(i + 1, pair[0].0, pair[1].0));
            if !start_reset && !histogram::detect_reset(pair[0].1, pair[1].1) {
                continue;
            }
            let Ok((sum, noticed)) = histogram::combine(&change, pair[0].1, 1.0) else {
                notes.push(Note::MixedExponentialCustom(metric_name(labels)));
                return (None, notes);
            };
            if noticed.bounds_reconciled {
                notes.push(Note::MismatchedCustomBuckets(Operation::Addition));
            }
            change = sum;
        }
    } else if !is_gauge(first) || !is_gauge(last) {
        notes.push(Note::NotGauge(metric_name(labels)));
    }
    if first_start.is_some() {
        // The first sample counts from zero at its start.
        let Ok((sum, noticed)) = histogram::combine(&change, first, 1.0) else {
            notes.push(Note::MixedExponentialCustom(metric_name(labels)));
            return (None, notes);
        };
        if noticed.bounds_reconciled {
            notes.push(Note::MismatchedCustomBuckets(Operation::Addition));
        }
        change = sum;
    }
    let zero = (kind.is_counter && change.count > 0.0).then_some((first.count, change.count));
    let n = histograms.len();
    let mut result = histogram::scale(
        &change,
        factor((first_t, last_t, n), w, zero, first_start, kind.is_rate),
    );
    result.counter_reset_hint = CounterResetHint::Gauge;
    (Some(result), notes)
}
