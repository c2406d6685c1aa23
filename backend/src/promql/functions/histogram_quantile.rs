//! `histogram_quantile`, `histogram_quantiles` and `histogram_fraction` over native histograms
//! and classic ones (upstream functions.go `funcHistogramQuantile`, `funcHistogramQuantiles`,
//! `funcHistogramFraction`, engine.go `resetHistograms`).
//!
//! The input vector is split first: native histogram samples stand alone; float samples are
//! buckets of classic histograms, grouped by their labels without `le` (the metric name
//! included), the `le` value parsed as the bucket's upper bound. A native histogram with the
//! same labels as a classic group is a conflict: both are left out with a warning. Results
//! drop the metric name. The arithmetic lives in `quantile` (classic) and `native_quantile`.

use std::collections::HashMap;

use shared::histogram::FloatHistogram;
use shared::labels::{Label, Labels};

use super::histogram_notes::{Note, report};
use super::native_quantile::{self, NanObservations};
use super::quantile::{ClassicBucket, bucket_fraction, bucket_quantile};
use super::{Evaluator, arg, scalar_arg, vector_arg};
use crate::promql::EngineError;
use crate::promql::go_format::open_metrics_float;
use crate::promql::parser::Call;
use crate::promql::storage::SampleValue;
use crate::promql::value::{Element, Value, Vector};

/// The label holding a classic histogram bucket's upper bound.
const BUCKET_LABEL: &str = "le";

/// A classic histogram: its labels without `le`, and its buckets.
struct ClassicGroup {
    labels: Labels,
    buckets: Vec<ClassicBucket>,
}

/// An input vector split into native histograms and classic histograms.
#[derive(Default)]
struct Split {
    natives: Vec<(Labels, FloatHistogram)>,
    classics: Vec<ClassicGroup>,
}

fn metric_name(labels: &Labels) -> String {
    labels.get("__name__").unwrap_or_default().to_owned()
}

/// The bucket bound an `le` value stands for, as Go's `strconv.ParseFloat` reads it (upstream
/// uses it): decimal, hexadecimal with a binary exponent (`0x1.8p3`), `Inf`/`Infinity` with
/// an optional sign, `NaN` without one, all case-insensitive.
fn parse_bound(text: &str) -> Option<f64> {
    let unsigned = text.strip_prefix(['+', '-']).unwrap_or(text);
    let signed = unsigned.len() != text.len();
    if signed && unsigned.eq_ignore_ascii_case("nan") {
        return None;
    }
    match unsigned
        .strip_prefix("0x")
        .or_else(|| unsigned.strip_prefix("0X"))
    {
        Some(hex) => {
            let v = parse_hex(hex)?;
            Some(if text.starts_with('-') { -v } else { v })
        }
        None => text.parse().ok(),
    }
}

/// A hexadecimal float after its `0x`: hex digits with an optional point, then a mandatory
/// `p` and a decimal power of two; underscores may separate digits. Exact up to 13 digits.
fn parse_hex(text: &str) -> Option<f64> {
    let (mantissa, exponent) = text.split_once(['p', 'P'])?;
    let mut exponent: i32 = exponent.replace('_', "").parse().ok()?;
    let (mut value, mut digits, mut seen_point) = (0.0f64, 0, false);
    for c in mantissa.chars().filter(|c| *c != '_') {
        if c == '.' && !seen_point {
            seen_point = true;
            continue;
        }
        value = value * 16.0 + f64::from(c.to_digit(16)?);
        digits += 1;
        if seen_point {
            exponent = exponent.checked_sub(4)?;
        }
    }
    if digits == 0 {
        return None;
    }
    Some(value * 2f64.powi(exponent))
}

