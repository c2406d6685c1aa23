//! Durations in ranges, subquery steps and `offset`: literals and Prometheus 3's experimental
//! duration expressions (`[26m+4m]`, `[step()*2]`, `offset min_of(step(), 1s)`).
//!
//! Inside brackets a full expression is allowed (`+ -` below `* / %` below right-associative
//! `^`, a sign binding like `*`). After `offset` only a single term is taken (a signed literal,
//! `step()`, `range()`, `min_of`/`max_of`, or a parenthesised expression), so in
//! `m offset 1m + 2` the `+ 2` applies to the selector, as upstream's `offset_duration_expr`
//! rule resolves it. Evaluating the expressions is left to the engine
//! ([`DurationExpr::evaluate_seconds`]).

use super::ast::{BinaryOp, DurationExpr, NumberLiteral, Span, UnaryOp};
use super::parse::{PResult, Parser};
use super::token::TokenKind;

/// Largest magnitude in seconds that fits a Go `time.Duration` (int64 nanoseconds).
const MAX_DURATION_SECONDS: f64 = 9_223_372_036.854_775;

impl Parser<'_> {
    /// Whether a token can begin a duration inside brackets.
    pub(super) fn can_start_duration(kind: TokenKind) -> bool {
        matches!(
            kind,
            TokenKind::Number
                | TokenKind::Duration
                | TokenKind::Add
                | TokenKind::Sub
                | TokenKind::Step
                | TokenKind::Range
                | TokenKind::MinOf
                | TokenKind::MaxOf
                | TokenKind::LeftParen
        )
    }

    /// A range or step: a duration expression whose value, when it is a literal, is positive.
    pub(super) fn parse_positive_duration(&mut self) -> PResult<DurationExpr> {
        let expr = self.parse_duration_expr(0)?;
        if let DurationExpr::Literal(n) = &expr
            && n.value <= 0.0
        {
            return Err(self.error(n.span, "duration must be greater than 0"));
        }
        Ok(expr)
    }

    /// The duration after `offset`: one term, see the module docs.
    pub(super) fn parse_offset_duration(&mut self) -> PResult<DurationExpr> {
        self.duration_context = ("offset", "number, duration, step(), or range()");
        let sign = match self.peek_kind() {
            TokenKind::Add => Some(UnaryOp::Pos),
            TokenKind::Sub => Some(UnaryOp::Neg),
            _ => None,
        };
        let sign_token = self.peek();
        if sign.is_some() {
            self.advance();
        }
        let term = match self.peek_kind() {
            TokenKind::Number | TokenKind::Duration => {
                DurationExpr::Literal(self.parse_duration_literal()?)
            }
            TokenKind::Step | TokenKind::Range | TokenKind::MinOf | TokenKind::MaxOf => {
                self.parse_duration_primary()?
            }
            TokenKind::LeftParen if sign.is_some() => self.parse_duration_primary()?,
            TokenKind::LeftParen => return self.parse_duration_expr(0),
            _ => return Err(self.unexpected(self.duration_context.0, self.duration_context.1)),
        };
        match sign {
            Some(op) => self.apply_sign(op, sign_token.span, term),
            None => Ok(term),
        }
    }

    /// Binary duration operators with precedence at least `min_precedence`.
    fn parse_duration_expr(&mut self, min_precedence: u8) -> PResult<DurationExpr> {
        let outer = (self.depth, self.chain);
        self.nest()?;
        let mut lhs = self.parse_duration_unary()?;
        loop {
            let op = match self.peek_kind() {
                TokenKind::Add => BinaryOp::Add,
                TokenKind::Sub => BinaryOp::Sub,
                TokenKind::Mul => BinaryOp::Mul,
                TokenKind::Div => BinaryOp::Div,
                TokenKind::Mod => BinaryOp::Mod,
                TokenKind::Pow => BinaryOp::Pow,
                _ => break,
            };
            let precedence = op.precedence();
            if precedence < min_precedence {
                break;
            }
            self.lengthen_chain()?;
            let op_token = self.advance();
            let next_min = if op.is_right_associative() {
                precedence
            } else {
                precedence + 1
            };
            let rhs = self.parse_duration_expr(next_min)?;
            self.duration_feature(lhs.span())?;
            if let DurationExpr::Literal(n) = &rhs
                && n.value == 0.0
            {
                match op {
                    BinaryOp::Div => return Err(self.error(op_token.span, "division by zero")),
                    BinaryOp::Mod => return Err(self.error(op_token.span, "modulo by zero")),
                    _ => {}
                }
            }
            let span = lhs.span().to(rhs.span());
            lhs = DurationExpr::Binary {
                op,
                lhs: Box::new(lhs),
                rhs: Box::new(rhs),
                span,
            };
        }
        (self.depth, self.chain) = outer;
        Ok(lhs)
    }

    fn parse_duration_unary(&mut self) -> PResult<DurationExpr> {
        let op = match self.peek_kind() {
            TokenKind::Add => UnaryOp::Pos,
            TokenKind::Sub => UnaryOp::Neg,
            _ => return self.parse_duration_primary(),
        };
        let op_token = self.advance();
        let operand = self.parse_duration_expr(BinaryOp::Pow.precedence())?;
        self.apply_sign(op, op_token.span, operand)
    }

    /// Folds a sign into a literal, wraps anything else in a negation (`+` is dropped).
    fn apply_sign(
        &self,
        op: UnaryOp,
        op_span: Span,
        operand: DurationExpr,
    ) -> PResult<DurationExpr> {
        let span = op_span.to(operand.span());
        match operand {
            DurationExpr::Literal(mut n) => {
                if op == UnaryOp::Neg {
                    n.value = -n.value;
                }
                if n.value.abs() > MAX_DURATION_SECONDS {
                    return Err(self.error(op_span, "duration out of range"));
                }
                n.span = span;
                Ok(DurationExpr::Literal(n))
            }
            other if op == UnaryOp::Neg => Ok(DurationExpr::Unary {
                op,
                expr: Box::new(other),
                span,
            }),
            other => Ok(other),
        }
    }

    fn parse_duration_primary(&mut self) -> PResult<DurationExpr> {
        let token = self.peek();
        match token.kind {
            TokenKind::Number | TokenKind::Duration => {
                Ok(DurationExpr::Literal(self.parse_duration_literal()?))
            }
            TokenKind::Step | TokenKind::Range => {
                self.advance();
                self.expect(
                    TokenKind::LeftParen,
                    self.duration_context.0,
                    self.duration_context.1,
                )?;
                let close = self.expect(TokenKind::RightParen, "", "")?;
                let span = token.span.to(close.span);
                self.duration_feature(span)?;
                Ok(if token.kind == TokenKind::Step {
                    DurationExpr::Step(span)
                } else {
                    DurationExpr::Range(span)
                })
            }
            TokenKind::MinOf | TokenKind::MaxOf => {
                self.advance();
                self.expect(
                    TokenKind::LeftParen,
                    self.duration_context.0,
                    self.duration_context.1,
                )?;
                let lhs = self.parse_duration_expr(0)?;
                self.expect(TokenKind::Comma, "", "")?;
                let rhs = self.parse_duration_expr(0)?;
                let close = self.expect(TokenKind::RightParen, "", "")?;
                let span = token.span.to(close.span);
                self.duration_feature(span)?;
                let max = token.kind == TokenKind::MaxOf;
                Ok(DurationExpr::Extremum {
                    max,
                    lhs: Box::new(lhs),
                    rhs: Box::new(rhs),
                    span,
                })
            }
            TokenKind::LeftParen => {
                self.advance();
                let inner = self.parse_duration_expr(0)?;
                let close = self.expect(TokenKind::RightParen, "", "")?;
                let span = token.span.to(close.span);
                self.duration_feature(span)?;
                Ok(DurationExpr::Paren {
                    expr: Box::new(inner),
                    span,
                })
            }
            _ => Err(self.unexpected(self.duration_context.0, self.duration_context.1)),
        }
    }

    /// A number or duration, rejected when it does not fit a Go `time.Duration`.
    fn parse_duration_literal(&mut self) -> PResult<NumberLiteral> {
        let literal = self.parse_number_literal()?;
        if literal.value.abs() > MAX_DURATION_SECONDS {
            return Err(self.error(literal.span, "duration out of range"));
        }
        Ok(literal)
    }

    fn duration_feature(&self, span: Span) -> PResult<()> {
        if self.options.duration_expressions {
            Ok(())
        } else {
            Err(self.error(span, "experimental duration expression is not enabled"))
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::promql::parser::ast::{DurationExpr, Expr};
    use crate::promql::parser::parse;

    fn range_of(input: &str) -> DurationExpr {
        match parse(input).unwrap_or_else(|e| panic!("{input}: {e}")) {
            Expr::MatrixSelector(ms) => ms.range,
            Expr::Call(c) => match c.args.into_iter().next() {
                Some(Expr::MatrixSelector(ms)) => ms.range,
                other => panic!("{other:?}"),
            },
            other => panic!("{other:?}"),
        }
    }

    fn offset_of(input: &str) -> (DurationExpr, String) {
        let expr = parse(input).unwrap_or_else(|e| panic!("{input}: {e}"));
        let printed = expr.to_string();
        let mut e = expr;
        loop {
            e = match e {
                Expr::VectorSelector(vs) => return (vs.offset.expect("offset"), printed),
                Expr::Binary(b) => *b.lhs,
                other => panic!("{other:?}"),
            }
        }
    }

    #[test]
    fn arithmetic_in_ranges() {
        assert_eq!(range_of("x[26m+4m]").constant_seconds(), Some(1800.0));
        assert_eq!(range_of("x[2m*(10+5)]").constant_seconds(), Some(1800.0));
        assert_eq!(range_of("x[1h30m % 1h]").constant_seconds(), Some(1800.0));
        assert_eq!(range_of("x[-5m+35m]").constant_seconds(), Some(1800.0));
        assert_eq!(range_of("x[2^2*1m]").constant_seconds(), Some(240.0));
        assert_eq!(
            range_of("x[max_of(1m, 2m)]").constant_seconds(),
            Some(120.0)
        );
        let step = range_of("x[1+(STep()-5)*2]");
        assert_eq!(step.constant_seconds(), None);
        assert_eq!(step.evaluate_seconds(10.0, 0.0), 11.0);
        assert_eq!(
            range_of("x[min_of(range(), 1h)]").evaluate_seconds(0.0, 600.0),
            600.0
        );
    }

    #[test]
    fn offset_takes_one_term() {
        let (d, printed) = offset_of("m offset 100 + 2");
        assert_eq!(
            (d.constant_seconds(), printed.as_str()),
            (Some(100.0), "m offset 1m40s + 2")
        );
        let (d, _) = offset_of("m offset (100 + 2)");
        assert_eq!(d.constant_seconds(), Some(102.0));
        let (d, _) = offset_of("m offset -2 ^ 2");
        assert_eq!(d.constant_seconds(), Some(-2.0));
        let (d, printed) = offset_of("m offset -step()*2");
        assert_eq!(
            (d.evaluate_seconds(5.0, 0.0), printed.as_str()),
            (-5.0, "m offset -step() * 2")
        );
        let (d, _) = offset_of("m offset -(min_of(step(), 2s)-5)+8000");
        assert_eq!(d.evaluate_seconds(5.0, 0.0), 3.0);
    }

    #[test]
    fn duration_errors() {
        let message = |s: &str| parse(s).expect_err(s).message;
        assert_eq!(message("x[0s]"), "duration must be greater than 0");
        // Only a literal is checked here; a negative computed range is the engine's to reject.
        assert!(parse("x[5m-10m:1m]").is_ok());
        assert_eq!(message("x[1m/0]"), "division by zero");
        assert_eq!(message("x[1m%0]"), "modulo by zero");
        assert_eq!(message("x offset 9.5e10"), "duration out of range");
        assert_eq!(message("x[5m1h]"), "not a valid duration string: \"5m1h\"");
        assert_eq!(
            message("x[step]"),
            "unexpected \"]\" in subquery or range selector, expected number, duration, step(), or range()"
        );
        assert_eq!(
            message("x offset"),
            "unexpected end of input in offset, expected number, duration, step(), or range()"
        );
        assert_eq!(
            message("x[foo]"),
            "unexpected character in duration expression: 'f'"
        );
    }
}
