//! The console's chart in headless Chromium: time to the first chart for a 100-series ×
//! 1 000-point range result, and the time a hover takes (issue 5, "Performance").
//!
//! A stub HTTP server serves the embedded console (`chorus::ui`) and answers
//! `api/v1/query_range` with [`SERIES`] × [`POINTS`] generated points on the requested grid (the
//! other API paths the console reads get small fixed answers). Each round opens a Thanos-format
//! graph link in a fresh page and reads the console's performance marks: `chorus:response` (the
//! response arrived) and `chorus:chart-drawn` (the chart is on the canvas). Then it moves the mouse
//! over the chart [`HOVERS`] times, timing each move until the tooltip is updated, and Ctrl-clicks
//! a legend entry [`TOGGLES`] times, timing each click until the chart is redrawn.
//!
//! Needs Debian's chromium and chromium-driver and a built console (`make frontend`, before the
//! bench is compiled: release builds embed `frontend/dist`). Run with
//! `cargo bench -p chorus --bench console_chart`. Targets: chart ≤ 300 ms after the response,
//! hover ≤ 16 ms.

#[path = "../tests/common/browser.rs"]
mod browser;

use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use axum::Router;
use axum::extract::Form;
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use browser::{ChromeDriver, Session, browser_available};
use serde_json::{Value, json};

/// Series in the stub's range result.
const SERIES: usize = 100;
/// Points per series.
const POINTS: i64 = 1_000;
/// Step of the link's range query, in seconds; the range is `POINTS - 1` steps.
const STEP_S: i64 = 15;
/// Page loads measured (after one warm-up).
const ROUNDS: usize = 5;
/// Mouse moves per round.
const HOVERS: usize = 50;
/// Legend clicks per round.
const TOGGLES: usize = 4;

/// Points per series in the stub's last range answer (checked: the link asks for [`POINTS`]).
static SERVED_POINTS: AtomicI64 = AtomicI64::new(0);

fn json_response(body: String) -> Response {
    ([(http::header::CONTENT_TYPE, "application/json")], body).into_response()
}

/// `api/v1/query_range`: [`SERIES`] series on the request's `start`/`step` grid, at most
/// [`POINTS`] points each; a wave per series so that the lines differ.
async fn query_range(Form(form): Form<HashMap<String, String>>) -> Response {
    let number = |key: &str| form.get(key).and_then(|v| v.parse::<f64>().ok());
    let (Some(start), Some(end), Some(step)) = (number("start"), number("end"), number("step"))
    else {
        return (
            http::StatusCode::BAD_REQUEST,
            json_response(
                json!({"status": "error", "errorType": "bad_data", "error": "start, end, step"})
                    .to_string(),
            ),
        )
            .into_response();
    };
    let points = (((end - start) / step).floor() as i64 + 1).clamp(1, POINTS);
    SERVED_POINTS.store(points, Ordering::Relaxed);
    let mut body = String::from(r#"{"status":"success","data":{"resultType":"matrix","result":["#);
    for s in 0..SERIES {
        if s > 0 {
            body.push(',');
        }
        let _ = write!(
            body,
            r#"{{"metric":{{"__name__":"bench_series","instance":"host-{s:03}"}},"values":["#
        );
        for i in 0..points {
            if i > 0 {
                body.push(',');
            }
            let t = start + step * i as f64;
            let v = 100.0 + s as f64 + 10.0 * ((i as f64 / 40.0) + s as f64).sin();
            let _ = write!(body, r#"[{t},"{v:.3}"]"#);
        }
        body.push_str("]}");
    }
    body.push_str("]}}");
    json_response(body)
}

/// The rest of the API, with small answers of the right shapes.
fn stub_api() -> Router {
    let fixed = |data: Value| {
        let body = json!({"status": "success", "data": data}).to_string();
        any(move || {
            let body = body.clone();
            async move { json_response(body) }
        })
    };
    Router::new()
        .route("/api/v1/query_range", any(query_range))
        .route(
            "/api/v1/query",
            fixed(json!({"resultType": "vector", "result": []})),
        )
        .route(
            "/api/v1/status/flags",
            fixed(json!({"query.replica-label": "replica", "query.partial-response": "true"})),
        )
        .route(
            "/api/v1/status/buildinfo",
            fixed(json!({"version": "bench", "revision": "", "branch": "", "goVersion": ""})),
        )
        .route("/api/v1/stores", fixed(json!({})))
        .route(
            "/api/v1/label/__name__/values",
            fixed(json!(["bench_series"])),
        )
        .route("/api/v1/labels", fixed(json!(["__name__", "instance"])))
        .fallback_service(chorus::ui::router())
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

/// One page load: (navigation → response, response → chart drawn) in ms.
async fn load_chart(session: &Session, url: &str) -> (f64, f64) {
    session.goto(url).await;
    let marks = session
        .wait_until("the chart-drawn mark", Duration::from_secs(60), || async {
            let marks = session
                .execute(
                    "const r = performance.getEntriesByName('chorus:response');
                     if (!r.length) return null;
                     const d = performance.getEntriesByName('chorus:chart-drawn')
                         .filter(m => m.startTime >= r[0].startTime);
                     return d.length ? [r[0].startTime, d[0].startTime] : null;",
                    vec![],
                )
                .await;
            if marks.is_array() {
                Ok(marks)
            } else {
                Err(marks.to_string())
            }
        })
        .await;
    let legend = session
        .execute(
            "return document.querySelectorAll('[data-testid=\"legend-item\"]').length;",
            vec![],
        )
        .await;
    assert_eq!(legend, json!(SERIES), "every series is charted");
    assert_eq!(
        SERVED_POINTS.load(Ordering::Relaxed),
        POINTS,
        "points per series"
    );
    let response = marks[0].as_f64().expect("a response time");
    let drawn = marks[1].as_f64().expect("a drawing time");
    (response, drawn - response)
}

/// A script that yields to the event loop once all pending tasks ran (a message round trip: no
/// timer clamping), so a measurement includes the reactive work an event scheduled.
const SETTLE: &str = "const settle = () => new Promise(resolve => {
        const channel = new MessageChannel();
        channel.port1.onmessage = () => resolve();
        channel.port2.postMessage(null);
    });";

/// Moves the mouse across the chart; returns each move's time in ms, from the event to the
/// tooltip being updated (the handlers and the reactive updates they cause).
async fn hover(session: &Session) -> Vec<f64> {
    let script = format!(
        "return (async () => {{
            {SETTLE}
            const canvas = document.querySelector('[data-testid=\"chart\"]');
            const rect = canvas.getBoundingClientRect();
            const times = [];
            for (let i = 0; i < {HOVERS}; i++) {{
                const x = rect.left + rect.width * (0.15 + 0.7 * i / {HOVERS});
                const y = rect.top + rect.height * (0.3 + 0.4 * (i % 5) / 5);
                const t0 = performance.now();
                canvas.dispatchEvent(new MouseEvent('mousemove',
                    {{ clientX: x, clientY: y, bubbles: true }}));
                await settle();
                times.push(performance.now() - t0);
                await new Promise(r => requestAnimationFrame(() => r()));
            }}
            return [times, document.querySelectorAll('[data-testid=\"tooltip\"]').length];
        }})();"
    );
    let result = session.execute(&script, vec![]).await;
    assert_eq!(result[1], 1, "the hover shows a tooltip");
    result[0]
        .as_array()
        .expect("hover times")
        .iter()
        .filter_map(Value::as_f64)
        .collect()
}

