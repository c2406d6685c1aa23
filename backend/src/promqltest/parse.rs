//! Script text to [`Command`]s: the line rules of Prometheus 3.14 `promql/promqltest/test.go`
//! (`parse`, `parseLoad`, `parseEval`, `parseExpect`, `parseSTLine`).
//!
//! Every line is trimmed; a line starting with `#` counts as blank, and a blank line ends a
//! command's body. The first word picks the command (`clear`, `load…`, `eval…`, compared in
//! lower case). In an eval body, a bare number (a scalar result) and the deprecated
//! `expected_fail_message`/`expected_fail_regexp` end the body at once, as upstream; a line
//! after them must be a new command. Times and durations use Prometheus's format
//! ([`parse_duration_ms`]). This module knows nothing of the engine or of result comparison.

use regex::Regex;
use shared::labels::Labels;

use super::series::{MAX_VALUES, SeriesError, parse_series};
use super::{
    Command, Eval, ExpectKind, Expectation, Expected, ExpectedSeries, Load, LoadSeries, MessageMatch, Query,
    RangeVectorExpectation, Script,
};
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
        let first = line.text.split([' ', '\t']).next().unwrap_or("").to_ascii_lowercase();
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
struct Line<'a> {
    number: usize,
    indent: usize,
    text: &'a str,
}

impl Line<'_> {
    fn error(&self, kind: ScriptErrorKind) -> ScriptError {
        ScriptError { line: self.number, kind }
    }
}

fn script_lines(text: &str) -> Vec<Line<'_>> {
    text.split('\n')
        .enumerate()
        .map(|(i, raw)| {
            let trimmed = raw.trim_start();
            let indent = raw.len() - trimmed.len();
            let trimmed = trimmed.trim_end();
            let text = if trimmed.starts_with('#') { "" } else { trimmed };
            Line { number: i + 1, indent, text }
        })
        .collect()
}

