//! Splits PromQL text into tokens with byte spans.
//!
//! Mirrors Prometheus 3.14 `promql/parser/lex.go`: the token kinds, which characters may start
//! and continue numbers, durations and identifiers, case-insensitive keywords, and the three
//! contexts that change the rules (inside `{...}` every word is a label name; inside `[...]` only
//! duration expressions are allowed; elsewhere words may be keywords). Comments (`#` to the end
//! of the line) are skipped. A lexing error ends the token list with [`TokenKind::Error`]; the
//! parser reports it when it reaches that token, so earlier syntax errors win, as upstream.
//! The lexer knows nothing of the grammar beyond bracket nesting.

use super::ast::{AggregateOp, Span};

/// What a token is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(missing_docs)] // Punctuation and operators are named after their upstream item types.
pub enum TokenKind {
    /// A number, including `Inf` and `NaN` in any case.
    Number,
    /// A duration such as `1h30m`.
    Duration,
    /// A quoted string, quotes included.
    String,
    /// A name without `:`.
    Identifier,
    /// A name containing `:` (only valid as a metric name).
    MetricIdentifier,
    LeftParen,
    RightParen,
    LeftBrace,
    RightBrace,
    LeftBracket,
    RightBracket,
    Comma,
    Colon,
    /// `=` (a matcher; `==` is [`TokenKind::EqlC`]).
    Eql,
    Add,
    Sub,
    Mul,
    Div,
    Mod,
    Pow,
    EqlC,
    Neq,
    Lss,
    Lte,
    Gtr,
    Gte,
    TrimUpper,
    TrimLower,
    EqlRegex,
    NeqRegex,
    At,
    And,
    Or,
    Unless,
    Atan2,
    /// `sum`, `topk`, ...
    Aggregator(AggregateOp),
    Bool,
    By,
    Without,
    On,
    Ignoring,
    GroupLeft,
    GroupRight,
    Fill,
    FillLeft,
    FillRight,
    Offset,
    Smoothed,
    Anchored,
    Start,
    End,
    Step,
    Range,
    MaxOf,
    MinOf,
    /// End of input.
    Eof,
    /// A lexing error; the message is in [`Lexed::error`].
    Error,
}

impl TokenKind {
    /// Keywords as upstream's `IsKeyword` sees them (printed as `<by>` in errors).
    fn is_keyword(self) -> bool {
        use TokenKind::*;
        matches!(
            self,
            Bool | By | Without | On | Ignoring | GroupLeft | GroupRight | Fill | FillLeft | FillRight | Offset
                | Smoothed | Anchored
        )
    }

    /// Operators as upstream's `IsOperator` sees them (printed as `<op:+>` in errors).
    fn is_operator(self) -> bool {
        use TokenKind::*;
        matches!(
            self,
            Add | Sub | Mul | Div | Mod | Pow | EqlC | Neq | Lss | Lte | Gtr | Gte | TrimUpper | TrimLower
                | EqlRegex | NeqRegex | At | And | Or | Unless | Atan2
        )
    }
}

/// A token: its kind and where it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Token {
    /// The kind.
    pub kind: TokenKind,
    /// The bytes it covers.
    pub span: Span,
}

impl Token {
    /// How an error message names this token (upstream's `Item.desc`), e.g. `<by>`,
    /// `identifier "foo"`, `"("`, `end of input`.
    pub fn describe(&self, input: &str) -> String {
        let text = input.get(self.span.start..self.span.end).unwrap_or("");
        let kind = self.kind;
        match kind {
            TokenKind::Eof => "end of input".to_owned(),
            TokenKind::Error => "error".to_owned(),
            TokenKind::Identifier => format!("identifier {}", go_quote(text)),
            TokenKind::MetricIdentifier => format!("metric identifier {}", go_quote(text)),
            TokenKind::Number => format!("number {}", quote_short(text)),
            TokenKind::Duration => format!("duration {}", quote_short(text)),
            TokenKind::String => format!("string {}", quote_short(text)),
            TokenKind::Aggregator(_) => format!("<aggr:{text}>"),
            _ if kind.is_keyword() => format!("<{text}>"),
            _ if kind.is_operator() => format!("<op:{text}>"),
            _ => quote_short(text),
        }
    }
}

/// Quotes like Go's `%q`, keeping at most 10 characters (`%.10q...`) as upstream does.
fn quote_short(text: &str) -> String {
    if text.chars().count() > 10 {
        let head: String = text.chars().take(10).collect();
        format!("{}...", go_quote(&head))
    } else {
        go_quote(text)
    }
}

