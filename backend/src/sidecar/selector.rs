//! Formats label matchers as a PromQL series selector, for the `match[]` parameter of
//! Prometheus's `/api/v1/labels` and `/api/v1/label/<name>/values`.
//!
//! Values are written as double-quoted PromQL strings with every character that the PromQL lexer
//! treats specially escaped (upstream: prometheus promql/parser/lex.go `lexString`, and
//! `strconv.Quote` as used by `labels.Matcher.String`). It knows nothing of HTTP.

use std::fmt::Write as _;

use shared::labels::Matcher;

/// A matcher cannot be written as a selector.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SelectorError {
    /// The label name is not a legacy Prometheus label name (`[a-zA-Z_][a-zA-Z0-9_]*`), which
    /// is all Prometheus 2 accepts inside braces.
    #[error("label name {0:?} cannot be used in a selector")]
    InvalidLabelName(String),
}

/// `{name="value", ...}` for the matchers, in the order given.
pub fn format_selector(matchers: &[Matcher]) -> Result<String, SelectorError> {
    let mut out = String::from("{");
    for (i, m) in matchers.iter().enumerate() {
        if !is_valid_label_name(m.name()) {
            return Err(SelectorError::InvalidLabelName(m.name().to_string()));
        }
        if i > 0 {
            out.push(',');
        }
        out.push_str(m.name());
        out.push_str(m.op().as_str());
        push_quoted(&mut out, m.value());
    }
    out.push('}');
    Ok(out)
}

/// Whether `name` matches `[a-zA-Z_][a-zA-Z0-9_]*`.
fn is_valid_label_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Appends `value` as a double-quoted PromQL string.
fn push_quoted(out: &mut String, value: &str) {
    out.push('"');
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => {
                // PromQL strings accept Go escapes; \u covers every control character.
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;
    use shared::labels::MatchOp;

    #[test]
    fn formats_all_operators() {
        let matchers = [
            Matcher::equal("__name__", "up"),
            Matcher::new(MatchOp::NotEqual, "job", "a").expect("valid matcher"),
            Matcher::new(MatchOp::Regex, "instance", "x.*").expect("valid matcher"),
            Matcher::new(MatchOp::NotRegex, "env", "dev|test").expect("valid matcher"),
        ];
        assert_eq!(
            format_selector(&matchers).expect("selector can be formatted"),
            r#"{__name__="up",job!="a",instance=~"x.*",env!~"dev|test"}"#
        );
    }

    #[test]
    fn escapes_quotes_backslashes_and_control_characters() {
        let m =
            Matcher::new(MatchOp::Regex, "path", "a\"b\\.c\nd\te\u{1}é").expect("valid matcher");
        assert_eq!(
            format_selector(&[m]).expect("selector can be formatted"),
            r#"{path=~"a\"b\\.c\nd\te\u0001é"}"#
        );
    }

    #[test]
    fn rejects_names_prometheus_cannot_parse() {
        let err = format_selector(&[Matcher::equal("1abc", "x")])
            .expect_err("a leading digit is invalid");
        assert_eq!(err, SelectorError::InvalidLabelName("1abc".into()));
        assert!(format_selector(&[Matcher::equal("a-b", "x")]).is_err());
        assert!(format_selector(&[Matcher::equal("_ok9", "x")]).is_ok());
    }

    #[test]
    fn empty_matchers_give_empty_braces() {
        assert_eq!(
            format_selector(&[]).expect("selector can be formatted"),
            "{}"
        );
    }
}
