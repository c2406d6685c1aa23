//! The graph tab: drawing the result, the hover tooltip, drag to zoom, the legend, the range,
//! resolution and stacking controls, and local time.

use shared::timefmt::{UiDuration, format_utc, parse_utc};

use crate::browser::{Key, Session, testid};
use crate::console::{
    Drawing, EXPR, P0, Tab, drawing, execute, graph_link, hover_chart, legend_entry,
    legend_visible, switch_tab, url_param, wait_for_drawn_chart, wait_for_param, wait_for_redraw,
    wait_for_series, wait_for_visible_series,
};
use crate::fixture::{BROWSER_ZONE, Fixture, instant_query, series_counts, start_or_skip};
use crate::query::executed_on_the_table;

/// Where the mouse hovers: the middle of the chart, well inside the plot area.
const MIDDLE: (f64, f64) = (0.5, 0.5);

/// A graph of an expression over a range ending at a fixed whole minute in the recent past (so
/// that the window does not move with the clock), deduplicated, drawn.
struct FixedChart {
    session: Session,
    end_ms: i64,
    range_ms: i64,
    /// The API's deduplicated series count of the expression.
    series: usize,
}

impl FixedChart {
    async fn open(fixture: &Fixture, expr: &str, range: &str) -> Self {
        let (series, _) = series_counts(&fixture.demo.http, expr).await;
        let now_ms = i64::try_from(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .expect("after 1970")
                .as_millis(),
        )
        .expect("a time in ms");
        let end_ms = now_ms / 60_000 * 60_000 - 120_000;
        let end = format_utc(end_ms);
        let link = graph_link(&[
            ("g0.expr", expr),
            ("g0.tab", "0"),
            ("g0.range_input", range),
            ("g0.end_input", &end),
        ]);
        let session = fixture.open(&link).await;
        wait_for_series(&session, P0, series, false).await;
        wait_for_drawn_chart(&session, P0, 500).await;
        let range_ms = UiDuration::parse(range).expect("a range").as_ms();
        Self {
            session,
            end_ms,
            range_ms: i64::try_from(range_ms).expect("a short range"),
            series,
        }
    }

    async fn drawing(&self) -> Drawing {
        drawing(&self.session, P0).await
    }
}

/// The time of a tooltip, `YYYY-MM-DD HH:mm:ss.mmm <zone>`: (ms as written, zone text).
fn tooltip_time(text: &str) -> (i64, String) {
    let (stamp, zone) = text
        .trim()
        .split_once(' ')
        .and_then(|(date, rest)| {
            let (time, zone) = rest.split_once(' ')?;
            Some((format!("{date} {time}"), zone.to_string()))
        })
        .unwrap_or_else(|| panic!("a tooltip time: {text:?}"));
    let (seconds, millis) = stamp
        .rsplit_once('.')
        .unwrap_or_else(|| panic!("milliseconds in {text:?}"));
    let ms = parse_utc(seconds).unwrap_or_else(|e| panic!("{text:?}: {e}"))
        + millis.parse::<i64>().expect("milliseconds");
    (ms, zone)
}

#[tokio::test]
async fn switching_to_the_graph_tab_draws_the_result() {
    let fixture = start_or_skip!("switching_to_the_graph_tab_draws_the_result");
    let (session, deduplicated, _) = executed_on_the_table(&fixture).await;
    // As in Thanos, the tab alone runs the range query.
    switch_tab(&session, P0, Tab::Graph).await;
    wait_for_drawn_chart(&session, P0, 100).await;
    wait_for_series(&session, P0, deduplicated, false).await;
    switch_tab(&session, P0, Tab::Table).await;
    wait_for_series(&session, P0, deduplicated, true).await;
    session.close().await;
}

#[tokio::test]
async fn graph_tab_draws_the_series() {
    let fixture = start_or_skip!("graph_tab_draws_the_series");
    let (deduplicated, _) = series_counts(&fixture.demo.http, EXPR).await;
    let session = fixture.open("/graph").await;
    execute(&session, P0, Tab::Graph, EXPR).await;
    wait_for_series(&session, P0, deduplicated, false).await;
    let (drawn, colours) = wait_for_drawn_chart(&session, P0, 500).await;
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
    // One legend entry per series, all shown.
    assert_eq!(
        legend_visible(&session, P0).await,
        (deduplicated, deduplicated)
    );
    session.close().await;
}

