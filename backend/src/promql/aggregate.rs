//! Aggregation operators over instant vectors with `by`/`without` grouping.
//!
//! Mirrors Prometheus 3 promql/engine.go (`aggregation`, `kahanSumInc`): `sum` and `avg` use
//! Kahan-compensated summation, `min`/`max` prefer numbers over NaN, `stddev`/`stdvar` use a
//! running mean. Groups come out in order of first appearance. Knows nothing of storage.

mod select;

use std::collections::HashMap;
use std::hash::{DefaultHasher, Hash, Hasher};

use shared::labels::{Label, Labels};

use shared::histogram::{CUSTOM_BUCKETS_SCHEMA, FloatHistogram};

use super::EngineError;
use super::annotations::Note;
use super::eval::{Evaluator, unwrapped_span};
use super::histogram::{self, IncompatibleSchemas, Operation};
use super::parser::literals::go_quote_bytes;
use super::parser::{AggregateExpr, AggregateOp, Expr, Grouping};
use super::storage::SampleValue;
use super::value::{Element, Value, Vector};

/// Evaluates `a` at `t_ms`.
pub(crate) fn evaluate(ev: &Evaluator, a: &AggregateExpr, t_ms: i64) -> Result<Value, EngineError> {
    let op = a.op;
    match op {
        AggregateOp::Topk | AggregateOp::Bottomk => return select::top_k(ev, a, t_ms),
        AggregateOp::Limitk => return select::limit_k(ev, a, t_ms),
        AggregateOp::LimitRatio => return select::limit_ratio(ev, a, t_ms),
        AggregateOp::Quantile => return quantile(ev, a, t_ms),
        AggregateOp::CountValues => return count_values(ev, a, t_ms),
        _ => {}
    }
    let mut out = Vector::new();
    for (labels, elements) in grouped(input(ev, a, t_ms)?, &a.grouping) {
        // Grouping by `__name__` sees names still to be dropped; the group then drops it
        // (Prometheus 3 delayed name removal).
        let drop_name = labels.contains("__name__") && elements.iter().any(|e| e.drop_name);
        let Some(value) = aggregate_group(ev, a, &elements)? else {
            continue;
        };
        out.push(Element {
            labels,
            value,
            drop_name,
        });
    }
    Ok(Value::Vector(out))
}

/// The floats of a group for an aggregation of floats only; each histogram is skipped with an
/// info pointing at the aggregated expression (upstream `NewHistogramIgnoredInAggregationInfo`).
fn floats_only(ev: &Evaluator, a: &AggregateExpr, elements: &[Element]) -> Vec<f64> {
    let mut floats = Vec::with_capacity(elements.len());
    for e in elements {
        match e.value {
            SampleValue::Float(f) => floats.push(f),
            SampleValue::Histogram(_) => ev.note(
                unwrapped_span(&a.expr),
                &Note::HistogramIgnoredInAggregation(a.op.as_str()),
            ),
        }
    }
    floats
}

/// One group's result; `None` when upstream drops the group: floats mixed with histograms, or
/// exponential with custom buckets, in `sum`/`avg` (with a warning), or no floats for an
/// aggregation of floats.
fn aggregate_group(
    ev: &Evaluator,
    a: &AggregateExpr,
    elements: &[Element],
) -> Result<Option<SampleValue>, EngineError> {
    let op = a.op;
    let floats: Vec<f64> = if matches!(op, AggregateOp::Count | AggregateOp::Group) {
        vec![1.0; elements.len()]
    } else if matches!(op, AggregateOp::Sum | AggregateOp::Avg) {
        let histograms: Vec<&FloatHistogram> = elements
            .iter()
            .filter_map(|e| match &e.value {
                SampleValue::Histogram(h) => Some(h.as_ref()),
                SampleValue::Float(_) => None,
            })
            .collect();
        if !histograms.is_empty() {
            if histograms.len() != elements.len() {
                ev.note(
                    unwrapped_span(&a.expr),
                    &Note::MixedFloatsHistogramsAggregation,
                );
                return Ok(None);
            }
            return sum_histograms(ev, a, elements, &histograms);
        }
        elements
            .iter()
            .filter_map(|e| match e.value {
                SampleValue::Float(f) => Some(f),
                SampleValue::Histogram(_) => None,
            })
            .collect()
    } else {
        floats_only(ev, a, elements)
    };
    let Some((first, rest)) = floats.split_first() else {
        return Ok(None);
    };
    let mut acc = Accumulator::new(*first);
    rest.iter().for_each(|v| acc.add(*v));
    Ok(Some(SampleValue::Float(acc.finish(op))))
}

