//! A parser for PromQL series selectors, the language of the `match[]` parameter:
//! `metric`, `metric{a="b",c!~"d.*"}`, `{__name__=~"x"}` and Prometheus 3's quoted UTF-8 names
//! (`{"foo.bar"="x"}`, `{"foo.bar"}`).
//!
//! It mirrors the selector subset of Prometheus's promql/parser (lex.go and the
//! `START_METRIC_SELECTOR` rule of generated_parser.y, used by `parser.ParseMetricSelector`):
//! the same tokens, Go string escapes, and errors positioned and worded like Prometheus's
//! (`1:7: parse error: unexpected ...`). It knows nothing of HTTP or of the rest of PromQL;
//! the full PromQL parser lives elsewhere and this file stays self-contained.

use shared::labels::{METRIC_NAME, MatchOp, Matcher};

/// A selector could not be parsed. Displays as Prometheus's `ParseErr`:
/// `<line>:<column>: parse error: <message>`, with 1-based line and byte column.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{line}:{column}: parse error: {message}")]
pub struct SelectorError {
    /// 1-based line of the offending token.
    pub line: usize,
    /// 1-based byte column of the offending token within its line.
    pub column: usize,
    /// What went wrong, worded as Prometheus words it.
    pub message: String,
}

impl SelectorError {
    fn at(input: &str, offset: usize, message: impl Into<String>) -> Self {
        let offset = offset.min(input.len());
        let before = &input.as_bytes()[..offset];
        let line = 1 + before.iter().filter(|&&b| b == b'\n').count();
        let column = match before.iter().rposition(|&b| b == b'\n') {
            Some(newline) => offset - newline,
            None => offset + 1,
        };
        Self { line, column, message: message.into() }
    }
}

/// Parses a series selector into its matchers. A metric name written before the braces
/// (or as a bare quoted string inside them) becomes a trailing `__name__="…"` matcher, as in
/// Prometheus's `newVectorSelector`.
///
/// This does not check that a matcher rejects the empty string; `match[]` handling does that.
pub fn parse_selector(input: &str) -> Result<Vec<Matcher>, SelectorError> {
    Parser { input, lexer: Lexer::new(input) }.selector()
}

/// A token and the byte offset where it starts.
#[derive(Debug, Clone, PartialEq)]
struct Token {
    kind: TokenKind,
    offset: usize,
}

