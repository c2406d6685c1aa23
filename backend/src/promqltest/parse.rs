//! Script text to [`Command`]s: the line rules of Prometheus 3.14 `promql/promqltest/test.go`
//! (`parse`, `getLines`), the error type, and times and durations. The bodies of `load` and
//! `eval` are parsed in `load` and `eval`.
//!
//! Every line is trimmed; a line starting with `#` counts as blank, and a blank line ends a
//! command's body. The first word picks the command (`clear`, `load…`, `eval…`, compared in
//! lower case). In an eval body, a bare number (a scalar result) and the deprecated
//! `expected_fail_message`/`expected_fail_regexp` end the body at once, as upstream; a line
//! after them must be a new command. Times and durations use Prometheus's format
//! ([`parse_duration_ms`]). This module knows nothing of the engine or of result comparison.

use super::eval::parse_eval;
use super::load::parse_load;
use super::series::SeriesError;
use super::{Command, Script};
use crate::promql::parser::literals;

/// A script that does not parse: the 1-based line and what is wrong.
#[derive(Debug, thiserror::Error)]
#[error("line {line}: {kind}")]
pub struct ScriptError {
    /// 1-based line of the problem.
    pub line: usize,
    /// What is wrong.
    pub kind: ScriptErrorKind,
}

/// What is wrong with a script line.
#[derive(Debug, thiserror::Error)]
pub enum ScriptErrorKind {
    /// The first word is no command.
    #[error("invalid command {0:?}")]
    InvalidCommand(String),
    /// A malformed `load` line.
    #[error("invalid load command {0:?}, expected load[_with_nhcb] <interval>")]
    InvalidLoad(String),
    /// A malformed `eval` line.
    #[error(
        "invalid evaluation command {0:?}, expected 'eval[_fail|_warn|_info|_ordered] instant at <time> <query>' or 'eval[_fail|_warn|_info] range from <start> to <end> step <step> <query>'"
    )]
    InvalidEval(String),
    /// A time or duration does not parse.
    #[error("invalid {what} {text:?}: {reason}")]
    Duration {
        /// Which one (`interval`, `time`, `start`, ...).
        what: &'static str,
        /// As written.
        text: String,
        /// Why.
        reason: String,
    },
    /// A range ends before it starts.
    #[error("end timestamp ({end}) is before start timestamp ({start})")]
    EndBeforeStart {
        /// Start as written.
        start: String,
        /// End as written.
        end: String,
    },
    /// A series line does not parse.
    #[error("invalid series: {0}")]
    Series(#[from] SeriesError),
    /// The last value of a loaded series lies beyond the `i64` millisecond range.
    #[error("the series' timestamps overflow")]
    TimestampOverflow,
    /// A malformed or unmatched `metric@st <offsets>` line.
    #[error("invalid @st line: {0}")]
    StartTimestamps(String),
    /// A malformed `expect` line.
    #[error("invalid expect statement {0:?}, expected `expect <type> [msg|regex: <string>]`")]
    InvalidExpect(String),
    /// A regex of `regex:` or `expected_fail_regexp` does not compile.
    #[error("invalid regex {pattern:?}: {reason}")]
    InvalidRegex {
        /// The pattern.
        pattern: String,
        /// Why.
        reason: String,
    },
    /// `expect` lines that contradict each other.
    #[error("invalid expect lines, {0}")]
    ConflictingExpect(&'static str),
    /// `expect string` without a properly quoted string.
    #[error("expected string literal not valid: {0}")]
    InvalidString(&'static str),
    /// Several values for an instant query without `expect range vector`.
    #[error(
        "expecting multiple values in instant evaluation not allowed; use 'expect range vector' for a range vector result"
    )]
    MultipleValuesInInstant,
    /// Expected series, a scalar and a string mixed in one eval.
    #[error("an eval expects only one of: series, a scalar, a string")]
    MixedResults,
}