/// The bytes of a string literal (in parentheses or not) that is not valid UTF-8, which no
/// label name can be.
fn string_bytes(expr: &Expr) -> Option<&[u8]> {
    match expr {
        Expr::String(s) => s.bytes.as_deref(),
        Expr::Paren(p) => string_bytes(&p.expr),
        _ => None,
    }
}

/// `sum` or `avg` of a group of histograms, with the annotations upstream gives: a warning when
/// exponential and custom buckets mix (naming the series that could not be added) or counter
/// resets collide, an info when custom bounds were reconciled.
fn sum_histograms(
    ev: &Evaluator,
    a: &AggregateExpr,
    elements: &[Element],
    histograms: &[&FloatHistogram],
) -> Result<Option<SampleValue>, EngineError> {
    let span = unwrapped_span(&a.expr);
    let (sum, notes) = match histogram::sum_or_mean(histograms, a.op == AggregateOp::Avg) {
        Ok(done) => done,
        Err(IncompatibleSchemas) => {
            let custom = histograms
                .first()
                .is_some_and(|h| h.schema == CUSTOM_BUCKETS_SCHEMA);
            let culprit = elements.iter().find_map(|e| match &e.value {
                SampleValue::Histogram(h) if (h.schema == CUSTOM_BUCKETS_SCHEMA) != custom => {
                    Some(e.labels.get("__name__").unwrap_or_default().to_owned())
                }
                _ => None,
            });
            ev.note(
                span,
                &Note::MixedExponentialCustom(culprit.unwrap_or_default()),
            );
            return Ok(None);
        }
    };
    if notes.bounds_reconciled {
        ev.note(span, &Note::MismatchedCustomBuckets(Operation::Aggregation));
    }
    if histogram::hints_collide(histograms) {
        ev.note(span, &Note::CounterResetCollision(Operation::Aggregation));
    }
    Ok(Some(SampleValue::Histogram(Box::new(sum))))
}

/// The parameter, evaluated at `t_ms`.
fn param(ev: &Evaluator, a: &AggregateExpr, t_ms: i64) -> Result<Value, EngineError> {
    match &a.param {
        Some(p) => ev.eval(p, t_ms),
        None => Err(EngineError::Runtime(format!(
            "{}: missing parameter",
            a.op.as_str()
        ))),
    }
}

/// The aggregated vector, evaluated at `t_ms`.
fn input(ev: &Evaluator, a: &AggregateExpr, t_ms: i64) -> Result<Vector, EngineError> {
    match ev.eval(&a.expr, t_ms)? {
        Value::Vector(v) => Ok(v),
        other => Err(EngineError::Runtime(format!(
            "{} expects an instant vector, got {}",
            a.op.as_str(),
            other.type_name()
        ))),
    }
}

/// Elements grouped by their group labels, groups in order of first appearance. Elements are
/// matched to groups by a hash of the labels they keep, so the group labels are built once
/// per group rather than once per element.
fn grouped(v: Vector, grouping: &Grouping) -> Vec<(Labels, Vec<Element>)> {
    let mut groups: Vec<(Labels, Vec<Element>)> = Vec::new();
    let mut index: HashMap<u64, Vec<usize>> = HashMap::new();
    for e in v {
        let kept = || {
            e.labels
                .iter()
                .filter(|l| !l.value.is_empty() && keeps(grouping, &l.name))
        };
        let mut hasher = DefaultHasher::new();
        for l in kept() {
            l.hash(&mut hasher);
        }
        let candidates = index.entry(hasher.finish()).or_default();
        let found = candidates
            .iter()
            .copied()
            .find(|&i| groups.get(i).is_some_and(|g| g.0.iter().eq(kept())));
        match found.and_then(|i| groups.get_mut(i)) {
            Some(group) => group.1.push(e),
            None => {
                candidates.push(groups.len());
                groups.push((group_labels(&e, grouping), vec![e]));
            }
        }
    }
    groups
}

