//! Binary operators: arithmetic, comparisons (filtering or `bool`), set operators, and vector
//! matching (one-to-one, `group_left`/`group_right`, `on`/`ignoring`).
//!
//! Mirrors Prometheus 3 promql/engine.go (`VectorBinop`, `VectorAnd`/`Or`/`Unless`,
//! `VectorscalarBinop`, `vectorElemBinop`) and its error wording. Arithmetic and `bool`
//! comparisons mark results for `__name__` removal; filtering comparisons keep the left-hand
//! (or vector) sample as it is. This module holds the operators on samples and the step-wise
//! evaluation; [`matching`] pairs the samples of two vectors, [`ranged`] evaluates a whole
//! range with the same operations. Knows nothing of storage.

mod matching;
pub(crate) mod ranged;

use shared::histogram::{CounterResetHint, FloatHistogram};

use super::EngineError;
use super::annotations::Note;
use super::eval::Evaluator;
use super::histogram::{self, Operation};
use super::parser::{BinaryExpr, BinaryOp, Cardinality, VectorMatching};
use super::storage::SampleValue;
use super::value::{Element, Member, Value, Vector};
use matching::{Join, Side};

/// Applies `b.op` to evaluated operands. Pairs the operator is undefined for are dropped with
/// an annotation on the whole expression; as upstream (`VectorBinop`, `handleVectorBinopError`)
/// only the last such annotation of one evaluation is kept.
pub(crate) fn evaluate(
    ev: &Evaluator,
    b: &BinaryExpr,
    lhs: Value,
    rhs: Value,
) -> Result<Value, EngineError> {
    let mut last_note = None;
    let value = apply(b, lhs, rhs, &mut last_note)?;
    if let Some(note) = last_note {
        ev.note(b.span, &note);
    }
    Ok(value)
}

fn apply(
    b: &BinaryExpr,
    lhs: Value,
    rhs: Value,
    note: &mut Option<Note>,
) -> Result<Value, EngineError> {
    match (lhs, rhs) {
        (Value::Scalar(l), Value::Scalar(r)) => {
            let (v, keep) = float_op(b.op, l, r)?;
            // Comparisons between scalars need `bool`; the parser enforces it.
            Ok(Value::Scalar(if b.op.is_comparison() {
                f64::from(u8::from(keep))
            } else {
                v
            }))
        }
        (Value::Vector(l), Value::Scalar(r)) => {
            vector_scalar(b, l, r, false, note).map(Value::Vector)
        }
        (Value::Scalar(l), Value::Vector(r)) => {
            vector_scalar(b, r, l, true, note).map(Value::Vector)
        }
        (Value::Vector(l), Value::Vector(r)) => vector_vector(b, &l, &r, note).map(Value::Vector),
        (l, r) => Err(EngineError::Runtime(format!(
            "operator {} not defined between {} and {}",
            b.op.as_str(),
            l.type_name(),
            r.type_name()
        ))),
    }
}

/// Two instant vectors joined by `b` (one step of a [`Join`]).
fn vector_vector(
    b: &BinaryExpr,
    l: &Vector,
    r: &Vector,
    note: &mut Option<Note>,
) -> Result<Vector, EngineError> {
    let default = default_matching(b);
    let matching = vector_matching(b, &default)?;
    let mut join = Join::new(
        b,
        matching,
        l.iter().map(|e| &e.labels),
        r.iter().map(|e| &e.labels),
    );
    let (left, right) = (Member::of_vector(l), Member::of_vector(r));
    let mut out = Vector::new();
    if b.op.is_set_operator() {
        join.set_step(&left, &right, &mut |side: Side, m: &Member<'_>| {
            let v = if side == Side::Left { l } else { r };
            out.push(v[m.series].clone());
        });
        return Ok(out);
    }
    let mut outputs = Vec::new();
    join.step(&left, &right, note, &mut |output, value| {
        outputs.push((output, value));
    })?;
    for (output, value) in outputs {
        let (labels, drop_name) = join.output(output).clone();
        out.push(Element {
            labels,
            value,
            drop_name,
        });
    }
    Ok(out)
}

