//! The console's place in the site: the path prefix and page from `location.pathname`
//! (computed by [`shared::ui_path::locate`]), plus small browser-location helpers.
//! It knows nothing of pages' contents.

use shared::ui_path::{Route, UiLocation, locate};

/// The current page location, read from the browser.
pub fn current() -> UiLocation {
    let path = web_sys::window()
        .and_then(|w| w.location().pathname().ok())
        .unwrap_or_else(|| "/".to_owned());
    locate(&path)
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
