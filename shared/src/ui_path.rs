//! Where the console is served and which page a URL path shows.
//!
//! The console may live under any path prefix (`--web.route-prefix`, a reverse proxy, a
//! `kubectl port-forward` path), so the prefix is worked out from the page location alone: the
//! known page name at the end of the path is stripped, and what is left is the prefix that API
//! URLs and links are built on. This module knows nothing of the DOM.

/// A console page.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Route {
    /// The graph page, also shown for `/` and for unknown paths.
    #[default]
    Graph,
    /// The stores (endpoints) page.
    Stores,
    /// Build information and flags.
    Status,
    /// Command-line flags (the status page, scrolled to its flags).
    Flags,
}

impl Route {
    /// Every page with its own path.
    pub const ALL: [Route; 4] = [Route::Graph, Route::Stores, Route::Status, Route::Flags];

    /// The path segment of the page, relative to the prefix.
    pub fn segment(self) -> &'static str {
        match self {
            Route::Graph => "graph",
            Route::Stores => "stores",
            Route::Status => "status",
            Route::Flags => "flags",
        }
    }
}

/// A page location: the prefix the console is served under and the page shown.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UiLocation {
    /// The path prefix, always starting and ending with `/` (`/` at the root).
    pub prefix: String,
    /// The page.
    pub route: Route,
}

impl UiLocation {
    /// The absolute path of `route` under this prefix.
    pub fn page_path(&self, route: Route) -> String {
        format!("{}{}", self.prefix, route.segment())
    }

    /// The absolute path of an API endpoint (`api/v1/query`) under this prefix.
    pub fn api_path(&self, relative: &str) -> String {
        format!("{}{}", self.prefix, relative.trim_start_matches('/'))
    }
}

/// Splits `location.pathname` into prefix and page.
///
/// `/graph` and `/some/prefix/stores` end in a page name; `/` and `/some/prefix/` are the root of
/// the console (graph page); any other last segment is an unknown page under the prefix before
/// it (graph page as well).
pub fn locate(pathname: &str) -> UiLocation {
    let path = if pathname.starts_with('/') {
        pathname.to_owned()
    } else {
        format!("/{pathname}")
    };
    let trimmed = path.strip_suffix('/').unwrap_or(&path);
    let (before, last) = match trimmed.rfind('/') {
        Some(i) => (&trimmed[..=i], &trimmed[i + 1..]),
        None => ("/", trimmed),
    };
    let known = Route::ALL.into_iter().find(|r| r.segment() == last);
    match known {
        Some(route) => UiLocation {
            prefix: before.to_owned(),
            route,
        },
        // `/prefix/` is the console root; `/prefix/unknown` an unknown page under `/prefix/`.
        None if path.ends_with('/') => UiLocation {
            prefix: path.clone(),
            route: Route::Graph,
        },
        None => UiLocation {
            prefix: before.to_owned(),
            route: Route::Graph,
        },
    }
}

/// The prefixes the console may be served under when `pathname` does not end in a page name or
/// `/` (an unknown page such as `/graph/a/b` or `/prefix/x/y/z`), deepest first:
/// `/graph/a/`, `/graph/`, `/`. The console probes each for its API and keeps the first that
/// answers, so it works under an unknown reverse-proxy prefix with no flag. Empty when the path
/// names a page or a folder: then [`locate`] is unambiguous and nothing needs probing.
pub fn prefix_candidates(pathname: &str) -> Vec<String> {
    let last = pathname.rsplit('/').next().unwrap_or_default();
    if pathname.ends_with('/') || Route::ALL.iter().any(|r| r.segment() == last) {
        return Vec::new();
    }
    let trimmed = pathname.trim_start_matches('/');
    let mut out = Vec::new();
    let mut end = trimmed.len();
    while let Some(i) = trimmed[..end].rfind('/') {
        out.push(format!("/{}", &trimmed[..=i]));
        end = i;
    }
    out.push("/".to_owned());
    out
}