/// Clicks a legend entry [`TOGGLES`] times (hide, show); returns each click's time in ms until
/// the chart is redrawn.
async fn toggle_series(session: &Session) -> Vec<f64> {
    let script = format!(
        "return (async () => {{
            {SETTLE}
            const entry = document.querySelectorAll('[data-testid=\"legend-item\"]')[7];
            const times = [];
            for (let i = 0; i < {TOGGLES}; i++) {{
                const before = performance.getEntriesByName('chorus:chart-drawn').length;
                const t0 = performance.now();
                entry.dispatchEvent(new MouseEvent('click', {{ bubbles: true, ctrlKey: true }}));
                await settle();
                if (performance.getEntriesByName('chorus:chart-drawn').length === before) return null;
                times.push(performance.now() - t0);
                await new Promise(r => requestAnimationFrame(() => r()));
            }}
            return times;
        }})();"
    );
    let result = session.execute(&script, vec![]).await;
    result
        .as_array()
        .unwrap_or_else(|| panic!("a legend click redraws the chart: {result}"))
        .iter()
        .filter_map(Value::as_f64)
        .collect()
}

fn report(what: &str, values: &[f64], target: &str) {
    let max = values.iter().copied().fold(f64::NAN, f64::max);
    println!(
        "  {what:<28} median {:7.1} ms, max {max:7.1} ms over {} {target}",
        median(&mut values.to_vec()),
        values.len()
    );
}

#[tokio::main]
async fn main() {
    if !browser_available("console_chart") {
        return;
    }
    if !chorus::ui::is_built() {
        eprintln!("console_chart: the binary has no console: run `make frontend`, then the bench");
        return;
    }
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind the stub server");
    let address = listener.local_addr().expect("local address");
    tokio::spawn(async move {
        axum::serve(listener, stub_api())
            .await
            .expect("stub server");
    });

    let driver = ChromeDriver::start().await;
    let session = driver.session().await;
    let range_s = STEP_S * (POINTS - 1);
    let url = format!(
        "http://{address}/graph?g0.expr=bench_series&g0.tab=0&g0.range_input={range_s}s\
         &g0.step_input={STEP_S}&g0.end_input=2026-01-01%2000%3A00%3A00"
    );
    load_chart(&session, &url).await; // warm-up: compiles the wasm, fills caches
    let (mut responses, mut charts) = (Vec::new(), Vec::new());
    let (mut hovers, mut toggles) = (Vec::new(), Vec::new());
    for _ in 0..ROUNDS {
        let (response, chart) = load_chart(&session, &url).await;
        responses.push(response);
        charts.push(chart);
        hovers.extend(hover(&session).await);
        toggles.extend(toggle_series(&session).await);
    }
    session.close().await;
    println!(
        "console_chart: {SERIES} series x {POINTS} points, {ROUNDS} page loads in headless Chromium"
    );
    report("navigation -> response", &responses, "loads");
    report(
        "response -> chart drawn",
        &charts,
        "loads (target <= 300 ms)",
    );
    report("hover -> tooltip", &hovers, "moves (target <= 16 ms)");
    report("legend click -> redrawn", &toggles, "clicks");
}
