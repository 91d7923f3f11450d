//! The `llm` kind (and `tools`): scripted and OpenAI-compatible models, prompt templates, tool
//! calls routed to a tools node, and tokens streamed in `messages` mode.

use std::sync::{Arc, Mutex};

use axum::Router;
use axum::routing::post;
use futures::StreamExt;
use serde_json::{Value, json};
use stategraph_core::{RunConfig, StreamMode, StreamOptions};
use stategraph_prebuilt::{ChatModel, Message, ScriptedModel, ToolCall, ToolError, tool_fn};
use stategraph_spec::{Code, GraphSpec, NodeKindRegistry, compile, validate};

const CHAT: &str = r#"
version: 1
name: chat
state:
  ticket: {type: string}
  messages: {reducer: add_messages, default: []}
  category: {type: string}
nodes:
  - id: classify
    kind: llm
    config:
      model: {scripted: [billing]}
      prompt:
        - {role: system, content: "You route support tickets."}
        - {role: human, content: "Ticket: {{ ticket }}"}
      output: category
entry: classify
edges:
  - {source: classify, target: __end__}
"#;

#[tokio::test]
async fn a_scripted_model_answers_into_a_string_key() {
    let graph = compile(&GraphSpec::from_yaml(CHAT).unwrap(), &NodeKindRegistry::with_builtins()).unwrap();
    let out = graph.invoke(json!({"ticket": "I was charged twice"}), RunConfig::default()).await.unwrap().to_json();
    assert_eq!(out["category"], json!("billing"));
    // The script starts over: the compiled graph runs again.
    let out = graph.invoke(json!({"ticket": "again"}), RunConfig::default()).await.unwrap().to_json();
    assert_eq!(out["category"], json!("billing"));
}

#[tokio::test]
async fn the_prompt_is_rendered_over_the_state_and_the_answer_appended_to_messages() {
    let model = ScriptedModel::new([Message::ai("Sorry about that.")]);
    let mut registry = NodeKindRegistry::with_builtins();
    registry.register_model("support", model.clone());
    let spec = CHAT
        .replace("model: {scripted: [billing]}", "model: support\n      messages: messages")
        .replace("output: category", "output: messages");
    let graph = compile(&GraphSpec::from_yaml(&spec).unwrap(), &registry).unwrap();
    let input = json!({"ticket": "charged twice", "messages": [["user", "hello"]]});
    let out = graph.invoke(input, RunConfig::default()).await.unwrap().to_json();
    let request = &model.requests()[0];
    let sent: Vec<(String, String)> = request.messages.iter().map(|m| (m.type_name().to_owned(), m.text())).collect();
    assert_eq!(
        sent,
        [
            ("system".to_owned(), "You route support tickets.".to_owned()),
            ("human".to_owned(), "hello".to_owned()),
            ("human".to_owned(), "Ticket: charged twice".to_owned()),
        ]
    );
    let messages = out["messages"].as_array().unwrap();
    assert_eq!(messages.len(), 2);
    assert_eq!(messages[1]["type"], json!("ai"));
    assert_eq!(messages[1]["content"], json!("Sorry about that."));
}

const AGENT: &str = r#"
version: 1
name: agent
state:
  messages: {reducer: add_messages, default: []}
nodes:
  - id: agent
    kind: llm
    config: {model: agent, messages: messages, tools: [order_status], output: messages}
  - {id: tools, kind: tools, config: {tools: [order_status]}}
entry: agent
edges:
  - source: agent
    condition: {expr: 'if state.messages[-1].tool_calls.len() > 0 { "tools" } else { "done" }'}
    branches: [{label: tools, target: tools}, {label: done, target: __end__}]
  - {source: tools, target: agent}
"#;

#[derive(serde::Deserialize, schemars::JsonSchema)]
struct Order {
    /// The order id.
    id: String,
}

fn agent_registry(model: impl ChatModel) -> NodeKindRegistry {
    let mut registry = NodeKindRegistry::with_builtins();
    registry.register_model("agent", model);
    registry.register_tool(tool_fn("order_status", "Status of an order.", |o: Order| async move {
        Ok::<_, ToolError>(format!("order {} shipped", o.id))
    }));
    registry
}

