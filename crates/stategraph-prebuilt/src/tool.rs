//! Tools the model can call, the node that runs them, and the condition that routes to it.

use std::fmt;
use std::future::Future;
use std::marker::PhantomData;
use std::sync::Arc;

use futures::FutureExt;
use futures::future::BoxFuture;
use indexmap::IndexMap;
use schemars::JsonSchema;
use serde::Serialize;
use serde::de::DeserializeOwned;
use stategraph_core::{Map, Node, NodeContext, NodeError, NodeResult, Route, State, Value};

use crate::add_messages::MESSAGES_KEY;
use crate::message::{Content, Kind, Message, ToolCall};
use crate::model::ToolSpec;
use crate::route::last_message;

/// Why a tool call failed. The [`ToolNode`] turns it into a tool message with status `error`,
/// so the model can read it and try again.
#[derive(Debug, Clone, PartialEq)]
pub struct ToolError {
    message: String,
}

impl ToolError {
    /// An error with this message.
    pub fn new(message: impl Into<String>) -> Self {
        ToolError { message: message.into() }
    }
    /// The message.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for ToolError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for ToolError {}

impl From<String> for ToolError {
    fn from(message: String) -> Self {
        ToolError { message }
    }
}
impl From<&str> for ToolError {
    fn from(message: &str) -> Self {
        ToolError::new(message)
    }
}

/// Something the model can call: a name, a description, a JSON Schema of the arguments, and
/// the call itself. Object safe; agents hold `Arc<dyn Tool>`.
pub trait Tool: Send + Sync + 'static {
    /// The name the model calls it by.
    fn name(&self) -> &str;
    /// What it does.
    fn description(&self) -> &str;
    /// JSON Schema of the arguments object.
    fn parameters(&self) -> Value;
    /// Runs the tool. A string result is the tool message's text; anything else is sent as JSON.
    fn call(&self, args: Value) -> BoxFuture<'static, Result<Value, ToolError>>;

    /// The tool as the model sees it.
    fn spec(&self) -> ToolSpec {
        ToolSpec {
            name: self.name().to_owned(),
            description: self.description().to_owned(),
            parameters: self.parameters(),
        }
    }
}

/// A tool from an async function of a typed argument; the JSON Schema is derived from the type
/// with `schemars`, and the model's arguments are deserialized into it (a mismatch is a tool
/// error the model sees). Built by [`tool_fn`].
pub struct FnTool<A, F> {
    name: String,
    description: String,
    parameters: Value,
    f: Arc<F>,
    _args: PhantomData<fn(A)>,
}

/// Builds a [`FnTool`].
///
/// ```
/// use schemars::JsonSchema;
/// use serde::Deserialize;
/// use stategraph_prebuilt::{Tool, ToolError, tool_fn};
///
/// #[derive(Deserialize, JsonSchema)]
/// struct Add {
///     /// First term.
///     a: i64,
///     /// Second term.
///     b: i64,
/// }
///
/// let add = tool_fn("add", "Adds two integers.", |args: Add| async move { Ok::<_, ToolError>(args.a + args.b) });
/// assert_eq!(add.parameters()["properties"]["a"]["type"], serde_json::json!("integer"));
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// assert_eq!(add.call(serde_json::json!({"a": 1, "b": 2}).into()).await.unwrap(), serde_json::json!(3));
/// assert!(add.call(serde_json::json!({"a": 1}).into()).await.is_err());
/// # });
/// ```
pub fn tool_fn<A, F, Fut, O, E>(name: impl Into<String>, description: impl Into<String>, f: F) -> FnTool<A, F>
where
    A: DeserializeOwned + JsonSchema + Send + 'static,
    F: Fn(A) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<O, E>> + Send + 'static,
    O: Serialize,
    E: fmt::Display,
{
    FnTool {
        name: name.into(),
        description: description.into(),
        parameters: schema_of::<A>(),
        f: Arc::new(f),
        _args: PhantomData,
    }
}

/// The JSON Schema of `T` as tool parameters (without `$schema` and `title`, which providers
/// do not want).
pub fn schema_of<T: JsonSchema>() -> Value {
    let schema = schemars::schema_for!(T);
    let mut v = Value::from(serde_json::to_value(&schema).unwrap_or(serde_json::Value::Null));
    if let Some(m) = v.as_object_mut() {
        m.shift_remove("$schema");
        m.shift_remove("title");
    }
    v
}

impl<A, F, Fut, O, E> Tool for FnTool<A, F>
where
    A: DeserializeOwned + JsonSchema + Send + 'static,
    F: Fn(A) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<O, E>> + Send + 'static,
    O: Serialize,
    E: fmt::Display,
{
    fn name(&self) -> &str {
        &self.name
    }
    fn description(&self) -> &str {
        &self.description
    }
    fn parameters(&self) -> Value {
        self.parameters.clone()
    }
    fn call(&self, args: Value) -> BoxFuture<'static, Result<Value, ToolError>> {
        let parsed: Result<A, _> = args.deserialize_into();
        let name = self.name.clone();
        let f = self.f.clone();
        async move {
            let args = parsed.map_err(|e| ToolError::new(format!("invalid arguments for `{name}`: {e}")))?;
            let out = f(args).await.map_err(|e| ToolError::new(e.to_string()))?;
            Value::from_serialize(&out)
                .map_err(|e| ToolError::new(format!("`{name}` returned a value that is not JSON: {e}")))
        }
        .boxed()
    }
}