/// Whether the group labels of `grouping` include the label called `name`.
fn keeps(grouping: &Grouping, name: &str) -> bool {
    match grouping {
        Grouping::By(names) => names.iter().any(|n| n == name),
        Grouping::Without(names) => name != "__name__" && !names.iter().any(|n| n == name),
    }
}

/// `quantile(q, v)` per group (upstream `quantile`, NaN sorted first).
fn quantile(ev: &Evaluator, a: &AggregateExpr, t_ms: i64) -> Result<Value, EngineError> {
    let Value::Scalar(q) = param(ev, a, t_ms)? else {
        return Err(EngineError::Runtime("quantile: q must be a scalar".into()));
    };
    if let (false, Some(p)) = ((0.0..=1.0).contains(&q), &a.param) {
        ev.note(unwrapped_span(p), &Note::InvalidQuantile(q));
    }
    let mut out = Vector::new();
    for (labels, elements) in grouped(input(ev, a, t_ms)?, &a.grouping) {
        let mut values = floats_only(ev, a, &elements);
        if values.is_empty() {
            continue;
        }
        out.push(Element {
            labels,
            value: SampleValue::Float(super::functions::quantile_of(q, &mut values)),
            drop_name: false,
        });
    }
    Ok(Value::Vector(out))
}

/// Go's `strconv.FormatFloat(f, 'f', -1, 64)`.
fn format_value(f: f64) -> String {
    if f.is_infinite() {
        if f > 0.0 {
            "+Inf".into()
        } else {
            "-Inf".into()
        }
    } else {
        f.to_string()
    }
}

/// `count_values(label, v)`: how many elements of each group have each value.
fn count_values(ev: &Evaluator, a: &AggregateExpr, t_ms: i64) -> Result<Value, EngineError> {
    if let Some(bytes) = a.param.as_deref().and_then(string_bytes) {
        return Err(EngineError::Runtime(format!(
            "invalid label name {}",
            go_quote_bytes(bytes)
        )));
    }
    let Value::String(label) = param(ev, a, t_ms)? else {
        return Err(EngineError::Runtime(
            "count_values: label must be a string".into(),
        ));
    };
    if label.is_empty() {
        return Err(EngineError::Runtime(format!(
            "invalid label name {label:?}"
        )));
    }
    let mut counts: Vec<(Labels, f64)> = Vec::new();
    for e in input(ev, a, t_ms)? {
        let value = match &e.value {
            SampleValue::Float(f) => format_value(*f),
            SampleValue::Histogram(h) => histogram::describe(h),
        };
        let mut labels: Vec<Label> = group_labels(&e, &a.grouping)
            .iter()
            .filter(|l| l.name != label)
            .cloned()
            .collect();
        labels.push(Label::new(label.clone(), value));
        let labels = Labels::from_unsorted(labels);
        match counts.iter_mut().find(|(l, _)| *l == labels) {
            Some((_, n)) => *n += 1.0,
            None => counts.push((labels, 1.0)),
        }
    }
    Ok(Value::Vector(
        counts
            .into_iter()
            .map(|(labels, n)| Element {
                labels,
                value: SampleValue::Float(n),
                drop_name: false,
            })
            .collect(),
    ))
}

