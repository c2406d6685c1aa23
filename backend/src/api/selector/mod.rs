//! A parser for PromQL series selectors, the language of the `match[]` parameter:
//! `metric`, `metric{a="b",c!~"d.*"}`, `{__name__=~"x"}` and Prometheus 3's quoted UTF-8 names
//! (`{"foo.bar"="x"}`, `{"foo.bar"}`).
//!
//! It mirrors the selector subset of Prometheus's promql/parser (lex.go and the
//! `START_METRIC_SELECTOR` rule of generated_parser.y, used by `parser.ParseMetricSelector`):
//! the same tokens, Go string escapes, and errors positioned and worded like Prometheus's
//! (`1:7: parse error: unexpected ...`). It knows nothing of HTTP or of the rest of PromQL;
//! the full PromQL parser lives elsewhere and this module stays self-contained.

mod lexer;

use lexer::{Lexer, Token, TokenKind};
use shared::labels::{METRIC_NAME, Matcher};

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
        Self {
            line,
            column,
            message: message.into(),
        }
    }
}

/// Parses a series selector into its matchers. A metric name written before the braces
/// (or as a bare quoted string inside them) becomes a trailing `__name__="…"` matcher, as in
/// Prometheus's `newVectorSelector`.
///
/// This does not check that a matcher rejects the empty string; `match[]` handling does that.
pub fn parse_selector(input: &str) -> Result<Vec<Matcher>, SelectorError> {
    Parser {
        input,
        lexer: Lexer::new(input),
    }
    .selector()
}

struct Parser<'a> {
    input: &'a str,
    lexer: Lexer<'a>,
}