/// Runs the tool calls of the last AI message, all at once, and answers each with a tool message
/// (in the order of the calls). A failing tool, an unknown tool name or bad arguments become a
/// tool message with status `error` (LangGraph's `handle_tool_errors=True`) unless
/// [`handle_errors(false)`](ToolNode::handle_errors), which fails the node instead.
///
/// ```
/// use std::sync::Arc;
/// use stategraph_prebuilt::{Tool, ToolError, ToolNode, tool_fn};
///
/// #[derive(serde::Deserialize, schemars::JsonSchema)]
/// struct Echo { text: String }
/// let echo = tool_fn("echo", "Repeats the text.", |a: Echo| async move { Ok::<_, ToolError>(a.text) });
/// let node = ToolNode::new(vec![Arc::new(echo) as Arc<dyn Tool>]);
/// assert_eq!(node.specs()[0].name, "echo");
/// ```
#[derive(Clone)]
pub struct ToolNode {
    tools: Arc<IndexMap<String, Arc<dyn Tool>>>,
    handle_errors: bool,
}

impl fmt::Debug for ToolNode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ToolNode").field("tools", &self.tools.keys().collect::<Vec<_>>()).finish()
    }
}

impl ToolNode {
    /// A node running these tools.
    pub fn new(tools: Vec<Arc<dyn Tool>>) -> Self {
        ToolNode { tools: Arc::new(tools.into_iter().map(|t| (t.name().to_owned(), t)).collect()), handle_errors: true }
    }

    /// Whether tool errors become error tool messages (the default) or fail the node.
    pub fn handle_errors(mut self, yes: bool) -> Self {
        self.handle_errors = yes;
        self
    }

    /// The tools as the model sees them.
    pub fn specs(&self) -> Vec<ToolSpec> {
        self.tools.values().map(|t| t.spec()).collect()
    }

    /// Runs these calls concurrently and returns their tool messages, in call order.
    pub async fn run(&self, calls: Vec<ToolCall>) -> Result<Vec<Message>, NodeError> {
        let runs = calls.into_iter().map(|call| self.run_one(call));
        futures::future::join_all(runs).await.into_iter().collect()
    }

    async fn run_one(&self, call: ToolCall) -> Result<Message, NodeError> {
        let call_id = call.id.clone().unwrap_or_default();
        let outcome = match self.tools.get(&call.name) {
            None => Err(ToolError::new(format!(
                "{} is not a valid tool, try one of [{}].",
                call.name,
                self.tools.keys().map(String::as_str).collect::<Vec<_>>().join(", ")
            ))),
            Some(tool) => tool.call(call.args.clone()).await,
        };
        match outcome {
            Ok(value) => {
                let content = match value {
                    Value::String(s) => Content::Text(s.to_string()),
                    other => Content::Text(other.to_string()),
                };
                Ok(Message::tool(content, call_id).with_name(call.name))
            }
            Err(e) if self.handle_errors || !self.tools.contains_key(&call.name) => {
                let text = if self.tools.contains_key(&call.name) {
                    format!("Error: {e}\n Please fix your mistakes.")
                } else {
                    format!("Error: {e}")
                };
                Ok(Message::tool_error(text, call_id).with_name(call.name))
            }
            Err(e) => Err(NodeError::new(format!("tool `{}` failed: {e}", call.name)).with_kind("ToolException")),
        }
    }
}

impl Node for ToolNode {
    fn call(&self, input: State, ctx: NodeContext) -> BoxFuture<'static, NodeResult> {
        let this = self.clone();
        let streaming = ctx.streams_messages();
        async move {
            let Some(last) = last_message(&input) else {
                return Err(NodeError::permanent("No message found in input").with_kind("ValueError"));
            };
            let calls = match last.kind {
                Kind::Ai(ai) => ai.tool_calls,
                _ => return Err(NodeError::permanent("No AIMessage found in input").with_kind("ValueError")),
            };
            let mut messages = this.run(calls).await?;
            if streaming {
                // The engine streams the results whole when the node ends; with their ids set here
                // the stream shows the ids the state keeps, so a parent graph that returns this
                // conversation does not stream them again.
                for m in &mut messages {
                    m.id.get_or_insert_with(|| uuid::Uuid::new_v4().to_string());
                }
            }
            let mut update = Map::new();
            update.insert(MESSAGES_KEY.into(), messages.into_iter().map(Message::into_value).collect());
            Ok(update.into())
        }
        .boxed()
    }
}

/// The name [`tools_condition`] routes to.
pub const TOOLS_NODE: &str = "tools";

/// LangGraph's `tools_condition`: `"tools"` when the last message asks for tool calls, else END.
///
/// ```
/// use serde_json::json;
/// use stategraph_core::{END, State};
/// use stategraph_prebuilt::tools_condition;
/// let state = State::from_value(json!({"messages": [{"type": "ai", "content": "hi"}]}));
/// assert_eq!(tools_condition(&state), END.into());
/// ```
pub fn tools_condition(state: &State) -> Route {
    if last_message(state).is_some_and(|m| m.has_tool_calls()) { Route::from(TOOLS_NODE) } else { Route::end() }
}
