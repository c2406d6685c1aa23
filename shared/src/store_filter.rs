//! Which stores a query would reach: the querier's per-request store selection by time range
//! and external labels (THANOS.md §5 "Per-request selection"; upstream thanos
//! pkg/store/proxy.go `storeMatches` and pkg/store/labelpb `LabelSetsMatch`), for the console's
//! Stores page (Thanos issues 748 and 5022).
//!
//! The expression's selectors come from the querier's `/api/v1/parse_query` tree, so this
//! module never parses PromQL; it knows nothing of HTTP or of the page. Matching is generic over
//! [`ValueMatcher`]: natively [`Matcher`] (the `regex` crate), while the browser console tests
//! regexes with the browser's own engine and so leaves the `regex` crate out of its wasm.

use serde_json::Value;

use crate::api::StoreStatus;
use crate::labels::{Labels, MatchOp, Matcher, MatcherError};

/// A `parse_query` tree could not be read as selectors.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreFilterError {
    /// A selector's matcher lacks a field or has an unknown operator.
    #[error("malformed matcher in the syntax tree: {0}")]
    MalformedMatcher(String),
}

/// A label matcher as far as store selection needs one.
pub trait ValueMatcher {
    /// The label it tests.
    fn name(&self) -> &str;
    /// Whether it accepts `value` for that label.
    fn matches(&self, value: &str) -> bool;
}

impl ValueMatcher for Matcher {
    fn name(&self) -> &str {
        Matcher::name(self)
    }

    fn matches(&self, value: &str) -> bool {
        Matcher::matches(self, value)
    }
}

/// A matcher as the syntax tree writes it, not compiled yet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MatcherSpec {
    /// The label name.
    pub name: String,
    /// The operator.
    pub op: MatchOp,
    /// The value or (unanchored) regex.
    pub value: String,
}

impl MatcherSpec {
    /// The matcher, its regex compiled (fully anchored) by the `regex` crate.
    pub fn compile(&self) -> Result<Matcher, MatcherError> {
        Matcher::new(self.op, self.name.clone(), self.value.clone())
    }
}

/// What a query asks of the stores: its selectors' matchers and its time range.
#[derive(Debug, Clone)]
pub struct QueryScope<M> {
    /// One list of matchers per vector or matrix selector of the expression.
    pub selectors: Vec<Vec<M>>,
    /// Start of the data the query reads, ms since the epoch.
    pub start_ms: i64,
    /// End of the data the query reads, ms since the epoch.
    pub end_ms: i64,
}

impl<M: ValueMatcher> QueryScope<M> {
    /// Whether the querier would ask `store` for series: it is up (a store whose last check
    /// failed is left out at once), its time range overlaps the query's, and some selector's
    /// matchers fit one of its label sets (see [`label_sets_match`]). An expression without
    /// selectors (`time()`, `vector(1)`) reads no store.
    pub fn would_query(&self, store: &StoreStatus) -> bool {
        store.last_error.is_none()
            && store.min_time <= self.end_ms
            && store.max_time >= self.start_ms
            && self
                .selectors
                .iter()
                .any(|matchers| label_sets_match(matchers, &store.label_sets))
    }
}

/// Whether a store announcing `label_sets` may hold series for `matchers`: a store without
/// label sets always may; otherwise some label set must not be contradicted, i.e. no matcher
/// on a label of the set rejects that label's value. Matchers on labels absent from a set say
/// nothing about it (the store may hold such series).
pub fn label_sets_match<M: ValueMatcher>(matchers: &[M], label_sets: &[Labels]) -> bool {
    label_sets.is_empty()
        || label_sets.iter().any(|set| {
            matchers
                .iter()
                .all(|m| set.get(m.name()).is_none_or(|value| m.matches(value)))
        })
}

/// The matchers of every vector and matrix selector in a `/api/v1/parse_query` tree (nodes of
/// type `vectorSelector` / `matrixSelector` with `matchers: [{name, type, value}]`), in the
/// order they appear.
pub fn selectors(tree: &Value) -> Result<Vec<Vec<MatcherSpec>>, StoreFilterError> {
    let mut out = Vec::new();
    collect(tree, &mut out)?;
    Ok(out)
}

fn collect(node: &Value, out: &mut Vec<Vec<MatcherSpec>>) -> Result<(), StoreFilterError> {
    match node {
        Value::Object(map) => {
            let kind = map.get("type").and_then(Value::as_str);
            if matches!(kind, Some("vectorSelector" | "matrixSelector")) {
                let list = map
                    .get("matchers")
                    .and_then(Value::as_array)
                    .map(Vec::as_slice)
                    .unwrap_or_default();
                out.push(list.iter().map(matcher).collect::<Result<_, _>>()?);
                return Ok(());
            }
            map.values().try_for_each(|v| collect(v, out))
        }
        Value::Array(items) => items.iter().try_for_each(|v| collect(v, out)),
        _ => Ok(()),
    }
}