/// The labels of the group an element falls into.
fn group_labels(e: &Element, grouping: &Grouping) -> Labels {
    let kept: Vec<Label> = match grouping {
        Grouping::By(names) => e
            .labels
            .iter()
            .filter(|l| names.contains(&l.name))
            .cloned()
            .collect(),
        Grouping::Without(names) => e
            .labels
            .iter()
            .filter(|l| l.name != "__name__" && !names.contains(&l.name))
            .cloned()
            .collect(),
    };
    Labels::from_unsorted(kept)
}

/// Running state of one group.
struct Accumulator {
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
    fn new(v: f64) -> Self {
        let mut acc = Self {
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
        (self.sum, self.compensation) = kahan_sum_inc(v, self.sum, self.compensation);
        if self.min > v || self.min.is_nan() {
            self.min = v;
        }
        if self.max < v || self.max.is_nan() {
            self.max = v;
        }
        self.avg.add(v);
        let delta = v - self.mean;
        self.mean += delta / self.count;
        self.m2 += delta * (v - self.mean);
    }

    fn finish(&self, op: AggregateOp) -> f64 {
        match op {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::promql::Engine;
    use crate::promql::storage::Point;
    use crate::promql::storage::memory::MemoryStorage;

    fn storage() -> MemoryStorage {
        let mut s = MemoryStorage::new();
        let histogram = FloatHistogram {
            count: 1.0,
            sum: 1.0,
            ..FloatHistogram::default()
        };
        for (job, value) in [
            ("a", SampleValue::Float(1.0)),
            ("b", SampleValue::Float(3.0)),
            ("c", SampleValue::Histogram(Box::new(histogram))),
        ] {
            let labels = Labels::from_pairs([("__name__", "m"), ("job", job)]);
            s.append(&labels, Point { t_ms: 0, value });
        }
        s
    }

    #[test]
    fn floats_only_aggregations_skip_histograms_with_an_info_and_sum_refuses_a_mix() {
        let s = storage();
        let max = Engine::default()
            .instant(&s, "max(m)", 0)
            .expect("query runs");
        assert_eq!(
            max.value,
            Value::Vector(vec![Element {
                labels: Labels::empty(),
                value: SampleValue::Float(3.0),
                drop_name: false,
            }])
        );
        assert_eq!(
            max.infos,
            vec!["PromQL info: ignored histogram in max aggregation (1:5)"]
        );
        let sum = Engine::default()
            .instant(&s, "sum((m))", 0)
            .expect("query runs");
        assert_eq!(sum.value, Value::Vector(Vec::new()));
        assert_eq!(
            sum.warnings,
            vec![
                "PromQL warning: encountered a mix of histograms and floats for aggregation (1:6)"
            ],
            "the position is inside the parentheses, as upstream unwraps them"
        );
        let quantile = Engine::default()
            .instant(&s, "quantile(1.5, m)", 0)
            .expect("query runs");
        assert_eq!(
            quantile.warnings,
            vec!["PromQL warning: quantile value should be between 0 and 1, got 1.5 (1:10)"]
        );
    }

    #[test]
    fn kahan_summation_keeps_small_terms_next_to_large_ones() {
        let (mut sum, mut c) = (0.0, 0.0);
        for v in [1e100, 1.0, -1e100] {
            (sum, c) = kahan_sum_inc(v, sum, c);
        }
        assert_eq!(sum + c, 1.0);
        let naive: f64 = [1e100, 1.0, -1e100].iter().sum();
        assert_eq!(naive, 0.0, "plain summation loses the 1");
    }

    #[test]
    fn mean_survives_overflow_and_keeps_infinities() {
        let mut m = Mean::default();
        for v in [f64::MAX, f64::MAX, f64::MAX] {
            m.add(v);
        }
        assert!((m.value() / f64::MAX - 1.0).abs() < 1e-12, "{}", m.value());
        let mut m = Mean::default();
        for v in [1.0, f64::INFINITY, 2.0] {
            m.add(v);
        }
        assert_eq!(m.value(), f64::INFINITY);
        let mut m = Mean::default();
        for v in [f64::INFINITY, f64::NEG_INFINITY] {
            m.add(v);
        }
        assert!(m.value().is_nan());
    }
}