/// Parses a whole script.
pub fn parse_script(text: &str) -> Result<Script, ScriptError> {
    let lines = script_lines(text);
    let mut commands = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i];
        if line.text.is_empty() {
            i += 1;
            continue;
        }
        let first = line
            .text
            .split([' ', '\t'])
            .next()
            .unwrap_or("")
            .to_ascii_lowercase();
        let (command, next) = if first == "clear" {
            (Command::Clear { line: line.number }, i + 1)
        } else if first.starts_with("load") {
            let (load, next) = parse_load(&lines, i)?;
            (Command::Load(load), next)
        } else if first.starts_with("eval") {
            let (eval, next) = parse_eval(&lines, i)?;
            (Command::Eval(eval), next)
        } else {
            return Err(line.error(ScriptErrorKind::InvalidCommand(line.text.to_owned())));
        };
        commands.push(command);
        i = next;
    }
    Ok(Script { commands })
}

/// Milliseconds in a Prometheus duration (`1m`, `1h30m`, `500ms`, `0`); plain non-negative
/// integers are taken as seconds (a Chorus convenience; upstream's `model.ParseDuration`
/// rejects them).
pub fn parse_duration_ms(text: &str) -> Result<i64, String> {
    if text.is_empty() {
        return Err("empty duration string".to_owned());
    }
    if text.bytes().all(|b| b.is_ascii_digit()) {
        return text
            .parse::<i64>()
            .ok()
            .and_then(|s| s.checked_mul(1000))
            .ok_or_else(|| "duration out of range".to_owned());
    }
    let seconds = literals::duration_seconds(text)?;
    // At most i64::MAX / 10^6 ms, so the product is exact and in range.
    Ok((seconds * 1000.0).round() as i64)
}

/// A trimmed line with its 1-based number and the width of the indentation removed.
#[derive(Debug, Clone, Copy)]
pub(super) struct Line<'a> {
    pub(super) number: usize,
    pub(super) indent: usize,
    pub(super) text: &'a str,
}

impl Line<'_> {
    pub(super) fn error(&self, kind: ScriptErrorKind) -> ScriptError {
        ScriptError {
            line: self.number,
            kind,
        }
    }
}

fn script_lines(text: &str) -> Vec<Line<'_>> {
    text.split('\n')
        .enumerate()
        .map(|(i, raw)| {
            let trimmed = raw.trim_start();
            let indent = raw.len() - trimmed.len();
            let trimmed = trimmed.trim_end();
            let text = if trimmed.starts_with('#') {
                ""
            } else {
                trimmed
            };
            Line {
                number: i + 1,
                indent,
                text,
            }
        })
        .collect()
}

/// The words of a line with their byte offsets.
pub(super) fn words(text: &str) -> Vec<(usize, &str)> {
    let mut out = Vec::new();
    let mut start = None;
    for (i, c) in text
        .char_indices()
        .chain(std::iter::once((text.len(), ' ')))
    {
        match (c.is_whitespace(), start) {
            (true, Some(s)) => {
                out.push((s, &text[s..i]));
                start = None;
            }
            (false, None) => start = Some(i),
            _ => {}
        }
    }
    out
}

