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
    VectorSelector,
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

/// Parses a series selector alone (`up`, `up{job="a"}`, `{"k8s.pod"="x"}`), as Prometheus's
/// `parser.ParseMetricSelector` does for the HTTP API's `match[]` (promql/parser/parse.go):
/// no operators, ranges or modifiers, and no type check, so `{job=""}` and `a{__name__="b"}`
/// parse; callers decide whether a selector selects too much.
pub fn parse_metric_selector(input: &str) -> Result<VectorSelector, ParseError> {
    Parser::new(input, ParseOptions::stable_only()).parse_metric_selector_top()
}

pub(super) type PResult<T> = Result<T, ParseError>;

/// How deeply expressions may nest through parentheses, arguments and operands (the parser
/// recurses once per level).
pub const MAX_NESTING: usize = 128;

/// How deep the tree may get, counting operator chains and stacked subqueries too (the checker,
/// the printer and an engine walk the tree recursively).
pub const MAX_TREE_DEPTH: usize = 500;

/// Cursor over the tokens, shared by the parsing modules.
pub(super) struct Parser<'a> {
    pub(super) input: &'a str,
    tokens: Vec<Token>,
    lex_error: Option<String>,
    pos: usize,
    pub(super) options: ParseOptions,
    /// Context and expectation for errors inside the duration being parsed.
    pub(super) duration_context: (&'static str, &'static str),
    /// Current recursion depth, see [`Parser::nest`].
    pub(super) depth: usize,
    /// Tree levels added by loops on the way here, see [`Parser::lengthen_chain`].
    pub(super) chain: usize,
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
            depth: 0,
            chain: 0,
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
        let outer = (self.depth, self.chain);
        self.nest()?;
        let mut lhs = self.parse_unary()?;
        while let Some(op) = self.peek_kind().binary_op() {
            let precedence = op.precedence();
            if precedence < min_precedence {
                break;
            }
            self.lengthen_chain()?;
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
        (self.depth, self.chain) = outer;
        Ok(lhs)
    }

    /// Counts one more level of recursion; fails past [`MAX_NESTING`] so that deeply nested
    /// input cannot exhaust the stack. The caller restores the count when it returns.
    pub(super) fn nest(&mut self) -> PResult<()> {
        self.depth += 1;
        self.check_depth()
    }

    /// Counts one more tree level built in a loop (an operator chain, a stacked subquery); fails
    /// past [`MAX_TREE_DEPTH`]. The enclosing [`Parser::parse_expr`] restores the count.
    pub(super) fn lengthen_chain(&mut self) -> PResult<()> {
        self.chain += 1;
        self.check_depth()
    }

    fn check_depth(&self) -> PResult<()> {
        if self.depth > MAX_NESTING || self.depth + self.chain > MAX_TREE_DEPTH {
            return Err(self.error(self.peek().span, "expression nested too deeply"));
        }
        Ok(())
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
                let (value, bytes) = match String::from_utf8(self.unquote_bytes(token)?) {
                    Ok(value) => (value, None),
                    Err(e) => {
                        let bytes = e.into_bytes();
                        (String::from_utf8_lossy(&bytes).into_owned(), Some(bytes))
                    }
                };
                Ok(Expr::String(StringLiteral {
                    value,
                    bytes,
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
            kind if kind.can_name_metric() => {
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
        literals::unquote(text).map_err(|e| self.unquote_error(token, &e))
    }

    /// A string literal's bytes, which need not be UTF-8.
    fn unquote_bytes(&self, token: Token) -> PResult<Vec<u8>> {
        let text = self.text(token);
        literals::unquote_bytes(text).map_err(|e| self.unquote_error(token, &e))
    }

    fn unquote_error(&self, token: Token, reason: &str) -> ParseError {
        let text = go_quote(self.text(token));
        self.error(
            token.span,
            format!("error unquoting string {text}: {reason}"),
        )
    }
    /// The end of the last consumed token.
    pub(super) fn prev_end(&self) -> usize {
        self.pos
            .checked_sub(1)
            .and_then(|i| self.tokens.get(i))
            .map_or(0, |t| t.span.end)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::promql::parser::ast::ValueType;

    /// The tree with every binary and unary node parenthesised, to show grouping.
    fn shape(e: &Expr) -> String {
        match e {
            Expr::Binary(b) => format!("({} {} {})", shape(&b.lhs), b.op.as_str(), shape(&b.rhs)),
            Expr::Unary(u) => format!("({}{})", u.op.as_str(), shape(&u.expr)),
            Expr::Paren(p) => format!("[{}]", shape(&p.expr)),
            other => other.to_string(),
        }
    }

    fn shape_of(input: &str) -> String {
        shape(&parse(input).unwrap_or_else(|e| panic!("{input}: {e}")))
    }

    fn error_of(input: &str) -> String {
        parse(input).expect_err(input).to_string()
    }

    #[test]
    fn precedence_and_associativity_follow_prometheus() {
        assert_eq!(shape_of("a + b * c"), "(a + (b * c))");
        assert_eq!(shape_of("a - b - c"), "((a - b) - c)");
        assert_eq!(shape_of("a ^ b ^ c"), "(a ^ (b ^ c))");
        assert_eq!(shape_of("a * b atan2 c"), "((a * b) atan2 c)");
        assert_eq!(
            shape_of("a or b and c unless d"),
            "(a or ((b and c) unless d))"
        );
        assert_eq!(shape_of("a > b + c"), "(a > (b + c))");
        assert_eq!(shape_of("a == b or c > d"), "((a == b) or (c > d))");
        assert_eq!(shape_of("h >/ 1 </ 2"), "((h >/ 1) </ 2)");
        assert_eq!(shape_of("a + b >/ c"), "((a + b) >/ c)");
    }

    #[test]
    fn unary_minus_binds_like_multiplication() {
        assert_eq!(shape_of("-a ^ b"), "(-(a ^ b))");
        assert_eq!(shape_of("-a * b"), "((-a) * b)");
        assert_eq!(shape_of("a ^ -b"), "(a ^ (-b))");
        assert_eq!(shape_of("-2 ^ 2"), "(-(2 ^ 2))");
        assert_eq!(shape_of("1 - -1"), "(1 - -1)");
        assert_eq!(shape_of("-a offset 5m"), "(-a offset 5m)");
        // A sign on a literal is folded into it, with the span covering the sign.
        let e = parse("-1.5").unwrap();
        assert!(matches!(&e, Expr::Number(n) if n.value == -1.5 && n.span == Span::new(0, 4)));
    }

    #[test]
    fn literals_parse_to_values() {
        let number = |s: &str| match parse(s).unwrap() {
            Expr::Number(n) => n.value,
            other => panic!("{s}: {other:?}"),
        };
        assert_eq!(number("12.34e6"), 12.34e6);
        assert_eq!(number("0x1F"), 31.0);
        assert_eq!(number("1_000"), 1000.0);
        assert_eq!(number("5m"), 300.0);
        assert_eq!(number("1h30m"), 5400.0);
        assert_eq!(number("+Inf"), f64::INFINITY);
        assert_eq!(number("-inf"), f64::NEG_INFINITY);
        assert!(number("NaN").is_nan());
        assert!(matches!(parse("'a\\'b'").unwrap(), Expr::String(s) if s.value == "a'b"));
        assert!(matches!(parse("`a\\n`").unwrap(), Expr::String(s) if s.value == "a\\n"));
    }

    #[test]
    fn every_node_carries_its_span() {
        let input = "sum by (job) (rate(http_requests_total{code=\"500\"}[5m] offset 1m)) / 2";
        let Expr::Binary(div) = parse(input).unwrap() else {
            panic!("not binary")
        };
        assert_eq!(div.span, Span::new(0, input.len()));
        let Expr::Aggregate(sum) = *div.lhs else {
            panic!("not aggregate")
        };
        assert_eq!(
            &input[sum.span.start..sum.span.end],
            &input[..input.len() - 4]
        );
        let Expr::Call(rate) = *sum.expr else {
            panic!("not call")
        };
        assert_eq!(
            &input[rate.span.start..rate.span.end],
            "rate(http_requests_total{code=\"500\"}[5m] offset 1m)"
        );
        let Expr::MatrixSelector(ms) = &rate.args[0] else {
            panic!("not matrix")
        };
        assert_eq!(
            &input[ms.span.start..ms.span.end],
            "http_requests_total{code=\"500\"}[5m] offset 1m"
        );
        assert_eq!(&input[div.rhs.span().start..div.rhs.span().end], "2");
    }

    #[test]
    fn value_types() {
        assert_eq!(parse("1 + 2").unwrap().value_type(), ValueType::Scalar);
        assert_eq!(
            parse("x + 2").unwrap().value_type(),
            ValueType::InstantVector
        );
        assert_eq!(parse("x[5m]").unwrap().value_type(), ValueType::RangeVector);
        assert_eq!(
            parse("x[5m:]").unwrap().value_type(),
            ValueType::RangeVector
        );
        assert_eq!(parse("\"s\"").unwrap().value_type(), ValueType::String);
        assert_eq!(parse("scalar(x)").unwrap().value_type(), ValueType::Scalar);
        assert_eq!(parse("(x)").unwrap().value_type(), ValueType::InstantVector);
    }

    #[test]
    fn keywords_are_case_insensitive_and_can_be_metric_names() {
        assert_eq!(
            parse("SUM BY (a) (x)").unwrap().to_string(),
            "sum by (a) (x)"
        );
        assert_eq!(shape_of("a AND b"), "(a and b)");
        assert!(
            matches!(parse("sum").unwrap(), Expr::VectorSelector(vs) if vs.name.as_deref() == Some("sum"))
        );
        assert!(matches!(parse("offset").unwrap(), Expr::VectorSelector(_)));
        assert_eq!(shape_of("fill + fill"), "(fill + fill)");
        assert_eq!(shape_of("a # a comment\n + b"), "(a + b)");
    }

    #[test]
    fn syntax_errors_read_like_prometheus() {
        assert_eq!(
            error_of(""),
            "1:1: parse error: no expression found in input"
        );
        assert_eq!(
            error_of("foo bar"),
            "1:5: parse error: unexpected identifier \"bar\""
        );
        assert_eq!(error_of("1 +"), "1:4: parse error: unexpected end of input");
        assert_eq!(
            error_of("(1"),
            "1:3: parse error: unclosed left parenthesis"
        );
        assert_eq!(
            error_of("(1))"),
            "1:5: parse error: unexpected right parenthesis ')'"
        );
        assert_eq!(
            error_of("sum(x) by"),
            "1:10: parse error: unexpected end of input in grouping opts, expected \"(\""
        );
        assert_eq!(
            error_of("sum by (a b) (x)"),
            "1:11: parse error: unexpected identifier \"b\" in grouping opts, expected \",\" or \")\""
        );
        assert_eq!(
            error_of("rate(x[5m],)"),
            "1:11: parse error: trailing commas not allowed in function call args"
        );
        assert_eq!(
            error_of("1 !~ 2"),
            "1:3: parse error: unexpected character after '!': '~'"
        );
        assert_eq!(
            error_of("a\n  + $"),
            "2:5: parse error: unexpected character: '$'"
        );
        assert_eq!(
            error_of("nope(x)"),
            "1:1: parse error: unknown function with name \"nope\""
        );
        assert_eq!(
            error_of("sum()"),
            "1:1: parse error: no arguments for aggregate expression provided"
        );
        assert_eq!(
            error_of("topk(x)"),
            "1:1: parse error: wrong number of arguments for aggregate expression provided, expected 2, got 1"
        );
    }
}
