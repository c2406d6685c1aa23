//! Modifiers: the postfix ones on selectors and subqueries (`[range]`, `[range:step]`,
//! `offset`, `@`, `anchored`, `smoothed`) and those after a binary operator (`bool`,
//! `on`/`ignoring`, `group_left`/`group_right`, `fill`/`fill_left`/`fill_right`).
//!
//! Which expressions accept which modifier, and the error texts, follow upstream's
//! `addOffset`, `setTimestamp`, `setAnchored`/`setSmoothed` and the `matrix_selector` and
//! `subquery_expr` rules (Prometheus 3.14 `promql/parser/parse.go`, `generated_parser.y`).

use super::ast::{
    AtModifier, Cardinality, DurationExpr, Expr, FillValues, MatrixSelector, RangeExtension, Span,
    SubqueryExpr, VectorMatching, VectorSelector,
};
use super::parse::{PResult, Parser};
use super::token::TokenKind;

const NOT_A_SELECTOR_OFFSET: &str = "offset modifier must be preceded by an instant vector selector or range vector selector or a subquery";
const NOT_A_SELECTOR_AT: &str = "@ modifier must be preceded by an instant vector selector or range vector selector or a subquery";

impl Parser<'_> {
    /// Applies every postfix modifier that follows `expr`.
    pub(super) fn parse_postfix(&mut self, mut expr: Expr) -> PResult<Expr> {
        loop {
            expr = match self.peek_kind() {
                TokenKind::LeftBracket => {
                    self.lengthen_chain()?;
                    self.parse_range_or_subquery(expr)?
                }
                TokenKind::Offset => {
                    self.advance();
                    let offset = self.parse_offset_duration()?;
                    self.set_offset(expr, offset)?
                }
                TokenKind::At => {
                    self.advance();
                    let at = self.parse_at()?;
                    self.set_at(expr, at)?
                }
                TokenKind::Anchored => self.set_extension(expr, RangeExtension::Anchored)?,
                TokenKind::Smoothed => self.set_extension(expr, RangeExtension::Smoothed)?,
                _ => return Ok(expr),
            };
        }
    }

    fn parse_range_or_subquery(&mut self, expr: Expr) -> PResult<Expr> {
        let open = self.advance();
        self.duration_context = (
            "subquery or range selector",
            "number, duration, step(), or range()",
        );
        if !Self::can_start_duration(self.peek_kind()) {
            return Err(self.unexpected(self.duration_context.0, self.duration_context.1));
        }
        let range = self.parse_positive_duration()?;
        match self.peek_kind() {
            TokenKind::RightBracket => {
                let close = self.advance();
                let brackets = open.span.to(close.span);
                let selector = match expr {
                    Expr::VectorSelector(vs) if vs.offset.is_some() => {
                        return Err(
                            self.error(brackets, "no offset modifiers allowed before range")
                        );
                    }
                    Expr::VectorSelector(vs) if vs.at.is_some() => {
                        return Err(self.error(brackets, "no @ modifiers allowed before range"));
                    }
                    Expr::VectorSelector(vs) => vs,
                    _ => {
                        return Err(
                            self.error(brackets, "ranges only allowed for vector selectors")
                        );
                    }
                };
                let span = selector.span.to(close.span);
                Ok(Expr::MatrixSelector(MatrixSelector {
                    selector,
                    range,
                    span,
                }))
            }
            TokenKind::Colon => {
                self.advance();
                self.duration_context = (
                    "subquery selector",
                    "number, duration, step(), range(), or \"]\"",
                );
                let step = match self.peek_kind() {
                    TokenKind::RightBracket => None,
                    kind if Self::can_start_duration(kind) => Some(self.parse_positive_duration()?),
                    _ => {
                        return Err(
                            self.unexpected(self.duration_context.0, self.duration_context.1)
                        );
                    }
                };
                let close = self.expect(TokenKind::RightBracket, "subquery selector", "\"]\"")?;
                let span = expr.span().to(close.span);
                Ok(Expr::Subquery(SubqueryExpr {
                    expr: Box::new(expr),
                    range,
                    step,
                    offset: None,
                    at: None,
                    span,
                }))
            }
            _ => Err(self.unexpected("subquery or range", "\":\" or \"]\"")),
        }
    }

    fn set_offset(&self, mut expr: Expr, offset: DurationExpr) -> PResult<Expr> {
        let end = self.prev_end();
        let slot = match &mut expr {
            Expr::VectorSelector(vs) => &mut vs.offset,
            Expr::MatrixSelector(ms) => &mut ms.selector.offset,
            Expr::Subquery(sq) => &mut sq.offset,
            _ => return Err(self.error(expr.span(), NOT_A_SELECTOR_OFFSET)),
        };
        if slot.is_some() {
            return Err(self.error(expr.span(), "offset may not be set multiple times"));
        }
        *slot = Some(offset);
        extend(&mut expr, end);
        Ok(expr)
    }

    /// The timestamp after `@`: a signed number or duration, `start()` or `end()`.
    fn parse_at(&mut self) -> PResult<AtSpec> {
        let negative = match self.peek_kind() {
            TokenKind::Sub
                if matches!(
                    self.peek_at(1).kind,
                    TokenKind::Number | TokenKind::Duration
                ) =>
            {
                self.advance();
                true
            }
            TokenKind::Add
                if matches!(
                    self.peek_at(1).kind,
                    TokenKind::Number | TokenKind::Duration
                ) =>
            {
                self.advance();
                false
            }
            _ => false,
        };
        match self.peek_kind() {
            TokenKind::Number | TokenKind::Duration => {
                let literal = self.parse_number_literal()?;
                Ok(AtSpec::Seconds(if negative {
                    -literal.value
                } else {
                    literal.value
                }))
            }
            kind @ (TokenKind::Start | TokenKind::End)
                if self.peek_at(1).kind == TokenKind::LeftParen =>
            {
                self.advance();
                self.advance();
                self.expect(TokenKind::RightParen, "@", "timestamp")?;
                Ok(AtSpec::Fixed(if kind == TokenKind::Start {
                    AtModifier::Start
                } else {
                    AtModifier::End
                }))
            }
            _ => Err(self.unexpected("@", "timestamp")),
        }
    }

    fn set_at(&self, mut expr: Expr, at: AtSpec) -> PResult<Expr> {
        let end = self.prev_end();
        let at = match at {
            AtSpec::Fixed(at) => at,
            AtSpec::Seconds(seconds) => {
                if !seconds.is_finite() || seconds >= i64::MAX as f64 || seconds <= i64::MIN as f64
                {
                    let shown = if seconds.is_nan() {
                        "NaN".to_owned()
                    } else if seconds.is_infinite() {
                        if seconds > 0.0 {
                            "+Inf".to_owned()
                        } else {
                            "-Inf".to_owned()
                        }
                    } else {
                        format!("{seconds:.6}")
                    };
                    return Err(self.error(
                        expr.span(),
                        format!("timestamp out of bounds for @ modifier: {shown}"),
                    ));
                }
                // `timestamp.FromFloatSeconds`: milliseconds, rounded; `as` saturates.
                AtModifier::Timestamp((seconds * 1000.0).round() as i64)
            }
        };
        let slot = match &mut expr {
            Expr::VectorSelector(vs) => &mut vs.at,
            Expr::MatrixSelector(ms) => &mut ms.selector.at,
            Expr::Subquery(sq) => &mut sq.at,
            _ => return Err(self.error(expr.span(), NOT_A_SELECTOR_AT)),
        };
        if slot.is_some() {
            return Err(self.error(expr.span(), "@ <timestamp> may not be set multiple times"));
        }
        *slot = Some(at);
        extend(&mut expr, end);
        Ok(expr)
    }

    fn set_extension(&mut self, mut expr: Expr, extension: RangeExtension) -> PResult<Expr> {
        let word = match extension {
            RangeExtension::Anchored => "anchored",
            RangeExtension::Smoothed => "smoothed",
        };
        self.advance();
        if !self.options.extended_range_selectors {
            return Err(self.error(
                expr.span(),
                format!("{word} modifier is experimental and not enabled"),
            ));
        }
        let end = self.prev_end();
        let selector: &mut VectorSelector = match &mut expr {
            Expr::VectorSelector(vs) => vs,
            Expr::MatrixSelector(ms) => &mut ms.selector,
            Expr::Subquery(_) => {
                return Err(self.error(
                    expr.span(),
                    format!("{word} modifier is not supported for subqueries"),
                ));
            }
            _ => return Err(self.error(expr.span(), format!("{word} modifier not implemented"))),
        };
        if selector.extension.is_some_and(|e| e != extension) {
            return Err(self.error(
                expr.span(),
                "anchored and smoothed modifiers cannot be used together",
            ));
        }
        selector.extension = Some(extension);
        extend(&mut expr, end);
        Ok(expr)
    }

    /// `bool`, `on`/`ignoring (...)`, `group_left`/`group_right [(...)]` and fill modifiers.
    pub(super) fn parse_binary_modifiers(&mut self) -> PResult<(bool, Option<VectorMatching>)> {
        let return_bool = self.peek_kind() == TokenKind::Bool;
        if return_bool {
            self.advance();
        }
        let mut matching = VectorMatching {
            card: Cardinality::OneToOne,
            on: false,
            labels: Vec::new(),
            include: Vec::new(),
            fill: FillValues::default(),
        };
        if let kind @ (TokenKind::On | TokenKind::Ignoring) = self.peek_kind() {
            self.advance();
            matching.on = kind == TokenKind::On;
            matching.labels = self.parse_grouping_labels()?;
            if let kind @ (TokenKind::GroupLeft | TokenKind::GroupRight) = self.peek_kind() {
                self.advance();
                matching.card = if kind == TokenKind::GroupLeft {
                    Cardinality::ManyToOne
                } else {
                    Cardinality::OneToMany
                };
                if self.peek_kind() == TokenKind::LeftParen {
                    matching.include = self.parse_grouping_labels()?;
                }
            }
        }
        match self.peek_kind() {
            TokenKind::Fill => {
                self.advance();
                let value = self.parse_fill_value()?;
                matching.fill = FillValues {
                    lhs: Some(value),
                    rhs: Some(value),
                };
            }
            first @ (TokenKind::FillLeft | TokenKind::FillRight) => {
                self.advance();
                let value = self.parse_fill_value()?;
                let (this, other) = if first == TokenKind::FillLeft {
                    (&mut matching.fill.lhs, TokenKind::FillRight)
                } else {
                    (&mut matching.fill.rhs, TokenKind::FillLeft)
                };
                *this = Some(value);
                if self.peek_kind() == other {
                    self.advance();
                    let value = self.parse_fill_value()?;
                    if other == TokenKind::FillLeft {
                        matching.fill.lhs = Some(value);
                    } else {
                        matching.fill.rhs = Some(value);
                    }
                }
            }
            _ => {}
        }
        Ok((return_bool, Some(matching)))
    }

    /// `( [+-] number )` after a fill keyword.
    fn parse_fill_value(&mut self) -> PResult<f64> {
        self.expect(TokenKind::LeftParen, "", "")?;
        let negative = match self.peek_kind() {
            TokenKind::Sub => {
                self.advance();
                true
            }
            TokenKind::Add => {
                self.advance();
                false
            }
            _ => false,
        };
        if !matches!(self.peek_kind(), TokenKind::Number | TokenKind::Duration) {
            return Err(self.unexpected("", ""));
        }
        let value = self.parse_number_literal()?.value;
        self.expect(TokenKind::RightParen, "", "")?;
        Ok(if negative { -value } else { value })
    }
}

