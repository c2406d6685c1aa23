//! The expression parser: a Pratt parser over the lexer's tokens.
//!
//! Precedence and associativity are those of Prometheus 3.14 `promql/parser/generated_parser.y`
//! (lowest first: `or`; `and unless`; comparisons and `</ >/`; `+ -`; `* / % atan2`; `^`, which
//! groups to the right). A leading `-`/`+` binds like `*`, so `-a ^ b` is `-(a ^ b)`, and
//! postfix modifiers (`[...]`, `offset`, `@`, `anchored`, `smoothed`) bind tighter than any
//! operator. Selectors, modifiers and duration expressions are parsed in sibling modules; the
//! finished tree is type-checked by [`super::check`]. The first error ends parsing, which
//! matches the first error Prometheus reports.

use super::ast::{
    BinaryExpr, BinaryOp, Expr, NumberLiteral, ParenExpr, Span, StringLiteral, UnaryExpr, UnaryOp,
};
use super::error::ParseError;
use super::lexer;
use super::literals;
use super::literals::go_quote;
use super::token::{Token, TokenKind};

/// Which experimental Prometheus features the parser accepts. Each is a feature flag upstream;
/// [`Default`] enables them all, as Prometheus's own test corpus does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ParseOptions {
    /// Experimental functions and aggregations (`--enable-feature=promql-experimental-functions`).
    pub experimental_functions: bool,
    /// Arithmetic, `step()`, `range()`, `min_of`/`max_of` in durations
    /// (`--enable-feature=promql-duration-expr`).
    pub duration_expressions: bool,
    /// `anchored` and `smoothed` (`--enable-feature=promql-extended-range-selectors`).
    pub extended_range_selectors: bool,
    /// `fill`, `fill_left`, `fill_right` (`--enable-feature=promql-binop-fill-modifiers`).
    pub fill_modifiers: bool,
}

impl Default for ParseOptions {
    fn default() -> Self {
        Self {
            experimental_functions: true,
            duration_expressions: true,
            extended_range_selectors: true,
            fill_modifiers: true,
        }
    }
}

impl ParseOptions {
    /// Prometheus's defaults: every experimental feature off.
    pub fn stable_only() -> Self {
        Self {
            experimental_functions: false,
            duration_expressions: false,
            extended_range_selectors: false,
            fill_modifiers: false,
        }
    }
}

/// Parses and type-checks a PromQL expression with every experimental feature enabled.
pub fn parse(input: &str) -> Result<Expr, ParseError> {
    parse_with(input, ParseOptions::default())
}

/// Parses and type-checks a PromQL expression.
pub fn parse_with(input: &str, options: ParseOptions) -> Result<Expr, ParseError> {
    let mut parser = Parser::new(input, options);
    let mut expr = parser.parse_top()?;
    super::check::check(input, &mut expr)?;
    Ok(expr)
}

pub(super) type PResult<T> = Result<T, ParseError>;

/// Cursor over the tokens, shared by the parsing modules.
pub(super) struct Parser<'a> {
    pub(super) input: &'a str,
    tokens: Vec<Token>,
    lex_error: Option<String>,
    pos: usize,
    pub(super) options: ParseOptions,
    /// Context and expectation for errors inside the duration being parsed.
    pub(super) duration_context: (&'static str, &'static str),
}

impl<'a> Parser<'a> {
    fn new(input: &'a str, options: ParseOptions) -> Self {
        let lexed = lexer::lex(input);
        Self {
            input,
            tokens: lexed.tokens,
            lex_error: lexed.error,
            pos: 0,
            options,
            duration_context: ("", ""),
        }
    }

    fn parse_top(&mut self) -> PResult<Expr> {
        if self.peek_kind() == TokenKind::Eof {
            return Err(self.error(Span::new(0, 0), "no expression found in input"));
        }
        let expr = self.parse_expr(0)?;
        if self.peek_kind() != TokenKind::Eof {
            return Err(self.unexpected("", ""));
        }
        Ok(expr)
    }

    /// The current token (the last one, `Eof` or `Error`, repeats forever).
    pub(super) fn peek(&self) -> Token {
        self.peek_at(0)
    }

