//! The studio's web UI, embedded at compile time by `build.rs` (feature `ui`), served at
//! `/studio/`: exact files with their content type, `index.html` for any other path under
//! `/studio/` (the UI routes on the client), and `GET /` redirected to `/studio/`.
//!
//! Vite names the files under `assets/` by content hash, so they are cached for a year as
//! immutable; `index.html` is revalidated every time, so a new build is picked up at once.
//! These routes are outside the token check: the page itself holds no data, and the browser
//! cannot send a token for a page load (the UI then asks for one on its Connect screen).
//!
//! Why the server crate holds the embedding (behind a feature) rather than the CLI: the routes,
//! the auth exemption and the `/` redirect belong with the router, so `stategraph dev` and any
//! application serving [`router`](crate::router) with `ui` set get the same behaviour; the
//! feature keeps the UI bytes out of binaries that only want the API (the desktop app serves the
//! same bundle itself, from Tauri's custom protocol).

use axum::Router;
use axum::extract::Path;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;

include!(concat!(env!("OUT_DIR"), "/ui_files.rs"));

/// Whether a real UI (not the placeholder page) was embedded.
pub(crate) fn built() -> bool {
    BUILT
}

/// The UI routes, for merging into the app outside the auth layer.
pub(crate) fn routes() -> Router {
    Router::new()
        .route("/", get(|| async { Redirect::temporary("/studio/") }))
        .route("/studio", get(|| async { Redirect::permanent("/studio/") }))
        .route("/studio/", get(|| async { file("index.html") }))
        .route("/studio/{*path}", get(|Path(path): Path<String>| async move { file(&path) }))
}

fn lookup(path: &str) -> Option<&'static [u8]> {
    FILES.iter().find(|(p, _)| *p == path).map(|(_, bytes)| *bytes)
}

fn file(path: &str) -> Response {
    if let Some(bytes) = lookup(path) {
        return respond(path, bytes);
    }
    // A missing asset is a 404 (serving the page as a script would only confuse the browser);
    // any other path is a client-side route of the single-page app.
    if path.starts_with("assets/") {
        return crate::error::detail(StatusCode::NOT_FOUND, format!("no UI file `{path}`"));
    }
    match lookup("index.html") {
        Some(bytes) => respond("index.html", bytes),
        None => crate::error::detail(StatusCode::NOT_FOUND, "the UI is not embedded in this build"),
    }
}

fn respond(path: &str, bytes: &'static [u8]) -> Response {
    let cache = if path.starts_with("assets/") { "public, max-age=31536000, immutable" } else { "no-cache" };
    let mut res = (StatusCode::OK, bytes).into_response();
    let headers = res.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type(path)));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    res
}

/// The content type of a file of a Vite build, by extension.
fn content_type(path: &str) -> &'static str {
    let ext = path.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase()).unwrap_or_default();
    match ext.as_str() {
        "html" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "json" | "map" => "application/json",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "ico" => "image/x-icon",
        "woff" => "font/woff",
        "woff2" => "font/woff2",
        "ttf" => "font/ttf",
        "wasm" => "application/wasm",
        "txt" => "text/plain; charset=utf-8",
        "webmanifest" => "application/manifest+json",
        _ => "application/octet-stream",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_types_by_extension() {
        assert_eq!(content_type("assets/index-AbC123.js"), "text/javascript; charset=utf-8");
        assert_eq!(content_type("assets/index-AbC123.CSS"), "text/css; charset=utf-8");
        assert_eq!(content_type("index.html"), "text/html; charset=utf-8");
        assert_eq!(content_type("favicon.svg"), "image/svg+xml");
        assert_eq!(content_type("LICENSE"), "application/octet-stream");
    }

    #[test]
    fn an_index_page_is_always_embedded() {
        assert!(lookup("index.html").is_some_and(|b| !b.is_empty()));
    }
}