/// A parsed `@` argument before it is range-checked and attached.
enum AtSpec {
    Seconds(f64),
    Fixed(AtModifier),
}

/// Stretches an expression's span to cover a modifier ending at `end`.
fn extend(expr: &mut Expr, end: usize) {
    let span = expr.span_mut();
    *span = span.to(Span::new(span.start, end));
}

#[cfg(test)]
mod tests {
    use crate::promql::parser::ast::{AtModifier, Cardinality, DurationExpr, Expr, RangeExtension};
    use crate::promql::parser::parse;

    fn message(input: &str) -> String {
        parse(input).expect_err(input).message
    }

    fn seconds(d: Option<&DurationExpr>) -> Option<f64> {
        d.and_then(DurationExpr::constant_seconds)
    }

    #[test]
    fn selector_modifiers_attach_to_the_selector() {
        let Expr::MatrixSelector(ms) = parse("x[5m] anchored @ 100 offset -1m").unwrap() else {
            panic!("matrix")
        };
        assert_eq!(ms.range.constant_seconds(), Some(300.0));
        assert_eq!(ms.selector.extension, Some(RangeExtension::Anchored));
        assert_eq!(ms.selector.at, Some(AtModifier::Timestamp(100_000)));
        assert_eq!(seconds(ms.selector.offset.as_ref()), Some(-60.0));
        let Expr::VectorSelector(vs) = parse("x offset 1h @ end() smoothed").unwrap() else {
            panic!("vector")
        };
        assert_eq!(
            (vs.at, vs.extension),
            (Some(AtModifier::End), Some(RangeExtension::Smoothed))
        );
        let Expr::VectorSelector(vs) = parse("x @ -1.5").unwrap() else {
            panic!("vector")
        };
        assert_eq!(vs.at, Some(AtModifier::Timestamp(-1500)));
    }

