//! Splits PromQL text into tokens with byte spans.
//!
//! Mirrors Prometheus 3.14 `promql/parser/lex.go`: the token kinds, which characters may start
//! and continue numbers, durations and identifiers, case-insensitive keywords, and the three
//! contexts that change the rules (inside `{...}` every word is a label name; inside `[...]` only
//! duration expressions are allowed; elsewhere words may be keywords). Comments (`#` to the end
//! of the line) are skipped. A lexing error ends the token list with [`TokenKind::Error`]; the
//! parser reports it when it reaches that token, so earlier syntax errors win, as upstream.
//! The lexer knows nothing of the grammar beyond bracket nesting.

use super::ast::Span;
use super::token::{Token, TokenKind, keyword};

/// The tokens of an input, ending with [`TokenKind::Eof`] or [`TokenKind::Error`].
#[derive(Debug, Clone)]
pub struct Lexed {
    /// The tokens; never empty.
    pub tokens: Vec<Token>,
    /// The message of the final [`TokenKind::Error`] token, if lexing failed.
    pub error: Option<String>,
}

/// Splits `input` into tokens.
pub fn lex(input: &str) -> Lexed {
    let mut lexer = Lexer {
        input,
        bytes: input.as_bytes(),
        pos: 0,
        tokens: Vec::new(),
        paren_depth: 0,
        brace_open: false,
        bracket_open: false,
        bracket_statements: false,
        got_colon: false,
        got_duration: false,
    };
    let error = lexer.run().err();
    if error.is_none() && lexer.tokens.last().is_none_or(|t| t.kind != TokenKind::Eof) {
        lexer.tokens.push(Token {
            kind: TokenKind::Eof,
            span: Span::new(input.len(), input.len()),
        });
    }
    Lexed {
        tokens: lexer.tokens,
        error,
    }
}

pub(super) struct Lexer<'a> {
    pub(super) input: &'a str,
    pub(super) bytes: &'a [u8],
    pub(super) pos: usize,
    pub(super) tokens: Vec<Token>,
    pub(super) paren_depth: i64,
    pub(super) brace_open: bool,
    pub(super) bracket_open: bool,
    /// Inside brackets after the first number: upstream lexes the rest with its statement rules.
    pub(super) bracket_statements: bool,
    pub(super) got_colon: bool,
    pub(super) got_duration: bool,
}

/// A lexing error message; the error token already sits in the list.
pub(super) type LexResult = Result<(), String>;

