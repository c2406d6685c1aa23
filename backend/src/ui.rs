//! Serves the web console: the trunk-built `frontend/dist`, embedded into the binary.
//!
//! The console is a single-page application, so every path that is not a file of `dist` and has
//! no `api` segment gets `index.html` (`/`, `/graph`, `/stores`, `/status`, `/flags`, ...,
//! `/graph/a/b`), and the console's router picks the page. The API router mounts [`router`] as
//! its fallback.
//!
//! Deep paths: `index.html` names its assets relatively (`./chorus-frontend-<hash>.js`), so a
//! page opened at `/graph/a/b` asks for `/graph/a/chorus-frontend-<hash>.js`. A file path that is
//! not in `dist` is therefore looked up again by its last segment, which makes the console load
//! under any unknown path or reverse-proxy prefix without a flag (the console then finds the
//! API's prefix itself; see `shared::ui_path::prefix_candidates`). `dist` is flat, so the last
//! segment is enough.
//!
//! Embedding: rust-embed compiles the files in for release builds and reads them from
//! `frontend/dist` at run time in debug builds (`cargo test`, `cargo run`). The folder may be
//! missing (`allow_missing`): a fresh clone compiles without a built console, and then the
//! binary answers every console path with a short page saying how to build it (`make build`).
//! `backend/build.rs` makes cargo rebuild a release binary when `dist` changes.
//!
//! Caching: trunk names the wasm and JS files after a hash of their content, so those are
//! `immutable` for a year; everything else, `index.html` included, is revalidated on each use
//! through its `ETag` (the SHA-256 rust-embed records).
//!
//! This module knows nothing of the API or of the console's routes beyond the rule above.

use std::borrow::Cow;
use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use rust_embed::RustEmbed;

/// The trunk output, embedded (see the module doc for debug builds and a missing folder).
#[derive(RustEmbed)]
#[folder = "../frontend/dist"]
#[allow_missing = true]
struct Dist;

/// The page served for console paths when the binary was built without the console.
const NOT_BUILT_PAGE: &str = "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
<title>Chorus</title></head><body><h1>Chorus</h1>\
<p>The web console is not built into this binary. Run <code>make build</code> (or \
<code>trunk build --release</code>, then rebuild the binary).</p>\
<p>The HTTP API works without it: <a href=\"api/v1/stores\">api/v1/stores</a>.</p></body></html>\n";

/// `Cache-Control` of files whose name carries a content hash.
const IMMUTABLE: &str = "public, max-age=31536000, immutable";
/// `Cache-Control` of everything else: reuse only after revalidating the `ETag`.
const REVALIDATE: &str = "no-cache";

/// One file of the console.
#[derive(Debug, Clone)]
struct Asset {
    bytes: Cow<'static, [u8]>,
    sha256: [u8; 32],
}

/// Where the console's files come from: the embedded `dist`, or a fixed set in tests.
trait AssetSource: Send + Sync + 'static {
    /// The file at `path` (relative, no leading slash), if there is one.
    fn get(&self, path: &str) -> Option<Asset>;
}

/// The embedded trunk output.
struct Embedded;

impl AssetSource for Embedded {
    fn get(&self, path: &str) -> Option<Asset> {
        Dist::get(path).map(|file| Asset {
            sha256: file.metadata.sha256_hash(),
            bytes: file.data,
        })
    }
}

/// The console's router: serves every path it is given (mount it as a fallback).
pub fn router() -> Router {
    router_with(Embedded)
}

/// Whether this binary carries a built console (`index.html` is present).
pub fn is_built() -> bool {
    Embedded.get(INDEX).is_some()
}

fn router_with(assets: impl AssetSource) -> Router {
    let assets: Arc<dyn AssetSource> = Arc::new(assets);
    Router::new().fallback(serve).with_state(assets)
}

const INDEX: &str = "index.html";

/// What a request path asks for.
#[derive(Debug, PartialEq, Eq)]
enum Target<'a> {
    /// A file of `dist`, or the SPA shell when no such file exists and the path is a route.
    File(&'a str),
    /// A console route: serve `index.html`.
    Route,
    /// Not the console's: API paths, missing files, paths trying to leave `dist`.
    NotFound,
}

