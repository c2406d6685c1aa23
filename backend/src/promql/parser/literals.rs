//! Values of literal tokens: numbers, durations and quoted strings.
//!
//! Numbers follow Go's `strconv.ParseInt(s, 0, 64)` then `ParseFloat` (so `010` is octal and
//! `0x1f` hex), durations Prometheus's `model.ParseDuration`, and strings Go's unquoting rules
//! (as `util/strutil.Unquote`, which also accepts single quotes). The lexer has already checked
//! the shape of each token; these functions only compute values and never see the grammar.

/// The value of a number token, or why it has none (upstream: "error parsing number: ...").
pub fn number(text: &str) -> Result<f64, String> {
    let lower = text.to_ascii_lowercase();
    match lower.as_str() {
        "inf" => return Ok(f64::INFINITY),
        "nan" => return Ok(f64::NAN),
        _ => {}
    }
    if let Some(v) = parse_go_int(&lower) {
        return Ok(v as f64);
    }
    let invalid = || {
        format!(
            "strconv.ParseFloat: parsing {}: invalid syntax",
            go_quote(text)
        )
    };
    if lower.starts_with("0x") || !underscores_ok(&lower) {
        return Err(invalid());
    }
    let value = lower
        .replace('_', "")
        .parse::<f64>()
        .map_err(|_| invalid())?;
    if value.is_infinite() {
        return Err(format!(
            "strconv.ParseFloat: parsing {}: value out of range",
            go_quote(text)
        ));
    }
    Ok(value)
}

/// `strconv.ParseInt(s, 0, 64)`: base prefixes, a leading `0` for octal, `_` between digits.
fn parse_go_int(lower: &str) -> Option<i64> {
    if !underscores_ok(lower) {
        return None;
    }
    let digits = lower.replace('_', "");
    let (body, radix) = if let Some(hex) = digits.strip_prefix("0x") {
        (hex, 16)
    } else if digits.len() > 1 && digits.starts_with('0') {
        (&digits[1..], 8)
    } else {
        (digits.as_str(), 10)
    };
    if body.is_empty() {
        return None;
    }
    i64::from_str_radix(body, radix).ok()
}

/// Go's rule: an underscore must sit between digits, or between a base prefix and a digit.
fn underscores_ok(lower: &str) -> bool {
    if !lower.contains('_') {
        return true;
    }
    let bytes = lower.as_bytes();
    let hex = lower.starts_with("0x");
    let is_digit = |b: u8| b.is_ascii_digit() || (hex && b.is_ascii_hexdigit());
    bytes.iter().enumerate().all(|(i, &b)| {
        if b != b'_' {
            return true;
        }
        let before = if i >= 1 { bytes[i - 1] } else { 0 };
        let after = bytes.get(i + 1).copied().unwrap_or(0);
        let after_prefix = hex && i == 2;
        (is_digit(before) || after_prefix) && is_digit(after)
    })
}

/// The units of a Prometheus duration, largest first, with their size in ms
/// (`model.ParseDuration` and `model.Duration.String`).
pub(super) const DURATION_UNITS: [(&str, u64); 7] = [
    ("y", 365 * 24 * 3600 * 1000),
    ("w", 7 * 24 * 3600 * 1000),
    ("d", 24 * 3600 * 1000),
    ("h", 3600 * 1000),
    ("m", 60 * 1000),
    ("s", 1000),
    ("ms", 1),
];

/// The seconds in a duration token such as `1h30m` or `500ms`; see [`duration_ms`].
pub fn duration_seconds(text: &str) -> Result<f64, String> {
    // Exact: at most `i64::MAX / 1_000_000` ms, below 2^53.
    duration_ms(text).map(|ms| ms as f64 / 1000.0)
}

/// The milliseconds in a Prometheus duration such as `1h30m` or `500ms`
/// (`model.ParseDuration`): units `y w d h m s ms`, each at most once and in that order, the
/// total fitting an i64 of nanoseconds. `0` alone needs no unit.
pub fn duration_ms(text: &str) -> Result<u64, String> {
    let invalid = || format!("not a valid duration string: {}", go_quote(text));
    match text {
        "" => return Err("empty duration string".to_owned()),
        "0" => return Ok(0),
        _ => {}
    }
    let mut rest = text;
    let mut next_unit = 0;
    let mut total_ms: u64 = 0;
    while !rest.is_empty() {
        let digits_end = rest
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(rest.len());
        if digits_end == 0 {
            return Err(invalid());
        }
        let count: u64 = rest[..digits_end].parse().map_err(|_| invalid())?;
        rest = &rest[digits_end..];
        let unit_end = rest
            .find(|c: char| c.is_ascii_digit())
            .unwrap_or(rest.len());
        let unit = &rest[..unit_end];
        rest = &rest[unit_end..];
        let Some(index) = DURATION_UNITS.iter().position(|(u, _)| *u == unit) else {
            let (unit, text) = (go_quote(unit), go_quote(text));
            return Err(format!("unknown unit {unit} in duration {text}"));
        };
        if index < next_unit {
            return Err(invalid());
        }
        next_unit = index + 1;
        total_ms = count
            .checked_mul(DURATION_UNITS[index].1)
            .and_then(|ms| total_ms.checked_add(ms))
            .filter(|ms| *ms <= i64::MAX as u64 / 1_000_000)
            .ok_or_else(|| "duration out of range".to_owned())?;
    }
    Ok(total_ms)
}

