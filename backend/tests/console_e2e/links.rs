//! Shareable links and where the console is served: URL state restored in a fresh browser,
//! Thanos-format links, a route prefix, and a reverse proxy that strips its path.

use std::time::Duration;

use crate::browser::testid;
use crate::common::ChorusProcess;
use crate::console::{
    EXPR, P0, Tab, execute, graph_link, navigate, switch_tab, wait_for_drawn_chart,
    wait_for_expression, wait_for_series,
};
use crate::fixture::{Fixture, series_counts, start_or_skip, wait_for_stores};
use crate::query::executed_on_the_table;

#[tokio::test]
async fn url_state_restores_in_a_fresh_session() {
    let fixture = start_or_skip!("url_state_restores_in_a_fresh_session");
    let (session, _, both) = executed_on_the_table(&fixture).await;
    // A state that differs from every default: dedup off, graph tab (each step executed
    // explicitly, so that this test is about the URL only).
    session.click(&P0.at("dedup")).await;
    session.click(&P0.at("execute")).await;
    wait_for_series(&session, P0, both, true).await;
    switch_tab(&session, P0, Tab::Graph).await;
    session.click(&P0.at("execute")).await;
    wait_for_drawn_chart(&session, P0, 100).await;
    let url = session
        .wait_for_url("the URL records the panel", |url| {
            url.contains("g0.expr=") && url.contains("g0.deduplicate=0") && url.contains("g0.tab=0")
        })
        .await;
    session.close().await;

    let fresh = fixture.open_url(&url).await;
    wait_for_expression(&fresh, P0, EXPR).await;
    assert!(
        !fresh.is_checked(&P0.at("dedup")).await,
        "dedup restored as off: {url}"
    );
    wait_for_series(&fresh, P0, both, false).await;
    wait_for_drawn_chart(&fresh, P0, 100).await;
    assert!(
        fresh.is_displayed(&P0.at("chart")).await,
        "graph tab restored: {url}"
    );
    assert!(
        !fresh.is_displayed(&P0.at("result-table")).await,
        "graph tab restored: {url}"
    );
    fresh.close().await;
}

#[tokio::test]
async fn thanos_format_link_opens_the_same_query() {
    let fixture = start_or_skip!("thanos_format_link_opens_the_same_query");
    let (_, both) = series_counts(&fixture.demo.http, EXPR).await;
    let link = graph_link(&[
        ("g0.expr", EXPR),
        ("g0.tab", "1"),
        ("g0.deduplicate", "0"),
        ("g0.partial_response", "0"),
        ("g0.range_input", "2h"),
    ]);
    let session = fixture.open(&link).await;
    wait_for_expression(&session, P0, EXPR).await;
    assert!(
        !session.is_checked(&P0.at("dedup")).await,
        "g0.deduplicate=0"
    );
    assert!(
        !session.is_checked(&P0.at("partial-response")).await,
        "g0.partial_response=0"
    );
    // The link runs its query, without dedup: both replicas' series, without a click.
    wait_for_series(&session, P0, both, true).await;
    let table = session.text(&P0.at("result-table")).await;
    for replica in ["prometheus_replica=\"a\"", "prometheus_replica=\"b\""] {
        assert!(
            table.contains(replica),
            "{replica} missing from the table: {table}"
        );
    }
    // The graph tab's range comes from the link too.
    switch_tab(&session, P0, Tab::Graph).await;
    assert_eq!(session.value(&P0.at("range-input")).await, "2h");
    session.close().await;
}

/// Runs [`EXPR`] on the table tab of the console at `base`, expecting `series`, then follows
/// the Stores link, which must stay under `base`.
async fn query_then_stores_under(
    fixture: &Fixture,
    base: &str,
    series: usize,
) -> crate::browser::Session {
    let session = fixture.open_url(&format!("{base}/graph")).await;
    execute(&session, P0, Tab::Table, EXPR).await;
    wait_for_series(&session, P0, series, true).await;
    navigate(&session, "nav-stores", &format!("{base}/stores")).await;
    session
}

#[tokio::test]
async fn console_works_under_a_route_prefix() {
    let fixture = start_or_skip!("console_works_under_a_route_prefix");
    // A querier under /chorus over the demo's own StoreAPI.
    let mut querier = ChorusProcess::start(
        "query",
        &[
            format!("--store={}", fixture.demo.grpc),
            "--web.route-prefix=/chorus".to_string(),
        ],
    );
    querier.wait_ready(Duration::from_secs(30)).await;
    let base = format!("{}/chorus", querier.http);
    wait_for_stores(&base, 1).await;
    let (deduplicated, _) = series_counts(&base, EXPR).await;

    let session = query_then_stores_under(&fixture, &base, deduplicated).await;
    assert_eq!(session.text(&testid("store-status")).await.trim(), "UP");
    assert_eq!(
        session.text(&testid("store-endpoint")).await.trim(),
        fixture.demo.grpc.to_string()
    );
    session.close().await;
}

/// A reverse proxy that serves `upstream` under [`PROXY_PREFIX`] and strips it on the way, as
/// `kubectl proxy` or an ingress rule would: the server never learns the prefix, so the console
/// must take it from the page's location. Returns the proxy's base URL.
async fn path_stripping_proxy(upstream: String) -> String {
    use axum::body::Bytes;
    use axum::response::{IntoResponse, Response};
    use http::{HeaderMap, Method, StatusCode, Uri, header};

    async fn forward(
        axum::extract::State(upstream): axum::extract::State<String>,
        method: Method,
        uri: Uri,
        headers: HeaderMap,
        body: Bytes,
    ) -> Response {
        let rest = uri.path().strip_prefix(PROXY_PREFIX).unwrap_or("/");
        let query = uri.query().map(|q| format!("?{q}")).unwrap_or_default();
        let mut request = reqwest::Client::new()
            .request(method, format!("{upstream}{rest}{query}"))
            .body(body);
        if let Some(content_type) = headers.get(header::CONTENT_TYPE) {
            request = request.header(header::CONTENT_TYPE, content_type);
        }
        let Ok(answer) = request.send().await else {
            return StatusCode::BAD_GATEWAY.into_response();
        };
        let status = answer.status();
        let content_type = answer.headers().get(header::CONTENT_TYPE).cloned();
        let body = answer.bytes().await.unwrap_or_default();
        let mut response = (status, body).into_response();
        if let Some(content_type) = content_type {
            response
                .headers_mut()
                .insert(header::CONTENT_TYPE, content_type);
        }
        response
    }

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind the proxy");
    let address = listener.local_addr().expect("proxy address");
    let app = axum::Router::new()
        .route(
            &format!("{PROXY_PREFIX}/{{*rest}}"),
            axum::routing::any(forward),
        )
        .with_state(upstream);
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    format!("http://{address}{PROXY_PREFIX}")
}

/// Where [`path_stripping_proxy`] mounts the demo.
const PROXY_PREFIX: &str = "/proxy/chorus";

#[tokio::test]
async fn console_works_behind_a_path_stripping_proxy() {
    let fixture = start_or_skip!("console_works_behind_a_path_stripping_proxy");
    let base = path_stripping_proxy(fixture.demo.http.clone()).await;
    let (deduplicated, _) = series_counts(&base, EXPR).await;

    let session = query_then_stores_under(&fixture, &base, deduplicated).await;
    session.wait_for_count(&testid("store-row"), 2).await;
    session.close().await;
}