/// Splits `v` (upstream `resetHistograms`), noting malformed `le` labels and conflicts.
fn split(v: Vector, notes: &mut Vec<Note>) -> Split {
    let mut out = Split::default();
    let mut group_of: HashMap<Labels, usize> = HashMap::new();
    for e in v {
        let f = match e.value {
            SampleValue::Histogram(h) => {
                out.natives.push((e.labels, *h));
                continue;
            }
            SampleValue::Float(f) => f,
        };
        let le = e.labels.get(BUCKET_LABEL).unwrap_or_default();
        let Some(upper) = parse_bound(le) else {
            notes.push(Note::BadBucketLabel {
                metric: metric_name(&e.labels),
                le: le.to_owned(),
            });
            continue;
        };
        let mut labels = e.labels;
        labels.remove_names(&[BUCKET_LABEL]);
        let i = *group_of.entry(labels.clone()).or_insert_with(|| {
            out.classics.push(ClassicGroup {
                labels,
                buckets: Vec::new(),
            });
            out.classics.len() - 1
        });
        out.classics[i]
            .buckets
            .push(ClassicBucket { upper, count: f });
    }
    let mut conflicting = Vec::new();
    out.natives
        .retain(|(labels, _)| match group_of.get(labels) {
            Some(&i) => {
                notes.push(Note::MixedClassicNative {
                    metric: metric_name(labels),
                });
                conflicting.push(i);
                false
            }
            None => true,
        });
    for i in conflicting {
        if let Some(g) = out.classics.get_mut(i) {
            g.buckets.clear();
        }
    }
    out.classics.retain(|g| !g.buckets.is_empty());
    out
}

/// A result element: the labels with the name dropped at the end of evaluation.
fn element(labels: Labels, value: f64) -> Element {
    Element {
        labels,
        value: SampleValue::Float(value),
        drop_name: true,
    }
}

fn nan_note(labels: &Labels, effect: Option<NanObservations>) -> Option<Note> {
    effect.map(|effect| Note::NanObservations {
        metric: metric_name(labels),
        effect,
    })
}

/// The `q` quantile of every histogram of `split`, each result's labels passed through
/// `label`.
fn quantiles_of(
    split: &Split,
    q: f64,
    label: impl Fn(&Labels) -> Labels,
    out: &mut Vector,
    notes: &mut Vec<Note>,
) {
    for (labels, h) in &split.natives {
        let (value, effect) = native_quantile::quantile(q, h);
        notes.extend(nan_note(labels, effect));
        out.push(element(label(labels), value));
    }
    for g in &split.classics {
        let result = bucket_quantile(q, g.buckets.clone());
        if let Some(fix) = result.fix {
            notes.push(Note::ForcedMonotonicity {
                metric: metric_name(&g.labels),
                fix,
            });
        }
        out.push(element(label(&g.labels), result.value));
    }
}

/// Notes an invalid quantile in argument `arg`.
fn check_quantile(q: f64, arg: usize, notes: &mut Vec<Note>) {
    if q.is_nan() || !(0.0..=1.0).contains(&q) {
        notes.push(Note::InvalidQuantile { arg, q });
    }
}

/// `histogram_quantile(φ, v)`.
pub(super) fn quantile(ev: &Evaluator, c: &Call, t_ms: i64) -> Result<Value, EngineError> {
    let q = scalar_arg(ev, c, 0, t_ms)?;
    let v = vector_arg(ev, c, 1, t_ms)?;
    quantile_of_vector(ev, c, t_ms, q, v).map(Value::Vector)
}

/// `histogram_quantile(q, v)` at `t_ms`, with its annotations.
pub(super) fn quantile_of_vector(
    ev: &Evaluator,
    c: &Call,
    t_ms: i64,
    q: f64,
    v: Vector,
) -> Result<Vector, EngineError> {
    let mut notes = Vec::new();
    check_quantile(q, 0, &mut notes);
    let split = split(v, &mut notes);
    let mut out = Vector::new();
    quantiles_of(&split, q, Labels::clone, &mut out, &mut notes);
    report(ev, c, 1, t_ms, notes)?;
    Ok(out)
}

