//! The `messages` stream mode against Python LangGraph 1.2.24: the same ReAct loop (a model node
//! that streams fixed chunks, a tool node with `add`) streamed the same ways must yield the same
//! events — chunk for chunk, with the same metadata. Fixtures: `parity/record_stream.py`.

use std::sync::Arc;

use futures::StreamExt;
use serde_json::{Value as Json, json};
use stategraph_core::{END, RunConfig, START, StateGraph, StreamMode, StreamOptions};
use stategraph_prebuilt::{
    MessageChunk, MessagesState, ReactAgent, ScriptedModel, Tool, ToolCallChunk, ToolError, tool_fn,
};

const FIXTURE: &str = include_str!("parity/fixtures/stream_messages.json");

#[derive(serde::Deserialize, schemars::JsonSchema)]
struct Add {
    a: i64,
    b: i64,
}

fn chunks(turn: &Json) -> Vec<MessageChunk> {
    turn.as_array()
        .unwrap()
        .iter()
        .map(|c| MessageChunk {
            content: c["content"].as_str().unwrap_or_default().to_owned(),
            tool_call_chunks: c["tool_call_chunks"]
                .as_array()
                .map(|t| {
                    t.iter()
                        .map(|t| ToolCallChunk {
                            index: t["index"].as_u64().map(|i| i as usize),
                            id: t["id"].as_str().map(str::to_owned),
                            name: t["name"].as_str().map(str::to_owned),
                            args: t["args"].as_str().unwrap_or_default().to_owned(),
                        })
                        .collect()
                })
                .unwrap_or_default(),
            ..MessageChunk::default()
        })
        .collect()
}

fn graph(case: &Json) -> stategraph_core::CompiledGraph {
    let model = ScriptedModel::from_chunks(case["turns"].as_array().unwrap().iter().map(chunks));
    let add = tool_fn("add", "Adds two numbers.", |x: Add| async move { Ok::<_, ToolError>(x.a + x.b) });
    let agent = ReactAgent::builder(model, vec![Arc::new(add) as Arc<dyn Tool>]).build().unwrap();
    if case["graph"] == "agent" {
        return agent;
    }
    let mut parent = StateGraph::new(MessagesState::schema());
    parent.add_node("assistant", agent).add_edge(START, "assistant").add_edge("assistant", END);
    parent.compile().unwrap()
}

fn mode(name: &str) -> StreamMode {
    match name {
        "messages" => StreamMode::Messages,
        "updates" => StreamMode::Updates,
        other => panic!("mode {other}"),
    }
}

/// `agent:<task id>|tools:<task id>` → `agent|tools`, as the recorder writes it.
fn cut(ns: &str) -> String {
    ns.split('|').map(|p| p.split(':').next().unwrap()).collect::<Vec<_>>().join("|")
}

/// An event in the recorder's form.
fn record(case: &Json, namespace: &[String], mode: StreamMode, data: Json) -> Json {
    let mut out = serde_json::Map::new();
    out.insert("mode".into(), json!(if mode == StreamMode::Messages { "messages" } else { "updates" }));
    if case["subgraphs"] == true {
        out.insert("namespace".into(), namespace.iter().map(|n| json!(cut(n))).collect());
    }
    if mode == StreamMode::Messages {
        let mut message = data[0].clone();
        let id = message.as_object_mut().unwrap().remove("id");
        assert!(id.as_ref().and_then(Json::as_str).is_some_and(|id| !id.is_empty()), "every message has an id");
        let mut metadata = data[1].as_object().unwrap().clone();
        for key in ["langgraph_checkpoint_ns", "checkpoint_ns"] {
            if let Some(ns) = metadata.get(key).and_then(Json::as_str) {
                let ns = cut(ns);
                metadata.insert(key.into(), json!(ns));
            }
        }
        out.insert("message".into(), message);
        out.insert("metadata".into(), Json::Object(metadata));
    } else {
        let mut nodes: Vec<&String> = data.as_object().unwrap().keys().collect();
        nodes.sort();
        out.insert("nodes".into(), json!(nodes));
    }
    Json::Object(out)
}

