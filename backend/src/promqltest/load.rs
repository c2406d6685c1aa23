//! `load <interval>` bodies: series lines and the `metric@st <offsets>` start-timestamp lines
//! before them (Prometheus 3.14 `promql/promqltest/test.go`: `parseLoad`, `parseSTLine`,
//! `parseSTItem`). Knows nothing of evals or the engine.

use shared::labels::Labels;

use super::parse::{Line, ScriptError, ScriptErrorKind, duration};
use super::series::{MAX_VALUES, parse_series};
use super::{Load, LoadSeries};
use crate::promql::parser::literals;

/// A `metric{labels}@st <offsets>` line waiting for its sample line.
struct StartTimestamps<'a> {
    line: Line<'a>,
    labels: Labels,
    /// Offset in ms from each sample's timestamp; `None` where omitted.
    offsets_ms: Vec<Option<i64>>,
}

/// `load <interval>` and its series lines; returns the index of the line after the body.
pub(super) fn parse_load(lines: &[Line<'_>], i: usize) -> Result<(Load, usize), ScriptError> {
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
    let mut pending: Option<StartTimestamps<'_>> = None;
    let mut j = i + 1;
    while j < lines.len() && !lines[j].text.is_empty() {
        let line = lines[j];
        j += 1;
        if let Some(st) = start_timestamp_line(line)? {
            if let Some(previous) = pending {
                return Err(previous.line.error(st_error("no following sample line")));
            }
            pending = Some(st);
            continue;
        }
        let description = parse_series(line.text).map_err(|e| line.error(e.into()))?;
        let last = i64::try_from(description.values.len().saturating_sub(1)).unwrap_or(i64::MAX);
        if last.checked_mul(interval_ms).is_none() {
            return Err(line.error(ScriptErrorKind::TimestampOverflow));
        }
        let start_offsets_ms = match pending.take() {
            None => None,
            Some(StartTimestamps {
                line: st_line,
                labels,
                offsets_ms: offsets,
            }) => {
                if labels != description.labels {
                    return Err(
                        st_line.error(st_error("metric does not match the following sample line"))
                    );
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
    if let Some(st) = pending {
        return Err(st.line.error(st_error("no following sample line")));
    }
    let load = Load {
        line: header.number,
        interval_ms,
        with_nhcb,
        series,
    };
    Ok((load, j))
}

fn st_error(message: &str) -> ScriptErrorKind {
    ScriptErrorKind::StartTimestamps(message.to_owned())
}

/// `metric{labels}@st <offsets>` (the first word ends in `@st`): labels and offsets in ms.
fn start_timestamp_line(line: Line<'_>) -> Result<Option<StartTimestamps<'_>>, ScriptError> {
    let Some(space) = line.text.find([' ', '\t']) else {
        return Ok(None);
    };
    let Some(metric) = line.text[..space].strip_suffix("@st") else {
        return Ok(None);
    };
    let labels = parse_series(metric)
        .map_err(|e| {
            line.error(ScriptErrorKind::StartTimestamps(format!(
                "metric {metric:?}: {e}"
            )))
        })?
        .labels;
    let mut offsets = Vec::new();
    for item in line.text[space..].split_whitespace() {
        start_timestamp_item(item, &mut offsets).map_err(|m| {
            line.error(ScriptErrorKind::StartTimestamps(format!(
                "item {item:?}: {m}"
            )))
        })?;
    }
    Ok(Some(StartTimestamps {
        line,
        labels,
        offsets_ms: offsets,
    }))
}

/// One `@st` item: `_`, `_xN`, `<d>`, `<d>xN`, `<d>+<d>xN` or `<d>-<d>xN` (upstream
/// `parseSTItem`); `N` counts repeats after the first, except for `_xN`.
fn start_timestamp_item(item: &str, out: &mut Vec<Option<i64>>) -> Result<(), String> {
    let count = |digits: &str| {
        digits
            .parse::<usize>()
            .map_err(|_| "invalid repeat count".to_owned())
    };
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
    let n = count(
        rest.strip_prefix('x')
            .ok_or("expected 'x<count>' after step duration")?,
    )?;
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
    let unit = body[digits..]
        .bytes()
        .take_while(|b| b.is_ascii_alphabetic() && *b != b'x')
        .count();
    let text = &body[..digits + unit];
    let seconds = literals::duration_seconds(text)?;
    let ms = (seconds * 1000.0).round() as i64;
    Ok((if negative { -ms } else { ms }, &body[digits + unit..]))
}

#[cfg(test)]
mod tests {
    use shared::labels::Labels;

    use crate::promqltest::parse::{ScriptError, ScriptErrorKind};
    use crate::promqltest::{Command, SequenceValue, parse_script};

    fn script(text: &str) -> Vec<Command> {
        parse_script(text)
            .unwrap_or_else(|e| panic!("{text}\n{e}"))
            .commands
    }

    fn error(text: &str) -> ScriptError {
        parse_script(text).expect_err(text)
    }

    #[test]
    fn load_with_timestamps_and_nhcb() {
        let commands = script(
            "# c\nload 30s\n  a{x=\"1\"} 1 _ 3\n\tb 5x1\n\nload_with_nhcb 1m\n  c_bucket{le=\"1\"} 1\n\nclear\n",
        );
        let [
            Command::Load(first),
            Command::Load(second),
            Command::Clear { line: 9 },
        ] = &commands[..]
        else {
            panic!("{commands:?}")
        };
        assert_eq!(
            (first.line, first.interval_ms, first.with_nhcb),
            (2, 30_000, false)
        );
        assert_eq!(
            first.series.iter().map(|s| s.line).collect::<Vec<_>>(),
            vec![3, 4]
        );
        let a = &first.series[0];
        assert_eq!(
            a.labels,
            Labels::from_pairs([("__name__", "a"), ("x", "1")])
        );
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
        let Command::Load(load) = &commands[0] else {
            panic!()
        };
        let series = &load.series[0];
        assert_eq!(
            series.start_offsets_ms,
            Some(vec![None, Some(-30_000), Some(-90_000), Some(0), Some(0)])
        );
        let starts: Vec<Option<i64>> = series
            .samples(load.interval_ms)
            .map(|s| s.start_ms)
            .collect();
        assert_eq!(
            starts,
            vec![
                None,
                Some(30_000),
                Some(30_000),
                Some(180_000),
                Some(240_000)
            ]
        );
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
            assert!(
                matches!(e.kind, ScriptErrorKind::StartTimestamps(_)),
                "{bad}: {e}"
            );
            assert_eq!(e.line, line, "{bad}");
        }
    }
}
