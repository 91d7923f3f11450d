//! `create_react_agent`: a model that calls tools in a loop until it answers.

use std::sync::Arc;

use futures::FutureExt;
use futures::future::BoxFuture;
use stategraph_core::{
    CompileOptions, CompiledGraph, END, Managed, Map, Node, NodeContext, NodeError, NodeResult, PathMap, START, State,
    StateGraph, Value,
};

use crate::add_messages::{MESSAGES_KEY, MessagesState};
use crate::message::{Content, Message};
use crate::model::{ChatModel, ChatRequest, History, ToolSpec, call_model};
use crate::tool::{TOOLS_NODE, Tool, ToolNode, tools_condition};
use crate::transform::{CheckedMessages, MessageTransform, history_of_checked, messages_of};

/// The name of the model node.
pub const AGENT_NODE: &str = "agent";

/// LangGraph's answer when the recursion limit would cut a tool loop short.
const NEED_MORE_STEPS: &str = "Sorry, need more steps to process this request.";

/// Builds a ReAct agent with options; [`create_react_agent`] is the short form.
///
/// The graph is LangGraph's: `START → agent`, `agent → tools` when the answer has tool calls
/// (else END), `tools → agent`. The state is [`MessagesState`] plus the managed
/// `remaining_steps`. Options are builder methods, so new ones do not break callers.
///
/// For human approval of tool calls, give a checkpointer ([`compile_options`](Self::compile_options))
/// and [`interrupt_before_tools`](Self::interrupt_before_tools): a run stops before the tools
/// run; invoking the same thread with no input runs them (approve), and `update_state` can edit
/// or replace the AI message first (reject).
///
/// ```
/// use serde_json::json;
/// use stategraph_core::RunConfig;
/// use stategraph_prebuilt::{Message, ReactAgent, ScriptedModel};
///
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// let model = ScriptedModel::new([Message::ai("Hello!")]);
/// let agent = ReactAgent::builder(model, vec![]).prompt("You are terse.").build().unwrap();
/// let out = agent.invoke(json!({"messages": [["user", "hi"]]}), RunConfig::default()).await.unwrap();
/// assert_eq!(out["messages"][1]["content"], json!("Hello!"));
/// # });
/// ```
pub struct ReactAgent {
    model: Arc<dyn ChatModel>,
    tools: Vec<Arc<dyn Tool>>,
    prompt: Option<Message>,
    pre_model: Option<Arc<dyn MessageTransform>>,
    name: Option<String>,
    handle_tool_errors: bool,
    options: CompileOptions,
    interrupt_before_tools: bool,
}

impl ReactAgent {
    /// Starts building an agent over `model` with `tools`.
    pub fn builder(model: impl ChatModel, tools: Vec<Arc<dyn Tool>>) -> ReactAgent {
        ReactAgent {
            model: Arc::new(model),
            tools,
            prompt: None,
            pre_model: None,
            name: None,
            handle_tool_errors: true,
            options: CompileOptions::default(),
            interrupt_before_tools: false,
        }
    }

    /// A system prompt put before the conversation on every model call (not stored in state).
    pub fn prompt(mut self, prompt: impl Into<Content>) -> Self {
        self.prompt = Some(Message::system(prompt));
        self
    }

    /// A transformation of the history applied before each model call (e.g. [`Trim`](crate::Trim)
    /// to fit the context window); the state keeps the full history.
    pub fn pre_model(mut self, transform: impl MessageTransform) -> Self {
        self.pre_model = Some(Arc::new(transform));
        self
    }

    /// The graph's name (shown in drawings and events).
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// Whether tool errors become error tool messages the model can read (default) or fail the run.
    pub fn handle_tool_errors(mut self, yes: bool) -> Self {
        self.handle_tool_errors = yes;
        self
    }

    /// Compile options (a checkpointer, static interrupts, ...); the agent's name and
    /// [`interrupt_before_tools`](Self::interrupt_before_tools) are added to them.
    pub fn compile_options(mut self, options: CompileOptions) -> Self {
        self.options = options;
        self
    }

    /// Pause every run before the tools run, so a human can approve the calls (LangGraph's
    /// `interrupt_before=["tools"]`). Needs a checkpointer in the
    /// [`compile_options`](Self::compile_options).
    pub fn interrupt_before_tools(mut self, yes: bool) -> Self {
        self.interrupt_before_tools = yes;
        self
    }

