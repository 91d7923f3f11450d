//! The `messages` stream mode end to end: an OpenAI-compatible server on 127.0.0.1 streams SSE
//! tokens, the client reads them, the agent's model node forwards each as an `AIMessageChunk`
//! through the engine, and the stream carries them token by token with LangGraph's metadata —
//! alone, next to `updates`, and from inside a subgraph.

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{Reply, Server};
use futures::StreamExt;
use serde_json::{Value as Json, json};
use stategraph_core::{CompiledGraph, END, RunConfig, START, StateGraph, StreamMode, StreamOptions};
use stategraph_prebuilt::{
    Message, MessageGraph, MessagesState, OpenAiChat, OpenAiConfig, ReactAgent, ScriptedModel, Tool, ToolError, tool_fn,
};

fn client(server: &Server) -> OpenAiChat {
    OpenAiChat::new(
        OpenAiConfig::new("test-model")
            .base_url(server.base_url())
            .option("temperature", 0.2)
            .timeout(Duration::from_secs(5)),
    )
    .unwrap()
}

fn delta(d: Json) -> Json {
    json!({"id": "chatcmpl-9", "object": "chat.completion.chunk", "model": "test-model-2024",
           "choices": [{"index": 0, "delta": d, "finish_reason": null}]})
}

fn finish(reason: &str, completion_tokens: u64) -> Vec<Json> {
    vec![
        json!({"id": "chatcmpl-9", "model": "test-model-2024", "choices": [{"index": 0, "delta": {}, "finish_reason": reason}]}),
        json!({"id": "chatcmpl-9", "model": "test-model-2024", "choices": [],
               "usage": {"prompt_tokens": 7, "completion_tokens": completion_tokens, "total_tokens": 7 + completion_tokens}}),
    ]
}

#[derive(serde::Deserialize, schemars::JsonSchema)]
struct Add {
    a: i64,
    b: i64,
}

fn add() -> Arc<dyn Tool> {
    Arc::new(tool_fn("add", "Adds two numbers.", |x: Add| async move { Ok::<_, ToolError>(x.a + x.b) }))
}

/// Every event of a run: (namespace, mode, data, when it arrived).
async fn events(
    graph: &CompiledGraph,
    input: Json,
    options: StreamOptions,
) -> Vec<(Vec<String>, StreamMode, Json, Instant)> {
    let mut stream = graph.stream(input, RunConfig::default().with_thread("t-42"), options);
    let mut out = Vec::new();
    while let Some(e) = stream.next().await {
        let e = e.unwrap();
        out.push((e.namespace, e.mode, e.data.into(), Instant::now()));
    }
    out
}

#[tokio::test]
async fn openai_tokens_stream_through_the_engine_one_by_one() {
    let pause = Duration::from_millis(120);
    let mut sse = vec![
        delta(json!({"role": "assistant", "content": ""})),
        delta(json!({"content": "Hel"})),
        delta(json!({"content": "lo"})),
        delta(json!({"content": " world"})),
    ];
    sse.extend(finish("stop", 3));
    let server = Server::start(vec![Reply::sse_paced(&sse, pause)]).await;
    let agent = ReactAgent::builder(client(&server), vec![]).build().unwrap();
    let all = events(
        &agent,
        json!({"messages": [["user", "hi"]]}),
        StreamOptions::modes([StreamMode::Messages, StreamMode::Values]),
    )
    .await;
    assert_eq!(server.requests()[0].body["stream"], json!(true), "the model was asked to stream");

    let messages: Vec<&(Vec<String>, StreamMode, Json, Instant)> =
        all.iter().filter(|(_, m, ..)| *m == StreamMode::Messages).collect();
    let chunks: Vec<&Json> = messages.iter().map(|(_, _, d, _)| &d[0]).collect();
    // Every SSE event is a chunk (role, 3 tokens, finish, usage), then the closing chunk; the
    // assembled answer is not streamed again.
    let contents: Vec<&str> = chunks.iter().map(|c| c["content"].as_str().unwrap()).collect();
    assert_eq!(contents, ["", "Hel", "lo", " world", "", "", ""]);
    assert!(chunks.iter().all(|c| c["type"] == "AIMessageChunk"), "{chunks:?}");
    assert!(chunks.iter().all(|c| c["id"] == chunks[0]["id"]), "one id for the answer");
    assert_eq!(chunks.last().unwrap()["chunk_position"], "last");
    assert_eq!(chunks[5]["usage_metadata"], json!({"input_tokens": 7, "output_tokens": 3, "total_tokens": 10}));
    assert_eq!(chunks[4]["response_metadata"]["finish_reason"], "stop");

    // Token by token: the third token came a pause after the first, while the node still ran.
    let at = |i: usize| messages[i].3;
    assert!(at(3).duration_since(at(1)) >= pause, "tokens arrived together: {:?}", at(3).duration_since(at(1)));

    for (_, _, data, _) in &messages {
        let md = &data[1];
        assert_eq!(md["langgraph_node"], "agent");
        assert_eq!(md["langgraph_step"], 1);
        assert_eq!(md["langgraph_triggers"], json!(["branch:to:agent"]));
        assert_eq!(md["langgraph_path"], json!(["__pregel_pull", "agent"]));
        assert!(md["langgraph_checkpoint_ns"].as_str().unwrap().starts_with("agent:"));
        assert_eq!(md["thread_id"], "t-42");
        assert_eq!(md["ls_provider"], "openai");
        assert_eq!(md["ls_model_name"], "test-model");
        assert_eq!(md["ls_model_type"], "chat");
        assert_eq!(md["ls_temperature"], 0.2);
        assert_eq!(md["ls_integration"], "langchain_chat_model");
    }

    let (_, _, last_values, _) = all.iter().rev().find(|(_, m, ..)| *m == StreamMode::Values).unwrap();
    let history = last_values["messages"].as_array().unwrap();
    assert_eq!(history.len(), 2);
    assert_eq!(history[1]["type"], "ai");
    assert_eq!(history[1]["content"], "Hello world");
    assert_eq!(history[1]["id"], chunks[0]["id"], "the stored answer has the chunks' id");
    assert_eq!(history[1]["usage_metadata"]["output_tokens"], 3);
}

