//! Headless Chromium driven over WebDriver, for the console's end-to-end tests.
//!
//! [`ChromeDriver`] runs Debian's `/usr/bin/chromedriver` on a free loopback port and kills it
//! (with every browser it started) when dropped; [`ChromeDriver::session`] opens a [`Session`]:
//! a fresh headless Chromium with its own temporary profile, 1280×900, driven by `fantoccini`
//! over plain HTTP. Sessions find elements by their `data-testid` (the console's element
//! contract), wait for them with a timeout, read text, run scripts and take PNG screenshots.
//!
//! [`browser_available`] decides whether a test can run: without Chromium or ChromeDriver it
//! prints a note and the test passes, except in CI (`CI` set), where it fails.
//!
//! This module knows nothing of the console's pages or of Chorus.

#![allow(dead_code)] // Each test binary uses a different subset of these helpers.

use std::os::unix::process::CommandExt as _;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::elements::Element;
use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::{Value, json};

/// Debian's Chromium (package `chromium`).
pub const CHROMIUM: &str = "/usr/bin/chromium";
/// Debian's ChromeDriver (package `chromium-driver`), the same version as [`CHROMIUM`].
pub const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// The browser window's size in CSS pixels.
pub const WINDOW: (u32, u32) = (1280, 900);

/// How long [`Session::wait_for`] and friends wait by default.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(15);

/// Chromium flags for this machine: headless as root, and no background traffic (the network
/// is closed; without these Chromium keeps trying to reach Google's hosts).
const CHROMIUM_FLAGS: [&str; 8] = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
];

/// Whether the browser tests can run here. When Chromium or ChromeDriver is missing this prints
/// a note naming `test` and returns `false` (the caller returns early and passes) — unless the
/// `CI` environment variable is set, where a missing browser is a broken set-up and panics.
pub fn browser_available(test: &str) -> bool {
    let missing: Vec<&str> = [CHROMIUM, CHROMEDRIVER]
        .into_iter()
        .filter(|path| !Path::new(path).exists())
        .collect();
    if missing.is_empty() {
        return true;
    }
    let note = format!(
        "{test}: {} missing (Debian packages chromium and chromium-driver; `make setup` installs them)",
        missing.join(" and ")
    );
    assert!(std::env::var_os("CI").is_none(), "{note}");
    eprintln!("skipped: {note}");
    false
}

/// A `chromedriver` process on a free loopback port, killed with its browsers on drop.
pub struct ChromeDriver {
    child: Child,
    url: String,
    log: tempfile::NamedTempFile,
}

impl ChromeDriver {
    /// Starts ChromeDriver and waits until it reports itself ready.
    pub async fn start() -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .expect("a free loopback port")
            .port();
        let log = tempfile::NamedTempFile::new().expect("temporary log file");
        let child = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .arg("--allowed-ips=127.0.0.1")
            .arg(format!("--log-path={}", log.path().display()))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            // Its own process group, so that drop ends the browsers it started too.
            .process_group(0)
            .spawn()
            .expect("start chromedriver");
        let mut driver = Self {
            child,
            url: format!("http://127.0.0.1:{port}"),
            log,
        };
        driver.wait_ready(Duration::from_secs(20)).await;
        driver
    }

    async fn wait_ready(&mut self, timeout: Duration) {
        let client = reqwest::Client::new();
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("chromedriver exited with {status}: {}", self.log());
            }
            if let Ok(response) = client.get(format!("{}/status", self.url)).send().await
                && let Ok(body) = response.text().await
                && let Ok(status) = serde_json::from_str::<Value>(&body)
                && status["value"]["ready"] == json!(true)
            {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("chromedriver did not become ready: {}", self.log());
    }

    /// Its log so far (shown when a test fails).
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.log.path()).unwrap_or_default()
    }

    /// Opens a new headless Chromium session with a fresh, empty profile.
    pub async fn session(&self) -> Session {
        let profile = tempfile::tempdir().expect("temporary Chromium profile");
        let mut args: Vec<String> = CHROMIUM_FLAGS.iter().map(|f| f.to_string()).collect();
        args.push(format!("--window-size={},{}", WINDOW.0, WINDOW.1));
        args.push(format!("--user-data-dir={}", profile.path().display()));
        let mut capabilities = serde_json::Map::new();
        capabilities.insert("browserName".into(), json!("chrome"));
        capabilities.insert(
            "goog:chromeOptions".into(),
            json!({ "binary": CHROMIUM, "args": args }),
        );
        let client = ClientBuilder::new(HttpConnector::new())
            .capabilities(capabilities)
            .connect(&self.url)
            .await
            .unwrap_or_else(|e| panic!("new Chromium session: {e}\n{}", self.log()));
        client
            .set_window_size(WINDOW.0, WINDOW.1)
            .await
            .expect("set the window size");
        Session {
            client,
            _profile: profile,
        }
    }
}