    #[test]
    fn subqueries() {
        let Expr::Subquery(sq) = parse("rate(x[5m])[30m:1m] @ start() offset 5m").unwrap() else {
            panic!("subquery")
        };
        assert_eq!(sq.range.constant_seconds(), Some(1800.0));
        assert_eq!(
            sq.step.as_ref().and_then(DurationExpr::constant_seconds),
            Some(60.0)
        );
        assert_eq!(sq.at, Some(AtModifier::Start));
        assert_eq!(seconds(sq.offset.as_ref()), Some(300.0));
        let Expr::Subquery(sq) = parse("x[1h:]").unwrap() else {
            panic!("subquery")
        };
        assert!(sq.step.is_none());
    }

    #[test]
    fn modifier_errors() {
        assert_eq!(message("sum(x) offset 5m"), super::NOT_A_SELECTOR_OFFSET);
        assert_eq!(message("(x) @ 1"), super::NOT_A_SELECTOR_AT);
        assert_eq!(
            message("x offset 1m offset 2m"),
            "offset may not be set multiple times"
        );
        assert_eq!(
            message("x @ 1 @ 2"),
            "@ <timestamp> may not be set multiple times"
        );
        assert_eq!(
            message("x @ Inf"),
            "timestamp out of bounds for @ modifier: +Inf"
        );
        assert_eq!(
            message("x @ foo"),
            "unexpected identifier \"foo\" in @, expected timestamp"
        );
        assert_eq!(
            message("x offset 1m [5m]"),
            "no offset modifiers allowed before range"
        );
        assert_eq!(message("x @ 1 [5m]"), "no @ modifiers allowed before range");
        assert_eq!(
            message("sum(x)[5m]"),
            "ranges only allowed for vector selectors"
        );
        assert_eq!(
            message("x[5m:1m] anchored"),
            "anchored modifier is not supported for subqueries"
        );
        assert_eq!(
            message("sum(x) smoothed"),
            "smoothed modifier not implemented"
        );
        assert_eq!(
            message("x anchored smoothed"),
            "anchored and smoothed modifiers cannot be used together"
        );
        assert_eq!(message("x[5m"), "unclosed left bracket");
        assert_eq!(message("x[5m:1m"), "unclosed left bracket");
        assert_eq!(
            message("x[5m 1m]"),
            "unexpected duration \"1m\" in subquery or range, expected \":\" or \"]\""
        );
    }

    #[test]
    fn binary_modifiers() {
        let Expr::Binary(b) = parse("a > bool on (x, \"y.z\") group_left b").unwrap() else {
            panic!("binary")
        };
        let m = b.matching.expect("vector matching");
        assert!(b.return_bool && m.on);
        assert_eq!(
            (m.card, m.labels, m.include.len()),
            (Cardinality::ManyToOne, vec!["x".into(), "y.z".into()], 0)
        );
        let Expr::Binary(b) = parse("a + fill_right(-1) fill_left(2) b").unwrap() else {
            panic!("binary")
        };
        let fill = b.matching.expect("vector matching").fill;
        assert_eq!((fill.lhs, fill.rhs), (Some(2.0), Some(-1.0)));
        let Expr::Binary(b) = parse("a - fill(0) b").unwrap() else {
            panic!("binary")
        };
        let fill = b.matching.expect("vector matching").fill;
        assert_eq!((fill.lhs, fill.rhs), (Some(0.0), Some(0.0)));
        assert_eq!(
            message("a * on x b"),
            "unexpected identifier \"x\" in grouping opts, expected \"(\""
        );
    }
}
