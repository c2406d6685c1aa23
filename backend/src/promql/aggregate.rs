//! Aggregation operators over instant vectors with `by`/`without` grouping.
//!
//! Mirrors Prometheus 3 promql/engine.go (`aggregation`, `aggregationK`,
//! `aggregationCountValues`). An aggregation works in two stages: the input series are put in
//! groups once ([`groups::Plan`]), then each step hands the series present at that step
//! ([`Member`]s, in input order) to one shared step function, which computes the values
//! ([`accumulate`]) or picks members ([`select`]). The step-wise evaluation runs it once on
//! an instant vector, the range evaluation ([`ranged`]) once per step over the whole range.
//! Groups come out in order of first appearance. Knows nothing of storage.

mod accumulate;
mod groups;
pub(crate) mod ranged;
mod select;

use shared::labels::{Label, Labels};

pub(crate) use accumulate::{Mean, kahan_sum_inc};

use super::EngineError;
use super::eval::{Evaluator, unwrapped_span};
use super::histogram;
use super::parser::literals::go_quote_bytes;
use super::parser::{AggregateExpr, AggregateOp, Expr};
use super::storage::SampleValue;
use super::value::{Element, Member, Value, Vector};
use groups::Plan;

/// What one step of an aggregation yields, in output order.
#[derive(Debug)]
enum Output {
    /// A value computed for a group.
    Group {
        /// The group's number in the [`Plan`].
        group: usize,
        /// Its value.
        value: SampleValue,
        /// The group keeps `__name__` from members whose name is to be dropped.
        drop_name: bool,
    },
    /// An input series' sample picked as it is (`topk`, `limitk`, …).
    Series {
        /// The series' position in the input.
        series: usize,
        /// The sample's value.
        value: SampleValue,
    },
    /// A `count_values` count, with its labels.
    Counted {
        /// The group's labels and the value label.
        labels: Labels,
        /// How many members had that value.
        count: f64,
    },
}

impl Output {
    /// `m` picked as it is.
    fn picked(m: &Member<'_>) -> Self {
        Output::Series {
            series: m.series,
            value: m.value.clone(),
        }
    }
}

/// The parameter of an aggregation at one step, checked.
#[derive(Debug)]
enum Param {
    /// The aggregation has none.
    None,
    /// `topk`, `bottomk`: how many to keep per group (0 for a negative k).
    Top(usize),
    /// `limitk`: how many to keep per group (0 for a negative k).
    Limit(usize),
    /// `limit_ratio`: the ratio, clamped to `[-1, 1]`.
    Ratio(f64),
    /// `quantile`: φ.
    Quantile(f64),
    /// `count_values`: the label to put values in.
    Label(String),
}

/// Evaluates `a` at `t_ms`.
pub(crate) fn evaluate(ev: &Evaluator, a: &AggregateExpr, t_ms: i64) -> Result<Value, EngineError> {
    let param = parameter(ev, a, || param_value(ev, a, t_ms))?;
    let input = input(ev, a, t_ms)?;
    let plan = Plan::new(a, input.iter().map(|e| &e.labels));
    let members = Member::of_vector(&input);
    let mut out = Vector::new();
    step(ev, a, &plan, &param, &members, &mut Vec::new(), &mut |o| {
        out.push(match o {
            Output::Group {
                group,
                value,
                drop_name,
            } => Element {
                labels: plan.labels(group).clone(),
                value,
                drop_name,
            },
            Output::Series { series, value } => Element {
                labels: input[series].labels.clone(),
                value,
                drop_name: input[series].drop_name,
            },
            Output::Counted { labels, count } => Element {
                labels,
                value: SampleValue::Float(count),
                drop_name: false,
            },
        });
    })?;
    Ok(Value::Vector(out))
}

