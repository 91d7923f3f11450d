//! Logs are linked: a run's span is a child of the request that started it, and the engine's run,
//! step and node spans are children of the run's (so JSON log lines carry `run_id`, `thread_id`
//! and the request's method and path).

mod support {
    pub mod http;
    pub mod probe_graphs;
}

use std::sync::{Arc, Mutex};

use serde_json::{Value, json};
use support::http::start;
use tracing_subscriber::fmt::format::FmtSpan;

#[derive(Clone, Default)]
struct Buffer(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Buffer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

// One thread: the subscriber below is this thread's default, and the server's tasks run here too.
#[tokio::test(flavor = "current_thread")]
async fn json_logs_link_engine_spans_to_the_run_and_the_request() {
    let buffer = Buffer::default();
    let writer = buffer.clone();
    let subscriber = tracing_subscriber::fmt()
        .json()
        .with_span_list(true)
        .with_span_events(FmtSpan::CLOSE)
        .with_env_filter("info")
        .with_writer(move || writer.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let s = start().await;
    let t = s.thread().await;
    let (status, _) =
        s.post(&format!("/threads/{t}/runs/wait"), json!({"assistant_id": "simple", "input": {"log": []}})).await;
    assert_eq!(status, 200);
    let (_, runs) = s.get(&format!("/threads/{t}/runs")).await;
    let run_id = runs[0]["run_id"].as_str().unwrap().to_owned();

    let text = String::from_utf8(buffer.0.lock().unwrap().clone()).unwrap();
    let lines: Vec<Value> = text.lines().map(|l| serde_json::from_str(l).expect(l)).collect();
    // The engine's run span closing, with the chain of spans above it.
    let node = lines
        .iter()
        .find(|l| {
            l["span"]["name"] == "stategraph.run"
                && l["spans"]
                    .as_array()
                    .is_some_and(|spans| spans.iter().any(|s| s["name"] == "run" && s["run_id"] == run_id.as_str()))
        })
        .unwrap_or_else(|| panic!("no engine span under the run's span in:\n{text}"));
    let spans = node["spans"].as_array().unwrap();
    assert_eq!(spans[0]["name"], "http.request", "{node}");
    assert_eq!(spans[0]["method"], "POST");
    assert_eq!(spans[0]["path"], format!("/threads/{t}/runs/wait"));
    let run = spans.iter().find(|s| s["name"] == "run").unwrap();
    assert_eq!(run["thread_id"], t.as_str());
    assert_eq!(run["graph_id"], "simple");
}