impl Drop for ChromeDriver {
    fn drop(&mut self) {
        // The whole group: chromedriver and any browser a failed test left open.
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{}", self.child.id())])
            .status();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `[data-testid="id"]`.
pub fn testid(id: &str) -> String {
    format!("[data-testid=\"{id}\"]")
}

/// One browser (a WebDriver session) with its own profile. Call [`Session::close`] at the end;
/// a session dropped without it is ended with its [`ChromeDriver`].
pub struct Session {
    client: Client,
    _profile: tempfile::TempDir,
}

impl Session {
    /// The WebDriver client, for what the helpers below do not cover.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// Loads `url` and waits for the load event.
    pub async fn goto(&self, url: &str) {
        self.client
            .goto(url)
            .await
            .unwrap_or_else(|e| panic!("open {url}: {e}"));
    }

    /// The page's current URL.
    pub async fn url(&self) -> String {
        self.client
            .current_url()
            .await
            .expect("current URL")
            .to_string()
    }

    /// The first element matching the CSS `selector`, waiting up to `timeout` for it.
    pub async fn wait_for_css(&self, selector: &str, timeout: Duration) -> Element {
        self.client
            .wait()
            .at_most(timeout)
            .every(Duration::from_millis(50))
            .for_element(Locator::Css(selector))
            .await
            .unwrap_or_else(|e| panic!("no element `{selector}` within {timeout:?}: {e}"))
    }

    /// The first element with `data-testid="id"`, waiting up to [`DEFAULT_TIMEOUT`].
    pub async fn wait_for(&self, id: &str) -> Element {
        self.wait_for_css(&testid(id), DEFAULT_TIMEOUT).await
    }

    /// Every element matching the CSS `selector` now (possibly none).
    pub async fn all_css(&self, selector: &str) -> Vec<Element> {
        self.client
            .find_all(Locator::Css(selector))
            .await
            .unwrap_or_else(|e| panic!("find `{selector}`: {e}"))
    }

    /// Every element with `data-testid="id"` now (possibly none).
    pub async fn all(&self, id: &str) -> Vec<Element> {
        self.all_css(&testid(id)).await
    }

    /// The rendered text of the first element with `data-testid="id"` (waiting for it).
    pub async fn text(&self, id: &str) -> String {
        let element = self.wait_for(id).await;
        element
            .text()
            .await
            .unwrap_or_else(|e| panic!("text of `{id}`: {e}"))
    }

    /// Polls `probe` until it returns `Some`, for up to `timeout`; panics with `what` and the
    /// last value seen otherwise.
    pub async fn wait_until<T, F, Fut>(&self, what: &str, timeout: Duration, mut probe: F) -> T
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, String>>,
    {
        let deadline = Instant::now() + timeout;
        loop {
            match probe().await {
                Ok(value) => return value,
                Err(last) if Instant::now() >= deadline => {
                    panic!("{what}: not within {timeout:?}; last seen: {last}")
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
            }
        }
    }

    /// Waits until the text of `data-testid="id"` satisfies `accept`, and returns it.
    pub async fn wait_for_text(&self, id: &str, accept: impl Fn(&str) -> bool) -> String {
        self.wait_until(&format!("text of `{id}`"), DEFAULT_TIMEOUT, || async {
            let text = match self.client.find(Locator::Css(&testid(id))).await {
                Ok(element) => element.text().await.map_err(|e| e.to_string())?,
                Err(e) => return Err(format!("no element: {e}")),
            };
            if accept(&text) {
                Ok(text)
            } else {
                Err(format!("{text:?}"))
            }
        })
        .await
    }

    /// Runs `script` (a function body; `arguments[i]` are `args`) and returns its value.
    pub async fn execute(&self, script: &str, args: Vec<Value>) -> Value {
        self.client
            .execute(script, args)
            .await
            .unwrap_or_else(|e| panic!("script failed: {e}\n{script}"))
    }

    /// A PNG of the viewport.
    pub async fn screenshot(&self) -> Vec<u8> {
        self.client.screenshot().await.expect("screenshot")
    }

    /// Writes a PNG of the viewport to `path`, creating its folder.
    pub async fn save_screenshot(&self, path: &Path) {
        let png = self.screenshot().await;
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).expect("screenshot folder");
        }
        std::fs::write(path, png).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
    }

    /// Ends the session and its browser.
    pub async fn close(self) {
        let _ = self.client.close().await;
    }
}