    pub(super) fn peek_at(&self, ahead: usize) -> Token {
        let last = self.tokens.len().saturating_sub(1);
        self.tokens
            .get(self.pos.saturating_add(ahead).min(last))
            .copied()
            .unwrap_or(Token {
                kind: TokenKind::Eof,
                span: Span::new(self.input.len(), self.input.len()),
            })
    }

    pub(super) fn peek_kind(&self) -> TokenKind {
        self.peek().kind
    }

    pub(super) fn advance(&mut self) -> Token {
        let token = self.peek();
        if self.pos < self.tokens.len().saturating_sub(1) {
            self.pos += 1;
        }
        token
    }

    /// Consumes a token of `kind`, or fails with upstream's "unexpected X in context, expected Y".
    pub(super) fn expect(
        &mut self,
        kind: TokenKind,
        context: &str,
        expected: &str,
    ) -> PResult<Token> {
        if self.peek_kind() == kind {
            Ok(self.advance())
        } else {
            Err(self.unexpected(context, expected))
        }
    }

    pub(super) fn text(&self, token: Token) -> &'a str {
        self.input
            .get(token.span.start..token.span.end)
            .unwrap_or("")
    }

    pub(super) fn error(&self, span: Span, message: impl std::fmt::Display) -> ParseError {
        ParseError::new(self.input, span, message)
    }

    /// Upstream's `unexpected`: names the current token; a lexing error is reported as itself.
    pub(super) fn unexpected(&self, context: &str, expected: &str) -> ParseError {
        let token = self.peek();
        if token.kind == TokenKind::Error {
            let message = self
                .lex_error
                .clone()
                .unwrap_or_else(|| "unexpected error".to_owned());
            return self.error(Span::new(token.span.start, token.span.start), message);
        }
        let mut message = format!("unexpected {}", token.describe(self.input));
        if !context.is_empty() {
            message.push_str(" in ");
            message.push_str(context);
        }
        if !expected.is_empty() {
            message.push_str(", expected ");
            message.push_str(expected);
        }
        self.error(token.span, message)
    }

    /// Binary operators with precedence at least `min_precedence`, then their operands.
    pub(super) fn parse_expr(&mut self, min_precedence: u8) -> PResult<Expr> {
        let mut lhs = self.parse_unary()?;
        while let Some(op) = binary_op(self.peek_kind()) {
            let precedence = op.precedence();
            if precedence < min_precedence {
                break;
            }
            self.advance();
            let (return_bool, matching) = self.parse_binary_modifiers()?;
            let next_min = if op.is_right_associative() {
                precedence
            } else {
                precedence + 1
            };
            let rhs = self.parse_expr(next_min)?;
            let span = lhs.span().to(rhs.span());
            if let Some(m) = &matching
                && (m.fill.lhs.is_some() || m.fill.rhs.is_some())
                && !self.options.fill_modifiers
            {
                return Err(self.error(
                    span,
                    "binop fill modifiers are experimental and not enabled",
                ));
            }
            lhs = Expr::Binary(BinaryExpr {
                op,
                lhs: Box::new(lhs),
                rhs: Box::new(rhs),
                return_bool,
                matching,
                span,
            });
        }
        Ok(lhs)
    }

    /// A signed operand: the sign binds like `*`, so only `^` and postfix modifiers bind tighter.
    fn parse_unary(&mut self) -> PResult<Expr> {
        let op = match self.peek_kind() {
            TokenKind::Sub => UnaryOp::Neg,
            TokenKind::Add => UnaryOp::Pos,
            _ => {
                let primary = self.parse_primary()?;
                return self.parse_postfix(primary);
            }
        };
        let op_token = self.advance();
        let operand = self.parse_expr(BinaryOp::Pow.precedence())?;
        let span = op_token.span.to(operand.span());
        Ok(match operand {
            Expr::Number(mut n) => {
                if op == UnaryOp::Neg {
                    n.value = -n.value;
                }
                n.span = span;
                Expr::Number(n)
            }
            other => Expr::Unary(UnaryExpr {
                op,
                expr: Box::new(other),
                span,
            }),
        })
    }

    fn parse_primary(&mut self) -> PResult<Expr> {
        let token = self.peek();
        match token.kind {
            TokenKind::Number | TokenKind::Duration => {
                let literal = self.parse_number_literal()?;
                Ok(Expr::Number(literal))
            }
            TokenKind::String => {
                self.advance();
                let value = self.unquote(token)?;
                Ok(Expr::String(StringLiteral {
                    value,
                    span: token.span,
                }))
            }
            TokenKind::LeftParen => {
                self.advance();
                let inner = self.parse_expr(0)?;
                let close = self.expect(TokenKind::RightParen, "", "")?;
                Ok(Expr::Paren(ParenExpr {
                    expr: Box::new(inner),
                    span: token.span.to(close.span),
                }))
            }
            TokenKind::LeftBrace => self.parse_vector_selector(None),
            TokenKind::Aggregator(op)
                if matches!(
                    self.peek_at(1).kind,
                    TokenKind::LeftParen | TokenKind::By | TokenKind::Without
                ) =>
            {
                self.parse_aggregate(op)
            }
            TokenKind::Identifier
            | TokenKind::Start
            | TokenKind::End
            | TokenKind::Step
            | TokenKind::Range
            | TokenKind::MaxOf
            | TokenKind::MinOf
                if self.peek_at(1).kind == TokenKind::LeftParen =>
            {
                self.parse_call()
            }
            kind if is_metric_identifier(kind) => {
                let name = self.advance();
                self.parse_vector_selector(Some(name))
            }
            _ => Err(self.unexpected("", "")),
        }
    }

    /// A number or duration token as a literal (durations become seconds).
    pub(super) fn parse_number_literal(&mut self) -> PResult<NumberLiteral> {
        let token = self.advance();
        let text = self.text(token);
        let (value, duration) = if token.kind == TokenKind::Duration {
            (
                literals::duration_seconds(text).map_err(|e| self.error(token.span, e))?,
                true,
            )
        } else {
            let value = literals::number(text)
                .map_err(|e| self.error(token.span, format!("error parsing number: {e}")))?;
            (value, false)
        };
        Ok(NumberLiteral {
            value,
            duration,
            span: token.span,
        })
    }

    pub(super) fn unquote(&self, token: Token) -> PResult<String> {
        let text = self.text(token);
        literals::unquote(text).map_err(|e| {
            self.error(
                token.span,
                format!("error unquoting string {}: {e}", go_quote(text)),
            )
        })
    }
    /// The end of the last consumed token.
    pub(super) fn prev_end(&self) -> usize {
        self.pos
            .checked_sub(1)
            .and_then(|i| self.tokens.get(i))
            .map_or(0, |t| t.span.end)
    }
}

