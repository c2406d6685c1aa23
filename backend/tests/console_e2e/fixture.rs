//! What every console test starts from: a `chorus demo` process, a ChromeDriver whose browsers
//! run in [`BROWSER_ZONE`], and this test's turn at the browser; and the demo's HTTP API, read
//! directly, for the figures the page must show. It knows nothing of the page's elements.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::Value;
use tokio::sync::{Mutex, MutexGuard};

use crate::browser::{ChromeDriver, Session, browser_available};
use crate::common::{ChorusProcess, form_encode};

/// One browser test at a time (see the crate doc).
static BROWSER_TURN: Mutex<()> = Mutex::const_new(());

/// The browsers' time zone: not UTC (the console must still show and link UTC times unless
/// asked for local time), a whole-year offset of +05:30 (no daylight saving), so that local
/// times differ from UTC in hours and minutes.
pub const BROWSER_ZONE: &str = "Asia/Kolkata";

/// The workspace root.
pub fn repo_root() -> PathBuf {
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
pub struct Fixture {
    /// The `chorus demo` process the console is served by.
    pub demo: ChorusProcess,
    /// The browser driver; each [`Fixture::open`] is a fresh browser.
    pub driver: ChromeDriver,
    _turn: MutexGuard<'static, ()>,
}

impl Fixture {
    /// `None` (after a note) where the test cannot run here; see the crate doc.
    pub async fn start(test: &str) -> Option<Self> {
        if !browser_available(test) || !console_built(test) {
            return None;
        }
        let turn = BROWSER_TURN.lock().await;
        let mut demo = ChorusProcess::start("demo", &[]);
        demo.wait_ready(Duration::from_secs(30)).await;
        wait_for_stores(&demo.http, 2).await;
        let driver = ChromeDriver::start_in_zone(BROWSER_ZONE).await;
        Some(Self {
            demo,
            driver,
            _turn: turn,
        })
    }

    /// The demo's URL of `path` (which starts with `/`).
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.demo.http)
    }

    /// A fresh browser session showing the demo's `path`.
    pub async fn open(&self, path: &str) -> Session {
        self.open_url(&self.url(path)).await
    }

    /// A fresh browser session showing `url`.
    pub async fn open_url(&self, url: &str) -> Session {
        let session = self.driver.session().await;
        session.goto(url).await;
        session
    }
}

/// The [`Fixture`] of the test named `$test`; returns from the test (which passes, after a
/// note) where it cannot run here.
macro_rules! start_or_skip {
    ($test:literal) => {
        match $crate::fixture::Fixture::start($test).await {
            Some(fixture) => fixture,
            None => return,
        }
    };
}
pub(crate) use start_or_skip;

/// GET `url` as JSON.
pub async fn get_json(url: &str) -> Value {
    let response = reqwest::get(url)
        .await
        .unwrap_or_else(|e| panic!("GET {url}: {e}"));
    let body = response.text().await.expect("body");
    serde_json::from_str(&body).unwrap_or_else(|e| panic!("GET {url}: {e}: {body}"))
}

/// Waits until `{http}/api/v1/stores` lists `count` stores in all, and returns the answer.
pub async fn wait_for_stores(http: &str, count: usize) -> Value {
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

/// The instant query `expr` through the API (with `dedup`), at `time_ms` or now: its `data`
/// object.
pub async fn instant_query(http: &str, expr: &str, dedup: bool, time_ms: Option<i64>) -> Value {
    let mut url = format!(
        "{http}/api/v1/query?query={}&dedup={dedup}",
        form_encode(expr)
    );
    if let Some(t) = time_ms {
        url.push_str(&format!("&time={}", t as f64 / 1000.0));
    }
    let answer = get_json(&url).await;
    assert_eq!(answer["status"], "success", "{url}: {answer}");
    answer["data"].clone()
}

/// The number of series `expr` returns now through the API, with and without dedup.
pub async fn series_counts(http: &str, expr: &str) -> (usize, usize) {
    let mut counts = [0; 2];
    for (count, dedup) in counts.iter_mut().zip([true, false]) {
        let data = instant_query(http, expr, dedup, None).await;
        *count = data["result"]
            .as_array()
            .unwrap_or_else(|| panic!("{expr}: {data}"))
            .len();
    }
    assert!(counts[0] > 0, "{expr} returns series");
    (counts[0], counts[1])
}
