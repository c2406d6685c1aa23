//! The value of one group at one step for the aggregations that compute a number or a
//! histogram: `sum`, `avg`, `count`, `group`, `min`, `max`, `stddev`, `stdvar`, `quantile`.
//!
//! Mirrors Prometheus 3 promql/engine.go (`aggregation`, `kahanSumInc`): `sum` and `avg` use
//! Kahan-compensated summation, `min`/`max` prefer numbers over NaN, `stddev`/`stdvar` use a
//! running mean. Both the step-wise and the range evaluation call these with a group's members
//! in input order. Knows nothing of steps, grouping or storage.

use shared::histogram::{CUSTOM_BUCKETS_SCHEMA, FloatHistogram};

use super::Member;
use crate::promql::EngineError;
use crate::promql::annotations::Note;
use crate::promql::eval::{Evaluator, unwrapped_span};
use crate::promql::histogram::{self, IncompatibleSchemas, Operation};
use crate::promql::parser::{AggregateExpr, AggregateOp};
use crate::promql::storage::SampleValue;

/// One group's result; `None` when upstream drops the group: floats mixed with histograms, or
/// exponential with custom buckets, in `sum`/`avg` (with a warning), or no floats for an
/// aggregation of floats.
pub(super) fn aggregate_group(
    ev: &Evaluator,
    a: &AggregateExpr,
    members: &[Member<'_>],
) -> Result<Option<SampleValue>, EngineError> {
    let op = a.op;
    let mut acc: Option<Accumulator> = None;
    let mut add = |v: f64| match &mut acc {
        Some(acc) => acc.add(v),
        None => acc = Some(Accumulator::new(op, v)),
    };
    match op {
        AggregateOp::Count | AggregateOp::Group => members.iter().for_each(|_| add(1.0)),
        AggregateOp::Sum | AggregateOp::Avg => {
            let histograms = members
                .iter()
                .filter(|m| matches!(m.value, SampleValue::Histogram(_)))
                .count();
            if histograms > 0 {
                if histograms != members.len() {
                    ev.note(
                        unwrapped_span(&a.expr),
                        &Note::MixedFloatsHistogramsAggregation,
                    );
                    return Ok(None);
                }
                return Ok(sum_histograms(ev, a, members));
            }
            for m in members {
                if let SampleValue::Float(f) = m.value {
                    add(*f);
                }
            }
        }
        _ => floats_only(ev, a, members, add),
    }
    Ok(acc.map(|acc| SampleValue::Float(acc.finish())))
}

/// `quantile(q, …)` of one group (upstream `quantile`, NaN sorted first); `None` without
/// floats.
pub(super) fn quantile(
    ev: &Evaluator,
    a: &AggregateExpr,
    q: f64,
    members: &[Member<'_>],
) -> Option<SampleValue> {
    let mut values = Vec::with_capacity(members.len());
    floats_only(ev, a, members, |v| values.push(v));
    if values.is_empty() {
        return None;
    }
    Some(SampleValue::Float(crate::promql::functions::quantile_of(
        q,
        &mut values,
    )))
}

/// Hands the floats of a group to `add` for an aggregation of floats only; each histogram is
/// skipped with an info pointing at the aggregated expression (upstream
/// `NewHistogramIgnoredInAggregationInfo`).
fn floats_only(
    ev: &Evaluator,
    a: &AggregateExpr,
    members: &[Member<'_>],
    mut add: impl FnMut(f64),
) {
    for m in members {
        match m.value {
            SampleValue::Float(f) => add(*f),
            SampleValue::Histogram(_) => ev.note(
                unwrapped_span(&a.expr),
                &Note::HistogramIgnoredInAggregation(a.op.as_str()),
            ),
        }
    }
}

/// `sum` or `avg` of a group of histograms, with the annotations upstream gives: a warning when
/// exponential and custom buckets mix (naming the series that could not be added) or counter
/// resets collide, an info when custom bounds were reconciled.
fn sum_histograms(
    ev: &Evaluator,
    a: &AggregateExpr,
    members: &[Member<'_>],
) -> Option<SampleValue> {
    let histograms: Vec<&FloatHistogram> = members
        .iter()
        .filter_map(|m| match m.value {
            SampleValue::Histogram(h) => Some(h.as_ref()),
            SampleValue::Float(_) => None,
        })
        .collect();
    let span = unwrapped_span(&a.expr);
    let (sum, notes) = match histogram::sum_or_mean(&histograms, a.op == AggregateOp::Avg) {
        Ok(done) => done,
        Err(IncompatibleSchemas) => {
            let custom = histograms
                .first()
                .is_some_and(|h| h.schema == CUSTOM_BUCKETS_SCHEMA);
            let culprit = members.iter().find_map(|m| match m.value {
                SampleValue::Histogram(h) if (h.schema == CUSTOM_BUCKETS_SCHEMA) != custom => {
                    Some(m.labels.get("__name__").unwrap_or_default().to_owned())
                }
                _ => None,
            });
            ev.note(
                span,
                &Note::MixedExponentialCustom(culprit.unwrap_or_default()),
            );
            return None;
        }
    };
    if notes.bounds_reconciled {
        ev.note(span, &Note::MismatchedCustomBuckets(Operation::Aggregation));
    }
    if histogram::hints_collide(&histograms) {
        ev.note(span, &Note::CounterResetCollision(Operation::Aggregation));
    }
    Some(SampleValue::Histogram(Box::new(sum)))
}

/// Running state of one group, kept for what its operator needs.
struct Accumulator {
    op: AggregateOp,
    count: f64,
    sum: f64,
    compensation: f64,
    min: f64,
    max: f64,
    avg: Mean,
    /// Running mean and sum of squared deviations from it (Welford, from zero).
    mean: f64,
    m2: f64,
}

impl Accumulator {
    fn new(op: AggregateOp, v: f64) -> Self {
        let mut acc = Self {
            op,
            count: 0.0,
            sum: 0.0,
            compensation: 0.0,
            min: v,
            max: v,
            avg: Mean::default(),
            mean: 0.0,
            m2: 0.0,
        };
        acc.add(v);
        acc
    }

    fn add(&mut self, v: f64) {
        self.count += 1.0;
        match self.op {
            AggregateOp::Sum => {
                (self.sum, self.compensation) = kahan_sum_inc(v, self.sum, self.compensation);
            }
            AggregateOp::Min if self.min > v || self.min.is_nan() => self.min = v,
            AggregateOp::Max if self.max < v || self.max.is_nan() => self.max = v,
            AggregateOp::Avg => self.avg.add(v),
            AggregateOp::Stddev | AggregateOp::Stdvar => {
                let delta = v - self.mean;
                self.mean += delta / self.count;
                self.m2 += delta * (v - self.mean);
            }
            _ => {}
        }
    }

    fn finish(&self) -> f64 {
        match self.op {
            AggregateOp::Sum => self.sum + self.compensation,
            AggregateOp::Avg => self.avg.value(),
            AggregateOp::Count => self.count,
            AggregateOp::Group => 1.0,
            AggregateOp::Min => self.min,
            AggregateOp::Max => self.max,
            AggregateOp::Stdvar => self.m2 / self.count,
            AggregateOp::Stddev => (self.m2 / self.count).sqrt(),
            _ => f64::NAN,
        }
    }
}

/// A mean as Prometheus computes it for `avg` and `avg_over_time`: a Kahan sum divided by the
/// count, switching to a Kahan-compensated incremental mean once the sum would overflow
/// (upstream engine.go `aggregation`, `AVG` case).
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Mean {
    count: f64,
    sum: f64,
    mean: f64,
    compensation: f64,
    incremental: bool,
}

impl Mean {
    /// Adds one value.
    pub(crate) fn add(&mut self, v: f64) {
        self.count += 1.0;
        if !self.incremental {
            let (sum, c) = kahan_sum_inc(v, self.sum, self.compensation);
            if !sum.is_infinite() {
                (self.sum, self.compensation) = (sum, c);
                return;
            }
            self.incremental = true;
            let before = self.count - 1.0;
            self.mean = if before > 0.0 { self.sum / before } else { 0.0 };
            self.compensation = if before > 0.0 {
                self.compensation / before
            } else {
                0.0
            };
        }
        if self.mean.is_infinite() {
            if v.is_infinite() && (self.mean > 0.0) == (v > 0.0) {
                return;
            }
            if !v.is_infinite() && !v.is_nan() {
                return;
            }
        }
        let current = self.mean + self.compensation;
        (self.mean, self.compensation) = kahan_sum_inc(
            v / self.count - current / self.count,
            self.mean,
            self.compensation,
        );
    }

    /// The mean of the values added (NaN for none).
    pub(crate) fn value(&self) -> f64 {
        if self.incremental {
            self.mean + self.compensation
        } else {
            self.sum / self.count + self.compensation / self.count
        }
    }
}

/// One step of Kahan-Babuška summation (upstream `kahanSumInc`): the new sum and compensation.
/// Inlined across codegen units: it runs once per sample in sums over windows and groups.
#[inline]
pub(crate) fn kahan_sum_inc(inc: f64, sum: f64, c: f64) -> (f64, f64) {
    let t = sum + inc;
    let c = if t.is_infinite() {
        0.0
    } else if sum.abs() >= inc.abs() {
        c + ((sum - t) + inc)
    } else {
        c + ((inc - t) + sum)
    };
    (t, c)
}
