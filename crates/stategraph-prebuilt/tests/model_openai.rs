//! The OpenAI-compatible client against a real HTTP server on 127.0.0.1 serving canned
//! OpenAI-format answers: plain and streamed completions, (parallel) tool calls, retries on 429
//! and 5xx, a malformed stream, a timeout, and a ReAct agent end to end.

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{Reply, Server};
use futures::StreamExt;
use serde_json::json;
use stategraph_core::RunConfig;
use stategraph_prebuilt::{
    ChatModel, ChatRequest, Message, ModelError, OpenAiChat, OpenAiConfig, Tool, ToolError, ToolSpec, collect_stream,
    create_react_agent, tool_fn,
};

fn client(server: &Server) -> OpenAiChat {
    OpenAiChat::new(
        OpenAiConfig::new("test-model")
            .base_url(server.base_url())
            .api_key("sk-test")
            .backoff(Duration::from_millis(10), Duration::from_millis(50))
            .timeout(Duration::from_secs(5)),
    )
    .unwrap()
}

fn completion(message: serde_json::Value) -> serde_json::Value {
    json!({
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "created": 1,
        "model": "test-model-2024",
        "system_fingerprint": "fp_1",
        "choices": [{"index": 0, "message": message, "finish_reason": "stop", "logprobs": null}],
        "usage": {"prompt_tokens": 9, "completion_tokens": 3, "total_tokens": 12,
                  "prompt_tokens_details": {"cached_tokens": 4}, "x_unknown": true},
        "x_provider_extension": {"anything": [1, 2]}
    })
}

fn delta(d: serde_json::Value) -> serde_json::Value {
    json!({"id": "chatcmpl-2", "object": "chat.completion.chunk", "model": "test-model-2024",
           "choices": [{"index": 0, "delta": d, "finish_reason": null}]})
}

#[tokio::test]
async fn plain_completion_with_usage_and_unknown_fields() {
    let server = Server::start(vec![Reply::ok(completion(
        json!({"role": "assistant", "content": "Hello!", "refusal": null, "annotations": []}),
    ))])
    .await;
    let model = client(&server);
    let answer = model.invoke(vec![Message::system("be nice"), Message::human("hi").with_name("ada")]).await.unwrap();
    assert_eq!(answer.text(), "Hello!");
    let usage = answer.usage().unwrap();
    assert_eq!((usage.input_tokens, usage.output_tokens, usage.total_tokens), (9, 3, 12));
    assert_eq!(usage.details["input_token_details"], json!({"cache_read": 4}));
    assert_eq!(answer.response_metadata["model_name"], json!("test-model-2024"));
    assert_eq!(answer.response_metadata["finish_reason"], json!("stop"));
    assert_eq!(answer.id, None, "add_messages gives the answer its own id");

    let req = &server.requests()[0];
    assert_eq!((req.method.as_str(), req.path.as_str()), ("POST", "/v1/chat/completions"));
    assert_eq!(req.header("authorization"), Some("Bearer sk-test"));
    assert_eq!(
        req.body,
        json!({"model": "test-model", "messages": [
            {"role": "system", "content": "be nice"},
            {"role": "user", "content": "hi", "name": "ada"}]})
    );
}

#[tokio::test]
async fn parallel_tool_calls_and_bound_tools() {
    let server = Server::start(vec![Reply::ok(completion(json!({
        "role": "assistant", "content": null,
        "tool_calls": [
            {"id": "call_a", "type": "function", "function": {"name": "add", "arguments": "{\"a\": 1, \"b\": 2}"}},
            {"id": "call_b", "type": "function", "function": {"name": "mul", "arguments": "{\"a\": 3, \"b\": 4}"}},
            {"id": "call_c", "type": "function", "function": {"name": "add", "arguments": "{oops"}}
        ]
    })))])
    .await;
    let tool =
        ToolSpec { name: "add".into(), description: "Adds.".into(), parameters: json!({"type": "object"}).into() };
    let model = client(&server).bind_tools(vec![tool]).tool_choice("auto");
    let answer = model.invoke(vec![Message::human("1+2 and 3*4?")]).await.unwrap();
    let calls = answer.tool_calls();
    assert_eq!(calls.len(), 2);
    assert_eq!((calls[0].name.as_str(), calls[0].id.as_deref()), ("add", Some("call_a")));
    assert_eq!(calls[1].args, json!({"a": 3, "b": 4}));
    let stategraph_prebuilt::Kind::Ai(ai) = &answer.kind else { panic!("an AI message") };
    assert_eq!(ai.invalid_tool_calls.len(), 1, "unparsable arguments are kept as an invalid call");
    assert_eq!(ai.invalid_tool_calls[0].args.as_deref(), Some("{oops"));

    let body = &server.requests()[0].body;
    assert_eq!(
        body["tools"][0],
        json!({"type": "function", "function": {"name": "add", "description": "Adds.", "parameters": {"type": "object"}}})
    );
    assert_eq!(body["tool_choice"], json!("auto"));
}