/// `None` for an echoed input message (LangGraph marks a task's input messages as seen; so does
/// the engine, and this keeps both sides' user message out of the comparison).
fn without_engine_differences(event: Json) -> Option<Json> {
    if event["mode"] != "messages" {
        return Some(event);
    }
    let kind = event["message"]["type"].as_str().unwrap().to_owned();
    if kind == "human" {
        return None;
    }
    Some(event)
}

async fn run(case: &Json) -> Vec<Json> {
    let modes: Vec<StreamMode> = case["modes"].as_array().unwrap().iter().map(|m| mode(m.as_str().unwrap())).collect();
    let options = StreamOptions::modes(modes).with_subgraphs(case["subgraphs"] == true);
    let input = json!({"messages": [["user", "1+2 and 3+4?"]]});
    let mut stream = graph(case).stream(input, RunConfig::default().with_thread("t1"), options);
    let mut events = Vec::new();
    while let Some(event) = stream.next().await {
        let event = event.unwrap();
        events.push(record(case, &event.namespace, event.mode, event.data.into()));
    }
    events
}

async fn check(name: &str) {
    let fixture: Json = serde_json::from_str(FIXTURE).unwrap();
    assert_eq!(fixture["langgraph"], "1.2.24");
    let case = fixture["cases"].as_array().unwrap().iter().find(|c| c["name"] == name).unwrap();
    let expected: Vec<Json> =
        case["events"].as_array().unwrap().iter().cloned().filter_map(without_engine_differences).collect();
    let got: Vec<Json> = run(case).await.into_iter().filter_map(without_engine_differences).collect();
    for (i, (g, e)) in got.iter().zip(&expected).enumerate() {
        assert_eq!(g, e, "{name}: event {i}\n got: {g}\nwant: {e}");
    }
    assert_eq!(got.len(), expected.len(), "{name}: {} events, LangGraph streams {}", got.len(), expected.len());
}

#[tokio::test]
async fn tool_loop_streams_chunks_then_tool_messages_then_chunks() {
    check("tool_loop").await;
}

#[tokio::test]
async fn answer_only() {
    check("answer_only").await;
}

#[tokio::test]
async fn messages_interleave_with_updates() {
    check("with_updates").await;
}

#[tokio::test]
async fn subgraph_chunks_are_namespaced() {
    check("subgraph").await;
}

#[tokio::test]
async fn subgraph_not_streamed_shows_the_answer_once_from_the_parent_node() {
    check("subgraph_not_streamed").await;
}

/// The chunks of one answer share one id, and the stored answer has it too.
#[tokio::test]
async fn chunks_of_one_answer_share_the_stored_answers_id() {
    let fixture: Json = serde_json::from_str(FIXTURE).unwrap();
    let case = fixture["cases"].as_array().unwrap().iter().find(|c| c["name"] == "answer_only").unwrap();
    let mut stream = graph(case).stream(
        json!({"messages": [["user", "hi"]]}),
        RunConfig::default(),
        StreamOptions::modes([StreamMode::Messages, StreamMode::Values]),
    );
    let (mut ids, mut last_values) = (Vec::new(), Json::Null);
    while let Some(event) = stream.next().await {
        let event = event.unwrap();
        match event.mode {
            StreamMode::Messages => ids.push(Json::from(event.data)[0]["id"].clone()),
            _ => last_values = event.data.into(),
        }
    }
    assert_eq!(ids.len(), 4);
    assert!(ids.iter().all(|id| *id == ids[0]), "{ids:?}");
    assert!(ids[0].as_str().unwrap().starts_with("lc_run--"));
    assert_eq!(last_values["messages"][1]["id"], ids[0]);
}
