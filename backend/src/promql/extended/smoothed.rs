//! The `smoothed` instant selector (upstream promql/engine.go `smoothSeries`): the value at the
//! reference time interpolated between the samples around it, each at most a lookback delta
//! away, or the last one carried forward when nothing follows.

use shared::histogram::CounterResetHint;

use super::{Note, interpolate, interpolate_histograms, mixes_bucket_kinds};
use crate::promql::EngineError;
use crate::promql::eval::Evaluator;
use crate::promql::parser::VectorSelector;
use crate::promql::storage::{Point, SampleValue};
use crate::promql::value::{Element, Vector};

/// A `smoothed` instant selector at `t_ms` (upstream `smoothSeries`): the sample at the
/// reference time, else the interpolation between its neighbours within a lookback delta,
/// else the last value before it. Series mixing floats and histograms there, or exponential
/// and custom buckets, are left out.
pub(crate) fn smoothed_vector(
    ev: &Evaluator,
    s: &VectorSelector,
    t_ms: i64,
) -> Result<Vector, EngineError> {
    let at = ev.base(s.at, t_ms).saturating_sub(ev.offset(&s.offset)?);
    let lookback = ev.lookback_ms();
    let mut out = Vector::new();
    for series in ev.series(s)? {
        let near = series.window(at.saturating_sub(lookback), at.saturating_add(lookback));
        let mut notes = Vec::new();
        if let Some(value) = smoothed_value(&near, at, &mut notes) {
            out.push(Element {
                labels: series.labels.clone(),
                value,
                drop_name: false,
            });
        }
        let metric = series.labels.get("__name__").unwrap_or("");
        for note in notes {
            note.report(ev, s.span, metric);
        }
    }
    Ok(out)
}

/// The smoothed value at `at` of `near` (non-stale points around it); `None` when there is
/// none or (noted) when the samples there cannot be combined.
fn smoothed_value(near: &[Point], at: i64, notes: &mut Vec<Note>) -> Option<SampleValue> {
    let floats = near
        .iter()
        .filter(|p| matches!(p.value, SampleValue::Float(_)))
        .count();
    if floats != 0 && floats != near.len() {
        notes.push(Note::MixedFloatsHistograms);
        return None;
    }
    let i = near.partition_point(|p| p.t_ms < at);
    match (i.checked_sub(1).and_then(|j| near.get(j)), near.get(i)) {
        (_, Some(next)) if next.t_ms == at => Some(next.value.clone()),
        (Some(prev), Some(next)) => match (&prev.value, &next.value) {
            (SampleValue::Float(a), SampleValue::Float(b)) => Some(SampleValue::Float(
                interpolate(*a, prev.t_ms, *b, next.t_ms, at, false),
            )),
            (SampleValue::Histogram(a), SampleValue::Histogram(b)) => {
                if mixes_bucket_kinds(a, b) {
                    notes.push(Note::MixedBucketKinds);
                    return None;
                }
                let counter = a.counter_reset_hint != CounterResetHint::Gauge
                    || b.counter_reset_hint != CounterResetHint::Gauge;
                interpolate_histograms(a, prev.t_ms, b, next.t_ms, at, counter, notes)
                    .map(|h| SampleValue::Histogram(Box::new(h)))
            }
            _ => None,
        },
        (Some(prev), None) => Some(match &prev.value {
            SampleValue::Float(f) => SampleValue::Float(*f),
            SampleValue::Histogram(h) => {
                let mut h = h.as_ref().clone();
                // The hint relates a sample to its predecessor; a carried value has none.
                h.counter_reset_hint = CounterResetHint::Unknown;
                SampleValue::Histogram(Box::new(h))
            }
        }),
        (None, _) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn smoothed_values_interpolate_or_carry_forward() {
        let p = |t_ms, v| Point {
            t_ms,
            value: SampleValue::Float(v),
        };
        let mut notes = Vec::new();
        let near = [p(10_000, 2.0), p(20_000, 3.0)];
        let float = |v| Some(SampleValue::Float(v));
        assert_eq!(smoothed_value(&near, 15_000, &mut notes), float(2.5));
        assert_eq!(smoothed_value(&near, 20_000, &mut notes), float(3.0));
        assert_eq!(smoothed_value(&near, 25_000, &mut notes), float(3.0));
        assert_eq!(smoothed_value(&near, 5_000, &mut notes), None);
        assert!(notes.is_empty());
        let h = SampleValue::Histogram(Box::default());
        let mixed = [
            p(10_000, 2.0),
            Point {
                t_ms: 20_000,
                value: h,
            },
        ];
        assert_eq!(smoothed_value(&mixed, 15_000, &mut notes), None);
        assert_eq!(notes, [Note::MixedFloatsHistograms]);
    }
}
