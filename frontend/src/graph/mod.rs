//! The graph page: a list of query panels whose state lives in the page URL (Thanos's
//! `gN.*` parameters, `shared::panel`), with add / duplicate / remove and "Copy link".
//!
//! - [`panel`]: one panel (expression, options, running the query);
//! - [`query`]: the query form a panel's state makes, and its inputs' value helpers;
//! - [`table`]: the Table tab's result view;
//! - [`chart`]: the Graph tab's canvas, drawn by `shared::chart`, with the hover tooltip;
//! - [`legend`]: the chart's interactive legend;
//! - [`complete`]: metric, function, label name and label value completion in the editor.
//!
//! "Copy link" copies the page's link, built on `--web.external-url` when the querier has one
//! (`web.external-url` in `api/v1/status/flags`), and shows what it copied.

mod chart;
mod complete;
mod legend;
mod panel;
mod query;
mod table;

use std::collections::BTreeMap;

use leptos::prelude::*;
use shared::panel::{PanelState, panels_query, parse_panels};
use shared::timefmt::UiDuration;
use shared::ui_path::{Route, external_link};

use crate::api;
use crate::app::Site;
use crate::prefix;

/// A panel on the page: a stable id (for keyed rendering) and its state.
#[derive(Debug, Clone, Copy)]
pub struct PanelEntry {
    id: u64,
    state: RwSignal<PanelState>,
}

/// What the querier's flags say panels should default to.
#[derive(Debug, Clone, PartialEq)]
pub struct QueryDefaults {
    /// `query.partial-response`.
    pub partial_response: bool,
    /// `query.default-step` in seconds: the least automatic resolution.
    pub min_step_seconds: u64,
    /// `query.replica-label`: the labels replicas differ by (comma-separated in the flag).
    pub replica_labels: Vec<String>,
}

impl Default for QueryDefaults {
    fn default() -> Self {
        Self {
            partial_response: true,
            min_step_seconds: 1,
            replica_labels: Vec::new(),
        }
    }
}

impl QueryDefaults {
    fn from_flags(flags: &BTreeMap<String, serde_json::Value>) -> Self {
        let text = |name: &str| flags.get(name).and_then(|v| v.as_str()).map(str::to_owned);
        let mut out = Self::default();
        if let Some(v) = text("query.partial-response") {
            out.partial_response = v == "true";
        }
        if let Some(step) = text("query.default-step").and_then(|s| UiDuration::parse(&s).ok()) {
            out.min_step_seconds = (step.as_ms() / 1000).max(1);
        }
        if let Some(labels) = text("query.replica-label") {
            out.replica_labels = labels
                .split(',')
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .map(str::to_owned)
                .collect();
        }
        out
    }
}

/// Whether times are shown in the browser's zone instead of UTC (kept in localStorage).
#[derive(Debug, Clone, Copy)]
pub struct LocalTime(pub RwSignal<bool>);

const LOCAL_TIME_KEY: &str = "chorus.local-time";

fn storage() -> Option<web_sys::Storage> {
    web_sys::window().and_then(|w| w.local_storage().ok().flatten())
}

/// Minutes east of UTC of the browser's zone now.
pub fn local_offset_minutes() -> i32 {
    // getTimezoneOffset is minutes west of UTC, a small whole number.
    -(js_sys::Date::new_0().get_timezone_offset() as i32)
}

/// The querier's stores, fetched once when the page opens, to say which ones a panel's
/// time range reaches.
#[derive(Debug, Clone, Copy)]
pub struct KnownStores(pub RwSignal<Option<shared::api::Stores>>);

/// The names of the stores whose data overlaps `[start_ms, end_ms]`, and how many stores
/// there are in all.
pub fn stores_in_range(
    stores: &shared::api::Stores,
    start_ms: i64,
    end_ms: i64,
) -> (Vec<String>, usize) {
    let all: Vec<&shared::api::StoreStatus> = stores.values().flatten().collect();
    let hit = all
        .iter()
        .filter(|s| s.last_error.is_none() && s.min_time <= end_ms && s.max_time >= start_ms)
        .map(|s| s.name.clone())
        .collect();
    (hit, all.len())
}

