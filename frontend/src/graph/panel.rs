//! One graph panel: the expression editor, query options, Table/Graph tabs, and running the
//! query against `api/v1/query` (table) or `api/v1/query_range` (graph). The panel's state is
//! a `PanelState` signal owned by the page (which writes it to the URL); results stay here.

use leptos::prelude::*;
use shared::chart::ChartSeries;
use shared::panel::{PanelState, StepSeconds, Tab, default_step_seconds};
use shared::query_result::{QueryData, chart_series};
use shared::timefmt::{UiDuration, format_utc, parse_utc};

use super::chart::Chart;
use super::complete::{MetricNames, word_at};
use super::table::ResultTable;
use super::{KnownStores, QueryDefaults, stores_in_range};
use crate::api;
use crate::app::Site;
use crate::prefix;

/// The range −/+ buttons step through these, in ms.
const RANGE_STEPS: [u64; 16] = [
    60_000,
    300_000,
    900_000,
    1_800_000,
    3_600_000,
    7_200_000,
    21_600_000,
    43_200_000,
    86_400_000,
    172_800_000,
    604_800_000,
    1_209_600_000,
    2_419_200_000,
    4_838_400_000,
    15_724_800_000,
    31_536_000_000,
];

/// The next shorter (`longer == false`) or longer preset range than `current`.
fn step_range(current: UiDuration, longer: bool) -> UiDuration {
    let ms = current.as_ms();
    let next = if longer {
        RANGE_STEPS.iter().copied().find(|s| *s > ms)
    } else {
        RANGE_STEPS.iter().rev().copied().find(|s| *s < ms)
    };
    UiDuration::from_ms(next.unwrap_or(ms))
}

/// The chosen replica labels after (un)checking `label`; empty means all of `all` (the
/// querier's default), so a link without a choice keeps following the querier's flag.
fn toggle_label(chosen: &[String], all: &[String], label: &str, on: bool) -> Vec<String> {
    let current: Vec<String> = if chosen.is_empty() {
        all.to_vec()
    } else {
        chosen.to_vec()
    };
    let next: Vec<String> = all
        .iter()
        .filter(|l| {
            if l.as_str() == label {
                on
            } else {
                current.contains(l)
            }
        })
        .cloned()
        .collect();
    if next.is_empty() {
        // At least one label must stay chosen; an empty list would mean all of them.
        chosen.to_vec()
    } else if next.len() == all.len() {
        Vec::new()
    } else {
        next
    }
}

/// The byte offset of UTF-16 position `units` in `text` (the DOM counts UTF-16 units).
fn utf16_to_byte(text: &str, units: usize) -> usize {
    let mut seen = 0;
    for (i, c) in text.char_indices() {
        if seen >= units {
            return i;
        }
        seen += c.len_utf16();
    }
    text.len()
}

/// The caret position of the event's target (a textarea), in UTF-16 units.
fn caret(ev: &leptos::ev::Event) -> Option<usize> {
    let target = ev.target()?;
    let pos = js_sys::Reflect::get(&target, &"selectionStart".into()).ok()?;
    // A caret position is a small non-negative integer.
    pos.as_f64().map(|p| p as usize)
}

/// A time in ms as the API's decimal seconds.
fn api_seconds(t_ms: i64) -> String {
    let sign = if t_ms < 0 { "-" } else { "" };
    let abs = t_ms.unsigned_abs();
    format!("{sign}{}.{:03}", abs / 1000, abs % 1000)
}

/// The time window a range query asked for, for the chart's axis.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Window {
    /// Start, ms.
    pub start_ms: i64,
    /// End, ms.
    pub end_ms: i64,
    /// Step, ms.
    pub step_ms: i64,
}

/// A finished query.
#[derive(Debug, Clone, PartialEq)]
struct Outcome {
    /// The tab the query was run for.
    tab: Tab,
    /// The result, or the error text.
    data: Result<QueryData, String>,
    /// Warnings and infos of the response.
    warnings: Vec<String>,
    /// Round trip in ms.
    load_ms: f64,
    /// The range query's window (graph tab).
    window: Option<Window>,
}

