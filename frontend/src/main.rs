//! The Chorus web console: a Leptos client-side app served by `chorus` itself.
//!
//! - [`app`]: the shell (nav bar, theme toggle, page routing);
//! - [`prefix`]: where the console is served, from the page location, and URL helpers;
//! - [`api`]: HTTP calls to the querier's API and their errors;
//! - [`graph`]: the graph page (panels, table, chart, legend);
//! - [`stores`]: the stores page; [`status`]: build information and flags;
//! - [`theme`]: light/dark theme.
//!
//! Logic that can be tested natively (path prefix, response data, chart series) lives in the
//! `shared` crate; this crate holds the DOM glue.

mod api;
mod app;
mod graph;
mod prefix;
mod status;
mod stores;
mod theme;

fn main() {
    if prefix::needs_settling() {
        // An unknown path: find the API's prefix first (see `prefix::settle`). Leptos's own
        // executor starts with the mount, so this runs on wasm-bindgen's directly.
        wasm_bindgen_futures::spawn_local(async {
            prefix::settle().await;
            leptos::mount::mount_to_body(app::App);
        });
    } else {
        leptos::mount::mount_to_body(app::App);
    }
}
