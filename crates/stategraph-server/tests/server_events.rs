//! The `events` stream mode against the transcript of a real LangGraph server (ex 038): the
//! graph's start, each task's start, stream and end, the graph's end.

mod support {
    pub mod http;
    pub mod probe_graphs;
}

use serde_json::{Value, json};

#[tokio::test]
async fn events_mode_follows_langgraphs_sequence_and_payloads() {
    let s = support::http::start().await;
    let t = s.thread().await;
    let body = json!({"assistant_id": "simple", "input": {"value": 1}, "stream_mode": "events"});
    let (_, events, _) = s.stream(&format!("/threads/{t}/runs/stream"), body).await;
    assert_eq!(events[0].0, "metadata");
    let events: Vec<&Value> = events.iter().filter(|(n, _)| n == "events").map(|(_, d)| d).collect();
    let seq: Vec<(String, String)> = events
        .iter()
        .map(|e| (e["event"].as_str().unwrap().to_owned(), e["name"].as_str().unwrap().to_owned()))
        .collect();
    let mut expected = vec![("on_chain_start".to_owned(), "simple".to_owned())];
    for node in ["step_a", "step_b", "step_c"] {
        for ev in ["on_chain_start", "on_chain_stream", "on_chain_end"] {
            expected.push((ev.to_owned(), node.to_owned()));
        }
    }
    expected.push(("on_chain_end".to_owned(), "simple".to_owned()));
    assert_eq!(seq, expected);

    let run_id = events[0]["run_id"].as_str().unwrap();
    assert_eq!(events[0]["data"], json!({"input": {"value": 1}}));
    assert_eq!(events[0]["parent_ids"], json!([]));
    assert_eq!(events[0]["metadata"]["graph_id"], "simple");
    assert_eq!(events[0]["metadata"]["thread_id"], t.as_str());
    // step_a: the state it read in, its update out, as in the transcript.
    assert_eq!(events[1]["data"], json!({"input": {"value": 1, "log": []}}));
    assert_eq!(events[1]["tags"], json!(["graph:step:1"]));
    assert_eq!(events[1]["parent_ids"], json!([run_id]));
    assert_eq!(events[1]["metadata"]["langgraph_node"], "step_a");
    assert_eq!(events[1]["metadata"]["langgraph_step"], 1);
    assert_eq!(events[1]["metadata"]["langgraph_triggers"], json!(["branch:to:step_a"]));
    assert_eq!(events[2]["data"], json!({"chunk": {"value": 2, "log": ["a"]}}));
    assert_eq!(events[3]["data"], json!({"output": {"value": 2, "log": ["a"]}, "input": {"value": 1, "log": []}}));
    assert_eq!(events[1]["run_id"], events[3]["run_id"], "a task's events share its run id");
    assert_ne!(events[1]["run_id"], events[4]["run_id"]);
    assert_eq!(events[10]["data"], json!({"output": {"value": 25, "log": ["a", "b", "c"]}}));
}

#[tokio::test]
async fn events_alongside_debug_keeps_both_and_events_alone_sends_no_debug() {
    let s = support::http::start().await;
    let t = s.thread().await;
    let body = json!({"assistant_id": "simple", "input": {"value": 1}, "stream_mode": ["events", "debug"]});
    let (_, both, _) = s.stream(&format!("/threads/{t}/runs/stream"), body).await;
    assert_eq!(both.iter().filter(|(n, _)| n == "events").count(), 11);
    assert!(both.iter().any(|(n, d)| n == "debug" && d["type"] == "task_result"));
    let body = json!({"assistant_id": "simple", "input": {"value": 1}, "stream_mode": "events"});
    let (_, alone, _) = s.stream(&format!("/threads/{t}/runs/stream"), body).await;
    assert!(alone.iter().all(|(n, _)| n == "metadata" || n == "events"), "{alone:?}");
}