/// The matching of `b` between two vectors when it has no clause: one-to-one on all labels but
/// the name, or many-to-many for a set operator.
fn default_matching(b: &BinaryExpr) -> VectorMatching {
    VectorMatching {
        card: if b.op.is_set_operator() {
            Cardinality::ManyToMany
        } else {
            Cardinality::OneToOne
        },
        on: false,
        labels: Vec::new(),
        include: Vec::new(),
        fill: Default::default(),
    }
}

/// The matching clause of `b` (`default` when it has none), refusing fill values on a set
/// operator: the parser refuses them, and a hand-built tree gets the parser's words.
fn vector_matching<'m>(
    b: &'m BinaryExpr,
    default: &'m VectorMatching,
) -> Result<&'m VectorMatching, EngineError> {
    let matching = b.matching.as_ref().unwrap_or(default);
    let fills = matching.fill.lhs.is_some() || matching.fill.rhs.is_some();
    if fills && b.op.is_set_operator() {
        return Err(EngineError::Runtime(
            "filling in missing series not allowed for set operators".into(),
        ));
    }
    Ok(matching)
}

/// The result of `l op r` on floats, and whether a comparison holds (upstream
/// `vectorElemBinop`; a comparison yields `l`).
fn float_op(op: BinaryOp, l: f64, r: f64) -> Result<(f64, bool), EngineError> {
    Ok(match op {
        BinaryOp::Add => (l + r, true),
        BinaryOp::Sub => (l - r, true),
        BinaryOp::Mul => (l * r, true),
        BinaryOp::Div => (l / r, true),
        BinaryOp::Mod => (l % r, true),
        BinaryOp::Pow => (l.powf(r), true),
        BinaryOp::Atan2 => (l.atan2(r), true),
        BinaryOp::Eql => (l, l == r),
        BinaryOp::Neq => (l, l != r),
        BinaryOp::Gtr => (l, l > r),
        BinaryOp::Lss => (l, l < r),
        BinaryOp::Gte => (l, l >= r),
        BinaryOp::Lte => (l, l <= r),
        BinaryOp::TrimUpper | BinaryOp::TrimLower => {
            // Only scalar operands get here (upstream `scalarBinop` fails with this error).
            return Err(EngineError::Runtime(format!(
                "operator {:?} not allowed for Scalar operations",
                op.as_str()
            )));
        }
        BinaryOp::And | BinaryOp::Or | BinaryOp::Unless => {
            return Err(EngineError::Runtime(format!(
                "set operator {} not allowed in binary scalar expression",
                op.as_str()
            )));
        }
    })
}

/// The name upstream gives a sample's type in annotations.
fn type_name(v: &SampleValue) -> &'static str {
    match v {
        SampleValue::Float(_) => "float",
        SampleValue::Histogram(_) => "histogram",
    }
}

/// The result of `l op r` on samples, `None` when a comparison filters it out or the operation
/// is undefined for the sample types. A filtering comparison keeps the vector's value: the left
/// one unless `vector_right`. What upstream would annotate goes to `note` (upstream
/// `vectorElemBinop`): undefined operations and conflicting counter resets drop the pair,
/// reconciled custom buckets do not.
fn sample_op(
    b: &BinaryExpr,
    l: &SampleValue,
    r: &SampleValue,
    vector_right: bool,
    note: &mut Option<Note>,
) -> Result<Option<SampleValue>, EngineError> {
    use SampleValue::{Float, Histogram};
    let op = b.op;
    let incompatible = |note: &mut Option<Note>| {
        *note = Some(Note::IncompatibleTypes {
            lhs: type_name(l),
            op: op.as_str(),
            rhs: type_name(r),
        });
        None
    };
    if let Some(keep) = trim_side(op) {
        // Only a histogram trimmed at a float is defined (upstream `vectorElemBinop`).
        return Ok(match (l, r) {
            (Histogram(h), Float(x)) => Some(Histogram(Box::new(histogram::trim(h, *x, keep)))),
            _ => incompatible(note),
        });
    }
    Ok(match (l, r) {
        (Float(x), Float(y)) => {
            let (value, keep) = float_op(op, *x, *y)?;
            if !op.is_comparison() {
                Some(Float(value))
            } else if b.return_bool {
                Some(Float(f64::from(u8::from(keep))))
            } else if keep {
                Some(Float(if vector_right { *y } else { *x }))
            } else {
                None
            }
        }
        (Histogram(x), Histogram(y)) => match op {
            BinaryOp::Add | BinaryOp::Sub => histogram_sum(b, x, y, note).map(Histogram),
            BinaryOp::Eql | BinaryOp::Neq => {
                let keep = histogram::equal(x, y) == (op == BinaryOp::Eql);
                if b.return_bool {
                    Some(Float(f64::from(u8::from(keep))))
                } else {
                    keep.then(|| l.clone())
                }
            }
            _ => incompatible(note),
        },
        (Histogram(h), Float(f)) => match op {
            BinaryOp::Mul => Some(Histogram(Box::new(histogram::scale(h, *f)))),
            BinaryOp::Div => Some(Histogram(Box::new(histogram::divide(h, *f)))),
            _ => incompatible(note),
        },
        (Float(f), Histogram(h)) => match op {
            BinaryOp::Mul => Some(Histogram(Box::new(histogram::scale(h, *f)))),
            _ => incompatible(note),
        },
    })
}

