//! Prints a tree back as PromQL (`Display`), close to Prometheus's `promql/parser/printer.go`:
//! `sum by (job) (rate(x[5m]))`, `a + on (job) group_left () b`, matchers sorted, durations as
//! `1h30m`, timestamps as `@ 123.000`. The output parses back to an equal tree (spans aside);
//! the tests check it. Nothing here validates: an unchecked tree prints as it is.

use std::fmt::{self, Display, Formatter, Write as _};

use shared::labels::{METRIC_NAME, MatchOp, Matcher};

use super::ast::{
    AggregateExpr, AtModifier, BinaryExpr, Cardinality, DurationExpr, Expr, Grouping,
    NumberLiteral, RangeExtension, SubqueryExpr, VectorMatching, VectorSelector,
};
use super::literals::{DURATION_UNITS, go_quote, go_quote_bytes};

impl Display for Expr {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            Expr::Number(n) => write_number(f, n),
            Expr::String(s) => match &s.bytes {
                Some(bytes) => f.write_str(&go_quote_bytes(bytes)),
                None => f.write_str(&go_quote(&s.value)),
            },
            Expr::VectorSelector(vs) => {
                write_selector(f, vs)?;
                write_selector_modifiers(f, vs, true)
            }
            Expr::MatrixSelector(ms) => {
                write_selector(f, &ms.selector)?;
                f.write_char('[')?;
                write_top_duration(f, &ms.range)?;
                f.write_char(']')?;
                write_selector_modifiers(f, &ms.selector, false)
            }
            Expr::Subquery(sq) => write!(f, "{}{}", sq.expr, SubquerySuffix(sq)),
            Expr::Call(call) => {
                write!(f, "{}(", call.function.name)?;
                write_list(f, call.args.iter())?;
                f.write_char(')')
            }
            Expr::Aggregate(agg) => {
                write!(f, "{}(", AggregateHead(agg))?;
                if let Some(param) = &agg.param {
                    write!(f, "{param}, ")?;
                }
                write!(f, "{})", agg.expr)
            }
            Expr::Binary(bin) => write_binary(f, bin),
            Expr::Unary(u) => write!(f, "{}{}", u.op.as_str(), u.expr),
            Expr::Paren(p) => write!(f, "({})", p.expr),
        }
    }
}

impl Display for DurationExpr {
    /// A duration as written inside an expression: literals keep their number or duration form.
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            DurationExpr::Literal(n) => write_number(f, n),
            DurationExpr::Step(_) => f.write_str("step()"),
            DurationExpr::Range(_) => f.write_str("range()"),
            DurationExpr::Unary { op, expr, .. } => write!(f, "{}{expr}", op.as_str()),
            DurationExpr::Binary { op, lhs, rhs, .. } => write!(f, "{lhs} {} {rhs}", op.as_str()),
            DurationExpr::Extremum { max, lhs, rhs, .. } => {
                write!(
                    f,
                    "{}({lhs}, {rhs})",
                    if *max { "max_of" } else { "min_of" }
                )
            }
            DurationExpr::Paren { expr, .. } => write!(f, "({expr})"),
        }
    }
}

/// A range, step or offset: a bare literal prints as a duration (`[1800]` prints `[30m]`).
fn write_top_duration(f: &mut Formatter<'_>, d: &DurationExpr) -> fmt::Result {
    match d {
        DurationExpr::Literal(n) => write_number(
            f,
            &NumberLiteral {
                duration: true,
                ..n.clone()
            },
        ),
        other => write!(f, "{other}"),
    }
}

fn write_number(f: &mut Formatter<'_>, n: &NumberLiteral) -> fmt::Result {
    let v = n.value;
    let ms = v * 1000.0;
    if n.duration && v.is_finite() && ms.fract() == 0.0 && ms.abs() < 9.2e18 {
        if v < 0.0 {
            f.write_char('-')?;
        }
        return write_duration_ms(f, ms.abs() as u64);
    }
    write_float(f, v)
}

