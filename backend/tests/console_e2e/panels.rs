//! Several panels on the graph page: adding, duplicating and removing them, each kept in the
//! URL as `gN.*`.

use crate::browser::testid;
use crate::console::{
    EXPR, P0, Panel, Tab, execute, url_param, wait_for_expression, wait_for_param, wait_for_series,
};
use crate::fixture::{series_counts, start_or_skip};

/// The second panel.
const P1: Panel = Panel(1);

#[tokio::test]
async fn panels_are_added_duplicated_and_removed() {
    let fixture = start_or_skip!("panels_are_added_duplicated_and_removed");
    let (deduplicated, both) = series_counts(&fixture.demo.http, EXPR).await;
    let session = fixture.open("/graph").await;
    let panels = testid("panel");
    session.wait_for_count(&panels, 1).await;
    execute(&session, P0, Tab::Table, EXPR).await;
    wait_for_series(&session, P0, deduplicated, true).await;

    // A new panel is empty, and in the URL as g1.
    session.click(&testid("add-panel")).await;
    session.wait_for_count(&panels, 2).await;
    assert_eq!(session.value(&P1.at("expr")).await, "");
    assert_eq!(session.value(&P0.at("expr")).await, EXPR);
    let url = wait_for_param(&session, &P1.param("expr"), |v| v == Some("")).await;
    assert_eq!(url_param(&url, &P0.param("expr")).as_deref(), Some(EXPR));
    session.click(&P1.at("remove-panel")).await;
    session.wait_for_count(&panels, 1).await;
    wait_for_param(&session, &P1.param("expr"), |v| v.is_none()).await;

    // A duplicate has the same expression and options, runs, and is in the URL as g1.
    session.click(&P0.at("dedup")).await;
    wait_for_series(&session, P0, both, true).await;
    session.click(&P0.at("duplicate-panel")).await;
    session.wait_for_count(&panels, 2).await;
    wait_for_expression(&session, P1, EXPR).await;
    assert!(!session.is_checked(&P1.at("dedup")).await, "dedup copied");
    wait_for_series(&session, P1, both, true).await;
    let url = wait_for_param(&session, &P1.param("expr"), |v| v == Some(EXPR)).await;
    for option in ["tab", "deduplicate", "partial_response"] {
        assert_eq!(
            url_param(&url, &P1.param(option)),
            url_param(&url, &P0.param(option)),
            "{option} copied: {url}"
        );
    }

    // The panels are independent: dedup back on in the first leaves the copy as it is.
    session.click(&P0.at("dedup")).await;
    wait_for_series(&session, P0, deduplicated, true).await;
    wait_for_param(&session, &P0.param("deduplicate"), |v| v == Some("1")).await;
    assert_eq!(
        url_param(&session.url().await, &P1.param("deduplicate")).as_deref(),
        Some("0")
    );

    // Removing the first panel leaves the copy, now g0.
    session.click(&P0.at("remove-panel")).await;
    session.wait_for_count(&panels, 1).await;
    let url = wait_for_param(&session, &P1.param("expr"), |v| v.is_none()).await;
    assert_eq!(
        url_param(&url, &P0.param("deduplicate")).as_deref(),
        Some("0")
    );
    assert!(!session.is_checked(&P0.at("dedup")).await);
    wait_for_series(&session, P0, both, true).await;
    session.close().await;
}
