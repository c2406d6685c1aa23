//! Series descriptions: `metric{label="value"} <values>`, the expanding value syntax of
//! `promtool` unit tests and of the test scripts.
//!
//! Mirrors the `series_description` grammar of Prometheus 3.14 `promql/parser/generated_parser.y`
//! and the series-description mode of `lex.go`:
//! - `a` one value; `axN` N+1 copies of `a`; `a+bxN` / `a-bxN` N+1 values starting at `a`, each
//!   `b` more (or less) than the one before. Numbers may carry a sign (`-1`), be `Inf`/`NaN` in
//!   any case, use decimal, exponent and `_` digit separators; hexadecimal is not allowed.
//! - `_` a missing value, `_xN` N missing values; `stale` a staleness marker.
//! - `{{...}}` a native histogram (see the private `histogram` module), also `{{...}}xN` and `{{a}}+{{b}}xN`.
//!
//! Items are separated by spaces or tabs. The label part is lexed by the PromQL lexer
//! ([`crate::promql::parser::lexer`]) and accepts what upstream's `metric` rule does: an optional
//! metric name (keywords such as `sum` included) and `{name="value", "quoted.name"="v",
//! "metric.name"}`. This module knows nothing of commands, timestamps or the engine.

use shared::histogram::FloatHistogram;
use shared::labels::{Label, Labels, METRIC_NAME};

use crate::promql::parser::lexer::lex;
use crate::promql::parser::literals;
use crate::promql::parser::token::TokenKind;

use super::histogram::{self, Combine};

/// Most values one description may expand to; guards memory against `1x99999999999`.
pub const MAX_VALUES: usize = 1 << 20;

/// One position of a value sequence.
#[derive(Debug, Clone, PartialEq)]
pub enum SequenceValue {
    /// A float sample.
    Float(f64),
    /// A native histogram sample.
    Histogram(HistogramValue),
    /// A staleness marker (Prometheus's stale NaN).
    Stale,
    /// No sample at this position (`_`).
    Missing,
}

/// A histogram of a value sequence.
#[derive(Debug, Clone, PartialEq)]
pub struct HistogramValue {
    /// The histogram.
    pub histogram: Box<FloatHistogram>,
    /// Whether the description set `counter_reset_hint` explicitly. Upstream compares the hint
    /// of an expected histogram only when it was set (README "Special handling of counter reset
    /// hints"). For `{{a}}+{{b}}xN` the flag of `b` applies to every value, as upstream.
    pub counter_reset_hint_set: bool,
}

/// A parsed description: the labels and the expanded values.
#[derive(Debug, Clone, PartialEq)]
pub struct SeriesDescription {
    /// The labels, `__name__` included when a metric name was given.
    pub labels: Labels,
    /// The values in order; position `i` is `i` intervals after the start.
    pub values: Vec<SequenceValue>,
}

/// Why a description does not parse; `column` is the 1-based byte column in the description.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("column {column}: {kind}")]
pub struct SeriesError {
    /// 1-based byte column of the problem.
    pub column: usize,
    /// What is wrong.
    pub kind: SeriesErrorKind,
}

/// What is wrong with a series description.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SeriesErrorKind {
    /// The metric name or label set is malformed.
    #[error("invalid labels: {0}")]
    Labels(String),
    /// A value item is malformed.
    #[error("unexpected {found:?} in series values, expected {expected}")]
    Value {
        /// The offending text.
        found: String,
        /// What would have been accepted.
        expected: &'static str,
    },
    /// A number does not parse.
    #[error("error parsing number {0:?}: {1}")]
    Number(String, String),
    /// The count after `x` is not an unsigned integer.
    #[error("invalid repetition in series values: {0:?}")]
    Repetition(String),
    /// The description expands to more than [`MAX_VALUES`] values.
    #[error("series expands to more than {MAX_VALUES} values")]
    TooManyValues,
    /// A `{{...}}` histogram is malformed.
    #[error("invalid histogram description: {0}")]
    Histogram(String),
    /// Two histograms of `{{a}}+{{b}}xN` cannot be combined.
    #[error("error combining histograms: {0}")]
    Combine(String),
}

/// Parses a whole description line (already trimmed of surrounding whitespace).
pub fn parse_series(input: &str) -> Result<SeriesDescription, SeriesError> {
    let labels_end = labels_end(input).map_err(|(at, m)| error(at, SeriesErrorKind::Labels(m)))?;
    let labels = parse_labels(&input[..labels_end])?;
    let rest = &input[labels_end..];
    if !rest.is_empty() && !rest.starts_with([' ', '\t']) {
        return Err(error(
            labels_end,
            SeriesErrorKind::Labels(format!(
                "unexpected {:?} after the labels",
                first_char(rest)
            )),
        ));
    }
    let values = parse_values(input, labels_end)?;
    Ok(SeriesDescription { labels, values })
}

