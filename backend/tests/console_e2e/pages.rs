//! The Stores and Status pages, the theme toggle, and the README's screenshots.

use crate::browser::DEFAULT_TIMEOUT;
use crate::browser::testid;
use crate::console::{P0, graph_link, navigate, theme, wait_for_drawn_chart, wait_for_series};
use crate::fixture::{get_json, repo_root, series_counts, start_or_skip};

#[tokio::test]
async fn stores_page_lists_the_demo_replicas_as_up() {
    let fixture = start_or_skip!("stores_page_lists_the_demo_replicas_as_up");
    let stores = get_json(&fixture.url("/api/v1/stores")).await;
    let mut endpoints: Vec<String> = stores["data"]["sidecar"]
        .as_array()
        .expect("sidecars")
        .iter()
        .map(|s| s["name"].as_str().unwrap_or_default().to_string())
        .collect();
    endpoints.sort();

    let session = fixture.open("/stores").await;
    let rows = session
        .wait_for_count(&testid("store-row"), endpoints.len())
        .await;
    let mut shown = Vec::new();
    for row in rows {
        let cell = |id: &'static str| {
            let row = row.clone();
            async move {
                row.find(fantoccini::Locator::Css(&testid(id)))
                    .await
                    .unwrap_or_else(|e| panic!("`{id}` in a store-row: {e}"))
                    .text()
                    .await
                    .expect("text")
            }
        };
        let endpoint = cell("store-endpoint").await;
        assert_eq!(cell("store-status").await.trim(), "UP", "{endpoint}");
        let labels = cell("store-labels").await;
        assert!(
            labels.contains("prometheus_replica") && labels.contains("cluster"),
            "{endpoint}: {labels}"
        );
        shown.push(endpoint.trim().to_string());
    }
    shown.sort();
    assert_eq!(shown, endpoints);
    assert!(session.all(&testid("no-stores")).await.is_empty());

    // The filter box narrows the list to the matching endpoint.
    session.press(&testid("store-filter"), &endpoints[1]).await;
    session.wait_for_count(&testid("store-row"), 1).await;
    assert_eq!(
        session.text(&testid("store-endpoint")).await.trim(),
        endpoints[1]
    );
    session.close().await;
}

#[tokio::test]
async fn status_page_shows_build_info_and_flags() {
    let fixture = start_or_skip!("status_page_shows_build_info_and_flags");
    let flags = get_json(&fixture.url("/api/v1/status/flags")).await;
    let replica_label = flags["data"]["query.replica-label"]
        .as_str()
        .expect("the replica label flag")
        .to_string();
    let session = fixture.open("/graph").await;
    navigate(&session, "nav-status", &fixture.url("/status")).await;
    session
        .wait_for_text(&testid("flags"), |t| {
            t.contains("query.replica-label") && t.contains(&replica_label)
        })
        .await;
    let version = get_json(&fixture.url("/api/v1/status/buildinfo")).await["data"]["version"]
        .as_str()
        .expect("a version")
        .to_string();
    session
        .wait_for_text(&testid("build-info"), |t| t.contains(&version))
        .await;
    navigate(&session, "nav-graph", &fixture.url("/graph")).await;
    session.wait_for(&P0.at("expr")).await;
    session.close().await;
}

#[tokio::test]
async fn themes_and_screenshots() {
    let fixture = start_or_skip!("themes_and_screenshots");
    let update = std::env::var_os("CHORUS_UPDATE_SCREENSHOTS").is_some_and(|v| v == "1");
    let folder = repo_root().join("docs/screenshots");
    let expr = "rate(http_requests_total[5m])";
    let (deduplicated, _) = series_counts(&fixture.demo.http, expr).await;
    let link = graph_link(&[("g0.expr", expr), ("g0.tab", "0"), ("g0.range_input", "6h")]);
    let session = fixture.open(&link).await;
    wait_for_series(&session, P0, deduplicated, false).await;
    wait_for_drawn_chart(&session, P0, 500).await;
    let first = theme(&session).await;
    assert!(first == "light" || first == "dark", "data-theme {first:?}");
    for _ in 0..2 {
        let before = theme(&session).await;
        if update {
            session
                .save_screenshot(&folder.join(format!("graph-{before}.png")))
                .await;
        }
        session.click(&testid("theme-toggle")).await;
        session
            .wait_until("the other theme", DEFAULT_TIMEOUT, || async {
                let now = theme(&session).await;
                if now != before && (now == "light" || now == "dark") {
                    Ok(())
                } else {
                    Err(now)
                }
            })
            .await;
        wait_for_drawn_chart(&session, P0, 500).await;
    }
    assert_eq!(theme(&session).await, first, "two toggles lead back");

    navigate(&session, "nav-stores", &fixture.url("/stores")).await;
    session.wait_for_count(&testid("store-row"), 2).await;
    if update {
        session.save_screenshot(&folder.join("stores.png")).await;
    }
    session.close().await;
}
