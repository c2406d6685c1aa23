//! `info(v [, {label selectors}])`: adds the data labels of info series (`target_info` unless
//! the selectors name others) to the series of `v` that share their identifying labels
//! `instance` and `job` (upstream promql/info.go).
//!
//! The info series are selected for the call itself (see [`selection`]): with the selector's
//! data-label matchers and the effective `__name__` matchers, but without upstream's
//! restriction to the identifying-label values present in `v`, which cannot be known before
//! evaluation here; that restriction is applied per step instead ([`evaluate`]). The info series
//! are read at the time `v`'s first selector reads (its `@` and offsets, and those of enclosing
//! subqueries), so that `info(v @ T)` enriches as of `T`.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use shared::labels::{Labels, MatchOp, Matcher};

use super::{Evaluator, arg, vector_arg};
use crate::promql::EngineError;
use crate::promql::parser::{AtModifier, Call, Expr, SubqueryExpr, VectorSelector};
use crate::promql::storage::{SampleValue, SelectHints};
use crate::promql::value::{Element, Value, Vector};

/// The info metric joined when no `__name__` matcher is given.
const TARGET_INFO: &str = "target_info";
/// The labels an info series shares with the series it describes.
const IDENTIFYING: [&str; 2] = ["instance", "job"];

/// The matchers of the optional label-selector argument.
fn label_selector(c: &Call) -> &[Matcher] {
    match c.args.get(1) {
        Some(Expr::VectorSelector(s)) => &s.matchers,
        _ => &[],
    }
}

/// The `__name__` matchers that pick info series (upstream `effectiveInfoNameMatchers`): the
/// given ones when one is positive, `.+_info` plus the given ones when all are negative,
/// `target_info` when there are none.
fn name_matchers(c: &Call) -> Result<Vec<Matcher>, EngineError> {
    let given: Vec<Matcher> = label_selector(c)
        .iter()
        .filter(|m| m.name() == "__name__")
        .cloned()
        .collect();
    if given
        .iter()
        .any(|m| matches!(m.op(), MatchOp::Equal | MatchOp::Regex))
    {
        return Ok(given);
    }
    if given.is_empty() {
        return Ok(vec![Matcher::equal("__name__", TARGET_INFO)]);
    }
    let any_info = Matcher::new(MatchOp::Regex, "__name__", ".+_info")
        .map_err(|e| EngineError::Runtime(e.to_string()))?;
    Ok(std::iter::once(any_info).chain(given).collect())
}

/// The label selector's matchers on data labels (everything but `__name__`), by label name.
fn data_matchers(c: &Call) -> BTreeMap<&str, Vec<&Matcher>> {
    let mut out: BTreeMap<&str, Vec<&Matcher>> = BTreeMap::new();
    for m in label_selector(c).iter().filter(|m| m.name() != "__name__") {
        out.entry(m.name()).or_default().push(m);
    }
    out
}

/// The `@` and offset (ms) that govern when the info series are read: those of the first
/// selector in `expr`, shifted by enclosing subqueries' offsets up to the first `@` (upstream
/// `infoSelectTimestampAndOffset`).
fn reference(ev: &Evaluator, expr: &Expr) -> Result<(Option<AtModifier>, i64), EngineError> {
    let mut enclosing = Vec::new();
    let Some(selector) = first_selector(expr, &mut enclosing) else {
        return Ok((None, 0));
    };
    let mut at = selector.at;
    let mut offset = ev.offset(&selector.offset)?;
    for sq in enclosing.iter().rev() {
        if at.is_some() {
            break;
        }
        offset = offset.saturating_add(ev.offset(&sq.offset)?);
        at = sq.at;
    }
    Ok((at, offset))
}

/// The first vector selector of `expr` in depth-first order, with the subqueries around it
/// (outermost first).
fn first_selector<'a>(
    expr: &'a Expr,
    enclosing: &mut Vec<&'a SubqueryExpr>,
) -> Option<&'a VectorSelector> {
    match expr {
        Expr::Number(_) | Expr::String(_) => None,
        Expr::VectorSelector(s) => Some(s),
        Expr::MatrixSelector(m) => Some(&m.selector),
        Expr::Subquery(sq) => {
            enclosing.push(sq);
            let found = first_selector(&sq.expr, enclosing);
            if found.is_none() {
                enclosing.pop();
            }
            found
        }
        Expr::Call(c) => c.args.iter().find_map(|a| first_selector(a, enclosing)),
        Expr::Aggregate(a) => first_selector(&a.expr, enclosing).or_else(|| {
            a.param
                .as_deref()
                .and_then(|p| first_selector(p, enclosing))
        }),
        Expr::Binary(b) => {
            first_selector(&b.lhs, enclosing).or_else(|| first_selector(&b.rhs, enclosing))
        }
        Expr::Unary(u) => first_selector(&u.expr, enclosing),
        Expr::Paren(p) => first_selector(&p.expr, enclosing),
    }
}

