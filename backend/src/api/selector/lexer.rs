//! The lexer of the selector parser: tokens as Prometheus's promql/parser/lex.go cuts them,
//! Go string escapes, and lexer errors worded as Prometheus words them. Knows nothing of
//! matchers.

use shared::labels::MatchOp;

use super::SelectorError;

/// A token and the byte offset where it starts.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Token {
    pub(super) kind: TokenKind,
    pub(super) offset: usize,
}

#[derive(Debug, Clone, PartialEq)]
pub(super) enum TokenKind {
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
    pub(super) fn describe(&self) -> String {
        match self {
            TokenKind::Identifier { name, .. } => format!("identifier {name:?}"),
            TokenKind::String { raw, .. } => format!("string {}", quote_shortened(raw)),
            TokenKind::Number(raw) if is_duration(raw) => {
                format!("duration {}", quote_shortened(raw))
            }
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
    if c.is_control() {
        format!("U+{:04X}", c as u32)
    } else {
        format!("U+{:04X} '{c}'", c as u32)
    }
}

/// Length of the decimal or hex number at the start of `s` (digits, fraction, exponent).
fn number_len(s: &str) -> usize {
    let bytes = s.as_bytes();
    let digits_from = |mut i: usize, hex: bool| {
        while i < bytes.len()
            && (bytes[i].is_ascii_digit() || (hex && bytes[i].is_ascii_hexdigit()))
        {
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
        let digits = s[i..]
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(s.len() - i);
        if digits == 0 {
            break;
        }
        let after = &s[i + digits..];
        let unit = ["ms", "s", "m", "h", "d", "w", "y"]
            .iter()
            .find(|u| after.starts_with(**u))?;
        i += digits + unit.len();
    }
    let complete = i > 0 && !s[i..].starts_with(|c: char| c.is_ascii_alphanumeric() || c == '_');
    complete.then_some(i)
}

/// Operators outside braces, longest first.
const OPERATORS: [&str; 13] = [
    "==", "!=", "<=", ">=", "+", "-", "*", "/", "%", "^", "<", ">", "@",
];

/// Splits the input into tokens, tracking whether it is inside braces (Prometheus's lexer
/// words errors differently there and allows no `:` in label names).
pub(super) struct Lexer<'a> {
    input: &'a str,
    pos: usize,
    inside_braces: bool,
}

impl<'a> Lexer<'a> {
    pub(super) fn new(input: &'a str) -> Self {
        Self {
            input,
            pos: 0,
            inside_braces: false,
        }
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
                self.pos = self.input[self.pos..]
                    .find('\n')
                    .map_or(self.input.len(), |i| self.pos + i);
            } else {
                break;
            }
        }
    }

    pub(super) fn next_token(&mut self) -> Result<Token, SelectorError> {
        self.skip_blank();
        let offset = self.pos;
        let Some(c) = self.peek_char() else {
            if self.inside_braces {
                return Err(self.error(offset, "unexpected end of input inside braces"));
            }
            return Ok(Token {
                kind: TokenKind::Eof,
                offset,
            });
        };
        let kind = if self.inside_braces {
            self.inside(c, offset)?
        } else {
            self.outside(c, offset)?
        };
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
            c => {
                return Err(self.error(offset, format!("unexpected character inside braces: {c:?}")));
            }
        })
    }

    /// A token outside braces: a metric name, `{`, or something that is an error here.
    fn outside(&mut self, c: char, offset: usize) -> Result<TokenKind, SelectorError> {
        let rest = &self.input[self.pos..];
        let starts_number =
            c.is_ascii_digit() || (c == '.' && rest[1..].starts_with(|d: char| d.is_ascii_digit()));
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
            '=' if rest.starts_with("=~") => {
                return Err(self.error(offset, "unexpected character after '=': '~'"));
            }
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
        let place = if self.inside_braces {
            " inside braces"
        } else {
            ""
        };
        match self.input[offset + 1..].chars().next() {
            Some(next) => self.error(
                offset,
                format!("unexpected character after '!'{place}: {next:?}"),
            ),
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
        TokenKind::Identifier {
            colon: name.contains(':'),
            name,
        }
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
                '\\' => value.push(
                    self.escape(quote)
                        .map_err(|message| self.error(start, message))?,
                ),
                c if c == quote => break,
                c => value.push(c),
            }
        }
        Ok(TokenKind::String {
            raw: self.input[start..self.pos].to_string(),
            value,
        })
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
        let (mut code, needed) = if radix == 8 {
            (c.to_digit(8).unwrap_or(0), digits - 1)
        } else {
            (0, digits)
        };
        for _ in 0..needed {
            let Some(next) = self.peek_char() else {
                return Err("escape sequence not terminated".to_string());
            };
            let Some(digit) = next.to_digit(radix) else {
                return Err(format!(
                    "illegal character {} in escape sequence",
                    go_rune(next)
                ));
            };
            self.pos += 1;
            code = code * radix + digit;
        }
        if code > max {
            return Err("escape sequence is an invalid Unicode code point".to_string());
        }
        if radix == 8 || c == 'x' {
            // Go's \ooo and \xhh denote bytes; in a valid UTF-8 string only ASCII bytes stand alone.
            return char::from_u32(code).filter(char::is_ascii).ok_or_else(|| {
                "invalid UTF-8 in string: byte escapes above 0x7f are not supported".to_string()
            });
        }
        char::from_u32(code)
            .ok_or_else(|| "escape sequence is an invalid Unicode code point".to_string())
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
