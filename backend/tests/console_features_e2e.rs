//! The console's later features end to end, in a real headless Chromium against a real
//! `chorus demo`: "Copy link" on `--web.external-url`, label name and value completion, the
//! Stores page marking the stores a query reads, a sharp chart at device pixel ratio 2, and
//! unknown deep paths (with and without a route prefix) loading a working console.
//!
//! Elements are found by the console's `data-testid`s; expected values come from the demo's
//! HTTP API (label lists, store label sets, series counts), never from constants. Like
//! `console_e2e.rs`, a test prints a note and passes where `frontend/dist` or Chromium is missing,
//! except in CI (`CI` set), and the tests take turns at the browser.

#[path = "common/browser.rs"]
mod browser;
mod common;

use std::path::Path;
use std::time::Duration;

use browser::{ChromeDriver, DEFAULT_TIMEOUT, Session, browser_available, testid};
use common::{ChorusProcess, form_encode};
use fantoccini::Locator;
use serde_json::{Value, json};
use tokio::sync::Mutex;

/// One browser test at a time (parallel Chromiums only make each slower and flakier here).
static BROWSER_TURN: Mutex<()> = Mutex::const_new(());

/// At most this many suggestions are shown (the console's `complete::CAP`).
const SUGGESTION_CAP: usize = 12;

/// A `chorus demo` (started with extra flags), a ChromeDriver, and this test's turn.
struct Fixture {
    demo: ChorusProcess,
    driver: ChromeDriver,
    _turn: tokio::sync::MutexGuard<'static, ()>,
}

impl Fixture {
    /// `None` (after a note) where the test cannot run here.
    async fn start(test: &str, demo_flags: &[&str]) -> Option<Self> {
        if !browser_available(test) || !console_built(test) {
            return None;
        }
        let turn = BROWSER_TURN.lock().await;
        let flags: Vec<String> = demo_flags.iter().map(|f| f.to_string()).collect();
        let mut demo = ChorusProcess::start("demo", &flags);
        demo.wait_ready(Duration::from_secs(30)).await;
        wait_for_stores(&demo.http, 2).await;
        let driver = ChromeDriver::start().await;
        Some(Self {
            demo,
            driver,
            _turn: turn,
        })
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.demo.http)
    }
}

/// Whether `frontend/dist` is built (debug binaries serve it from disk); notes and skips like
/// [`browser_available`].
fn console_built(test: &str) -> bool {
    let index = Path::new(env!("CARGO_MANIFEST_DIR")).join("../frontend/dist/index.html");
    if index.exists() {
        return true;
    }
    let note = format!(
        "{test}: {} is missing: run `make frontend`",
        index.display()
    );
    assert!(std::env::var_os("CI").is_none(), "{note}");
    eprintln!("skipped: {note}");
    false
}

/// GET `url` as JSON.
async fn get_json(url: &str) -> Value {
    let response = reqwest::get(url)
        .await
        .unwrap_or_else(|e| panic!("GET {url}: {e}"));
    let body = response.text().await.expect("body");
    serde_json::from_str(&body).unwrap_or_else(|e| panic!("GET {url}: {e}: {body}"))
}

/// `data` of a GET answering a list of strings.
async fn get_strings(url: &str) -> Vec<String> {
    let answer = get_json(url).await;
    answer["data"]
        .as_array()
        .unwrap_or_else(|| panic!("{url}: {answer}"))
        .iter()
        .filter_map(|v| v.as_str().map(str::to_owned))
        .collect()
}

