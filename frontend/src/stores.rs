//! The stores page: `api/v1/stores` as one section per component type, a row per endpoint
//! (status, announced label sets, time range, last check, last error), filtered by a text
//! box and refreshed every 10 s (THANOS.md §6 "Stores page").
//!
//! It also marks which stores the last query run on the graph page would reach (its time range
//! and its selectors' matchers against each store's label sets, `shared::store_filter`; Thanos
//! issues 748 and 5022). The graph page records that query in [`LastQuery`]; this page asks
//! `api/v1/parse_query` for its selectors. It knows nothing else of graphs.

use std::time::Duration;

use leptos::prelude::*;
use shared::api::{StoreStatus, Stores};
use shared::labels::MatchOp;
use shared::store_filter::{MatcherSpec, QueryScope, ValueMatcher, selectors};
use shared::timefmt::{format_utc, parse_utc};
use wasm_bindgen::{JsCast, JsValue};

use crate::api;
use crate::app::Site;
use crate::prefix;

const REFRESH: Duration = Duration::from_secs(10);

/// A query run on the graph page, as the Stores page needs it.
#[derive(Debug, Clone, PartialEq)]
pub struct ScopedQuery {
    /// The PromQL expression.
    pub expr: String,
    /// Start of the data it reads (the range start, or the evaluation time, minus the
    /// lookback), ms since the epoch.
    pub start_ms: i64,
    /// End of the data it reads, ms since the epoch.
    pub end_ms: i64,
}

/// The graph panel query run last; provided by the app shell for the whole session.
#[derive(Debug, Clone, Copy)]
pub struct LastQuery(pub RwSignal<Option<ScopedQuery>>);

/// A matcher whose regex the browser's engine tests: the `regex` crate's Unicode tables would
/// add about 290 KB gzipped to the wasm. Label regexes are nearly always in the common subset;
/// one the browser cannot compile (`(?i)`, say) accepts every value, so a store is never
/// wrongly shown as skipped.
#[derive(Debug, Clone)]
struct BrowserMatcher {
    spec: MatcherSpec,
    regex: Option<js_sys::RegExp>,
}

impl BrowserMatcher {
    fn new(spec: MatcherSpec) -> Self {
        let regex = match spec.op {
            MatchOp::Regex | MatchOp::NotRegex => anchored_regex(&spec.value),
            MatchOp::Equal | MatchOp::NotEqual => None,
        };
        Self { spec, regex }
    }
}

/// `^(?:pattern)$` with `.` matching newlines (PromQL's anchoring and `(?s)`), or `None` when
/// the browser refuses the pattern (its constructor throws; caught here).
fn anchored_regex(pattern: &str) -> Option<js_sys::RegExp> {
    let constructor: js_sys::Function =
        js_sys::Reflect::get(&js_sys::global(), &JsValue::from_str("RegExp"))
            .ok()?
            .dyn_into()
            .ok()?;
    let args = js_sys::Array::of2(
        &JsValue::from_str(&format!("^(?:{pattern})$")),
        &JsValue::from_str("s"),
    );
    js_sys::Reflect::construct(&constructor, &args)
        .ok()?
        .dyn_into()
        .ok()
}

impl ValueMatcher for BrowserMatcher {
    fn name(&self) -> &str {
        &self.spec.name
    }

    fn matches(&self, value: &str) -> bool {
        match self.spec.op {
            MatchOp::Equal => value == self.spec.value,
            MatchOp::NotEqual => value != self.spec.value,
            MatchOp::Regex => self.regex.as_ref().is_none_or(|r| r.test(value)),
            MatchOp::NotRegex => self.regex.as_ref().is_none_or(|r| !r.test(value)),
        }
    }
}

/// An RFC 3339 time (`2024-01-02T03:04:05.123456789Z` or with `±HH:MM`) in ms since the epoch.
pub fn parse_rfc3339_ms(text: &str) -> Option<i64> {
    let base = parse_utc(&text.get(..19)?.replacen('T', " ", 1)).ok()?;
    let mut rest = &text[19..];
    let mut millis = 0;
    if let Some(frac) = rest.strip_prefix('.') {
        let digits = frac.bytes().take_while(u8::is_ascii_digit).count();
        let ms_digits: String = frac[..digits]
            .chars()
            .chain("000".chars())
            .take(3)
            .collect();
        millis = ms_digits.parse::<i64>().ok()?;
        rest = &frac[digits..];
    }
    let offset_min = match rest {
        "Z" | "z" => 0,
        _ => {
            let sign = match rest.as_bytes().first()? {
                b'+' => 1,
                b'-' => -1,
                _ => return None,
            };
            let h: i64 = rest.get(1..3)?.parse().ok()?;
            let m: i64 = rest.get(4..6)?.parse().ok()?;
            sign * (h * 60 + m)
        }
    };
    Some(base + millis - offset_min * 60_000)
}

