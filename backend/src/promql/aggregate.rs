//! Aggregation operators over instant vectors with `by`/`without` grouping.
//!
//! Mirrors Prometheus 3 promql/engine.go (`aggregation`, `kahanSumInc`): `sum` and `avg` use
//! Kahan-compensated summation, `min`/`max` prefer numbers over NaN, `stddev`/`stdvar` use a
//! running mean. Groups come out in order of first appearance. Knows nothing of storage.

use shared::labels::{Label, Labels};

use super::EngineError;
use super::eval::{Evaluator, not_implemented};
use super::parser::{AggregateExpr, AggregateOp, Grouping};
use super::storage::SampleValue;
use super::value::{Element, Value, Vector};

/// Evaluates `a` at `t_ms`.
pub(crate) fn evaluate(
    ev: &Evaluator,
    a: &AggregateExpr,
    t_ms: i64,
) -> Result<Value, EngineError> {
    let op = a.op;
    if !matches!(
        op,
        AggregateOp::Sum
            | AggregateOp::Avg
            | AggregateOp::Count
            | AggregateOp::Min
            | AggregateOp::Max
            | AggregateOp::Group
            | AggregateOp::Stddev
            | AggregateOp::Stdvar
    ) {
        return Err(not_implemented(&format!("aggregation {}", op.as_str())));
    }
    let Value::Vector(input) = ev.eval(&a.expr, t_ms)? else {
        return Err(EngineError::Runtime(format!(
            "aggregation {} expects an instant vector",
            op.as_str()
        )));
    };
    let mut groups: Vec<(Labels, Accumulator)> = Vec::new();
    let mut index: std::collections::HashMap<Labels, usize> = std::collections::HashMap::new();
    for e in input {
        let key = group_labels(&e, &a.grouping);
        let value = match (&e.value, op) {
            (_, AggregateOp::Count | AggregateOp::Group) => 1.0,
            (SampleValue::Float(f), _) => *f,
            (SampleValue::Histogram(_), _) => {
                return Err(not_implemented("aggregating native histograms"));
            }
        };
        match index.get(&key) {
            Some(&i) => groups[i].1.add(value),
            None => {
                index.insert(key.clone(), groups.len());
                groups.push((key, Accumulator::new(value)));
            }
        }
    }
    Ok(Value::Vector(
        groups
            .into_iter()
            .map(|(labels, acc)| Element {
                labels,
                value: SampleValue::Float(acc.finish(op)),
                drop_name: false,
            })
            .collect::<Vector>(),
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
    mean: f64,
    /// Sum of squared deviations from the mean.
    m2: f64,
}

impl Accumulator {
    fn new(v: f64) -> Self {
        Self {
            count: 1.0,
            sum: v,
            compensation: 0.0,
            min: v,
            max: v,
            mean: v,
            m2: 0.0,
        }
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
        let delta = v - self.mean;
        self.mean += delta / self.count;
        self.m2 += delta * (v - self.mean);
    }

    fn finish(&self, op: AggregateOp) -> f64 {
        match op {
            AggregateOp::Sum => self.sum + self.compensation,
            AggregateOp::Avg => {
                let sum = self.sum + self.compensation;
                if sum.is_infinite() { self.mean } else { sum / self.count }
            }
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