/// The selection of info series for `c` evaluated at times in `[start_ms, end_ms]`, `step_ms`
/// apart (the query's step, or the enclosing subquery's): its matchers and hints (upstream
/// `infoSelectHints`, which names the function and the step but no grouping; without the
/// identifying-label regexes).
pub(crate) fn selection(
    ev: &Evaluator,
    c: &Call,
    start_ms: i64,
    end_ms: i64,
    step_ms: i64,
) -> Result<(Vec<Matcher>, SelectHints), EngineError> {
    let (at, offset) = reference(ev, arg(c, 0)?)?;
    let mut matchers: Vec<Matcher> = label_selector(c)
        .iter()
        .filter(|m| m.name() != "__name__")
        .cloned()
        .collect();
    matchers.extend(name_matchers(c)?);
    let hints = SelectHints {
        start_ms: ev
            .base(at, start_ms)
            .saturating_sub(offset)
            .saturating_sub(ev.lookback_ms()),
        end_ms: ev.base(at, end_ms).saturating_sub(offset),
        func: Some("info"),
        step_ms,
        ..SelectHints::default()
    };
    Ok((matchers, hints))
}

/// The identifying labels present on a series, as (name, value) pairs.
type Signature<'a> = Vec<(&'a str, &'a str)>;

/// The info samples chosen per (info metric name, signature).
type ChosenInfo<'a> = HashMap<(&'a str, Signature<'a>), Chosen<'a>>;

/// An info sample chosen for one signature: the series and its sample's own timestamp.
struct Chosen<'a> {
    labels: &'a Labels,
    t_ms: i64,
}

/// Evaluates `info(...)` at `t_ms` (upstream `combineWithInfoVector`).
pub(crate) fn evaluate(ev: &Evaluator, c: &Call, t_ms: i64) -> Result<Value, EngineError> {
    let base = vector_arg(ev, c, 0, t_ms)?;
    let names = name_matchers(c)?;
    let data = data_matchers(c);
    let is_info = |e: &Element| {
        let name = e.labels.get("__name__").unwrap_or("");
        names.iter().all(|m| m.matches(name))
    };
    // Identifying-label values of the series to enrich; info series must carry one of them.
    let mut wanted: HashMap<&str, BTreeSet<&str>> = HashMap::new();
    for e in base.iter().filter(|e| !is_info(e)) {
        for name in IDENTIFYING {
            if let Some(v) = e.labels.get(name).filter(|v| !v.is_empty()) {
                wanted.entry(name).or_default().insert(v);
            }
        }
    }
    let chosen = if wanted.is_empty() {
        HashMap::new()
    } else {
        choose_info(ev, c, t_ms, &wanted)?
    };
    let info_names: BTreeSet<&str> = chosen.keys().map(|(name, _)| *name).collect();
    let mut out = Vector::with_capacity(base.len());
    for e in base {
        if is_info(&e) {
            out.push(e);
            continue;
        }
        let mut added: BTreeMap<&str, &str> = BTreeMap::new();
        let mut matched = false;
        for name in &info_names {
            let Some(info) = chosen.get(&(*name, signature(&e.labels))) else {
                continue;
            };
            matched = true;
            for l in info.labels.iter().filter(|l| l.name != "__name__") {
                if !data.is_empty() && !data.contains_key(l.name.as_str()) {
                    continue;
                }
                if added.get(l.name.as_str()).is_some_and(|v| *v != l.value) {
                    return Err(EngineError::Runtime(format!(
                        "conflicting label: {}",
                        l.name
                    )));
                }
                if e.labels.contains(&l.name) {
                    continue;
                }
                added.insert(&l.name, &l.value);
            }
        }
        if !matched && data.values().flatten().any(|m| !m.matches_empty()) {
            continue;
        }
        let mut labels = e.labels;
        labels.merge_from(&Labels::from_pairs(added));
        out.push(Element { labels, ..e });
    }
    Ok(Value::Vector(out))
}

/// The identifying labels present on a series, as a signature.
fn signature(labels: &Labels) -> Signature<'_> {
    IDENTIFYING
        .iter()
        .filter_map(|n| labels.get(n).map(|v| (*n, v)))
        .collect()
}