/// A double-quoted string with escapes, close to Go's `strconv.Quote`.
pub(crate) fn go_quote(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

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
        lexer.tokens.push(Token { kind: TokenKind::Eof, span: Span::new(input.len(), input.len()) });
    }
    Lexed { tokens: lexer.tokens, error }
}

struct Lexer<'a> {
    input: &'a str,
    bytes: &'a [u8],
    pos: usize,
    tokens: Vec<Token>,
    paren_depth: i64,
    brace_open: bool,
    bracket_open: bool,
    /// Inside brackets after the first number: upstream lexes the rest with its statement rules.
    bracket_statements: bool,
    got_colon: bool,
    got_duration: bool,
}

/// A lexing error message; the error token already sits in the list.
type LexResult = Result<(), String>;

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
            self.tokens.push(Token { kind: TokenKind::Eof, span: Span::new(start, start) });
            return Ok(());
        };
        self.fail(start, message.to_owned())
    }

    fn fail(&mut self, start: usize, message: String) -> LexResult {
        self.tokens.push(Token { kind: TokenKind::Error, span: Span::new(start, self.input.len()) });
        Err(message)
    }

    fn emit(&mut self, kind: TokenKind, start: usize) {
        self.tokens.push(Token { kind, span: Span::new(start, self.pos) });
    }

    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    fn char_at(&self, pos: usize) -> char {
        self.input.get(pos..).and_then(|s| s.chars().next()).unwrap_or('\u{FFFD}')
    }

    fn accept(&mut self, valid: &[u8]) -> bool {
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
            b'.' if next.is_some_and(|n| n.is_ascii_digit()) => return self.lex_number_or_duration(start),
            b'"' | b'\'' | b'`' => return self.lex_string(start, b),
            b':' if self.bracket_open => {
                if self.got_colon {
                    return self.fail(start, "unexpected colon ':'".to_owned());
                }
                self.got_colon = true;
                TokenKind::Colon
            }
            b if is_alpha(b) && self.bracket_open => return self.lex_duration_keyword(start, "expected ':'"),
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
            b'[' if self.bracket_open => return self.fail(start, "unexpected left bracket '['".to_owned()),
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
                return self.fail(start, format!("unexpected character after '!' inside braces: {c:?}"));
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
                    return self.fail(start, "unexpected colon before duration in duration expression".to_owned());
                }
                if self.got_colon {
                    return self.fail(start, "unexpected repeated colon in duration expression".to_owned());
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
                return self.fail(start, format!("unexpected character in duration expression: {c:?}"));
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
            Some(TokenKind::Fill | TokenKind::FillLeft | TokenKind::FillRight) if !self.followed_by_paren() => {
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

    fn lex_number_or_duration(&mut self, start: usize) -> LexResult {
        self.pos = start;
        if self.scan_number() {
            self.emit(TokenKind::Number, start);
            return Ok(());
        }
        if self.accept_remaining_duration() {
            self.emit(TokenKind::Duration, start);
            return Ok(());
        }
        let text = go_quote(self.input.get(start..self.pos).unwrap_or(""));
        self.fail(start, format!("bad number or duration syntax: {text}"))
    }

    /// Upstream's `acceptRemainingDuration`: units after the leading digits.
    fn accept_remaining_duration(&mut self) -> bool {
        if !self.accept(b"smhdwy") {
            return false;
        }
        self.accept(b"s");
        while self.accept(b"0123456789") {
            while self.accept(b"0123456789") {}
            if !self.accept(b"smhdw") {
                return false;
            }
            self.accept(b"s");
        }
        match self.peek() {
            Some(b) if is_alphanumeric(b) => {
                self.pos += 1;
                false
            }
            _ => true,
        }
    }

    /// Upstream's `scanNumber`: decimal, hex, exponent and `_` separators; the text is validated
    /// again when its value is taken.
    fn scan_number(&mut self) -> bool {
        let initial = self.pos;
        let mut digits: &[u8] = b"0123456789";
        if self.accept(b"0") && self.accept(b"xX") {
            self.accept(b"_");
            digits = b"0123456789abcdefABCDEF";
        }
        let is = |this: &Self, set: &[u8]| this.peek().is_some_and(|b| set.contains(&b));
        self.accept(b".");
        self.accept(digits);
        let hex = digits.len() > 10;
        let (mut dot, mut exponent) = (false, false);
        while is(self, digits) || is(self, b"._eE") {
            if (is(self, b".") && dot) || (is(self, b"eE") && exponent) {
                self.pos += 1;
                return false;
            }
            if self.accept(b".") {
                dot = true;
                if self.accept(b"_.") || hex {
                    return false;
                }
                continue;
            }
            if self.accept(b"eE") {
                exponent = true;
                self.accept(b"+-");
                if self.accept(b"._eE") || self.peek().is_none() {
                    return false;
                }
                continue;
            }
            if self.accept(b"_") {
                if self.accept(b"._eE") || self.peek().is_none() {
                    return false;
                }
                continue;
            }
            while self.accept(digits) {}
        }
        if self.pos == initial {
            return false;
        }
        !self.peek().is_some_and(is_alphanumeric)
    }

    fn lex_string(&mut self, start: usize, quote: u8) -> LexResult {
        loop {
            let Some(c) = self.input.get(self.pos..).and_then(|s| s.chars().next()) else {
                let message = if quote == b'`' { "unterminated raw string" } else { "unterminated quoted string" };
                return self.fail(start, message.to_owned());
            };
            self.pos += c.len_utf8();
            match c {
                c if c as u32 == u32::from(quote) => break,
                '\n' if quote != b'`' => return self.fail(start, "unterminated quoted string".to_owned()),
                '\\' if quote != b'`' => {
                    if let Err(message) = self.check_escape(quote) {
                        return self.fail(start, message);
                    }
                }
                _ => {}
            }
        }
        self.emit(TokenKind::String, start);
        Ok(())
    }

    /// Validates the escape after a backslash (upstream's `lexEscape`).
    fn check_escape(&mut self, quote: u8) -> Result<(), String> {
        let Some(c) = self.input.get(self.pos..).and_then(|s| s.chars().next()) else {
            return Err("escape sequence not terminated".to_owned());
        };
        self.pos += c.len_utf8();
        let (count, base, max): (usize, u32, u32) = match c {
            'a' | 'b' | 'f' | 'n' | 'r' | 't' | 'v' | '\\' => return Ok(()),
            c if c as u32 == u32::from(quote) => return Ok(()),
            '0'..='7' => {
                self.pos -= 1;
                (3, 8, 255)
            }
            'x' => (2, 16, 255),
            'u' => (4, 16, 0x10FFFF),
            'U' => (8, 16, 0x10FFFF),
            c => return Err(format!("unknown escape sequence U+{:04X} {c:?}", c as u32)),
        };
        let mut value: u32 = 0;
        for _ in 0..count {
            let Some(d) = self.input.get(self.pos..).and_then(|s| s.chars().next()) else {
                return Err("escape sequence not terminated".to_owned());
            };
            match d.to_digit(base) {
                Some(digit) => value = value.saturating_mul(base).saturating_add(digit),
                None => return Err(format!("illegal character U+{:04X} {d:?} in escape sequence", d as u32)),
            }
            self.pos += d.len_utf8();
        }
        if value > max || (0xD800..0xE000).contains(&value) {
            return Err("escape sequence is an invalid Unicode code point".to_owned());
        }
        Ok(())
    }
}

/// The keyword table (upstream's `key`), looked up in lower case.
fn keyword(lower: &str) -> Option<TokenKind> {
    use TokenKind::*;
    if let Some(op) = AggregateOp::ALL.iter().find(|op| op.as_str() == lower) {
        return Some(Aggregator(*op));
    }
    Some(match lower {
        "and" => And,
        "or" => Or,
        "unless" => Unless,
        "atan2" => Atan2,
        "offset" => Offset,
        "smoothed" => Smoothed,
        "anchored" => Anchored,
        "by" => By,
        "without" => Without,
        "on" => On,
        "ignoring" => Ignoring,
        "group_left" => GroupLeft,
        "group_right" => GroupRight,
        "fill" => Fill,
        "fill_left" => FillLeft,
        "fill_right" => FillRight,
        "bool" => Bool,
        "start" => Start,
        "end" => End,
        "step" => Step,
        "range" => Range,
        "max_of" => MaxOf,
        "min_of" => MinOf,
        "inf" | "nan" => Number,
        _ => return None,
    })
}

fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r')
}

fn is_alpha(b: u8) -> bool {
    b == b'_' || b.is_ascii_alphabetic()
}

fn is_alphanumeric(b: u8) -> bool {
    is_alpha(b) || b.is_ascii_digit()
}
