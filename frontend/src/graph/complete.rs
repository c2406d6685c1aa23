//! Autocomplete of metric and function names in the expression editor.
//!
//! Metric names (`api/v1/label/__name__/values`) are fetched once, lazily, when an editor is
//! first used, and kept sorted: a suggestion is a binary search for the word's prefix plus at
//! most [`CAP`] names, so even 100 000 names cost microseconds per keystroke and need no
//! debouncing (Thanos issues 1364 and 4500 were a UI that filtered and rendered them all).
//! Label names and values are not completed yet.

use leptos::prelude::*;

use crate::api;
use crate::app::Site;

/// At most this many suggestions are shown.
pub const CAP: usize = 12;

/// PromQL's functions and aggregation operators (Prometheus 3 promql/parser/functions.go).
const FUNCTIONS: &[&str] = &[
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

/// The metric names, once fetched; provided as context by the graph page.
#[derive(Debug, Clone, Copy)]
pub struct MetricNames {
    names: RwSignal<Option<Vec<String>>>,
    requested: StoredValue<bool>,
}

impl MetricNames {
    /// Nothing fetched yet.
    pub fn new() -> Self {
        Self {
            names: RwSignal::new(None),
            requested: StoredValue::new(false),
        }
    }

    /// Starts fetching the names, the first time only.
    pub fn ensure_loaded(self, site: &Site) {
        if self.requested.get_value() {
            return;
        }
        self.requested.set_value(true);
        let url = site.api("api/v1/label/__name__/values");
        let names = self.names;
        leptos::task::spawn_local(async move {
            if let Ok(ok) = api::get::<Vec<String>>(&url).await {
                let mut list = ok.data;
                list.sort_unstable();
                names.set(Some(list));
            }
        });
    }

    /// Suggestions for `word` (tracked: they update when the names arrive).
    pub fn suggest(self, word: &str) -> Vec<String> {
        self.names
            .with(|n| suggest(n.as_deref().unwrap_or_default(), word, CAP))
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
        .take_while(|(_, c)| c.is_ascii_alphanumeric() || *c == '_' || *c == ':')
        .last()
        .map_or(cursor, |(i, _)| i);
    (start, &before[start..])
}

/// Up to `cap` completions of `word`: functions first, then metric names from the sorted
/// `names`. Nothing for an empty word or an exact single match.
pub fn suggest(names: &[String], word: &str, cap: usize) -> Vec<String> {
    if word.is_empty() || word.starts_with(|c: char| c.is_ascii_digit()) {
        return Vec::new();
    }
    let mut out: Vec<String> = FUNCTIONS
        .iter()
        .filter(|f| f.starts_with(word) && **f != word)
        .take(cap)
        .map(|f| (*f).to_owned())
        .collect();
    let first = names.partition_point(|n| n.as_str() < word);
    out.extend(
        names[first..]
            .iter()
            .take_while(|n| n.starts_with(word))
            .filter(|n| n.as_str() != word)
            .take(cap.saturating_sub(out.len()))
            .cloned(),
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_and_suggestions() {
        assert_eq!(word_at("sum(rate(http_req", 17), (9, "http_req"));
        assert_eq!(word_at("up ", 3), (3, ""));
        assert_eq!(word_at("a:b", 3), (0, "a:b"));
        let names: Vec<String> = ["http_a", "http_b", "up", "upx"].map(String::from).to_vec();
        assert_eq!(suggest(&names, "http", 10), vec!["http_a", "http_b"]);
        assert_eq!(suggest(&names, "up", 10), vec!["upx"]);
        assert_eq!(suggest(&names, "rat", 10), vec!["rate"]);
        assert_eq!(suggest(&names, "http", 1), vec!["http_a"]);
        assert!(suggest(&names, "", 10).is_empty());
        let many: Vec<String> = (0..100_000).map(|i| format!("m_{i:06}")).collect();
        assert_eq!(
            suggest(&many, "m_0999", 3),
            vec!["m_099900", "m_099901", "m_099902"]
        );
    }
}
