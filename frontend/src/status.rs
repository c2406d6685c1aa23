//! The status page: build information (`api/v1/status/buildinfo`) and command-line flags
//! (`api/v1/status/flags`) as tables. It knows nothing of other pages.

use std::collections::BTreeMap;

use leptos::prelude::*;

use crate::api;
use crate::app::Site;

type Map = BTreeMap<String, serde_json::Value>;

fn text(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn table(testid: &'static str, data: Option<Result<Map, String>>) -> impl IntoView {
    match data {
        None => view! { <p>"Loading…"</p> }.into_any(),
        Some(Err(e)) => view! { <div class="error">{e}</div> }.into_any(),
        Some(Ok(map)) => view! {
            <table class="kv" data-testid=testid>
                <tbody>
                    {map.into_iter().map(|(k, v)| view! { <tr><th>{k}</th><td>{text(&v)}</td></tr> }).collect_view()}
                </tbody>
            </table>
        }
        .into_any(),
    }
}

/// The status page.
#[component]
pub fn StatusPage(
    /// Scroll to the flags once they are shown (the `/flags` path).
    focus_flags: bool,
) -> impl IntoView {
    let site = expect_context::<Site>();
    let build: RwSignal<Option<Result<Map, String>>> = RwSignal::new(None);
    let flags: RwSignal<Option<Result<Map, String>>> = RwSignal::new(None);
    for (path, target) in [
        ("api/v1/status/buildinfo", build),
        ("api/v1/status/flags", flags),
    ] {
        let url = site.api(path);
        leptos::task::spawn_local(async move {
            let result = api::get::<Map>(&url).await;
            target.set(Some(result.map(|ok| ok.data).map_err(|e| e.to_string())));
        });
    }
    if focus_flags {
        Effect::new(move |_| {
            if flags.with(Option::is_some)
                && let Some(heading) = web_sys::window()
                    .and_then(|w| w.document())
                    .and_then(|d| d.get_element_by_id("flags"))
            {
                heading.scroll_into_view();
            }
        });
    }
    view! {
        <div class="status-page">
            <h1>"Build information"</h1>
            {move || table("build-info", build.get())}
            <h1 id="flags">"Command-line flags"</h1>
            {move || table("flags", flags.get())}
        </div>
    }
}
