//! The console's place in the site: the path prefix and page from `location.pathname`
//! (computed by [`shared::ui_path::locate`]), plus small browser-location helpers.
//!
//! A page opened at an unknown path (`/graph/a/b`, `/prefix/x/y/z`) does not say where the
//! API is: [`settle`] probes the candidate prefixes (`shared::ui_path::prefix_candidates`) for
//! `api/v1/status/buildinfo` before the app starts, and shows the graph page's path under the
//! first that answers. It knows nothing of pages' contents.

use shared::ui_path::{Route, UiLocation, locate, prefix_candidates};

use crate::api;

/// Whether the page's path leaves the prefix open (see [`settle`]).
pub fn needs_settling() -> bool {
    !prefix_candidates(&pathname()).is_empty()
}

/// For a page opened at an unknown path: finds the deepest prefix whose `api/v1/status/buildinfo`
/// answers, and replaces the address with that prefix's graph page (query string kept), so
/// that [`current`] is right from then on. Leaves the address alone when none answers.
pub async fn settle() {
    for prefix in prefix_candidates(&pathname()) {
        let probe = format!("{prefix}api/v1/status/buildinfo");
        if api::get::<serde_json::Value>(&probe).await.is_ok() {
            replace_url(&format!("{prefix}{}{}", Route::Graph.segment(), search()));
            return;
        }
    }
}

fn pathname() -> String {
    web_sys::window()
        .and_then(|w| w.location().pathname().ok())
        .unwrap_or_else(|| "/".to_owned())
}

/// The current page location, read from the browser.
pub fn current() -> UiLocation {
    locate(&pathname())
}

/// The query string of the page (with its `?`, or empty).
pub fn search() -> String {
    web_sys::window()
        .and_then(|w| w.location().search().ok())
        .unwrap_or_default()
}

/// The full page URL.
pub fn href() -> String {
    web_sys::window()
        .and_then(|w| w.location().href().ok())
        .unwrap_or_default()
}

/// Replaces the URL in the address bar without navigating (no history entry).
pub fn replace_url(url: &str) {
    if let Some(history) = web_sys::window().and_then(|w| w.history().ok()) {
        // A refused replaceState only leaves the old URL in place.
        let _ = history.replace_state_with_url(&wasm_bindgen::JsValue::NULL, "", Some(url));
    }
}

/// Adds a history entry for `route` and shows its path.
pub fn push_route(loc: &UiLocation, route: Route) {
    if let Some(history) = web_sys::window().and_then(|w| w.history().ok()) {
        let _ = history.push_state_with_url(
            &wasm_bindgen::JsValue::NULL,
            "",
            Some(&loc.page_path(route)),
        );
    }
}

/// Sets a `performance.mark` (read by the browser benchmark).
pub fn mark(name: &str) {
    if let Some(perf) = web_sys::window().and_then(|w| w.performance()) {
        let _ = perf.mark(name);
    }
}

/// Milliseconds since the epoch, from the browser clock.
pub fn now_ms() -> i64 {
    // The clock is a float of whole milliseconds well inside i64.
    js_sys::Date::now() as i64
}