/// Classifies a request path (`/`-prefixed, not percent-decoded).
fn target(path: &str) -> Target<'_> {
    let relative = path.trim_start_matches('/');
    if relative.is_empty() {
        return Target::Route;
    }
    let segments = || relative.split('/');
    // `api` anywhere: an API path (possibly under a prefix the console guessed wrong), never
    // the HTML shell, so that a wrong guess fails as a 404 rather than as unparsable JSON.
    if segments().any(|s| s == "api")
        || segments().any(|s| s == ".." || s == ".")
        || relative.contains('\\')
    {
        return Target::NotFound;
    }
    let last = segments().next_back().unwrap_or_default();
    // A path whose last segment has an extension names a file; anything else is a route.
    if last.contains('.') {
        Target::File(relative)
    } else {
        Target::Route
    }
}

async fn serve(
    State(assets): State<Arc<dyn AssetSource>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    if method != Method::GET && method != Method::HEAD {
        return (
            StatusCode::METHOD_NOT_ALLOWED,
            [(header::ALLOW, "GET, HEAD")],
            "method not allowed\n",
        )
            .into_response();
    }
    let response = match target(uri.path()) {
        Target::NotFound => not_found(),
        Target::File(path) => match lookup(assets.as_ref(), path) {
            Some((name, asset)) => file_response(name, asset, &headers),
            // The file may be a route that happens to contain a dot only if it is not a known
            // file type; serving HTML in place of a missing script would only confuse browsers.
            None => not_found(),
        },
        Target::Route => match assets.get(INDEX) {
            Some(asset) => file_response(INDEX, asset, &headers),
            None => not_built(),
        },
    };
    if method == Method::HEAD {
        let (parts, _) = response.into_parts();
        return Response::from_parts(parts, Body::empty());
    }
    response
}

/// The file at `path`, or else the file named by its last segment (a relative asset URL
/// resolved under a deep path; see the module doc), with the name it was found under.
fn lookup<'a>(assets: &dyn AssetSource, path: &'a str) -> Option<(&'a str, Asset)> {
    if let Some(asset) = assets.get(path) {
        return Some((path, asset));
    }
    let (_, last) = path.rsplit_once('/')?;
    assets.get(last).map(|asset| (last, asset))
}

fn file_response(path: &str, asset: Asset, request: &HeaderMap) -> Response {
    let etag = etag(&asset.sha256);
    let cache = if is_content_hashed(path) {
        IMMUTABLE
    } else {
        REVALIDATE
    };
    let mut response = if if_none_match(request, &etag) {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        let mime = mime_guess::from_path(path).first_or_octet_stream();
        let mut response = Body::from(asset.bytes).into_response();
        if let Ok(value) = HeaderValue::from_str(mime.as_ref()) {
            response.headers_mut().insert(header::CONTENT_TYPE, value);
        }
        response
    };
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    if let Ok(value) = HeaderValue::from_str(&etag) {
        headers.insert(header::ETAG, value);
    }
    response
}

fn not_found() -> Response {
    (
        StatusCode::NOT_FOUND,
        [(header::CACHE_CONTROL, REVALIDATE)],
        "404 page not found\n",
    )
        .into_response()
}

fn not_built() -> Response {
    (
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        NOT_BUILT_PAGE,
    )
        .into_response()
}

/// A strong validator from the first 16 bytes of the SHA-256.
fn etag(sha256: &[u8; 32]) -> String {
    let hex: String = sha256[..16].iter().map(|b| format!("{b:02x}")).collect();
    format!("\"{hex}\"")
}

/// Whether `If-None-Match` lists `etag` (or is `*`).
fn if_none_match(request: &HeaderMap, etag: &str) -> bool {
    request
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|v| v.trim().trim_start_matches("W/"))
        .any(|v| v == etag || v == "*")
}

