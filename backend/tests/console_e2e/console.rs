//! The console's pages as the tests use them: graph links, a panel's elements, typing and
//! executing, the series count, the chart's pixels and redraws, the URL's panel parameters,
//! the tooltip and the legend, the theme. Elements are found by the `data-testid`s of the
//! element contract (issue 5); this module knows nothing of what a test expects.

use serde_json::Value;

use crate::browser::{DEFAULT_TIMEOUT, Key, Session, testid};
use crate::common::form_encode;

/// The demo's metric most tests query: `up`, one series per demo target and replica.
pub const EXPR: &str = "up";

/// A graph panel by its position on the page, which is its `gN` index in the URL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Panel(pub usize);

/// The first panel.
pub const P0: Panel = Panel(0);

impl Panel {
    /// The CSS selector of this panel.
    pub fn css(self) -> String {
        // Panels are the page's only <section>s, siblings in the graph page's container.
        format!("section{}:nth-of-type({})", testid("panel"), self.0 + 1)
    }

    /// The CSS selector of the element `data-testid="id"` inside this panel.
    pub fn at(self, id: &str) -> String {
        format!("{} {}", self.css(), testid(id))
    }

    /// This panel's URL parameter `name` (`g0.expr` for `expr`).
    pub fn param(self, name: &str) -> String {
        format!("g{}.{name}", self.0)
    }
}

/// The tabs of a panel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tab {
    /// The instant query's table (`gN.tab=1`).
    Table,
    /// The range query's chart (`gN.tab=0`).
    Graph,
}

impl Tab {
    fn testid(self) -> &'static str {
        match self {
            Tab::Table => "tab-table",
            Tab::Graph => "tab-graph",
        }
    }
}

/// A graph page link with these URL parameters (values percent-encoded here).
pub fn graph_link(params: &[(&str, &str)]) -> String {
    let query: Vec<String> = params
        .iter()
        .map(|(k, v)| format!("{k}={}", form_encode(v)))
        .collect();
    format!("/graph?{}", query.join("&"))
}

/// Replaces the expression of `panel` with `expr`.
pub async fn type_expression(session: &Session, panel: Panel, expr: &str) {
    let input = session.wait_for(&panel.at("expr")).await;
    input.clear().await.expect("clear the expression");
    input.send_keys(expr).await.expect("type the expression");
}

/// Types `expr` into `panel`, picks `tab` and clicks Execute.
pub async fn execute(session: &Session, panel: Panel, tab: Tab, expr: &str) {
    type_expression(session, panel, expr).await;
    session.click(&panel.at(tab.testid())).await;
    session.click(&panel.at("execute")).await;
}

/// Clicks `tab` of `panel` (which, as in Thanos, runs the query for it).
pub async fn switch_tab(session: &Session, panel: Panel, tab: Tab) {
    session.click(&panel.at(tab.testid())).await;
}

/// Waits until `panel`'s editor holds `expr` (after a link or a duplicate filled it).
pub async fn wait_for_expression(session: &Session, panel: Panel, expr: &str) {
    session
        .wait_until("the expression", DEFAULT_TIMEOUT, || async {
            let value = session.value(&panel.at("expr")).await;
            if value == expr { Ok(()) } else { Err(value) }
        })
        .await;
}

/// The first decimal number in `text` (the series count may come with words around it).
pub fn first_number(text: &str) -> Option<usize> {
    let digits: String = text
        .chars()
        .skip_while(|c| !c.is_ascii_digit())
        .take_while(char::is_ascii_digit)
        .collect();
    digits.parse().ok()
}

/// The result series count `panel` shows now (`None` before a query ran).
pub async fn series_count(session: &Session, panel: Panel) -> Option<usize> {
    first_number(&session.text(&panel.at("series-count")).await)
}

/// Waits until `panel` shows `expected` result series: the `series-count` text and, with
/// `table`, one `result-table` body row per series.
pub async fn wait_for_series(session: &Session, panel: Panel, expected: usize, table: bool) {
    session
        .wait_for_text(&panel.at("series-count"), |t| {
            first_number(t) == Some(expected)
        })
        .await;
    if table {
        session
            .wait_for_count(&format!("{} tbody tr", panel.at("result-table")), expected)
            .await;
    }
}

/// The canvas of `panel`'s chart: (pixels that differ from the most common colour, the
/// background; colours; a hash of every pixel), or `None` while there is no sized canvas.
async fn chart_pixels(session: &Session, panel: Panel) -> Option<(u64, u64, u64)> {
    const SCRIPT: &str = r#"
        const canvas = document.querySelector(arguments[0]);
        if (!canvas || !canvas.width || !canvas.height) return null;
        const data = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
        const counts = new Map();
        let hash = 2166136261;
        for (let i = 0; i < data.length; i += 4) {
            const key = (data[i] << 24 | data[i + 1] << 16 | data[i + 2] << 8 | data[i + 3]) >>> 0;
            counts.set(key, (counts.get(key) || 0) + 1);
            hash = Math.imul(hash ^ key, 16777619) >>> 0;
        }
        let background = 0;
        for (const n of counts.values()) background = Math.max(background, n);
        return [data.length / 4 - background, counts.size, hash];
    "#;
    let value = session
        .execute(SCRIPT, vec![Value::from(panel.at("chart"))])
        .await;
    Some((value[0].as_u64()?, value[1].as_u64()?, value[2].as_u64()?))
}

