//! Token kinds and how error messages name them.
//!
//! The kinds are those of Prometheus 3.14 `promql/parser/lex.go`; [`Token::describe`] renders a
//! token as upstream's `Item.desc` does (`<by>`, `<op:+>`, `<aggr:sum>`, `identifier "foo"`,
//! `end of input`), which keeps our "unexpected ..." messages identical to Prometheus's. Only the
//! lexer creates tokens; this module knows nothing of the grammar.

use super::ast::{AggregateOp, BinaryOp, Span};
use super::literals::go_quote;

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
    /// A lexing error; the message is in [`super::lexer::Lexed::error`].
    Error,
}

impl TokenKind {
    /// Keywords as upstream's `IsKeyword` sees them (printed as `<by>` in errors).
    fn is_keyword(self) -> bool {
        use TokenKind::*;
        matches!(
            self,
            Bool | By
                | Without
                | On
                | Ignoring
                | GroupLeft
                | GroupRight
                | Fill
                | FillLeft
                | FillRight
                | Offset
                | Smoothed
                | Anchored
        )
    }

    /// Operators as upstream's `IsOperator` sees them (printed as `<op:+>` in errors).
    fn is_operator(self) -> bool {
        use TokenKind::*;
        matches!(
            self,
            Add | Sub
                | Mul
                | Div
                | Mod
                | Pow
                | EqlC
                | Neq
                | Lss
                | Lte
                | Gtr
                | Gte
                | TrimUpper
                | TrimLower
                | EqlRegex
                | NeqRegex
                | At
                | And
                | Or
                | Unless
                | Atan2
        )
    }
}

impl TokenKind {
    /// The binary operator a token stands for, if any.
    pub fn binary_op(self) -> Option<BinaryOp> {
        Some(match self {
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
    pub fn can_name_metric(self) -> bool {
        use TokenKind::*;
        matches!(
            self,
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

    /// Words the lexer may have turned into keywords but that are label names inside a grouping
    /// list (upstream's `maybe_label` rule).
    pub fn can_name_label(self) -> bool {
        use TokenKind::*;
        matches!(
            self,
            Identifier
                | MetricIdentifier
                | Aggregator(_)
                | Bool
                | By
                | Without
                | On
                | Ignoring
                | GroupLeft
                | GroupRight
                | Fill
                | FillLeft
                | FillRight
                | And
                | Or
                | Unless
                | Offset
                | Atan2
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

/// The keyword table (upstream's `key`), looked up in lower case.
pub(super) fn keyword(lower: &str) -> Option<TokenKind> {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_described_as_upstream_does() {
        let input = "by + sum foo 12345678901 \"a long string\" ( start )";
        let descriptions: Vec<String> = crate::promql::parser::lexer::lex(input)
            .tokens
            .iter()
            .map(|t| t.describe(input))
            .collect();
        assert_eq!(
            descriptions,
            [
                "<by>",
                "<op:+>",
                "<aggr:sum>",
                "identifier \"foo\"",
                "number \"1234567890\"...",
                "string \"\\\"a long st\"...",
                "\"(\"",
                "\"start\"",
                "\")\"",
                "end of input",
            ]
        );
    }

    #[test]
    fn keyword_table() {
        assert_eq!(
            keyword("count_values"),
            Some(TokenKind::Aggregator(AggregateOp::CountValues))
        );
        assert_eq!(keyword("group_left"), Some(TokenKind::GroupLeft));
        assert_eq!(keyword("rate"), None);
    }
}