/// Waits until `{http}/api/v1/stores` lists `count` stores, and returns their entries.
async fn wait_for_stores(http: &str, count: usize) -> Vec<Value> {
    let url = format!("{http}/api/v1/stores");
    for _ in 0..300 {
        let stores = get_json(&url).await;
        let listed: Vec<Value> = stores["data"]
            .as_object()
            .map(|types| {
                types
                    .values()
                    .filter_map(Value::as_array)
                    .flatten()
                    .cloned()
                    .collect()
            })
            .unwrap_or_default();
        if listed.len() == count {
            return listed;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{url} did not list {count} stores");
}

/// The number of series `expr` returns now (deduplicated).
async fn series_count(http: &str, expr: &str) -> usize {
    let url = format!("{http}/api/v1/query?query={}", form_encode(expr));
    let answer = get_json(&url).await;
    let n = answer["data"]["result"]
        .as_array()
        .unwrap_or_else(|| panic!("{url}: {answer}"))
        .len();
    assert!(n > 0, "{expr} returns series");
    n
}

/// Waits until the first panel's `series-count` reads `expected`.
async fn wait_for_series(session: &Session, expected: usize) {
    session
        .wait_for_text(&testid("series-count"), |t| {
            t.trim() == expected.to_string()
        })
        .await;
}

/// The query string of a graph page URL with `expr` in one table panel.
fn table_panel(expr: &str) -> String {
    format!("?g0.expr={}&g0.tab=1", form_encode(expr))
}

async fn click(session: &Session, id: &str) {
    session
        .wait_for(&testid(id))
        .await
        .click()
        .await
        .unwrap_or_else(|e| panic!("click `{id}`: {e}"));
}

/// Waits until the page's path (no query) is `path`, and returns the whole URL.
async fn wait_for_path(session: &Session, path: &str) -> String {
    session
        .wait_until(&format!("the path {path}"), DEFAULT_TIMEOUT, || async {
            let url = session.url().await;
            let current = reqwest::Url::parse(&url).map_err(|e| e.to_string())?;
            if current.path() == path {
                Ok(url)
            } else {
                Err(url)
            }
        })
        .await
}

/// Waits until the editor's suggestion list is exactly `expected`.
async fn wait_for_suggestions(session: &Session, expected: &[String]) {
    let expected = expected.to_vec();
    session
        .wait_for_value(&format!("suggestions {expected:?}"), &expected, || async {
            let mut shown = Vec::new();
            for item in session.all(&format!("{} li", testid("suggestions"))).await {
                shown.push(item.text().await.map_err(|e| e.to_string())?);
            }
            Ok(shown)
        })
        .await;
}

#[tokio::test]
async fn copy_link_builds_on_the_external_url() {
    const EXTERNAL: &str = "https://chorus.example.com/team/thanos";
    let Some(fixture) = Fixture::start(
        "copy_link_builds_on_the_external_url",
        &["--web.external-url=https://chorus.example.com/team/thanos/"],
    )
    .await
    else {
        return;
    };
    let flags = get_json(&fixture.url("/api/v1/status/flags")).await;
    assert_eq!(flags["data"]["web.external-url"], json!(EXTERNAL));
    let expected = series_count(&fixture.demo.http, "up").await;

    let session = fixture.driver.session().await;
    session
        .goto(&fixture.url(&format!("/graph{}", table_panel("up"))))
        .await;
    wait_for_series(&session, expected).await;
    // The flags may arrive after the panel's result: copy until the link uses them.
    let copied = session
        .wait_until("a link on the external URL", DEFAULT_TIMEOUT, || async {
            click(&session, "copy-link").await;
            let text = session.text(&testid("copied-link")).await;
            if text.starts_with(&format!("Copied: {EXTERNAL}/graph?")) {
                Ok(text)
            } else {
                Err(text)
            }
        })
        .await;
    let page = reqwest::Url::parse(&session.url().await).expect("page URL");
    let link = copied.trim_start_matches("Copied: ");
    assert_eq!(
        link,
        format!("{EXTERNAL}/graph?{}", page.query().unwrap_or_default()),
        "the external URL, the graph path and the panels' state"
    );
    assert!(link.contains("g0.expr=up"), "{link}");
    assert!(!link.contains("127.0.0.1"), "{link}");
    session.close().await;
}

#[tokio::test]
async fn copy_link_without_external_url_is_the_page_address() {
    let Some(fixture) =
        Fixture::start("copy_link_without_external_url_is_the_page_address", &[]).await
    else {
        return;
    };
    let flags = get_json(&fixture.url("/api/v1/status/flags")).await;
    assert_eq!(flags["data"]["web.external-url"], json!(""));
    let expected = series_count(&fixture.demo.http, "up").await;
    let session = fixture.driver.session().await;
    session
        .goto(&fixture.url(&format!("/graph{}", table_panel("up"))))
        .await;
    wait_for_series(&session, expected).await;
    click(&session, "copy-link").await;
    let text = session.text(&testid("copied-link")).await;
    assert_eq!(text, format!("Copied: {}", session.url().await));
    assert!(
        text.starts_with(&format!("Copied: {}/graph?", fixture.demo.http)),
        "{text}"
    );
    session.close().await;
}

#[tokio::test]
async fn label_names_and_values_are_suggested() {
    let Some(fixture) = Fixture::start("label_names_and_values_are_suggested", &[]).await else {
        return;
    };
    let http = &fixture.demo.http;
    let names_of_up = get_strings(&format!("{http}/api/v1/labels?match[]=up")).await;
    let all_names = get_strings(&format!("{http}/api/v1/labels")).await;
    let jobs = get_strings(&format!("{http}/api/v1/label/job/values?match[]=up")).await;
    assert!(names_of_up.contains(&"job".to_owned()), "{names_of_up:?}");
    assert!(!jobs.is_empty());
    let first = |list: &[String]| -> Vec<String> {
        let mut sorted = list.to_vec();
        sorted.sort();
        sorted.truncate(SUGGESTION_CAP);
        sorted
    };

    let session = fixture.driver.session().await;
    session.goto(&fixture.url("/graph")).await;
    let editor = session.wait_for(&testid("expr")).await;
    // Inside `up{`: the label names of `up`.
    editor.send_keys("up{").await.expect("type");
    wait_for_suggestions(&session, &first(&names_of_up)).await;
    // Inside `job="`: the values of `job` for `up`.
    editor.send_keys("job=\"").await.expect("type");
    wait_for_suggestions(&session, &first(&jobs)).await;
    // A typed prefix narrows them; Tab takes the first and closes the quote.
    let chosen = first(&jobs)[0].clone();
    let prefix: String = chosen.chars().take(2).collect();
    editor.send_keys(&prefix).await.expect("type");
    let narrowed: Vec<String> = first(
        &jobs
            .iter()
            .filter(|j| j.starts_with(&prefix) && **j != prefix)
            .cloned()
            .collect::<Vec<_>>(),
    );
    wait_for_suggestions(&session, &narrowed).await;
    editor.send_keys("\u{E004}").await.expect("press Tab");
    let value = editor
        .prop("value")
        .await
        .expect("editor value")
        .unwrap_or_default();
    assert_eq!(value, format!("up{{job=\"{}\"", narrowed[0]));

    // Inside `sum by (`: every label name (no metric to narrow them).
    editor.clear().await.expect("clear");
    editor.send_keys("sum by (").await.expect("type");
    wait_for_suggestions(&session, &first(&all_names)).await;
    session.close().await;
}

/// Each store's name and whether one of its label sets has `label="value"`.
fn stores_with(stores: &[Value], label: &str, value: &str) -> Vec<(String, bool)> {
    let mut out: Vec<(String, bool)> = stores
        .iter()
        .map(|s| {
            let has = s["labelSets"]
                .as_array()
                .is_some_and(|sets| sets.iter().any(|set| set[label] == json!(value)));
            (s["name"].as_str().unwrap_or_default().to_owned(), has)
        })
        .collect();
    out.sort();
    out
}

/// The Stores page's rows as (endpoint, marked as queried), sorted, once every row has a mark
/// and the marks are `expected`.
async fn wait_for_marks(session: &Session, expected: &[(String, bool)]) {
    let expected = expected.to_vec();
    session
        .wait_for_value(&format!("store marks {expected:?}"), &expected, || async {
            let mut rows = Vec::new();
            for row in session.all(&testid("store-row")).await {
                let cell = |id: &str| {
                    let row = row.clone();
                    let css = browser::testid(id);
                    async move {
                        match row.find(Locator::Css(&css)).await {
                            Ok(el) => el.text().await.map_err(|e| e.to_string()),
                            Err(e) => Err(format!("no {css}: {e}")),
                        }
                    }
                };
                let endpoint = cell("store-endpoint").await?;
                let mark = cell("store-queried").await?;
                rows.push((endpoint.trim().to_owned(), mark.trim() == "✓"));
            }
            rows.sort();
            Ok(rows)
        })
        .await;
}

#[tokio::test]
async fn stores_page_marks_the_stores_a_query_reads() {
    let Some(fixture) = Fixture::start("stores_page_marks_the_stores_a_query_reads", &[]).await
    else {
        return;
    };
    let stores = wait_for_stores(&fixture.demo.http, 2).await;
    let label = "prometheus_replica";
    let replica_a = stores_with(&stores, label, "a");
    assert_eq!(
        replica_a.iter().filter(|(_, has)| *has).count(),
        1,
        "one store announces replica a: {stores:?}"
    );
    let expr = format!("up{{{label}=\"a\"}}");
    let expected = series_count(&fixture.demo.http, &expr).await;

    let session = fixture.driver.session().await;
    // Before any query: no marks, and a note saying how to get them.
    session.goto(&fixture.url("/stores")).await;
    session.wait_for(&testid("store-row")).await;
    assert!(session.all(&testid("store-queried")).await.is_empty());
    assert!(
        session
            .text(&testid("store-scope"))
            .await
            .contains("Graph page")
    );

    session
        .goto(&fixture.url(&format!("/graph{}", table_panel(&expr))))
        .await;
    wait_for_series(&session, expected).await;
    click(&session, "nav-stores").await;
    wait_for_marks(&session, &replica_a).await;
    assert!(session.text(&testid("store-scope")).await.contains(&expr));

    // A query on both replicas reads both stores.
    click(&session, "nav-graph").await;
    let editor = session.wait_for(&testid("expr")).await;
    editor.clear().await.expect("clear");
    editor.send_keys("up").await.expect("type");
    click(&session, "execute").await;
    wait_for_series(&session, series_count(&fixture.demo.http, "up").await).await;
    click(&session, "nav-stores").await;
    let all: Vec<(String, bool)> = replica_a
        .iter()
        .map(|(name, _)| (name.clone(), true))
        .collect();
    wait_for_marks(&session, &all).await;
    session.close().await;
}

#[tokio::test]
async fn chart_is_sharp_at_device_pixel_ratio_two() {
    let Some(fixture) = Fixture::start("chart_is_sharp_at_device_pixel_ratio_two", &[]).await
    else {
        return;
    };
    let chrome = ChromeDriver::start().await;
    let session = chrome
        .session_with(&["--force-device-scale-factor=2"])
        .await;
    let client = session.client();
    let url = fixture.url(&format!("/graph?g0.expr={}&g0.tab=0", form_encode("up")));
    client.goto(&url).await.expect("open the graph page");
    // Sizes once the chart is drawn (a canvas with a plot, per the `chorus:chart-drawn` mark).
    const SIZES: &str = r#"
        const canvas = document.querySelector('[data-testid="chart"]');
        const drawn = performance.getEntriesByName('chorus:chart-drawn').length > 0;
        if (!canvas || !drawn) return null;
        return [window.devicePixelRatio, canvas.width, canvas.height,
                canvas.clientWidth, canvas.clientHeight];
    "#;
    let mut sizes = Value::Null;
    for _ in 0..150 {
        sizes = client.execute(SIZES, vec![]).await.expect("script runs");
        if !sizes.is_null() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let n = |i: usize| {
        sizes[i]
            .as_f64()
            .unwrap_or_else(|| panic!("no chart: {sizes}"))
    };
    assert_eq!(n(0), 2.0, "device pixel ratio");
    assert!(n(3) >= 300.0 && n(4) >= 300.0, "{sizes}");
    assert_eq!(
        (n(1), n(2)),
        (2.0 * n(3), 2.0 * n(4)),
        "backing store = CSS size × 2"
    );

    // Hover still maps CSS pixels: the highlighted point lies under the mouse, not at twice its x.
    const HOVER: &str = r#"
        const canvas = document.querySelector('[data-testid="chart"]');
        const rect = canvas.getBoundingClientRect();
        const x = Math.round(rect.width * 0.6), y = Math.round(rect.height * 0.5);
        canvas.dispatchEvent(new MouseEvent('mousemove', {
            bubbles: true, clientX: rect.left + x, clientY: rect.top + y }));
        return x;
    "#;
    let mouse_x = client.execute(HOVER, vec![]).await.expect("hover");
    let mut dot = Value::Null;
    for _ in 0..50 {
        dot = client
            .execute(
                "const d = document.querySelector('.chart-wrap .dot'); \
                 return d ? parseFloat(d.style.left) + 4 : null;",
                vec![],
            )
            .await
            .expect("dot position");
        if !dot.is_null() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let (mouse, point) = (
        mouse_x.as_f64().unwrap_or(0.0),
        dot.as_f64().unwrap_or(-1e9),
    );
    assert!(
        (mouse - point).abs() < 30.0,
        "hovered point at x={point}, mouse at x={mouse}"
    );
    session.close().await;
}

#[tokio::test]
async fn unknown_deep_paths_load_a_working_console() {
    let Some(fixture) = Fixture::start("unknown_deep_paths_load_a_working_console", &[]).await
    else {
        return;
    };
    let expected = series_count(&fixture.demo.http, "up").await;
    let session = fixture.driver.session().await;
    session
        .goto(&fixture.url(&format!("/graph/a/b{}", table_panel("up"))))
        .await;
    wait_for_series(&session, expected).await;
    let url = wait_for_path(&session, "/graph").await;
    assert!(url.contains("g0.expr=up"), "{url}");

    // Under a route prefix, three unknown levels deep.
    let mut querier = ChorusProcess::start(
        "query",
        &[
            format!("--endpoint={}", fixture.demo.grpc),
            "--web.route-prefix=/prefix".to_string(),
        ],
    );
    querier.wait_ready(Duration::from_secs(30)).await;
    let base = format!("{}/prefix", querier.http);
    wait_for_stores(&base, 1).await;
    let expected = series_count(&base, "up").await;
    session
        .goto(&format!("{base}/x/y/z{}", table_panel("up")))
        .await;
    wait_for_series(&session, expected).await;
    wait_for_path(&session, "/prefix/graph").await;
    let stores_link = session
        .wait_for(&testid("nav-stores"))
        .await
        .attr("href")
        .await
        .expect("href")
        .unwrap_or_default();
    assert_eq!(stores_link, "/prefix/stores");
    click(&session, "nav-stores").await;
    assert_eq!(session.text(&testid("store-status")).await.trim(), "UP");
    session.close().await;
}
