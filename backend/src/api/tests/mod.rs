//! Handler tests: every endpoint through `router()` with `oneshot`, over an in-memory store
//! that records the requests it gets, plus one test over a real listener. By concern:
//! `series` (the series endpoint and how store failures become API errors), `labels` (label
//! names and values), `grafana` (metric metadata, exemplars, rules, alerts and build info: the
//! calls Grafana's Prometheus data source makes beside queries), `stats` (query statistics and
//! native histograms in query answers), `syntax` (format_query, parse_query) and `server`
//! (status endpoints, probes, metrics, CORS and gzip, the route prefix, the real listener). This
//! file holds the shared fixtures.

mod fakes;
mod grafana;
mod labels;
mod query;
mod series;
mod server;
mod stats;
mod syntax;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode, header};
use fakes::{FakeEndpoints, FakeStore, Received, replicated_store};
use serde_json::{Value, json};
use tower::ServiceExt as _;

use super::*;
use crate::storeapi::SeriesRequest;
fn state(store: Arc<FakeStore>) -> ApiState {
    ApiState {
        store,
        query: Arc::new(fakes::FakeQueryEngine::default()),
        endpoints: Arc::new(FakeEndpoints { ready: true }),
        replica_labels: vec!["replica".into()],
        partial_response: PartialResponse::Warn,
        flags: BTreeMap::from([("query.replica-label".to_string(), "replica".to_string())]),
        metrics: Arc::new(Metrics::new()),
        query_timeout: Duration::from_secs(5),
        route_prefix: String::new(),
    }
}

fn app(store: Arc<FakeStore>) -> Router {
    router(state(store), None)
}

struct Answer {
    status: StatusCode,
    headers: HeaderMap,
    body: Vec<u8>,
}

impl Answer {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {:?}", String::from_utf8_lossy(&self.body)))
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

async fn send(router: Router, request: Request<Body>) -> Answer {
    let response = router.oneshot(request).await.expect("router is infallible");
    let (parts, body) = response.into_parts();
    let body = axum::body::to_bytes(body, usize::MAX)
        .await
        .expect("body completes")
        .to_vec();
    Answer {
        status: parts.status,
        headers: parts.headers,
        body,
    }
}

async fn get(router: Router, uri: &str) -> Answer {
    send(
        router,
        Request::get(uri)
            .body(Body::empty())
            .expect("valid request"),
    )
    .await
}

async fn post_form(router: Router, uri: &str, form: &str) -> Answer {
    let request = Request::post(uri)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(form.to_string()))
        .expect("valid request");
    send(router, request).await
}

fn series_requests(store: &FakeStore) -> Vec<SeriesRequest> {
    store
        .received()
        .into_iter()
        .filter_map(|r| match r {
            Received::Series(s) => Some(s),
            _ => None,
        })
        .collect()
}

fn assert_error(answer: &Answer, status: u16, error_type: &str, message: &str) {
    assert_eq!(answer.status.as_u16(), status, "{}", answer.text());
    let body = answer.json();
    assert_eq!(body["status"], "error");
    assert_eq!(body["errorType"], error_type);
    let error = body["error"].as_str().unwrap_or_default();
    assert!(
        error.contains(message),
        "{error:?} does not contain {message:?}"
    );
}