#[tokio::test]
async fn tool_calls_are_routed_to_the_tools_node_and_back() {
    let model = ScriptedModel::new([
        Message::ai_with_tool_calls("", vec![ToolCall::new("order_status", json!({"id": "A7"}), "call_1")]),
        Message::ai("Your order A7 has shipped."),
    ]);
    let graph = compile(&GraphSpec::from_yaml(AGENT).unwrap(), &agent_registry(model.clone())).unwrap();
    let out = graph.invoke(json!({"messages": [["user", "where is A7?"]]}), RunConfig::default()).await.unwrap();
    let texts: Vec<String> = out.to_json()["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| format!("{}: {}", m["type"].as_str().unwrap(), m["content"].as_str().unwrap()))
        .collect();
    assert_eq!(texts, ["human: where is A7?", "ai: ", "tool: order A7 shipped", "ai: Your order A7 has shipped."]);
    // The model was offered the registered tool.
    assert_eq!(model.requests()[0].tools[0].name, "order_status");
}

#[tokio::test]
async fn an_llm_node_streams_tokens_in_messages_mode() {
    let spec = CHAT.replace("[billing]", "[\"refunds take three days\"]");
    let graph = compile(&GraphSpec::from_yaml(&spec).unwrap(), &NodeKindRegistry::with_builtins()).unwrap();
    let mut stream =
        graph.stream(json!({"ticket": "t"}), RunConfig::default(), StreamOptions::mode(StreamMode::Messages));
    let mut tokens = Vec::new();
    while let Some(event) = stream.next().await {
        let data = event.unwrap().data.to_json();
        assert_eq!(data[1]["langgraph_node"], json!("classify"));
        tokens.push(data[0]["content"].as_str().unwrap().to_owned());
    }
    assert_eq!(tokens, ["refunds ", "take ", "three ", "days", ""]);
}

/// A one-route OpenAI-compatible server answering every request with `answer`; records bodies.
async fn openai_server(answer: &'static str) -> (String, Arc<Mutex<Vec<Value>>>) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let record = seen.clone();
    let app = Router::new().route(
        "/v1/chat/completions",
        post(move |body: String| {
            let record = record.clone();
            async move {
                record.lock().unwrap().push(serde_json::from_str::<Value>(&body).unwrap());
                let reply = json!({
                    "id": "chatcmpl-1", "object": "chat.completion", "model": "local-model",
                    "choices": [{"index": 0, "finish_reason": "stop",
                                 "message": {"role": "assistant", "content": answer}}],
                    "usage": {"prompt_tokens": 5, "completion_tokens": 1, "total_tokens": 6},
                });
                ([(axum::http::header::CONTENT_TYPE, "application/json")], reply.to_string())
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/v1", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, seen)
}

#[tokio::test]
async fn an_openai_compatible_endpoint_is_called_with_the_rendered_prompt() {
    let (url, seen) = openai_server("technical").await;
    let spec = CHAT.replace(
        "model: {scripted: [billing]}",
        &format!("model: {{model: local-model, base_url: \"{url}\", options: {{temperature: 0}}}}"),
    );
    let graph = compile(&GraphSpec::from_yaml(&spec).unwrap(), &NodeKindRegistry::with_builtins()).unwrap();
    let out = graph.invoke(json!({"ticket": "the app crashes"}), RunConfig::default()).await.unwrap().to_json();
    assert_eq!(out["category"], json!("technical"));
    let body = seen.lock().unwrap()[0].clone();
    assert_eq!(body["model"], json!("local-model"));
    assert_eq!(body["temperature"], json!(0));
    assert_eq!(body["messages"][1], json!({"role": "user", "content": "Ticket: the app crashes"}));
}

#[test]
fn unknown_models_tools_and_fields_are_problems_with_pointers() {
    let registry = agent_registry(ScriptedModel::new([]));
    let spec = AGENT
        .replace("model: agent,", "model: nope, temperature: 1,")
        .replace("tools: [order_status], output", "tools: [nope], output");
    let problems = validate(&GraphSpec::from_yaml(&spec).unwrap(), &registry, &Default::default());
    let found: Vec<(Code, &str)> = problems.iter().map(|p| (p.code, p.pointer.as_str())).collect();
    assert_eq!(
        found,
        [
            (Code::InvalidConfig, "/nodes/0/config/temperature"),
            (Code::InvalidConfig, "/nodes/0/config/model"),
            (Code::InvalidConfig, "/nodes/0/config/tools/0"),
        ]
    );
    let spec = CHAT.replace("Ticket: {{ ticket }}", "Ticket: {{ ticket }");
    let problems =
        validate(&GraphSpec::from_yaml(&spec).unwrap(), &NodeKindRegistry::with_builtins(), &Default::default());
    assert_eq!(problems[0].code, Code::Script);
    assert_eq!(problems[0].pointer, "/nodes/0/config/prompt/1/content");
}