    /// The uncompiled graph, to add nodes or edges before compiling.
    pub fn graph(&self) -> StateGraph {
        let tool_node = ToolNode::new(self.tools.clone()).handle_errors(self.handle_tool_errors);
        let agent = AgentNode {
            model: self.model.clone(),
            tools: tool_node.specs(),
            prompt: self.prompt.clone(),
            pre_model: self.pre_model.clone(),
            checked: Arc::default(),
        };
        let schema = MessagesState::schema().managed("remaining_steps", Managed::RemainingSteps);
        let mut graph = StateGraph::new(schema);
        graph.add_node(AGENT_NODE, agent).add_edge(START, AGENT_NODE);
        if self.tools.is_empty() {
            graph.add_edge(AGENT_NODE, END);
        } else {
            graph
                .add_node(TOOLS_NODE, tool_node)
                .add_conditional_edges(AGENT_NODE, tools_condition, PathMap::nodes([TOOLS_NODE, END]))
                .add_edge(TOOLS_NODE, AGENT_NODE);
        }
        graph
    }

    /// Compiles the agent.
    pub fn build(self) -> stategraph_core::Result<CompiledGraph> {
        let mut options = self.options.clone();
        if self.name.is_some() {
            options.name = self.name.clone();
        }
        if self.interrupt_before_tools && !options.interrupt_before.iter().any(|n| n == TOOLS_NODE) {
            options.interrupt_before.push(TOOLS_NODE.to_owned());
        }
        self.graph().compile_with(options)
    }
}

/// A ReAct agent: `model` calls `tools` until it answers without tool calls (LangGraph's
/// `create_react_agent(model, tools)`). See [`ReactAgent`] for options.
///
/// ```
/// use std::sync::Arc;
/// use serde_json::json;
/// use stategraph_core::RunConfig;
/// use stategraph_prebuilt::{Message, ScriptedModel, Tool, ToolCall, ToolError, create_react_agent, tool_fn};
///
/// #[derive(serde::Deserialize, schemars::JsonSchema)]
/// struct Add { a: i64, b: i64 }
///
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// let add = tool_fn("add", "Adds.", |x: Add| async move { Ok::<_, ToolError>(x.a + x.b) });
/// let model = ScriptedModel::new([
///     Message::ai_with_tool_calls("", vec![ToolCall::new("add", json!({"a": 1, "b": 2}), "c1")]),
///     Message::ai("1 + 2 = 3"),
/// ]);
/// let agent = create_react_agent(model, vec![Arc::new(add) as Arc<dyn Tool>]).unwrap();
/// let out = agent.invoke(json!({"messages": "What is 1 + 2?"}), RunConfig::default()).await.unwrap();
/// let messages = out["messages"].as_array().unwrap();
/// assert_eq!(messages[2]["content"], json!("3"));
/// assert_eq!(messages[3]["content"], json!("1 + 2 = 3"));
/// # });
/// ```
pub fn create_react_agent(model: impl ChatModel, tools: Vec<Arc<dyn Tool>>) -> stategraph_core::Result<CompiledGraph> {
    ReactAgent::builder(model, tools).build()
}

/// The model node: history → (pre-model transform) → (prompt) → model with tools bound.
#[derive(Clone)]
struct AgentNode {
    model: Arc<dyn ChatModel>,
    tools: Vec<ToolSpec>,
    prompt: Option<Message>,
    pre_model: Option<Arc<dyn MessageTransform>>,
    /// The messages of the last call, known to convert (see [`CheckedMessages`]).
    checked: Arc<CheckedMessages>,
}

impl Node for AgentNode {
    fn call(&self, input: State, ctx: NodeContext) -> BoxFuture<'static, NodeResult> {
        let this = self.clone();
        async move {
            let messages = match &this.pre_model {
                Some(t) => {
                    let mut messages = t.apply(&messages_of(&input)?)?;
                    if let Some(p) = &this.prompt {
                        messages.insert(0, p.clone());
                    }
                    History::new(messages)
                }
                // The history is not converted unless the model reads it: a call costs nothing per
                // earlier message (the values share their strings with the state).
                None => history_of_checked(&input, this.prompt.as_ref(), &this.checked)?,
            };
            let request = ChatRequest { messages, tools: this.tools.clone(), ..ChatRequest::default() };
            // Token by token into the `messages` stream when the run streams it.
            let mut answer =
                call_model(&*this.model, request, &ctx).await.map_err(|e| NodeError::from(crate::Error::from(e)))?;
            let remaining = input.get("remaining_steps").and_then(Value::as_i64);
            if remaining.is_some_and(|r| r < 2) && answer.has_tool_calls() {
                answer = Message { id: answer.id, ..Message::ai(NEED_MORE_STEPS) };
            }
            let mut update = Map::new();
            update.insert(MESSAGES_KEY.into(), Value::from(vec![answer.into_value()]));
            Ok(update.into())
        }
        .boxed()
    }
}