#[tokio::test]
async fn openai_tool_call_fragments_stream_then_tool_results_then_the_answer() {
    let mut calls = vec![
        delta(json!({"role": "assistant", "content": null, "tool_calls": [
            {"index": 0, "id": "call_a", "type": "function", "function": {"name": "add", "arguments": ""}}]})),
        delta(json!({"tool_calls": [{"index": 0, "function": {"arguments": "{\"a\": 1,"}}]})),
        delta(json!({"tool_calls": [
            {"index": 1, "id": "call_b", "type": "function", "function": {"name": "add", "arguments": "{\"a\": 3"}}]})),
        delta(json!({"tool_calls": [{"index": 0, "function": {"arguments": " \"b\": 2}"}}]})),
        delta(json!({"tool_calls": [{"index": 1, "function": {"arguments": ", \"b\": 4}"}}]})),
    ];
    calls.extend(finish("tool_calls", 20));
    let mut answer = vec![delta(json!({"content": "3 and "})), delta(json!({"content": "7"}))];
    answer.extend(finish("stop", 2));
    let server = Server::start(vec![Reply::sse(&calls), Reply::sse(&answer)]).await;
    let agent = ReactAgent::builder(client(&server), vec![add()]).build().unwrap();
    let all =
        events(&agent, json!({"messages": [["user", "1+2, 3+4?"]]}), StreamOptions::mode(StreamMode::Messages)).await;
    let data: Vec<&Json> = all.iter().map(|(_, _, d, _)| d).collect();
    let kinds: Vec<(String, String)> = data
        .iter()
        .map(|d| (d[0]["type"].as_str().unwrap().to_owned(), d[1]["langgraph_node"].as_str().unwrap().to_owned()))
        .collect();
    let count = |t: &str, n: &str| kinds.iter().filter(|(a, b)| a == t && b == n).count();
    assert_eq!(count("AIMessageChunk", "agent"), 8 + 5, "{kinds:?}");
    assert_eq!(count("tool", "tools"), 2, "tool results are streamed whole, once each");
    assert_eq!(count("ai", "agent"), 0, "streamed answers are not streamed again");
    assert_eq!(kinds.len(), 15);

    // The first call's name and id come in the first fragment; the arguments in pieces.
    let first = &data[0][0];
    assert_eq!(
        first["tool_call_chunks"],
        json!([{"name": "add", "args": "", "id": "call_a", "index": 0, "type": "tool_call_chunk"}])
    );
    assert_eq!(data[1][0]["tool_call_chunks"][0]["args"], "{\"a\": 1,");
    // As in LangChain, each fragment is also read alone: complete enough -> a call, else invalid.
    assert_eq!(data[1][0]["tool_calls"], json!([{"name": "", "args": {"a": 1}, "id": null, "type": "tool_call"}]));
    assert_eq!(data[4][0]["invalid_tool_calls"][0]["args"], ", \"b\": 4}");
    let results: Vec<&Json> = data.iter().filter(|d| d[0]["type"] == "tool").map(|d| &d[0]).collect();
    assert_eq!((results[0]["content"].as_str(), results[1]["content"].as_str()), (Some("3"), Some("7")));
    assert_eq!(data.last().unwrap()[1]["langgraph_step"], 3);
}

