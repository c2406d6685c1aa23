//! Type checking of a parsed tree, as Prometheus's `checkAST` (`promql/parser/parse.go`).
//!
//! Children are checked before their parent and the first error is returned, so the reported
//! error is the one Prometheus reports first. Two normalisations happen here too, as upstream:
//! set operators get many-to-many matching, and binary expressions that are not between two
//! instant vectors lose their vector matching.

use super::ast::{BinaryExpr, Call, Cardinality, Expr, Span, ValueType};
use super::error::ParseError;
use super::functions::Arity;
use super::literals::go_quote;

/// Checks `expr` and everything below it.
pub fn check(input: &str, expr: &mut Expr) -> Result<ValueType, ParseError> {
    Checker { input }.check(expr, false)
}

struct Checker<'a> {
    input: &'a str,
}

impl Checker<'_> {
    fn error(&self, span: Span, message: impl std::fmt::Display) -> ParseError {
        ParseError::new(self.input, span, message)
    }

    fn expect_type(
        &self,
        expr: &mut Expr,
        want: ValueType,
        context: &str,
    ) -> Result<(), ParseError> {
        let got = self.check(expr, false)?;
        if got != want {
            return Err(self.error(
                expr.span(),
                format!("expected type {want} in {context}, got {got}"),
            ));
        }
        Ok(())
    }

    /// `bypass_empty_matcher_check` is set for `info()`'s label-selector argument. Returns the
    /// type computed from the children, so no node's type is computed twice. Errors are built in
    /// separate functions to keep this recursive frame small.
    fn check(
        &self,
        expr: &mut Expr,
        bypass_empty_matcher_check: bool,
    ) -> Result<ValueType, ParseError> {
        match expr {
            Expr::Number(_) | Expr::String(_) => {}
            Expr::Aggregate(agg) => {
                self.expect_type(
                    &mut agg.expr,
                    ValueType::InstantVector,
                    "aggregation expression",
                )?;
                if let (Some(param), Some(want)) = (agg.param.as_deref_mut(), agg.op.param_type()) {
                    self.expect_type(param, want, "aggregation parameter")?;
                }
            }
            Expr::Binary(bin) => return self.check_binary(bin),
            Expr::Call(call) => self.check_call(call)?,
            Expr::Paren(p) => return self.check(&mut p.expr, false),
            Expr::Unary(u) => {
                let t = self.check(&mut u.expr, false)?;
                if t != ValueType::Scalar && t != ValueType::InstantVector {
                    return Err(self.unary_error(u.span, t));
                }
                return Ok(t);
            }
            Expr::Subquery(sq) => {
                let t = self.check(&mut sq.expr, false)?;
                if t != ValueType::InstantVector {
                    return Err(self.subquery_error(sq.span, t));
                }
            }
            Expr::MatrixSelector(ms) => self.check_selector(&ms.selector, false)?,
            Expr::VectorSelector(vs) => self.check_selector(vs, bypass_empty_matcher_check)?,
        }
        Ok(expr.value_type())
    }

    #[inline(never)]
    fn unary_error(&self, span: Span, t: ValueType) -> ParseError {
        let message = format!(
            "unary expression only allowed on expressions of type scalar or instant vector, got \"{t}\""
        );
        self.error(span, message)
    }

    #[inline(never)]
    fn subquery_error(&self, span: Span, t: ValueType) -> ParseError {
        let message = format!(
            "subquery is only allowed on instant vector, got {} instead",
            internal_name(t)
        );
        self.error(span, message)
    }

    fn check_selector(
        &self,
        vs: &super::ast::VectorSelector,
        bypass_empty: bool,
    ) -> Result<(), ParseError> {
        if let Some(name) = &vs.name {
            // The name written before the braces is the last matcher; another one for
            // `__name__` means the name was given twice.
            let before = vs.matchers.len().saturating_sub(1);
            if let Some(m) = vs.matchers[..before]
                .iter()
                .find(|m| m.name() == shared::labels::METRIC_NAME)
            {
                return Err(self.error(
                    vs.span,
                    format!(
                        "metric name must not be set twice: {} or {}",
                        go_quote(name),
                        go_quote(m.value())
                    ),
                ));
            }
            return Ok(());
        }
        if !bypass_empty && vs.matchers.iter().all(|m| m.matches_empty()) {
            return Err(self.error(
                vs.span,
                "vector selector must contain at least one non-empty matcher",
            ));
        }
        Ok(())
    }

    fn check_binary(&self, bin: &mut BinaryExpr) -> Result<ValueType, ParseError> {
        let lt = self.check(&mut bin.lhs, false)?;
        let rt = self.check(&mut bin.rhs, false)?;
        self.binary_rules(bin, lt, rt)?;
        Ok(match (lt, rt) {
            (ValueType::Scalar, ValueType::Scalar) => ValueType::Scalar,
            _ => ValueType::InstantVector,
        })
    }

    /// The rules for one binary node, given its operands' types.
    #[inline(never)]
    fn binary_rules(
        &self,
        bin: &mut BinaryExpr,
        lt: ValueType,
        rt: ValueType,
    ) -> Result<(), ParseError> {
        let op = bin.op;
        if bin.return_bool && !op.is_comparison() {
            return Err(self.error(
                self.operator_span(bin),
                "bool modifier can only be used on comparison operators",
            ));
        }
        if op.is_comparison()
            && !bin.return_bool
            && lt == ValueType::Scalar
            && rt == ValueType::Scalar
        {
            return Err(self.error(
                self.operator_span(bin),
                "comparisons between scalars must use BOOL modifier",
            ));
        }
        if let Some(m) = &mut bin.matching {
            if op.is_set_operator() && m.card == Cardinality::OneToOne {
                m.card = Cardinality::ManyToMany;
            }
            if m.on
                && let Some(l) = m.labels.iter().find(|l| m.include.contains(l))
            {
                let message = format!(
                    "label {} must not occur in ON and GROUP clause at once",
                    go_quote(l)
                );
                return Err(self.error(self.operator_span(bin), message));
            }
        }
        for (t, side) in [(lt, &bin.lhs), (rt, &bin.rhs)] {
            if t != ValueType::Scalar && t != ValueType::InstantVector {
                return Err(self.error(
                    side.span(),
                    "binary expression must contain only scalar and instant vector types",
                ));
            }
        }
        let both_vectors = lt == ValueType::InstantVector && rt == ValueType::InstantVector;
        if let Some(m) = &bin.matching {
            let has_fill = m.fill.lhs.is_some() || m.fill.rhs.is_some();
            if !both_vectors {
                if !m.labels.is_empty() {
                    return Err(self.error(
                        bin.span,
                        "vector matching only allowed between instant vectors",
                    ));
                }
                if has_fill {
                    return Err(self.error(
                        bin.span,
                        "filling in missing series only allowed between instant vectors",
                    ));
                }
            } else if op.is_set_operator() {
                if matches!(m.card, Cardinality::OneToMany | Cardinality::ManyToOne) {
                    return Err(self.error(
                        bin.span,
                        format!("no grouping allowed for \"{}\" operation", op.as_str()),
                    ));
                }
                if has_fill {
                    return Err(self.error(
                        bin.span,
                        "filling in missing series not allowed for set operators",
                    ));
                }
            }
        }
        if !both_vectors {
            bin.matching = None;
        }
        if (lt == ValueType::Scalar || rt == ValueType::Scalar) && op.is_set_operator() {
            return Err(self.error(
                bin.span,
                format!(
                    "set operator \"{}\" not allowed in binary scalar expression",
                    op.as_str()
                ),
            ));
        }
        Ok(())
    }

    /// The operator and its modifiers, without surrounding space (upstream's `opRange`).
    fn operator_span(&self, bin: &BinaryExpr) -> Span {
        let bytes = self.input.as_bytes();
        let (mut start, mut end) = (bin.lhs.span().end, bin.rhs.span().start);
        while start < end && bytes.get(start).is_some_and(u8::is_ascii_whitespace) {
            start += 1;
        }
        while end > start && bytes.get(end - 1).is_some_and(u8::is_ascii_whitespace) {
            end -= 1;
        }
        Span::new(start, end)
    }

    fn check_call(&self, call: &mut Call) -> Result<(), ParseError> {
        let f = call.function;
        let n = call.args.len();
        let name = go_quote(f.name);
        let message = match (f.arity, f.max_args()) {
            (Arity::Fixed, _) if n != f.arg_types.len() => Some(format!(
                "expected {} argument(s) in call to {name}, got {n}",
                f.arg_types.len()
            )),
            _ if n < f.min_args() => Some(format!(
                "expected at least {} argument(s) in call to {name}, got {n}",
                f.min_args()
            )),
            (_, Some(max)) if n > max => Some(format!(
                "expected at most {max} argument(s) in call to {name}, got {n}"
            )),
            _ => None,
        };
        if let Some(message) = message {
            return Err(self.error(call.span, message));
        }
        let mut bypass_second = false;
        if f.name == "info"
            && let Some(second) = call.args.get(1)
        {
            if second.value_type() != ValueType::InstantVector {
                let message = format!(
                    "expected type {} in call to function \"info\", got {}",
                    ValueType::InstantVector,
                    second.value_type()
                );
                return Err(self.error(call.span, message));
            }
            match second {
                Expr::VectorSelector(vs) if vs.name.is_some() => {
                    return Err(self.error(
                        second.span(),
                        "expected label selectors only, got vector selector instead",
                    ));
                }
                Expr::VectorSelector(_) => bypass_second = true,
                _ => return Err(self.error(second.span(), "expected label selectors only")),
            }
        }
        for (i, arg) in call.args.iter_mut().enumerate() {
            let Some(want) = f.arg_type(i) else { break };
            let got = self.check(arg, bypass_second && i == 1)?;
            if got != want {
                return Err(self.error(
                    arg.span(),
                    format!(
                        "expected type {want} in call to function {}, got {got}",
                        go_quote(f.name)
                    ),
                ));
            }
        }
        Ok(())
    }
}