/// The binary operator a token stands for, if any.
pub(super) fn binary_op(kind: TokenKind) -> Option<BinaryOp> {
    Some(match kind {
        TokenKind::Add => BinaryOp::Add,
        TokenKind::Sub => BinaryOp::Sub,
        TokenKind::Mul => BinaryOp::Mul,
        TokenKind::Div => BinaryOp::Div,
        TokenKind::Mod => BinaryOp::Mod,
        TokenKind::Pow => BinaryOp::Pow,
        TokenKind::Atan2 => BinaryOp::Atan2,
        TokenKind::EqlC => BinaryOp::Eql,
        TokenKind::Neq => BinaryOp::Neq,
        TokenKind::Gtr => BinaryOp::Gtr,
        TokenKind::Lss => BinaryOp::Lss,
        TokenKind::Gte => BinaryOp::Gte,
        TokenKind::Lte => BinaryOp::Lte,
        TokenKind::TrimUpper => BinaryOp::TrimUpper,
        TokenKind::TrimLower => BinaryOp::TrimLower,
        TokenKind::And => BinaryOp::And,
        TokenKind::Or => BinaryOp::Or,
        TokenKind::Unless => BinaryOp::Unless,
        _ => return None,
    })
}

/// Tokens that may name a metric (upstream's `metric_identifier` rule).
fn is_metric_identifier(kind: TokenKind) -> bool {
    use TokenKind::*;
    matches!(
        kind,
        Identifier
            | MetricIdentifier
            | Aggregator(_)
            | By
            | Without
            | Fill
            | FillLeft
            | FillRight
            | And
            | Or
            | Unless
            | Offset
            | Start
            | End
            | Step
            | Range
            | Anchored
            | Smoothed
            | MaxOf
            | MinOf
    )
}
