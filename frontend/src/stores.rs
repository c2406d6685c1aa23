//! The stores page: `api/v1/stores` as one section per component type, a row per endpoint
//! (status, announced label sets, time range, last check, last error), filtered by a text
//! box and refreshed every 10 s (THANOS.md §6 "Stores page"). It knows nothing of graphs.

use std::time::Duration;

use leptos::prelude::*;
use shared::api::{StoreStatus, Stores};
use shared::timefmt::{format_utc, parse_utc};

use crate::api;
use crate::app::Site;
use crate::prefix;

const REFRESH: Duration = Duration::from_secs(10);

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

fn row(store: StoreStatus, now_ms: i64) -> impl IntoView {
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
        <tr data-testid="store-row" class:down=!up>
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
                    let rows: Vec<_> = list.into_iter().filter(|s| matches(s, &f)).map(|s| row(s, now_ms)).collect();
                    view! {
                        <section class="store-section">
                            <h2>{title(&kind)}</h2>
                            <table class="stores">
                                <thead><tr>
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
            {sections}
        </div>
    }
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