#[derive(Debug, Clone, PartialEq)]
enum TokenKind {
    /// A name; `colon` says whether it contained a `:` (only metric names may).
    Identifier {
        name: String,
        colon: bool,
    },
    /// A quoted string: its raw text (quotes included) and its unquoted value.
    String {
        raw: String,
        value: String,
    },
    /// A number or duration (only ever an error here, but named as Prometheus names it).
    Number(String),
    /// `(` or `[`: PromQL syntax that has no place in a selector.
    Punctuation(char),
    /// An arithmetic, comparison or `@` operator outside braces: again only an error here.
    Operator(&'static str),
    LeftBrace,
    RightBrace,
    Comma,
    Op(MatchOp),
    Eof,
}

impl TokenKind {
    /// How Prometheus's parser names a token in "unexpected …" messages (parser `Item.desc`).
    fn describe(&self) -> String {
        match self {
            TokenKind::Identifier { name, .. } => format!("identifier {name:?}"),
            TokenKind::String { raw, .. } => format!("string {}", quote_shortened(raw)),
            TokenKind::Number(raw) if is_duration(raw) => format!("duration {}", quote_shortened(raw)),
            TokenKind::Number(raw) => format!("number {}", quote_shortened(raw)),
            TokenKind::Punctuation(c) => format!("\"{c}\""),
            TokenKind::Operator(op) => format!("<op:{op}>"),
            TokenKind::LeftBrace => "\"{\"".to_string(),
            TokenKind::RightBrace => "\"}\"".to_string(),
            TokenKind::Comma => "\",\"".to_string(),
            TokenKind::Op(MatchOp::Equal) => "\"=\"".to_string(),
            TokenKind::Op(op) => format!("<op:{}>", op.as_str()),
            TokenKind::Eof => "end of input".to_string(),
        }
    }
}

/// A token's text quoted, cut to 10 characters with `...` after (Go's `%.10q...`).
fn quote_shortened(raw: &str) -> String {
    if raw.chars().count() > 10 {
        let head: String = raw.chars().take(10).collect();
        format!("{head:?}...")
    } else {
        format!("{raw:?}")
    }
}

/// Whether a number-like token is a duration such as `5m` (digits, then unit letters).
fn is_duration(raw: &str) -> bool {
    let units = raw.trim_start_matches(|c: char| c.is_ascii_digit());
    units.len() < raw.len() && !units.is_empty() && units.chars().all(|c| "smhdwy".contains(c))
}

/// A character as Go's `%#U` prints it: `U+0071 'q'`, without the character when unprintable.
fn go_rune(c: char) -> String {
    if c.is_control() { format!("U+{:04X}", c as u32) } else { format!("U+{:04X} '{c}'", c as u32) }
}

/// Length of the decimal or hex number at the start of `s` (digits, fraction, exponent).
fn number_len(s: &str) -> usize {
    let bytes = s.as_bytes();
    let digits_from = |mut i: usize, hex: bool| {
        while i < bytes.len() && (bytes[i].is_ascii_digit() || (hex && bytes[i].is_ascii_hexdigit())) {
            i += 1;
        }
        i
    };
    if s.starts_with("0x") || s.starts_with("0X") {
        return digits_from(2, true);
    }
    let mut i = digits_from(0, false);
    if bytes.get(i) == Some(&b'.') {
        i = digits_from(i + 1, false);
    }
    if matches!(bytes.get(i), Some(b'e' | b'E')) {
        let sign = usize::from(matches!(bytes.get(i + 1), Some(b'+' | b'-')));
        if bytes.get(i + 1 + sign).is_some_and(u8::is_ascii_digit) {
            i = digits_from(i + 1 + sign, false);
        }
    }
    i
}

/// Length of the `1h30m`-style duration at the start of `s`, if there is one that is not
/// followed by more letters or digits.
fn duration_len(s: &str) -> Option<usize> {
    let mut i = 0;
    loop {
        let digits = s[i..].find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len() - i);
        if digits == 0 {
            break;
        }
        let after = &s[i + digits..];
        let unit = ["ms", "s", "m", "h", "d", "w", "y"].iter().find(|u| after.starts_with(**u))?;
        i += digits + unit.len();
    }
    let complete = i > 0 && !s[i..].starts_with(|c: char| c.is_ascii_alphanumeric() || c == '_');
    complete.then_some(i)
}

/// Operators outside braces, longest first.
const OPERATORS: [&str; 13] = ["==", "!=", "<=", ">=", "+", "-", "*", "/", "%", "^", "<", ">", "@"];

/// Splits the input into tokens, tracking whether it is inside braces (Prometheus's lexer
/// words errors differently there and allows no `:` in label names).
struct Lexer<'a> {
    input: &'a str,
    pos: usize,
    inside_braces: bool,
}

impl<'a> Lexer<'a> {
    fn new(input: &'a str) -> Self {
        Self { input, pos: 0, inside_braces: false }
    }

    fn peek_char(&self) -> Option<char> {
        self.input[self.pos..].chars().next()
    }

    fn error(&self, offset: usize, message: impl Into<String>) -> SelectorError {
        SelectorError::at(self.input, offset, message)
    }

    /// Skips whitespace and `#` comments (which run to the end of the line).
    fn skip_blank(&mut self) {
        while let Some(c) = self.peek_char() {
            if c.is_whitespace() {
                self.pos += c.len_utf8();
            } else if c == '#' {
                self.pos = self.input[self.pos..].find('\n').map_or(self.input.len(), |i| self.pos + i);
            } else {
                break;
            }
        }
    }

    fn next_token(&mut self) -> Result<Token, SelectorError> {
        self.skip_blank();
        let offset = self.pos;
        let Some(c) = self.peek_char() else {
            if self.inside_braces {
                return Err(self.error(offset, "unexpected end of input inside braces"));
            }
            return Ok(Token { kind: TokenKind::Eof, offset });
        };
        let kind = if self.inside_braces { self.inside(c, offset)? } else { self.outside(c, offset)? };
        Ok(Token { kind, offset })
    }

