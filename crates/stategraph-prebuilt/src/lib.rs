//! # stategraph-prebuilt
//!
//! Conversational graphs for [Stategraph](https://github.com/stategraph/stategraph) — the parts of
//! LangGraph's `langgraph.prebuilt` and of `langchain-core` that agents are built from:
//!
//! - **Messages** ([`Message`]): system, human, AI (tool calls, token usage), tool results and
//!   remove markers, stored in state in LangChain's dict shape; the [`add_messages`] reducer with
//!   LangGraph's semantics and [`MessagesState`].
//! - **Transformations** ([`Trim`], [`Filter`], [`MergeRuns`], [`StripToolCalls`]) usable as nodes,
//!   and **routing conditions** on the last message ([`Condition`]).
//! - [`MessageGraph`]: a graph whose state is the conversation.
//! - **Chat models** ([`ChatModel`]): [`OpenAiChat`] for any OpenAI-compatible endpoint
//!   (streaming, parallel tool calls, retries) and [`ScriptedModel`] for tests and offline demos;
//!   their tokens stream through the engine's `messages` mode (below).
//! - **Tools** ([`Tool`], [`tool_fn`] with a JSON Schema derived by `schemars`), [`ToolNode`],
//!   [`tools_condition`] and [`create_react_agent`].
//!
//! ```
//! use std::sync::Arc;
//! use serde_json::json;
//! use stategraph_core::RunConfig;
//! use stategraph_prebuilt::{Message, ScriptedModel, Tool, ToolCall, ToolError, create_react_agent, tool_fn};
//!
//! #[derive(serde::Deserialize, schemars::JsonSchema)]
//! struct Weather {
//!     /// The city.
//!     city: String,
//! }
//!
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! let weather = tool_fn("weather", "Current weather in a city.", |w: Weather| async move {
//!     Ok::<_, ToolError>(format!("sunny in {}", w.city))
//! });
//! // Offline: a model that asks for the tool, then answers. Swap in `OpenAiChat::from_env()?`.
//! let model = ScriptedModel::new([
//!     Message::ai_with_tool_calls("", vec![ToolCall::new("weather", json!({"city": "Paris"}), "call_1")]),
//!     Message::ai("It is sunny in Paris."),
//! ]);
//! let agent = create_react_agent(model, vec![Arc::new(weather) as Arc<dyn Tool>])?;
//! let out = agent.invoke(json!({"messages": [["user", "Weather in Paris?"]]}), RunConfig::default()).await?;
//! let history = stategraph_prebuilt::coerce_messages(&out["messages"]).unwrap();
//! assert_eq!(history[2].text(), "sunny in Paris");
//! assert_eq!(history.last().unwrap().text(), "It is sunny in Paris.");
//! # Ok::<(), stategraph_core::Error>(()) }).unwrap();
//! ```
//!
//! Human approval of tool calls: [`ReactAgent::interrupt_before_tools`] with a checkpointer.
//!
//! ## Streaming model tokens
//!
//! Stream a run in LangGraph's `messages` mode and the model nodes (the agent's, and
//! [`MessageGraph::add_model_node`]; in your own nodes, [`call_model`]) stream the model's answer
//! as it is generated: each event is `[chunk, metadata]`, the chunk a LangChain `AIMessageChunk`
//! dict ([`MessageChunk::to_value`]: `content`, `tool_call_chunks`, ...), the metadata LangGraph's
//! (`langgraph_node`, `langgraph_step`, `langgraph_triggers`, `langgraph_path`,
//! `langgraph_checkpoint_ns`, `thread_id`, ...) with the model's `ls_provider`, `ls_model_name`,
//! `ls_model_type` and `ls_temperature`. Messages a node returns without streaming them, such as
//! tool results, come whole when the node ends; a streamed answer is not repeated. Streamed with
//! subgraphs, events from inside a subgraph carry its namespace. Runs not streamed in this mode
//! call the model once, without streaming.
//!
//! ```
//! use futures::StreamExt;
//! use serde_json::json;
//! use stategraph_core::{RunConfig, StreamMode, StreamOptions};
//! use stategraph_prebuilt::{Message, ScriptedModel, TokenSplit, create_react_agent};
//!
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! let model = ScriptedModel::new([Message::ai("Hello, world")]).with_split(TokenSplit::Chars(4));
//! let agent = create_react_agent(model, vec![])?;
//! let input = json!({"messages": [["user", "hi"]]});
//! let mut stream = agent.stream(input, RunConfig::default(), StreamOptions::mode(StreamMode::Messages));
//! let mut text = Vec::new();
//! while let Some(event) = stream.next().await {
//!     let event = event?;
//!     let (chunk, metadata) = (&event.data[0], &event.data[1]);
//!     assert_eq!(metadata["langgraph_node"].as_str(), Some("agent"));
//!     text.push(chunk["content"].as_str().unwrap().to_owned());
//! }
//! assert_eq!(text, ["Hell", "o, w", "orld", ""]); // the last, empty chunk closes the answer
//! # Ok::<(), stategraph_core::Error>(()) }).unwrap();
//! ```
#![forbid(unsafe_code)]

mod add_messages;
mod agent;
mod error;
mod message;
mod message_graph;
mod model;
mod route;
mod tool;
mod transform;

pub use add_messages::{
    MESSAGES_KEY, MessagesState, add_messages, add_messages_in_place, add_messages_reducer, messages_channel,
};
pub use agent::{AGENT_NODE, ReactAgent, create_react_agent};
pub use error::{Error, Result};
pub use message::{
    AiFields, Content, InvalidToolCall, Kind, Message, REMOVE_ALL_MESSAGES, ToolCall, ToolFields, ToolStatus,
    UsageMetadata, coerce_message, coerce_messages, messages_to_value,
};
pub use message_graph::{CompiledMessageGraph, IntoMessages, MessageGraph};
pub use model::{
    BoundModel, ChatModel, ChatRequest, History, MessageChunk, ModelError, OpenAiChat, OpenAiConfig, ScriptedModel,
    TokenSplit, ToolCallChunk, ToolSpec, call_model, collect_stream,
};
pub use route::{Condition, last_message, route_first};
pub use tool::{FnTool, TOOLS_NODE, Tool, ToolError, ToolNode, schema_of, tool_fn, tools_condition};
pub use transform::{
    ApproxTokens, CountMessages, ExcludeToolCalls, Filter, MergeRuns, MessageTransform, Strategy, StripToolCalls,
    TokenCounter, TransformNode, Trim, history_of, messages_of, transform_node,
};
