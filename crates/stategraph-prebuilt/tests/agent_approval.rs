//! Human approval of tool calls: the ReAct agent pauses before its tools run (static interrupt
//! with a checkpointer); running the thread again with no input approves them.

use std::sync::Arc;

use serde_json::json;
use stategraph_core::checkpoint::{CheckpointConfig, InMemorySaver};
use stategraph_core::{CompileOptions, RunConfig, Value};
use stategraph_prebuilt::{Message, ReactAgent, ScriptedModel, Tool, ToolCall, ToolError, coerce_messages, tool_fn};

#[derive(serde::Deserialize, schemars::JsonSchema)]
struct Div {
    a: f64,
    b: f64,
}

#[tokio::test]
async fn agent_pauses_before_tools_and_resumes_when_approved() {
    let divide = tool_fn("divide", "Divides a by b.", |d: Div| async move { Ok::<_, ToolError>(d.a / d.b) });
    let model = ScriptedModel::new([
        Message::ai_with_tool_calls("", vec![ToolCall::new("divide", json!({"a": 6, "b": 3}), "c1")]),
        Message::ai("6 / 3 = 2"),
    ]);
    let agent = ReactAgent::builder(model, vec![Arc::new(divide) as Arc<dyn Tool>])
        .compile_options(CompileOptions::with_checkpointer(Arc::new(InMemorySaver::new())))
        .interrupt_before_tools(true)
        .build()
        .unwrap();
    let config = RunConfig::new().with_thread("approval");

    let paused = agent.invoke(json!({"messages": "6 / 3?"}), config.clone()).await.unwrap();
    let history = coerce_messages(&paused["messages"]).unwrap();
    assert_eq!(history.len(), 2, "stopped before the tools ran");
    assert_eq!(history[1].tool_calls()[0].name, "divide", "the calls waiting for approval");
    let snapshot = agent.get_state(&CheckpointConfig::thread("approval")).await.unwrap();
    assert_eq!(snapshot.next, vec!["tools"]);

    let done = agent.invoke(Value::Null, config).await.unwrap();
    let history = coerce_messages(&done["messages"]).unwrap();
    let texts: Vec<_> = history.iter().map(Message::text).collect();
    assert_eq!(texts, ["6 / 3?", "", "2.0", "6 / 3 = 2"]);
}