    /// A token inside `{…}`: matchers only.
    fn inside(&mut self, c: char, offset: usize) -> Result<TokenKind, SelectorError> {
        Ok(match c {
            '{' => return Err(self.error(offset, "unexpected left brace '{'")),
            '}' => {
                self.pos += 1;
                self.inside_braces = false;
                TokenKind::RightBrace
            }
            ',' => {
                self.pos += 1;
                TokenKind::Comma
            }
            '=' | '!' => self.match_operator(offset)?,
            '"' | '\'' => self.quoted(c)?,
            '`' => self.raw_string()?,
            c if c.is_ascii_alphabetic() || c == '_' => self.identifier(),
            c => return Err(self.error(offset, format!("unexpected character inside braces: {c:?}"))),
        })
    }

    /// A token outside braces: a metric name, `{`, or something that is an error here.
    fn outside(&mut self, c: char, offset: usize) -> Result<TokenKind, SelectorError> {
        let rest = &self.input[self.pos..];
        let starts_number = c.is_ascii_digit() || (c == '.' && rest[1..].starts_with(|d: char| d.is_ascii_digit()));
        Ok(match c {
            '{' => {
                self.pos += 1;
                self.inside_braces = true;
                TokenKind::LeftBrace
            }
            ',' => {
                self.pos += 1;
                TokenKind::Comma
            }
            '(' | '[' => {
                self.pos += 1;
                TokenKind::Punctuation(c)
            }
            // Prometheus reports a stray `)` one past it, and a stray `]` at it.
            ')' => return Err(self.error(offset + 1, "unexpected right parenthesis ')'")),
            ']' => return Err(self.error(offset, "unexpected right bracket ']'")),
            '"' | '\'' => self.quoted(c)?,
            '`' => self.raw_string()?,
            '=' if rest.starts_with("=~") => return Err(self.error(offset, "unexpected character after '=': '~'")),
            '=' if !rest.starts_with("==") => self.match_operator(offset)?,
            '!' if !rest.starts_with("!=") => return Err(self.after_bang(offset)),
            _ if starts_number => self.number(offset)?,
            c if c.is_ascii_alphabetic() || c == '_' || c == ':' => match self.identifier() {
                TokenKind::Identifier { name, .. }
                    if name.eq_ignore_ascii_case("inf") || name.eq_ignore_ascii_case("nan") =>
                {
                    TokenKind::Number(name)
                }
                identifier => identifier,
            },
            _ => match OPERATORS.iter().find(|op| rest.starts_with(**op)) {
                Some(op) => {
                    self.pos += op.len();
                    TokenKind::Operator(op)
                }
                None => return Err(self.error(offset, format!("unexpected character: {c:?}"))),
            },
        })
    }

    /// The error for a `!` followed by neither `=` nor `~`.
    fn after_bang(&self, offset: usize) -> SelectorError {
        let place = if self.inside_braces { " inside braces" } else { "" };
        match self.input[offset + 1..].chars().next() {
            Some(next) => self.error(offset, format!("unexpected character after '!'{place}: {next:?}")),
            None => self.error(offset, format!("unexpected end of input after '!'{place}")),
        }
    }

    /// `=`, `!=`, `=~` or `!~`.
    fn match_operator(&mut self, offset: usize) -> Result<TokenKind, SelectorError> {
        let rest = &self.input[self.pos..];
        let (op, len) = if rest.starts_with("=~") {
            (MatchOp::Regex, 2)
        } else if rest.starts_with("!~") {
            (MatchOp::NotRegex, 2)
        } else if rest.starts_with("!=") {
            (MatchOp::NotEqual, 2)
        } else if rest.starts_with('=') {
            (MatchOp::Equal, 1)
        } else {
            return Err(self.after_bang(offset));
        };
        self.pos += len;
        Ok(TokenKind::Op(op))
    }

