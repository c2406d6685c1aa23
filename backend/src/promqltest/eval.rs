//! `eval` commands: the header (`instant at`, `range from … to … step`), `expect` lines,
//! expected series, scalars and strings, and the deprecated `eval_*` / `expected_fail_*` forms
//! (Prometheus 3.14 `promql/promqltest/test.go`: `parseEval`, `parseExpect`,
//! `validateExpectedCmds`, `parseExpectRangeVector`, `parseAsStringLiteral`, `parseNumber`).
//! Keeps the expression as text; knows nothing of the PromQL parser's tree or the engine.

use regex::Regex;

use super::parse::{Line, ScriptError, ScriptErrorKind, duration, words};
use super::series::parse_series;
use super::{
    Eval, ExpectKind, Expectation, Expected, ExpectedSeries, MessageMatch, Query,
    RangeVectorExpectation,
};
use crate::promql::parser::literals;

/// What the eval body has gathered so far.
struct EvalBuilder {
    eval: Eval,
    /// Kinds from `expect` lines only: upstream validates those apart from the `eval_*` flags.
    expect_line_kinds: Vec<ExpectKind>,
    /// Index in `eval.expectations` of the `eval_fail` expectation.
    legacy_fail: Option<usize>,
}

/// `eval ...` and its body; returns the index of the line after the body.
pub(super) fn parse_eval(lines: &[Line<'_>], i: usize) -> Result<(Eval, usize), ScriptError> {
    let header = lines[i];
    let mut builder = parse_eval_header(&header)?;
    let mut j = i + 1;
    while j < lines.len() && !lines[j].text.is_empty() {
        let line = lines[j];
        j += 1;
        if !parse_eval_line(&mut builder, &line)? {
            break;
        }
    }
    Ok((builder.eval, j))
}

fn parse_eval_header(header: &Line<'_>) -> Result<EvalBuilder, ScriptError> {
    let invalid = || header.error(ScriptErrorKind::InvalidEval(header.text.to_owned()));
    let w = words(header.text);
    let word = |k: usize| w.get(k).map_or("", |(_, s)| *s);
    let legacy = match word(0) {
        "eval" => None,
        "eval_fail" => Some(ExpectKind::Fail),
        "eval_warn" => Some(ExpectKind::Warn),
        "eval_info" => Some(ExpectKind::Info),
        "eval_ordered" => Some(ExpectKind::Ordered),
        _ => return Err(invalid()),
    };
    let (query, expr_word) = match (word(1), word(2)) {
        ("instant", "at") => (
            Query::Instant {
                at_ms: duration(header, "time", word(3))?,
            },
            4,
        ),
        ("range", "from")
            if word(4) == "to" && word(6) == "step" && legacy != Some(ExpectKind::Ordered) =>
        {
            let (start, end) = (word(3), word(5));
            let start_ms = duration(header, "start", start)?;
            let end_ms = duration(header, "end", end)?;
            if end_ms < start_ms {
                let kind = ScriptErrorKind::EndBeforeStart {
                    start: start.to_owned(),
                    end: end.to_owned(),
                };
                return Err(header.error(kind));
            }
            let step_ms = duration(header, "step", word(7))?;
            (
                Query::Range {
                    start_ms,
                    end_ms,
                    step_ms,
                },
                8,
            )
        }
        _ => return Err(invalid()),
    };
    let &(expr_start, _) = w.get(expr_word).ok_or_else(invalid)?;
    let expectations: Vec<Expectation> = legacy
        .map(|kind| Expectation {
            line: header.number,
            kind,
            message: MessageMatch::Any,
        })
        .into_iter()
        .collect();
    let eval = Eval {
        line: header.number,
        expr: header.text[expr_start..].to_owned(),
        expr_column: header.indent + expr_start + 1,
        query,
        expectations,
        range_vector: None,
        expected: Expected::Series(Vec::new()),
    };
    let legacy_fail = (legacy == Some(ExpectKind::Fail)).then_some(0);
    Ok(EvalBuilder {
        eval,
        expect_line_kinds: Vec::new(),
        legacy_fail,
    })
}

/// One body line of an eval; `false` when the body ends after it.
fn parse_eval_line(b: &mut EvalBuilder, line: &Line<'_>) -> Result<bool, ScriptError> {
    let text = line.text;
    if let Some(index) = b.legacy_fail {
        if let Some(message) = text.strip_prefix("expected_fail_message") {
            b.eval.expectations[index].message = MessageMatch::Exact(message.trim().to_owned());
            return Ok(false);
        }
        if let Some(pattern) = text.strip_prefix("expected_fail_regexp") {
            b.eval.expectations[index].message = MessageMatch::Regex(regex(line, pattern.trim())?);
            return Ok(false);
        }
    }
    if text.starts_with("expect range vector") {
        b.eval.range_vector = Some(range_vector(line)?);
        return Ok(true);
    }
    if text.starts_with("expect string") {
        let value = string_literal(line)?;
        if b.eval.expected != Expected::Series(Vec::new()) {
            return Err(line.error(ScriptErrorKind::MixedResults));
        }
        b.eval.expected = Expected::String {
            line: line.number,
            value,
        };
        return Ok(true);
    }
    if text.split(' ').next() == Some("expect") {
        let expectation = expect_line(line)?;
        b.expect_line_kinds.push(expectation.kind);
        b.eval.expectations.push(expectation);
        return validate_expect_lines(&b.expect_line_kinds)
            .map(|()| true)
            .map_err(|m| line.error(m));
    }
    if let Some(value) = go_number(text) {
        if b.eval.expected != Expected::Series(Vec::new()) {
            return Err(line.error(ScriptErrorKind::MixedResults));
        }
        b.eval.expected = Expected::Scalar {
            line: line.number,
            value,
        };
        return Ok(false);
    }
    let description = parse_series(text).map_err(|e| line.error(e.into()))?;
    let instant = matches!(b.eval.query, Query::Instant { .. });
    if instant && description.values.len() > 1 && b.eval.range_vector.is_none() {
        return Err(line.error(ScriptErrorKind::MultipleValuesInInstant));
    }
    let Expected::Series(series) = &mut b.eval.expected else {
        return Err(line.error(ScriptErrorKind::MixedResults));
    };
    series.push(ExpectedSeries {
        line: line.number,
        labels: description.labels,
        values: description.values,
    });
    Ok(true)
}

fn regex(line: &Line<'_>, pattern: &str) -> Result<Regex, ScriptError> {
    Regex::new(pattern).map_err(|e| {
        line.error(ScriptErrorKind::InvalidRegex {
            pattern: pattern.to_owned(),
            reason: e.to_string(),
        })
    })
}

/// `expect <type> [msg: <text> | regex: <pattern>]`.
fn expect_line(line: &Line<'_>) -> Result<Expectation, ScriptError> {
    let invalid = || line.error(ScriptErrorKind::InvalidExpect(line.text.to_owned()));
    let rest = line.text.strip_prefix("expect").unwrap_or("").trim_start();
    let kind_end = rest.find(char::is_whitespace).unwrap_or(rest.len());
    let kind = match &rest[..kind_end] {
        "fail" => ExpectKind::Fail,
        "warn" => ExpectKind::Warn,
        "no_warn" => ExpectKind::NoWarn,
        "info" => ExpectKind::Info,
        "no_info" => ExpectKind::NoInfo,
        "ordered" => ExpectKind::Ordered,
        _ => return Err(invalid()),
    };
    let matcher = rest[kind_end..].trim_start();
    let message = if matcher.is_empty() {
        MessageMatch::Any
    } else if let Some(text) = matcher.strip_prefix("msg:").filter(|t| !t.is_empty()) {
        MessageMatch::Exact(text.trim().to_owned())
    } else if let Some(pattern) = matcher.strip_prefix("regex:").filter(|t| !t.is_empty()) {
        MessageMatch::Regex(regex(line, pattern.trim())?)
    } else {
        return Err(invalid());
    };
    Ok(Expectation {
        line: line.number,
        kind,
        message,
    })
}

/// Upstream `validateExpectedCmds`, over the `expect` lines seen so far.
fn validate_expect_lines(kinds: &[ExpectKind]) -> Result<(), ScriptErrorKind> {
    let has = |k: ExpectKind| kinds.contains(&k);
    if has(ExpectKind::Info) && has(ExpectKind::NoInfo) {
        return Err(ScriptErrorKind::ConflictingExpect(
            "info and no_info cannot be used together",
        ));
    }
    if has(ExpectKind::Warn) && has(ExpectKind::NoWarn) {
        return Err(ScriptErrorKind::ConflictingExpect(
            "warn and no_warn cannot be used together",
        ));
    }
    if kinds.iter().filter(|k| **k == ExpectKind::Fail).count() > 1 {
        return Err(ScriptErrorKind::ConflictingExpect(
            "multiple expect fail lines are not allowed",
        ));
    }
    Ok(())
}

/// `expect range vector from <start> to <end> step <step>`.
fn range_vector(line: &Line<'_>) -> Result<RangeVectorExpectation, ScriptError> {
    let w: Vec<&str> = words(line.text).into_iter().map(|(_, s)| s).collect();
    let [
        "expect",
        "range",
        "vector",
        "from",
        start,
        "to",
        end,
        "step",
        step,
    ] = w[..]
    else {
        return Err(line.error(ScriptErrorKind::InvalidExpect(line.text.to_owned())));
    };
    let start_ms = duration(line, "start", start)?;
    let end_ms = duration(line, "end", end)?;
    if end_ms < start_ms {
        let kind = ScriptErrorKind::EndBeforeStart {
            start: start.to_owned(),
            end: end.to_owned(),
        };
        return Err(line.error(kind));
    }
    let step_ms = duration(line, "step", step)?;
    Ok(RangeVectorExpectation {
        line: line.number,
        start_ms,
        end_ms,
        step_ms,
    })
}

/// The quoted string of `expect string "..."` (double or back quotes).
fn string_literal(line: &Line<'_>) -> Result<String, ScriptError> {
    let quoted = line
        .text
        .strip_prefix("expect string")
        .unwrap_or("")
        .trim_start();
    if quoted.is_empty() {
        return Err(line.error(ScriptErrorKind::InvalidString(
            "a quoted string literal is required",
        )));
    }
    if !quoted.starts_with(['"', '`']) {
        return Err(line.error(ScriptErrorKind::InvalidString(
            "check that the string is correctly quoted",
        )));
    }
    literals::unquote(quoted).map_err(|_| {
        line.error(ScriptErrorKind::InvalidString(
            "check that the string is correctly quoted",
        ))
    })
}

/// A bare number line (upstream `parseNumber`: Go's `ParseInt(s, 0, 64)`, then `ParseFloat`).
fn go_number(text: &str) -> Option<f64> {
    let (negative, body) = match text.as_bytes().first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    if !body.starts_with(|c: char| c.is_ascii_alphanumeric() || c == '.') {
        return None;
    }
    let value = match body.to_ascii_lowercase().as_str() {
        "inf" | "infinity" => f64::INFINITY,
        "nan" => f64::NAN,
        _ => literals::number(body).ok()?,
    };
    Some(if negative { -value } else { value })
}

#[cfg(test)]
mod tests {
    use crate::promqltest::parse::{ScriptError, ScriptErrorKind};
    use crate::promqltest::*;

    fn script(text: &str) -> Vec<Command> {
        parse_script(text)
            .unwrap_or_else(|e| panic!("{text}\n{e}"))
            .commands
    }

    fn error(text: &str) -> ScriptError {
        parse_script(text).expect_err(text)
    }

    fn eval(text: &str) -> Eval {
        match script(text).into_iter().next() {
            Some(Command::Eval(eval)) => eval,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn instant_and_range_headers() {
        let e = eval("\n  eval instant at 1h30m sum by (a) (m)  \n");
        assert_eq!(
            (e.line, e.expr.as_str(), e.expr_column),
            (2, "sum by (a) (m)", 25)
        );
        assert_eq!(e.query, Query::Instant { at_ms: 5_400_000 });
        assert_eq!(e.expected, Expected::Series(Vec::new()));
        let e = eval("eval range from 0 to 10m step 30s rate(m[1m])\n  {} 1 _ 2");
        assert_eq!(
            e.query,
            Query::Range {
                start_ms: 0,
                end_ms: 600_000,
                step_ms: 30_000
            }
        );
        let Expected::Series(series) = &e.expected else {
            panic!()
        };
        assert_eq!(
            series[0].values,
            vec![
                SequenceValue::Float(1.0),
                SequenceValue::Missing,
                SequenceValue::Float(2.0)
            ]
        );
        for bad in [
            "eval instant 1m m",
            "eval instant at 1m",
            "eval range from 0 to 1m m",
            "eval_ordered range from 0 to 1m step 1m m",
            "eval_bogus instant at 0 m",
            "evaluate instant at 0 m",
        ] {
            assert!(
                matches!(error(bad).kind, ScriptErrorKind::InvalidEval(_)),
                "{bad}"
            );
        }
        assert!(matches!(
            error("eval range from 2m to 1m step 1m m").kind,
            ScriptErrorKind::EndBeforeStart { .. }
        ));
        assert!(matches!(
            error("eval instant at 1x m").kind,
            ScriptErrorKind::Duration { what: "time", .. }
        ));
    }

    #[test]
    fn expect_lines() {
        let e = eval(
            "eval instant at 0 m\n  expect warn msg: PromQL warning: x (1:5)\n  expect info regex: a|b\n  expect fail\n  expect ordered\n",
        );
        let kinds: Vec<ExpectKind> = e.expectations.iter().map(|x| x.kind).collect();
        assert_eq!(
            kinds,
            vec![
                ExpectKind::Warn,
                ExpectKind::Info,
                ExpectKind::Fail,
                ExpectKind::Ordered
            ]
        );
        assert!(
            matches!(&e.expectations[0].message, MessageMatch::Exact(m) if m == "PromQL warning: x (1:5)")
        );
        assert!(
            e.expectations[1].message.matches("xxbxx") && !e.expectations[1].message.matches("c")
        );
        assert_eq!(e.expectations[2].line, 4);
        assert!(e.expects_order() && e.expects_failure());
        for (bad, kind) in [
            ("expect fail\n  expect fail", "conflict"),
            ("expect info\n  expect no_info", "conflict"),
            ("expect maybe", "invalid"),
            ("expect fail msg:", "invalid"),
            ("expect fail text: x", "invalid"),
            ("expect fail regex: (", "regex"),
        ] {
            let e = error(&format!("eval instant at 0 m\n  {bad}\n"));
            let ok = match kind {
                "conflict" => matches!(e.kind, ScriptErrorKind::ConflictingExpect(_)),
                "invalid" => matches!(e.kind, ScriptErrorKind::InvalidExpect(_)),
                _ => matches!(e.kind, ScriptErrorKind::InvalidRegex { .. }),
            };
            assert!(ok, "{bad}: {e}");
        }
        // A metric called `expect` is still a series when written with braces.
        let e = eval("eval instant at 0 expect\n  expect{} 1\n");
        assert!(matches!(&e.expected, Expected::Series(s) if s.len() == 1));
    }

    #[test]
    fn deprecated_variants() {
        let e = eval(
            "eval_fail instant at 0 m\n  expected_fail_message vector cannot contain metrics\n",
        );
        assert!(
            matches!(&e.expectations[..], [Expectation { kind: ExpectKind::Fail, line: 1, message: MessageMatch::Exact(m) }] if m == "vector cannot contain metrics")
        );
        let e = eval("eval_fail instant at 0 m\n  expected_fail_regexp vector .* metrics\n");
        assert!(
            e.expectations[0]
                .message
                .matches("vector cannot contain metrics")
        );
        // Upstream ends the body after the message line: the next line must be a command.
        assert!(matches!(
            error("eval_fail instant at 0 m\n  expected_fail_message x\n  m 1\n").kind,
            ScriptErrorKind::InvalidCommand(_)
        ));
        for (head, kind) in [
            ("eval_warn", ExpectKind::Warn),
            ("eval_info", ExpectKind::Info),
            ("eval_ordered", ExpectKind::Ordered),
        ] {
            let e = eval(&format!("{head} instant at 0 m\n"));
            assert_eq!(
                e.expectations.iter().map(|x| x.kind).collect::<Vec<_>>(),
                vec![kind]
            );
        }
        // `expect fail` besides `eval_fail` is allowed, as upstream keeps them apart.
        assert!(eval("eval_fail instant at 0 m\n expect fail\n").expects_failure());
    }

    #[test]
    fn scalar_string_and_range_vector_results() {
        assert_eq!(
            eval("eval instant at 0 1\n  -0.5e1\n").expected,
            Expected::Scalar {
                line: 2,
                value: -5.0
            }
        );
        assert!(
            matches!(eval("eval instant at 0 x\n  NaN\n").expected, Expected::Scalar { value, .. } if value.is_nan())
        );
        assert_eq!(
            eval("eval instant at 0 x\n  +Inf\n").expected,
            Expected::Scalar {
                line: 2,
                value: f64::INFINITY
            }
        );
        assert_eq!(
            eval("eval instant at 0 \"a\"\n  expect string \" a\\n\"\n").expected,
            Expected::String {
                line: 2,
                value: " a\n".into()
            }
        );
        assert_eq!(
            eval("eval instant at 0 `a`\n\texpect string `a\\n`\n").expected,
            Expected::String {
                line: 2,
                value: "a\\n".into()
            }
        );
        for bad in ["expect string", "expect string foo", "expect string \"foo"] {
            let e = error(&format!("eval instant at 0 \"a\"\n  {bad}\n"));
            assert!(
                matches!(e.kind, ScriptErrorKind::InvalidString(_)),
                "{bad}: {e}"
            );
        }
        let e = eval(
            "eval instant at 1m m[1m]\n  expect range vector from 10s to 1m step 10s\n  m 1 2 3 4 5 6\n",
        );
        assert_eq!(
            e.range_vector,
            Some(RangeVectorExpectation {
                line: 2,
                start_ms: 10_000,
                end_ms: 60_000,
                step_ms: 10_000
            })
        );
        assert!(matches!(
            error("eval instant at 1m m\n  m 1 2\n").kind,
            ScriptErrorKind::MultipleValuesInInstant
        ));
        assert!(matches!(
            error("eval instant at 1m m\n  m 1\n  3\n").kind,
            ScriptErrorKind::MixedResults
        ));
        assert!(matches!(
            error("eval instant at 1m m\n  expect string \"a\"\n  m 1\n").kind,
            ScriptErrorKind::MixedResults
        ));
        // A scalar line ends the body.
        assert!(matches!(
            error("eval instant at 0 1\n  1\n  2\n").kind,
            ScriptErrorKind::InvalidCommand(_)
        ));
    }
}
