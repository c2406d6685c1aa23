//! The app shell: nav bar, theme toggle and the page for the current path. Navigation between
//! pages uses `history.pushState` (links keep working as plain links under any prefix).
//! It knows the pages only by their components.

use leptos::prelude::*;
use shared::ui_path::{Route, UiLocation};

use crate::graph::GraphPage;
use crate::prefix;
use crate::status::StatusPage;
use crate::stores::{LastQuery, StoresPage};
use crate::theme::{self, ThemeCtx, ThemeToggle};

/// Where the console is served; provided as context.
#[derive(Debug, Clone)]
pub struct Site(pub UiLocation);

impl Site {
    /// The absolute path of an API endpoint such as `api/v1/query`.
    pub fn api(&self, relative: &str) -> String {
        self.0.api_path(relative)
    }
}

/// The console.
#[component]
pub fn App() -> impl IntoView {
    let loc = prefix::current();
    let route = RwSignal::new(loc.route);
    provide_context(Site(loc.clone()));
    provide_context(LastQuery(RwSignal::new(None)));

    let mode = RwSignal::new(theme::initial());
    provide_context(ThemeCtx(mode));
    Effect::new(move |_| theme::apply(mode.get()));

    let handle = window_event_listener(leptos::ev::popstate, move |_| {
        route.set(prefix::current().route);
    });
    on_cleanup(move || handle.remove());

    let link = move |target: Route, label: &'static str, testid: &'static str| {
        let loc = loc.clone();
        let href = loc.page_path(target);
        view! {
            <a href=href data-testid=testid
                class:active=move || route.get() == target
                    || (target == Route::Status && route.get() == Route::Flags)
                on:click=move |ev: leptos::ev::MouseEvent| {
                    if ev.ctrl_key() || ev.meta_key() || ev.shift_key() || ev.button() != 0 {
                        return;
                    }
                    ev.prevent_default();
                    prefix::push_route(&loc, target);
                    route.set(target);
                }>{label}</a>
        }
    };

    view! {
        <nav class="navbar">
            <span class="brand">"Chorus"</span>
            {link(Route::Graph, "Graph", "nav-graph")}
            {link(Route::Stores, "Stores", "nav-stores")}
            {link(Route::Status, "Status", "nav-status")}
            <span class="spacer"></span>
            <ThemeToggle/>
        </nav>
        <main>
            {move || match route.get() {
                Route::Graph => view! { <GraphPage/> }.into_any(),
                Route::Stores => view! { <StoresPage/> }.into_any(),
                Route::Status => view! { <StatusPage focus_flags=false/> }.into_any(),
                Route::Flags => view! { <StatusPage focus_flags=true/> }.into_any(),
            }}
        </main>
    }
}