/// Where the label part ends: after the metric name and the closing `}` of its label set.
/// Quotes are honoured so that `}` or spaces inside label values do not end it.
pub(super) fn labels_end(input: &str) -> Result<usize, (usize, String)> {
    let bytes = input.as_bytes();
    let mut pos = 0;
    while pos < bytes.len() && (bytes[pos].is_ascii_alphanumeric() || b"_:".contains(&bytes[pos])) {
        pos += 1;
    }
    if bytes.get(pos) != Some(&b'{') {
        return Ok(pos);
    }
    let mut quote: Option<u8> = None;
    let mut escaped = false;
    for (i, &b) in bytes.iter().enumerate().skip(pos + 1) {
        match quote {
            Some(q) => {
                if escaped {
                    escaped = false;
                } else if b == b'\\' && q != b'`' {
                    escaped = true;
                } else if b == q {
                    quote = None;
                }
            }
            None if matches!(b, b'"' | b'\'' | b'`') => quote = Some(b),
            None if b == b'}' => return Ok(i + 1),
            None => {}
        }
    }
    Err((pos, "unclosed label set".to_owned()))
}

/// `name`, `name{...}` or `{...}` through the PromQL lexer, as upstream's `metric` rule.
fn parse_labels(text: &str) -> Result<Labels, SeriesError> {
    let lexed = lex(text);
    if let Some(message) = lexed.error {
        let at = lexed.tokens.last().map_or(0, |t| t.span.start);
        return Err(error(at, SeriesErrorKind::Labels(message)));
    }
    let tokens = lexed.tokens;
    let token_text = |i: usize| {
        text.get(tokens[i].span.start..tokens[i].span.end)
            .unwrap_or("")
    };
    let fail = |i: usize, expected: &str| {
        let found = tokens[i].describe(text);
        error(
            tokens[i].span.start,
            SeriesErrorKind::Labels(format!("unexpected {found}, expected {expected}")),
        )
    };
    let unquote = |i: usize| {
        literals::unquote(token_text(i))
            .map_err(|m| error(tokens[i].span.start, SeriesErrorKind::Labels(m)))
    };
    let mut labels = Vec::new();
    let mut i = 0;
    if tokens[i].kind.can_name_metric() {
        labels.push(Label::new(METRIC_NAME, token_text(i)));
        i += 1;
    }
    match tokens[i].kind {
        TokenKind::Eof => return Ok(Labels::from_unsorted(labels)),
        TokenKind::LeftBrace => i += 1,
        _ => return Err(fail(i, "metric name or \"{\"")),
    }
    loop {
        match tokens[i].kind {
            TokenKind::RightBrace => break,
            TokenKind::Identifier | TokenKind::String => {
                let name = if tokens[i].kind == TokenKind::String {
                    unquote(i)?
                } else {
                    token_text(i).to_owned()
                };
                i += 1;
                if tokens[i].kind == TokenKind::Eql {
                    i += 1;
                    if tokens[i].kind != TokenKind::String {
                        return Err(fail(i, "string"));
                    }
                    labels.push(Label::new(name, unquote(i)?));
                    i += 1;
                } else if tokens[i - 1].kind == TokenKind::String {
                    labels.push(Label::new(METRIC_NAME, name));
                } else {
                    return Err(fail(i, "\"=\""));
                }
            }
            _ => return Err(fail(i, "identifier or \"}\"")),
        }
        match tokens[i].kind {
            TokenKind::Comma => i += 1,
            TokenKind::RightBrace => break,
            _ => return Err(fail(i, "\",\" or \"}\"")),
        }
    }
    if tokens[i + 1].kind != TokenKind::Eof {
        return Err(fail(i + 1, "end of the labels"));
    }
    Ok(Labels::from_unsorted(labels))
}

/// A cursor over the value part of a description; positions are byte offsets into the line.
pub(super) struct Cursor<'a> {
    pub(super) input: &'a str,
    pub(super) pos: usize,
}

impl<'a> Cursor<'a> {
    pub(super) fn peek(&self) -> Option<u8> {
        self.input.as_bytes().get(self.pos).copied()
    }