/// `12s ago`, `3m4s ago`, `2h5m ago`, `3d2h ago`; `in the future` for clock skew.
pub fn ago(elapsed_ms: i64) -> String {
    if elapsed_ms < 0 {
        return "in the future".into();
    }
    let s = elapsed_ms / 1000;
    let text = match s {
        0..60 => format!("{s}s"),
        60..3600 => format!("{}m{}s", s / 60, s % 60),
        3600..86_400 => format!("{}h{}m", s / 3600, s / 60 % 60),
        _ => format!("{}d{}h", s / 86_400, s / 3600 % 24),
    };
    format!("{text} ago")
}

/// A store time bound for display: `-` unless `0 < t < i64::MAX` (Thanos's rule).
fn bound(t: i64) -> String {
    if t > 0 && t < i64::MAX {
        format_utc(t)
    } else {
        "-".into()
    }
}

fn matches(store: &StoreStatus, filter: &str) -> bool {
    filter.is_empty()
        || store.name.to_lowercase().contains(filter)
        || store
            .label_sets
            .iter()
            .any(|l| l.to_string().to_lowercase().contains(filter))
}

fn title(kind: &str) -> String {
    let mut chars = kind.chars();
    chars
        .next()
        .map(|c| c.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

fn row(store: StoreStatus, now_ms: i64, queried: Option<bool>) -> impl IntoView {
    let up = store.last_error.is_none();
    let last_check = store
        .last_successful_check
        .as_deref()
        .or(if up {
            Some(store.last_check.as_str())
        } else {
            None
        })
        .and_then(parse_rfc3339_ms)
        .map_or_else(|| "never".to_owned(), |t| ago(now_ms - t));
    view! {
        <tr data-testid="store-row" class:down=!up class:queried=queried == Some(true)>
            {queried.map(|q| view! {
                <td data-testid="store-queried" class="queried-mark"
                    title=if q { "The graph panel's query would read this store" } else { "Not read by the graph panel's query" }>
                    {if q { "✓" } else { "–" }}
                </td>
            })}
            <td data-testid="store-endpoint">{store.name}</td>
            <td data-testid="store-status" class=if up { "up" } else { "down" }>{if up { "UP" } else { "DOWN" }}</td>
            <td data-testid="store-labels">
                {store.label_sets.iter().map(|l| view! { <div class="labelset">{l.to_string()}</div> }).collect_view()}
            </td>
            <td data-testid="store-min-time">{bound(store.min_time)}</td>
            <td data-testid="store-max-time">{bound(store.max_time)}</td>
            <td data-testid="store-last-check">{last_check}</td>
            <td data-testid="store-last-error">{store.last_error.unwrap_or_default()}</td>
        </tr>
    }
}

/// The stores page.
#[component]
pub fn StoresPage() -> impl IntoView {
    let url = expect_context::<Site>().api("api/v1/stores");
    let stores: RwSignal<Option<Result<Stores, String>>> = RwSignal::new(None);
    let now = RwSignal::new(prefix::now_ms());
    let filter = RwSignal::new(String::new());

    let LastQuery(last) = expect_context::<LastQuery>();
    let last = last.get_untracked();
    // The last graph query's selectors, resolved by the querier's parser.
    let scope: RwSignal<Option<Result<QueryScope<BrowserMatcher>, String>>> = RwSignal::new(None);
    if let Some(q) = last.clone() {
        let url = format!(
            "{}?query={}",
            expect_context::<Site>().api("api/v1/parse_query"),
            form_urlencoded::byte_serialize(q.expr.as_bytes()).collect::<String>()
        );
        leptos::task::spawn_local(async move {
            let resolved = api::get::<serde_json::Value>(&url)
                .await
                .map_err(|e| e.to_string())
                .and_then(|ok| selectors(&ok.data).map_err(|e| e.to_string()))
                .map(|specs| QueryScope {
                    selectors: specs
                        .into_iter()
                        .map(|s| s.into_iter().map(BrowserMatcher::new).collect())
                        .collect(),
                    start_ms: q.start_ms,
                    end_ms: q.end_ms,
                });
            scope.set(Some(resolved));
        });
    }

    let refresh = move || {
        let url = url.clone();
        leptos::task::spawn_local(async move {
            let result = api::get::<Stores>(&url).await;
            now.set(prefix::now_ms());
            stores.set(Some(result.map(|ok| ok.data).map_err(|e| e.to_string())));
        });
    };
    refresh();
    if let Ok(handle) = set_interval_with_handle(refresh, REFRESH) {
        on_cleanup(move || handle.clear());
    }

    let sections = move || {
        let f = filter.get().trim().to_lowercase();
        let now_ms = now.get();
        match stores.get() {
            None => view! { <p>"Loading…"</p> }.into_any(),
            Some(Err(e)) => view! { <div class="error">{e}</div> }.into_any(),
            Some(Ok(all)) if all.values().all(Vec::is_empty) => {
                view! { <p data-testid="no-stores">"No stores registered."</p> }.into_any()
            }
            Some(Ok(all)) => all
                .into_iter()
                .filter(|(_, list)| !list.is_empty())
                .map(|(kind, mut list)| {
                    list.sort_by(|a, b| a.name.cmp(&b.name));
                    let rows: Vec<_> = scope.with(|scope| {
                        let scope = scope.as_ref().and_then(|s| s.as_ref().ok());
                        list.into_iter()
                            .filter(|s| matches(s, &f))
                            .map(|s| {
                                let queried = scope.map(|scope| scope.would_query(&s));
                                row(s, now_ms, queried)
                            })
                            .collect()
                    });
                    let marked = scope.with(|s| matches!(s, Some(Ok(_))));
                    view! {
                        <section class="store-section">
                            <h2>{title(&kind)}</h2>
                            <table class="stores">
                                <thead><tr>
                                    {marked.then(|| view! { <th title="Read by the graph panel's query">"Queried"</th> })}
                                    <th>"Endpoint"</th><th>"Status"</th><th>"Announced label sets"</th>
                                    <th>"Min time (UTC)"</th><th>"Max time (UTC)"</th>
                                    <th>"Last successful check"</th><th>"Last error"</th>
                                </tr></thead>
                                <tbody>{rows}</tbody>
                            </table>
                        </section>
                    }
                })
                .collect_view()
                .into_any(),
        }
    };

    view! {
        <div class="stores-page">
            <div class="page-head">
                <h1>"Stores"</h1>
                <input data-testid="store-filter" placeholder="Filter by endpoint or label"
                    prop:value=move || filter.get()
                    on:input=move |ev| filter.set(event_target_value(&ev))/>
            </div>
            {move || scope_note(last.as_ref(), scope)}
            {sections}
        </div>
    }
}

/// The line above the tables saying which query the marks are for.
fn scope_note(
    last: Option<&ScopedQuery>,
    scope: RwSignal<Option<Result<QueryScope<BrowserMatcher>, String>>>,
) -> impl IntoView + use<> {
    let text = match (last, scope.get()) {
        (None, _) => "Run a query on the Graph page to see which stores it would read.".to_owned(),
        (Some(q), None) => format!("Checking which stores {} would read…", q.expr),
        (Some(q), Some(Err(e))) => format!("Cannot tell which stores {} would read: {e}", q.expr),
        (Some(q), Some(Ok(_))) => format!(
            "✓ marks the stores the graph panel's query {} would read ({} to {} UTC): \
             up, with data in that range, and announcing labels its selectors accept.",
            q.expr,
            format_utc(q.start_ms),
            format_utc(q.end_ms)
        ),
    };
    view! { <p class="store-scope" data-testid="store-scope">{text}</p> }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_times() {
        let base = parse_utc("2024-01-02 03:04:05").expect("valid");
        assert_eq!(parse_rfc3339_ms("2024-01-02T03:04:05Z"), Some(base));
        assert_eq!(
            parse_rfc3339_ms("2024-01-02T03:04:05.123456789Z"),
            Some(base + 123)
        );
        assert_eq!(
            parse_rfc3339_ms("2024-01-02T04:04:05.5+01:00"),
            Some(base + 500)
        );
        assert_eq!(parse_rfc3339_ms("junk"), None);
    }

    #[test]
    fn ago_and_bounds() {
        assert_eq!(ago(12_400), "12s ago");
        assert_eq!(ago(184_000), "3m4s ago");
        assert_eq!(ago(-5), "in the future");
        assert_eq!(bound(i64::MAX), "-");
        assert_eq!(bound(0), "-");
        assert_eq!(title("sidecar"), "Sidecar");
    }
}