/// Prometheus's internal `ValueType` strings, used by a few messages.
fn internal_name(t: ValueType) -> &'static str {
    match t {
        ValueType::Scalar => "scalar",
        ValueType::InstantVector => "vector",
        ValueType::RangeVector => "matrix",
        ValueType::String => "string",
    }
}

#[cfg(test)]
mod tests {
    use crate::promql::parser::ast::{Cardinality, Expr};
    use crate::promql::parser::parse;

    fn message(input: &str) -> String {
        parse(input).expect_err(input).message
    }

    fn position(input: &str) -> (usize, usize) {
        let e = parse(input).expect_err(input);
        (e.line, e.column)
    }

    #[test]
    fn binary_operand_types() {
        assert_eq!(
            message("x[5m] + 1"),
            "binary expression must contain only scalar and instant vector types"
        );
        assert_eq!(
            message("1 + \"s\""),
            "binary expression must contain only scalar and instant vector types"
        );
        assert_eq!(position("1 + \"s\""), (1, 5));
        assert_eq!(
            message("1 and 2"),
            "set operator \"and\" not allowed in binary scalar expression"
        );
        assert_eq!(
            message("x and 2"),
            "set operator \"and\" not allowed in binary scalar expression"
        );
        assert_eq!(
            message("1 == 1"),
            "comparisons between scalars must use BOOL modifier"
        );
        assert!(parse("1 == bool 1").is_ok());
    }