fn perf_now() -> f64 {
    web_sys::window()
        .and_then(|w| w.performance())
        .map_or(0.0, |p| p.now())
}

/// The request a panel state makes: URL, form pairs, and the window of a range query.
fn request(
    site: &Site,
    s: &PanelState,
    d: QueryDefaults,
    now_ms: i64,
) -> (String, Vec<(&'static str, String)>, Option<Window>) {
    let mut pairs = vec![
        ("query", s.expr.clone()),
        ("dedup", s.deduplicate.to_string()),
        ("partial_response", s.partial_response.to_string()),
    ];
    for label in &s.replica_labels {
        pairs.push(("replicaLabels[]", label.clone()));
    }
    match s.tab {
        Tab::Table => {
            pairs.push(("time", api_seconds(s.moment_ms.unwrap_or(now_ms))));
            (site.api("api/v1/query"), pairs, None)
        }
        Tab::Graph => {
            let end_ms = s.end_ms.unwrap_or(now_ms);
            let range = i64::try_from(s.range.as_ms()).unwrap_or(i64::MAX);
            let start_ms = end_ms.saturating_sub(range);
            let step_s = s.step.map_or_else(
                || default_step_seconds(s.range, d.min_step_seconds) as f64,
                StepSeconds::get,
            );
            pairs.push(("start", api_seconds(start_ms)));
            pairs.push(("end", api_seconds(end_ms)));
            pairs.push(("step", step_s.to_string()));
            let window = Window {
                start_ms,
                end_ms,
                step_ms: (step_s * 1000.0).round() as i64,
            };
            (site.api("api/v1/query_range"), pairs, Some(window))
        }
    }
}

/// One panel.
#[component]
pub fn Panel(
    state: RwSignal<PanelState>,
    id: u64,
    duplicate: Callback<u64>,
    remove: Callback<u64>,
) -> impl IntoView {
    let site = StoredValue::new(expect_context::<Site>());
    let defaults = expect_context::<RwSignal<QueryDefaults>>();
    let KnownStores(known_stores) = expect_context::<KnownStores>();
    let outcome: RwSignal<Option<Outcome>> = RwSignal::new(None);
    let loading = RwSignal::new(false);
    let generation = StoredValue::new(0u64);

    let run = move || {
        let s = state.get_untracked();
        if s.expr.trim().is_empty() {
            outcome.set(None);
            return;
        }
        let (url, pairs, window) =
            site.with_value(|site| request(site, &s, defaults.get_untracked(), prefix::now_ms()));
        let current = generation.get_value() + 1;
        generation.set_value(current);
        loading.set(true);
        let tab = s.tab;
        leptos::task::spawn_local(async move {
            let started = perf_now();
            let result = api::post_form::<QueryData>(&url, &pairs).await;
            prefix::mark("chorus:response");
            if generation.get_value() != current {
                return;
            }
            let load_ms = perf_now() - started;
            let (data, warnings) = match result {
                Ok(ok) => {
                    let mut w = ok.warnings;
                    w.extend(ok.infos);
                    (Ok(ok.data), w)
                }
                Err(e) => (Err(e.to_string()), Vec::new()),
            };
            loading.set(false);
            outcome.set(Some(Outcome {
                tab,
                data,
                warnings,
                load_ms,
                window,
            }));
        });
    };

    // Re-run when an option that changes the answer changes (not on every keystroke).
    let options = move || {
        state.with(|s| {
            (
                s.tab,
                s.replica_labels.clone(),
                s.range,
                s.end_ms,
                s.moment_ms,
                s.step,
                s.deduplicate,
                s.partial_response,
            )
        })
    };
    Effect::new(move |previous: Option<_>| {
        let current = options();
        if previous.as_ref() != Some(&current) {
            run();
        }
        current
    });

    let chart_data = Memo::new(move |_| {
        outcome.with(|o| match o {
            Some(Outcome {
                tab: Tab::Graph,
                data: Ok(data),
                window: Some(window),
                ..
            }) => Some((chart_series(data), *window)),
            _ => None,
        })
    });
    let series: Signal<Vec<ChartSeries>> = Signal::derive(move || {
        chart_data.with(|c| c.as_ref().map(|c| c.0.clone()).unwrap_or_default())
    });
    let window: Signal<Option<Window>> =
        Signal::derive(move || chart_data.with(|c| c.as_ref().map(|c| c.1)));
    // Memos, so that typing in the editor does not re-render the result or redraw the chart.
    let stacked = Signal::from(Memo::new(move |_| state.with(|s| s.stacked)));
    let tab = Memo::new(move |_| state.with(|s| s.tab));
    let y_from_zero = RwSignal::new(false);
    // A drag on the chart zooms to the dragged time span.
    let zoom = Callback::new(move |(from_ms, to_ms): (i64, i64)| {
        let span = to_ms.saturating_sub(from_ms);
        if span >= 1000 {
            let span_ms = u64::try_from(span / 1000 * 1000).unwrap_or(1000);
            state.update(|s| {
                s.end_ms = Some(to_ms / 1000 * 1000);
                s.range = UiDuration::from_ms(span_ms);
            });
        }
    });

    let names = expect_context::<MetricNames>();
    // The word being completed; empty closes the list.
    let word: RwSignal<String> = RwSignal::new(String::new());
    let suggestions = Memo::new(move |_| word.with(|w| names.suggest(w)));
    // The byte range of the word being completed.
    let word_span = StoredValue::new((0usize, 0usize));
    let accept = move |choice: String| {
        let (start, end) = word_span.get_value();
        state.update(|s| {
            if start <= end && s.expr.get(start..end).is_some() {
                s.expr.replace_range(start..end, &choice);
            }
        });
        word.set(String::new());
    };
    let on_input = move |ev: leptos::ev::Event| {
        let v = event_target_value(&ev);
        let cursor = caret(&ev).map_or(v.len(), |units| utf16_to_byte(&v, units));
        let (start, current) = word_at(&v, cursor);
        word_span.set_value((start, start + current.len()));
        site.with_value(|site| names.ensure_loaded(site));
        word.set(current.to_owned());
        state.update(|s| s.expr = v);
    };
    let on_key = move |ev: leptos::ev::KeyboardEvent| {
        let key = ev.key();
        if key == "Enter" && !ev.shift_key() {
            ev.prevent_default();
            word.set(String::new());
            run();
        } else if key == "Tab" && !suggestions.with_untracked(Vec::is_empty) {
            ev.prevent_default();
            if let Some(first) = suggestions.with_untracked(|s| s.first().cloned()) {
                accept(first);
            }
        } else if key == "Escape" {
            word.set(String::new());
        }
    };
    let tab_button = move |tab: Tab, testid: &'static str| {
        view! {
            <button class="tab" data-testid=testid
                class:active=move || state.with(|s| s.tab == tab)
                on:click=move |_| state.update(|s| s.tab = tab)>{tab.to_string()}</button>
        }
    };
    let checkbox = move |testid: &'static str,
                         label: &'static str,
                         get: fn(&PanelState) -> bool,
                         set: fn(&mut PanelState, bool)| {
        view! {
            <label class="check">
                <input type="checkbox" data-testid=testid
                    prop:checked=move || state.with(get)
                    on:change=move |ev| { let on = event_target_checked(&ev); state.update(|s| set(s, on)); }/>
                {label}
            </label>
        }
    };

    let graph_controls = move || {
        view! {
            <div class="controls">
                <button title="Shorter range" on:click=move |_| state.update(|s| s.range = step_range(s.range, false))>"−"</button>
                <input class="range" data-testid="range-input" list="range-presets" size="6"
                    prop:value=move || state.with(|s| s.range.to_string())
                    on:change=move |ev| {
                        if let Ok(r) = UiDuration::parse(&event_target_value(&ev)) {
                            if r.as_ms() > 0 { state.update(|s| s.range = r); }
                        } else {
                            state.update(|_| {});
                        }
                    }/>
                <button title="Longer range" on:click=move |_| state.update(|s| s.range = step_range(s.range, true))>"+"</button>
                <input class="time" data-testid="end-input" placeholder="End time (now)" size="19"
                    prop:value=move || state.with(|s| s.end_ms.map(format_utc).unwrap_or_default())
                    on:change=move |ev| {
                        let text = event_target_value(&ev);
                        let text = text.trim();
                        if text.is_empty() {
                            state.update(|s| s.end_ms = None);
                        } else if let Ok(t) = parse_utc(text) {
                            state.update(|s| s.end_ms = Some(t));
                        } else {
                            state.update(|_| {});
                        }
                    }/>
                <input class="step" data-testid="step-input" size="14"
                    placeholder=move || {
                        let min = defaults.with(|d| d.min_step_seconds);
                        state.with(|s| format!("Res. auto ({}s)", default_step_seconds(s.range, min)))
                    }
                    prop:value=move || state.with(|s| s.step.map(|x| x.get().to_string()).unwrap_or_default())
                    on:change=move |ev| {
                        let text = event_target_value(&ev);
                        let step = text.trim().parse::<f64>().ok().and_then(StepSeconds::new);
                        state.update(|s| s.step = step);
                    }/>
                {checkbox("stacked", "Stacked", |s| s.stacked, |s, on| s.stacked = on)}
                <label class="check">
                    <input type="checkbox" data-testid="y-from-zero" prop:checked=move || y_from_zero.get()
                        on:change=move |ev| y_from_zero.set(event_target_checked(&ev))/>
                    "Y from zero"
                </label>
                <datalist id="range-presets">
                    {RANGE_STEPS
                        .iter()
                        .map(|ms| view! { <option value=UiDuration::from_ms(*ms).to_string()></option> })
                        .collect_view()}
                </datalist>
            </div>
        }
    };
    let table_controls = move || {
        view! {
            <div class="controls">
                <label>"Evaluation time "
                    <input class="time" data-testid="moment-input" placeholder="Now (UTC)" size="19"
                        prop:value=move || state.with(|s| s.moment_ms.map(format_utc).unwrap_or_default())
                        on:change=move |ev| {
                            let text = event_target_value(&ev);
                            let text = text.trim();
                            if text.is_empty() {
                                state.update(|s| s.moment_ms = None);
                            } else if let Ok(t) = parse_utc(text) {
                                state.update(|s| s.moment_ms = Some(t));
                            } else {
                                state.update(|_| {});
                            }
                        }/>
                </label>
            </div>
        }
    };

    let body = move || {
        let tab = tab.get();
        let result = outcome.with(|o| o.as_ref().filter(|o| o.tab == tab).map(|o| o.data.clone()));
        match (tab, result) {
            (_, Some(Err(e))) => {
                view! { <div class="error" data-testid="error">{e}</div> }.into_any()
            }
            (Tab::Table, Some(Ok(data))) => view! { <ResultTable data=data/> }.into_any(),
            (Tab::Graph, Some(Ok(_))) => {
                view! { <Chart series=series window=window stacked=stacked y_from_zero=y_from_zero zoom=zoom/> }.into_any()
            }
            (_, None) => view! { <div class="empty">"No data queried yet"</div> }.into_any(),
        }
    };

    view! {
        <section class="panel" data-testid="panel">
            <div class="expr-row">
                <textarea data-testid="expr" rows=move || state.with(|s| s.expr.split('\n').count().clamp(1, 20)) placeholder="Expression (press Enter to execute, Shift+Enter for a new line)"
                    prop:value=move || state.with(|s| s.expr.clone())
                    on:input=on_input
                    on:focus=move |_| site.with_value(|site| names.ensure_loaded(site))
                    on:blur=move |_| word.set(String::new())
                    on:keydown=on_key></textarea>
                {move || (!suggestions.with(Vec::is_empty)).then(|| view! {
                    <ul class="suggest" data-testid="suggestions">
                        {suggestions.get().into_iter().map(|item| {
                            let choice = item.clone();
                            view! {
                                <li on:mousedown=move |ev: leptos::ev::MouseEvent| {
                                    ev.prevent_default();
                                    accept(choice.clone());
                                }>{item}</li>
                            }
                        }).collect_view()}
                    </ul>
                })}
                <button class="primary" data-testid="execute" on:click=move |_| run()>"Execute"</button>
            </div>
            <div class="options">
                {checkbox("dedup", "Use Deduplication", |s| s.deduplicate, |s, on| s.deduplicate = on)}
                {checkbox("partial-response", "Use Partial Response", |s| s.partial_response, |s, on| s.partial_response = on)}
                {move || {
                    let labels = defaults.with(|d| d.replica_labels.clone());
                    (labels.len() > 1).then(|| view! {
                        <span class="replica-labels" data-testid="replica-labels">"Replica labels: "
                            {labels.into_iter().map(|label| {
                                let name = label.clone();
                                let text = label.clone();
                                view! {
                                    <label class="check">
                                        <input type="checkbox"
                                            prop:checked=move || state.with(|s| s.replica_labels.is_empty() || s.replica_labels.contains(&name))
                                            on:change=move |ev| {
                                                let on = event_target_checked(&ev);
                                                let all = defaults.with_untracked(|d| d.replica_labels.clone());
                                                state.update(|s| s.replica_labels = toggle_label(&s.replica_labels, &all, &label, on));
                                            }/>
                                        {text}
                                    </label>
                                }
                            }).collect_view()}
                        </span>
                    })
                }}
                <span class="spacer"></span>
                <span class="stats">
                    {move || if loading.get() { "Loading… " } else { "" }}
                    "Load time: "<span data-testid="load-time">{move || outcome.with(|o| o.as_ref().map(|o| format!("{:.0} ms", o.load_ms)).unwrap_or_default())}</span>
                    " · Result series: "<span data-testid="series-count">{move || outcome.with(|o| o.as_ref().and_then(|o| o.data.as_ref().ok()).map(|d| d.series_count().to_string()).unwrap_or_default())}</span>
                </span>
            </div>
            {move || {
                let window = outcome.with(|o| o.as_ref().and_then(|o| o.window))?;
                let (hit, total) = known_stores
                    .with(|s| s.as_ref().map(|s| stores_in_range(s, window.start_ms, window.end_ms)))?;
                Some(view! {
                    <div class="stores-hit" data-testid="stores-in-range" title=hit.join("\n")>
                        {format!("Stores with data in this range: {} of {total}", hit.len())}
                    </div>
                })
            }}
            <ul class="warnings" data-testid="warnings">
                {move || outcome.with(|o| o.as_ref().map(|o| o.warnings.clone()).unwrap_or_default())
                    .into_iter().map(|w| view! { <li>{w}</li> }).collect_view()}
            </ul>
            <div class="tabs">
                {tab_button(Tab::Table, "tab-table")}
                {tab_button(Tab::Graph, "tab-graph")}
            </div>
            {move || match tab.get() {
                Tab::Graph => graph_controls().into_any(),
                Tab::Table => table_controls().into_any(),
            }}
            <div class="result">{body}</div>
            <div class="panel-actions">
                <button data-testid="duplicate-panel" on:click=move |_| duplicate.run(id)>"Duplicate"</button>
                <button data-testid="remove-panel" on:click=move |_| remove.run(id)>"Remove"</button>
            </div>
        </section>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replica_label_choice() {
        let all = vec!["a".to_owned(), "b".to_owned()];
        let only_b = toggle_label(&[], &all, "a", false);
        assert_eq!(only_b, vec!["b".to_owned()]);
        assert_eq!(toggle_label(&only_b, &all, "b", false), only_b);
        assert!(toggle_label(&only_b, &all, "a", true).is_empty());
    }

    #[test]
    fn ranges_and_seconds() {
        assert_eq!(
            step_range(UiDuration::from_ms(3_600_000), true).as_ms(),
            7_200_000
        );
        assert_eq!(
            step_range(UiDuration::from_ms(3_600_000), false).as_ms(),
            1_800_000
        );
        assert_eq!(
            step_range(UiDuration::from_ms(5_000_000), false).as_ms(),
            3_600_000
        );
        assert_eq!(api_seconds(-1), "-0.001");
        assert_eq!(utf16_to_byte("aé€b", 3), 6);
        assert_eq!(utf16_to_byte("ab", 9), 2);
        assert_eq!(api_seconds(-1500), "-1.500");
        assert_eq!(api_seconds(1_700_000_000_123), "1700000000.123");
    }
}
