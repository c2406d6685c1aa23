//! Headless Chromium driven over WebDriver, for the console's end-to-end tests.
//!
//! [`ChromeDriver`] runs Debian's `/usr/bin/chromedriver` on a free loopback port and kills it
//! (with every browser it started) when dropped; [`ChromeDriver::session`] opens a [`Session`]:
//! a fresh headless Chromium with its own temporary profile, 1280×900, driven by `fantoccini`
//! over plain HTTP. Sessions find elements by CSS selector ([`testid`] makes one from a
//! `data-testid`, the console's element contract) and wait for them with a timeout; they read
//! text and input values, click (with a modifier key too), type, hover and drag with real
//! WebDriver pointer actions, run scripts and take PNG screenshots.
//! [`ChromeDriver::start_in_zone`] runs the browsers in a given time zone (`TZ`).
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

use fantoccini::actions::{
    Actions, InputSource as _, KeyAction, KeyActions, MOUSE_BUTTON_LEFT, MouseActions,
    PointerAction,
};
use fantoccini::elements::Element;
pub use fantoccini::key::Key;
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
    /// Starts ChromeDriver and waits until it reports itself ready; its browsers run in this
    /// process's time zone.
    pub async fn start() -> Self {
        Self::launch(None).await
    }

    /// Starts ChromeDriver like [`ChromeDriver::start`], its browsers in the IANA time zone
    /// `zone` (such as `Asia/Kolkata`): Chromium takes its zone from `TZ`.
    pub async fn start_in_zone(zone: &str) -> Self {
        Self::launch(Some(zone)).await
    }

    async fn launch(zone: Option<&str>) -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .expect("a free loopback port")
            .port();
        let log = tempfile::NamedTempFile::new().expect("temporary log file");
        let mut command = Command::new(CHROMEDRIVER);
        if let Some(zone) = zone {
            command.env("TZ", zone);
        }
        let child = command
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
        self.session_with(&[]).await
    }

    /// Opens a session like [`ChromeDriver::session`], Chromium started with `extra` flags
    /// too (such as `--force-device-scale-factor=2`).
    pub async fn session_with(&self, extra: &[&str]) -> Session {
        let profile = tempfile::tempdir().expect("temporary Chromium profile");
        let mut args: Vec<String> = CHROMIUM_FLAGS.iter().map(|f| f.to_string()).collect();
        args.extend(extra.iter().map(|f| f.to_string()));
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
    pub async fn wait_for_within(&self, selector: &str, timeout: Duration) -> Element {
        self.client
            .wait()
            .at_most(timeout)
            .every(Duration::from_millis(50))
            .for_element(Locator::Css(selector))
            .await
            .unwrap_or_else(|e| panic!("no element `{selector}` within {timeout:?}: {e}"))
    }

    /// The first element matching the CSS `selector`, waiting up to [`DEFAULT_TIMEOUT`].
    pub async fn wait_for(&self, selector: &str) -> Element {
        self.wait_for_within(selector, DEFAULT_TIMEOUT).await
    }

    /// Every element matching the CSS `selector` now (possibly none).
    pub async fn all(&self, selector: &str) -> Vec<Element> {
        self.client
            .find_all(Locator::Css(selector))
            .await
            .unwrap_or_else(|e| panic!("find `{selector}`: {e}"))
    }

    /// Waits until exactly `count` elements match `selector`, and returns them.
    pub async fn wait_for_count(&self, selector: &str, count: usize) -> Vec<Element> {
        self.wait_until(
            &format!("{count} × `{selector}`"),
            DEFAULT_TIMEOUT,
            || async {
                let found = self.all(selector).await;
                if found.len() == count {
                    Ok(found)
                } else {
                    Err(format!("{} found", found.len()))
                }
            },
        )
        .await
    }

    /// The rendered text of the first element matching `selector` (waiting for it).
    pub async fn text(&self, selector: &str) -> String {
        self.wait_for(selector)
            .await
            .text()
            .await
            .unwrap_or_else(|e| panic!("text of `{selector}`: {e}"))
    }

    /// The `value` property of the first element matching `selector` (an input or textarea).
    pub async fn value(&self, selector: &str) -> String {
        self.wait_for(selector)
            .await
            .prop("value")
            .await
            .unwrap_or_else(|e| panic!("value of `{selector}`: {e}"))
            .unwrap_or_default()
    }

    /// Whether the first checkbox matching `selector` is ticked (waiting for it).
    pub async fn is_checked(&self, selector: &str) -> bool {
        self.wait_for(selector)
            .await
            .is_selected()
            .await
            .unwrap_or_else(|e| panic!("state of `{selector}`: {e}"))
    }

    /// Whether an element matches `selector` now and is displayed.
    pub async fn is_displayed(&self, selector: &str) -> bool {
        match self.all(selector).await.first() {
            Some(element) => element.is_displayed().await.unwrap_or(false),
            None => false,
        }
    }

    /// Clicks the first element matching `selector` (waiting for it).
    pub async fn click(&self, selector: &str) {
        self.wait_for(selector)
            .await
            .click()
            .await
            .unwrap_or_else(|e| panic!("click `{selector}`: {e}"));
    }

    /// Sends `keys` to the first element matching `selector` (WebDriver key codes such as
    /// [`Key::Enter`] included; a modifier stays pressed until the end of `keys`).
    pub async fn press(&self, selector: &str, keys: &str) {
        self.wait_for(selector)
            .await
            .send_keys(keys)
            .await
            .unwrap_or_else(|e| panic!("type {keys:?} into `{selector}`: {e}"));
    }

    /// Replaces the text of the input matching `selector` with `text` and commits it with
    /// Enter, as a user would: select all, type over it, Enter (one `change` event; WebDriver's
    /// clear would commit an empty value first).
    pub async fn set_value(&self, selector: &str, text: &str) {
        let (control, null, enter) = (
            char::from(Key::Control),
            char::from(Key::Null),
            char::from(Key::Enter),
        );
        self.press(selector, &format!("{control}a{null}{text}{enter}"))
            .await;
    }

    /// Moves the mouse over the first element matching `selector`, to the point at fractions
    /// `at` = (x, y) of its width and height from its top left corner.
    pub async fn hover(&self, selector: &str, at: (f64, f64)) {
        let element = self.wait_for(selector).await;
        let mouse =
            MouseActions::new("mouse".into()).then(move_to(&element, at, Duration::ZERO).await);
        self.perform(mouse.into(), selector).await;
    }

    /// Drags with the left button over the first element matching `selector`, from the point
    /// at fractions `from` of its size to the point at fractions `to` (see [`Session::hover`]).
    pub async fn drag(&self, selector: &str, from: (f64, f64), to: (f64, f64)) {
        let element = self.wait_for(selector).await;
        let mouse = MouseActions::new("mouse".into())
            .then(move_to(&element, from, Duration::ZERO).await)
            .then(PointerAction::Down {
                button: MOUSE_BUTTON_LEFT,
            })
            .then(move_to(&element, to, Duration::from_millis(200)).await)
            .then(PointerAction::Up {
                button: MOUSE_BUTTON_LEFT,
            });
        self.perform(mouse.into(), selector).await;
    }

    /// Clicks the first element matching `selector` while holding `modifier` (such as
    /// [`Key::Control`]).
    pub async fn click_with(&self, selector: &str, modifier: Key) {
        let element = self.wait_for(selector).await;
        let key = char::from(modifier);
        let keys = KeyActions::new("keyboard".into())
            .then(KeyAction::Down { value: key })
            .pause(Duration::ZERO)
            .pause(Duration::ZERO)
            .pause(Duration::ZERO)
            .then(KeyAction::Up { value: key });
        let mouse = MouseActions::new("mouse".into())
            .pause(Duration::ZERO)
            .then(move_to(&element, (0.5, 0.5), Duration::ZERO).await)
            .then(PointerAction::Down {
                button: MOUSE_BUTTON_LEFT,
            })
            .then(PointerAction::Up {
                button: MOUSE_BUTTON_LEFT,
            });
        self.perform(Actions::from(keys).and(mouse), selector).await;
    }

    async fn perform(&self, actions: Actions, what: &str) {
        self.client
            .perform_actions(actions)
            .await
            .unwrap_or_else(|e| panic!("pointer actions on `{what}`: {e}"));
        self.client
            .release_actions()
            .await
            .unwrap_or_else(|e| panic!("release the pointer after `{what}`: {e}"));
    }

    /// Waits until the page's URL satisfies `accept`, and returns it.
    pub async fn wait_for_url(&self, what: &str, accept: impl Fn(&str) -> bool) -> String {
        self.wait_until(what, DEFAULT_TIMEOUT, || async {
            let url = self.url().await;
            if accept(&url) { Ok(url) } else { Err(url) }
        })
        .await
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

    /// Polls `read` until it gives `expected`; panics with `what` and the last value read
    /// (or the last error) otherwise.
    pub async fn wait_for_value<T, F, Fut>(&self, what: &str, expected: &T, mut read: F)
    where
        T: PartialEq + std::fmt::Debug,
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, String>>,
    {
        self.wait_until(what, DEFAULT_TIMEOUT, || {
            let value = read();
            async move {
                let value = value.await?;
                if &value == expected {
                    Ok(())
                } else {
                    Err(format!("{value:?}"))
                }
            }
        })
        .await;
    }

    /// Waits until the text of the first element matching `selector` satisfies `accept`, and
    /// returns it.
    pub async fn wait_for_text(&self, selector: &str, accept: impl Fn(&str) -> bool) -> String {
        self.wait_until(
            &format!("text of `{selector}`"),
            DEFAULT_TIMEOUT,
            || async {
                let text = match self.client.find(Locator::Css(selector)).await {
                    Ok(element) => element.text().await.map_err(|e| e.to_string())?,
                    Err(e) => return Err(format!("no element: {e}")),
                };
                if accept(&text) {
                    Ok(text)
                } else {
                    Err(format!("{text:?}"))
                }
            },
        )
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

/// A pointer move, taking `duration`, to the point of `element` at fractions `at` of its size
/// from its top left corner (WebDriver measures from the element's centre).
async fn move_to(element: &Element, at: (f64, f64), duration: Duration) -> PointerAction {
    let (_, _, width, height) = element
        .rectangle()
        .await
        .unwrap_or_else(|e| panic!("size of an element: {e}"));
    PointerAction::MoveToElement {
        element: element.clone(),
        duration: Some(duration),
        x: (at.0 - 0.5) * width,
        y: (at.1 - 0.5) * height,
    }
}
