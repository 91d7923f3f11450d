//! The `messages` stream mode: message chunks a node streams, and messages a node returns that
//! were not streamed, each with LangGraph's task metadata.

use futures::StreamExt;
use stategraph::prelude::*;
use stategraph::{Map, sync_node};

fn schema() -> Schema {
    Schema::new().key("messages", ChannelSpec::reducer(Reducer::extend()))
}

async fn messages(graph: &CompiledGraph, config: RunConfig) -> Vec<Value> {
    let mut s = graph.stream(value!({"messages": []}), config, StreamOptions::mode(StreamMode::Messages));
    let mut out = Vec::new();
    while let Some(ev) = s.next().await {
        out.push(ev.unwrap().data);
    }
    out
}

#[tokio::test]
async fn streamed_chunks_are_not_repeated_and_returned_messages_are_streamed_whole() {
    let mut g = StateGraph::new(schema());
    g.add_node(
        "model",
        sync_node(|_s: State, ctx: NodeContext| {
            assert!(ctx.streams_messages());
            let mut extra = Map::new();
            extra.insert("ls_provider".into(), Value::from("test"));
            for token in ["Hel", "lo"] {
                ctx.emit_message(value!({"type": "AIMessageChunk", "content": token, "id": "m1"}), extra.clone());
            }
            Ok::<Value, NodeError>(value!({"messages": [{"type": "ai", "content": "Hello", "id": "m1"}]}))
        }),
    );
    g.add_node(
        "tool",
        sync_node(|_s: State, _c: NodeContext| {
            Ok::<Value, NodeError>(
                value!({"messages": [{"type": "tool", "content": "42", "tool_call_id": "c1"}], "other": 1}),
            )
        }),
    );
    g.add_edge(START, "model");
    g.add_edge("model", "tool");
    g.add_edge("tool", END);
    let graph = g.compile().unwrap();
    let events = messages(&graph, RunConfig::new()).await;
    assert_eq!(events.len(), 3, "{events:?}");
    assert_eq!(events[0][0]["content"], Value::from("Hel"));
    assert_eq!(events[1][0]["content"], Value::from("lo"));
    let meta = &events[0][1];
    assert_eq!(meta["langgraph_node"], Value::from("model"));
    assert_eq!(meta["langgraph_step"], Value::from(1));
    assert_eq!(meta["langgraph_triggers"], value!(["branch:to:model"]));
    assert_eq!(meta["langgraph_path"], value!(["__pregel_pull", "model"]));
    assert_eq!(meta["ls_provider"], Value::from("test"));
    assert!(meta["langgraph_checkpoint_ns"].as_str().unwrap().starts_with("model:"));
    assert_eq!(meta["checkpoint_ns"], meta["langgraph_checkpoint_ns"]);
    // As in LangGraph, a returned message has `checkpoint_ns` only inside a subgraph.
    assert!(events[2][1].get("checkpoint_ns").is_none(), "{:?}", events[2][1]);
    // The tool's message was not streamed by the node: it is streamed whole, with an id.
    assert_eq!(events[2][0]["type"], Value::from("tool"));
    assert!(events[2][0]["id"].as_str().is_some_and(|id| !id.is_empty()));
    assert_eq!(events[2][1]["langgraph_node"], Value::from("tool"));
    assert_eq!(events[2][1]["ls_integration"], Value::from("langgraph"));
}

#[tokio::test]
async fn nothing_is_built_when_messages_are_not_streamed() {
    let mut g = StateGraph::new(schema());
    g.add_node(
        "model",
        sync_node(|_s: State, ctx: NodeContext| {
            assert!(!ctx.streams_messages());
            ctx.emit_message(value!({"type": "AIMessageChunk", "content": "x"}), Map::new());
            Ok::<Value, NodeError>(value!({"messages": [{"type": "ai", "content": "x"}]}))
        }),
    );
    g.add_edge(START, "model");
    g.add_edge("model", END);
    let graph = g.compile().unwrap();
    let mut s = graph.stream(value!({"messages": []}), RunConfig::new(), StreamOptions::mode(StreamMode::Updates));
    let mut n = 0;
    while let Some(ev) = s.next().await {
        assert_eq!(ev.unwrap().mode, StreamMode::Updates);
        n += 1;
    }
    assert_eq!(n, 1);
}

/// The id the stream shows for a message a node returned without one is the id the state keeps.
#[tokio::test]
async fn a_returned_message_keeps_the_id_it_was_streamed_with() {
    let mut g = StateGraph::new(schema());
    g.add_node(
        "tool",
        sync_node(|_s: State, _c: NodeContext| {
            Ok::<Value, NodeError>(value!({"messages": [{"type": "tool", "content": "42", "tool_call_id": "c1"}]}))
        }),
    );
    g.add_edge(START, "tool");
    g.add_edge("tool", END);
    let graph = g.compile().unwrap();
    let mut s = graph.stream(
        value!({"messages": [{"type": "human", "content": "hi", "id": "h1"}]}),
        RunConfig::new(),
        StreamOptions::modes([StreamMode::Messages, StreamMode::Values]),
    );
    let (mut streamed, mut last_values) = (Vec::new(), Value::Null);
    while let Some(ev) = s.next().await {
        let ev = ev.unwrap();
        match ev.mode {
            StreamMode::Messages => streamed.push(ev.data[0].clone()),
            _ => last_values = ev.data,
        }
    }
    assert_eq!(streamed.len(), 1, "the input message is not streamed: {streamed:?}");
    assert_eq!(last_values["messages"][1]["id"], streamed[0]["id"]);
}
