//! What the PromQL editor should complete at the cursor: a metric or function name, a label
//! name (inside `metric{` or a `by (` / `without (` / `on (` / `ignoring (` /
//! `group_left (` / `group_right (` list), or a label's value (inside the quotes after
//! `name="`, `name!="`, `name=~"`, `name!~"`).
//!
//! A small forward scan of the text before the cursor, tolerant of unfinished input (the user
//! is typing): it tracks strings, comments, braces and parentheses, never builds a tree, and
//! knows nothing of where suggestions come from.

/// PromQL's functions and aggregation operators (Prometheus 3 promql/parser/functions.go).
pub const FUNCTIONS: &[&str] = &[
    "abs",
    "absent",
    "absent_over_time",
    "acos",
    "acosh",
    "asin",
    "asinh",
    "atan",
    "atanh",
    "avg",
    "avg_over_time",
    "bottomk",
    "ceil",
    "changes",
    "clamp",
    "clamp_max",
    "clamp_min",
    "cos",
    "cosh",
    "count",
    "count_over_time",
    "count_values",
    "day_of_month",
    "day_of_week",
    "day_of_year",
    "days_in_month",
    "deg",
    "delta",
    "deriv",
    "exp",
    "floor",
    "group",
    "histogram_avg",
    "histogram_count",
    "histogram_fraction",
    "histogram_quantile",
    "histogram_stddev",
    "histogram_stdvar",
    "histogram_sum",
    "holt_winters",
    "hour",
    "idelta",
    "increase",
    "info",
    "irate",
    "label_join",
    "label_replace",
    "last_over_time",
    "limit_ratio",
    "limitk",
    "ln",
    "log10",
    "log2",
    "mad_over_time",
    "max",
    "max_over_time",
    "min",
    "min_over_time",
    "minute",
    "month",
    "pi",
    "predict_linear",
    "present_over_time",
    "quantile",
    "quantile_over_time",
    "rad",
    "rate",
    "resets",
    "round",
    "scalar",
    "sgn",
    "sin",
    "sinh",
    "sort",
    "sort_by_label",
    "sort_by_label_desc",
    "sort_desc",
    "sqrt",
    "stddev",
    "stddev_over_time",
    "stdvar",
    "stdvar_over_time",
    "sum",
    "sum_over_time",
    "tan",
    "tanh",
    "time",
    "timestamp",
    "topk",
    "vector",
    "year",
];

/// What kind of word is being typed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CompletionKind {
    /// A metric or function name.
    Name,
    /// A label name; `metric` is the selector's metric name when it was written before `{`.
    LabelName {
        /// The metric of the selector being written, if known.
        metric: Option<String>,
    },
    /// A value of `label` (inside its quotes); `metric` as for [`CompletionKind::LabelName`].
    LabelValue {
        /// The metric of the selector being written, if known.
        metric: Option<String>,
        /// The label whose value is being typed.
        label: String,
    },
}

/// The word under completion: its kind and the byte range `start..cursor` a choice replaces.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Completion {
    /// What is being typed.
    pub kind: CompletionKind,
    /// Byte offset where the typed word (or the quoted value's text) starts.
    pub start: usize,
    /// What has been typed of it so far (`text[start..cursor]`).
    pub prefix: String,
}

/// Keywords whose parenthesised list holds label names.
const GROUPING: [&str; 6] = [
    "by",
    "without",
    "on",
    "ignoring",
    "group_left",
    "group_right",
];

/// The last significant token seen.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Prev {
    Start,
    OpenBrace,
    OpenParen,
    Comma,
    Ident(String),
    /// `=`, `!=`, `=~`, `!~` inside braces, after the label name `0`.
    MatchOp(Option<String>),
    Other,
}

/// One open `{`: the selector's metric and the label whose matcher is being written.
#[derive(Debug, Clone, Default)]
struct Brace {
    metric: Option<String>,
}