    pub(super) fn rest(&self) -> &'a str {
        &self.input[self.pos..]
    }

    pub(super) fn eat(&mut self, prefix: &str) -> bool {
        if self.rest().starts_with(prefix) {
            self.pos += prefix.len();
            true
        } else {
            false
        }
    }

    pub(super) fn skip_space(&mut self) -> bool {
        let start = self.pos;
        while matches!(self.peek(), Some(b' ' | b'\t')) {
            self.pos += 1;
        }
        self.pos > start
    }

    /// Whether the cursor is at a separator: a space, a tab or the end.
    pub(super) fn at_separator(&self) -> bool {
        matches!(self.peek(), None | Some(b' ' | b'\t'))
    }

    /// Takes bytes while `pred` holds.
    pub(super) fn take_while(&mut self, pred: impl Fn(u8) -> bool) -> &'a str {
        let start = self.pos;
        while self.peek().is_some_and(&pred) {
            self.pos += 1;
        }
        &self.input[start..self.pos]
    }

    pub(super) fn unexpected(&self, expected: &'static str) -> SeriesError {
        let found: String = self
            .rest()
            .split([' ', '\t'])
            .next()
            .unwrap_or("")
            .to_owned();
        let found = if found.is_empty() {
            "end of line".to_owned()
        } else {
            found
        };
        error(self.pos, SeriesErrorKind::Value { found, expected })
    }

    /// An unsigned number: digits with `.`, exponent and `_`, or `Inf`/`NaN` (any case).
    pub(super) fn number(&mut self) -> Result<f64, SeriesError> {
        let start = self.pos;
        let text = if self.peek().is_some_and(|b| b.is_ascii_alphabetic()) {
            self.take_while(|b| b.is_ascii_alphabetic())
        } else {
            self.take_while(|b| b.is_ascii_digit() || b == b'.' || b == b'_');
            if matches!(self.peek(), Some(b'e' | b'E')) {
                self.pos += 1;
                if matches!(self.peek(), Some(b'+' | b'-')) {
                    self.pos += 1;
                }
                self.take_while(|b| b.is_ascii_digit() || b == b'_');
            }
            &self.input[start..self.pos]
        };
        let lower = text.to_ascii_lowercase();
        if text.is_empty()
            || (text.as_bytes()[0].is_ascii_alphabetic() && lower != "inf" && lower != "nan")
        {
            self.pos = start;
            return Err(self.unexpected("number"));
        }
        literals::number(text)
            .map_err(|m| error(start, SeriesErrorKind::Number(text.to_owned(), m)))
    }

    /// A number with an optional `+` or `-`.
    pub(super) fn signed_number(&mut self) -> Result<f64, SeriesError> {
        if self.eat("-") {
            return Ok(-self.number()?);
        }
        self.eat("+");
        self.number()
    }

    /// The count after `x`: an unsigned decimal integer.
    pub(super) fn repetition(&mut self) -> Result<usize, SeriesError> {
        let start = self.pos;
        let digits = self.take_while(|b| b.is_ascii_alphanumeric() || b == b'.');
        digits
            .parse::<usize>()
            .ok()
            .filter(|_| digits.bytes().all(|b| b.is_ascii_digit()))
            .ok_or_else(|| error(start, SeriesErrorKind::Repetition(digits.to_owned())))
    }
}

/// The values after the labels, starting at byte `start` of `input`.
fn parse_values(input: &str, start: usize) -> Result<Vec<SequenceValue>, SeriesError> {
    let mut cursor = Cursor { input, pos: start };
    let mut values = Vec::new();
    loop {
        cursor.skip_space();
        if cursor.peek().is_none() {
            return Ok(values);
        }
        let item_start = cursor.pos;
        parse_item(&mut cursor, &mut values)?;
        if values.len() > MAX_VALUES {
            return Err(error(item_start, SeriesErrorKind::TooManyValues));
        }
        if !cursor.at_separator() {
            return Err(cursor.unexpected("a space between series values"));
        }
    }
}

/// Checks that `count` more values fit under [`MAX_VALUES`].
fn reserve(values: &[SequenceValue], count: usize, at: usize) -> Result<(), SeriesError> {
    match values.len().checked_add(count) {
        Some(total) if total <= MAX_VALUES => Ok(()),
        _ => Err(error(at, SeriesErrorKind::TooManyValues)),
    }
}

