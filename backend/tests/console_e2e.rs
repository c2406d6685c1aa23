//! The web console end to end, in a real headless Chromium (Debian's, over ChromeDriver) against
//! a real `chorus demo` process: the Stores page, executing a query, dedup on and off, URL state
//! restored in a fresh browser, Thanos-format links, the chart, errors, a route prefix and a
//! path-stripping proxy, themes, the Status page.
//!
//! The elements are found by the `data-testid`s of the console's element contract (issue 5).
//! Expected figures come from the demo's HTTP API, never from constants: the demo runs two
//! replicas (`prometheus_replica` a and b), so without dedup every series appears twice.
//!
//! Debug builds of `chorus` read `frontend/dist` at run time: `make test` builds it first. Without
//! it, or without Chromium, a test prints a note and passes — except in CI (`CI` set), where it
//! fails. With `CHORUS_UPDATE_SCREENSHOTS=1` the screenshot test writes `docs/screenshots/*.png`.
//!
//! The tests take turns (one browser at a time): parallel Chromiums on a small machine only make
//! each test slower and its timeouts flakier.

#[path = "common/browser.rs"]
mod browser;
mod common;

use std::path::{Path, PathBuf};
use std::time::Duration;

use browser::{ChromeDriver, DEFAULT_TIMEOUT, Session, browser_available};
use common::{ChorusProcess, form_encode};
use serde_json::Value;
use tokio::sync::Mutex;

/// One browser test at a time (see the module doc).
static BROWSER_TURN: Mutex<()> = Mutex::const_new(());

/// The demo's metric every test queries: `up`, one series per demo target and replica.
const EXPR: &str = "up";

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the workspace root")
        .to_path_buf()
}

/// Whether the built console is there for debug binaries to serve; notes and skips like
/// [`browser_available`], failing in CI.
fn console_built(test: &str) -> bool {
    let index = repo_root().join("frontend/dist/index.html");
    if index.exists() {
        return true;
    }
    let note = format!(
        "{test}: {} is missing: run `make frontend` (make test does)",
        index.display()
    );
    assert!(std::env::var_os("CI").is_none(), "{note}");
    eprintln!("skipped: {note}");
    false
}

/// A `chorus demo` process, a ChromeDriver, and this test's turn at the browser.
struct Fixture {
    demo: ChorusProcess,
    driver: ChromeDriver,
    _turn: tokio::sync::MutexGuard<'static, ()>,
}

