//! Retry policies with a fallback (`error_key`), on `examples/specs/retry_fallback.yaml` against a
//! local quote API that fails a chosen number of times: a flaky API is retried and the live route
//! taken; an API that stays down, or answers an error not worth retrying, leads to the fallback
//! route with the error in state; and every attempt is a real request.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use axum::Router;
use axum::http::StatusCode;
use axum::routing::get;
use serde_json::{Value, json};
use stategraph_core::{NodeError, RunConfig, State};
use stategraph_spec::{ConfigError, GraphSpec, Http, HttpPolicy, NodeKind, NodeKindRegistry, compile};

/// The quote API: the first `failures` requests answer `status`, the rest a quote. Returns the
/// base URL and the request counter.
async fn quotes(failures: u32, status: StatusCode) -> (String, Arc<AtomicU32>) {
    let calls = Arc::new(AtomicU32::new(0));
    let counter = calls.clone();
    let app = Router::new().route(
        "/quotes/today",
        get(move || {
            let n = counter.fetch_add(1, Ordering::SeqCst) + 1;
            async move {
                if n <= failures {
                    (status, "{}".to_owned())
                } else {
                    (StatusCode::OK, json!({"text": format!("live quote after {n} calls")}).to_string())
                }
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://127.0.0.1:{port}"), calls)
}

fn example() -> GraphSpec {
    GraphSpec::from_path(concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/specs/retry_fallback.yaml")).unwrap()
}

async fn run(failures: u32, status: StatusCode) -> (Value, u32) {
    let (base, calls) = quotes(failures, status).await;
    let mut registry = NodeKindRegistry::with_builtins();
    registry.register("http", Http::new(HttpPolicy::default().allow_host("127.0.0.1")));
    let graph = compile(&example(), &registry).unwrap();
    let out = graph.invoke(json!({"api_base": base}), RunConfig::default()).await.unwrap().to_json();
    (out, calls.load(Ordering::SeqCst))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flaky_api_is_retried_and_the_live_route_taken() {
    let started = Instant::now();
    let (out, calls) = run(2, StatusCode::SERVICE_UNAVAILABLE).await;
    assert_eq!(calls, 3);
    assert_eq!(out["text"], "live quote after 3 calls", "{out}");
    // Success clears the error key.
    assert_eq!(out["fetch_error"], Value::Null, "{out}");
    // The backoff waited 0.05 s, then 0.1 s.
    assert!(started.elapsed() >= Duration::from_millis(150), "{:?}", started.elapsed());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_api_that_stays_down_leads_to_the_fallback_with_the_error() {
    let (out, calls) = run(u32::MAX, StatusCode::SERVICE_UNAVAILABLE).await;
    assert_eq!(calls, 3, "max_attempts: 3");
    assert_eq!(out["text"], "Simplicity is prerequisite for reliability. (cached)", "{out}");
    let error = out["fetch_error"].as_str().unwrap();
    assert!(error.starts_with("HTTPError: http node `fetch`") && error.contains("503"), "{error}");
    assert_eq!(out.get("quote"), None, "{out}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_error_not_worth_retrying_falls_back_at_once() {
    let (out, calls) = run(u32::MAX, StatusCode::NOT_FOUND).await;
    assert_eq!(calls, 1, "a 404 is not retried");
    assert!(out["fetch_error"].as_str().unwrap().contains("404"), "{out}");
    assert_eq!(out["text"], "Simplicity is prerequisite for reliability. (cached)");
}

/// A node kind that fails its first `n` calls (counted across the test), then writes `done`.
struct FailsFirst(Arc<AtomicU32>, u32);

impl NodeKind for FailsFirst {
    fn validate(&self, _config: &serde_json::Map<String, Value>, _spec: &GraphSpec) -> Vec<ConfigError> {
        Vec::new()
    }

    fn build(
        &self,
        _id: &str,
        _config: &serde_json::Map<String, Value>,
    ) -> Result<stategraph_core::BoxNode, ConfigError> {
        let (calls, n) = (self.0.clone(), self.1);
        Ok(Arc::new(move |_s: State, _c| {
            let call = calls.fetch_add(1, Ordering::SeqCst) + 1;
            async move { if call <= n { Err(NodeError::new(format!("failure {call}"))) } else { Ok(json!({"done": true})) } }
        }))
    }
}

#[tokio::test]
async fn without_error_key_the_run_fails_and_with_it_the_error_is_state() {
    let doc = |error_key: Option<&str>| {
        let mut retry = json!({"max_attempts": 2, "initial_interval": 0.0, "jitter": false});
        if let Some(k) = error_key {
            retry["error_key"] = json!(k);
        }
        GraphSpec::from_json(
            &json!({
                "version": 1, "name": "f",
                "state": {"done": {"type": "boolean"}, "err": {}},
                "nodes": [{"id": "work", "kind": "flaky"}],
                "entry": "work",
                "edges": [{"source": "work", "target": "__end__"}],
                "retry": {"work": retry}
            })
            .to_string(),
        )
        .unwrap()
    };
    let calls = Arc::new(AtomicU32::new(0));
    let mut registry = NodeKindRegistry::with_builtins();
    registry.register("flaky", FailsFirst(calls.clone(), 5));
    let err = compile(&doc(None), &registry).unwrap().invoke(json!({}), RunConfig::default()).await.unwrap_err();
    assert!(err.to_string().contains("failure 2"), "{err}");
    let out = compile(&doc(Some("err")), &registry).unwrap().invoke(json!({}), RunConfig::default()).await.unwrap();
    assert_eq!(out.to_json(), json!({"err": "Exception: failure 4"}));
    assert_eq!(calls.load(Ordering::SeqCst), 4);
    // An undeclared key is a problem at the policy.
    let mut bad = doc(Some("err"));
    bad.retry.get_mut("work").unwrap().error_key = Some("nope".into());
    let problems = compile(&bad, &registry).unwrap_err();
    assert_eq!((problems[0].code.as_str(), problems[0].pointer.as_str()), ("SP015", "/retry/work/error_key"));
}

#[test]
fn the_python_export_retries_in_the_node_and_keeps_the_error() {
    let export = example().to_python(&NodeKindRegistry::with_builtins(), &Default::default()).unwrap();
    let code = &export.code;
    assert!(code.contains("def node_fetch_with_fallback(state: State):"), "{code}");
    assert!(code.contains("builder.add_node(\"fetch\", node_fetch_with_fallback)"), "{code}");
    assert!(code.contains("return {\"fetch_error\": f\"{type(error).__name__}: {error}\"}"), "{code}");
    assert!(code.contains("time.sleep(min(0.05 * 2.0 ** (attempt - 1), 128.0))"), "{code}");
}