/// The newest info sample per (metric name, signature) at the reference time; two equally new
/// ones are an error (upstream `combineWithInfoVector`).
fn choose_info<'a>(
    ev: &'a Evaluator,
    c: &Call,
    t_ms: i64,
    wanted: &HashMap<&str, BTreeSet<&str>>,
) -> Result<ChosenInfo<'a>, EngineError> {
    let (at, offset) = reference(ev, arg(c, 0)?)?;
    let ref_ms = ev.base(at, t_ms).saturating_sub(offset);
    let oldest_excluded = ref_ms.saturating_sub(ev.lookback_ms());
    let mut chosen = ChosenInfo::new();
    for (labels, points) in ev.call_series(c)? {
        let carries_wanted = wanted
            .iter()
            .all(|(name, values)| labels.get(name).is_some_and(|v| values.contains(v)));
        if !carries_wanted {
            continue;
        }
        let end = points.partition_point(|p| p.t_ms <= ref_ms);
        let Some(p) = end.checked_sub(1).and_then(|i| points.get(i)) else {
            continue;
        };
        if p.t_ms <= oldest_excluded || p.value.is_stale() {
            continue;
        }
        if let SampleValue::Histogram(_) = p.value {
            return Err(EngineError::Runtime("info sample should be float".into()));
        }
        let key = (labels.get("__name__").unwrap_or(""), signature(labels));
        match chosen.get(&key) {
            Some(existing) if existing.t_ms > p.t_ms => {}
            Some(existing) if existing.t_ms == p.t_ms => {
                return Err(EngineError::Runtime(format!(
                    "found duplicate series for info metric: existing {} @ {}, new {} @ {}",
                    existing.labels, existing.t_ms, labels, p.t_ms
                )));
            }
            _ => {
                chosen.insert(
                    key,
                    Chosen {
                        labels,
                        t_ms: p.t_ms,
                    },
                );
            }
        }
    }
    Ok(chosen)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::promql::parser::parse;

    fn call(q: &str) -> Call {
        match parse(q).unwrap() {
            Expr::Call(c) => c,
            other => panic!("not a call: {other:?}"),
        }
    }

    fn names(c: &Call) -> Vec<String> {
        name_matchers(c)
            .unwrap()
            .iter()
            .map(ToString::to_string)
            .collect()
    }

    #[test]
    fn name_matchers_default_to_target_info_and_complete_negative_ones() {
        assert_eq!(names(&call("info(m)")), ["__name__=\"target_info\""]);
        assert_eq!(
            names(&call("info(m, {data=~\".+\"})")),
            ["__name__=\"target_info\""]
        );
        assert_eq!(
            names(&call("info(m, {__name__!=\"target_info\"})")),
            ["__name__=~\".+_info\"", "__name__!=\"target_info\""]
        );
        assert_eq!(
            names(&call("info(m, {__name__=~\"a.+\", __name__!~\"b.+\"})")),
            ["__name__=~\"a.+\"", "__name__!~\"b.+\""]
        );
    }

    #[test]
    fn the_first_selector_and_its_subqueries_set_the_reference() {
        let c = call("info(last_over_time((m offset 1m)[10m:1m] offset 2m))");
        let mut enclosing = Vec::new();
        let s = first_selector(&c.args[0], &mut enclosing).unwrap();
        assert_eq!(s.name.as_deref(), Some("m"));
        assert_eq!(enclosing.len(), 1);
        let c = call("info(sum(rate(a[1m])) + b)");
        let mut enclosing = Vec::new();
        let s = first_selector(&c.args[0], &mut enclosing).unwrap();
        assert_eq!(s.name.as_deref(), Some("a"));
        assert!(enclosing.is_empty());
    }

    #[test]
    fn signatures_hold_only_present_identifying_labels() {
        let l = Labels::from_pairs([("__name__", "m"), ("instance", "a"), ("x", "y")]);
        assert_eq!(signature(&l), vec![("instance", "a")]);
    }

    #[test]
    fn selections_include_the_info_series_at_the_reference_time() {
        let engine = crate::promql::Engine::default();
        let got = engine
            .selections(
                "info(up offset 1m, {data=~\".+\"})",
                600_000,
                900_000,
                60_000,
            )
            .unwrap();
        assert_eq!(got.len(), 2, "{got:?}");
        let info = &got[1];
        let shown: Vec<String> = info.matchers.iter().map(ToString::to_string).collect();
        assert_eq!(shown, ["data=~\".+\"", "__name__=\"target_info\""]);
        assert_eq!(info.hints.start_ms, 600_000 - 60_000 - 300_000);
        assert_eq!(info.hints.end_ms, 900_000 - 60_000);
        assert_eq!(info.hints.func, Some("info"));
        assert_eq!(info.hints.step_ms, 60_000);
        assert_eq!(info.hints.grouping, None);
    }

    #[test]
    fn info_selections_under_a_subquery_carry_its_step() {
        let engine = crate::promql::Engine::default();
        let got = engine
            .selections("max_over_time(info(up)[10m:30s])", 600_000, 900_000, 60_000)
            .unwrap();
        let info = got.last().unwrap();
        assert_eq!(info.hints.func, Some("info"));
        assert_eq!(info.hints.step_ms, 30_000);
    }
}