/// Whether the file name carries trunk's content hash: `name-<hex>.ext` or `name-<hex>_bg.wasm`
/// (trunk's `hashed_wasm_base`: the crate name, a dash, a 64-bit hash in lowercase hex).
fn is_content_hashed(path: &str) -> bool {
    let name = path.rsplit('/').next().unwrap_or(path);
    let Some((stem, _ext)) = name.split_once('.') else {
        return false;
    };
    let stem = stem.strip_suffix("_bg").unwrap_or(stem);
    let Some((_, hash)) = stem.rsplit_once('-') else {
        return false;
    };
    (8..=16).contains(&hash.len())
        && hash
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use axum::body::to_bytes;
    use http::Request;
    use tower::ServiceExt;

    use super::*;

    const INDEX_HTML: &str = "<!DOCTYPE html><title>console</title>";

    /// A fixed set of files, as trunk would lay them out.
    struct Files(HashMap<&'static str, &'static [u8]>);

    impl AssetSource for Files {
        fn get(&self, path: &str) -> Option<Asset> {
            self.0.get(path).map(|bytes| Asset {
                bytes: Cow::Borrowed(*bytes),
                sha256: sha(bytes),
            })
        }
    }

    /// A stand-in digest: tests need only that different contents give different tags.
    fn sha(bytes: &[u8]) -> [u8; 32] {
        let mut out = [0u8; 32];
        for (i, b) in bytes.iter().enumerate() {
            out[i % 32] = out[i % 32].wrapping_mul(31).wrapping_add(*b);
        }
        out
    }

    fn built() -> Router {
        router_with(Files(HashMap::from([
            ("index.html", INDEX_HTML.as_bytes()),
            (
                "chorus-frontend-1a2b3c4d5e6f7081.js",
                b"export default 1;".as_slice(),
            ),
            (
                "chorus-frontend-1a2b3c4d5e6f7081_bg.wasm",
                b"\0asm\x01\0\0\0".as_slice(),
            ),
            ("favicon.svg", b"<svg/>".as_slice()),
        ])))
    }

    async fn get(app: Router, path: &str) -> (StatusCode, HeaderMap, String) {
        request(
            app,
            Request::get(path)
                .body(Body::empty())
                .expect("valid request"),
        )
        .await
    }

    async fn request(app: Router, request: Request<Body>) -> (StatusCode, HeaderMap, String) {
        let response = app.oneshot(request).await.expect("infallible service");
        let (parts, body) = response.into_parts();
        let bytes = to_bytes(body, 1 << 20).await.expect("small body");
        (
            parts.status,
            parts.headers,
            String::from_utf8_lossy(&bytes).into_owned(),
        )
    }

    #[tokio::test]
    async fn console_routes_get_the_index() {
        for path in [
            "/",
            "/graph",
            "/stores",
            "/status",
            "/flags",
            "/some/deep/route",
        ] {
            let (status, headers, body) = get(built(), path).await;
            assert_eq!(status, StatusCode::OK, "{path}");
            assert_eq!(body, INDEX_HTML, "{path}");
            assert_eq!(headers[header::CONTENT_TYPE], "text/html", "{path}");
            assert_eq!(headers[header::CACHE_CONTROL], REVALIDATE, "{path}");
        }
    }

    #[tokio::test]
    async fn hashed_files_are_immutable_with_their_content_type() {
        let (status, headers, _) = get(built(), "/chorus-frontend-1a2b3c4d5e6f7081_bg.wasm").await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(headers[header::CONTENT_TYPE], "application/wasm");
        assert_eq!(headers[header::CACHE_CONTROL], IMMUTABLE);
        let (status, headers, body) = get(built(), "/chorus-frontend-1a2b3c4d5e6f7081.js").await;
        assert_eq!(status, StatusCode::OK);
        assert!(
            headers[header::CONTENT_TYPE]
                .to_str()
                .unwrap_or_default()
                .contains("javascript")
        );
        assert_eq!(body, "export default 1;");
        let (_, headers, _) = get(built(), "/favicon.svg").await;
        assert_eq!(headers[header::CONTENT_TYPE], "image/svg+xml");
        assert_eq!(headers[header::CACHE_CONTROL], REVALIDATE);
    }

    #[tokio::test]
    async fn api_paths_missing_files_and_escapes_are_not_found() {
        for path in [
            "/api/v1/nope",
            "/api",
            "/missing.js",
            "/graph/../index.html",
            "/a\\b",
        ] {
            let (status, _, body) = get(built(), path).await;
            assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
            assert!(!body.contains("console"), "{path} served the index");
        }
    }

    #[tokio::test]
    async fn unknown_deep_paths_get_the_index_and_their_relative_assets() {
        for path in ["/graph/a/b", "/prefix/x/y/z", "/graph/a/b/"] {
            let (status, _, body) = get(built(), path).await;
            assert_eq!(
                (status, body.as_str()),
                (StatusCode::OK, INDEX_HTML),
                "{path}"
            );
        }
        // `./chorus-frontend-<hash>.js` resolved under `/prefix/x/y/z` and `/graph/a/b`.
        for path in [
            "/prefix/x/y/chorus-frontend-1a2b3c4d5e6f7081.js",
            "/graph/a/chorus-frontend-1a2b3c4d5e6f7081.js",
        ] {
            let (status, headers, body) = get(built(), path).await;
            assert_eq!(status, StatusCode::OK, "{path}");
            assert_eq!(body, "export default 1;", "{path}");
            assert_eq!(headers[header::CACHE_CONTROL], IMMUTABLE, "{path}");
        }
        let (status, headers, _) =
            get(built(), "/a/b/c/chorus-frontend-1a2b3c4d5e6f7081_bg.wasm").await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(headers[header::CONTENT_TYPE], "application/wasm");
        // Still no escape and no invented files.
        for path in [
            "/x/y/missing.js",
            "/x/../favicon.svg",
            "/x/y/api/v1/status/buildinfo",
        ] {
            assert_eq!(get(built(), path).await.0, StatusCode::NOT_FOUND, "{path}");
        }
    }

    #[tokio::test]
    async fn api_segments_under_any_prefix_are_not_the_console() {
        for path in ["/graph/a/api/v1/query", "/p/api", "/p/q/api/v1/labels"] {
            let (status, _, body) = get(built(), path).await;
            assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
            assert!(!body.contains("console"), "{path} served the index");
        }
    }

    #[tokio::test]
    async fn etag_revalidation_answers_not_modified() {
        let (_, headers, _) = get(built(), "/graph").await;
        let etag = headers[header::ETAG].clone();
        let req = Request::get("/stores")
            .header(header::IF_NONE_MATCH, etag)
            .body(Body::empty())
            .expect("valid");
        let (status, _, body) = request(built(), req).await;
        assert_eq!(status, StatusCode::NOT_MODIFIED);
        assert!(body.is_empty());
        let req = Request::get("/")
            .header(header::IF_NONE_MATCH, "\"other\"")
            .body(Body::empty())
            .expect("valid");
        assert_eq!(request(built(), req).await.0, StatusCode::OK);
    }

    #[tokio::test]
    async fn head_has_headers_without_body_and_post_is_refused() {
        let req = Request::head("/graph").body(Body::empty()).expect("valid");
        let (status, headers, body) = request(built(), req).await;
        assert_eq!((status, body.as_str()), (StatusCode::OK, ""));
        assert_eq!(headers[header::CONTENT_TYPE], "text/html");
        let req = Request::post("/graph").body(Body::empty()).expect("valid");
        let (status, headers, _) = request(built(), req).await;
        assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
        assert_eq!(headers[header::ALLOW], "GET, HEAD");
    }

    #[tokio::test]
    async fn without_a_built_console_routes_explain_how_to_build_it() {
        let app = router_with(Files(HashMap::new()));
        let (status, headers, body) = get(app, "/graph").await;
        assert_eq!(status, StatusCode::OK);
        assert!(body.contains("make build"), "{body}");
        assert_eq!(headers[header::CACHE_CONTROL], "no-store");
    }

    #[tokio::test]
    async fn the_embedded_console_or_the_not_built_page_is_served() {
        let (status, headers, body) = get(router(), "/graph").await;
        assert_eq!(status, StatusCode::OK);
        assert!(
            headers[header::CONTENT_TYPE]
                .to_str()
                .unwrap_or_default()
                .starts_with("text/html")
        );
        assert_eq!(is_built(), !body.contains("not built"), "{body}");
    }

    #[test]
    fn content_hash_is_recognised_in_trunk_names_only() {
        assert!(is_content_hashed("chorus-frontend-9f86d081884c7d65.js"));
        assert!(is_content_hashed(
            "chorus-frontend-9f86d081884c7d65_bg.wasm"
        ));
        assert!(!is_content_hashed("index.html"));
        assert!(!is_content_hashed("chorus-frontend.js"));
        assert!(!is_content_hashed("style-XYZ.css"));
    }
}