impl Fixture {
    /// `None` (after a note) where the test cannot run here; see the module doc.
    async fn start(test: &str) -> Option<Self> {
        if !browser_available(test) || !console_built(test) {
            return None;
        }
        let turn = BROWSER_TURN.lock().await;
        let mut demo = ChorusProcess::start("demo", &[]);
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

/// GET `url` as JSON.
async fn get_json(url: &str) -> Value {
    let response = reqwest::get(url)
        .await
        .unwrap_or_else(|e| panic!("GET {url}: {e}"));
    let body = response.text().await.expect("body");
    serde_json::from_str(&body).unwrap_or_else(|e| panic!("GET {url}: {e}: {body}"))
}

/// Waits until `{http}/api/v1/stores` lists `count` stores in all, and returns the answer.
async fn wait_for_stores(http: &str, count: usize) -> Value {
    let url = format!("{http}/api/v1/stores");
    for _ in 0..300 {
        let stores = get_json(&url).await;
        let listed: usize = stores["data"].as_object().map_or(0, |types| {
            types
                .values()
                .filter_map(Value::as_array)
                .map(Vec::len)
                .sum()
        });
        if listed == count {
            return stores;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{url} did not list {count} stores");
}

/// The number of series `expr` returns now through the API, with and without dedup.
async fn series_counts(http: &str, expr: &str) -> (usize, usize) {
    let mut counts = [0; 2];
    for (count, dedup) in counts.iter_mut().zip(["true", "false"]) {
        let url = format!(
            "{http}/api/v1/query?query={}&dedup={dedup}",
            form_encode(expr)
        );
        let answer = get_json(&url).await;
        *count = answer["data"]["result"]
            .as_array()
            .unwrap_or_else(|| panic!("{url}: {answer}"))
            .len();
    }
    assert!(counts[0] > 0, "{expr} returns series");
    (counts[0], counts[1])
}

/// The first decimal number in `text` (the series count may come with words around it).
fn first_number(text: &str) -> Option<usize> {
    let digits: String = text
        .chars()
        .skip_while(|c| !c.is_ascii_digit())
        .take_while(char::is_ascii_digit)
        .collect();
    digits.parse().ok()
}

/// Waits until the panel shows `expected` result series: both the `series-count` text and, on
/// the table tab, one `result-table` body row per series.
async fn wait_for_series(session: &Session, expected: usize, table: bool) {
    let text = session
        .wait_for_text("series-count", |t| first_number(t) == Some(expected))
        .await;
    if table {
        session
            .wait_until(
                &format!("{expected} result-table rows (series-count {text:?})"),
                DEFAULT_TIMEOUT,
                || async {
                    let rows = session
                        .all_css("[data-testid=\"result-table\"] tbody tr")
                        .await;
                    if rows.len() == expected {
                        Ok(())
                    } else {
                        Err(format!("{} rows", rows.len()))
                    }
                },
            )
            .await;
    }
}

/// Replaces the expression of the first panel with `expr`.
async fn type_expression(session: &Session, expr: &str) {
    let input = session.wait_for("expr").await;
    input.clear().await.expect("clear the expression");
    input.send_keys(expr).await.expect("type the expression");
}

async fn click(session: &Session, id: &str) {
    session
        .wait_for(id)
        .await
        .click()
        .await
        .unwrap_or_else(|e| panic!("click `{id}`: {e}"));
}

async fn is_checked(session: &Session, id: &str) -> bool {
    session
        .wait_for(id)
        .await
        .is_selected()
        .await
        .unwrap_or_else(|e| panic!("state of `{id}`: {e}"))
}

async fn expression(session: &Session) -> String {
    session
        .wait_for("expr")
        .await
        .prop("value")
        .await
        .expect("the expression's value")
        .unwrap_or_default()
}

async fn is_displayed(session: &Session, id: &str) -> bool {
    match session.all(id).await.first() {
        Some(element) => element.is_displayed().await.unwrap_or(false),
        None => false,
    }
}

/// Waits until the `chart` canvas holds a drawing: at least `min_pixels` pixels that differ
/// from its most common colour (the background), in at least three colours (axes, text and
/// series). Returns (drawn pixels, colours).
async fn wait_for_drawn_chart(session: &Session, min_pixels: u64) -> (u64, u64) {
    const SCRIPT: &str = r#"
        const canvas = document.querySelector('[data-testid="chart"]');
        if (!canvas || !canvas.width || !canvas.height) return null;
        const data = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
        const counts = new Map();
        for (let i = 0; i < data.length; i += 4) {
            const key = (data[i] << 24 | data[i + 1] << 16 | data[i + 2] << 8 | data[i + 3]) >>> 0;
            counts.set(key, (counts.get(key) || 0) + 1);
        }
        let background = 0;
        for (const n of counts.values()) background = Math.max(background, n);
        return [data.length / 4 - background, counts.size];
    "#;
    session
        .wait_until("a drawn chart", DEFAULT_TIMEOUT, || async {
            let value = session.execute(SCRIPT, vec![]).await;
            let drawn = value[0].as_u64().unwrap_or(0);
            let colours = value[1].as_u64().unwrap_or(0);
            if drawn >= min_pixels && colours >= 3 {
                Ok((drawn, colours))
            } else {
                Err(format!("{value}"))
            }
        })
        .await
}

#[tokio::test]
async fn stores_page_lists_the_demo_replicas_as_up() {
    let Some(fixture) = Fixture::start("stores_page_lists_the_demo_replicas_as_up").await else {
        return;
    };
    let stores = get_json(&fixture.url("/api/v1/stores")).await;
    let mut endpoints: Vec<String> = stores["data"]["sidecar"]
        .as_array()
        .expect("sidecars")
        .iter()
        .map(|s| s["name"].as_str().unwrap_or_default().to_string())
        .collect();
    endpoints.sort();

    let session = fixture.driver.session().await;
    session.goto(&fixture.url("/stores")).await;
    session
        .wait_until("a row per store", DEFAULT_TIMEOUT, || async {
            let rows = session.all("store-row").await;
            if rows.len() == endpoints.len() {
                Ok(())
            } else {
                Err(format!("{} rows", rows.len()))
            }
        })
        .await;
    let mut shown = Vec::new();
    for row in session.all("store-row").await {
        let cell = |id: &'static str| {
            let row = row.clone();
            async move {
                row.find(fantoccini::Locator::Css(&browser::testid(id)))
                    .await
                    .unwrap_or_else(|e| panic!("`{id}` in a store-row: {e}"))
                    .text()
                    .await
                    .expect("text")
            }
        };
        let endpoint = cell("store-endpoint").await;
        assert_eq!(cell("store-status").await.trim(), "UP", "{endpoint}");
        let labels = cell("store-labels").await;
        assert!(
            labels.contains("prometheus_replica") && labels.contains("cluster"),
            "{endpoint}: {labels}"
        );
        shown.push(endpoint.trim().to_string());
    }
    shown.sort();
    assert_eq!(shown, endpoints);
    assert!(session.all("no-stores").await.is_empty());

    // The filter box narrows the list to the matching endpoint.
    let filter = session.wait_for("store-filter").await;
    filter
        .send_keys(&endpoints[1])
        .await
        .expect("type a filter");
    session
        .wait_until("one row after filtering", DEFAULT_TIMEOUT, || async {
            let rows = session.all("store-row").await;
            if rows.len() == 1 {
                Ok(())
            } else {
                Err(format!("{} rows", rows.len()))
            }
        })
        .await;
    assert_eq!(session.text("store-endpoint").await.trim(), endpoints[1]);
    session.close().await;
}

/// Opens the graph page, types [`EXPR`] and executes it on the table tab; returns the session
/// and the API's series counts (deduplicated, both replicas).
async fn executed_on_the_table(fixture: &Fixture) -> (Session, usize, usize) {
    let (deduplicated, both) = series_counts(&fixture.demo.http, EXPR).await;
    assert_eq!(both, 2 * deduplicated, "two replicas");
    let session = fixture.driver.session().await;
    session.goto(&fixture.url("/graph")).await;
    assert!(
        is_checked(&session, "dedup").await,
        "dedup is on by default"
    );
    type_expression(&session, EXPR).await;
    click(&session, "tab-table").await;
    click(&session, "execute").await;
    wait_for_series(&session, deduplicated, true).await;
    let load_time = session.text("load-time").await;
    assert!(
        load_time.chars().any(|c| c.is_ascii_digit()),
        "{load_time:?}"
    );
    (session, deduplicated, both)
}

#[tokio::test]
async fn unticking_dedup_doubles_the_series_and_ticking_restores_them() {
    let Some(fixture) =
        Fixture::start("unticking_dedup_doubles_the_series_and_ticking_restores_them").await
    else {
        return;
    };
    let (session, deduplicated, both) = executed_on_the_table(&fixture).await;
    // As in Thanos, the checkbox alone re-runs the query.
    click(&session, "dedup").await;
    assert!(!is_checked(&session, "dedup").await);
    wait_for_series(&session, both, true).await;
    click(&session, "dedup").await;
    assert!(is_checked(&session, "dedup").await);
    wait_for_series(&session, deduplicated, true).await;
    session.close().await;
}

#[tokio::test]
async fn switching_to_the_graph_tab_draws_the_result() {
    let Some(fixture) = Fixture::start("switching_to_the_graph_tab_draws_the_result").await else {
        return;
    };
    let (session, deduplicated, _) = executed_on_the_table(&fixture).await;
    // As in Thanos, the tab alone runs the range query.
    click(&session, "tab-graph").await;
    wait_for_drawn_chart(&session, 100).await;
    wait_for_series(&session, deduplicated, false).await;
    click(&session, "tab-table").await;
    wait_for_series(&session, deduplicated, true).await;
    session.close().await;
}

#[tokio::test]
async fn url_state_restores_in_a_fresh_session() {
    let Some(fixture) = Fixture::start("url_state_restores_in_a_fresh_session").await else {
        return;
    };
    let (session, _, both) = executed_on_the_table(&fixture).await;
    // A state that differs from every default: dedup off, graph tab (each step executed
    // explicitly, so that this test is about the URL only).
    click(&session, "dedup").await;
    click(&session, "execute").await;
    wait_for_series(&session, both, true).await;
    click(&session, "tab-graph").await;
    click(&session, "execute").await;
    wait_for_drawn_chart(&session, 100).await;
    let url = session
        .wait_until("the URL records the panel", DEFAULT_TIMEOUT, || async {
            let url = session.url().await;
            if url.contains("g0.expr=")
                && url.contains("g0.deduplicate=0")
                && url.contains("g0.tab=0")
            {
                Ok(url)
            } else {
                Err(url)
            }
        })
        .await;
    session.close().await;

    let fresh = fixture.driver.session().await;
    fresh.goto(&url).await;
    fresh
        .wait_until("the expression restored", DEFAULT_TIMEOUT, || async {
            let value = expression(&fresh).await;
            if value == EXPR { Ok(()) } else { Err(value) }
        })
        .await;
    assert!(
        !is_checked(&fresh, "dedup").await,
        "dedup restored as off: {url}"
    );
    wait_for_series(&fresh, both, false).await;
    wait_for_drawn_chart(&fresh, 100).await;
    assert!(
        is_displayed(&fresh, "chart").await,
        "graph tab restored: {url}"
    );
    assert!(
        !is_displayed(&fresh, "result-table").await,
        "graph tab restored: {url}"
    );
    fresh.close().await;
}

#[tokio::test]
async fn thanos_format_link_opens_the_same_query() {
    let Some(fixture) = Fixture::start("thanos_format_link_opens_the_same_query").await else {
        return;
    };
    let (_, both) = series_counts(&fixture.demo.http, EXPR).await;
    let session = fixture.driver.session().await;
    let link = format!(
        "/graph?g0.expr={}&g0.tab=1&g0.deduplicate=0&g0.partial_response=0&g0.range_input=2h",
        form_encode(EXPR)
    );
    session.goto(&fixture.url(&link)).await;
    session
        .wait_until("the expression from the link", DEFAULT_TIMEOUT, || async {
            let value = expression(&session).await;
            if value == EXPR { Ok(()) } else { Err(value) }
        })
        .await;
    assert!(!is_checked(&session, "dedup").await, "g0.deduplicate=0");
    assert!(
        !is_checked(&session, "partial-response").await,
        "g0.partial_response=0"
    );
    // The link runs its query, without dedup: both replicas' series, without a click.
    wait_for_series(&session, both, true).await;
    let table = session.text("result-table").await;
    for replica in ["prometheus_replica=\"a\"", "prometheus_replica=\"b\""] {
        assert!(
            table.contains(replica),
            "{replica} missing from the table: {table}"
        );
    }
    // The graph tab's range comes from the link too.
    click(&session, "tab-graph").await;
    let range = session.wait_for("range-input").await;
    assert_eq!(
        range.prop("value").await.expect("range").as_deref(),
        Some("2h")
    );
    session.close().await;
}

#[tokio::test]
async fn graph_tab_draws_the_series() {
    let Some(fixture) = Fixture::start("graph_tab_draws_the_series").await else {
        return;
    };
    let (deduplicated, _) = series_counts(&fixture.demo.http, EXPR).await;
    let session = fixture.driver.session().await;
    session.goto(&fixture.url("/graph")).await;
    type_expression(&session, EXPR).await;
    click(&session, "tab-graph").await;
    click(&session, "execute").await;
    wait_for_series(&session, deduplicated, false).await;
    let (drawn, colours) = wait_for_drawn_chart(&session, 500).await;
    assert!(drawn >= 500 && colours >= 3);
    // The benchmark's marks: the last response, then a drawing after it.
    let marks = session
        .execute(
            "return ['chorus:response', 'chorus:chart-drawn'].map(name =>
                 performance.getEntriesByName(name).map(m => m.startTime).pop() ?? null);",
            vec![],
        )
        .await;
    let (response, drawn) = (marks[0].as_f64(), marks[1].as_f64());
    assert!(
        response.is_some_and(|r| drawn.is_some_and(|d| d >= r)),
        "{marks}"
    );
    session.close().await;
}

#[tokio::test]
async fn invalid_expression_shows_the_error() {
    let Some(fixture) = Fixture::start("invalid_expression_shows_the_error").await else {
        return;
    };
    let bad = "sum(rate(up[5m])";
    let answer = get_json(&format!(
        "{}/api/v1/query?query={}",
        fixture.demo.http,
        form_encode(bad)
    ))
    .await;
    let api_error = answer["error"]
        .as_str()
        .expect("an error message")
        .to_string();
    let session = fixture.driver.session().await;
    session.goto(&fixture.url("/graph")).await;
    type_expression(&session, bad).await;
    click(&session, "execute").await;
    let shown = session
        .wait_for_text("error", |t| t.contains("parse error"))
        .await;
    // The API's own message, position included, reaches the page (the UI may drop the
    // `invalid parameter "query": ` lead-in).
    let detail = api_error
        .rsplit_once("\"query\": ")
        .map_or(api_error.as_str(), |(_, rest)| rest);
    assert!(detail.contains("parse error"), "{api_error}");
    assert!(shown.contains(detail), "page {shown:?}, API {api_error:?}");
    assert!(
        session
            .all_css("[data-testid=\"result-table\"] tbody tr")
            .await
            .is_empty()
    );
    session.close().await;
}

#[tokio::test]
async fn console_works_under_a_route_prefix() {
    let Some(fixture) = Fixture::start("console_works_under_a_route_prefix").await else {
        return;
    };
    // A querier under /chorus over the demo's own StoreAPI.
    let mut querier = ChorusProcess::start(
        "query",
        &[
            format!("--store={}", fixture.demo.grpc),
            "--web.route-prefix=/chorus".to_string(),
        ],
    );
    querier.wait_ready(Duration::from_secs(30)).await;
    let base = format!("{}/chorus", querier.http);
    wait_for_stores(&base, 1).await;
    let (deduplicated, _) = series_counts(&base, EXPR).await;

    let session = fixture.driver.session().await;
    session.goto(&format!("{base}/graph")).await;
    type_expression(&session, EXPR).await;
    click(&session, "tab-table").await;
    click(&session, "execute").await;
    wait_for_series(&session, deduplicated, true).await;
    // Links stay under the prefix.
    click(&session, "nav-stores").await;
    session
        .wait_until(
            "the stores page under the prefix",
            DEFAULT_TIMEOUT,
            || async {
                let url = session.url().await;
                if url.starts_with(&format!("{base}/stores")) {
                    Ok(())
                } else {
                    Err(url)
                }
            },
        )
        .await;
    assert_eq!(session.text("store-status").await.trim(), "UP");
    assert_eq!(
        session.text("store-endpoint").await.trim(),
        fixture.demo.grpc.to_string()
    );
    session.close().await;
}

#[tokio::test]
async fn themes_and_screenshots() {
    let Some(fixture) = Fixture::start("themes_and_screenshots").await else {
        return;
    };
    let update = std::env::var_os("CHORUS_UPDATE_SCREENSHOTS").is_some_and(|v| v == "1");
    let folder = repo_root().join("docs/screenshots");
    let (deduplicated, _) =
        series_counts(&fixture.demo.http, "rate(http_requests_total[5m])").await;
    let session = fixture.driver.session().await;
    let link = format!(
        "/graph?g0.expr={}&g0.tab=0&g0.range_input=6h",
        form_encode("rate(http_requests_total[5m])")
    );
    session.goto(&fixture.url(&link)).await;
    wait_for_series(&session, deduplicated, false).await;
    wait_for_drawn_chart(&session, 500).await;
    let theme = || async {
        session
            .execute("return document.documentElement.dataset.theme;", vec![])
            .await
            .as_str()
            .unwrap_or_default()
            .to_string()
    };
    let first = theme().await;
    assert!(first == "light" || first == "dark", "data-theme {first:?}");
    for _ in 0..2 {
        let before = theme().await;
        if update {
            session
                .save_screenshot(&folder.join(format!("graph-{before}.png")))
                .await;
        }
        click(&session, "theme-toggle").await;
        session
            .wait_until("the other theme", DEFAULT_TIMEOUT, || async {
                let now = theme().await;
                if now != before && (now == "light" || now == "dark") {
                    Ok(())
                } else {
                    Err(now)
                }
            })
            .await;
        wait_for_drawn_chart(&session, 500).await;
    }
    assert_eq!(theme().await, first, "two toggles lead back");

    click(&session, "nav-stores").await;
    session
        .wait_until("both store rows", DEFAULT_TIMEOUT, || async {
            let rows = session.all("store-row").await;
            if rows.len() == 2 {
                Ok(())
            } else {
                Err(format!("{} rows", rows.len()))
            }
        })
        .await;
    if update {
        session.save_screenshot(&folder.join("stores.png")).await;
    }
    session.close().await;
}

/// A reverse proxy that serves `upstream` under [`PROXY_PREFIX`] and strips it on the way, as
/// `kubectl proxy` or an ingress rule would: the server never learns the prefix, so the console
/// must take it from the page's location. Returns the proxy's base URL.
async fn path_stripping_proxy(upstream: String) -> String {
    use axum::body::Bytes;
    use axum::response::{IntoResponse, Response};
    use http::{HeaderMap, Method, StatusCode, Uri, header};

    async fn forward(
        axum::extract::State(upstream): axum::extract::State<String>,
        method: Method,
        uri: Uri,
        headers: HeaderMap,
        body: Bytes,
    ) -> Response {
        let rest = uri.path().strip_prefix(PROXY_PREFIX).unwrap_or("/");
        let query = uri.query().map(|q| format!("?{q}")).unwrap_or_default();
        let mut request = reqwest::Client::new()
            .request(method, format!("{upstream}{rest}{query}"))
            .body(body);
        if let Some(content_type) = headers.get(header::CONTENT_TYPE) {
            request = request.header(header::CONTENT_TYPE, content_type);
        }
        let Ok(answer) = request.send().await else {
            return StatusCode::BAD_GATEWAY.into_response();
        };
        let status = answer.status();
        let content_type = answer.headers().get(header::CONTENT_TYPE).cloned();
        let body = answer.bytes().await.unwrap_or_default();
        let mut response = (status, body).into_response();
        if let Some(content_type) = content_type {
            response
                .headers_mut()
                .insert(header::CONTENT_TYPE, content_type);
        }
        response
    }

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind the proxy");
    let address = listener.local_addr().expect("proxy address");
    let app = axum::Router::new()
        .route(
            &format!("{PROXY_PREFIX}/{{*rest}}"),
            axum::routing::any(forward),
        )
        .with_state(upstream);
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    format!("http://{address}{PROXY_PREFIX}")
}

/// Where [`path_stripping_proxy`] mounts the demo.
const PROXY_PREFIX: &str = "/proxy/chorus";

#[tokio::test]
async fn console_works_behind_a_path_stripping_proxy() {
    let Some(fixture) = Fixture::start("console_works_behind_a_path_stripping_proxy").await else {
        return;
    };
    let base = path_stripping_proxy(fixture.demo.http.clone()).await;
    let (deduplicated, _) = series_counts(&base, EXPR).await;

    let session = fixture.driver.session().await;
    session.goto(&format!("{base}/graph")).await;
    type_expression(&session, EXPR).await;
    click(&session, "tab-table").await;
    click(&session, "execute").await;
    wait_for_series(&session, deduplicated, true).await;
    click(&session, "nav-stores").await;
    session
        .wait_until(
            "the stores page behind the proxy",
            DEFAULT_TIMEOUT,
            || async {
                let url = session.url().await;
                if url.starts_with(&format!("{base}/stores")) {
                    Ok(())
                } else {
                    Err(url)
                }
            },
        )
        .await;
    session
        .wait_until("both stores listed", DEFAULT_TIMEOUT, || async {
            let rows = session.all("store-row").await;
            if rows.len() == 2 {
                Ok(())
            } else {
                Err(format!("{} rows", rows.len()))
            }
        })
        .await;
    session.close().await;
}

#[tokio::test]
async fn status_page_shows_build_info_and_flags() {
    let Some(fixture) = Fixture::start("status_page_shows_build_info_and_flags").await else {
        return;
    };
    let flags = get_json(&fixture.url("/api/v1/status/flags")).await;
    let replica_label = flags["data"]["query.replica-label"]
        .as_str()
        .expect("the replica label flag")
        .to_string();
    let session = fixture.driver.session().await;
    session.goto(&fixture.url("/graph")).await;
    click(&session, "nav-status").await;
    session
        .wait_for_text("flags", |t| {
            t.contains("query.replica-label") && t.contains(&replica_label)
        })
        .await;
    let version = get_json(&fixture.url("/api/v1/status/buildinfo")).await["data"]["version"]
        .as_str()
        .expect("a version")
        .to_string();
    session
        .wait_for_text("build-info", |t| t.contains(&version))
        .await;
    click(&session, "nav-graph").await;
    session.wait_for("expr").await;
    session.close().await;
}