pub(super) fn duration(
    line: &Line<'_>,
    what: &'static str,
    text: &str,
) -> Result<i64, ScriptError> {
    parse_duration_ms(text).map_err(|reason| {
        line.error(ScriptErrorKind::Duration {
            what,
            text: text.to_owned(),
            reason,
        })
    })
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::promqltest::SequenceValue;

    fn script(text: &str) -> Vec<Command> {
        parse_script(text)
            .unwrap_or_else(|e| panic!("{text}\n{e}"))
            .commands
    }

    fn error(text: &str) -> ScriptError {
        parse_script(text).expect_err(text)
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration_ms("0"), Ok(0));
        assert_eq!(parse_duration_ms("90"), Ok(90_000));
        assert_eq!(parse_duration_ms("1h30m"), Ok(5_400_000));
        assert_eq!(parse_duration_ms("10s53ms"), Ok(10_053));
        assert_eq!(parse_duration_ms("1d"), Ok(86_400_000));
        assert!(parse_duration_ms("1m1h").is_err());
        assert!(parse_duration_ms("-1m").is_err());
        assert!(parse_duration_ms("").is_err());
        assert!(parse_duration_ms("99999999999999999999").is_err());
    }

    #[test]
    fn errors_carry_lines() {
        let e = error("load 1m\n  m 1\n  n 1+\n");
        assert_eq!(e.line, 3);
        assert!(
            matches!(&e.kind, ScriptErrorKind::Series(s) if s.column == 5),
            "{e}"
        );
        assert!(
            e.to_string()
                .starts_with("line 3: invalid series: column 5:"),
            "{e}"
        );
        assert!(
            matches!(error("\n\nfoo bar\n").kind, ScriptErrorKind::InvalidCommand(t) if t == "foo bar")
        );
        assert_eq!(error("\n\nfoo bar\n").line, 3);
        assert!(matches!(
            error("load\n").kind,
            ScriptErrorKind::InvalidLoad(_)
        ));
        assert!(matches!(
            error("LOAD 1m\n").kind,
            ScriptErrorKind::InvalidLoad(_)
        ));
        assert!(matches!(
            error("load 1m\n  m 1x9223372036854\n").kind,
            ScriptErrorKind::Series(_)
        ));
        assert!(matches!(
            error("load 9000000000000000\n  m 1x2000\n").kind,
            ScriptErrorKind::TimestampOverflow
        ));
    }

    #[test]
    fn comments_end_bodies() {
        assert!(matches!(
            error("load 1m\n  a 1\n  # c\n  b 2\n").kind,
            ScriptErrorKind::InvalidCommand(_)
        ));
        let commands = script("load 1m\n  a 1\n# c\neval instant at 0 a # not a comment\n  # c\n");
        assert!(matches!(&commands[1], Command::Eval(e) if e.expr == "a # not a comment"));
    }

    proptest! {
        #[test]
        fn arbitrary_text_never_panics(text in "\\PC{0,200}") {
            let _ = parse_script(&text);
        }

        #[test]
        fn script_like_text_never_panics(
            lines in proptest::collection::vec(
                proptest::sample::select(vec![
                    "load 1m", "load_with_nhcb 5m", "eval instant at 1m m", "eval range from 0 to 1m step 30s m",
                    "eval_fail instant at 0 m", "clear", "", "# c", "expect fail", "expect warn msg: x",
                    "expect range vector from 0 to 1m step 1m", "expect string \"a\"", "expected_fail_message x",
                    "m{a=\"b\"} 1+2x3 _ stale", "{{schema:1 sum:3 buckets:[1 2]}}+{{buckets:[1]}}x2",
                    "m@st _ 0x2", "m 1 2 3", "1", "m {{schema:-53 custom_values:[1] buckets:[1]}}x1",
                ]),
                0..12,
            ),
            cut in 0usize..400,
        ) {
            let text = lines.join("\n");
            let mut cut = cut.min(text.len());
            while !text.is_char_boundary(cut) {
                cut -= 1;
            }
            if let Err(e) = parse_script(&text[..cut]) {
                prop_assert!(e.line >= 1);
            }
        }

        #[test]
        fn series_values_expand_exactly(start in -1000i32..1000, step in -50i32..50, times in 0usize..40) {
            let sign = if step < 0 { '-' } else { '+' };
            let text = format!("load 1m\n  m {start}{sign}{}x{times}\n", step.abs());
            let commands = script(&text);
            let Command::Load(load) = &commands[0] else { panic!() };
            let samples: Vec<_> = load.series[0].samples(load.interval_ms).collect();
            prop_assert_eq!(samples.len(), times + 1);
            for (i, s) in samples.iter().enumerate() {
                prop_assert_eq!(s.t_ms, i as i64 * 60_000);
                prop_assert_eq!(s.value, &SequenceValue::Float(f64::from(start) + i as f64 * f64::from(step)));
            }
        }
    }
}
