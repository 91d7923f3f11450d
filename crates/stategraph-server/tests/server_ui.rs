//! The embedded studio UI (feature `ui`): `/studio/` serves `index.html`, exact files with their
//! content type and cache policy, any other path under `/studio/` falls back to `index.html`, and
//! `/` redirects there. The UI routes need no token; the API still does.
#![cfg(feature = "ui")]

mod support {
    pub mod http;
    pub mod probe_graphs;
}

use stategraph_server::{Database, ServerConfig};
use support::http::start_with;

fn no_redirects() -> reqwest::Client {
    reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap()
}

#[tokio::test]
async fn the_ui_is_served_at_studio_with_spa_fallback() {
    let config = ServerConfig::new().with_database(Database::Memory).with_ui(true).with_auth_token("t0ken");
    let s = start_with(config).await;
    let client = no_redirects();

    let r = client.get(format!("{}/", s.base)).send().await.unwrap();
    assert!(r.status().is_redirection(), "{}", r.status());
    assert_eq!(r.headers()["location"], "/studio/");
    let r = client.get(format!("{}/studio", s.base)).send().await.unwrap();
    assert_eq!(r.headers()["location"], "/studio/");

    let r = client.get(format!("{}/studio/", s.base)).send().await.unwrap();
    assert_eq!(r.status(), 200, "the page needs no token");
    assert_eq!(r.headers()["content-type"], "text/html; charset=utf-8");
    assert_eq!(r.headers()["cache-control"], "no-cache");
    let index = r.text().await.unwrap();
    assert!(index.to_ascii_lowercase().contains("<html"), "{index}");

    // A client-side route gets the same page.
    let r = client.get(format!("{}/studio/graphs/triage", s.base)).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.text().await.unwrap(), index);
    // A missing hashed asset is a 404, not the page.
    let r = client.get(format!("{}/studio/assets/nope-123.js", s.base)).send().await.unwrap();
    assert_eq!(r.status(), 404);

    // Every asset the page references is served with a matching type and a long cache.
    for src in index.split('"').filter(|p| p.starts_with("./assets/")) {
        let r = client.get(format!("{}/studio/{}", s.base, &src[2..])).send().await.unwrap();
        assert_eq!(r.status(), 200, "{src}");
        let ct = r.headers()["content-type"].to_str().unwrap().to_owned();
        if src.ends_with(".js") {
            assert!(ct.starts_with("text/javascript"), "{src}: {ct}");
        } else if src.ends_with(".css") {
            assert!(ct.starts_with("text/css"), "{src}: {ct}");
        }
        assert_eq!(r.headers()["cache-control"], "public, max-age=31536000, immutable");
    }

    // The API keeps its token check.
    assert_eq!(client.get(format!("{}/stategraph/info", s.base)).send().await.unwrap().status(), 401);
    let r = client.get(format!("{}/stategraph/info", s.base)).header("x-api-key", "t0ken").send().await.unwrap();
    let info: serde_json::Value = r.json().await.unwrap();
    assert_eq!(info["ui"], true);
}

#[tokio::test]
async fn without_ui_the_root_is_not_redirected() {
    let s = start_with(ServerConfig::new().with_database(Database::Memory)).await;
    let r = no_redirects().get(format!("{}/", s.base)).send().await.unwrap();
    assert_eq!(r.status(), 404);
    let r = no_redirects().get(format!("{}/studio/", s.base)).send().await.unwrap();
    assert_eq!(r.status(), 404);
}
