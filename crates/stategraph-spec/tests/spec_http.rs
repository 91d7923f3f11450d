//! `http` nodes against a real local server: success with templated URL, headers and body; a
//! host off the allow-list; a timeout; a response that is not JSON; a redirect off the list.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use axum::Router;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use serde_json::{Value, json};
use stategraph_core::RunConfig;
use stategraph_spec::{GraphSpec, Http, HttpPolicy, Limits, NodeKindRegistry, compile, validate};

const JSON: [(header::HeaderName, &str); 1] = [(header::CONTENT_TYPE, "application/json")];

/// Starts the test server on 127.0.0.1:0 and returns its address.
async fn server() -> SocketAddr {
    let app = Router::new()
        .route(
            "/tickets/{id}",
            get(|axum::extract::Path(id): axum::extract::Path<String>, headers: HeaderMap| async move {
                let token = headers.get("x-token").and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
                (JSON, json!({"id": id, "token": token, "status": "open"}).to_string())
            }),
        )
        .route(
            "/echo",
            post(|headers: HeaderMap, body: String| async move {
                let ct = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
                let parsed: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
                (JSON, json!({"content_type": ct, "body": parsed}).to_string())
            }),
        )
        .route(
            "/slow",
            get(|| async {
                tokio::time::sleep(Duration::from_secs(5)).await;
                (JSON, "{}")
            }),
        )
        .route("/text", get(|| async { ([(header::CONTENT_TYPE, "text/html")], "<h1>not json</h1>") }))
        .route("/broken", get(|| async { (StatusCode::INTERNAL_SERVER_ERROR, "boom").into_response() }))
        .route(
            "/redirect",
            get(|headers: HeaderMap| async move {
                // Same server, by a name the allow-list does not have.
                let host = headers.get(header::HOST).and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
                let port = host.rsplit(':').next().unwrap_or("").to_owned();
                (StatusCode::FOUND, [(header::LOCATION, format!("http://localhost:{port}/tickets/1"))]).into_response()
            }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    addr
}

fn spec(config: Value) -> GraphSpec {
    GraphSpec::from_json(
        &json!({
            "version": 1, "name": "http",
            "state": {"id": {"type": "string"}, "token": {"type": "string"}, "question": {"type": "string"},
                      "result": {}},
            "nodes": [{"id": "call", "kind": "http", "config": config}],
            "entry": "call",
            "edges": [{"source": "call", "target": "__end__"}]
        })
        .to_string(),
    )
    .unwrap()
}

fn registry(policy: HttpPolicy) -> NodeKindRegistry {
    let mut registry = NodeKindRegistry::with_builtins();
    registry.register("http", Http::new(policy));
    registry
}

fn local() -> NodeKindRegistry {
    registry(HttpPolicy::default().allow_host("127.0.0.1"))
}

async fn run(config: Value, registry: &NodeKindRegistry, input: Value) -> Result<Value, String> {
    let graph = compile(&spec(config), registry).map_err(|p| format!("{p:?}"))?;
    graph.invoke(input, RunConfig::default()).await.map(|v| v.to_json()).map_err(|e| e.to_string())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_get_with_templated_url_and_headers_writes_the_json_response() {
    let addr = server().await;
    let config = json!({
        "url": format!("http://{addr}/tickets/{{{{ id }}}}"),
        "headers": {"x-token": "t-{{ token }}"},
        "key": "result"
    });
    let out = run(config, &local(), json!({"id": "42", "token": "abc"})).await.unwrap();
    assert_eq!(out["result"], json!({"id": "42", "token": "t-abc", "status": "open"}));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_post_sends_the_rendered_body_as_json() {
    let addr = server().await;
    let config = json!({
        "method": "post", "url": format!("http://{addr}/echo"),
        "body": "{\"q\": {{ question | tojson }}}", "key": "result"
    });
    let out = run(config, &local(), json!({"question": "why \"so\"?"})).await.unwrap();
    assert_eq!(out["result"], json!({"content_type": "application/json", "body": {"q": "why \"so\"?"}}));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_host_off_the_allow_list_is_refused_before_sending() {
    let addr = server().await;
    let config = json!({"url": format!("http://localhost:{}/tickets/1", addr.port()), "key": "result"});
    let err = run(config.clone(), &local(), json!({"id": "1"})).await.unwrap_err();
    assert!(
        err.contains("http node `call`") && err.contains("host `localhost` is not allowed; allowed hosts: 127.0.0.1"),
        "{err}"
    );
    // The built-in registry allows no host at all.
    let err = run(config, &NodeKindRegistry::with_builtins(), json!({"id": "1"})).await.unwrap_err();
    assert!(err.contains("no host is allowed"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redirect_off_the_allow_list_is_refused() {
    let addr = server().await;
    let config = json!({"url": format!("http://{addr}/redirect"), "key": "result"});
    let err = run(config, &local(), json!({"id": "1"})).await.unwrap_err();
    assert!(err.contains("redirected to a URL that is not allowed"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_server_times_out() {
    let addr = server().await;
    let config = json!({"url": format!("http://{addr}/slow"), "timeout_ms": 300, "key": "result"});
    let start = Instant::now();
    let err = run(config, &local(), json!({"id": "1"})).await.unwrap_err();
    assert!(err.contains("timed out after 300 ms"), "{err}");
    assert!(start.elapsed() < Duration::from_secs(2), "{:?}", start.elapsed());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_response_that_is_not_json_is_an_error_saying_so() {
    let addr = server().await;
    let config = json!({"url": format!("http://{addr}/text"), "key": "result"});
    let err = run(config, &local(), json!({"id": "1"})).await.unwrap_err();
    assert!(err.contains("is not JSON (text/html)") && err.contains("<h1>not json</h1>"), "{err}");
    let config = json!({"url": format!("http://{addr}/broken"), "key": "result"});
    let err = run(config, &local(), json!({"id": "1"})).await.unwrap_err();
    assert!(err.contains("500 Internal Server Error"), "{err}");
}

#[test]
fn bad_configs_are_problems() {
    let problems = validate(
        &spec(
            json!({"method": "FETCH", "url": "http://x/{{ id", "headers": {"bad header": "v"}, "key": "nope", "timeout_ms": 999_999}),
        ),
        &local(),
        &Limits::default(),
    );
    let found: Vec<_> = problems.iter().map(|p| (p.code.as_str(), p.pointer.as_str())).collect();
    assert_eq!(
        found,
        [
            ("SP021", "/nodes/0/config/method"),
            ("SP022", "/nodes/0/config/url"),
            ("SP021", "/nodes/0/config/headers/bad header"),
            ("SP021", "/nodes/0/config/timeout_ms"),
            ("SP021", "/nodes/0/config/key"),
        ]
    );
}