/// The value of a string token, quotes included in `text`; it must be valid UTF-8.
pub fn unquote(text: &str) -> Result<String, String> {
    String::from_utf8(unquote_bytes(text)?).map_err(|_| "invalid UTF-8 after unescaping".to_owned())
}

/// The bytes of a string token, quotes included in `text`. Like a Go string they may be any
/// bytes (`"\xc5"`), not necessarily UTF-8.
pub fn unquote_bytes(text: &str) -> Result<Vec<u8>, String> {
    let quote = text
        .chars()
        .next()
        .ok_or_else(|| "invalid syntax".to_owned())?;
    let body = text
        .strip_prefix(quote)
        .and_then(|t| t.strip_suffix(quote))
        .ok_or_else(|| "invalid syntax".to_owned())?;
    if quote == '`' {
        return Ok(body.as_bytes().to_vec());
    }
    let mut out: Vec<u8> = Vec::with_capacity(body.len());
    let mut chars = body.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            let mut buf = [0; 4];
            out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
            continue;
        }
        let e = chars.next().ok_or_else(|| "invalid syntax".to_owned())?;
        let simple = match e {
            'a' => Some(0x07),
            'b' => Some(0x08),
            'f' => Some(0x0c),
            'n' => Some(b'\n'),
            'r' => Some(b'\r'),
            't' => Some(b'\t'),
            'v' => Some(0x0b),
            '\\' => Some(b'\\'),
            '\'' | '"' if e == quote => Some(e as u8),
            _ => None,
        };
        if let Some(b) = simple {
            out.push(b);
            continue;
        }
        let (count, radix, is_byte) = match e {
            '0'..='7' => (2, 8, true),
            'x' => (2, 16, true),
            'u' => (4, 16, false),
            'U' => (8, 16, false),
            _ => return Err("invalid syntax".to_owned()),
        };
        let mut value = if e.is_ascii_digit() {
            e.to_digit(8).unwrap_or(0)
        } else {
            0
        };
        for _ in 0..count {
            let d = chars
                .next()
                .and_then(|d| d.to_digit(radix))
                .ok_or_else(|| "invalid syntax".to_owned())?;
            value = value.saturating_mul(radix).saturating_add(d);
        }
        if is_byte {
            out.push(u8::try_from(value).map_err(|_| "invalid syntax".to_owned())?);
        } else {
            let c = char::from_u32(value).ok_or_else(|| "invalid syntax".to_owned())?;
            let mut buf = [0; 4];
            out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
        }
    }
    Ok(out)
}

/// Bytes that may not be UTF-8 double-quoted as Go's `strconv.Quote` writes them: valid
/// characters as [`go_quote`] does, each invalid byte as `\xNN`.
pub fn go_quote_bytes(bytes: &[u8]) -> String {
    let mut out = String::from("\"");
    for chunk in bytes.utf8_chunks() {
        let quoted = go_quote(chunk.valid());
        out.push_str(&quoted[1..quoted.len() - 1]);
        for b in chunk.invalid() {
            out.push_str(&format!("\\x{b:02x}"));
        }
    }
    out.push('"');
    out
}

/// A double-quoted string with escapes, as Go's `strconv.Quote`.
pub fn go_quote(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_follow_go_rules() {
        assert_eq!(number("12.34e6"), Ok(12.34e6));
        assert_eq!(number("0x1f"), Ok(31.0));
        assert_eq!(number("010"), Ok(8.0));
        assert_eq!(number("09"), Ok(9.0));
        assert_eq!(number("1_000"), Ok(1000.0));
        assert_eq!(number("2."), Ok(2.0));
        assert_eq!(number(".5"), Ok(0.5));
        assert_eq!(number("Inf"), Ok(f64::INFINITY));
        assert!(number("nAn").unwrap().is_nan());
        assert!(number("1__0").is_err());
    }

    #[test]
    fn durations_need_ordered_units() {
        assert_eq!(duration_seconds("1h30m"), Ok(5400.0));
        assert_eq!(
            duration_seconds("1y2w"),
            Ok(365.0 * 86400.0 + 14.0 * 86400.0)
        );
        assert_eq!(duration_seconds("1ms"), Ok(0.001));
        assert_eq!(duration_seconds("5m1s500ms"), Ok(301.5));
        assert_eq!(
            duration_seconds("1m1h"),
            Err(r#"not a valid duration string: "1m1h""#.to_owned())
        );
        assert!(duration_seconds("1hs").is_err());
        assert!(duration_seconds("300000y").is_err());
        assert_eq!(duration_ms("0"), Ok(0));
        assert_eq!(duration_ms("1m500ms"), Ok(60_500));
        assert_eq!(duration_ms(""), Err("empty duration string".to_owned()));
    }

    #[test]
    fn strings_unescape_like_go() {
        assert_eq!(
            unquote(r#""a\n\"b\x41\101\u00e9""#),
            Ok("a\n\"bAAé".to_owned())
        );
        assert_eq!(unquote(r"'it\'s'"), Ok("it's".to_owned()));
        assert_eq!(unquote(r"`raw\n`"), Ok(r"raw\n".to_owned()));
        assert!(unquote(r#""\xff""#).is_err());
    }
}
