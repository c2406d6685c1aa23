//! The parser's error: a message and the span it is about.
//!
//! Displayed as Prometheus's `ParseErr` (`promql/parser/parse.go`): `line:col: parse error: msg`,
//! with a 1-based line and a 1-based byte column within that line.

use std::fmt;

use super::ast::Span;

/// Why a query does not parse or type-check.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{line}:{column}: parse error: {message}")]
pub struct ParseError {
    /// The bytes the error is about.
    pub span: Span,
    /// 1-based line of `span.start`.
    pub line: usize,
    /// 1-based byte column of `span.start` within its line.
    pub column: usize,
    /// What is wrong, in Prometheus's words.
    pub message: String,
}

impl ParseError {
    /// An error about `span` of `input`.
    pub fn new(input: &str, span: Span, message: impl fmt::Display) -> Self {
        let (line, column) = position(input, span.start);
        Self {
            span,
            line,
            column,
            message: message.to_string(),
        }
    }
}

/// The 1-based line and column of byte `offset` (clamped to the input).
pub fn position(input: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(input.len());
    let before = &input.as_bytes()[..offset];
    let line = 1 + before.iter().filter(|b| **b == b'\n').count();
    let line_start = before
        .iter()
        .rposition(|b| *b == b'\n')
        .map_or(0, |i| i + 1);
    (line, offset - line_start + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_are_one_based_lines_and_byte_columns() {
        assert_eq!(position("abc", 0), (1, 1));
        assert_eq!(position("ab\ncd", 4), (2, 2));
        assert_eq!(position("ab", 99), (1, 3));
        let e = ParseError::new("sum(x) by", Span::new(7, 9), "unexpected <by>");
        assert_eq!(e.to_string(), "1:8: parse error: unexpected <by>");
    }
}
