//! The Chorus web console. For now a single page that says the console is not built yet and
//! links to the HTTP API; the graph and stores pages come with the web-console issue.

use leptos::prelude::*;

fn main() {
    leptos::mount::mount_to_body(App);
}

/// The placeholder page.
#[component]
fn App() -> impl IntoView {
    view! {
        <main>
            <h1>"Chorus"</h1>
            <p class="notice">
                "The web console is a placeholder: the graph and stores pages are not built yet. "
                "The query layer itself runs; use its HTTP API:"
            </p>
            <ul>
                <li><a href="api/v1/stores">"api/v1/stores"</a>" — endpoints, health, label sets, time ranges"</li>
                <li><a href="api/v1/labels">"api/v1/labels"</a>" — label names"</li>
                <li><a href="api/v1/label/__name__/values">"api/v1/label/__name__/values"</a>" — metric names"</li>
                <li><a href="api/v1/status/buildinfo">"api/v1/status/buildinfo"</a></li>
                <li><a href="api/v1/status/flags">"api/v1/status/flags"</a></li>
            </ul>
        </main>
    }
}