/// Waits until `panel`'s chart canvas holds a drawing: at least `min_pixels` pixels off the
/// background, in at least three colours (axes, text and series). Returns (drawn pixels,
/// colours).
pub async fn wait_for_drawn_chart(session: &Session, panel: Panel, min_pixels: u64) -> (u64, u64) {
    session
        .wait_until("a drawn chart", DEFAULT_TIMEOUT, || async {
            match chart_pixels(session, panel).await {
                Some((drawn, colours, _)) if drawn >= min_pixels && colours >= 3 => {
                    Ok((drawn, colours))
                }
                other => Err(format!("{other:?}")),
            }
        })
        .await
}

/// What identifies one drawing of the charts: how many times the page has drawn a chart (the
/// `chorus:chart-drawn` marks) and a hash of `panel`'s canvas.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Drawing {
    marks: u64,
    hash: Option<u64>,
}

/// The current [`Drawing`] of `panel`.
pub async fn drawing(session: &Session, panel: Panel) -> Drawing {
    let marks = session
        .execute(
            "return performance.getEntriesByName('chorus:chart-drawn').length;",
            vec![],
        )
        .await
        .as_u64()
        .unwrap_or(0);
    let hash = chart_pixels(session, panel).await.map(|(_, _, hash)| hash);
    Drawing { marks, hash }
}

/// Waits until `panel`'s chart was drawn again after `before` and looks different, and
/// returns the new drawing.
pub async fn wait_for_redraw(session: &Session, panel: Panel, before: Drawing) -> Drawing {
    session
        .wait_until("the chart redrawn", DEFAULT_TIMEOUT, || async {
            let now = drawing(session, panel).await;
            if now.marks > before.marks && now.hash.is_some() && now.hash != before.hash {
                Ok(now)
            } else {
                Err(format!("{now:?}, before {before:?}"))
            }
        })
        .await
}

/// The value of the URL parameter `name` in `url` (decoded), if present.
pub fn url_param(url: &str, name: &str) -> Option<String> {
    let url = reqwest::Url::parse(url).unwrap_or_else(|e| panic!("{url}: {e}"));
    url.query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

/// Waits until the page URL's parameter `name` satisfies `accept` (`None`: absent), and
/// returns the URL.
pub async fn wait_for_param(
    session: &Session,
    name: &str,
    accept: impl Fn(Option<&str>) -> bool,
) -> String {
    session
        .wait_for_url(&format!("URL parameter {name}"), |url| {
            accept(url_param(url, name).as_deref())
        })
        .await
}

/// The tooltip `panel` shows now: (time, value, labels) texts.
pub async fn tooltip(session: &Session, panel: Panel) -> (String, String, String) {
    session.wait_for(&panel.at("tooltip")).await;
    (
        session.text(&panel.at("tooltip-time")).await,
        session.text(&panel.at("tooltip-value")).await,
        session.text(&panel.at("tooltip-labels")).await,
    )
}

/// Moves the mouse over `panel`'s chart at fractions `at` of its size, and waits for the
/// tooltip to show a time other than `previous` (any time when `None`); returns the tooltip.
pub async fn hover_chart(
    session: &Session,
    panel: Panel,
    at: (f64, f64),
    previous: Option<&str>,
) -> (String, String, String) {
    session.hover(&panel.at("chart"), at).await;
    session
        .wait_for_text(&panel.at("tooltip-time"), |t| {
            !t.is_empty() && Some(t) != previous
        })
        .await;
    tooltip(session, panel).await
}

/// How many legend entries of `panel` are shown as visible (not greyed out), and in all.
pub async fn legend_visible(session: &Session, panel: Panel) -> (usize, usize) {
    let items = session.all(&panel.at("legend-item")).await;
    let mut visible = 0;
    for item in &items {
        let class = item
            .attr("class")
            .await
            .expect("a legend entry's class")
            .unwrap_or_default();
        if !class.split_whitespace().any(|c| c == "hidden") {
            visible += 1;
        }
    }
    (visible, items.len())
}

/// The CSS selector of `panel`'s legend entry `index` (0-based).
pub fn legend_entry(panel: Panel, index: usize) -> String {
    format!("{}:nth-of-type({})", panel.at("legend-item"), index + 1)
}

/// Waits until `panel`'s legend shows `visible` of its entries as visible.
pub async fn wait_for_visible_series(session: &Session, panel: Panel, visible: usize) {
    session
        .wait_until(
            &format!("{visible} visible series"),
            DEFAULT_TIMEOUT,
            || async {
                let (shown, all) = legend_visible(session, panel).await;
                if shown == visible {
                    Ok(())
                } else {
                    Err(format!("{shown} of {all}"))
                }
            },
        )
        .await;
}

/// The `data-theme` of the page's `<html>`.
pub async fn theme(session: &Session) -> String {
    session
        .execute("return document.documentElement.dataset.theme;", vec![])
        .await
        .as_str()
        .unwrap_or_default()
        .to_string()
}

/// Clicks the nav link `nav` and waits until the URL is `page` (a prefix of it).
pub async fn navigate(session: &Session, nav: &str, page: &str) {
    session.click(&testid(nav)).await;
    session
        .wait_for_url(&format!("{page} after clicking {nav}"), |url| {
            url.starts_with(page)
        })
        .await;
}

/// Enter, as WebDriver types it.
pub fn enter() -> char {
    char::from(Key::Enter)
}

/// Shift, as WebDriver types it (held until the end of the keys sent).
pub fn shift() -> char {
    char::from(Key::Shift)
}
