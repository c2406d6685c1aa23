//! One `match[]` value to label matchers, as prometheus web/api/v1/api.go `parseMatchersParam`
//! reads it: parsed by the PromQL parser as a bare series selector
//! ([`parse_metric_selector`], upstream's `parser.ParseMetricSelector`), then refused when
//! every matcher accepts the empty string, since it would select every series.
//!
//! It knows nothing of HTTP or of other parameters; [`super::params`] collects the values.

use shared::labels::Matcher;

use crate::promql::parser::{ParseError, parse_metric_selector};

/// Why a `match[]` value was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MatchError {
    /// Not a series selector; displayed as Prometheus's `line:col: parse error: ...`.
    #[error(transparent)]
    Parse(#[from] ParseError),
    /// Every matcher accepts the empty string (`{}`, `{job=""}`, `{a=~".*"}`).
    #[error("match[] must contain at least one non-empty matcher")]
    SelectsEverything,
}

/// The matchers of one `match[]` selector. A metric name written before the braces is the last
/// matcher, `__name__="name"`; a name also given as a matcher (`a{__name__="b"}`) keeps both,
/// as upstream does, and matches nothing.
pub fn parse_match(selector: &str) -> Result<Vec<Matcher>, MatchError> {
    let matchers = parse_metric_selector(selector)?.matchers;
    if matchers.iter().all(Matcher::matches_empty) {
        return Err(MatchError::SelectsEverything);
    }
    Ok(matchers)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    /// The matchers as `name op "value"` strings, for compact comparisons.
    fn parsed(input: &str) -> Vec<String> {
        match parse_match(input) {
            Ok(ms) => ms.iter().map(ToString::to_string).collect(),
            Err(e) => panic!("{input:?} failed: {e}"),
        }
    }

    fn error(input: &str) -> String {
        match parse_match(input) {
            Ok(ms) => panic!("{input:?} parsed as {ms:?}"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn metric_name_becomes_the_last_matcher() {
        assert_eq!(parsed("up"), ["__name__=\"up\""]);
        assert_eq!(
            parsed(r#"up{a="b",c!~"d.*",}"#),
            ["a=\"b\"", "c!~\"d.*\"", "__name__=\"up\""]
        );
        assert_eq!(parsed(r#"{__name__=~"x"}"#), ["__name__=~\"x\""]);
        assert_eq!(
            parsed(r#"{"http.requests", "zone.name"!="eu"}"#),
            ["__name__=\"http.requests\"", "zone.name!=\"eu\""]
        );
    }

    #[test]
    fn keywords_name_metrics_and_a_name_given_twice_is_kept() {
        assert_eq!(parsed("offset"), ["__name__=\"offset\""]);
        assert_eq!(parsed(r#"sum{by="x"}"#), ["by=\"x\"", "__name__=\"sum\""]);
        assert_eq!(
            parsed(r#"foo{__name__="bar"}"#),
            ["__name__=\"bar\"", "__name__=\"foo\""]
        );
    }

    #[test]
    fn selectors_of_everything_are_refused() {
        for input in ["{}", r#"{job=""}"#, r#"{a=~".*", b!="x"}"#] {
            assert_eq!(
                parse_match(input),
                Err(MatchError::SelectsEverything),
                "{input}"
            );
        }
        assert_eq!(parsed(r#"{a=~".+"}"#), ["a=~\".+\""]);
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
                "foo bar",
                r#"1:5: parse error: unexpected identifier "bar""#,
            ),
            ("$", "1:1: parse error: unexpected character: '$'"),
            ("", "1:1: parse error: unexpected end of input"),
            (
                r#"{a="\q"}"#,
                "1:4: parse error: unknown escape sequence U+0071 'q'",
            ),
            ("up[5m]", r#"1:3: parse error: unexpected "[""#),
            (r#"up{a="b"}[5m]"#, r#"1:10: parse error: unexpected "[""#),
            ("up offset 5m", "1:4: parse error: unexpected <offset>"),
            // Prometheus 2.42 garbles this token's name; 3.x says `<op:@>`.
            ("up @ 10", "1:4: parse error: unexpected <op:@>"),
            ("(up)", r#"1:1: parse error: unexpected "(""#),
            ("rate(up[5m])", r#"1:5: parse error: unexpected "(""#),
            ("up}", "1:3: parse error: unexpected character: '}'"),
            (
                r#"{a="b" c="d"}"#,
                r#"1:8: parse error: unexpected identifier "c" in label matching, expected "," or "}""#,
            ),
            ("123", r#"1:1: parse error: unexpected number "123""#),
            ("5m", r#"1:1: parse error: unexpected duration "5m""#),
            ("up + 1", "1:4: parse error: unexpected <op:+>"),
            ("foo,", r#"1:4: parse error: unexpected ",""#),
            (
                "{a=\"b\",\n  c}",
                r#"2:4: parse error: unexpected "}" in label matching, expected label matching operator"#,
            ),
        ];
        for (input, expected) in cases {
            assert_eq!(error(input), expected, "input {input:?}");
        }
        assert!(error(r#"{job=~"("}"#).starts_with("1:2: parse error: invalid regular expression"));
    }

    proptest! {
        #[test]
        fn never_panics_on_arbitrary_input(input in "\\PC{0,40}") {
            let _ = parse_match(&input);
        }

        #[test]
        fn never_panics_on_selector_like_input(input in "[a-z{}=!~\"'`,\\\\ :.0-9xuU\n#\\[\\]@()+]{0,30}") {
            let _ = parse_match(&input);
        }
    }
}
