//! `/api/v1/parse_query`: the syntax tree of the `query` parameter as JSON, in the shape
//! Prometheus 3's console draws its "explain" tree from (upstream: prometheus
//! web/api/v1/api.go `parseQuery` and web/api/v1/translate_ast.go `translateAST`).
//!
//! Every node is an object with a `type` (`vectorSelector`, `matrixSelector`, `subquery`,
//! `call`, `aggregation`, `binaryExpr`, `unaryExpr`, `parenExpr`, `numberLiteral`,
//! `stringLiteral`) and that type's fields; keys come out sorted, as Go writes its maps.
//! Durations are milliseconds. A range, step or offset written as a plain duration fills the
//! number field (`range`, `step`, `offset`) and leaves its `*Expr` field `null`; one written as
//! duration arithmetic leaves the number 0 and puts the tree (`durationExpr` nodes with `op`,
//! `lhs`, `rhs`, `wrapped`) in the `*Expr` field, as upstream's parser builds them: a sign on a
//! literal folds into it, and a parenthesised literal becomes a unary `+` marked `wrapped`.
//! This module only describes trees; it never evaluates.

use axum::response::Response;
use serde_json::{Map, Value as Json, json};
use shared::labels::Matcher;

use super::error::ApiError;
use super::format::query_param;
use super::params::Params;
use super::query::format_float;
use super::success;
use crate::promql::parser::{Arity, Function};
use crate::promql::parser::{
    AtModifier, Cardinality, DurationExpr, Expr, Grouping, RangeExtension, UnaryOp, ValueType,
    VectorSelector,
};

/// `/api/v1/parse_query` (GET or POST form).
pub async fn parse_query(params: Params) -> Result<Response, ApiError> {
    let expr = query_param(&params)?;
    Ok(success(syntax_tree(&expr), Vec::new()))
}

/// `expr` as the JSON tree Prometheus's `translateAST` produces.
pub fn syntax_tree(expr: &Expr) -> Json {
    match expr {
        Expr::Number(n) => json!({ "type": "numberLiteral", "val": format_float(n.value) }),
        Expr::String(s) => json!({ "type": "stringLiteral", "val": s.value }),
        Expr::VectorSelector(vs) => {
            let mut node = selector_fields(vs);
            node.insert("type".into(), json!("vectorSelector"));
            Json::Object(node)
        }
        Expr::MatrixSelector(ms) => {
            let mut node = selector_fields(&ms.selector);
            let (range_ms, range_expr) = duration_fields(Some(&ms.range));
            node.insert("type".into(), json!("matrixSelector"));
            node.insert("range".into(), json!(range_ms));
            node.insert("rangeExpr".into(), range_expr);
            Json::Object(node)
        }
        Expr::Subquery(sq) => {
            let (range_ms, range_expr) = duration_fields(Some(&sq.range));
            let (step_ms, step_expr) = duration_fields(sq.step.as_ref());
            let (offset_ms, offset_expr) = duration_fields(sq.offset.as_ref());
            let (timestamp, start_or_end) = at_fields(sq.at);
            json!({
                "type": "subquery",
                "expr": syntax_tree(&sq.expr),
                "range": range_ms,
                "rangeExpr": range_expr,
                "offset": offset_ms,
                "offsetExpr": offset_expr,
                "step": step_ms,
                "stepExpr": step_expr,
                "timestamp": timestamp,
                "startOrEnd": start_or_end,
            })
        }
        Expr::Call(call) => json!({
            "type": "call",
            "func": function(call.function),
            "args": call.args.iter().map(syntax_tree).collect::<Vec<_>>(),
        }),
        Expr::Aggregate(agg) => {
            let (grouping, without) = match &agg.grouping {
                Grouping::By(labels) => (labels, false),
                Grouping::Without(labels) => (labels, true),
            };
            json!({
                "type": "aggregation",
                "op": agg.op.as_str(),
                "expr": syntax_tree(&agg.expr),
                "param": agg.param.as_deref().map_or(Json::Null, syntax_tree),
                "grouping": grouping,
                "without": without,
            })
        }
        Expr::Binary(bin) => {
            let matching = bin.matching.as_ref().map_or(Json::Null, |m| {
                json!({
                    "card": cardinality(m.card),
                    "labels": m.labels,
                    "on": m.on,
                    "include": m.include,
                    "fillValues": { "lhs": m.fill.lhs, "rhs": m.fill.rhs },
                })
            });
            json!({
                "type": "binaryExpr",
                "op": bin.op.as_str(),
                "lhs": syntax_tree(&bin.lhs),
                "rhs": syntax_tree(&bin.rhs),
                "matching": matching,
                "bool": bin.return_bool,
            })
        }
        Expr::Unary(u) => json!({
            "type": "unaryExpr",
            "op": u.op.as_str(),
            "expr": syntax_tree(&u.expr),
        }),
        Expr::Paren(p) => json!({ "type": "parenExpr", "expr": syntax_tree(&p.expr) }),
    }
}

