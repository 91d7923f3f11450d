//! Feature `otel`: with `OTEL_EXPORTER_OTLP_ENDPOINT` set, `init_logging_from_env` exports the
//! server's spans over OTLP/HTTP (protobuf) and `shutdown_telemetry` sends the last batch.
//!
//! The global subscriber reads the environment once per process, so the test runs itself again
//! as a child process (the ignored `otel_child` below) with the endpoint pointed at a local
//! collector, and checks what the collector received.

#![cfg(feature = "otel")]

mod support {
    pub mod http;
    pub mod probe_graphs;
}

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::routing::post;
use serde_json::json;

type Received = Arc<Mutex<Vec<(String, Bytes)>>>;

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle.as_bytes())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spans_of_a_run_reach_the_otlp_collector() {
    let received: Received = Arc::default();
    let app = Router::new()
        .route(
            "/v1/traces",
            post(|State(r): State<Received>, headers: HeaderMap, body: Bytes| async move {
                let ct = headers.get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
                r.lock().unwrap().push((ct, body));
                ([("content-type", "application/x-protobuf")], Bytes::new())
            }),
        )
        .with_state(received.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let endpoint = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });

    let child = tokio::process::Command::new(std::env::current_exe().unwrap())
        .args(["otel_child", "--exact", "--ignored", "--nocapture", "--test-threads=1"])
        .env("OTEL_EXPORTER_OTLP_ENDPOINT", &endpoint)
        .env_remove("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
        .env("OTEL_SERVICE_NAME", "stategraph-otel-test")
        .env("RUST_LOG", "info,stategraph_core=debug")
        .kill_on_drop(true)
        .output();
    let out = tokio::time::timeout(Duration::from_secs(120), child).await.expect("the child test finished").unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "child test failed:\n{stdout}\n{stderr}");
    let run_id = stdout
        .lines()
        .find_map(|l| l.split_once("RUN_ID=").map(|(_, id)| id))
        .unwrap_or_else(|| panic!("the child printed no run id:\n{stdout}\n{stderr}"))
        .trim()
        .to_owned();

    let received = received.lock().unwrap();
    assert!(!received.is_empty(), "the collector received nothing; child stderr:\n{stderr}");
    for (ct, _) in received.iter() {
        assert_eq!(ct, "application/x-protobuf");
    }
    let all: Vec<u8> = received.iter().flat_map(|(_, b)| b.iter().copied()).collect();
    // Protobuf strings are UTF-8 bytes in the body: span names, attribute values, the resource.
    for needle in [
        "stategraph-otel-test",
        "http.request",
        "stategraph.run",
        "stategraph.step",
        "stategraph.node",
        "simple",
        &run_id,
    ] {
        assert!(contains(&all, needle), "no {needle:?} in the {} exported bodies", received.len());
    }
}

/// Run by the test above in a child process (with the OTLP endpoint set): serve, run a graph,
/// stop, flush.
#[test]
#[ignore = "run by spans_of_a_run_reach_the_otlp_collector in a child process"]
fn otel_child() {
    assert!(std::env::var_os("OTEL_EXPORTER_OTLP_ENDPOINT").is_some(), "run by the parent test only");
    stategraph_server::init_logging_from_env();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let s = support::http::start().await;
        let t = s.thread().await;
        let (status, _) =
            s.post(&format!("/threads/{t}/runs/wait"), json!({"assistant_id": "simple", "input": {"log": []}})).await;
        assert_eq!(status, 200);
        let (_, runs) = s.get(&format!("/threads/{t}/runs")).await;
        println!("RUN_ID={}", runs[0]["run_id"].as_str().unwrap());
        s.server.shutdown().await.unwrap();
    });
    drop(runtime);
    stategraph_server::shutdown_telemetry();
}