fn parse_item(cursor: &mut Cursor<'_>, values: &mut Vec<SequenceValue>) -> Result<(), SeriesError> {
    let start = cursor.pos;
    if cursor.eat("_") {
        let count = if cursor.eat("x") {
            cursor.repetition()?
        } else {
            1
        };
        reserve(values, count, start)?;
        values.extend(std::iter::repeat_n(SequenceValue::Missing, count));
        return Ok(());
    }
    if cursor.rest().starts_with("{{") {
        return parse_histogram_item(cursor, values);
    }
    if cursor.peek().is_some_and(|b| b.is_ascii_alphabetic()) {
        let word = cursor.take_while(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b':');
        if word == "stale" {
            values.push(SequenceValue::Stale);
            return Ok(());
        }
        cursor.pos = start;
    }
    let first = cursor.signed_number()?;
    let step = if cursor.eat("+") {
        Some(cursor.number()?)
    } else if cursor.eat("-") {
        Some(-cursor.number()?)
    } else {
        None
    };
    if step.is_some() && !cursor.rest().starts_with('x') {
        return Err(cursor.unexpected("\"x\" and a repetition count"));
    }
    if !cursor.eat("x") {
        values.push(SequenceValue::Float(first));
        return Ok(());
    }
    let times = cursor.repetition()?;
    reserve(values, times.saturating_add(1), start)?;
    let step = step.unwrap_or(0.0);
    let mut current = first;
    for _ in 0..=times {
        values.push(SequenceValue::Float(current));
        current += step;
    }
    Ok(())
}

fn parse_histogram_item(
    cursor: &mut Cursor<'_>,
    values: &mut Vec<SequenceValue>,
) -> Result<(), SeriesError> {
    let start = cursor.pos;
    let base = histogram::parse_description(cursor)?;
    let combine = if cursor.rest().starts_with("+{{") {
        Some(Combine::Add)
    } else if cursor.rest().starts_with("-{{") {
        Some(Combine::Sub)
    } else {
        None
    };
    let Some(combine) = combine else {
        if !cursor.eat("x") {
            values.push(SequenceValue::Histogram(base));
            return Ok(());
        }
        let times = cursor.repetition()?;
        reserve(values, times.saturating_add(1), start)?;
        values.extend(std::iter::repeat_n(
            SequenceValue::Histogram(base),
            times + 1,
        ));
        return Ok(());
    };
    cursor.pos += 1;
    let increment = histogram::parse_description(cursor)?;
    if !cursor.eat("x") {
        return Err(cursor.unexpected("\"x\" and a repetition count"));
    }
    let times = cursor.repetition()?;
    reserve(values, times.saturating_add(1), start)?;
    let hint_set = increment.counter_reset_hint_set;
    let mut current = *base.histogram;
    for i in 0..=times {
        if i > 0 {
            current = histogram::combine(&current, &increment.histogram, combine)
                .map_err(|m| error(start, SeriesErrorKind::Combine(m)))?;
        }
        values.push(SequenceValue::Histogram(HistogramValue {
            histogram: Box::new(current.clone()),
            counter_reset_hint_set: hint_set,
        }));
    }
    Ok(())
}

pub(super) fn error(offset: usize, kind: SeriesErrorKind) -> SeriesError {
    SeriesError {
        column: offset + 1,
        kind,
    }
}

