//! Running queries on the graph page: the table tab, dedup on and off, errors, the editor's
//! Enter and Shift+Enter, and the table's evaluation time.

use shared::timefmt::format_utc;

use crate::browser::Session;
use crate::common::form_encode;
use crate::console::{
    EXPR, P0, Tab, enter, execute, series_count, shift, type_expression, wait_for_param,
    wait_for_series,
};
use crate::fixture::{Fixture, get_json, instant_query, series_counts, start_or_skip};

/// Opens the graph page, types [`EXPR`] and executes it on the table tab; returns the session
/// and the API's series counts (deduplicated, both replicas).
pub async fn executed_on_the_table(fixture: &Fixture) -> (Session, usize, usize) {
    let (deduplicated, both) = series_counts(&fixture.demo.http, EXPR).await;
    assert_eq!(both, 2 * deduplicated, "two replicas");
    let session = fixture.open("/graph").await;
    assert!(
        session.is_checked(&P0.at("dedup")).await,
        "dedup is on by default"
    );
    execute(&session, P0, Tab::Table, EXPR).await;
    wait_for_series(&session, P0, deduplicated, true).await;
    let load_time = session.text(&P0.at("load-time")).await;
    assert!(
        load_time.chars().any(|c| c.is_ascii_digit()),
        "{load_time:?}"
    );
    (session, deduplicated, both)
}

#[tokio::test]
async fn unticking_dedup_doubles_the_series_and_ticking_restores_them() {
    let fixture = start_or_skip!("unticking_dedup_doubles_the_series_and_ticking_restores_them");
    let (session, deduplicated, both) = executed_on_the_table(&fixture).await;
    // As in Thanos, the checkbox alone re-runs the query.
    session.click(&P0.at("dedup")).await;
    assert!(!session.is_checked(&P0.at("dedup")).await);
    wait_for_series(&session, P0, both, true).await;
    session.click(&P0.at("dedup")).await;
    assert!(session.is_checked(&P0.at("dedup")).await);
    wait_for_series(&session, P0, deduplicated, true).await;
    session.close().await;
}

#[tokio::test]
async fn invalid_expression_shows_the_error() {
    let fixture = start_or_skip!("invalid_expression_shows_the_error");
    let bad = "sum(rate(up[5m])";
    let answer = get_json(&format!(
        "{}/api/v1/query?query={}",
        fixture.demo.http,
        form_encode(bad)
    ))
    .await;
    let api_error = answer["error"]
        .as_str()
        .expect("an error message")
        .to_string();
    let session = fixture.open("/graph").await;
    type_expression(&session, P0, bad).await;
    session.click(&P0.at("execute")).await;
    let shown = session
        .wait_for_text(&P0.at("error"), |t| t.contains("parse error"))
        .await;
    // The API's own message, position included, reaches the page (the UI may drop the
    // `invalid parameter "query": ` lead-in).
    let detail = api_error
        .rsplit_once("\"query\": ")
        .map_or(api_error.as_str(), |(_, rest)| rest);
    assert!(detail.contains("parse error"), "{api_error}");
    assert!(shown.contains(detail), "page {shown:?}, API {api_error:?}");
    assert!(
        session
            .all(&format!("{} tbody tr", P0.at("result-table")))
            .await
            .is_empty()
    );
    session.close().await;
}

#[tokio::test]
async fn enter_executes_and_shift_enter_adds_a_line() {
    let fixture = start_or_skip!("enter_executes_and_shift_enter_adds_a_line");
    let (first, second) = ("sum by (job) (", "up)");
    let expr = format!("{first}\n{second}");
    let (expected, _) = series_counts(&fixture.demo.http, &expr).await;
    let session = fixture.open("/graph").await;
    session.click(&P0.at("tab-table")).await;
    type_expression(&session, P0, first).await;
    session
        .press(&P0.at("expr"), &format!("{}{}", shift(), enter()))
        .await;
    session.press(&P0.at("expr"), second).await;
    // Shift+Enter made a new line and ran nothing (the first line alone is an error).
    assert_eq!(session.value(&P0.at("expr")).await, expr);
    assert_eq!(series_count(&session, P0).await, None);
    assert!(session.all(&P0.at("error")).await.is_empty());

    session.press(&P0.at("expr"), &enter().to_string()).await;
    wait_for_series(&session, P0, expected, true).await;
    assert_eq!(
        session.value(&P0.at("expr")).await,
        expr,
        "Enter runs the query and adds no line"
    );
    wait_for_param(&session, "g0.expr", |v| v == Some(expr.as_str())).await;
    assert!(session.all(&P0.at("error")).await.is_empty());
    session.close().await;
}

#[tokio::test]
async fn evaluation_time_picker_sets_the_result_time() {
    let fixture = start_or_skip!("evaluation_time_picker_sets_the_result_time");
    // `time()` answers the evaluation time itself, in seconds.
    let expr = "time()";
    let session = fixture.open("/graph").await;
    execute(&session, P0, Tab::Table, expr).await;
    wait_for_series(&session, P0, 1, true).await;
    let table = P0.at("result-table");
    let now_s = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("after 1970")
        .as_secs();
    let before = session.text(&table).await;

    // An hour ago, on a whole second, typed as UTC (the browser's zone is not UTC).
    let moment_ms = (now_s as i64 - 3600) * 1000;
    let moment = format_utc(moment_ms);
    let answer = instant_query(&fixture.demo.http, expr, true, Some(moment_ms)).await;
    let expected = answer["result"][1]
        .as_str()
        .unwrap_or_else(|| panic!("a scalar: {answer}"))
        .to_string();
    assert!(
        !before.contains(&expected),
        "{before:?} already shows {expected}"
    );
    session.set_value(&P0.at("moment-input"), &moment).await;
    wait_for_param(&session, "g0.moment_input", |v| v == Some(moment.as_str())).await;
    session
        .wait_for_text(&table, |t| t.contains(&expected))
        .await;
    assert_eq!(session.value(&P0.at("moment-input")).await, moment);
    session.close().await;
}