/// The fields vector and matrix selectors share.
fn selector_fields(vs: &VectorSelector) -> Map<String, Json> {
    let (offset_ms, offset_expr) = duration_fields(vs.offset.as_ref());
    let (timestamp, start_or_end) = at_fields(vs.at);
    let matchers: Vec<Json> = vs.matchers.iter().map(matcher).collect();
    let mut node = Map::new();
    node.insert("name".into(), json!(vs.name.as_deref().unwrap_or_default()));
    node.insert("matchers".into(), Json::Array(matchers));
    node.insert("offset".into(), json!(offset_ms));
    node.insert("offsetExpr".into(), offset_expr);
    node.insert("timestamp".into(), timestamp);
    node.insert("startOrEnd".into(), start_or_end);
    node.insert(
        "anchored".into(),
        json!(vs.extension == Some(RangeExtension::Anchored)),
    );
    node.insert(
        "smoothed".into(),
        json!(vs.extension == Some(RangeExtension::Smoothed)),
    );
    node
}

fn matcher(m: &Matcher) -> Json {
    json!({ "name": m.name(), "value": m.value(), "type": m.op().as_str() })
}

/// `timestamp` (ms) and `startOrEnd` (`"start"`, `"end"`) of an `@` modifier.
fn at_fields(at: Option<AtModifier>) -> (Json, Json) {
    match at {
        None => (Json::Null, Json::Null),
        Some(AtModifier::Timestamp(ms)) => (json!(ms), Json::Null),
        Some(AtModifier::Start) => (Json::Null, json!("start")),
        Some(AtModifier::End) => (Json::Null, json!("end")),
    }
}

/// The number (ms) and expression fields of a range, step or offset: a literal, possibly
/// signed, is a number; anything else is an expression tree.
fn duration_fields(d: Option<&DurationExpr>) -> (i64, Json) {
    match d {
        None => (0, Json::Null),
        Some(d) => match signed_literal(d) {
            Some((seconds, _)) => (seconds_to_ms(seconds), Json::Null),
            None => (0, duration_tree(d)),
        },
    }
}

/// The value of a literal with any number of signs in front, as upstream folds them, and
/// whether it was written as a duration.
fn signed_literal(d: &DurationExpr) -> Option<(f64, bool)> {
    match d {
        DurationExpr::Literal(n) => Some((n.value, n.duration)),
        DurationExpr::Unary { op, expr, .. } => {
            let (v, duration) = signed_literal(expr)?;
            Some((if *op == UnaryOp::Neg { -v } else { v }, duration))
        }
        _ => None,
    }
}

/// Go's `time.Duration(math.Round(s * 1e9)).Milliseconds()`: rounded to nanoseconds, then
/// truncated to milliseconds (saturating, as no valid duration comes near the limits).
fn seconds_to_ms(seconds: f64) -> i64 {
    let nanos = (seconds * 1e9).round() as i64;
    nanos / 1_000_000
}