impl Lexer<'_> {
    fn run(&mut self) -> LexResult {
        loop {
            self.skip_space_and_comments();
            let start = self.pos;
            if start >= self.bytes.len() {
                return self.at_eof(start);
            }
            if self.brace_open {
                self.lex_inside_braces(start)?;
            } else if self.bracket_open && !self.bracket_statements {
                self.lex_duration_expr(start)?;
            } else {
                self.lex_statement(start)?;
            }
        }
    }

    fn at_eof(&mut self, start: usize) -> LexResult {
        let message = if self.brace_open {
            "unexpected end of input inside braces"
        } else if self.bracket_open && !self.bracket_statements {
            "unexpected end of input in duration expression"
        } else if self.paren_depth != 0 {
            "unclosed left parenthesis"
        } else if self.bracket_open {
            "unclosed left bracket"
        } else {
            self.tokens.push(Token {
                kind: TokenKind::Eof,
                span: Span::new(start, start),
            });
            return Ok(());
        };
        self.fail(start, message.to_owned())
    }

    pub(super) fn fail(&mut self, start: usize, message: String) -> LexResult {
        self.tokens.push(Token {
            kind: TokenKind::Error,
            span: Span::new(start, self.input.len()),
        });
        Err(message)
    }

    pub(super) fn emit(&mut self, kind: TokenKind, start: usize) {
        self.tokens.push(Token {
            kind,
            span: Span::new(start, self.pos),
        });
    }

    pub(super) fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    pub(super) fn char_at(&self, pos: usize) -> char {
        self.input
            .get(pos..)
            .and_then(|s| s.chars().next())
            .unwrap_or('\u{FFFD}')
    }

    pub(super) fn accept(&mut self, valid: &[u8]) -> bool {
        match self.peek() {
            Some(b) if valid.contains(&b) => {
                self.pos += 1;
                true
            }
            _ => false,
        }
    }

    fn skip_space_and_comments(&mut self) {
        while let Some(b) = self.peek() {
            if is_space(b) {
                self.pos += 1;
            } else if b == b'#' {
                while self.peek().is_some_and(|b| b != b'\n' && b != b'\r') {
                    self.pos += 1;
                }
            } else {
                break;
            }
        }
    }

    /// One token outside braces and brackets (`lexStatements`).
    fn lex_statement(&mut self, start: usize) -> LexResult {
        let b = self.bytes[start];
        self.pos += 1;
        let next = self.peek();
        let kind = match b {
            b',' => TokenKind::Comma,
            b'*' => TokenKind::Mul,
            b'/' => TokenKind::Div,
            b'%' => TokenKind::Mod,
            b'+' => TokenKind::Add,
            b'-' => TokenKind::Sub,
            b'^' => TokenKind::Pow,
            b'@' => TokenKind::At,
            b'=' if next == Some(b'=') => self.take(TokenKind::EqlC),
            b'=' if next == Some(b'~') => {
                return self.fail(start, "unexpected character after '=': '~'".to_owned());
            }
            b'=' => TokenKind::Eql,
            b'!' if next == Some(b'=') => self.take(TokenKind::Neq),
            b'!' => {
                let c = self.char_at(self.pos);
                return self.fail(start, format!("unexpected character after '!': {c:?}"));
            }
            b'<' if next == Some(b'=') => self.take(TokenKind::Lte),
            b'<' if next == Some(b'/') => self.take(TokenKind::TrimUpper),
            b'<' => TokenKind::Lss,
            b'>' if next == Some(b'=') => self.take(TokenKind::Gte),
            b'>' if next == Some(b'/') => self.take(TokenKind::TrimLower),
            b'>' => TokenKind::Gtr,
            b'0'..=b'9' => return self.lex_number_or_duration(start),
            b'.' if next.is_some_and(|n| n.is_ascii_digit()) => {
                return self.lex_number_or_duration(start);
            }
            b'"' | b'\'' | b'`' => return self.lex_string(start, b),
            b':' if self.bracket_open => {
                if self.got_colon {
                    return self.fail(start, "unexpected colon ':'".to_owned());
                }
                self.got_colon = true;
                TokenKind::Colon
            }
            b if is_alpha(b) && self.bracket_open => {
                return self.lex_duration_keyword(start, "expected ':'");
            }
            b if is_alpha(b) || b == b':' => return self.lex_keyword_or_identifier(start),
            b'(' => {
                self.paren_depth += 1;
                TokenKind::LeftParen
            }
            b')' => {
                self.paren_depth -= 1;
                if self.paren_depth < 0 {
                    // Upstream's lexer overwrites the `)` item with the error, positioned after it.
                    return self.fail(self.pos, "unexpected right parenthesis ')'".to_owned());
                }
                TokenKind::RightParen
            }
            b'{' => {
                self.brace_open = true;
                TokenKind::LeftBrace
            }
            b'[' if self.bracket_open => {
                return self.fail(start, "unexpected left bracket '['".to_owned());
            }
            b'[' => {
                self.got_colon = false;
                self.bracket_open = true;
                self.bracket_statements = false;
                TokenKind::LeftBracket
            }
            b']' if self.bracket_open => {
                self.bracket_open = false;
                self.bracket_statements = false;
                TokenKind::RightBracket
            }
            b']' => return self.fail(start, "unexpected right bracket ']'".to_owned()),
            _ => {
                let c = self.char_at(start);
                return self.fail(start, format!("unexpected character: {c:?}"));
            }
        };
        self.emit(kind, start);
        Ok(())
    }

    /// Consumes the second byte of a two-byte operator.
    fn take(&mut self, kind: TokenKind) -> TokenKind {
        self.pos += 1;
        kind
    }

    /// One token inside `{...}` (`lexInsideBraces`).
    fn lex_inside_braces(&mut self, start: usize) -> LexResult {
        let b = self.bytes[start];
        self.pos += 1;
        let kind = match b {
            b if is_alpha(b) => {
                while self.peek().is_some_and(is_alphanumeric) {
                    self.pos += 1;
                }
                TokenKind::Identifier
            }
            b',' => TokenKind::Comma,
            b'"' | b'\'' | b'`' => return self.lex_string(start, b),
            b'=' if self.peek() == Some(b'~') => self.take(TokenKind::EqlRegex),
            b'=' => TokenKind::Eql,
            b'!' if self.peek() == Some(b'~') => self.take(TokenKind::NeqRegex),
            b'!' if self.peek() == Some(b'=') => self.take(TokenKind::Neq),
            b'!' => {
                let c = self.char_at(self.pos);
                return self.fail(
                    start,
                    format!("unexpected character after '!' inside braces: {c:?}"),
                );
            }
            b'{' => return self.fail(start, "unexpected left brace '{'".to_owned()),
            b'}' => {
                self.brace_open = false;
                TokenKind::RightBrace
            }
            _ => {
                let c = self.char_at(start);
                return self.fail(start, format!("unexpected character inside braces: {c:?}"));
            }
        };
        self.emit(kind, start);
        Ok(())
    }

    /// One token inside `[...]` (`lexDurationExpr`).
    fn lex_duration_expr(&mut self, start: usize) -> LexResult {
        let b = self.bytes[start];
        self.pos += 1;
        let kind = match b {
            b']' => {
                self.bracket_open = false;
                self.bracket_statements = false;
                self.got_colon = false;
                TokenKind::RightBracket
            }
            b':' => {
                if !self.got_duration {
                    return self.fail(
                        start,
                        "unexpected colon before duration in duration expression".to_owned(),
                    );
                }
                if self.got_colon {
                    return self.fail(
                        start,
                        "unexpected repeated colon in duration expression".to_owned(),
                    );
                }
                self.got_colon = true;
                TokenKind::Colon
            }
            b'(' => {
                self.paren_depth += 1;
                TokenKind::LeftParen
            }
            b')' => {
                self.paren_depth -= 1;
                if self.paren_depth < 0 {
                    // Upstream's lexer overwrites the `)` item with the error, positioned after it.
                    return self.fail(self.pos, "unexpected right parenthesis ')'".to_owned());
                }
                TokenKind::RightParen
            }
            b'+' => TokenKind::Add,
            b'-' => TokenKind::Sub,
            b'*' => TokenKind::Mul,
            b'/' => TokenKind::Div,
            b'%' => TokenKind::Mod,
            b'^' => TokenKind::Pow,
            b',' => TokenKind::Comma,
            b'[' => return self.fail(start, "unexpected left bracket '['".to_owned()),
            b'0'..=b'9' => {
                self.got_duration = true;
                self.bracket_statements = true;
                return self.lex_number_or_duration(start);
            }
            b'.' if self.peek().is_some_and(|n| n.is_ascii_digit()) => {
                self.got_duration = true;
                self.bracket_statements = true;
                return self.lex_number_or_duration(start);
            }
            b if is_alpha(b) => return self.lex_duration_keyword(start, ""),
            _ => {
                let c = self.char_at(start);
                return self.fail(
                    start,
                    format!("unexpected character in duration expression: {c:?}"),
                );
            }
        };
        self.emit(kind, start);
        Ok(())
    }

    /// `step`, `range`, `min_of`, `max_of` inside brackets (upstream's `scanDurationKeyword`);
    /// any other word is an error, worded per lexer state as upstream does.
    fn lex_duration_keyword(&mut self, start: usize, expected: &str) -> LexResult {
        while self.peek().is_some_and(is_alpha) {
            self.pos += 1;
        }
        let kind = match self.input[start..self.pos].to_ascii_lowercase().as_str() {
            "step" => TokenKind::Step,
            "range" => TokenKind::Range,
            "max_of" => TokenKind::MaxOf,
            "min_of" => TokenKind::MinOf,
            _ => {
                let c = self.char_at(start);
                let message = if expected.is_empty() {
                    format!("unexpected character in duration expression: {c:?}")
                } else {
                    format!("unexpected character: {c:?}, {expected}")
                };
                return self.fail(start, message);
            }
        };
        self.emit(kind, start);
        Ok(())
    }

    fn lex_keyword_or_identifier(&mut self, start: usize) -> LexResult {
        while self.peek().is_some_and(|b| is_alphanumeric(b) || b == b':') {
            self.pos += 1;
        }
        let word = &self.input[start..self.pos];
        let kind = match keyword(&word.to_ascii_lowercase()) {
            Some(TokenKind::Fill | TokenKind::FillLeft | TokenKind::FillRight)
                if !self.followed_by_paren() =>
            {
                TokenKind::Identifier
            }
            Some(kind) => kind,
            None if word.contains(':') => TokenKind::MetricIdentifier,
            None => TokenKind::Identifier,
        };
        self.emit(kind, start);
        Ok(())
    }

    fn followed_by_paren(&self) -> bool {
        self.bytes[self.pos..].iter().find(|b| !is_space(**b)) == Some(&b'(')
    }
}

fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r')
}

fn is_alpha(b: u8) -> bool {
    b == b'_' || b.is_ascii_alphabetic()
}

pub(super) fn is_alphanumeric(b: u8) -> bool {
    is_alpha(b) || b.is_ascii_digit()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::promql::parser::ast::AggregateOp;

    fn kinds(input: &str) -> Vec<TokenKind> {
        lex(input).tokens.iter().map(|t| t.kind).collect()
    }

    fn texts(input: &str) -> Vec<&str> {
        lex(input)
            .tokens
            .iter()
            .map(|t| &input[t.span.start..t.span.end])
            .collect()
    }

    #[test]
    fn tokens_have_byte_spans() {
        let input = "sum by (job) (rate(a:b{c=~\"é\"}[5m]))";
        assert_eq!(
            texts(input),
            [
                "sum", "by", "(", "job", ")", "(", "rate", "(", "a:b", "{", "c", "=~", "\"é\"",
                "}", "[", "5m", "]", ")", ")", ""
            ]
        );
        use TokenKind::*;
        assert_eq!(
            kinds("a:b == 1.5e3 </ -Inf >/ 0x1f != `r`"),
            [
                MetricIdentifier,
                EqlC,
                Number,
                TrimUpper,
                Sub,
                Number,
                TrimLower,
                Number,
                Neq,
                String,
                Eof
            ]
        );
    }

    #[test]
    fn keywords_ignore_case_and_fill_needs_a_parenthesis() {
        use TokenKind::*;
        assert_eq!(
            kinds("SUM By offset BOOL"),
            [Aggregator(AggregateOp::Sum), By, Offset, Bool, Eof]
        );
        assert_eq!(
            kinds("fill fill (1)"),
            [Identifier, Fill, LeftParen, Number, RightParen, Eof]
        );
        assert_eq!(kinds("nan INF"), [Number, Number, Eof]);
        // Inside braces every word is a label name.
        assert_eq!(
            kinds("{by=\"x\"}"),
            [LeftBrace, Identifier, Eql, String, RightBrace, Eof]
        );
    }

    #[test]
    fn brackets_hold_duration_expressions() {
        use TokenKind::*;
        assert_eq!(
            kinds("x[step()*2:1m]"),
            [
                Identifier,
                LeftBracket,
                Step,
                LeftParen,
                RightParen,
                Mul,
                Number,
                Colon,
                Duration,
                RightBracket,
                Eof
            ]
        );
        assert_eq!(
            kinds("x[1h30m]"),
            [Identifier, LeftBracket, Duration, RightBracket, Eof]
        );
        assert_eq!(texts("x[1y2w]")[2], "1y2w");
    }

    #[test]
    fn comments_and_space_are_skipped() {
        assert_eq!(texts("a # note\n+\tb"), ["a", "+", "b", ""]);
    }

    #[test]
    fn errors_end_the_token_list() {
        let cases = [
            ("2.5.", "bad number or duration syntax: \"2.5.\""),
            ("0x1e", "bad number or duration syntax: \"0x1e\""),
            ("x[5mm]", "bad number or duration syntax: \"5mm\""),
            ("\"abc", "unterminated quoted string"),
            ("`abc", "unterminated raw string"),
            (
                "\"\\xZ1\"",
                "illegal character U+005A 'Z' in escape sequence",
            ),
            (
                "\"\\uD800\"",
                "escape sequence is an invalid Unicode code point",
            ),
            ("x[5m", "unclosed left bracket"),
            ("x[", "unexpected end of input in duration expression"),
            ("x[[", "unexpected left bracket '['"),
            ("]", "unexpected right bracket ']'"),
            (
                "x[:5m]",
                "unexpected colon before duration in duration expression",
            ),
            ("x[5m::]", "unexpected colon ':'"),
            ("x[5s x 5s]", "unexpected character: 'x', expected ':'"),
            ("a =~ b", "unexpected character after '=': '~'"),
            (
                "x{a!b}",
                "unexpected character after '!' inside braces: 'b'",
            ),
            ("x{{", "unexpected left brace '{'"),
        ];
        for (input, message) in cases {
            let lexed = lex(input);
            assert_eq!(
                lexed.tokens.last().map(|t| t.kind),
                Some(TokenKind::Error),
                "{input}"
            );
            assert_eq!(lexed.error.as_deref(), Some(message), "{input}");
        }
    }
}