/// Where the scan ended.
#[derive(Debug)]
enum End {
    /// Inside a string; `content` is the byte offset after the opening quote; `label` the label
    /// when the string is a matcher's value.
    InString {
        content: usize,
        value_of: Option<(Option<String>, String)>,
    },
    /// Inside a `#` comment.
    InComment,
    /// Between tokens.
    Code {
        prev: Prev,
        brace: Option<Brace>,
        grouping: bool,
    },
}

fn is_ident_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == ':'
}

/// Scans `text` (the part before the word under the cursor) and says where it ends.
fn scan(text: &str) -> End {
    let mut prev = Prev::Start;
    let mut brace: Option<Brace> = None;
    // One entry per open `(`: whether it holds label names.
    let mut parens: Vec<bool> = Vec::new();
    let mut chars = text.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        match c {
            '"' | '\'' | '`' => {
                let value_of = match (&prev, &brace) {
                    (Prev::MatchOp(Some(label)), Some(b)) => {
                        Some((b.metric.clone(), label.clone()))
                    }
                    _ => None,
                };
                let mut closed = false;
                while let Some((_, d)) = chars.next() {
                    if d == '\\' && c != '`' {
                        chars.next();
                    } else if d == c {
                        closed = true;
                        break;
                    }
                }
                if !closed {
                    return End::InString {
                        content: i + c.len_utf8(),
                        value_of,
                    };
                }
                prev = Prev::Other;
            }
            '#' => {
                if !chars.by_ref().any(|(_, d)| d == '\n') {
                    return End::InComment;
                }
            }
            '{' => {
                let metric = match &prev {
                    Prev::Ident(name) if !GROUPING.contains(&name.as_str()) => Some(name.clone()),
                    _ => None,
                };
                brace = Some(Brace { metric });
                prev = Prev::OpenBrace;
            }
            '}' => {
                brace = None;
                prev = Prev::Other;
            }
            '(' => {
                parens.push(matches!(&prev, Prev::Ident(k) if GROUPING.contains(&k.as_str())));
                prev = Prev::OpenParen;
            }
            ')' => {
                parens.pop();
                prev = Prev::Other;
            }
            ',' => prev = Prev::Comma,
            '=' | '!' if brace.is_some() => {
                let label = match &prev {
                    Prev::Ident(name) => Some(name.clone()),
                    Prev::MatchOp(label) => label.clone(),
                    _ => None,
                };
                if let Some(&(_, '~' | '=')) = chars.peek() {
                    chars.next();
                }
                prev = Prev::MatchOp(label);
            }
            c if is_ident_char(c) => {
                let mut end = i + c.len_utf8();
                while let Some(&(j, d)) = chars.peek() {
                    if !is_ident_char(d) {
                        break;
                    }
                    end = j + d.len_utf8();
                    chars.next();
                }
                prev = Prev::Ident(text[i..end].to_owned());
            }
            c if c.is_whitespace() => {}
            _ => prev = Prev::Other,
        }
    }
    End::Code {
        prev,
        brace,
        grouping: parens.last().copied().unwrap_or(false),
    }
}

/// The identifier-like word ending at byte `cursor` of `text`: its start and the word.
pub fn word_at(text: &str, cursor: usize) -> (usize, &str) {
    let cursor = cursor.min(text.len());
    let Some(before) = text.get(..cursor) else {
        return (cursor, "");
    };
    let start = before
        .char_indices()
        .rev()
        .take_while(|(_, c)| is_ident_char(*c))
        .last()
        .map_or(cursor, |(i, _)| i);
    (start, &before[start..])
}