/// The words of a line with their byte offsets.
fn words(text: &str) -> Vec<(usize, &str)> {
    let mut out = Vec::new();
    let mut start = None;
    for (i, c) in text.char_indices().chain(std::iter::once((text.len(), ' '))) {
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

fn duration(line: &Line<'_>, what: &'static str, text: &str) -> Result<i64, ScriptError> {
    parse_duration_ms(text).map_err(|reason| {
        line.error(ScriptErrorKind::Duration { what, text: text.to_owned(), reason })
    })
}

/// `load <interval>` and its series lines; returns the index of the line after the body.
fn parse_load(lines: &[Line<'_>], i: usize) -> Result<(Load, usize), ScriptError> {
    let header = lines[i];
    let (with_nhcb, rest) = if let Some(rest) = header.text.strip_prefix("load_with_nhcb") {
        (true, rest)
    } else {
        (false, header.text.strip_prefix("load").unwrap_or(""))
    };
    if !rest.starts_with([' ', '\t']) || rest.trim().is_empty() {
        return Err(header.error(ScriptErrorKind::InvalidLoad(header.text.to_owned())));
    }
    let interval_ms = duration(&header, "interval", rest.trim())?;
    let mut series: Vec<LoadSeries> = Vec::new();
    let mut pending: Option<(Line<'_>, Labels, Vec<Option<i64>>)> = None;
    let mut j = i + 1;
    while j < lines.len() && !lines[j].text.is_empty() {
        let line = lines[j];
        j += 1;
        if let Some((labels, offsets)) = start_timestamp_line(&line)? {
            if let Some((st_line, ..)) = pending {
                return Err(st_line.error(st_error("no following sample line")));
            }
            pending = Some((line, labels, offsets));
            continue;
        }
        let description = parse_series(line.text).map_err(|e| line.error(e.into()))?;
        let last = i64::try_from(description.values.len().saturating_sub(1)).unwrap_or(i64::MAX);
        if last.checked_mul(interval_ms).is_none() {
            return Err(line.error(ScriptErrorKind::TimestampOverflow));
        }
        let start_offsets_ms = match pending.take() {
            None => None,
            Some((st_line, labels, offsets)) => {
                if labels != description.labels {
                    return Err(st_line.error(st_error("metric does not match the following sample line")));
                }
                if offsets.len() != description.values.len() {
                    let message = format!(
                        "@st line has {} values but sample line has {}",
                        offsets.len(),
                        description.values.len()
                    );
                    return Err(st_line.error(ScriptErrorKind::StartTimestamps(message)));
                }
                Some(offsets)
            }
        };
        series.push(LoadSeries {
            line: line.number,
            labels: description.labels,
            values: description.values,
            start_offsets_ms,
        });
    }
    if let Some((st_line, ..)) = pending {
        return Err(st_line.error(st_error("no following sample line")));
    }
    let load = Load { line: header.number, interval_ms, with_nhcb, series };
    Ok((load, j))
}

fn st_error(message: &str) -> ScriptErrorKind {
    ScriptErrorKind::StartTimestamps(message.to_owned())
}

/// `metric{labels}@st <offsets>` (the first word ends in `@st`): labels and offsets in ms.
fn start_timestamp_line(line: &Line<'_>) -> Result<Option<(Labels, Vec<Option<i64>>)>, ScriptError> {
    let Some(space) = line.text.find([' ', '\t']) else {
        return Ok(None);
    };
    let Some(metric) = line.text[..space].strip_suffix("@st") else {
        return Ok(None);
    };
    let labels = parse_series(metric)
        .map_err(|e| line.error(ScriptErrorKind::StartTimestamps(format!("metric {metric:?}: {e}"))))?
        .labels;
    let mut offsets = Vec::new();
    for item in line.text[space..].split_whitespace() {
        start_timestamp_item(item, &mut offsets)
            .map_err(|m| line.error(ScriptErrorKind::StartTimestamps(format!("item {item:?}: {m}"))))?;
    }
    Ok(Some((labels, offsets)))
}

/// One `@st` item: `_`, `_xN`, `<d>`, `<d>xN`, `<d>+<d>xN` or `<d>-<d>xN` (upstream
/// `parseSTItem`); `N` counts repeats after the first, except for `_xN`.
fn start_timestamp_item(item: &str, out: &mut Vec<Option<i64>>) -> Result<(), String> {
    let count = |digits: &str| digits.parse::<usize>().map_err(|_| "invalid repeat count".to_owned());
    let room = |n: usize| {
        if out.len().saturating_add(n) > MAX_VALUES {
            Err(format!("more than {MAX_VALUES} values"))
        } else {
            Ok(())
        }
    };
    if item == "_" {
        out.push(None);
        return Ok(());
    }
    if let Some(digits) = item.strip_prefix("_x") {
        let n = count(digits)?;
        if n == 0 {
            return Err("invalid repeat count".into());
        }
        room(n)?;
        out.extend(std::iter::repeat_n(None, n));
        return Ok(());
    }
    let (base, rest) = duration_prefix(item)?;
    let (delta, rest) = match rest.as_bytes().first() {
        None => {
            out.push(Some(base));
            return Ok(());
        }
        Some(b'x') => (0, rest),
        Some(b'+') => duration_prefix(&rest[1..])?,
        Some(b'-') => {
            let (d, r) = duration_prefix(&rest[1..])?;
            (-d, r)
        }
        Some(_) => return Err("unexpected character after duration".into()),
    };
    let n = count(rest.strip_prefix('x').ok_or("expected 'x<count>' after step duration")?)?;
    room(n.saturating_add(1))?;
    let mut offset = base;
    for _ in 0..=n {
        out.push(Some(offset));
        offset = offset.checked_add(delta).ok_or("offset out of range")?;
    }
    Ok(())
}

/// A signed duration at the start of `s` (digits, then letters other than `x`), in ms.
fn duration_prefix(s: &str) -> Result<(i64, &str), String> {
    let (negative, body) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let digits = body.bytes().take_while(u8::is_ascii_digit).count();
    if digits == 0 {
        return Err(format!("expected digits in duration {s:?}"));
    }
    let unit = body[digits..].bytes().take_while(|b| b.is_ascii_alphabetic() && *b != b'x').count();
    let text = &body[..digits + unit];
    let seconds = literals::duration_seconds(text)?;
    let ms = (seconds * 1000.0).round() as i64;
    Ok((if negative { -ms } else { ms }, &body[digits + unit..]))
}

/// What the eval body has gathered so far.
struct EvalBuilder {
    eval: Eval,
    /// Kinds from `expect` lines only: upstream validates those apart from the `eval_*` flags.
    expect_line_kinds: Vec<ExpectKind>,
    /// Index in `eval.expectations` of the `eval_fail` expectation.
    legacy_fail: Option<usize>,
}

/// `eval ...` and its body; returns the index of the line after the body.
fn parse_eval(lines: &[Line<'_>], i: usize) -> Result<(Eval, usize), ScriptError> {
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
        ("instant", "at") => (Query::Instant { at_ms: duration(header, "time", word(3))? }, 4),
        ("range", "from") if word(4) == "to" && word(6) == "step" && legacy != Some(ExpectKind::Ordered) => {
            let (start, end) = (word(3), word(5));
            let start_ms = duration(header, "start", start)?;
            let end_ms = duration(header, "end", end)?;
            if end_ms < start_ms {
                let kind = ScriptErrorKind::EndBeforeStart { start: start.to_owned(), end: end.to_owned() };
                return Err(header.error(kind));
            }
            let step_ms = duration(header, "step", word(7))?;
            (Query::Range { start_ms, end_ms, step_ms }, 8)
        }
        _ => return Err(invalid()),
    };
    let &(expr_start, _) = w.get(expr_word).ok_or_else(invalid)?;
    let expectations: Vec<Expectation> = legacy
        .map(|kind| Expectation { line: header.number, kind, message: MessageMatch::Any })
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
    Ok(EvalBuilder { eval, expect_line_kinds: Vec::new(), legacy_fail })
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
        b.eval.expected = Expected::String { line: line.number, value };
        return Ok(true);
    }
    if text.split(' ').next() == Some("expect") {
        let expectation = expect_line(line)?;
        b.expect_line_kinds.push(expectation.kind);
        b.eval.expectations.push(expectation);
        return validate_expect_lines(&b.expect_line_kinds).map(|()| true).map_err(|m| line.error(m));
    }
    if let Some(value) = go_number(text) {
        if b.eval.expected != Expected::Series(Vec::new()) {
            return Err(line.error(ScriptErrorKind::MixedResults));
        }
        b.eval.expected = Expected::Scalar { line: line.number, value };
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
    series.push(ExpectedSeries { line: line.number, labels: description.labels, values: description.values });
    Ok(true)
}

fn regex(line: &Line<'_>, pattern: &str) -> Result<Regex, ScriptError> {
    Regex::new(pattern).map_err(|e| {
        line.error(ScriptErrorKind::InvalidRegex { pattern: pattern.to_owned(), reason: e.to_string() })
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
    Ok(Expectation { line: line.number, kind, message })
}

/// Upstream `validateExpectedCmds`, over the `expect` lines seen so far.
fn validate_expect_lines(kinds: &[ExpectKind]) -> Result<(), ScriptErrorKind> {
    let has = |k: ExpectKind| kinds.contains(&k);
    if has(ExpectKind::Info) && has(ExpectKind::NoInfo) {
        return Err(ScriptErrorKind::ConflictingExpect("info and no_info cannot be used together"));
    }
    if has(ExpectKind::Warn) && has(ExpectKind::NoWarn) {
        return Err(ScriptErrorKind::ConflictingExpect("warn and no_warn cannot be used together"));
    }
    if kinds.iter().filter(|k| **k == ExpectKind::Fail).count() > 1 {
        return Err(ScriptErrorKind::ConflictingExpect("multiple expect fail lines are not allowed"));
    }
    Ok(())
}

/// `expect range vector from <start> to <end> step <step>`.
fn range_vector(line: &Line<'_>) -> Result<RangeVectorExpectation, ScriptError> {
    let w: Vec<&str> = words(line.text).into_iter().map(|(_, s)| s).collect();
    let ["expect", "range", "vector", "from", start, "to", end, "step", step] = w[..] else {
        return Err(line.error(ScriptErrorKind::InvalidExpect(line.text.to_owned())));
    };
    let start_ms = duration(line, "start", start)?;
    let end_ms = duration(line, "end", end)?;
    if end_ms < start_ms {
        let kind = ScriptErrorKind::EndBeforeStart { start: start.to_owned(), end: end.to_owned() };
        return Err(line.error(kind));
    }
    let step_ms = duration(line, "step", step)?;
    Ok(RangeVectorExpectation { line: line.number, start_ms, end_ms, step_ms })
}

/// The quoted string of `expect string "..."` (double or back quotes).
fn string_literal(line: &Line<'_>) -> Result<String, ScriptError> {
    let quoted = line.text.strip_prefix("expect string").unwrap_or("").trim_start();
    if quoted.is_empty() {
        return Err(line.error(ScriptErrorKind::InvalidString("a quoted string literal is required")));
    }
    if !quoted.starts_with(['"', '`']) {
        return Err(line.error(ScriptErrorKind::InvalidString("check that the string is correctly quoted")));
    }
    literals::unquote(quoted)
        .map_err(|_| line.error(ScriptErrorKind::InvalidString("check that the string is correctly quoted")))
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
    use proptest::prelude::*;
    use shared::labels::Labels;

    use super::*;
    use crate::promqltest::SequenceValue;

    fn script(text: &str) -> Vec<Command> {
        parse_script(text).unwrap_or_else(|e| panic!("{text}\n{e}")).commands
    }

    fn eval(text: &str) -> Eval {
        match script(text).into_iter().next() {
            Some(Command::Eval(eval)) => eval,
            other => panic!("{other:?}"),
        }
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
    fn load_with_timestamps_and_nhcb() {
        let commands = script("# c\nload 30s\n  a{x=\"1\"} 1 _ 3\n\tb 5x1\n\nload_with_nhcb 1m\n  c_bucket{le=\"1\"} 1\n\nclear\n");
        let [Command::Load(first), Command::Load(second), Command::Clear { line: 9 }] = &commands[..] else {
            panic!("{commands:?}")
        };
        assert_eq!((first.line, first.interval_ms, first.with_nhcb), (2, 30_000, false));
        assert_eq!(first.series.iter().map(|s| s.line).collect::<Vec<_>>(), vec![3, 4]);
        let a = &first.series[0];
        assert_eq!(a.labels, Labels::from_pairs([("__name__", "a"), ("x", "1")]));
        let times: Vec<(i64, f64)> = a
            .samples(first.interval_ms)
            .map(|s| match s.value {
                SequenceValue::Float(v) => (s.t_ms, *v),
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(times, vec![(0, 1.0), (60_000, 3.0)]);
        assert!(second.with_nhcb && second.interval_ms == 60_000);
    }

    #[test]
    fn start_timestamp_lines() {
        let commands = script("load 1m\n  m{a=\"b\"}@st _ -30s-1mx1 0x1\n  m{a=\"b\"} 1 2 3 4 5\n");
        let Command::Load(load) = &commands[0] else { panic!() };
        let series = &load.series[0];
        assert_eq!(series.start_offsets_ms, Some(vec![None, Some(-30_000), Some(-90_000), Some(0), Some(0)]));
        let starts: Vec<Option<i64>> = series.samples(load.interval_ms).map(|s| s.start_ms).collect();
        assert_eq!(starts, vec![None, Some(30_000), Some(30_000), Some(180_000), Some(240_000)]);
        for (bad, line) in [
            ("load 1m\n  m@st 0\n  n 1\n", 2),
            ("load 1m\n  m@st 0 0\n  m 1\n", 2),
            ("load 1m\n  m@st 0\n", 2),
            ("load 1m\n  m@st 0\n  m@st 0\n  m 1\n", 2),
            ("load 1m\n  m@st 5\n  m 1\n", 2),
            ("load 1m\n  m@st _x0\n  m 1\n", 2),
            ("load 1m\n  m@st 1m*2\n  m 1\n", 2),
        ] {
            let e = error(bad);
            assert!(matches!(e.kind, ScriptErrorKind::StartTimestamps(_)), "{bad}: {e}");
            assert_eq!(e.line, line, "{bad}");
        }
    }

    #[test]
    fn instant_and_range_headers() {
        let e = eval("\n  eval instant at 1h30m sum by (a) (m)  \n");
        assert_eq!((e.line, e.expr.as_str(), e.expr_column), (2, "sum by (a) (m)", 25));
        assert_eq!(e.query, Query::Instant { at_ms: 5_400_000 });
        assert_eq!(e.expected, Expected::Series(Vec::new()));
        let e = eval("eval range from 0 to 10m step 30s rate(m[1m])\n  {} 1 _ 2");
        assert_eq!(e.query, Query::Range { start_ms: 0, end_ms: 600_000, step_ms: 30_000 });
        let Expected::Series(series) = &e.expected else { panic!() };
        assert_eq!(series[0].values, vec![SequenceValue::Float(1.0), SequenceValue::Missing, SequenceValue::Float(2.0)]);
        for bad in [
            "eval instant 1m m",
            "eval instant at 1m",
            "eval range from 0 to 1m m",
            "eval_ordered range from 0 to 1m step 1m m",
            "eval_bogus instant at 0 m",
            "evaluate instant at 0 m",
        ] {
            assert!(matches!(error(bad).kind, ScriptErrorKind::InvalidEval(_)), "{bad}");
        }
        assert!(matches!(error("eval range from 2m to 1m step 1m m").kind, ScriptErrorKind::EndBeforeStart { .. }));
        assert!(matches!(error("eval instant at 1x m").kind, ScriptErrorKind::Duration { what: "time", .. }));
    }

    #[test]
    fn expect_lines() {
        let e = eval(
            "eval instant at 0 m\n  expect warn msg: PromQL warning: x (1:5)\n  expect info regex: a|b\n  expect fail\n  expect ordered\n",
        );
        let kinds: Vec<ExpectKind> = e.expectations.iter().map(|x| x.kind).collect();
        assert_eq!(kinds, vec![ExpectKind::Warn, ExpectKind::Info, ExpectKind::Fail, ExpectKind::Ordered]);
        assert!(matches!(&e.expectations[0].message, MessageMatch::Exact(m) if m == "PromQL warning: x (1:5)"));
        assert!(e.expectations[1].message.matches("xxbxx") && !e.expectations[1].message.matches("c"));
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
        let e = eval("eval_fail instant at 0 m\n  expected_fail_message vector cannot contain metrics\n");
        assert!(matches!(&e.expectations[..], [Expectation { kind: ExpectKind::Fail, line: 1, message: MessageMatch::Exact(m) }] if m == "vector cannot contain metrics"));
        let e = eval("eval_fail instant at 0 m\n  expected_fail_regexp vector .* metrics\n");
        assert!(e.expectations[0].message.matches("vector cannot contain metrics"));
        // Upstream ends the body after the message line: the next line must be a command.
        assert!(matches!(
            error("eval_fail instant at 0 m\n  expected_fail_message x\n  m 1\n").kind,
            ScriptErrorKind::InvalidCommand(_)
        ));
        for (head, kind) in [("eval_warn", ExpectKind::Warn), ("eval_info", ExpectKind::Info), ("eval_ordered", ExpectKind::Ordered)] {
            let e = eval(&format!("{head} instant at 0 m\n"));
            assert_eq!(e.expectations.iter().map(|x| x.kind).collect::<Vec<_>>(), vec![kind]);
        }
        // `expect fail` besides `eval_fail` is allowed, as upstream keeps them apart.
        assert!(eval("eval_fail instant at 0 m\n expect fail\n").expects_failure());
    }

    #[test]
    fn scalar_string_and_range_vector_results() {
        assert_eq!(eval("eval instant at 0 1\n  -0.5e1\n").expected, Expected::Scalar { line: 2, value: -5.0 });
        assert!(matches!(eval("eval instant at 0 x\n  NaN\n").expected, Expected::Scalar { value, .. } if value.is_nan()));
        assert_eq!(eval("eval instant at 0 x\n  +Inf\n").expected, Expected::Scalar { line: 2, value: f64::INFINITY });
        assert_eq!(
            eval("eval instant at 0 \"a\"\n  expect string \" a\\n\"\n").expected,
            Expected::String { line: 2, value: " a\n".into() }
        );
        assert_eq!(eval("eval instant at 0 `a`\n\texpect string `a\\n`\n").expected, Expected::String { line: 2, value: "a\\n".into() });
        for bad in ["expect string", "expect string foo", "expect string \"foo"] {
            let e = error(&format!("eval instant at 0 \"a\"\n  {bad}\n"));
            assert!(matches!(e.kind, ScriptErrorKind::InvalidString(_)), "{bad}: {e}");
        }
        let e = eval("eval instant at 1m m[1m]\n  expect range vector from 10s to 1m step 10s\n  m 1 2 3 4 5 6\n");
        assert_eq!(e.range_vector, Some(RangeVectorExpectation { line: 2, start_ms: 10_000, end_ms: 60_000, step_ms: 10_000 }));
        assert!(matches!(error("eval instant at 1m m\n  m 1 2\n").kind, ScriptErrorKind::MultipleValuesInInstant));
        assert!(matches!(error("eval instant at 1m m\n  m 1\n  3\n").kind, ScriptErrorKind::MixedResults));
        assert!(matches!(error("eval instant at 1m m\n  expect string \"a\"\n  m 1\n").kind, ScriptErrorKind::MixedResults));
        // A scalar line ends the body.
        assert!(matches!(error("eval instant at 0 1\n  1\n  2\n").kind, ScriptErrorKind::InvalidCommand(_)));
    }

    #[test]
    fn errors_carry_lines() {
        let e = error("load 1m\n  m 1\n  n 1+\n");
        assert_eq!(e.line, 3);
        assert!(matches!(&e.kind, ScriptErrorKind::Series(s) if s.column == 5), "{e}");
        assert!(e.to_string().starts_with("line 3: invalid series: column 5:"), "{e}");
        assert!(matches!(error("\n\nfoo bar\n").kind, ScriptErrorKind::InvalidCommand(t) if t == "foo bar"));
        assert_eq!(error("\n\nfoo bar\n").line, 3);
        assert!(matches!(error("load\n").kind, ScriptErrorKind::InvalidLoad(_)));
        assert!(matches!(error("LOAD 1m\n").kind, ScriptErrorKind::InvalidLoad(_)));
        assert!(matches!(error("load 1m\n  m 1x9223372036854\n").kind, ScriptErrorKind::Series(_)));
        assert!(matches!(error("load 9000000000000000\n  m 1x2000\n").kind, ScriptErrorKind::TimestampOverflow));
    }

    #[test]
    fn comments_end_bodies() {
        assert!(matches!(error("load 1m\n  a 1\n  # c\n  b 2\n").kind, ScriptErrorKind::InvalidCommand(_)));
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