/// A duration expression as upstream's `translateDurationExpr` writes it.
fn duration_tree(d: &DurationExpr) -> Json {
    let literal = |(value, duration): (f64, bool)| json!({ "type": "numberLiteral", "val": format_float(value), "duration": duration });
    let node = |op: &str, lhs: Json, rhs: Json| json!({ "type": "durationExpr", "op": op, "lhs": lhs, "rhs": rhs, "wrapped": false });
    match d {
        DurationExpr::Literal(n) => literal((n.value, n.duration)),
        DurationExpr::Step(_) => node("step", Json::Null, Json::Null),
        DurationExpr::Range(_) => node("range", Json::Null, Json::Null),
        DurationExpr::Unary { op, expr, .. } => match (signed_literal(d), op) {
            (Some(folded), _) => literal(folded),
            (None, UnaryOp::Neg) => node("-", Json::Null, duration_tree(expr)),
            (None, UnaryOp::Pos) => duration_tree(expr),
        },
        DurationExpr::Binary { op, lhs, rhs, .. } => {
            node(op.as_str(), duration_tree(lhs), duration_tree(rhs))
        }
        DurationExpr::Extremum { max, lhs, rhs, .. } => node(
            if *max { "max_of" } else { "min_of" },
            duration_tree(lhs),
            duration_tree(rhs),
        ),
        DurationExpr::Paren { expr, .. } => {
            let mut inner = duration_tree(expr);
            match inner.as_object_mut() {
                Some(object) if object.get("type") == Some(&json!("durationExpr")) => {
                    object.insert("wrapped".into(), json!(true));
                    inner
                }
                _ => json!({
                    "type": "durationExpr", "op": "+", "lhs": null, "rhs": inner, "wrapped": true
                }),
            }
        }
    }
}

/// `func` of a call: upstream's `Function` struct as Go encodes it.
fn function(f: &Function) -> Json {
    let variadic: i64 = match f.arity {
        Arity::Fixed => 0,
        Arity::UpTo(n) => i64::try_from(n).unwrap_or(i64::MAX),
        Arity::Unbounded => -1,
    };
    let arg_types: Vec<&str> = f.arg_types.iter().map(|t| value_type(*t)).collect();
    json!({
        "name": f.name,
        "argTypes": arg_types,
        "variadic": variadic,
        "returnType": value_type(f.return_type),
    })
}

/// Upstream's `ValueType` strings (promql/parser/value.go).
fn value_type(t: ValueType) -> &'static str {
    match t {
        ValueType::Scalar => "scalar",
        ValueType::InstantVector => "vector",
        ValueType::RangeVector => "matrix",
        ValueType::String => "string",
    }
}