/// One step of `a`: what `members` (the input at that step, in input order) aggregate to.
/// `groups` is scratch space kept between steps.
fn step<'a>(
    ev: &Evaluator,
    a: &AggregateExpr,
    plan: &Plan,
    param: &Param,
    members: &[Member<'a>],
    groups: &mut Vec<Vec<Member<'a>>>,
    emit: &mut impl FnMut(Output),
) -> Result<(), EngineError> {
    match param {
        Param::Ratio(ratio) => {
            select::limit_ratio(*ratio, plan, members, emit);
            return Ok(());
        }
        Param::Label(label) => {
            count_values(plan, label, members, emit);
            return Ok(());
        }
        Param::None | Param::Top(_) | Param::Limit(_) | Param::Quantile(_) => {}
    }
    groups.resize_with(plan.group_count(), Vec::new);
    groups.iter_mut().for_each(Vec::clear);
    for m in members {
        groups[plan.group_of(m.series)].push(*m);
    }
    match *param {
        Param::Limit(k) => select::limit_k(k, groups, emit),
        Param::Top(k) => select::top_k(ev, a, k, groups, emit),
        Param::Quantile(q) => {
            for (group, members) in groups.iter().enumerate() {
                if let Some(value) = accumulate::quantile(ev, a, q, members) {
                    emit(Output::Group {
                        group,
                        value,
                        drop_name: false,
                    });
                }
            }
        }
        Param::None | Param::Ratio(_) | Param::Label(_) => {
            for (group, members) in groups.iter().enumerate() {
                if members.is_empty() {
                    continue;
                }
                let Some(value) = accumulate::aggregate_group(ev, a, members)? else {
                    continue;
                };
                // Grouping by `__name__` sees names still to be dropped; the group then drops
                // it (Prometheus 3 delayed name removal).
                let drop_name =
                    plan.labels(group).contains("__name__") && members.iter().any(|m| m.drop_name);
                emit(Output::Group {
                    group,
                    value,
                    drop_name,
                });
            }
        }
    }
    Ok(())
}

/// The parameter of `a` checked, its value taken from `value` (called only for aggregations
/// that have one).
fn parameter(
    ev: &Evaluator,
    a: &AggregateExpr,
    value: impl FnOnce() -> Result<Value, EngineError>,
) -> Result<Param, EngineError> {
    match a.op {
        AggregateOp::Topk | AggregateOp::Bottomk => Ok(Param::Top(select::k_param(value()?)?)),
        AggregateOp::Limitk => Ok(Param::Limit(select::k_param(value()?)?)),
        AggregateOp::LimitRatio => Ok(Param::Ratio(select::ratio_param(ev, a, value()?)?)),
        AggregateOp::Quantile => {
            let Value::Scalar(q) = value()? else {
                return Err(EngineError::Runtime("quantile: q must be a scalar".into()));
            };
            if let (false, Some(p)) = ((0.0..=1.0).contains(&q), &a.param) {
                ev.note(
                    unwrapped_span(p),
                    &super::annotations::Note::InvalidQuantile(q),
                );
            }
            Ok(Param::Quantile(q))
        }
        AggregateOp::CountValues => {
            if let Some(bytes) = a.param.as_deref().and_then(string_bytes) {
                return Err(EngineError::Runtime(format!(
                    "invalid label name {}",
                    go_quote_bytes(bytes)
                )));
            }
            let Value::String(label) = value()? else {
                return Err(EngineError::Runtime(
                    "count_values: label must be a string".into(),
                ));
            };
            if label.is_empty() {
                return Err(EngineError::Runtime(format!(
                    "invalid label name {label:?}"
                )));
            }
            Ok(Param::Label(label))
        }
        _ => Ok(Param::None),
    }
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

/// The parameter, evaluated at `t_ms`.
fn param_value(ev: &Evaluator, a: &AggregateExpr, t_ms: i64) -> Result<Value, EngineError> {
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

/// `count_values(label, v)` at one step: how many members of each group have each value,
/// counts in order of first appearance.
fn count_values(plan: &Plan, label: &str, members: &[Member<'_>], emit: &mut impl FnMut(Output)) {
    let mut counts: Vec<(Labels, f64)> = Vec::new();
    for m in members {
        let value = match m.value {
            SampleValue::Float(f) => format_value(*f),
            SampleValue::Histogram(h) => histogram::describe(h),
        };
        let mut labels: Vec<Label> = plan
            .labels(plan.group_of(m.series))
            .iter()
            .filter(|l| l.name != label)
            .cloned()
            .collect();
        labels.push(Label::new(label, value));
        let labels = Labels::from_unsorted(labels);
        match counts.iter_mut().find(|(l, _)| *l == labels) {
            Some((_, n)) => *n += 1.0,
            None => counts.push((labels, 1.0)),
        }
    }
    for (labels, count) in counts {
        emit(Output::Counted { labels, count });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::promql::Engine;
    use crate::promql::storage::Point;
    use crate::promql::storage::memory::MemoryStorage;
    use shared::histogram::FloatHistogram;

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
