//! `messages-tuple` and `messages` stream modes framed as LangGraph frames them (transcripts 039
//! and 040): tuples as `messages` events; `messages/metadata` once per message id, then
//! `messages/partial` with the message accumulated so far.

mod support {
    pub mod http;
    pub mod probe_graphs;
}

use serde_json::json;
use stategraph_core::{END, Map, NodeContext, NodeError, START, Schema, State, StateGraph};
use stategraph_server::{Database, ServerConfig};

/// A node streaming "echo: hi" in three chunks of one message, then returning it.
fn chat() -> StateGraph {
    let mut g = StateGraph::new(Schema::new().last_value("reply"));
    g.add_node("chat", |_s: State, ctx: NodeContext| async move {
        let chunks = ["echo:", " ", "hi"];
        for (i, c) in chunks.iter().enumerate() {
            let last = i == chunks.len() - 1;
            ctx.emit_message(
                json!({"content": c, "type": "AIMessageChunk", "id": "lc_run--m1", "additional_kwargs": {},
                       "response_metadata": {}, "name": null, "tool_calls": [], "invalid_tool_calls": [],
                       "usage_metadata": null, "tool_call_chunks": [],
                       "chunk_position": if last { json!("last") } else { json!(null) }}),
                Map::new(),
            );
        }
        Ok::<_, NodeError>(json!({"reply": "echo: hi"}))
    });
    g.add_edge(START, "chat").add_edge("chat", END);
    g
}

#[tokio::test]
async fn messages_tuple_and_messages_modes_are_framed_like_langgraph() {
    let s =
        support::http::start_with(ServerConfig::new().with_graph("chat", chat()).with_database(Database::Memory)).await;
    let t = s.thread().await;
    let (_, events, _) = s
        .stream(
            &format!("/threads/{t}/runs/stream"),
            json!({"assistant_id": "chat", "input": {}, "stream_mode": "messages-tuple"}),
        )
        .await;
    let names: Vec<&str> = events.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, vec!["metadata", "messages", "messages", "messages"]);
    assert_eq!(events[1].1[0]["content"], "echo:");
    assert_eq!(events[1].1[0]["type"], "AIMessageChunk");
    assert_eq!(events[1].1[1]["langgraph_node"], "chat");

    let (_, events, _) = s
        .stream(
            &format!("/threads/{t}/runs/stream"),
            json!({"assistant_id": "chat", "input": {}, "stream_mode": "messages"}),
        )
        .await;
    let names: Vec<&str> = events.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        vec!["metadata", "messages/metadata", "messages/partial", "messages/partial", "messages/partial"]
    );
    assert_eq!(events[1].1["lc_run--m1"]["metadata"]["langgraph_node"], "chat");
    let contents: Vec<&str> = events[2..].iter().map(|(_, d)| d[0]["content"].as_str().unwrap()).collect();
    assert_eq!(contents, vec!["echo:", "echo: ", "echo: hi"]);
    assert_eq!(events[4].1[0]["type"], "ai");
    assert!(events[4].1[0].get("tool_call_chunks").is_none());
}