/// Go's `strconv.FormatFloat(v, 'f', -1, 64)`, with `+Inf`, `-Inf`, `NaN`.
pub(crate) fn write_float(f: &mut Formatter<'_>, v: f64) -> fmt::Result {
    if v.is_nan() {
        f.write_str("NaN")
    } else if v.is_infinite() {
        f.write_str(if v > 0.0 { "+Inf" } else { "-Inf" })
    } else {
        write!(f, "{v}")
    }
}

/// Prometheus's `model.Duration.String`: `1y2w3d4h5m6s7ms`, `0s` for zero.
fn write_duration_ms(f: &mut Formatter<'_>, mut ms: u64) -> fmt::Result {
    if ms == 0 {
        return f.write_str("0s");
    }
    for (unit, size) in DURATION_UNITS {
        let count = ms / size;
        if count > 0 {
            write!(f, "{count}{unit}")?;
            ms %= size;
        }
    }
    Ok(())
}

fn write_selector(f: &mut Formatter<'_>, vs: &VectorSelector) -> fmt::Result {
    let name = vs.name.as_deref();
    if let Some(name) = name {
        f.write_str(name)?;
    }
    let mut shown: Vec<String> = vs
        .matchers
        .iter()
        .filter(|m| {
            !(m.name() == METRIC_NAME && m.op() == MatchOp::Equal && Some(m.value()) == name)
        })
        .map(matcher_text)
        .collect();
    if shown.is_empty() && name.is_some() {
        return Ok(());
    }
    shown.sort();
    write!(f, "{{{}}}", shown.join(","))
}

fn matcher_text(m: &Matcher) -> String {
    format!(
        "{}{}{}",
        label_name(m.name()),
        m.op().as_str(),
        go_quote(m.value())
    )
}

/// `@`, extension and `offset` of a selector; `extension_after_at` is false for a range selector,
/// whose extension follows the brackets before `@` as upstream prints it.
fn write_selector_modifiers(
    f: &mut Formatter<'_>,
    vs: &VectorSelector,
    extension_after_at: bool,
) -> fmt::Result {
    if !extension_after_at {
        write_extension(f, vs.extension)?;
    }
    write_at(f, vs.at)?;
    if extension_after_at {
        write_extension(f, vs.extension)?;
    }
    write_offset(f, vs.offset.as_ref())
}

fn write_extension(f: &mut Formatter<'_>, extension: Option<RangeExtension>) -> fmt::Result {
    match extension {
        Some(RangeExtension::Anchored) => f.write_str(" anchored"),
        Some(RangeExtension::Smoothed) => f.write_str(" smoothed"),
        None => Ok(()),
    }
}

fn write_at(f: &mut Formatter<'_>, at: Option<AtModifier>) -> fmt::Result {
    match at {
        Some(AtModifier::Timestamp(ms)) => write!(f, " @ {:.3}", ms as f64 / 1000.0),
        Some(AtModifier::Start) => f.write_str(" @ start()"),
        Some(AtModifier::End) => f.write_str(" @ end()"),
        None => Ok(()),
    }
}

fn write_offset(f: &mut Formatter<'_>, offset: Option<&DurationExpr>) -> fmt::Result {
    match offset {
        Some(d) => {
            f.write_str(" offset ")?;
            write_top_duration(f, d)
        }
        None => Ok(()),
    }
}

fn write_binary(f: &mut Formatter<'_>, bin: &BinaryExpr) -> fmt::Result {
    write!(f, "{} {} {}", bin.lhs, BinaryOperator(bin), bin.rhs)
}

/// A subquery's `[range:step] @ t offset d`, everything after its inner expression (upstream
/// `getSubqueryTimeSuffix`).
pub(super) struct SubquerySuffix<'a>(pub(super) &'a SubqueryExpr);

impl Display for SubquerySuffix<'_> {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        let sq = self.0;
        f.write_char('[')?;
        write_top_duration(f, &sq.range)?;
        f.write_char(':')?;
        if let Some(step) = &sq.step {
            write_top_duration(f, step)?;
        }
        f.write_char(']')?;
        write_at(f, sq.at)?;
        write_offset(f, sq.offset.as_ref())
    }
}

/// An aggregation's operator and grouping as printed before its `(`: `sum`, `sum by (job) `
/// (upstream `AggregateExpr.ShortString`, trailing space included).
pub(super) struct AggregateHead<'a>(pub(super) &'a AggregateExpr);