/// What to complete at byte `cursor` of `text`, if anything: `None` inside comments and
/// strings that are not matcher values, after a number, and where no name can follow.
pub fn completion_at(text: &str, cursor: usize) -> Option<Completion> {
    let cursor = cursor.min(text.len());
    let before = text.get(..cursor)?;
    let (start, word) = word_at(text, cursor);
    let completion = |kind, start: usize| Completion {
        kind,
        start,
        prefix: before[start..].to_owned(),
    };
    match scan(&before[..start]) {
        End::InComment => None,
        End::InString { content, value_of } => {
            let (metric, label) = value_of?;
            Some(completion(
                CompletionKind::LabelValue { metric, label },
                content,
            ))
        }
        End::Code {
            prev,
            brace,
            grouping,
        } => {
            if word.starts_with(|c: char| c.is_ascii_digit()) {
                return None;
            }
            let list_start = matches!(prev, Prev::OpenBrace | Prev::Comma | Prev::OpenParen);
            match brace {
                Some(b) if matches!(prev, Prev::OpenBrace | Prev::Comma) => Some(completion(
                    CompletionKind::LabelName { metric: b.metric },
                    start,
                )),
                Some(_) => None,
                None if grouping && list_start => Some(completion(
                    CompletionKind::LabelName { metric: None },
                    start,
                )),
                None if !word.is_empty() => Some(completion(CompletionKind::Name, start)),
                None => None,
            }
        }
    }
}

/// Up to `cap` entries of the sorted `list` that start with `prefix`, leaving out an entry equal
/// to it (nothing left to complete). A binary search and at most `cap` comparisons past it, so
/// 100 000 names cost microseconds per keystroke (Thanos issues 1364 and 4500 were a UI that
/// filtered and rendered them all).
pub fn suggest_sorted(list: &[String], prefix: &str, cap: usize) -> Vec<String> {
    let first = list.partition_point(|n| n.as_str() < prefix);
    list[first..]
        .iter()
        .take_while(|n| n.starts_with(prefix))
        .filter(|n| n.as_str() != prefix)
        .take(cap)
        .cloned()
        .collect()
}

