//! Everything around the handlers: the JSON 404, status endpoints, probes, request metrics, CORS
//! and gzip, the route prefix with the console fallback, and serving over a real listener.

use tokio_util::sync::CancellationToken;

use super::*;

#[tokio::test]
async fn unknown_api_path_is_json_404() {
    assert_error(
        &get(app(Arc::new(FakeStore::default())), "/api/v1/nope").await,
        404,
        "not_found",
        "/api/v1/nope",
    );
}

#[tokio::test]
async fn stores_buildinfo_and_flags() {
    let store = Arc::new(FakeStore::default());
    let stores = get(app(store.clone()), "/api/v1/stores").await;
    assert_eq!(
        stores.json(),
        json!({"status": "success", "data": {"sidecar": [{
            "name": "127.0.0.1:10901", "lastCheck": "2026-01-01T00:00:00.000000001Z", "lastError": null,
            "labelSets": [{"replica": "a"}], "minTime": 1000, "maxTime": 2000,
        }]}})
    );
    let build = get(app(store.clone()), "/api/v1/status/buildinfo")
        .await
        .json();
    let version = build["data"]["version"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert_eq!(
        version
            .split('.')
            .filter(|p| p.parse::<u32>().is_ok())
            .count(),
        3,
        "{version}"
    );
    for key in ["revision", "branch", "buildUser", "buildDate", "goVersion"] {
        assert!(build["data"][key].is_string(), "{key} missing in {build}");
    }
    let flags = get(app(store), "/api/v1/status/flags").await;
    assert_eq!(
        flags.json(),
        json!({"status": "success", "data": {"query.replica-label": "replica"}})
    );
}

#[tokio::test]
async fn probes() {
    let store = Arc::new(FakeStore::default());
    assert_eq!(
        get(app(store.clone()), "/-/healthy").await.status,
        StatusCode::OK
    );
    assert_eq!(
        get(app(store.clone()), "/-/ready").await.status,
        StatusCode::OK
    );
    let mut not_ready = state(store);
    not_ready.endpoints = Arc::new(FakeEndpoints { ready: false });
    assert_eq!(
        get(router(not_ready, None), "/-/ready").await.status,
        StatusCode::SERVICE_UNAVAILABLE
    );
}

#[tokio::test]
async fn requests_are_counted_by_route_and_code() {
    let state = state(Arc::new(replicated_store()));
    let metrics = Arc::clone(&state.metrics);
    let app = router(state, None);
    get(app.clone(), "/api/v1/label/job/values").await;
    get(app.clone(), "/api/v1/series").await;
    assert_eq!(
        metrics.count(Protocol::Http, "/api/v1/label/{name}/values"),
        1
    );
    let text = get(app, "/metrics").await.text();
    assert!(
        text.contains("chorus_http_requests_total{handler=\"/api/v1/series\",code=\"400\"} 1"),
        "{text}"
    );
}

#[tokio::test]
async fn cors_and_gzip() {
    let request = Request::get("/api/v1/series?match[]=up")
        .header(header::ORIGIN, "http://example.com")
        .header(header::ACCEPT_ENCODING, "gzip")
        .body(Body::empty())
        .expect("valid request");
    let answer = send(app(Arc::new(replicated_store())), request).await;
    assert_eq!(
        answer
            .headers
            .get(header::ACCESS_CONTROL_ALLOW_ORIGIN)
            .map(|v| v.as_bytes()),
        Some(&b"*"[..])
    );
    assert_eq!(
        answer
            .headers
            .get(header::CONTENT_ENCODING)
            .map(|v| v.as_bytes()),
        Some(&b"gzip"[..])
    );
    assert_eq!(&answer.body[..2], &[0x1f, 0x8b], "gzip magic");

    let preflight = Request::options("/api/v1/labels")
        .header(header::ORIGIN, "http://example.com")
        .header(header::ACCESS_CONTROL_REQUEST_METHOD, "POST")
        .body(Body::empty())
        .expect("valid request");
    let answer = send(app(Arc::new(FakeStore::default())), preflight).await;
    assert_eq!(answer.status, StatusCode::OK);
    let methods = answer
        .headers
        .get(header::ACCESS_CONTROL_ALLOW_METHODS)
        .map(|v| v.to_str().unwrap_or_default().to_string());
    assert!(methods.is_some_and(|m| m.contains("POST")));
}

#[tokio::test]
async fn route_prefix_and_console_fallback() {
    let mut state = state(Arc::new(replicated_store()));
    state.route_prefix = "/thanos/".into();
    let ui = Router::new().fallback(|| async { "console" });
    let app = router(state, Some(ui));
    assert_eq!(
        get(app.clone(), "/thanos/api/v1/labels").await.json()["data"],
        json!(["__name__", "job", "replica"])
    );
    assert_eq!(
        get(app.clone(), "/api/v1/labels").await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(get(app.clone(), "/thanos/graph").await.text(), "console");
    assert_error(
        &get(app.clone(), "/thanos/api/v1/nope").await,
        404,
        "not_found",
        "/thanos/api/v1/nope",
    );
    assert_eq!(get(app.clone(), "/-/healthy").await.status, StatusCode::OK);
    let root = get(app, "/").await;
    assert_eq!(root.status, StatusCode::FOUND);
    assert_eq!(
        root.headers.get(header::LOCATION).map(|v| v.as_bytes()),
        Some(&b"/thanos/"[..])
    );
}

#[tokio::test]
async fn serves_over_a_real_listener_until_shutdown() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind loopback");
    let address = listener.local_addr().expect("bound address");
    let shutdown = CancellationToken::new();
    let server = tokio::spawn(serve(
        listener,
        app(Arc::new(replicated_store())),
        shutdown.clone(),
    ));

    let client = reqwest::Client::new();
    let response = client
        .post(format!("http://{address}/api/v1/series"))
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body("match[]=up&dedup=true")
        .send()
        .await
        .expect("request succeeds");
    assert_eq!(response.status(), 200);
    let body: Value = serde_json::from_slice(&response.bytes().await.expect("body")).expect("JSON");
    assert_eq!(
        body["data"],
        json!([{"__name__": "up", "job": "api"}, {"__name__": "up", "job": "db"}])
    );

    shutdown.cancel();
    let finished = tokio::time::timeout(Duration::from_secs(5), server)
        .await
        .expect("stops after shutdown");
    assert!(matches!(finished, Ok(Ok(()))), "{finished:?}");
}