#[tokio::test]
async fn hover_shows_time_value_and_labels() {
    let fixture = start_or_skip!("hover_shows_time_value_and_labels");
    let chart = FixedChart::open(&fixture, EXPR, "1h").await;
    let (time, value, labels) = hover_chart(&chart.session, P0, MIDDLE, None).await;

    // A time inside the window, in UTC although the browser's zone is not.
    let (t, zone) = tooltip_time(&time);
    assert_eq!(zone, "UTC", "{time:?}");
    assert!(
        (chart.end_ms - chart.range_ms..=chart.end_ms).contains(&t),
        "{time:?} outside the window ending {}",
        format_utc(chart.end_ms)
    );
    // The labels of one of the API's series at that time, and its value.
    let answer = instant_query(&fixture.demo.http, EXPR, true, Some(t)).await;
    let result = answer["result"].as_array().expect("a vector");
    let series = result
        .iter()
        .find(|s| {
            s["metric"].as_object().is_some_and(|metric| {
                metric.iter().all(|(name, v)| {
                    let v = v.as_str().unwrap_or_default();
                    if name == "__name__" {
                        labels.starts_with(v)
                    } else {
                        labels.contains(&format!("{name}=\"{v}\""))
                    }
                })
            })
        })
        .unwrap_or_else(|| panic!("tooltip labels {labels:?} name none of {answer}"));
    assert!(
        !labels.contains("prometheus_replica"),
        "deduplicated: {labels:?}"
    );
    let expected: f64 = series["value"][1]
        .as_str()
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("a value: {series}"));
    let shown: f64 = value
        .trim()
        .parse()
        .unwrap_or_else(|e| panic!("tooltip value {value:?}: {e}"));
    assert!(
        (shown - expected).abs() <= expected.abs() * 1e-3,
        "tooltip {value:?}, API {expected}"
    );
    // Leaving the chart hides the tooltip.
    chart.session.hover(&testid("nav-graph"), MIDDLE).await;
    chart.session.wait_for_count(&P0.at("tooltip"), 0).await;
    chart.session.close().await;
}

#[tokio::test]
async fn dragging_over_the_chart_zooms_in() {
    let fixture = start_or_skip!("dragging_over_the_chart_zooms_in");
    let chart = FixedChart::open(&fixture, EXPR, "1h").await;
    let session = &chart.session;
    let before = chart.drawing().await;
    session.drag(&P0.at("chart"), (0.3, 0.5), (0.7, 0.5)).await;
    let url = wait_for_param(session, "g0.range_input", |v| v != Some("1h")).await;
    let range = url_param(&url, "g0.range_input").expect("a range");
    let end = url_param(&url, "g0.end_input").expect("an end time");
    let range_ms = i64::try_from(
        UiDuration::parse(&range)
            .unwrap_or_else(|e| panic!("{range}: {e}"))
            .as_ms(),
    )
    .expect("a short range");
    let end_ms = parse_utc(&end).unwrap_or_else(|e| panic!("{end}: {e}"));
    // About 40% of the hour, inside the old window.
    assert!(
        (chart.range_ms / 5..chart.range_ms * 4 / 5).contains(&range_ms),
        "zoomed to {range}"
    );
    assert!(
        end_ms < chart.end_ms && end_ms - range_ms >= chart.end_ms - chart.range_ms,
        "zoomed to {range} ending {end}, from 1h ending {}",
        format_utc(chart.end_ms)
    );
    assert_eq!(session.value(&P0.at("range-input")).await, range);
    assert_eq!(session.value(&P0.at("end-input")).await, end);
    wait_for_redraw(session, P0, before).await;
    wait_for_series(session, P0, chart.series, false).await;
    chart.session.close().await;
}

#[tokio::test]
async fn legend_click_isolates_and_ctrl_click_toggles() {
    let fixture = start_or_skip!("legend_click_isolates_and_ctrl_click_toggles");
    // Series with lines of their own (`up` is 1 for every target: its lines coincide).
    let expr = "rate(http_requests_total[5m])";
    let chart = FixedChart::open(&fixture, expr, "1h").await;
    let (session, all) = (&chart.session, chart.series);
    assert!(all >= 3, "the demo has several `{expr}` series: {all}");
    assert_eq!(legend_visible(session, P0).await, (all, all));

    // A click shows that series only; a second click shows all again.
    let before = chart.drawing().await;
    session.click(&legend_entry(P0, 1)).await;
    wait_for_visible_series(session, P0, 1).await;
    let isolated = wait_for_redraw(session, P0, before).await;
    let class = session
        .wait_for(&legend_entry(P0, 1))
        .await
        .attr("class")
        .await
        .expect("class");
    assert!(
        !class.unwrap_or_default().contains("hidden"),
        "the clicked series is the one shown"
    );
    session.click(&legend_entry(P0, 1)).await;
    wait_for_visible_series(session, P0, all).await;
    let restored = wait_for_redraw(session, P0, isolated).await;

    // Ctrl-click hides one series, and shows it again.
    session.click_with(&legend_entry(P0, 0), Key::Control).await;
    wait_for_visible_series(session, P0, all - 1).await;
    let toggled = wait_for_redraw(session, P0, restored).await;
    session.click_with(&legend_entry(P0, 0), Key::Control).await;
    wait_for_visible_series(session, P0, all).await;
    wait_for_redraw(session, P0, toggled).await;
    chart.session.close().await;
}