fn first_char(text: &str) -> char {
    text.chars().next().unwrap_or(' ')
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use shared::series::is_stale_nan;

    use super::*;

    fn floats(input: &str) -> Vec<Option<f64>> {
        parse_series(input)
            .unwrap_or_else(|e| panic!("{input}: {e}"))
            .values
            .into_iter()
            .map(|v| match v {
                SequenceValue::Float(f) => Some(f),
                SequenceValue::Stale => Some(shared::series::stale_nan()),
                SequenceValue::Missing => None,
                SequenceValue::Histogram(_) => panic!("histogram in {input}"),
            })
            .collect()
    }

    fn kind(input: &str) -> SeriesErrorKind {
        parse_series(input).expect_err(input).kind
    }

    #[test]
    fn labels_with_names_keywords_and_quotes() {
        let d = parse_series(r#"metric{env="prod", 'b'="x,}y"} 1"#).unwrap();
        assert_eq!(
            d.labels,
            Labels::from_pairs([("__name__", "metric"), ("env", "prod"), ("b", "x,}y")])
        );
        let d = parse_series(r#"{"foo.bar"="x", "my.metric",} 2"#).unwrap();
        assert_eq!(
            d.labels,
            Labels::from_pairs([("__name__", "my.metric"), ("foo.bar", "x")])
        );
        assert_eq!(
            parse_series("sum 1").unwrap().labels,
            Labels::from_pairs([("__name__", "sum")])
        );
        assert_eq!(
            parse_series("a:b:c{by=\"x\"}").unwrap().labels.get("by"),
            Some("x")
        );
        assert_eq!(parse_series("{} 1").unwrap().labels, Labels::empty());
        assert!(parse_series("{} 1").unwrap().values.len() == 1);
        assert!(matches!(kind(r#"m{a="b" 1"#), SeriesErrorKind::Labels(_)));
        assert!(matches!(kind(r#"m{a=b} 1"#), SeriesErrorKind::Labels(_)));
        assert!(matches!(kind(r#"m{a!="b"} 1"#), SeriesErrorKind::Labels(_)));
        assert!(matches!(kind(r#"m{a="b"}1"#), SeriesErrorKind::Labels(_)));
    }

    #[test]
    fn expanding_float_syntax() {
        assert_eq!(
            floats("m 1+2x3"),
            vec![Some(1.0), Some(3.0), Some(5.0), Some(7.0)]
        );
        assert_eq!(floats("m 1-2x2"), vec![Some(1.0), Some(-1.0), Some(-3.0)]);
        assert_eq!(
            floats("m -1+1x1 +5"),
            vec![Some(-1.0), Some(0.0), Some(5.0)]
        );
        assert_eq!(floats("m 4x2"), vec![Some(4.0); 3]);
        assert_eq!(floats("m _ _x2 3"), vec![None, None, None, Some(3.0)]);
        assert_eq!(
            floats("m\t1e3  .5 1_000 010"),
            vec![Some(1000.0), Some(0.5), Some(1000.0), Some(8.0)]
        );
        let special = floats("m Inf -inf NaN stale");
        assert_eq!(special[0], Some(f64::INFINITY));
        assert_eq!(special[1], Some(f64::NEG_INFINITY));
        assert!(special[2].is_some_and(|v| v.is_nan() && !is_stale_nan(v)));
        assert!(special[3].is_some_and(is_stale_nan));
        assert_eq!(floats("m"), Vec::<Option<f64>>::new());
        assert_eq!(floats("m 0+1x0"), vec![Some(0.0)]);
    }

    #[test]
    fn value_errors() {
        assert!(matches!(kind("m 1+2"), SeriesErrorKind::Value { .. }));
        assert!(matches!(kind("m 1x"), SeriesErrorKind::Repetition(_)));
        assert!(matches!(kind("m 1x-1"), SeriesErrorKind::Repetition(_)));
        assert!(matches!(kind("m 1x2.5"), SeriesErrorKind::Repetition(_)));
        assert!(matches!(kind("m stalex2"), SeriesErrorKind::Value { .. }));
        assert!(matches!(kind("m foo"), SeriesErrorKind::Value { .. }));
        assert!(matches!(kind("m 0x1f"), SeriesErrorKind::Repetition(_)));
        assert!(matches!(kind("m 1.2.3"), SeriesErrorKind::Number(..)));
        assert!(matches!(kind("m 1_"), SeriesErrorKind::Number(..)));
        assert_eq!(kind("m 1x99999999999"), SeriesErrorKind::TooManyValues);
        assert_eq!(
            kind("m _x99999999999999999999"),
            SeriesErrorKind::Repetition("99999999999999999999".into())
        );
        let e = parse_series("m 1 2 ?").unwrap_err();
        assert_eq!(e.column, 7);
        assert_eq!(
            e.to_string(),
            "column 7: unexpected \"?\" in series values, expected number"
        );
    }

    proptest! {
        #[test]
        fn arbitrary_descriptions_never_panic(text in "[a-z{}\"'=,_x+\\-.0-9 :\\[\\]@]{0,60}") {
            if let Err(e) = parse_series(&text) {
                prop_assert!(e.column >= 1 && e.column <= text.len() + 1, "{text:?}: {e}");
            }
        }

        #[test]
        fn histogram_descriptions_never_panic(
            parts in proptest::collection::vec(
                proptest::sample::select(vec![
                    "{{", "}}", " ", "schema:", "sum:", "count:", "buckets:", "n_buckets:", "offset:",
                    "z_bucket_w:", "custom_values:", "counter_reset_hint:", "gauge", "[", "]", "1", "-2",
                    "Inf", "x3", "+", "-", "0.5", "-53", "_",
                ]),
                0..20,
            ),
        ) {
            let text = format!("m {}", parts.concat());
            if let Err(e) = parse_series(&text) {
                prop_assert!(e.column >= 1 && e.column <= text.len() + 1, "{text:?}: {e}");
            }
        }
    }
}