/// `histogram_quantiles(v, "label", φ...)`: one result per histogram and quantile, the
/// quantile in `label`.
pub(super) fn quantiles(ev: &Evaluator, c: &Call, t_ms: i64) -> Result<Value, EngineError> {
    let mut notes = Vec::new();
    let label_name = match ev.eval(arg(c, 1)?, t_ms)? {
        Value::String(s) => s,
        other => return Err(super::type_error(c, "string", &other)),
    };
    let qs = (2..c.args.len())
        .map(|i| {
            let q = scalar_arg(ev, c, i, t_ms)?;
            check_quantile(q, i, &mut notes);
            Ok(q)
        })
        .collect::<Result<Vec<f64>, EngineError>>()?;
    let split = split(vector_arg(ev, c, 0, t_ms)?, &mut notes);
    let mut out = Vector::new();
    for q in qs {
        let value = open_metrics_float(q);
        let with_quantile = |labels: &Labels| {
            let mut pairs: Vec<Label> = labels
                .iter()
                .filter(|l| l.name != label_name)
                .cloned()
                .collect();
            pairs.push(Label::new(label_name.as_str(), value.as_str()));
            Labels::from_unsorted(pairs)
        };
        quantiles_of(&split, q, with_quantile, &mut out, &mut notes);
    }
    report(ev, c, 0, t_ms, notes)?;
    Ok(Value::Vector(out))
}

/// `histogram_fraction(lower, upper, v)`.
pub(super) fn fraction(ev: &Evaluator, c: &Call, t_ms: i64) -> Result<Value, EngineError> {
    let lower = scalar_arg(ev, c, 0, t_ms)?;
    let upper = scalar_arg(ev, c, 1, t_ms)?;
    let v = vector_arg(ev, c, 2, t_ms)?;
    fraction_of_vector(ev, c, t_ms, (lower, upper), v).map(Value::Vector)
}

