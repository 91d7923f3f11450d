//! `react_prebuilt_Nx`: the conversation of `react_agent_Nx` through the prebuilt ReAct agent
//! (`stategraph_prebuilt::ReactAgent`: `Message`s, `add_messages`, `ToolNode`, `tools_condition`),
//! the twin of LangGraph's `create_react_agent` with langchain-core messages in
//! `benches/compare/py_shapes.py`.

use std::sync::Arc;

use futures::FutureExt;
use futures::future::BoxFuture;
use serde_json::json;
use stategraph::{CompileOptions, CompiledGraph, Value};
use stategraph_prebuilt::{
    ChatModel, ChatRequest, Message, ModelError, ReactAgent, Tool, ToolCall, ToolError, tool_fn,
};

use super::query_for;

/// The arguments of the `search` tool.
#[derive(serde::Deserialize, schemars::JsonSchema)]
struct Search {
    /// What to search for.
    query: String,
}

/// A scripted chat model, the twin of the Python side's `ScriptedChatModel`: it answers by the
/// length of the conversation (one human message, then an (ai, tool) pair per round), so that
/// the graph can be invoked again and again. `stategraph_prebuilt::ScriptedModel::from_fn` answers
/// the same way but also records the latest requests it receives (for tests); this one keeps
/// nothing. It reads only the length of the history, which does not convert the state's message
/// values to `Message`s (see `stategraph_prebuilt::History`).
struct BenchModel {
    responses: Arc<Vec<Message>>,
}

impl ChatModel for BenchModel {
    fn generate(&self, request: ChatRequest) -> BoxFuture<'static, Result<Message, ModelError>> {
        let i = (request.messages.len().saturating_sub(1) / 2).min(self.responses.len() - 1);
        let answer = self.responses[i].clone();
        async move { Ok(answer) }.boxed()
    }

    fn model_name(&self) -> &str {
        "scripted"
    }
}

/// The agent over a scripted model that asks for `search` `n` times, then answers.
pub(super) fn react_prebuilt(n: usize, options: CompileOptions) -> CompiledGraph {
    // `ScriptedModel` reports its name in `response_metadata`, as provider models do; the Python
    // twin's scripted messages carry the same.
    let scripted = |m: Message| {
        let mut m = m;
        m.response_metadata.insert("model_name".into(), Value::from("scripted"));
        m
    };
    let mut responses: Vec<Message> = (0..n)
        .map(|i| {
            let call = ToolCall::new("search", json!({"query": query_for(i)}), format!("call-{i}"));
            scripted(Message::ai_with_tool_calls("", vec![call]).with_id(format!("ai-{i}")))
        })
        .collect();
    responses.push(scripted(Message::ai("answer".repeat(100)).with_id("ai-final")));
    let model = BenchModel { responses: Arc::new(responses) };
    let search = tool_fn("search", "Searches for the query.", |args: Search| async move {
        Ok::<_, ToolError>(format!("result for query: {}", args.query).repeat(10))
    });
    ReactAgent::builder(model, vec![Arc::new(search) as Arc<dyn Tool>])
        .compile_options(options)
        .build()
        .unwrap_or_else(|e| panic!("react_prebuilt_{n}x does not compile: {e}"))
}

/// One human message, with an id (as the Python twin's `HumanMessage("hi?", id="human-0")`).
pub(super) fn react_prebuilt_input() -> Value {
    json!({"messages": [{"type": "human", "content": "hi?", "id": "human-0"}]}).into()
}
