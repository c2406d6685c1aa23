//! One graph panel: the expression editor, query options, Table/Graph tabs, and running the
//! query against `api/v1/query` (table) or `api/v1/query_range` (graph). The panel's state is
//! a `PanelState` signal owned by the page (which writes it to the URL); results stay here.

use leptos::prelude::*;
use shared::chart::ChartSeries;
use shared::completion::{Completion, CompletionKind, completion_at};
use shared::panel::{PanelState, StepSeconds, Tab, default_step_seconds};
use shared::query_result::{QueryData, chart_series};
use shared::timefmt::{UiDuration, format_utc, parse_utc};

use super::chart::Chart;
use super::complete::Completer;
use super::query::{RANGE_STEPS, Window, caret, request, step_range, toggle_label, utf16_to_byte};
use super::table::ResultTable;
use super::{KnownStores, QueryDefaults, stores_in_range};
use crate::api;
use crate::app::Site;
use crate::prefix;
use crate::stores::{LastQuery, ScopedQuery};

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

/// How far back a selector reads before the first evaluation (`query.lookback-delta`'s
/// default): the stores consulted reach that far before the range.
const LOOKBACK_MS: i64 = 5 * 60 * 1000;

/// The data a query reads, for the Stores page: the range query's window, or the instant
/// query's evaluation time (`moment_ms`, now when unset), less the lookback.
fn scoped(expr: &str, window: Option<Window>, moment_ms: Option<i64>) -> ScopedQuery {
    let (start_ms, end_ms) = match window {
        Some(w) => (w.start_ms, w.end_ms),
        None => {
            let t = moment_ms.unwrap_or_else(prefix::now_ms);
            (t, t)
        }
    };
    ScopedQuery {
        expr: expr.to_owned(),
        start_ms: start_ms.saturating_sub(LOOKBACK_MS),
        end_ms,
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
    let LastQuery(last_query) = expect_context::<LastQuery>();
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
        last_query.set(Some(scoped(&s.expr, window, s.moment_ms)));
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

    let completer = expect_context::<Completer>();
    // What is being completed; `None` closes the list.
    let completing: RwSignal<Option<Completion>> = RwSignal::new(None);
    let suggestions = Memo::new(move |_| {
        completing.with(|c| {
            c.as_ref()
                .map(|c| site.with_value(|site| completer.suggest(site, c)))
                .unwrap_or_default()
        })
    });
    // The byte range the choice replaces.
    let word_span = StoredValue::new((0usize, 0usize));
    let accept = move |choice: String| {
        let (start, end) = word_span.get_value();
        let value = completing.with_untracked(|c| {
            c.as_ref()
                .is_some_and(|c| matches!(c.kind, CompletionKind::LabelValue { .. }))
        });
        state.update(|s| {
            if start <= end && s.expr.get(start..end).is_some() {
                // A value gets its closing quote, unless one follows already.
                let quote = s.expr[..start].chars().next_back().filter(|_| value);
                let mut text = choice;
                if let Some(q) = quote
                    && !s.expr[end..].starts_with(q)
                {
                    text.push(q);
                }
                s.expr.replace_range(start..end, &text);
            }
        });
        completing.set(None);
    };
    let on_input = move |ev: leptos::ev::Event| {
        let v = event_target_value(&ev);
        let cursor = caret(&ev).map_or(v.len(), |units| utf16_to_byte(&v, units));
        let found = completion_at(&v, cursor);
        if let Some(c) = &found {
            word_span.set_value((c.start, cursor));
            site.with_value(|site| completer.prepare(site, c));
        }
        completing.set(found);
        state.update(|s| s.expr = v);
    };
    let on_key = move |ev: leptos::ev::KeyboardEvent| {
        let key = ev.key();
        if key == "Enter" && !ev.shift_key() {
            ev.prevent_default();
            completing.set(None);
            run();
        } else if key == "Tab" && !suggestions.with_untracked(Vec::is_empty) {
            ev.prevent_default();
            if let Some(first) = suggestions.with_untracked(|s| s.first().cloned()) {
                accept(first);
            }
        } else if key == "Escape" {
            completing.set(None);
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
                <button data-testid="range-minus" title="Shorter range" on:click=move |_| state.update(|s| s.range = step_range(s.range, false))>"−"</button>
                <input class="range" data-testid="range-input" list="range-presets" size="6"
                    prop:value=move || state.with(|s| s.range.to_string())
                    on:change=move |ev| {
                        if let Ok(r) = UiDuration::parse(&event_target_value(&ev)) {
                            if r.as_ms() > 0 { state.update(|s| s.range = r); }
                        } else {
                            state.update(|_| {});
                        }
                    }/>
                <button data-testid="range-plus" title="Longer range" on:click=move |_| state.update(|s| s.range = step_range(s.range, true))>"+"</button>
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
                    on:focus=move |_| site.with_value(|site| completer.ensure_names(site))
                    on:blur=move |_| completing.set(None)
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