/// `histogram_fraction(lower, upper, v)` at `t_ms`, with its annotations.
pub(super) fn fraction_of_vector(
    ev: &Evaluator,
    c: &Call,
    t_ms: i64,
    (lower, upper): (f64, f64),
    v: Vector,
) -> Result<Vector, EngineError> {
    let mut notes = Vec::new();
    let split = split(v, &mut notes);
    let mut out = Vector::new();
    for (labels, h) in split.natives {
        let (value, effect) = native_quantile::fraction(lower, upper, &h);
        notes.extend(nan_note(&labels, effect));
        out.push(element(labels, value));
    }
    for g in split.classics {
        out.push(element(g.labels, bucket_fraction(lower, upper, g.buckets)));
    }
    report(ev, c, 2, t_ms, notes)?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::promql::Engine;
    use crate::promql::storage::Point;
    use crate::promql::storage::memory::MemoryStorage;

    #[test]
    fn bucket_bounds_parse_as_go_parses_floats() {
        assert_eq!(parse_bound("+Inf"), Some(f64::INFINITY));
        assert_eq!(parse_bound("inf"), Some(f64::INFINITY));
        assert_eq!(parse_bound("-Inf"), Some(f64::NEG_INFINITY));
        assert_eq!(parse_bound("0.25"), Some(0.25));
        assert_eq!(parse_bound("1e3"), Some(1000.0));
        assert_eq!(parse_bound(".5"), Some(0.5));
        assert!(parse_bound("NaN").is_some_and(f64::is_nan));
        assert_eq!(parse_bound(""), None);
        assert_eq!(parse_bound("Hello World"), None);
        assert_eq!(parse_bound(" 1"), None);
        assert_eq!(parse_bound("1_000"), None);
        assert_eq!(parse_bound("0x1.8p3"), Some(12.0));
        assert_eq!(parse_bound("-0X10p-2"), Some(-4.0));
        assert_eq!(parse_bound("0x1"), None);
        assert_eq!(parse_bound("0xp1"), None);
        assert_eq!(parse_bound("-NaN"), None);
        assert_eq!(parse_bound("-Infinity"), Some(f64::NEG_INFINITY));
    }

    fn float(labels: &[(&str, &str)], value: f64) -> Element {
        Element {
            labels: Labels::from_pairs(labels.iter().copied()),
            value: SampleValue::Float(value),
            drop_name: false,
        }
    }

    #[test]
    fn split_groups_buckets_and_drops_conflicts() {
        let native = Element {
            labels: Labels::from_pairs([("__name__", "m"), ("i", "b")]),
            value: SampleValue::Histogram(Box::default()),
            drop_name: false,
        };
        let v = vec![
            float(&[("__name__", "m"), ("i", "a"), ("le", "1")], 1.0),
            float(&[("__name__", "m"), ("i", "a"), ("le", "+Inf")], 2.0),
            float(&[("__name__", "m"), ("i", "b"), ("le", "+Inf")], 2.0),
            float(&[("__name__", "m"), ("i", "c")], 2.0),
            native,
        ];
        let mut notes = Vec::new();
        let s = split(v, &mut notes);
        assert!(s.natives.is_empty());
        assert_eq!(s.classics.len(), 1);
        assert_eq!(s.classics[0].labels.to_string(), r#"{__name__="m", i="a"}"#);
        assert_eq!(s.classics[0].buckets.len(), 2);
        assert_eq!(
            notes,
            vec![
                Note::BadBucketLabel {
                    metric: "m".into(),
                    le: String::new()
                },
                Note::MixedClassicNative { metric: "m".into() },
            ]
        );
    }

    fn storage(buckets: &[(&str, f64)]) -> MemoryStorage {
        let mut storage = MemoryStorage::new();
        for &(le, count) in buckets {
            let labels = Labels::from_pairs([("__name__", "d_bucket"), ("le", le)]);
            let value = SampleValue::Float(count);
            storage.append(&labels, Point { t_ms: 0, value });
        }
        storage
    }

    fn floats(v: &Value) -> Vec<(String, f64)> {
        let Value::Vector(v) = v else {
            panic!("a vector, got {v:?}")
        };
        v.iter()
            .map(|e| match e.value {
                SampleValue::Float(f) => (e.labels.to_string(), f),
                SampleValue::Histogram(_) => panic!("a float"),
            })
            .collect()
    }

    #[test]
    fn classic_quantiles_and_fractions_through_the_engine() {
        let storage = storage(&[("0.5", 10.0), ("1", 20.0), ("+Inf", 20.0)]);
        let e = Engine::default();
        let got = e
            .instant(
                &storage,
                "histogram_quantiles(d_bucket, \"q\", 0.25, 0.75)",
                0,
            )
            .unwrap();
        assert_eq!(
            floats(&got.value),
            vec![
                (r#"{q="0.25"}"#.to_owned(), 0.25),
                (r#"{q="0.75"}"#.to_owned(), 0.75)
            ]
        );
        assert!(got.warnings.is_empty() && got.infos.is_empty());
        let got = e
            .instant(&storage, "histogram_fraction(0, 0.75, d_bucket)", 0)
            .unwrap();
        assert_eq!(floats(&got.value), vec![("{}".to_owned(), 0.75)]);
        let got = e
            .instant(&storage, "histogram_quantile(1.5, d_bucket)", 0)
            .unwrap();
        assert_eq!(floats(&got.value), vec![("{}".to_owned(), f64::INFINITY)]);
        assert_eq!(
            got.warnings,
            vec!["PromQL warning: quantile value should be between 0 and 1, got 1.5 (1:20)"]
        );
    }

    #[test]
    fn forced_monotonicity_is_one_info_over_a_range_query() {
        let storage = storage(&[("1", 10.0), ("2", 5.0), ("+Inf", 20.0)]);
        let e = Engine::default();
        let q = "histogram_quantile(0.5, d_bucket)";
        let got = e.range(&storage, q, 0, 120_000, 60_000).unwrap();
        assert_eq!(got.value.len(), 1);
        assert_eq!(got.value[0].points.len(), 3);
        assert_eq!(
            got.infos,
            vec![
                "PromQL info: input to histogram_quantile needed to be fixed for monotonicity \
                 (see https://prometheus.io/docs/prometheus/latest/querying/functions/#histogram_quantile) \
                 for metric name \"d_bucket\", from buckets 2 to 2, with a max diff of 5, over 3 \
                 samples from 1970-01-01T00:00:00Z to 1970-01-01T00:02:00Z (1:25)"
            ]
        );
    }
}
