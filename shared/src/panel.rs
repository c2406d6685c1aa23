//! The state of the console's graph panels as it lives in the page URL, so a link shows the
//! same query to anyone who opens it.
//!
//! Parameter names and formats are Thanos's (pkg/ui/react-app, THANOS.md §6) so that a Thanos
//! query link opened against Chorus shows the same query: per panel `N`, `gN.expr`, `gN.tab`
//! (0 graph, 1 table), `gN.stacked`, `gN.range_input` (`1h`), `gN.end_input` and
//! `gN.moment_input` (`YYYY-MM-DD HH:mm:ss`, UTC), `gN.step_input` (seconds),
//! `gN.max_source_resolution`, `gN.deduplicate`, `gN.partial_response`, `gN.store_matches`
//! (JSON `[{"name":…}]`), `gN.engine`, `gN.analyze`, `gN.tenant`. Chorus adds
//! `gN.replica_labels` (comma-separated; empty means the querier's default).
//!
//! Panels are read in order from `g0` while `gN.expr` is present. Parsing is lenient, like the
//! upstream UI: a malformed value falls back to the panel default rather than losing the link.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::timefmt::{UiDuration, format_utc, parse_utc};

/// Which tab a panel shows.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Tab {
    /// The chart (`gN.tab=0`).
    Graph,
    /// The table (`gN.tab=1`), the default.
    #[default]
    Table,
}

/// The `max_source_resolution` choice (downsampled data; Chorus serves raw data only but keeps
/// the choice so links round-trip).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum SourceResolution {
    /// Let the querier choose (`auto`).
    #[default]
    Auto,
    /// Raw data only (`0s`).
    Raw,
    /// 5-minute downsampled data (`5m`).
    FiveMinutes,
    /// 1-hour downsampled data (`1h`).
    OneHour,
}

impl SourceResolution {
    fn as_str(&self) -> &'static str {
        match self {
            Self::Auto => "auto",
            Self::Raw => "0s",
            Self::FiveMinutes => "5m",
            Self::OneHour => "1h",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "auto" => Self::Auto,
            "0s" | "raw" => Self::Raw,
            "5m" => Self::FiveMinutes,
            "1h" => Self::OneHour,
            _ => return None,
        })
    }
}

/// A fixed resolution in seconds: positive and finite.
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd)]
pub struct StepSeconds(f64);

impl StepSeconds {
    /// `seconds` when it is positive and finite.
    pub fn new(seconds: f64) -> Option<Self> {
        (seconds.is_finite() && seconds > 0.0).then_some(Self(seconds))
    }

    /// The step in seconds.
    pub fn get(self) -> f64 {
        self.0
    }
}

/// One graph panel's state.
#[derive(Debug, Clone, PartialEq)]
pub struct PanelState {
    /// The PromQL expression.
    pub expr: String,
    /// The tab shown.
    pub tab: Tab,
    /// Stacked graph.
    pub stacked: bool,
    /// The graph's time range, ending at `end_ms`.
    pub range: UiDuration,
    /// The graph's end time in ms (second precision), `None` for "now".
    pub end_ms: Option<i64>,
    /// The table's evaluation time in ms (second precision), `None` for "now".
    pub moment_ms: Option<i64>,
    /// A fixed resolution, `None` for automatic.
    pub step: Option<StepSeconds>,
    /// Downsampling choice.
    pub max_source_resolution: SourceResolution,
    /// Deduplicate replicas.
    pub deduplicate: bool,
    /// Accept partial responses.
    pub partial_response: bool,
    /// Restrict the query to these store names (empty: all stores).
    pub store_matches: Vec<String>,
    /// Query engine name (`prometheus` or `thanos`), when one was chosen.
    pub engine: Option<String>,
    /// Ask for query analysis.
    pub analyze: bool,
    /// Tenant, when one was chosen.
    pub tenant: Option<String>,
    /// Replica labels to deduplicate by; empty means the querier's own.
    pub replica_labels: Vec<String>,
}

