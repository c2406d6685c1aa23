//! Function calls (`rate(x[5m])`) and aggregations (`sum by (job) (x)`, `topk(3, x)`).
//!
//! Functions are looked up in [`super::functions`] after their arguments parse, as upstream
//! reports errors inside the arguments first. Aggregations take their grouping before or after
//! the arguments, and a parameter first for `topk`, `bottomk`, `quantile`, `count_values`,
//! `limitk` and `limit_ratio` (upstream's `newAggregateExpr`). Argument types are checked later,
//! in [`super::check`].

use super::ast::{AggregateExpr, AggregateOp, Call, Expr, Grouping, Span};
use super::functions;
use super::literals::go_quote;
use super::parse::{PResult, Parser};
use super::token::TokenKind;

impl Parser<'_> {
    pub(super) fn parse_call(&mut self) -> PResult<Expr> {
        let name_token = self.advance();
        let name = self.text(name_token);
        let (args, close) = self.parse_call_args()?;
        let function = functions::lookup(name).ok_or_else(|| {
            self.error(
                name_token.span,
                format!("unknown function with name {}", go_quote(name)),
            )
        })?;
        if function.experimental && !self.options.experimental_functions {
            return Err(self.error(
                name_token.span,
                format!("function {} is not enabled", go_quote(name)),
            ));
        }
        Ok(Expr::Call(Call {
            function,
            args,
            span: name_token.span.to(close),
        }))
    }

    /// `( expr, expr, ... )`; returns the arguments and the closing parenthesis' span.
    fn parse_call_args(&mut self) -> PResult<(Vec<Expr>, Span)> {
        self.expect(TokenKind::LeftParen, "", "")?;
        let mut args = Vec::new();
        if self.peek_kind() == TokenKind::RightParen {
            return Ok((args, self.advance().span));
        }
        loop {
            args.push(self.parse_expr(0)?);
            match self.peek_kind() {
                TokenKind::RightParen => return Ok((args, self.advance().span)),
                TokenKind::Comma => {
                    let comma = self.advance();
                    if self.peek_kind() == TokenKind::RightParen {
                        return Err(self.error(
                            comma.span,
                            "trailing commas not allowed in function call args",
                        ));
                    }
                }
                _ => return Err(self.unexpected("", "")),
            }
        }
    }

    pub(super) fn parse_aggregate(&mut self, op: AggregateOp) -> PResult<Expr> {
        let op_token = self.advance();
        let mut grouping = self.parse_aggregate_modifier()?;
        let (args, mut close) = match self.peek_kind() {
            TokenKind::LeftParen => self.parse_call_args()?,
            _ => return Err(self.unexpected("aggregation", "")),
        };
        if grouping.is_none() && matches!(self.peek_kind(), TokenKind::By | TokenKind::Without) {
            grouping = self.parse_aggregate_modifier()?;
            close = Span::new(close.start, self.prev_end());
        }
        let span = op_token.span.to(close);
        if args.is_empty() {
            return Err(self.error(span, "no arguments for aggregate expression provided"));
        }
        let wanted = if op.param_type().is_some() {
            if op.is_experimental() && !self.options.experimental_functions {
                return Err(self.error(
                    span,
                    format!(
                        "{}() is experimental and must be enabled with --enable-feature=promql-experimental-functions",
                        op.as_str()
                    ),
                ));
            }
            2
        } else {
            1
        };
        if args.len() != wanted {
            return Err(self.error(
                span,
                format!(
                    "wrong number of arguments for aggregate expression provided, expected {wanted}, got {}",
                    args.len()
                ),
            ));
        }
        let mut args = args.into_iter();
        let (param, expr) = match (args.next(), args.next()) {
            (Some(param), Some(expr)) => (Some(Box::new(param)), expr),
            (Some(expr), None) => (None, expr),
            _ => return Err(self.error(span, "no arguments for aggregate expression provided")),
        };
        let grouping = grouping.unwrap_or(Grouping::By(Vec::new()));
        Ok(Expr::Aggregate(AggregateExpr {
            op,
            expr: Box::new(expr),
            param,
            grouping,
            span,
        }))
    }

    /// `by (...)` or `without (...)`, if present.
    fn parse_aggregate_modifier(&mut self) -> PResult<Option<Grouping>> {
        let without = match self.peek_kind() {
            TokenKind::By => false,
            TokenKind::Without => true,
            _ => return Ok(None),
        };
        self.advance();
        let labels = self.parse_grouping_labels()?;
        Ok(Some(if without {
            Grouping::Without(labels)
        } else {
            Grouping::By(labels)
        }))
    }
}

#[cfg(test)]
mod tests {
    use crate::promql::parser::ast::{AggregateOp, Expr, Grouping, ValueType};
    use crate::promql::parser::parse;

    #[test]
    fn calls_resolve_their_signature() {
        let Expr::Call(call) = parse("histogram_quantile(0.9, rate(h[5m]))").unwrap() else {
            panic!("call")
        };
        assert_eq!(call.function.name, "histogram_quantile");
        assert_eq!(call.args.len(), 2);
        let Expr::Call(call) = parse("step()").unwrap() else {
            panic!("call")
        };
        assert_eq!(call.function.return_type, ValueType::Scalar);
        assert!(matches!(parse("rate").unwrap(), Expr::VectorSelector(_)));
    }

    #[test]
    fn aggregations_take_grouping_before_or_after() {
        let before = parse("sum without (a, b) (x)").unwrap();
        let after = parse("sum(x) without (a, b)").unwrap();
        for e in [&before, &after] {
            let Expr::Aggregate(agg) = e else {
                panic!("aggregate")
            };
            assert_eq!(
                (agg.op, &agg.grouping),
                (
                    AggregateOp::Sum,
                    &Grouping::Without(vec!["a".into(), "b".into()])
                )
            );
        }
        assert_eq!(after.span().end, "sum(x) without (a, b)".len());
        let Expr::Aggregate(agg) = parse("count_values(\"v\", x)").unwrap() else {
            panic!("aggregate")
        };
        assert!(matches!(agg.param.as_deref(), Some(Expr::String(s)) if s.value == "v"));
        assert_eq!(parse("sum by () (x)").unwrap().to_string(), "sum(x)");
    }

    #[test]
    fn call_errors() {
        let message = |s: &str| parse(s).expect_err(s).message;
        assert_eq!(message("sum by (a) (x) by (b)"), "unexpected <by>");
        assert_eq!(message("rate(x[5m] y)"), "unexpected identifier \"y\"");
        assert_eq!(
            message("limitk(1, x, y)"),
            "wrong number of arguments for aggregate expression provided, expected 2, got 3"
        );
    }
}