impl Display for AggregateHead<'_> {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        f.write_str(self.0.op.as_str())?;
        match &self.0.grouping {
            Grouping::Without(labels) => write!(f, " without ({}) ", LabelList(labels)),
            Grouping::By(labels) if !labels.is_empty() => write!(f, " by ({}) ", LabelList(labels)),
            Grouping::By(_) => Ok(()),
        }
    }
}

/// A binary expression's operator with its `bool`, matching and fill modifiers:
/// `+ on (job) group_left () fill (0)` (upstream `BinaryExpr.ShortString`).
pub(super) struct BinaryOperator<'a>(pub(super) &'a BinaryExpr);

impl Display for BinaryOperator<'_> {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        let bin = self.0;
        f.write_str(bin.op.as_str())?;
        if bin.return_bool {
            f.write_str(" bool")?;
        }
        match &bin.matching {
            Some(m) => write_matching(f, m),
            None => Ok(()),
        }
    }
}

fn write_matching(f: &mut Formatter<'_>, m: &VectorMatching) -> fmt::Result {
    let grouped = matches!(m.card, Cardinality::ManyToOne | Cardinality::OneToMany);
    if !m.labels.is_empty() || m.on || grouped {
        write!(
            f,
            " {} ({})",
            if m.on { "on" } else { "ignoring" },
            LabelList(&m.labels)
        )?;
    }
    if grouped {
        let side = if m.card == Cardinality::ManyToOne {
            "left"
        } else {
            "right"
        };
        write!(f, " group_{side} ({})", LabelList(&m.include))?;
    }
    match (m.fill.lhs, m.fill.rhs) {
        (Some(l), Some(r)) if l == r || (l.is_nan() && r.is_nan()) => {
            write!(f, " fill ({})", Float(l))?
        }
        (l, r) => {
            if let Some(l) = l {
                write!(f, " fill_left ({})", Float(l))?;
            }
            if let Some(r) = r {
                write!(f, " fill_right ({})", Float(r))?;
            }
        }
    }
    Ok(())
}

fn write_list<'a>(f: &mut Formatter<'_>, items: impl Iterator<Item = &'a Expr>) -> fmt::Result {
    for (i, item) in items.enumerate() {
        if i > 0 {
            f.write_str(", ")?;
        }
        write!(f, "{item}")?;
    }
    Ok(())
}

/// A float as [`write_float`] prints it.
struct Float(f64);

impl Display for Float {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write_float(f, self.0)
    }
}

/// Label names joined by `, `, quoted where they are not legacy identifiers.
struct LabelList<'a>(&'a [String]);

impl Display for LabelList<'_> {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        for (i, l) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            f.write_str(&label_name(l))?;
        }
        Ok(())
    }
}