/// `x + y` or `x - y` (a gauge), noting what upstream `vectorElemBinop` annotates: `None`
/// with a warning when exponential and custom buckets meet (upstream
/// `handleVectorBinopError`) or counter-reset hints collide, an info when custom bounds were
/// reconciled.
fn histogram_sum(
    b: &BinaryExpr,
    x: &FloatHistogram,
    y: &FloatHistogram,
    note: &mut Option<Note>,
) -> Option<Box<FloatHistogram>> {
    let (sign, operation) = if b.op == BinaryOp::Add {
        (1.0, Operation::Addition)
    } else {
        (-1.0, Operation::Subtraction)
    };
    let Ok((mut sum, notes)) = histogram::combine(x, y, sign) else {
        *note = Some(Note::IncompatibleBucketLayout(b.op.as_str()));
        return None;
    };
    if notes.reset_collision {
        *note = Some(Note::CounterResetCollision(operation));
        return None;
    }
    if notes.bounds_reconciled {
        *note = Some(Note::MismatchedCustomBuckets(operation));
    }
    if sign < 0.0 {
        sum.counter_reset_hint = CounterResetHint::Gauge;
    }
    Some(Box::new(sum))
}

/// The side a trim operator keeps.
fn trim_side(op: BinaryOp) -> Option<histogram::Keep> {
    match op {
        BinaryOp::TrimUpper => Some(histogram::Keep::Below),
        BinaryOp::TrimLower => Some(histogram::Keep::Above),
        _ => None,
    }
}

/// Whether the operator's result loses the metric name (arithmetic, or a `bool` comparison;
/// upstream `changesMetricSchema`): trimming keeps it.
fn drops_name(b: &BinaryExpr) -> bool {
    (!b.op.is_comparison() && trim_side(b.op).is_none()) || b.return_bool
}

fn vector_scalar(
    b: &BinaryExpr,
    vector: Vector,
    scalar: f64,
    scalar_left: bool,
    note: &mut Option<Note>,
) -> Result<Vector, EngineError> {
    let mut out = Vector::with_capacity(vector.len());
    for mut e in vector {
        let Some(value) = with_scalar(b, &e.value, scalar, scalar_left, note)? else {
            continue;
        };
        e.value = value;
        e.drop_name |= drops_name(b);
        out.push(e);
    }
    Ok(out)
}

/// A vector sample `op` a scalar (or the scalar `op` the sample when `scalar_left`); `None`
/// when filtered out or undefined (upstream `VectorscalarBinop`).
fn with_scalar(
    b: &BinaryExpr,
    value: &SampleValue,
    scalar: f64,
    scalar_left: bool,
    note: &mut Option<Note>,
) -> Result<Option<SampleValue>, EngineError> {
    let scalar = SampleValue::Float(scalar);
    let (l, r) = if scalar_left {
        (&scalar, value)
    } else {
        (value, &scalar)
    };
    sample_op(b, l, r, scalar_left, note)
}