#[tokio::test]
async fn without_messages_mode_the_model_is_invoked_once_not_streamed() {
    let server = Server::start(vec![Reply::ok(json!({
        "id": "chatcmpl-1", "object": "chat.completion", "model": "test-model",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "Hi!"}, "finish_reason": "stop"}]
    }))])
    .await;
    let agent = ReactAgent::builder(client(&server), vec![]).build().unwrap();
    let all = events(&agent, json!({"messages": [["user", "hi"]]}), StreamOptions::mode(StreamMode::Updates)).await;
    assert_eq!(all.len(), 1);
    assert_eq!(all[0].2["agent"]["messages"][0]["content"], "Hi!");
    assert!(all[0].2["agent"]["messages"][0]["id"].as_str().unwrap().starts_with("lc_run--"), "an id up front");
    assert_eq!(server.requests()[0].body.get("stream"), None);
}

#[tokio::test]
async fn messages_and_updates_in_one_stream_keep_their_order() {
    let model = ScriptedModel::new([Message::ai("Three words here")]);
    let agent = ReactAgent::builder(model, vec![]).build().unwrap();
    let all = events(
        &agent,
        json!({"messages": [["user", "hi"]]}),
        StreamOptions::modes([StreamMode::Updates, StreamMode::Messages]),
    )
    .await;
    let modes: Vec<StreamMode> = all.iter().map(|(_, m, ..)| *m).collect();
    assert_eq!(
        modes,
        [StreamMode::Messages, StreamMode::Messages, StreamMode::Messages, StreamMode::Messages, StreamMode::Updates]
    );
    let tokens: Vec<&str> = all[..3].iter().map(|(_, _, d, _)| d[0]["content"].as_str().unwrap()).collect();
    assert_eq!(tokens, ["Three ", "words ", "here"]);
    assert_eq!(all[4].2["agent"]["messages"][0]["id"], all[0].2[0]["id"], "the update holds the streamed answer");
}

#[tokio::test]
async fn subgraph_tokens_are_namespaced_when_subgraphs_are_streamed() {
    let mut inner = MessageGraph::new();
    inner
        .add_model_node("bot", ScriptedModel::new([Message::ai("from inside")]))
        .add_edge(START, "bot")
        .add_edge("bot", END);
    let inner = inner.compile().unwrap().graph().clone();
    let mut outer = StateGraph::new(MessagesState::schema());
    outer.add_node("assistant", inner).add_edge(START, "assistant").add_edge("assistant", END);
    let outer = outer.compile().unwrap();

    let all = events(
        &outer,
        json!({"messages": [["user", "hi"]]}),
        StreamOptions::modes([StreamMode::Messages, StreamMode::Updates]).with_subgraphs(true),
    )
    .await;
    // The engine also streams the user's message when the parent node returns the conversation
    // (LangGraph does not: it marks a task's input messages as seen); left out here, see
    // parity_stream_messages.rs.
    let messages: Vec<_> =
        all.iter().filter(|(_, m, d, _)| *m == StreamMode::Messages && d[0]["type"] != "human").collect();
    let tokens: Vec<&str> = messages.iter().map(|(_, _, d, _)| d[0]["content"].as_str().unwrap()).collect();
    assert_eq!(tokens, ["from ", "inside", ""], "the parent node does not repeat the answer");
    for (ns, _, d, _) in &messages {
        assert_eq!(ns.len(), 1);
        assert!(ns[0].starts_with("assistant:"), "{ns:?}");
        assert_eq!(d[1]["langgraph_node"], "bot");
        let cp = d[1]["langgraph_checkpoint_ns"].as_str().unwrap();
        assert!(cp.starts_with(&format!("{}|bot:", ns[0])), "{cp}");
    }
    // Updates: the inner node's in the subgraph namespace, then the parent's.
    let updates: Vec<(usize, String)> = all
        .iter()
        .filter(|(_, m, ..)| *m == StreamMode::Updates)
        .map(|(ns, _, d, _)| (ns.len(), d.as_object().unwrap().keys().next().unwrap().clone()))
        .collect();
    assert_eq!(updates, [(1, "bot".to_owned()), (0, "assistant".to_owned())]);
}