/// The default range of a new panel: one hour.
pub const DEFAULT_RANGE: UiDuration = UiDuration::from_ms(3_600_000);

impl Default for PanelState {
    /// Upstream's defaults: table tab, 1h range, automatic resolution, dedup and partial
    /// response on.
    fn default() -> Self {
        Self {
            expr: String::new(),
            tab: Tab::Table,
            stacked: false,
            range: DEFAULT_RANGE,
            end_ms: None,
            moment_ms: None,
            step: None,
            max_source_resolution: SourceResolution::Auto,
            deduplicate: true,
            partial_response: true,
            store_matches: Vec::new(),
            engine: None,
            analyze: false,
            tenant: None,
            replica_labels: Vec::new(),
        }
    }
}

#[derive(Serialize, Deserialize)]
struct StoreMatch {
    name: String,
}

fn flag(value: &str) -> Option<bool> {
    match value {
        "1" | "true" => Some(true),
        "0" | "false" => Some(false),
        _ => None,
    }
}

impl PanelState {
    /// Applies one `gN.<key>` value; unknown keys and malformed values are ignored.
    fn set(&mut self, key: &str, value: &str) {
        match key {
            "expr" => self.expr = value.to_owned(),
            "tab" => match value {
                "0" => self.tab = Tab::Graph,
                "1" => self.tab = Tab::Table,
                _ => {}
            },
            "stacked" => self.stacked = flag(value).unwrap_or(self.stacked),
            "range_input" => {
                if let Some(range) = UiDuration::parse(value).ok().filter(|r| r.as_ms() > 0) {
                    self.range = range;
                }
            }
            "end_input" => self.end_ms = parse_utc(value).ok(),
            "moment_input" => self.moment_ms = parse_utc(value).ok(),
            "step_input" => self.step = value.trim().parse().ok().and_then(StepSeconds::new),
            "max_source_resolution" => {
                if let Some(r) = SourceResolution::parse(value) {
                    self.max_source_resolution = r;
                }
            }
            "deduplicate" => self.deduplicate = flag(value).unwrap_or(self.deduplicate),
            "partial_response" => {
                self.partial_response = flag(value).unwrap_or(self.partial_response);
            }
            "store_matches" => {
                if let Ok(matches) = serde_json::from_str::<Vec<StoreMatch>>(value) {
                    self.store_matches = matches.into_iter().map(|m| m.name).collect();
                }
            }
            "engine" => self.engine = Some(value.to_owned()).filter(|v| !v.is_empty()),
            "analyze" => self.analyze = flag(value).unwrap_or(self.analyze),
            "tenant" => self.tenant = Some(value.to_owned()).filter(|v| !v.is_empty()),
            "replica_labels" => {
                self.replica_labels = value
                    .split(',')
                    .map(str::trim)
                    .filter(|l| !l.is_empty())
                    .map(str::to_owned)
                    .collect();
            }
            _ => {}
        }
    }

    /// The `(key, value)` pairs of panel `index`, in a fixed order. Optional values that are
    /// unset are left out, except those the upstream UI always writes.
    fn pairs(&self, index: usize) -> Vec<(String, String)> {
        let key = |k: &str| format!("g{index}.{k}");
        let bit = |b: bool| if b { "1" } else { "0" }.to_owned();
        let mut out = vec![
            (key("expr"), self.expr.clone()),
            (
                key("tab"),
                match self.tab {
                    Tab::Graph => "0",
                    Tab::Table => "1",
                }
                .to_owned(),
            ),
            (key("stacked"), bit(self.stacked)),
            (key("range_input"), self.range.to_string()),
        ];
        if let Some(end) = self.end_ms {
            out.push((key("end_input"), format_utc(end)));
        }
        if let Some(moment) = self.moment_ms {
            out.push((key("moment_input"), format_utc(moment)));
        }
        if let Some(step) = self.step {
            out.push((key("step_input"), step.get().to_string()));
        }
        out.push((
            key("max_source_resolution"),
            self.max_source_resolution.as_str().to_owned(),
        ));
        out.push((key("deduplicate"), bit(self.deduplicate)));
        out.push((key("partial_response"), bit(self.partial_response)));
        if !self.store_matches.is_empty() {
            let matches: Vec<StoreMatch> = self
                .store_matches
                .iter()
                .map(|name| StoreMatch { name: name.clone() })
                .collect();
            if let Ok(json) = serde_json::to_string(&matches) {
                out.push((key("store_matches"), json));
            }
        }
        if let Some(engine) = &self.engine {
            out.push((key("engine"), engine.clone()));
        }
        if self.analyze {
            out.push((key("analyze"), bit(true)));
        }
        if let Some(tenant) = &self.tenant {
            out.push((key("tenant"), tenant.clone()));
        }
        if !self.replica_labels.is_empty() {
            out.push((key("replica_labels"), self.replica_labels.join(",")));
        }
        out
    }
}