#[cfg(test)]
mod tests {
    use crate::promql::Engine;
    use crate::promql::storage::memory::MemoryStorage;
    use crate::promql::storage::{Point, SampleValue};
    use crate::promql::value::Value;
    use shared::labels::Labels;

    fn storage(series: &[(&[(&str, &str)], f64)]) -> MemoryStorage {
        let mut s = MemoryStorage::new();
        for (labels, v) in series {
            let point = Point {
                t_ms: 0,
                value: SampleValue::Float(*v),
            };
            s.append(&Labels::from_pairs(labels.iter().copied()), point);
        }
        s
    }

    fn query(s: &MemoryStorage, q: &str) -> Result<Vec<(String, f64)>, String> {
        match Engine::default().instant(s, q, 0).map(|r| r.value) {
            Ok(Value::Vector(v)) => {
                let mut out: Vec<(String, f64)> = v
                    .into_iter()
                    .map(|e| match e.value {
                        SampleValue::Float(f) => (e.labels.to_string(), f),
                        SampleValue::Histogram(_) => (e.labels.to_string(), f64::NAN),
                    })
                    .collect();
                out.sort_by(|a, b| a.0.cmp(&b.0));
                Ok(out)
            }
            Ok(other) => Err(format!("not a vector: {other:?}")),
            Err(e) => Err(e.to_string()),
        }
    }

    #[test]
    fn undefined_histogram_operations_drop_the_pair_with_the_last_info() {
        let mut s = storage(&[(&[("__name__", "f")], 2.0)]);
        let h = shared::histogram::FloatHistogram {
            count: 4.0,
            sum: 3.0,
            ..Default::default()
        };
        let point = Point {
            t_ms: 0,
            value: SampleValue::Histogram(Box::new(h)),
        };
        s.append(&Labels::from_pairs([("__name__", "h")]), point);
        let result = Engine::default()
            .instant(&s, "h > 1", 0)
            .expect("query runs");
        assert_eq!(result.value, Value::Vector(Vec::new()));
        assert_eq!(
            result.infos,
            vec![
                r#"PromQL info: incompatible sample types encountered for binary operator ">": histogram > float (1:1)"#
            ]
        );
        let result = Engine::default()
            .instant(&s, "f </ 1", 0)
            .expect("query runs");
        assert_eq!(result.value, Value::Vector(Vec::new()));
        assert_eq!(
            result.infos,
            vec![
                r#"PromQL info: incompatible sample types encountered for binary operator "</": float </ float (1:1)"#
            ]
        );
        let result = Engine::default()
            .instant(&s, "  h * 2", 0)
            .expect("query runs");
        assert!(result.infos.is_empty() && result.warnings.is_empty());
        let result = Engine::default()
            .instant(&s, "f - on() h", 0)
            .expect("query runs");
        assert_eq!(
            result.infos,
            vec![
                r#"PromQL info: incompatible sample types encountered for binary operator "-": float - histogram (1:1)"#
            ]
        );
    }

    #[test]
    fn one_to_one_matching_ignores_the_name_and_reports_duplicates() {
        let s = storage(&[
            (&[("__name__", "a"), ("i", "1"), ("x", "p")], 10.0),
            (&[("__name__", "a"), ("i", "2"), ("x", "q")], 20.0),
            (&[("__name__", "b"), ("i", "1"), ("x", "r")], 2.0),
            (&[("__name__", "b"), ("i", "2"), ("x", "r")], 4.0),
        ]);
        assert_eq!(
            query(&s, "a / on(i) b").unwrap(),
            vec![("{i=\"1\"}".into(), 5.0), ("{i=\"2\"}".into(), 5.0)]
        );
        assert_eq!(query(&s, "a / b").unwrap(), vec![], "x differs");
        assert_eq!(
            query(&s, "a - ignoring(x) b").unwrap(),
            vec![("{i=\"1\"}".into(), 8.0), ("{i=\"2\"}".into(), 16.0)]
        );
        let err = query(&s, "a + on(x) b").unwrap_err();
        assert!(
            err.starts_with(
                "found duplicate series for the match group {x=\"r\"} on the right hand-side"
            ),
            "{err}"
        );
        let err = query(&s, "b + on(x) group_right a").unwrap_err();
        assert!(err.contains("on the left hand-side"), "{err}");
        assert_eq!(query(&s, "b + on(x) group_left a").unwrap(), vec![]);
    }