impl Parser<'_> {
    fn unexpected(&self, token: &Token, context: &str) -> SelectorError {
        SelectorError::at(
            self.input,
            token.offset,
            format!("unexpected {}{context}", token.kind.describe()),
        )
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
                _ => {
                    return Err(
                        self.unexpected(&token, " in label matching, expected identifier or \"}\"")
                    );
                }
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
                _ => {
                    return Err(self
                        .unexpected(&op, " in label matching, expected label matching operator"));
                }
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
                _ => {
                    return Err(
                        self.unexpected(&separator, " in label matching, expected \",\" or \"}\"")
                    );
                }
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
        assert_eq!(
            parsed("  job:rate5m:sum \n"),
            ["__name__=\"job:rate5m:sum\""]
        );
    }

    #[test]
    fn name_matcher_is_appended_after_label_matchers() {
        assert_eq!(
            parsed(r#"up{a="b",c!~"d.*"}"#),
            ["a=\"b\"", "c!~\"d.*\"", "__name__=\"up\""]
        );
    }

    #[test]
    fn all_operators_and_a_trailing_comma() {
        assert_eq!(
            parsed(r#"{a="1", b!="2", c=~"3", d!~"4",}"#),
            ["a=\"1\"", "b!=\"2\"", "c=~\"3\"", "d!~\"4\""]
        );
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
        assert_eq!(
            parse_selector(r#"{a='it"s'}"#).expect("parses")[0].value(),
            "it\"s"
        );
        assert_eq!(
            parse_selector(r#"{a="it's \"q\""}"#).expect("parses")[0].value(),
            "it's \"q\""
        );
        assert_eq!(
            parse_selector(r"{a=`C:\path\n`}").expect("parses")[0].value(),
            r"C:\path\n"
        );
        assert_eq!(
            parse_selector("{a=`two\nlines`}").expect("parses")[0].value(),
            "two\nlines"
        );
        let escaped = parse_selector(r#"{a="\a\t\n\\\x41\101\u00e9\U0001F600"}"#).expect("parses");
        assert_eq!(escaped[0].value(), "\u{7}\t\n\\AAé😀");
    }

    #[test]
    fn comments_are_skipped() {
        assert_eq!(
            parsed("up # the up metric\n{job=\"x\"}"),
            ["job=\"x\"", "__name__=\"up\""]
        );
    }

    /// Inputs and the messages Prometheus 2.42 answers `/api/v1/series?match[]=<input>` with
    /// (after its `invalid parameter "match[]": ` prefix).
    #[test]
    fn errors_are_positioned_and_worded_like_prometheus() {
        let cases = [
            (
                "foo{",
                "1:5: parse error: unexpected end of input inside braces",
            ),
            (
                "foo{a}",
                r#"1:6: parse error: unexpected "}" in label matching, expected label matching operator"#,
            ),
            (
                "foo{a=}",
                r#"1:7: parse error: unexpected "}" in label matching, expected string"#,
            ),
            (
                "foo bar",
                r#"1:5: parse error: unexpected identifier "bar""#,
            ),
            (
                "foo{a$}",
                "1:6: parse error: unexpected character inside braces: '$'",
            ),
            ("$", "1:1: parse error: unexpected character: '$'"),
            ("", "1:1: parse error: unexpected end of input"),
            ("\"foo", "1:1: parse error: unterminated quoted string"),
            (
                r#"{a="\q"}"#,
                "1:4: parse error: unknown escape sequence U+0071 'q'",
            ),
            ("{a=`x}", "1:4: parse error: unterminated raw string"),
            (
                "{a=\"x\nb\"}",
                "1:4: parse error: unterminated quoted string",
            ),
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
            (
                r#"{a:b="x"}"#,
                "1:3: parse error: unexpected character inside braces: ':'",
            ),
            (
                r#"{a=="b"}"#,
                r#"1:4: parse error: unexpected "=" in label matching, expected string"#,
            ),
            (
                "{a!b}",
                "1:3: parse error: unexpected character after '!' inside braces: 'b'",
            ),
            (
                "{a!}",
                "1:3: parse error: unexpected character after '!' inside braces: '}'",
            ),
            (
                "{a=~}",
                r#"1:5: parse error: unexpected "}" in label matching, expected string"#,
            ),
            (
                "up{a=1}",
                "1:6: parse error: unexpected character inside braces: '1'",
            ),
            (
                "foo{a=b}",
                r#"1:7: parse error: unexpected identifier "b" in label matching, expected string"#,
            ),
            ("123", r#"1:1: parse error: unexpected number "123""#),
            ("0x1F", r#"1:1: parse error: unexpected number "0x1F""#),
            (".5", r#"1:1: parse error: unexpected number ".5""#),
            ("5m", r#"1:1: parse error: unexpected duration "5m""#),
            ("a.b", "1:2: parse error: unexpected character: '.'"),
            ("up + 1", "1:4: parse error: unexpected <op:+>"),
            ("up == 1", "1:4: parse error: unexpected <op:==>"),
            ("up=1", r#"1:3: parse error: unexpected "=""#),
            ("foo,", r#"1:4: parse error: unexpected ",""#),
            (
                "{,}",
                r#"1:2: parse error: unexpected "," in label matching, expected identifier or "}""#,
            ),
            (
                r#"{a="b",,}"#,
                r#"1:8: parse error: unexpected "," in label matching, expected identifier or "}""#,
            ),
            ("é", "1:1: parse error: unexpected character: 'é'"),
            (
                r#"{é="x"}"#,
                "1:2: parse error: unexpected character inside braces: 'é'",
            ),
            (
                r#"{a="\400"}"#,
                "1:4: parse error: escape sequence is an invalid Unicode code point",
            ),
            (
                r#"{a="\U00110000"}"#,
                "1:4: parse error: escape sequence is an invalid Unicode code point",
            ),
            (
                r#"{a="\ud800"}"#,
                "1:4: parse error: escape sequence is an invalid Unicode code point",
            ),
            (
                r#"{a="\u12"}"#,
                r#"1:4: parse error: illegal character U+0022 '"' in escape sequence"#,
            ),
            (
                r#"{a="\0"}"#,
                r#"1:4: parse error: illegal character U+0022 '"' in escape sequence"#,
            ),
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
        assert_eq!(
            parsed(r#"foo{__name__="bar"}"#),
            ["__name__=\"bar\"", "__name__=\"foo\""]
        );
        assert_eq!(parsed(r#"{"a","b"}"#), ["__name__=\"a\"", "__name__=\"b\""]);
    }

    #[test]
    fn keywords_are_metric_names_but_inf_and_nan_are_numbers() {
        assert_eq!(parsed("offset"), ["__name__=\"offset\""]);
        assert_eq!(parsed(r#"sum{by="x"}"#), ["by=\"x\"", "__name__=\"sum\""]);
        assert_eq!(parsed(r#"{inf="x"}"#), ["inf=\"x\""]);
        assert_eq!(
            error("Inf{a=\"b\"}"),
            "1:1: parse error: unexpected number \"Inf\""
        );
        assert_eq!(error("nan"), "1:1: parse error: unexpected number \"nan\"");
    }

    #[test]
    fn label_names_inside_braces_take_no_colon() {
        assert!(
            error(r#"{a:b="x"}"#)
                .starts_with("1:3: parse error: unexpected character inside braces: ':'")
        );
    }

    #[test]
    fn bad_regex_is_reported_at_the_matcher() {
        let e = error(r#"{job=~"("}"#);
        assert!(
            e.starts_with("1:2: parse error: invalid regular expression"),
            "{e}"
        );
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