/// Up to `cap` completions of a metric or function name `word`: functions first, then names
/// from the sorted `metric_names`. Nothing for an empty word or one starting with a digit.
pub fn suggest_names(metric_names: &[String], word: &str, cap: usize) -> Vec<String> {
    if word.is_empty() || word.starts_with(|c: char| c.is_ascii_digit()) {
        return Vec::new();
    }
    let mut out: Vec<String> = FUNCTIONS
        .iter()
        .filter(|f| f.starts_with(word) && **f != word)
        .take(cap)
        .map(|f| (*f).to_owned())
        .collect();
    out.extend(suggest_sorted(
        metric_names,
        word,
        cap.saturating_sub(out.len()),
    ));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The completion with the cursor at the end of `text`.
    fn at_end(text: &str) -> Option<Completion> {
        completion_at(text, text.len())
    }

    fn kind(text: &str) -> Option<CompletionKind> {
        at_end(text).map(|c| c.kind)
    }

    fn label_name(metric: Option<&str>) -> Option<CompletionKind> {
        Some(CompletionKind::LabelName {
            metric: metric.map(str::to_owned),
        })
    }

    fn label_value(metric: Option<&str>, label: &str) -> Option<CompletionKind> {
        Some(CompletionKind::LabelValue {
            metric: metric.map(str::to_owned),
            label: label.to_owned(),
        })
    }

    #[test]
    fn suggestions_are_capped_prefix_matches() {
        assert_eq!(word_at("sum(rate(http_req", 17), (9, "http_req"));
        assert_eq!(word_at("up ", 3), (3, ""));
        assert_eq!(word_at("a:b", 3), (0, "a:b"));
        let names: Vec<String> = ["http_a", "http_b", "up", "upx"].map(String::from).to_vec();
        assert_eq!(suggest_names(&names, "http", 10), vec!["http_a", "http_b"]);
        assert_eq!(suggest_names(&names, "up", 10), vec!["upx"]);
        assert_eq!(suggest_names(&names, "rat", 10), vec!["rate"]);
        assert_eq!(suggest_names(&names, "http", 1), vec!["http_a"]);
        assert!(suggest_names(&names, "", 10).is_empty());
        let many: Vec<String> = (0..100_000).map(|i| format!("m_{i:06}")).collect();
        assert_eq!(
            suggest_names(&many, "m_0999", 3),
            vec!["m_099900", "m_099901", "m_099902"]
        );
        // Label names and values: an empty prefix lists the first `cap`.
        assert_eq!(suggest_sorted(&many, "", 2), vec!["m_000000", "m_000001"]);
        assert_eq!(suggest_sorted(&many, "m_1", 5).len(), 0);
        assert_eq!(suggest_sorted(&names, "up", 5), vec!["upx"]);
    }

    #[test]
    fn names_outside_selectors() {
        let c = at_end("sum(rate(http_req").expect("a name");
        assert_eq!(
            (c.kind, c.start, c.prefix.as_str()),
            (CompletionKind::Name, 9, "http_req")
        );
        assert_eq!(kind("up + "), None);
        assert_eq!(kind("rate(x[5"), None);
        assert_eq!(kind("x offset 5m + 1"), None);
        assert_eq!(kind("up # a comm"), None);
        assert_eq!(kind("up # a comment\nra"), Some(CompletionKind::Name));
    }

    #[test]
    fn label_names_inside_braces() {
        assert_eq!(kind("up{"), label_name(Some("up")));
        let c = at_end("http_requests_total{job=\"api\", ins").expect("a label");
        assert_eq!(Some(c.kind), label_name(Some("http_requests_total")));
        assert_eq!(c.prefix, "ins");
        assert_eq!(c.start, "http_requests_total{job=\"api\", ".len());
        assert_eq!(kind("{jo"), label_name(None));
        assert_eq!(kind("sum(up {"), label_name(Some("up")));
        // A value position without a quote, and after a closed selector: nothing.
        assert_eq!(kind("up{job="), None);
        assert_eq!(kind("up{job}"), None);
        assert_eq!(kind("up{job=\"a\"} + ra"), Some(CompletionKind::Name));
    }

    #[test]
    fn label_values_inside_matcher_quotes() {
        let c = at_end("up{job=\"ap").expect("a value");
        assert_eq!(Some(c.kind), label_value(Some("up"), "job"));
        assert_eq!((c.start, c.prefix.as_str()), (8, "ap"));
        assert_eq!(kind("up{job=~\""), label_value(Some("up"), "job"));
        assert_eq!(
            kind("up{job!=\"x\", code!~'5"),
            label_value(Some("up"), "code")
        );
        assert_eq!(kind("{instance = \"host:90"), label_value(None, "instance"));
        // Escaped quotes stay inside the value.
        let c = at_end(r#"up{path="a\"b"#).expect("a value");
        assert_eq!(c.prefix, r#"a\"b"#);
        // A string argument is not a label value.
        assert_eq!(kind("label_replace(up, \"ds"), None);
    }

    #[test]
    fn label_names_in_grouping_lists() {
        assert_eq!(kind("sum by ("), label_name(None));
        assert_eq!(kind("sum by (job, inst"), label_name(None));
        assert_eq!(kind("sum without(j"), label_name(None));
        assert_eq!(kind("a / on (j"), label_name(None));
        assert_eq!(kind("a * ignoring(x) group_left (c"), label_name(None));
        assert_eq!(kind("sum by (job) (ra"), Some(CompletionKind::Name));
        assert_eq!(kind("sum(ra"), Some(CompletionKind::Name));
        assert_eq!(kind("sum("), None);
    }

    #[test]
    fn the_cursor_may_be_mid_text_and_multibyte_text_is_safe() {
        let text = "up{job=\"a\"} and rate(x[5m])";
        let c = completion_at(text, 2).expect("a name");
        assert_eq!((c.kind, c.prefix.as_str()), (CompletionKind::Name, "up"));
        assert_eq!(
            completion_at(text, 6).map(|c| c.prefix),
            Some("job".to_owned())
        );
        let text = "up{city=\"Zürich";
        let c = at_end(text).expect("a value");
        assert_eq!(c.prefix, "Zürich");
        assert_eq!(completion_at("é", 1), None);
        assert_eq!(
            completion_at("up", 99).map(|c| c.prefix),
            Some("up".to_owned())
        );
    }
}
