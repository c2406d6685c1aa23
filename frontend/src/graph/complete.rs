//! Autocomplete in the expression editor: metric and function names, label names (inside
//! `metric{` and `by (` / `without (` / `on (` / `ignoring (` lists) and label values (inside a
//! matcher's quotes). What to complete at the cursor is `shared::completion::completion_at`; this
//! module fetches and caches the lists and picks suggestions from them.
//!
//! - Metric names (`api/v1/label/__name__/values`) are fetched once, when an editor is first
//!   used.
//! - Label names (`api/v1/labels`) and values (`api/v1/label/<name>/values`), with `match[]` of
//!   the selector's metric when it is known, are fetched when first needed, 200 ms after the
//!   last keystroke (debounced), and cached per request URL for the page's life.
//!
//! Lists are kept sorted, so a suggestion is a binary search plus at most [`CAP`] entries: even
//! 100 000 names or values never freeze the page nor render more than [`CAP`] items.

use std::collections::HashMap;
use std::time::Duration;

use leptos::prelude::*;
use shared::completion::{Completion, CompletionKind, suggest_names, suggest_sorted};

use crate::api;
use crate::app::Site;

/// At most this many suggestions are shown.
pub const CAP: usize = 12;

/// How long typing must pause before a label list is fetched.
const DEBOUNCE: Duration = Duration::from_millis(200);

/// The fetched lists; provided as context by the graph page.
#[derive(Debug, Clone, Copy)]
pub struct Completer {
    names: RwSignal<Option<Vec<String>>>,
    requested: StoredValue<bool>,
    /// Label names and values by request URL, sorted; `None` while being fetched.
    lists: RwSignal<HashMap<String, Option<Vec<String>>>>,
    /// Bumped by each keystroke that needs a label list; a pending fetch of an older one is
    /// dropped.
    pending: StoredValue<u64>,
}

impl Completer {
    /// Nothing fetched yet.
    pub fn new() -> Self {
        Self {
            names: RwSignal::new(None),
            requested: StoredValue::new(false),
            lists: RwSignal::new(HashMap::new()),
            pending: StoredValue::new(0),
        }
    }

    /// Starts fetching the metric names, the first time only.
    pub fn ensure_names(self, site: &Site) {
        if self.requested.get_value() {
            return;
        }
        self.requested.set_value(true);
        let url = site.api("api/v1/label/__name__/values");
        let names = self.names;
        leptos::task::spawn_local(async move {
            if let Ok(ok) = api::get::<Vec<String>>(&url).await {
                let mut list = ok.data;
                list.sort_unstable();
                names.set(Some(list));
            }
        });
    }

    /// Makes sure the list `completion` draws from is (being) fetched: metric names at once,
    /// label lists after [`DEBOUNCE`] unless cached.
    pub fn prepare(self, site: &Site, completion: &Completion) {
        let Some(url) = list_url(site, &completion.kind) else {
            self.ensure_names(site);
            return;
        };
        if self.lists.with_untracked(|l| l.contains_key(&url)) {
            return;
        }
        let ticket = self.pending.get_value().wrapping_add(1);
        self.pending.set_value(ticket);
        set_timeout(
            move || {
                if self.pending.get_value() == ticket
                    && !self.lists.with_untracked(|l| l.contains_key(&url))
                {
                    self.fetch(url);
                }
            },
            DEBOUNCE,
        );
    }

    fn fetch(self, url: String) {
        let lists = self.lists;
        lists.update(|l| {
            l.insert(url.clone(), None);
        });
        leptos::task::spawn_local(async move {
            match api::get::<Vec<String>>(&url).await {
                Ok(ok) => {
                    let mut list = ok.data;
                    list.sort_unstable();
                    lists.update(|l| {
                        l.insert(url, Some(list));
                    });
                }
                // Forgotten, so that the next keystroke asks again.
                Err(_) => lists.update(|l| {
                    l.remove(&url);
                }),
            }
        });
    }

    /// Suggestions for `completion` (tracked: they update when a list arrives).
    pub fn suggest(self, site: &Site, completion: &Completion) -> Vec<String> {
        match list_url(site, &completion.kind) {
            None => self
                .names
                .with(|n| suggest_names(n.as_deref().unwrap_or_default(), &completion.prefix, CAP)),
            Some(url) => self.lists.with(|l| {
                l.get(&url)
                    .and_then(Option::as_deref)
                    .map(|list| suggest_sorted(list, &completion.prefix, CAP))
                    .unwrap_or_default()
            }),
        }
    }
}

/// The API URL of the label list `kind` completes from; `None` for metric and function names.
fn list_url(site: &Site, kind: &CompletionKind) -> Option<String> {
    let encode = |s: &str| form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
    let (path, metric) = match kind {
        CompletionKind::Name => return None,
        CompletionKind::LabelName { metric } => ("api/v1/labels".to_owned(), metric),
        CompletionKind::LabelValue { metric, label } => {
            (format!("api/v1/label/{}/values", encode(label)), metric)
        }
    };
    let mut url = site.api(&path);
    if let Some(metric) = metric {
        url.push_str("?match[]=");
        url.push_str(&encode(metric));
    }
    Some(url)
}