/// A link to `route` with `query` (without `?`) for someone else to open: built on
/// `external_url` (`--web.external-url`, no trailing `/`) when it is set, since the page's own
/// address may be a port-forward's `localhost`; `None` when it is not set (the caller then uses
/// the page's own address).
pub fn external_link(external_url: &str, route: Route, query: &str) -> Option<String> {
    let base = external_url.trim().trim_end_matches('/');
    if base.is_empty() {
        return None;
    }
    let mut link = format!("{base}/{}", route.segment());
    if !query.is_empty() {
        link.push('?');
        link.push_str(query);
    }
    Some(link)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(prefix: &str, route: Route) -> UiLocation {
        UiLocation {
            prefix: prefix.to_owned(),
            route,
        }
    }

    #[test]
    fn pages_at_the_root() {
        assert_eq!(locate("/"), at("/", Route::Graph));
        assert_eq!(locate("/graph"), at("/", Route::Graph));
        assert_eq!(locate("/stores"), at("/", Route::Stores));
        assert_eq!(locate("/status/"), at("/", Route::Status));
        assert_eq!(locate("/flags"), at("/", Route::Flags));
        assert_eq!(locate(""), at("/", Route::Graph));
    }

    #[test]
    fn pages_under_a_prefix() {
        assert_eq!(
            locate("/some/prefix/graph"),
            at("/some/prefix/", Route::Graph)
        );
        assert_eq!(
            locate("/some/prefix/stores"),
            at("/some/prefix/", Route::Stores)
        );
        assert_eq!(locate("/some/prefix/"), at("/some/prefix/", Route::Graph));
        assert_eq!(
            locate("/some/prefix/alerts"),
            at("/some/prefix/", Route::Graph)
        );
        // A prefix that is itself a page name still resolves by the last segment.
        assert_eq!(locate("/stores/graph"), at("/stores/", Route::Graph));
    }

    #[test]
    fn unknown_deep_paths_probe_every_ancestor_deepest_first() {
        assert_eq!(
            prefix_candidates("/graph/a/b"),
            ["/graph/a/", "/graph/", "/"]
        );
        assert_eq!(
            prefix_candidates("/prefix/x/y/z"),
            ["/prefix/x/y/", "/prefix/x/", "/prefix/", "/"]
        );
        assert_eq!(prefix_candidates("/alerts"), ["/"]);
        // The first candidate is always what `locate` guesses.
        assert_eq!(
            prefix_candidates("/p/q/alerts")[0],
            locate("/p/q/alerts").prefix
        );
    }

    #[test]
    fn pages_and_folders_need_no_probe() {
        for path in ["/", "/graph", "/p/stores", "/p/x/", "/status"] {
            assert!(prefix_candidates(path).is_empty(), "{path}");
        }
    }

    #[test]
    fn external_links_use_the_external_url() {
        assert_eq!(
            external_link(
                "https://chorus.example.com/thanos/",
                Route::Graph,
                "g0.expr=up"
            )
            .as_deref(),
            Some("https://chorus.example.com/thanos/graph?g0.expr=up")
        );
        assert_eq!(
            external_link("http://h:9090", Route::Graph, "").as_deref(),
            Some("http://h:9090/graph")
        );
        assert_eq!(external_link("", Route::Graph, "g0.expr=up"), None);
        assert_eq!(external_link("  ", Route::Graph, "g0.expr=up"), None);
    }

    #[test]
    fn paths_are_built_on_the_prefix() {
        let loc = locate("/p/q/stores");
        assert_eq!(loc.api_path("api/v1/query"), "/p/q/api/v1/query");
        assert_eq!(loc.api_path("/api/v1/stores"), "/p/q/api/v1/stores");
        assert_eq!(loc.page_path(Route::Status), "/p/q/status");
        assert_eq!(locate("/").page_path(Route::Graph), "/graph");
    }
}