    fn identifier(&mut self) -> TokenKind {
        let start = self.pos;
        let allow_colon = !self.inside_braces;
        let len = self.input[start..]
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || (allow_colon && c == ':')))
            .unwrap_or(self.input.len() - start);
        self.pos = start + len;
        let name = self.input[start..self.pos].to_string();
        TokenKind::Identifier { colon: name.contains(':'), name }
    }

    /// Numbers and durations only ever appear here by mistake; they are lexed so that the error
    /// names them as Prometheus does (decimal, hex or `1h30m`-style; trailing letters are
    /// "bad number or duration syntax").
    fn number(&mut self, offset: usize) -> Result<TokenKind, SelectorError> {
        let rest = &self.input[self.pos..];
        let len = match duration_len(rest) {
            Some(len) => len,
            None => {
                let len = number_len(rest);
                if rest[len..].starts_with(|c: char| c.is_ascii_alphanumeric() || c == '_') {
                    let message = format!("bad number or duration syntax: {:?}", &rest[..len]);
                    return Err(self.error(offset, message));
                }
                len
            }
        };
        self.pos += len;
        Ok(TokenKind::Number(rest[..len].to_string()))
    }

    /// A `"…"` or `'…'` string with Go escapes; it may not span lines. Errors point at the
    /// opening quote, as Prometheus's do.
    fn quoted(&mut self, quote: char) -> Result<TokenKind, SelectorError> {
        let start = self.pos;
        self.pos += 1;
        let mut value = String::new();
        loop {
            let Some(c) = self.peek_char() else {
                return Err(self.error(start, "unterminated quoted string"));
            };
            self.pos += c.len_utf8();
            match c {
                '\n' => return Err(self.error(start, "unterminated quoted string")),
                '\\' => value.push(self.escape(quote).map_err(|message| self.error(start, message))?),
                c if c == quote => break,
                c => value.push(c),
            }
        }
        Ok(TokenKind::String { raw: self.input[start..self.pos].to_string(), value })
    }

    /// Decodes one Go escape sequence after a backslash.
    fn escape(&mut self, quote: char) -> Result<char, String> {
        let Some(c) = self.peek_char() else {
            return Err("escape sequence not terminated".to_string());
        };
        self.pos += c.len_utf8();
        let simple = match c {
            'a' => Some('\u{07}'),
            'b' => Some('\u{08}'),
            'f' => Some('\u{0c}'),
            'n' => Some('\n'),
            'r' => Some('\r'),
            't' => Some('\t'),
            'v' => Some('\u{0b}'),
            '\\' => Some('\\'),
            c if c == quote => Some(c),
            _ => None,
        };
        if let Some(decoded) = simple {
            return Ok(decoded);
        }
        let (digits, radix, max) = match c {
            '0'..='7' => (3, 8, 255),
            'x' => (2, 16, 255),
            'u' => (4, 16, 0x10ffff),
            'U' => (8, 16, 0x10ffff),
            other => return Err(format!("unknown escape sequence {}", go_rune(other))),
        };
        // An octal escape's first digit was consumed as the escape letter.
        let (mut code, needed) = if radix == 8 { (c.to_digit(8).unwrap_or(0), digits - 1) } else { (0, digits) };
        for _ in 0..needed {
            let Some(next) = self.peek_char() else {
                return Err("escape sequence not terminated".to_string());
            };
            let Some(digit) = next.to_digit(radix) else {
                return Err(format!("illegal character {} in escape sequence", go_rune(next)));
            };
            self.pos += 1;
            code = code * radix + digit;
        }
        if code > max {
            return Err("escape sequence is an invalid Unicode code point".to_string());
        }
        if radix == 8 || c == 'x' {
            // Go's \ooo and \xhh denote bytes; in a valid UTF-8 string only ASCII bytes stand alone.
            return char::from_u32(code)
                .filter(char::is_ascii)
                .ok_or_else(|| "invalid UTF-8 in string: byte escapes above 0x7f are not supported".to_string());
        }
        char::from_u32(code).ok_or_else(|| "escape sequence is an invalid Unicode code point".to_string())
    }

    /// A `` `…` `` string: no escapes, may span lines.
    fn raw_string(&mut self) -> Result<TokenKind, SelectorError> {
        let start = self.pos;
        let body = start + 1;
        let Some(len) = self.input[body..].find('`') else {
            return Err(self.error(start, "unterminated raw string"));
        };
        self.pos = body + len + 1;
        Ok(TokenKind::String {
            raw: self.input[start..self.pos].to_string(),
            value: self.input[body..body + len].to_string(),
        })
    }
}

struct Parser<'a> {
    input: &'a str,
    lexer: Lexer<'a>,
}