/// Upstream's `VectorMatchCardinality.String`.
fn cardinality(card: Cardinality) -> &'static str {
    match card {
        Cardinality::OneToOne => "one-to-one",
        Cardinality::ManyToOne => "many-to-one",
        Cardinality::OneToMany => "one-to-many",
        Cardinality::ManyToMany => "many-to-many",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::promql::parser::parse;

    fn tree(input: &str) -> Json {
        syntax_tree(&parse(input).unwrap_or_else(|e| panic!("{input}: {e}")))
    }

    #[test]
    fn vector_selector_lists_every_matcher_and_modifier() {
        assert_eq!(
            tree("up{job=~\"a.*\"} @ 1500.5 offset 5m"),
            json!({
                "type": "vectorSelector", "name": "up",
                "matchers": [
                    {"name": "job", "value": "a.*", "type": "=~"},
                    {"name": "__name__", "value": "up", "type": "="},
                ],
                "offset": 300_000, "offsetExpr": null,
                "timestamp": 1_500_500, "startOrEnd": null,
                "anchored": false, "smoothed": false,
            })
        );
        let negative = tree("{__name__=\"x\"} offset -90s");
        assert_eq!(negative["name"], "");
        assert_eq!(negative["offset"], -90_000);
    }

    #[test]
    fn matrix_selector_has_range_and_extension() {
        assert_eq!(
            tree("x[5m] anchored @ start()"),
            json!({
                "type": "matrixSelector", "name": "x",
                "matchers": [{"name": "__name__", "value": "x", "type": "="}],
                "range": 300_000, "rangeExpr": null,
                "offset": 0, "offsetExpr": null,
                "timestamp": null, "startOrEnd": "start",
                "anchored": true, "smoothed": false,
            })
        );
    }

    #[test]
    fn duration_arithmetic_becomes_a_duration_tree() {
        let t = tree("x[2 * 1h] offset -(step())");
        assert_eq!(t["range"], 0);
        assert_eq!(
            t["rangeExpr"],
            json!({
                "type": "durationExpr", "op": "*", "wrapped": false,
                "lhs": {"type": "numberLiteral", "val": "2", "duration": false},
                "rhs": {"type": "numberLiteral", "val": "3600", "duration": true},
            })
        );
        assert_eq!(
            t["offsetExpr"],
            json!({
                "type": "durationExpr", "op": "-", "wrapped": false, "lhs": null,
                "rhs": {"type": "durationExpr", "op": "step", "lhs": null, "rhs": null, "wrapped": true},
            })
        );
        let wrapped_literal = tree("x[(5m)]");
        assert_eq!(
            wrapped_literal["rangeExpr"],
            json!({
                "type": "durationExpr", "op": "+", "wrapped": true, "lhs": null,
                "rhs": {"type": "numberLiteral", "val": "300", "duration": true},
            })
        );
    }

    #[test]
    fn subquery_has_range_step_and_modifiers() {
        let t = tree("rate(x[1m])[30m:15s] @ end() offset 1m");
        assert_eq!(t["type"], "subquery");
        assert_eq!(t["range"], 1_800_000);
        assert_eq!(t["step"], 15_000);
        assert_eq!(t["offset"], 60_000);
        assert_eq!(t["startOrEnd"], "end");
        assert_eq!(t["timestamp"], Json::Null);
        assert_eq!(t["stepExpr"], Json::Null);
        assert_eq!(t["expr"]["type"], "call");
        assert_eq!(tree("x[5m:]")["step"], 0);
    }

    #[test]
    fn call_describes_its_function() {
        assert_eq!(
            tree("label_join(x, \"d\", \",\", \"a\", \"b\")")["func"],
            json!({"name": "label_join", "argTypes": ["vector", "string", "string", "string"],
                   "variadic": -1, "returnType": "vector"})
        );
        let round = tree("round(x)");
        assert_eq!(round["func"]["variadic"], 1);
        assert_eq!(round["args"][0]["type"], "vectorSelector");
        assert_eq!(tree("time()")["args"], json!([]));
        assert_eq!(tree("time()")["func"]["returnType"], "scalar");
    }

    #[test]
    fn aggregation_has_param_and_grouping() {
        assert_eq!(
            tree("topk(3, x) without (a)"),
            json!({
                "type": "aggregation", "op": "topk", "without": true, "grouping": ["a"],
                "param": {"type": "numberLiteral", "val": "3"},
                "expr": tree("x"),
            })
        );
        let sum = tree("sum(x)");
        assert_eq!(sum["param"], Json::Null);
        assert_eq!(sum["grouping"], json!([]));
        assert_eq!(sum["without"], false);
    }

    #[test]
    fn binary_expression_has_matching_only_between_vectors() {
        assert_eq!(
            tree("a > bool on (j) group_left (k) b")["matching"],
            json!({"card": "many-to-one", "labels": ["j"], "on": true, "include": ["k"],
                   "fillValues": {"lhs": null, "rhs": null}})
        );
        assert_eq!(tree("a > bool on (j) group_left (k) b")["bool"], true);
        assert_eq!(tree("a and b")["matching"]["card"], "many-to-many");
        assert_eq!(
            tree("a + fill (0) b")["matching"]["fillValues"],
            json!({"lhs": 0.0, "rhs": 0.0})
        );
        let scalar = tree("1 + 2");
        assert_eq!(scalar["matching"], Json::Null);
        assert_eq!(scalar["op"], "+");
        assert_eq!(scalar["lhs"], json!({"type": "numberLiteral", "val": "1"}));
    }

    #[test]
    fn unary_paren_and_literals() {
        assert_eq!(
            tree("-(x)"),
            json!({"type": "unaryExpr", "op": "-",
                   "expr": {"type": "parenExpr", "expr": tree("x")}})
        );
        assert_eq!(
            tree("-Inf"),
            json!({"type": "numberLiteral", "val": "-Inf"})
        );
        assert_eq!(
            tree("\"a\\nb\""),
            json!({"type": "stringLiteral", "val": "a\nb"})
        );
    }

    #[test]
    fn keys_come_out_sorted_like_go_maps() {
        let text = tree("sum(x)").to_string();
        assert!(
            text.starts_with(r#"{"expr":{"anchored":false,"matchers":"#),
            "{text}"
        );
    }
}