/// A label name as written: bare when it matches `[a-zA-Z_][a-zA-Z0-9_]*`, else quoted.
fn label_name(name: &str) -> String {
    let mut bytes = name.bytes();
    let legacy = bytes
        .next()
        .is_some_and(|b| b == b'_' || b.is_ascii_alphabetic())
        && bytes.all(|b| b == b'_' || b.is_ascii_alphanumeric());
    if legacy {
        name.to_owned()
    } else {
        go_quote(name)
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use crate::promql::parser::parse;

    fn printed(input: &str) -> String {
        parse(input)
            .unwrap_or_else(|e| panic!("{input}: {e}"))
            .to_string()
    }

    #[test]
    fn prints_like_prometheus() {
        let cases = [
            ("sum by(code) (x)", "sum by (code) (x)"),
            ("sum(x) without(a,b)", "sum without (a, b) (x)"),
            ("topk(5,x)", "topk(5, x)"),
            ("a+on(b)group_left(c)d", "a + on (b) group_left (c) d"),
            ("a > bool ignoring(b) c", "a > bool ignoring (b) c"),
            ("a * on() group_right b", "a * on () group_right () b"),
            ("a + fill(0) b", "a + fill (0) b"),
            (
                "a + fill_left(1) fill_right(-2) b",
                "a + fill_left (1) fill_right (-2) b",
            ),
            ("x{b=\"2\",a=~'1'}", "x{a=~\"1\",b=\"2\"}"),
            ("{\"foo.bar\"}", "{__name__=\"foo.bar\"}"),
            ("x[1800]", "x[30m]"),
            (
                "x[90s] offset 1h30m @ 100",
                "x[1m30s] @ 100.000 offset 1h30m",
            ),
            ("x[5m] smoothed @ end()", "x[5m] smoothed @ end()"),
            ("x anchored offset -5m", "x anchored offset -5m"),
            ("rate(x[5m])[30m:] offset 1m", "rate(x[5m])[30m:] offset 1m"),
            ("x[2m*(10+5)]", "x[2m * (10 + 5)]"),
            ("x offset -(step()*2)", "x offset -(step() * 2)"),
            (
                "x[min_of(step(),1h):range()]",
                "x[min_of(step(), 1h):range()]",
            ),
            ("-(1+2)", "-(1 + 2)"),
            ("1e3 + .5 + 0x10", "1000 + 0.5 + 16"),
            ("Inf - -inf + nan", "+Inf - -Inf + NaN"),
            ("'a\"b\\n'", "\"a\\\"b\\n\""),
            ("5m", "5m"),
            ("h >/ 0.5", "h >/ 0.5"),
            ("sum by (\"k8s.pod\") (x)", "sum by (\"k8s.pod\") (x)"),
        ];
        for (input, want) in cases {
            assert_eq!(printed(input), want, "{input}");
        }
    }

    /// Valid PromQL built from a small grammar.
    fn expression() -> impl Strategy<Value = String> {
        let vector_leaf = prop_oneof![
            Just("x".to_owned()),
            Just("up{job=\"a\"}".to_owned()),
            Just("{__name__=~\"m.*\",b!=\"c\"}".to_owned()),
            Just("rate(c[5m])".to_owned()),
            Just("m offset 1m".to_owned()),
            Just("m @ 12.5".to_owned()),
            Just("sum_over_time(m[1h:5m] offset 1d)".to_owned()),
            Just("m smoothed".to_owned()),
        ];
        let scalar_leaf = prop_oneof![
            (-1.0e6..1.0e6f64).prop_map(|v| format!("{v}")),
            Just("time()".to_owned()),
            Just("5m".to_owned()),
        ];
        let leaf = prop_oneof![
            vector_leaf,
            scalar_leaf.prop_map(|s| format!("vector({s})"))
        ];
        leaf.prop_recursive(4, 24, 3, |inner| {
            let op = prop::sample::select(vec![
                "+", "-", "*", "/", "%", "^", "atan2", "and", "or", "unless", "</",
            ]);
            let cmp = prop::sample::select(vec!["==", "!=", ">", "<", ">=", "<="]);
            prop_oneof![
                (inner.clone(), op, inner.clone()).prop_map(|(a, o, b)| format!("{a} {o} {b}")),
                (inner.clone(), cmp, inner.clone())
                    .prop_map(|(a, o, b)| format!("{a} {o} bool on (j) {b}")),
                (inner.clone(), inner.clone())
                    .prop_map(|(a, b)| format!("{a} * ignoring (i) group_left (g) {b}")),
                inner.clone().prop_map(|a| format!("sum by (j) ({a})")),
                inner
                    .clone()
                    .prop_map(|a| format!("topk(3, {a}) without (k)")),
                inner.clone().prop_map(|a| format!("-({a})")),
                inner.clone().prop_map(|a| format!("abs({a})")),
                inner
                    .clone()
                    .prop_map(|a| format!("max_over_time(({a})[10m:1m])")),
                inner.prop_map(|a| format!("label_replace({a}, \"d\", \"$1\", \"s\", \"(.*)\")")),
            ]
        })
    }

    proptest! {
        #[test]
        fn printing_round_trips(input in expression()) {
            let expr = parse(&input).map_err(|e| TestCaseError::fail(format!("{input}: {e}")))?;
            let once = expr.to_string();
            let reparsed = parse(&once).map_err(|e| TestCaseError::fail(format!("{once}: {e}")))?;
            prop_assert_eq!(reparsed.value_type(), expr.value_type());
            prop_assert_eq!(reparsed.to_string(), once);
        }
    }
}