#[tokio::test]
async fn streamed_text_arrives_in_chunks() {
    let server = Server::start(vec![Reply::sse(&[
        delta(json!({"role": "assistant", "content": ""})),
        delta(json!({"content": "Hel"})),
        delta(json!({"content": "lo"})),
        json!({"id": "chatcmpl-2", "model": "test-model-2024", "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}),
        json!({"id": "chatcmpl-2", "model": "test-model-2024", "choices": [],
               "usage": {"prompt_tokens": 5, "completion_tokens": 2, "total_tokens": 7}}),
    ])])
    .await;
    let model = client(&server);
    let chunks: Vec<_> = model.stream(ChatRequest::new(vec![Message::human("hi")])).collect().await;
    let texts: Vec<String> = chunks.iter().map(|c| c.as_ref().unwrap().content.clone()).collect();
    assert_eq!(texts, ["", "Hel", "lo", "", ""]);
    let body = &server.requests()[0].body;
    assert_eq!(body["stream"], json!(true));
    assert_eq!(body["stream_options"], json!({"include_usage": true}));

    let server =
        Server::start(vec![Reply::sse(&[delta(json!({"content": "Hel"})), delta(json!({"content": "lo"}))])]).await;
    let m = collect_stream(client(&server).stream(ChatRequest::new(vec![]))).await.unwrap();
    assert_eq!(m.text(), "Hello");
}

#[tokio::test]
async fn streamed_parallel_tool_calls_are_assembled() {
    let server = Server::start(vec![Reply::sse(&[
        delta(json!({"role": "assistant", "content": null, "tool_calls": [
            {"index": 0, "id": "call_a", "type": "function", "function": {"name": "add", "arguments": ""}}]})),
        delta(json!({"tool_calls": [{"index": 0, "function": {"arguments": "{\"a\": 1,"}}]})),
        delta(json!({"tool_calls": [
            {"index": 1, "id": "call_b", "type": "function", "function": {"name": "mul", "arguments": "{\"a\""}}]})),
        delta(json!({"tool_calls": [{"index": 0, "function": {"arguments": " \"b\": 2}"}}]})),
        delta(json!({"tool_calls": [{"index": 1, "function": {"arguments": ": 3, \"b\": 4}"}}]})),
        json!({"id": "chatcmpl-2", "choices": [{"index": 0, "delta": {}, "finish_reason": "tool_calls"}],
               "usage": {"prompt_tokens": 5, "completion_tokens": 20, "total_tokens": 25}}),
    ])])
    .await;
    let m = collect_stream(client(&server).stream(ChatRequest::new(vec![Message::human("go")]))).await.unwrap();
    let calls = m.tool_calls();
    assert_eq!(calls.len(), 2);
    assert_eq!((calls[0].name.as_str(), calls[0].id.as_deref()), ("add", Some("call_a")));
    assert_eq!(calls[0].args, json!({"a": 1, "b": 2}));
    assert_eq!((calls[1].name.as_str(), calls[1].id.as_deref()), ("mul", Some("call_b")));
    assert_eq!(calls[1].args, json!({"a": 3, "b": 4}));
    assert_eq!(m.usage().unwrap().output_tokens, 20);
    assert_eq!(m.response_metadata["finish_reason"], json!("tool_calls"));
}

#[tokio::test]
async fn rate_limit_then_success_honours_retry_after() {
    let server = Server::start(vec![
        Reply::error(429, "Rate limit reached").header("retry-after", "1"),
        Reply::ok(completion(json!({"role": "assistant", "content": "ok"}))),
    ])
    .await;
    // A long backoff: only the server's Retry-After can explain a short wait.
    let model = OpenAiChat::new(
        OpenAiConfig::new("m").base_url(server.base_url()).backoff(Duration::from_secs(30), Duration::from_secs(30)),
    )
    .unwrap();
    let start = Instant::now();
    let answer = model.invoke(vec![Message::human("hi")]).await.unwrap();
    let waited = start.elapsed();
    assert_eq!(answer.text(), "ok");
    assert_eq!(server.requests().len(), 2);
    assert!(waited >= Duration::from_millis(950) && waited < Duration::from_secs(10), "waited {waited:?}");
}

#[tokio::test]
async fn server_errors_are_retried_with_backoff_then_reported() {
    let server = Server::start(vec![
        Reply::error(500, "boom"),
        Reply::error(503, "busy"),
        Reply::ok(completion(json!({"role": "assistant", "content": "third time"}))),
    ])
    .await;
    let answer = client(&server).invoke(vec![Message::human("hi")]).await.unwrap();
    assert_eq!(answer.text(), "third time");
    assert_eq!(server.requests().len(), 3);

    let server =
        Server::start(vec![Reply::error(500, "down"), Reply::error(502, "still down"), Reply::error(500, "gone")])
            .await;
    let err = client(&server).invoke(vec![Message::human("hi")]).await.unwrap_err();
    assert_eq!(server.requests().len(), 3, "one try and max_retries = 2 retries");
    assert!(matches!(&err, ModelError::Http { status: 500, message, .. } if message == "gone"), "{err}");
    assert!(err.is_retryable());
}

#[tokio::test]
async fn client_errors_are_not_retried() {
    let server = Server::start(vec![Reply::error(400, "Invalid 'messages': empty")]).await;
    let err = client(&server).invoke(vec![]).await.unwrap_err();
    assert_eq!(server.requests().len(), 1);
    assert_eq!(err.to_string(), "HTTP 400: Invalid 'messages': empty");
    assert!(!err.is_retryable());
}

#[tokio::test]
async fn malformed_stream_line_is_a_clear_error() {
    let server = Server::start(vec![Reply::Sse(vec![
        format!("data: {}\n\n", delta(json!({"content": "Hi"}))),
        "data: {\"choices\": [{\"delta\": \n\n".into(),
        format!("data: {}\n\n", delta(json!({"content": "never seen"}))),
    ])])
    .await;
    let items: Vec<_> = client(&server).stream(ChatRequest::new(vec![])).collect().await;
    assert_eq!(items.len(), 2, "the good chunk, then the error, then nothing: {items:?}");
    assert_eq!(items[0].as_ref().unwrap().content, "Hi");
    let err = items[1].as_ref().unwrap_err();
    assert!(matches!(err, ModelError::InvalidStream { .. }), "{err}");
    let text = err.to_string();
    assert!(text.starts_with("invalid stream event `data: {\"choices\": [{\"delta\": `: not JSON"), "{text}");
}

#[tokio::test]
async fn slow_server_times_out() {
    let server = Server::start(vec![Reply::Delayed(
        Duration::from_secs(3),
        Box::new(Reply::ok(completion(json!({"role": "assistant", "content": "late"})))),
    )])
    .await;
    let model = OpenAiChat::new(
        OpenAiConfig::new("m").base_url(server.base_url()).timeout(Duration::from_millis(300)).max_retries(0),
    )
    .unwrap();
    let start = Instant::now();
    let err = model.invoke(vec![Message::human("hi")]).await.unwrap_err();
    assert!(matches!(err, ModelError::Timeout(d) if d == Duration::from_millis(300)), "{err}");
    assert!(start.elapsed() < Duration::from_secs(2));
}

#[tokio::test]
async fn bad_base_url_is_a_config_error() {
    let err = OpenAiChat::new(OpenAiConfig::new("m").base_url("not a url")).unwrap_err();
    assert!(matches!(err, ModelError::Config(_)), "{err}");
}

#[derive(serde::Deserialize, schemars::JsonSchema)]
struct Add {
    a: i64,
    b: i64,
}

#[tokio::test]
async fn react_agent_against_the_local_server() {
    let server = Server::start(vec![
        Reply::ok(completion(json!({"role": "assistant", "content": null, "tool_calls": [
            {"id": "call_1", "type": "function", "function": {"name": "add", "arguments": "{\"a\": 2, \"b\": 3}"}},
            {"id": "call_2", "type": "function", "function": {"name": "add", "arguments": "{\"a\": 10, \"b\": 1}"}}]}))),
        Reply::ok(completion(json!({"role": "assistant", "content": "5 and 11"}))),
    ])
    .await;
    let add = tool_fn("add", "Adds two integers.", |x: Add| async move { Ok::<_, ToolError>(x.a + x.b) });
    let agent = create_react_agent(client(&server), vec![Arc::new(add) as Arc<dyn Tool>]).unwrap();
    let out = agent.invoke(json!({"messages": [["user", "2+3 and 10+1?"]]}), RunConfig::default()).await.unwrap();
    let contents: Vec<_> = out["messages"].as_array().unwrap().iter().map(|m| m["content"].to_json()).collect();
    assert_eq!(contents, [json!("2+3 and 10+1?"), json!(""), json!("5"), json!("11"), json!("5 and 11")]);

    let requests = server.requests();
    assert_eq!(requests.len(), 2);
    assert_eq!(requests[0].body["tools"][0]["function"]["name"], json!("add"));
    assert_eq!(
        requests[0].body["tools"][0]["function"]["parameters"]["required"],
        json!(["a", "b"]),
        "the schema is derived from the argument type"
    );
    let second = &requests[1].body["messages"];
    assert_eq!(second[1]["tool_calls"][1]["id"], json!("call_2"));
    assert_eq!(second[2], json!({"role": "tool", "content": "5", "tool_call_id": "call_1"}));
    assert_eq!(second[3], json!({"role": "tool", "content": "11", "tool_call_id": "call_2"}));
}