/// The panels of a URL query string (with or without the leading `?`).
pub fn parse_panels(query: &str) -> Vec<PanelState> {
    let query = query.strip_prefix('?').unwrap_or(query);
    let mut panels: Vec<(usize, PanelState)> = Vec::new();
    let mut values: Vec<(usize, String, String)> = Vec::new();
    for (key, value) in form_urlencoded::parse(query.as_bytes()) {
        let Some((index, field)) = key
            .strip_prefix('g')
            .and_then(|rest| rest.split_once('.'))
            .and_then(|(n, field)| Some((n.parse::<usize>().ok()?, field)))
        else {
            continue;
        };
        values.push((index, field.to_owned(), value.into_owned()));
    }
    // Panels are numbered from 0 and end at the first index without an expression.
    let mut index = 0;
    while values.iter().any(|(i, f, _)| *i == index && f == "expr") {
        let mut panel = PanelState::default();
        for (_, field, value) in values.iter().filter(|(i, _, _)| *i == index) {
            panel.set(field, value);
        }
        panels.push((index, panel));
        index += 1;
    }
    panels.into_iter().map(|(_, p)| p).collect()
}

/// The URL query string (without `?`) of `panels`.
pub fn panels_query(panels: &[PanelState]) -> String {
    let mut out = form_urlencoded::Serializer::new(String::new());
    for (index, panel) in panels.iter().enumerate() {
        for (key, value) in panel.pairs(index) {
            out.append_pair(&key, &value);
        }
    }
    out.finish()
}

/// Resolutions the automatic step rounds up to, in seconds (Thanos's graph panel).
const STEP_CHOICES: [u64; 17] = [
    1, 5, 10, 15, 20, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200,
];

/// The automatic resolution of a graph over `range`: about 250 points, at least
/// `min_step_seconds`, rounded up to a round step (THANOS.md §6 "Default step").
pub fn default_step_seconds(range: UiDuration, min_step_seconds: u64) -> u64 {
    let wanted = (range.as_ms() / 250_000).max(min_step_seconds).max(1);
    STEP_CHOICES
        .iter()
        .copied()
        .find(|choice| *choice >= wanted)
        .unwrap_or(wanted)
}

impl fmt::Display for Tab {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Tab::Graph => "Graph",
            Tab::Table => "Table",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn a_thanos_link_is_read_as_thanos_writes_it() {
        let link = "g0.expr=rate(http_requests_total%5B5m%5D)&g0.tab=0&g0.stacked=1\
                    &g0.range_input=2h&g0.end_input=2024-02-29%2012%3A34%3A56\
                    &g0.step_input=30&g0.max_source_resolution=5m&g0.deduplicate=0\
                    &g0.partial_response=0&g0.store_matches=%5B%7B%22name%22%3A%22s1%3A10901%22%7D%5D\
                    &g1.expr=up&g1.tab=1&g1.moment_input=2024-01-01%2000%3A00%3A00&g3.expr=ignored";
        let panels = parse_panels(&format!("?{link}"));
        assert_eq!(panels.len(), 2, "g3 is not read without g2");
        let p = &panels[0];
        assert_eq!(p.expr, "rate(http_requests_total[5m])");
        assert_eq!((p.tab, p.stacked), (Tab::Graph, true));
        assert_eq!(p.range.as_ms(), 7_200_000);
        assert_eq!(p.end_ms, Some(1_709_210_096_000));
        assert_eq!(p.step.map(StepSeconds::get), Some(30.0));
        assert_eq!(p.max_source_resolution, SourceResolution::FiveMinutes);
        assert!(!p.deduplicate && !p.partial_response);
        assert_eq!(p.store_matches, vec!["s1:10901".to_owned()]);
        assert_eq!(panels[1].moment_ms, Some(1_704_067_200_000));
        assert_eq!(panels[1].tab, Tab::Table);
    }