#[tokio::test]
async fn range_resolution_and_stacked_controls_update_the_url() {
    let fixture = start_or_skip!("range_resolution_and_stacked_controls_update_the_url");
    let chart = FixedChart::open(&fixture, EXPR, "1h").await;
    let session = &chart.session;
    let range_input = P0.at("range-input");

    // −/+ step through the presets.
    let mut before = chart.drawing().await;
    for (button, expected) in [
        ("range-plus", "2h"),
        ("range-minus", "1h"),
        ("range-minus", "30m"),
    ] {
        session.click(&P0.at(button)).await;
        wait_for_param(session, "g0.range_input", |v| v == Some(expected)).await;
        assert_eq!(
            session.value(&range_input).await,
            expected,
            "after {button}"
        );
        before = wait_for_redraw(session, P0, before).await;
    }

    // A preset from the range input's list.
    let presets = session
        .execute(
            "const input = document.querySelector(arguments[0]);
             return Array.from(input.list ? input.list.options : []).map(o => o.value);",
            vec![range_input.clone().into()],
        )
        .await;
    let preset = "6h";
    assert!(
        presets
            .as_array()
            .is_some_and(|p| p.iter().any(|v| v == preset)),
        "{preset} among the presets {presets}"
    );
    session.set_value(&range_input, preset).await;
    wait_for_param(session, "g0.range_input", |v| v == Some(preset)).await;
    before = wait_for_redraw(session, P0, before).await;

    // A fixed resolution of a minute: every point is on a whole minute (the window ends on
    // one), as the tooltip shows.
    assert!(
        session.value(&P0.at("step-input")).await.is_empty(),
        "auto resolution"
    );
    session.set_value(&P0.at("step-input"), "60").await;
    wait_for_param(session, "g0.step_input", |v| v == Some("60")).await;
    before = wait_for_redraw(session, P0, before).await;
    for at in [(0.3, 0.5), (0.55, 0.5), (0.8, 0.5)] {
        let (time, _, _) = hover_chart(session, P0, at, None).await;
        let (t, _) = tooltip_time(&time);
        assert_eq!(t % 60_000, 0, "a point off the minute grid: {time:?}");
    }

    // Stacked.
    assert!(!session.is_checked(&P0.at("stacked")).await);
    session.click(&P0.at("stacked")).await;
    wait_for_param(session, "g0.stacked", |v| v == Some("1")).await;
    assert!(session.is_checked(&P0.at("stacked")).await);
    wait_for_redraw(session, P0, before).await;
    chart.session.close().await;
}

#[tokio::test]
async fn local_time_toggle_changes_the_shown_times_not_the_url() {
    let fixture = start_or_skip!("local_time_toggle_changes_the_shown_times_not_the_url");
    let chart = FixedChart::open(&fixture, EXPR, "1h").await;
    let session = &chart.session;
    let offset_minutes = session
        .execute("return -new Date().getTimezoneOffset();", vec![])
        .await
        .as_i64()
        .expect("the browser's offset");
    assert_eq!(offset_minutes, 330, "the browser runs in {BROWSER_ZONE}");
    let end_before = url_param(&session.url().await, "g0.end_input");

    let (utc, _, _) = hover_chart(session, P0, MIDDLE, None).await;
    let (utc_ms, zone) = tooltip_time(&utc);
    assert_eq!(zone, "UTC");
    let before = chart.drawing().await;
    session.click(&testid("local-time")).await;
    assert!(session.is_checked(&testid("local-time")).await);
    // The axis labels are redrawn in local time.
    wait_for_redraw(session, P0, before).await;
    let (elsewhere, _, _) = hover_chart(session, P0, (0.7, 0.5), Some(&utc)).await;
    let (local, _, _) = hover_chart(session, P0, MIDDLE, Some(&elsewhere)).await;
    let (local_ms, zone) = tooltip_time(&local);
    assert_eq!(zone, "+05:30", "{local:?}");
    assert_eq!(
        local_ms - utc_ms,
        offset_minutes * 60_000,
        "the same point: {utc:?} then {local:?}"
    );
    // Links stay in UTC.
    assert_eq!(url_param(&session.url().await, "g0.end_input"), end_before);
    chart.session.close().await;
}