/// The graph page.
#[component]
pub fn GraphPage() -> impl IntoView {
    let site = expect_context::<Site>();
    let mut from_url = parse_panels(&prefix::search());
    let url_had_panels = !from_url.is_empty();
    if from_url.is_empty() {
        from_url.push(PanelState::default());
    }
    let next_id = StoredValue::new(from_url.len() as u64);
    let panels: RwSignal<Vec<PanelEntry>> = RwSignal::new(
        from_url
            .into_iter()
            .enumerate()
            .map(|(i, state)| PanelEntry {
                id: i as u64,
                state: RwSignal::new(state),
            })
            .collect(),
    );
    let defaults = RwSignal::new(QueryDefaults::default());
    provide_context(defaults);
    let local_time = RwSignal::new(
        storage()
            .and_then(|s| s.get_item(LOCAL_TIME_KEY).ok().flatten())
            .is_some_and(|v| v == "1"),
    );
    provide_context(LocalTime(local_time));
    provide_context(complete::Completer::new());
    let known_stores = RwSignal::new(None);
    provide_context(KnownStores(known_stores));
    let stores_url = site.api("api/v1/stores");
    leptos::task::spawn_local(async move {
        if let Ok(ok) = api::get::<shared::api::Stores>(&stores_url).await {
            known_stores.set(Some(ok.data));
        }
    });

    // `--web.external-url`, empty when unset.
    let external_url = RwSignal::new(String::new());
    let flags_url = site.api("api/v1/status/flags");
    leptos::task::spawn_local(async move {
        if let Ok(flags) = api::get::<BTreeMap<String, serde_json::Value>>(&flags_url).await {
            if let Some(url) = flags.data.get("web.external-url").and_then(|v| v.as_str()) {
                external_url.set(url.to_owned());
            }
            let d = QueryDefaults::from_flags(&flags.data);
            let partial_response = d.partial_response;
            defaults.set(d);
            if !url_had_panels {
                for entry in panels.get_untracked() {
                    entry
                        .state
                        .update(|s| s.partial_response = partial_response);
                }
            }
        }
    });

    // Every state change rewrites the URL.
    let graph_path = site.0.page_path(Route::Graph);
    Effect::new(move |_| {
        let states: Vec<PanelState> = panels.get().iter().map(|p| p.state.get()).collect();
        prefix::replace_url(&format!("{graph_path}?{}", panels_query(&states)));
    });

    // Panel states belong to the page, not to the panel whose button made them: a duplicate
    // must outlive the panel it was copied from.
    let page_owner = StoredValue::new(Owner::current().expect("the graph page has an owner"));
    let new_entry = move |state: PanelState| {
        let id = next_id.get_value();
        next_id.set_value(id + 1);
        PanelEntry {
            id,
            state: page_owner.get_value().with(|| RwSignal::new(state)),
        }
    };
    let add = move |_| {
        let d = defaults.get_untracked();
        let state = PanelState {
            partial_response: d.partial_response,
            ..PanelState::default()
        };
        panels.update(|p| p.push(new_entry(state)));
    };
    let duplicate = Callback::new(move |id: u64| {
        panels.update(|p| {
            if let Some(i) = p.iter().position(|e| e.id == id) {
                let copy = new_entry(p[i].state.get_untracked());
                p.insert(i + 1, copy);
            }
        });
    });
    let remove = Callback::new(move |id: u64| panels.update(|p| p.retain(|e| e.id != id)));

    // The link copied last, shown under the button (a headless clipboard cannot be read back).
    let copied: RwSignal<Option<String>> = RwSignal::new(None);
    let copy_link = move |_| {
        let states: Vec<PanelState> =
            panels.with_untracked(|p| p.iter().map(|e| e.state.get_untracked()).collect());
        let link = external_url
            .with_untracked(|base| external_link(base, Route::Graph, &panels_query(&states)))
            .unwrap_or_else(prefix::href);
        if let Some(w) = web_sys::window() {
            // The promise's outcome is not awaited: the link stays shown for copying by hand.
            let _ = w.navigator().clipboard().write_text(&link);
        }
        copied.set(Some(link));
    };

    view! {
        <div class="graph-page">
            <div class="page-options">
                <label class="check">
                    <input type="checkbox" data-testid="local-time" prop:checked=move || local_time.get()
                        on:change=move |ev| {
                            let on = event_target_checked(&ev);
                            if let Some(s) = storage() {
                                let _ = s.set_item(LOCAL_TIME_KEY, if on { "1" } else { "0" });
                            }
                            local_time.set(on);
                        }/>
                    "Use local time"
                </label>
            </div>
            <For each=move || panels.get() key=|e| e.id let:entry>
                <panel::Panel state=entry.state id=entry.id duplicate=duplicate remove=remove/>
            </For>
            <div class="page-actions">
                <button data-testid="add-panel" on:click=add>"Add panel"</button>
                <button data-testid="copy-link" on:click=copy_link>"Copy link"</button>
                {move || copied.get().map(|link| view! {
                    <span class="copied" data-testid="copied-link">"Copied: "{link}</span>
                })}
            </div>
        </div>
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use shared::api::StoreStatus;

    fn store(name: &str, min: i64, max: i64, error: Option<&str>) -> StoreStatus {
        StoreStatus {
            name: name.into(),
            last_check: String::new(),
            last_successful_check: None,
            last_error: error.map(str::to_owned),
            label_sets: Vec::new(),
            min_time: min,
            max_time: max,
        }
    }

    #[test]
    fn stores_reached_by_a_range() {
        let stores = shared::api::Stores::from([(
            "sidecar".to_owned(),
            vec![
                store("old", 0, 100, None),
                store("new", 200, i64::MAX, None),
                store("dead", 0, i64::MAX, Some("down")),
            ],
        )]);
        assert_eq!(
            stores_in_range(&stores, 150, 300),
            (vec!["new".to_owned()], 3)
        );
        assert_eq!(
            stores_in_range(&stores, 50, 250).0,
            vec!["old".to_owned(), "new".to_owned()]
        );
    }

    #[test]
    fn defaults_from_flags() {
        let flags = BTreeMap::from([
            (
                "query.partial-response".to_owned(),
                serde_json::json!("false"),
            ),
            ("query.default-step".to_owned(), serde_json::json!("30s")),
            (
                "query.replica-label".to_owned(),
                serde_json::json!("replica, rule_replica"),
            ),
        ]);
        let d = QueryDefaults::from_flags(&flags);
        assert!(!d.partial_response);
        assert_eq!(d.min_step_seconds, 30);
        assert_eq!(
            d.replica_labels,
            vec!["replica".to_owned(), "rule_replica".to_owned()]
        );
    }
}
