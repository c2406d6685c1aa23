//! Vector selectors (`name{label="value", "utf8.name"}`) and label-name lists (`by (a, "b.c")`).
//!
//! Matchers become [`shared::labels::Matcher`]s, which compile regexes fully anchored with `.`
//! matching newlines (Prometheus 3). A metric name written before the braces is added as the
//! last matcher, `__name__="name"`, as upstream's `assembleVectorSelector` does. Whether a
//! selector matches anything at all is checked later, in [`super::check`].

use shared::labels::{METRIC_NAME, MatchOp, Matcher};

use super::ast::{Expr, Span, VectorSelector};
use super::parse::{PResult, Parser};
use super::token::{Token, TokenKind};

impl Parser<'_> {
    /// A selector, starting at its name (already consumed and passed in) or at `{`.
    pub(super) fn parse_vector_selector(&mut self, name: Option<Token>) -> PResult<Expr> {
        self.vector_selector(name).map(Expr::VectorSelector)
    }

    /// A series selector and nothing else, as Prometheus's `parser.ParseMetricSelector` parses
    /// it (the `START_METRIC_SELECTOR` rule of generated_parser.y): any word that may name a
    /// metric (keywords included), then optional `{matchers}`; whatever follows is unexpected.
    pub(super) fn parse_metric_selector_top(&mut self) -> PResult<VectorSelector> {
        let name = match self.peek_kind() {
            TokenKind::LeftBrace => None,
            kind if kind.can_name_metric() => Some(self.advance()),
            _ => return Err(self.unexpected("", "")),
        };
        let selector = self.vector_selector(name)?;
        if self.peek_kind() != TokenKind::Eof {
            return Err(self.unexpected("", ""));
        }
        Ok(selector)
    }

    fn vector_selector(&mut self, name: Option<Token>) -> PResult<VectorSelector> {
        let mut matchers = Vec::new();
        let mut span = name.map(|t| t.span);
        if self.peek_kind() == TokenKind::LeftBrace {
            let open = self.advance();
            self.parse_matchers(&mut matchers)?;
            span = Some(
                span.unwrap_or(open.span)
                    .to(Span::new(open.span.start, self.prev_end())),
            );
        }
        let name = name.map(|t| self.text(t).to_owned());
        if let Some(name) = &name {
            matchers.push(Matcher::equal(METRIC_NAME, name.clone()));
        }
        let span = span.unwrap_or_else(|| Span::new(self.prev_end(), self.prev_end()));
        Ok(VectorSelector {
            name,
            matchers,
            offset: None,
            at: None,
            extension: None,
            span,
        })
    }

    /// The matchers after `{`, through the closing `}`.
    fn parse_matchers(&mut self, matchers: &mut Vec<Matcher>) -> PResult<()> {
        if self.peek_kind() == TokenKind::RightBrace {
            self.advance();
            return Ok(());
        }
        loop {
            matchers.push(self.parse_matcher()?);
            match self.peek_kind() {
                TokenKind::RightBrace => {
                    self.advance();
                    return Ok(());
                }
                TokenKind::Comma => {
                    self.advance();
                    if self.peek_kind() == TokenKind::RightBrace {
                        self.advance();
                        return Ok(());
                    }
                }
                _ => return Err(self.unexpected("label matching", "\",\" or \"}\"")),
            }
        }
    }

    /// `label op "value"`, `"label" op "value"` or a bare `"metric.name"`.
    fn parse_matcher(&mut self) -> PResult<Matcher> {
        let label = self.peek();
        let name = match label.kind {
            TokenKind::Identifier => self.text(label).to_owned(),
            TokenKind::String => self.unquote(label)?,
            _ => return Err(self.unexpected("label matching", "identifier or \"}\"")),
        };
        self.advance();
        let op = match self.peek_kind() {
            TokenKind::Eql => MatchOp::Equal,
            TokenKind::Neq => MatchOp::NotEqual,
            TokenKind::EqlRegex => MatchOp::Regex,
            TokenKind::NeqRegex => MatchOp::NotRegex,
            _ if label.kind == TokenKind::String => return Ok(Matcher::equal(METRIC_NAME, name)),
            _ => return Err(self.unexpected("label matching", "label matching operator")),
        };
        self.advance();
        let value_token = self.expect(TokenKind::String, "label matching", "string")?;
        let value = self.unquote(value_token)?;
        Matcher::new(op, name, value).map_err(|e| self.error(label.span.to(value_token.span), e))
    }

    /// `( label, ... )` for `by`, `without`, `on`, `ignoring`, `group_left`, `group_right`.
    pub(super) fn parse_grouping_labels(&mut self) -> PResult<Vec<String>> {
        self.expect(TokenKind::LeftParen, "grouping opts", "\"(\"")?;
        let mut labels = Vec::new();
        if self.peek_kind() == TokenKind::RightParen {
            self.advance();
            return Ok(labels);
        }
        loop {
            let token = self.peek();
            let name = match token.kind {
                TokenKind::String => self.unquote(token)?,
                kind if kind.can_name_label() => self.text(token).to_owned(),
                _ => return Err(self.unexpected("grouping opts", "label")),
            };
            if name.is_empty() {
                return Err(self.error(token.span, "invalid label name for grouping: \"\""));
            }
            self.advance();
            labels.push(name);
            match self.peek_kind() {
                TokenKind::RightParen => {
                    self.advance();
                    return Ok(labels);
                }
                TokenKind::Comma => {
                    self.advance();
                    if self.peek_kind() == TokenKind::RightParen {
                        self.advance();
                        return Ok(labels);
                    }
                }
                _ => return Err(self.unexpected("grouping opts", "\",\" or \")\"")),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use shared::labels::{METRIC_NAME, MatchOp};

    use crate::promql::parser::ast::{Expr, Grouping, VectorSelector};
    use crate::promql::parser::{parse, parse_metric_selector};

    fn selector(input: &str) -> VectorSelector {
        match parse(input).unwrap_or_else(|e| panic!("{input}: {e}")) {
            Expr::VectorSelector(vs) => vs,
            other => panic!("{other:?}"),
        }
    }

    fn message(input: &str) -> String {
        parse(input).expect_err(input).message
    }

    #[test]
    fn name_and_matchers() {
        let vs =
            selector("http_requests_total{job=\"api\", code!~'5..', path=~`/a.*`, env!=\"\",}");
        let ops: Vec<_> = vs
            .matchers
            .iter()
            .map(|m| (m.name(), m.op(), m.value()))
            .collect();
        assert_eq!(
            ops,
            [
                ("job", MatchOp::Equal, "api"),
                ("code", MatchOp::NotRegex, "5.."),
                ("path", MatchOp::Regex, "/a.*"),
                ("env", MatchOp::NotEqual, ""),
                (METRIC_NAME, MatchOp::Equal, "http_requests_total"),
            ]
        );
        assert_eq!(vs.name.as_deref(), Some("http_requests_total"));
        // Regexes are fully anchored and `.` matches a newline.
        assert!(!vs.matchers[1].matches("500") && vs.matchers[1].matches("500x"));
        assert!(vs.matchers[2].matches("/a\nb"));
        assert_eq!(
            selector("job:rate5m:sum").name.as_deref(),
            Some("job:rate5m:sum")
        );
    }

    #[test]
    fn quoted_utf8_names() {
        let vs = selector("{\"foo.bar\", \"service.name\"=\"x\"}");
        assert_eq!(vs.name, None);
        assert_eq!(
            (vs.matchers[0].name(), vs.matchers[0].value()),
            (METRIC_NAME, "foo.bar")
        );
        assert_eq!(
            (vs.matchers[1].name(), vs.matchers[1].value()),
            ("service.name", "x")
        );
        let Expr::Aggregate(agg) = parse("sum by (\"k8s.pod\", on) (x)").unwrap() else {
            panic!("aggregate")
        };
        assert_eq!(
            agg.grouping,
            Grouping::By(vec!["k8s.pod".into(), "on".into()])
        );
    }

    #[test]
    fn metric_selector_alone_is_not_type_checked() {
        let vs = parse_metric_selector("offset{job=\"\"}").expect("keywords name metrics");
        assert_eq!(vs.name.as_deref(), Some("offset"));
        assert_eq!(vs.matchers.len(), 2);
        assert!(parse_metric_selector("{job=\"\"}").is_ok());
        assert_eq!(
            parse_metric_selector("up[5m]")
                .expect_err("range")
                .to_string(),
            "1:3: parse error: unexpected \"[\""
        );
        assert_eq!(
            parse_metric_selector("").expect_err("empty").message,
            "unexpected end of input"
        );
    }

    #[test]
    fn matcher_errors() {
        assert_eq!(
            message("x{a}"),
            "unexpected \"}\" in label matching, expected label matching operator"
        );
        assert_eq!(
            message("x{a=}"),
            "unexpected \"}\" in label matching, expected string"
        );
        assert_eq!(
            message("x{a=\"b\" c=\"d\"}"),
            "unexpected identifier \"c\" in label matching, expected \",\" or \"}\""
        );
        assert_eq!(
            message("x{,}"),
            "unexpected \",\" in label matching, expected identifier or \"}\""
        );
        assert_eq!(
            message("x{a=\"b\""),
            "unexpected end of input inside braces"
        );
        assert_eq!(
            message("x{1=\"b\"}"),
            "unexpected character inside braces: '1'"
        );
        assert!(message("x{a=~\"(\"}").contains("invalid regular expression"));
        assert_eq!(
            message("x{a=\"\\q\"}"),
            "unknown escape sequence U+0071 'q'"
        );
        assert_eq!(
            message("sum by (\"\") (x)"),
            "invalid label name for grouping: \"\""
        );
    }
}
