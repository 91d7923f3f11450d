//! Every spec in `examples/specs/` validates, compiles and runs on the input in its
//! `metadata.example_input`, and its final state holds `metadata.expected`. A spec that pauses
//! (a `human` node) is then resumed with `metadata.resume` and must end holding
//! `metadata.expected_after_resume`.

use std::path::{Path, PathBuf};

use axum::Router;
use axum::routing::get;
use serde_json::{Value, json};
use stategraph_core::{Command, RunConfig};
use stategraph_spec::{CompileContext, GraphSpec, Http, HttpPolicy, NodeKindRegistry, compile_in, validate_in};

fn examples() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/specs");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml" || e == "json"))
        .collect();
    files.sort();
    files
}

/// The ticket API `ticket_lookup.yaml` calls, and the quote API `retry_fallback.yaml` calls.
async fn ticket_api() -> String {
    let app = Router::new()
        .route(
            "/tickets/{id}",
            get(|axum::extract::Path(id): axum::extract::Path<String>| async move {
                (
                    [(axum::http::header::CONTENT_TYPE, "application/json")],
                    json!({"id": id, "status": "open"}).to_string(),
                )
            }),
        )
        // Down, for `retry_fallback.yaml`.
        .route(
            "/quotes/today",
            get(|| async { (axum::http::StatusCode::SERVICE_UNAVAILABLE, "down for maintenance") }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    port.to_string()
}

/// `expected` is contained in `actual`: objects key by key, anything else equal.
fn contains(actual: &Value, expected: &Value) -> bool {
    match (actual, expected) {
        (Value::Object(a), Value::Object(e)) => e.iter().all(|(k, v)| a.get(k).is_some_and(|x| contains(x, v))),
        _ => actual == expected,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_example_validates_compiles_and_runs() {
    let files = examples();
    assert!(files.len() >= 5, "{files:?}");
    let port = ticket_api().await;
    let mut registry = NodeKindRegistry::with_builtins();
    registry.register("http", Http::new(HttpPolicy::default().allow_host("127.0.0.1")));
    let mut resumed = 0;
    for file in files {
        let spec = GraphSpec::from_path(&file).unwrap_or_else(|p| panic!("{}: {p:?}", file.display()));
        let saver = std::sync::Arc::new(stategraph_checkpoint::InMemorySaver::new());
        let cx = CompileContext::new().with_path(&file).with_checkpointer(saver);
        let problems = validate_in(&spec, &registry, &cx);
        assert!(problems.is_empty(), "{}: {problems:?}", file.display());
        let graph = compile_in(&spec, &registry, &cx).unwrap();
        let input = spec.metadata["example_input"].to_string().replace("PORT", &port);
        let input: Value = serde_json::from_str(&input).unwrap();
        let out = graph
            .invoke(input, RunConfig::new().with_thread("example"))
            .await
            .unwrap_or_else(|e| panic!("{}: {e}", file.display()))
            .to_json();
        assert!(contains(&out, &spec.metadata["expected"]), "{}: got {out:#}", file.display());
        if let Some(answer) = spec.metadata.get("resume") {
            assert!(out.get("__interrupt__").is_some(), "{}: expected a pause, got {out:#}", file.display());
            let out = graph
                .invoke(Command::new().resume(answer.clone()), RunConfig::new().with_thread("example"))
                .await
                .unwrap_or_else(|e| panic!("{}: {e}", file.display()))
                .to_json();
            let expected = &spec.metadata["expected_after_resume"];
            assert!(contains(&out, expected), "{}: after resuming, got {out:#}", file.display());
            resumed += 1;
        }
    }
    assert!(resumed >= 1, "no example pauses and resumes");
}