fn matcher(node: &Value) -> Result<MatcherSpec, StoreFilterError> {
    let field = |name: &str| node.get(name).and_then(Value::as_str);
    let malformed = || StoreFilterError::MalformedMatcher(node.to_string());
    let op = match field("type").ok_or_else(malformed)? {
        "=" => MatchOp::Equal,
        "!=" => MatchOp::NotEqual,
        "=~" => MatchOp::Regex,
        "!~" => MatchOp::NotRegex,
        _ => return Err(malformed()),
    };
    let name = field("name").ok_or_else(malformed)?;
    let value = field("value").ok_or_else(malformed)?;
    Ok(MatcherSpec {
        name: name.to_owned(),
        op,
        value: value.to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn set(pairs: &[(&str, &str)]) -> Labels {
        Labels::from_pairs(pairs.iter().copied())
    }

    fn m(op: MatchOp, name: &str, value: &str) -> Matcher {
        Matcher::new(op, name, value).expect("valid matcher")
    }

    fn store(name: &str, sets: Vec<Labels>, min: i64, max: i64) -> StoreStatus {
        StoreStatus {
            name: name.into(),
            last_check: String::new(),
            last_successful_check: None,
            last_error: None,
            label_sets: sets,
            min_time: min,
            max_time: max,
        }
    }

    #[test]
    fn a_store_is_skipped_only_when_every_label_set_is_contradicted() {
        let a = set(&[("cluster", "eu"), ("replica", "a")]);
        let b = set(&[("cluster", "us"), ("replica", "b")]);
        let eq = |n, v| m(MatchOp::Equal, n, v);
        let only_a = std::slice::from_ref(&a);
        let both = [a.clone(), b];
        assert!(label_sets_match(&[eq("replica", "a")], only_a));
        assert!(!label_sets_match(&[eq("replica", "b")], only_a));
        // Either set may match.
        assert!(label_sets_match(&[eq("cluster", "us")], &both));
        assert!(!label_sets_match(
            &[eq("cluster", "us"), eq("replica", "a")],
            &both
        ));
        // Labels the store does not announce say nothing; no label sets match everything.
        assert!(label_sets_match(
            &[eq("__name__", "up"), eq("job", "x")],
            only_a
        ));
        assert!(label_sets_match(&[eq("replica", "zzz")], &[]));
        // Every operator, regexes fully anchored.
        assert!(label_sets_match(
            &[m(MatchOp::Regex, "cluster", "e.")],
            only_a
        ));
        assert!(!label_sets_match(
            &[m(MatchOp::Regex, "cluster", "e")],
            only_a
        ));
        assert!(!label_sets_match(
            &[m(MatchOp::NotEqual, "replica", "a")],
            only_a
        ));
        assert!(label_sets_match(
            &[m(MatchOp::NotRegex, "replica", "b|c")],
            only_a
        ));
    }

    #[test]
    fn selectors_come_from_the_parse_query_tree() {
        let tree = json!({
            "type": "binaryExpr", "op": "/",
            "lhs": {"type": "call", "func": {"name": "rate"}, "args": [{
                "type": "matrixSelector", "name": "errors", "range": 300000,
                "matchers": [{"name": "code", "type": "=~", "value": "5.."},
                             {"name": "__name__", "type": "=", "value": "errors"}]}]},
            "rhs": {"type": "vectorSelector", "name": "up",
                    "matchers": [{"name": "__name__", "type": "=", "value": "up"}]},
        });
        let found = selectors(&tree).expect("valid tree");
        assert_eq!(found.len(), 2);
        let names: Vec<Vec<String>> = found
            .iter()
            .map(|s| {
                s.iter()
                    .map(|m| m.compile().expect("valid").to_string())
                    .collect()
            })
            .collect();
        assert!(
            names
                .iter()
                .any(|s| s.contains(&"code=~\"5..\"".to_owned())),
            "{names:?}"
        );
        assert!(
            selectors(&json!({"type": "numberLiteral", "val": "1"}))
                .expect("valid")
                .is_empty()
        );
        let bad = json!({"type": "vectorSelector", "matchers": [{"name": "a", "type": "<>", "value": "b"}]});
        assert!(matches!(
            selectors(&bad),
            Err(StoreFilterError::MalformedMatcher(_))
        ));
        let bad = json!({"type": "vectorSelector", "matchers": [{"name": "a", "type": "=~", "value": "("}]});
        let specs = selectors(&bad).expect("read, not compiled");
        assert!(specs[0][0].compile().is_err());
    }

    #[test]
    fn scope_combines_health_time_range_and_labels() {
        let scope = QueryScope {
            selectors: vec![vec![m(MatchOp::Equal, "replica", "a")]],
            start_ms: 1_000,
            end_ms: 2_000,
        };
        let a = store("a", vec![set(&[("replica", "a")])], 0, i64::MAX);
        let b = store("b", vec![set(&[("replica", "b")])], 0, i64::MAX);
        let old = store("old", vec![set(&[("replica", "a")])], 0, 999);
        let mut down = a.clone();
        down.last_error = Some("connection refused".into());
        assert!(scope.would_query(&a));
        assert!(!scope.would_query(&b));
        assert!(!scope.would_query(&old));
        assert!(!scope.would_query(&down));
        let two = QueryScope {
            selectors: vec![
                vec![m(MatchOp::Equal, "replica", "a")],
                vec![m(MatchOp::Equal, "replica", "b")],
            ],
            ..scope.clone()
        };
        assert!(two.would_query(&a) && two.would_query(&b));
        let none = QueryScope {
            selectors: Vec::new(),
            ..scope
        };
        assert!(!none.would_query(&a));
    }
}