    #[test]
    fn modifier_combinations() {
        assert_eq!(
            message("a + bool b"),
            "bool modifier can only be used on comparison operators"
        );
        // The error points at the operator and its modifiers.
        assert_eq!(position("a  + bool b"), (1, 4));
        assert_eq!(
            message("a and on (x) group_left b"),
            "no grouping allowed for \"and\" operation"
        );
        assert_eq!(
            message("1 + on (x) b"),
            "vector matching only allowed between instant vectors"
        );
        assert_eq!(
            message("a * on (x) group_left (x) b"),
            "label \"x\" must not occur in ON and GROUP clause at once"
        );
        assert_eq!(
            message("1 + fill (0) b"),
            "filling in missing series only allowed between instant vectors"
        );
        assert_eq!(
            message("a or fill (0) b"),
            "filling in missing series not allowed for set operators"
        );
    }

    #[test]
    fn matching_is_normalised() {
        let Expr::Binary(set) = parse("a or b").unwrap() else {
            panic!("binary")
        };
        assert_eq!(set.matching.map(|m| m.card), Some(Cardinality::ManyToMany));
        let Expr::Binary(scalar) = parse("a * 2").unwrap() else {
            panic!("binary")
        };
        assert!(scalar.matching.is_none());
        let Expr::Binary(grouped) = parse("a / ignoring (x) group_right (y) b").unwrap() else {
            panic!("binary")
        };
        let m = grouped.matching.expect("vector matching");
        assert_eq!(
            (m.card, m.on, m.labels, m.include),
            (
                Cardinality::OneToMany,
                false,
                vec!["x".into()],
                vec!["y".into()]
            )
        );
    }

