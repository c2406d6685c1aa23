//! The web console end to end, in a real headless Chromium (Debian's, over ChromeDriver) against
//! a real `chorus demo` process.
//!
//! - [`pages`]: the Stores and Status pages, themes and the README's screenshots;
//! - [`query`]: executing on the table tab, dedup on and off, errors, Enter and Shift+Enter,
//!   the evaluation time;
//! - [`links`]: URL state restored in a fresh browser, Thanos-format links, a route prefix and a
//!   path-stripping proxy;
//! - [`chart`]: the graph tab: drawing, hover tooltip, drag to zoom, legend, range, resolution
//!   and stacking controls, local time;
//! - [`panels`]: adding, duplicating and removing panels.
//!
//! [`fixture`] starts the demo and the browser driver and reads the demo's API; [`console`]
//! holds the page-level steps (elements by the `data-testid`s of the console's element
//! contract, issue 5). Expected figures come from the demo's HTTP API, never from constants:
//! the demo runs two replicas (`prometheus_replica` a and b), so without dedup every series
//! appears twice. The browsers run in a time zone other than UTC
//! ([`fixture::BROWSER_ZONE`]), as the console's times must not depend on the viewer's zone.
//!
//! Debug builds of `chorus` read `frontend/dist` at run time: `make test` builds it first. Without
//! it, or without Chromium, a test prints a note and passes — except in CI (`CI` set), where it
//! fails. With `CHORUS_UPDATE_SCREENSHOTS=1` the screenshot test writes `docs/screenshots/*.png`.
//!
//! The tests take turns (one browser at a time): parallel Chromiums on a small machine only make
//! each test slower and its timeouts flakier.

#[path = "../common/browser.rs"]
mod browser;
#[path = "../common/mod.rs"]
mod common;

mod chart;
mod console;
mod fixture;
mod links;
mod pages;
mod panels;
mod query;