    #[test]
    fn malformed_values_fall_back_to_defaults() {
        let panels = parse_panels(
            "g0.expr=up&g0.tab=7&g0.range_input=soon&g0.end_input=yesterday&g0.step_input=-5\
             &g0.deduplicate=maybe&g0.store_matches=not-json&g0.max_source_resolution=2d",
        );
        assert_eq!(
            panels,
            vec![PanelState {
                expr: "up".into(),
                ..PanelState::default()
            }]
        );
        assert!(parse_panels("").is_empty());
        assert!(
            parse_panels("g0.tab=1").is_empty(),
            "no expression, no panel"
        );
    }

    #[test]
    fn default_step_rounds_up_to_a_round_resolution() {
        let hours = |h: u64| UiDuration::from_ms(h * 3_600_000);
        assert_eq!(default_step_seconds(hours(1), 1), 15, "3600/250 = 14.4 s");
        assert_eq!(
            default_step_seconds(hours(6), 1),
            120,
            "86 s rounds up to 120"
        );
        assert_eq!(default_step_seconds(UiDuration::from_ms(60_000), 1), 1);
        assert_eq!(default_step_seconds(UiDuration::from_ms(60_000), 7), 10);
        assert_eq!(default_step_seconds(hours(24 * 365 * 10), 1), 1_261_440);
    }

    fn panel() -> impl Strategy<Value = PanelState> {
        let time = proptest::option::of((0i64..4_000_000_000).prop_map(|s| s * 1000));
        (
            (
                ".*",
                any::<bool>(),
                any::<bool>(),
                1u64..10_000_000_000,
                time.clone(),
                time,
                proptest::option::of(1u32..100_000),
            ),
            (
                0..4usize,
                (any::<bool>(), any::<bool>(), any::<bool>()),
                proptest::collection::vec("[a-z0-9:.-]{1,12}", 0..3),
                proptest::option::of("[a-z]{1,8}"),
                proptest::option::of("[a-z]{1,8}"),
                proptest::collection::vec("[a-z_]{1,8}", 0..3),
            ),
        )
            .prop_map(
                |(
                    (expr, graph, stacked, range, end, moment, step),
                    (res, flags, stores, engine, tenant, replicas),
                )| {
                    PanelState {
                        expr,
                        tab: if graph { Tab::Graph } else { Tab::Table },
                        stacked,
                        range: UiDuration::from_ms(range),
                        end_ms: end,
                        moment_ms: moment,
                        step: step.and_then(|s| StepSeconds::new(f64::from(s) / 4.0)),
                        max_source_resolution: [
                            SourceResolution::Auto,
                            SourceResolution::Raw,
                            SourceResolution::FiveMinutes,
                            SourceResolution::OneHour,
                        ][res]
                            .clone(),
                        deduplicate: flags.0,
                        partial_response: flags.1,
                        analyze: flags.2,
                        store_matches: stores,
                        engine,
                        tenant,
                        replica_labels: replicas,
                    }
                },
            )
    }

    proptest! {
        #[test]
        fn panels_round_trip_through_the_url(panels in proptest::collection::vec(panel(), 0..4)) {
            let query = panels_query(&panels);
            prop_assert_eq!(parse_panels(&query), panels);
        }
    }
}