    #[test]
    fn group_left_copies_included_labels_and_set_operators_match_signatures() {
        let s = storage(&[
            (&[("__name__", "req"), ("job", "j"), ("code", "200")], 6.0),
            (&[("__name__", "req"), ("job", "j"), ("code", "500")], 3.0),
            (&[("__name__", "info"), ("job", "j"), ("team", "t")], 1.0),
        ]);
        assert_eq!(
            query(&s, "req * on(job) group_left(team) info").unwrap(),
            vec![
                ("{code=\"200\", job=\"j\", team=\"t\"}".into(), 6.0),
                ("{code=\"500\", job=\"j\", team=\"t\"}".into(), 3.0)
            ]
        );
        assert_eq!(query(&s, "req and on(job) info").unwrap().len(), 2);
        assert_eq!(query(&s, "req unless on(job) info").unwrap().len(), 0);
        assert_eq!(query(&s, "info or req").unwrap().len(), 3);
        assert_eq!(
            query(&s, "req > bool 4").unwrap(),
            vec![
                ("{code=\"200\", job=\"j\"}".into(), 1.0),
                ("{code=\"500\", job=\"j\"}".into(), 0.0)
            ]
        );
        assert_eq!(
            query(&s, "4 < req").unwrap(),
            vec![("{__name__=\"req\", code=\"200\", job=\"j\"}".into(), 6.0)],
            "a scalar on the left keeps the vector's value"
        );
    }

    #[test]
    fn group_left_of_the_name_takes_the_one_side_name_as_it_is() {
        let s = storage(&[
            (&[("__name__", "req"), ("job", "j"), ("code", "200")], 6.0),
            (&[("__name__", "info"), ("job", "j"), ("team", "t")], 1.0),
        ]);
        assert_eq!(
            query(&s, "req * on(job) group_left(__name__) info").unwrap(),
            vec![("{__name__=\"info\", code=\"200\", job=\"j\"}".into(), 6.0)]
        );
        assert_eq!(
            query(&s, "info * on(job) group_right(__name__, team) req").unwrap(),
            vec![(
                "{__name__=\"info\", code=\"200\", job=\"j\", team=\"t\"}".into(),
                6.0
            )]
        );
        // The "one" side lost its name to `abs`: nothing to copy.
        assert_eq!(
            query(&s, "req * on(job) group_left(__name__) abs(info)").unwrap(),
            vec![("{code=\"200\", job=\"j\"}".into(), 6.0)]
        );
    }

    #[test]
    fn fill_values_stand_in_for_missing_sides_of_group_matches() {
        let s = storage(&[
            (&[("__name__", "req"), ("m", "get"), ("st", "200")], 100.0),
            (&[("__name__", "req"), ("m", "put"), ("st", "500")], 10.0),
            (&[("__name__", "lim"), ("st", "200"), ("o", "a")], 1000.0),
            (&[("__name__", "lim"), ("st", "404"), ("o", "b")], 500.0),
        ]);
        // fill_right: a missing "one" side; the joined label cannot be filled.
        assert_eq!(
            query(&s, "req + on(st) group_left(o) fill_right(1) lim").unwrap(),
            vec![
                ("{m=\"get\", o=\"a\", st=\"200\"}".into(), 1100.0),
                ("{m=\"put\", st=\"500\"}".into(), 11.0)
            ]
        );
        // fill_left: a missing "many" side carries the matching labels and the joined ones.
        assert_eq!(
            query(&s, "req + on(st) group_left(o) fill_left(0) lim").unwrap(),
            vec![
                ("{m=\"get\", o=\"a\", st=\"200\"}".into(), 1100.0),
                ("{o=\"b\", st=\"404\"}".into(), 500.0)
            ]
        );
        // group_right swaps which side each fill value stands in for, as upstream does.
        assert_eq!(
            query(&s, "lim - on(st) group_right fill_left(1) req").unwrap(),
            vec![
                ("{m=\"get\", st=\"200\"}".into(), 900.0),
                ("{st=\"404\"}".into(), 499.0)
            ]
        );
    }
}