impl Parser<'_> {
    fn unexpected(&self, token: &Token, context: &str) -> SelectorError {
        SelectorError::at(self.input, token.offset, format!("unexpected {}{context}", token.kind.describe()))
    }

    fn selector(mut self) -> Result<Vec<Matcher>, SelectorError> {
        let first = self.lexer.next_token()?;
        let (name, brace) = match first.kind {
            TokenKind::Identifier { name, .. } => (Some(name), self.lexer.next_token()?),
            TokenKind::LeftBrace => (None, first),
            _ => return Err(self.unexpected(&first, "")),
        };
        let mut matchers = Vec::new();
        let after = match brace.kind {
            TokenKind::LeftBrace => {
                self.matchers(&mut matchers)?;
                self.lexer.next_token()?
            }
            _ => brace,
        };
        if after.kind != TokenKind::Eof {
            return Err(self.unexpected(&after, ""));
        }
        // Like `parser.ParseMetricSelector`, a name given twice (`foo{__name__="bar"}`) is not an
        // error: both matchers are kept, and together they match nothing.
        matchers.extend(name.map(|name| Matcher::equal(METRIC_NAME, name)));
        Ok(matchers)
    }

    /// Parses the matchers after `{` up to and including `}`. A bare quoted string is a metric
    /// name (Prometheus 3).
    fn matchers(&mut self, out: &mut Vec<Matcher>) -> Result<(), SelectorError> {
        loop {
            let token = self.lexer.next_token()?;
            let quoted = matches!(token.kind, TokenKind::String { .. });
            let (label, label_offset) = match token.kind {
                TokenKind::RightBrace => return Ok(()),
                TokenKind::Identifier { name, colon: false } => (name, token.offset),
                TokenKind::String { value, .. } => (value, token.offset),
                _ => return Err(self.unexpected(&token, " in label matching, expected identifier or \"}\"")),
            };
            let op = self.lexer.next_token()?;
            let op = match op.kind {
                TokenKind::Op(op) => op,
                TokenKind::Comma | TokenKind::RightBrace if quoted => {
                    out.push(Matcher::equal(METRIC_NAME, label));
                    if op.kind == TokenKind::RightBrace {
                        return Ok(());
                    }
                    continue;
                }
                _ => return Err(self.unexpected(&op, " in label matching, expected label matching operator")),
            };
            let value = self.lexer.next_token()?;
            let TokenKind::String { value, .. } = value.kind else {
                return Err(self.unexpected(&value, " in label matching, expected string"));
            };
            let matcher = Matcher::new(op, label, value)
                .map_err(|e| SelectorError::at(self.input, label_offset, e.to_string()))?;
            out.push(matcher);
            let separator = self.lexer.next_token()?;
            match separator.kind {
                TokenKind::Comma => {}
                TokenKind::RightBrace => return Ok(()),
                _ => return Err(self.unexpected(&separator, " in label matching, expected \",\" or \"}\"")),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The matchers as `name op "value"` strings, for compact comparisons.
    fn parsed(input: &str) -> Vec<String> {
        match parse_selector(input) {
            Ok(ms) => ms.iter().map(ToString::to_string).collect(),
            Err(e) => panic!("{input:?} failed: {e}"),
        }
    }

    fn error(input: &str) -> String {
        match parse_selector(input) {
            Ok(ms) => panic!("{input:?} parsed as {ms:?}"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn metric_name_alone_becomes_a_name_matcher() {
        assert_eq!(parsed("up"), ["__name__=\"up\""]);
        assert_eq!(parsed("  job:rate5m:sum \n"), ["__name__=\"job:rate5m:sum\""]);
    }

    #[test]
    fn name_matcher_is_appended_after_label_matchers() {
        assert_eq!(parsed(r#"up{a="b",c!~"d.*"}"#), ["a=\"b\"", "c!~\"d.*\"", "__name__=\"up\""]);
    }

    #[test]
    fn all_operators_and_a_trailing_comma() {
        assert_eq!(parsed(r#"{a="1", b!="2", c=~"3", d!~"4",}"#), ["a=\"1\"", "b!=\"2\"", "c=~\"3\"", "d!~\"4\""]);
    }

    #[test]
    fn explicit_name_matcher_without_metric_name() {
        assert_eq!(parsed(r#"{__name__=~"x"}"#), ["__name__=~\"x\""]);
    }

    #[test]
    fn quoted_utf8_names() {
        assert_eq!(parsed(r#"{"foo.bar"="x"}"#), ["foo.bar=\"x\""]);
        assert_eq!(
            parsed(r#"{"http.requests", "zone.name"!="eu"}"#),
            ["__name__=\"http.requests\"", "zone.name!=\"eu\""]
        );
    }

    #[test]
    fn three_kinds_of_quotes_and_go_escapes() {
        assert_eq!(parse_selector(r#"{a='it"s'}"#).expect("parses")[0].value(), "it\"s");
        assert_eq!(parse_selector(r#"{a="it's \"q\""}"#).expect("parses")[0].value(), "it's \"q\"");
        assert_eq!(parse_selector(r"{a=`C:\path\n`}").expect("parses")[0].value(), r"C:\path\n");
        assert_eq!(parse_selector("{a=`two\nlines`}").expect("parses")[0].value(), "two\nlines");
        let escaped = parse_selector(r#"{a="\a\t\n\\\x41\101\u00e9\U0001F600"}"#).expect("parses");
        assert_eq!(escaped[0].value(), "\u{7}\t\n\\AAé😀");
    }

    #[test]
    fn comments_are_skipped() {
        assert_eq!(parsed("up # the up metric\n{job=\"x\"}"), ["job=\"x\"", "__name__=\"up\""]);
    }

    /// Inputs and the messages Prometheus 2.42 answers `/api/v1/series?match[]=<input>` with
    /// (after its `invalid parameter "match[]": ` prefix).
    #[test]
    fn errors_are_positioned_and_worded_like_prometheus() {
        let cases = [
            ("foo{", "1:5: parse error: unexpected end of input inside braces"),
            ("foo{a}", r#"1:6: parse error: unexpected "}" in label matching, expected label matching operator"#),
            ("foo{a=}", r#"1:7: parse error: unexpected "}" in label matching, expected string"#),
            ("foo bar", r#"1:5: parse error: unexpected identifier "bar""#),
            ("foo{a$}", "1:6: parse error: unexpected character inside braces: '$'"),
            ("$", "1:1: parse error: unexpected character: '$'"),
            ("", "1:1: parse error: unexpected end of input"),
            ("\"foo", "1:1: parse error: unterminated quoted string"),
            (r#"{a="\q"}"#, "1:4: parse error: unknown escape sequence U+0071 'q'"),
            ("{a=`x}", "1:4: parse error: unterminated raw string"),
            ("{a=\"x\nb\"}", "1:4: parse error: unterminated quoted string"),
            ("up[5m]", r#"1:3: parse error: unexpected "[""#),
            (r#"up{a="b"}[5m]"#, r#"1:10: parse error: unexpected "[""#),
            ("(up)", r#"1:1: parse error: unexpected "(""#),
            ("up]", "1:3: parse error: unexpected right bracket ']'"),
            ("up}", "1:3: parse error: unexpected character: '}'"),
            ("{{", "1:2: parse error: unexpected left brace '{'"),
            (r#"{a="b"}{"#, r#"1:8: parse error: unexpected "{""#),
            (
                r#"{a="b" c="d"}"#,
                r#"1:8: parse error: unexpected identifier "c" in label matching, expected "," or "}""#,
            ),
            (r#"{a:b="x"}"#, "1:3: parse error: unexpected character inside braces: ':'"),
            (r#"{a=="b"}"#, r#"1:4: parse error: unexpected "=" in label matching, expected string"#),
            ("{a!b}", "1:3: parse error: unexpected character after '!' inside braces: 'b'"),
            ("{a!}", "1:3: parse error: unexpected character after '!' inside braces: '}'"),
            ("{a=~}", r#"1:5: parse error: unexpected "}" in label matching, expected string"#),
            ("up{a=1}", "1:6: parse error: unexpected character inside braces: '1'"),
            ("foo{a=b}", r#"1:7: parse error: unexpected identifier "b" in label matching, expected string"#),
            ("123", r#"1:1: parse error: unexpected number "123""#),
            ("0x1F", r#"1:1: parse error: unexpected number "0x1F""#),
            (".5", r#"1:1: parse error: unexpected number ".5""#),
            ("5m", r#"1:1: parse error: unexpected duration "5m""#),
            ("a.b", "1:2: parse error: unexpected character: '.'"),
            ("up + 1", "1:4: parse error: unexpected <op:+>"),
            ("up == 1", "1:4: parse error: unexpected <op:==>"),
            ("up=1", r#"1:3: parse error: unexpected "=""#),
            ("foo,", r#"1:4: parse error: unexpected ",""#),
            ("{,}", r#"1:2: parse error: unexpected "," in label matching, expected identifier or "}""#),
            (r#"{a="b",,}"#, r#"1:8: parse error: unexpected "," in label matching, expected identifier or "}""#),
            ("é", "1:1: parse error: unexpected character: 'é'"),
            (r#"{é="x"}"#, "1:2: parse error: unexpected character inside braces: 'é'"),
            (r#"{a="\400"}"#, "1:4: parse error: escape sequence is an invalid Unicode code point"),
            (r#"{a="\U00110000"}"#, "1:4: parse error: escape sequence is an invalid Unicode code point"),
            (r#"{a="\ud800"}"#, "1:4: parse error: escape sequence is an invalid Unicode code point"),
            (r#"{a="\u12"}"#, r#"1:4: parse error: illegal character U+0022 '"' in escape sequence"#),
            (r#"{a="\0"}"#, r#"1:4: parse error: illegal character U+0022 '"' in escape sequence"#),
        ];
        for (input, expected) in cases {
            assert_eq!(error(input), expected, "input {input:?}");
        }
    }

    #[test]
    fn positions_count_lines() {
        assert_eq!(
            error("{a=\"b\",\n  c}"),
            "2:4: parse error: unexpected \"}\" in label matching, expected label matching operator"
        );
    }

    #[test]
    fn metric_name_given_twice_keeps_both_matchers() {
        assert_eq!(parsed(r#"foo{__name__="bar"}"#), ["__name__=\"bar\"", "__name__=\"foo\""]);
        assert_eq!(parsed(r#"{"a","b"}"#), ["__name__=\"a\"", "__name__=\"b\""]);
    }

    #[test]
    fn keywords_are_metric_names_but_inf_and_nan_are_numbers() {
        assert_eq!(parsed("offset"), ["__name__=\"offset\""]);
        assert_eq!(parsed(r#"sum{by="x"}"#), ["by=\"x\"", "__name__=\"sum\""]);
        assert_eq!(parsed(r#"{inf="x"}"#), ["inf=\"x\""]);
        assert_eq!(error("Inf{a=\"b\"}"), "1:1: parse error: unexpected number \"Inf\"");
        assert_eq!(error("nan"), "1:1: parse error: unexpected number \"nan\"");
    }

    #[test]
    fn label_names_inside_braces_take_no_colon() {
        assert!(error(r#"{a:b="x"}"#).starts_with("1:3: parse error: unexpected character inside braces: ':'"));
    }

    #[test]
    fn bad_regex_is_reported_at_the_matcher() {
        let e = error(r#"{job=~"("}"#);
        assert!(e.starts_with("1:2: parse error: invalid regular expression"), "{e}");
    }

    #[test]
    fn regex_matchers_are_anchored() {
        let ms = parse_selector(r#"{a=~"b"}"#).expect("parses");
        assert!(ms[0].matches("b"));
        assert!(!ms[0].matches("ab"));
    }

    /// Escapes a char the way Go source may spell it inside double quotes.
    fn go_escape(c: char) -> String {
        match c {
            '\\' => "\\\\".to_string(),
            '"' => "\\\"".to_string(),
            ' '..='~' => c.to_string(),
            c => format!("\\U{:08x}", c as u32),
        }
    }

    proptest! {
        #[test]
        fn never_panics_on_arbitrary_input(input in "\\PC{0,40}") {
            let _ = parse_selector(&input);
        }

        #[test]
        fn never_panics_on_selector_like_input(input in "[a-z{}=!~\"'`,\\\\ :.0-9xuU\n#]{0,30}") {
            let _ = parse_selector(&input);
        }

        #[test]
        fn quoted_values_round_trip(value in "\\PC{0,20}") {
            let escaped: String = value.chars().map(go_escape).collect();
            let ms = parse_selector(&format!("{{a=\"{escaped}\"}}")).expect("escaped value parses");
            prop_assert_eq!(ms[0].value(), value.as_str());
        }
    }
}