    #[test]
    fn function_arguments() {
        assert_eq!(
            message("rate(x)"),
            "expected type range vector in call to function \"rate\", got instant vector"
        );
        assert_eq!(position("rate(x)"), (1, 6));
        assert_eq!(
            message("rate()"),
            "expected 1 argument(s) in call to \"rate\", got 0"
        );
        assert_eq!(
            message("round(x, 1, 2)"),
            "expected at most 2 argument(s) in call to \"round\", got 3"
        );
        assert_eq!(
            message("label_join(x)"),
            "expected at least 3 argument(s) in call to \"label_join\", got 1"
        );
        assert!(parse("label_join(x, \"d\", \",\", \"a\", \"b\", \"c\")").is_ok());
        assert!(parse("round(x)").is_ok());
        assert!(parse("time()").is_ok());
        assert_eq!(
            message("abs(\"s\")"),
            "expected type instant vector in call to function \"abs\", got string"
        );
    }

    #[test]
    fn info_takes_label_selectors() {
        assert!(parse("info(m, {data=~\".*\"})").is_ok());
        assert_eq!(
            message("info(m, x{a=\"b\"})"),
            "expected label selectors only, got vector selector instead"
        );
        assert_eq!(
            message("info(m, 1)"),
            "expected type instant vector in call to function \"info\", got scalar"
        );
        assert_eq!(message("info(m, sum(x))"), "expected label selectors only");
    }

    #[test]
    fn aggregation_types() {
        assert_eq!(
            message("sum(1)"),
            "expected type instant vector in aggregation expression, got scalar"
        );
        assert_eq!(
            message("topk(x, y)"),
            "expected type scalar in aggregation parameter, got instant vector"
        );
        assert_eq!(
            message("count_values(1, x)"),
            "expected type string in aggregation parameter, got scalar"
        );
        assert!(parse("quantile(0.9, x)").is_ok());
        assert!(parse("limit_ratio(0.5, x)").is_ok());
    }

    #[test]
    fn selectors_and_unary_and_subqueries() {
        assert_eq!(
            message("{a=\"\"}"),
            "vector selector must contain at least one non-empty matcher"
        );
        assert_eq!(
            message("{a=~\".*\"}"),
            "vector selector must contain at least one non-empty matcher"
        );
        assert!(parse("{a=~\".+\"}").is_ok());
        assert_eq!(
            message("x{__name__=\"y\"}"),
            "metric name must not be set twice: \"x\" or \"y\""
        );
        assert_eq!(
            message("-x[5m]"),
            "unary expression only allowed on expressions of type scalar or instant vector, got \"range vector\""
        );
        assert_eq!(
            message("x[5m][1m:]"),
            "subquery is only allowed on instant vector, got matrix instead"
        );
    }
}
