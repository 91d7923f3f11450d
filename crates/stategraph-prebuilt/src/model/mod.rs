//! Chat models: the [`ChatModel`] trait, requests, streamed chunks, and two implementations —
//! [`OpenAiChat`] for any OpenAI-compatible endpoint and [`ScriptedModel`] for tests and offline
//! demos — and [`call_model`], which a node uses to stream the answer into the `messages` mode.

mod call;
mod chunk;
mod history;
mod openai;
mod partial_json;
mod scripted;
mod sse;

use std::sync::Arc;
use std::time::Duration;

use futures::future::BoxFuture;
use futures::stream::BoxStream;
use futures::{FutureExt, StreamExt};
use stategraph_core::{Map, Value};

pub use call::call_model;
pub use chunk::{MessageChunk, ToolCallChunk, collect_stream};
pub use history::History;
pub use openai::{OpenAiChat, OpenAiConfig};
pub use scripted::{ScriptedModel, TokenSplit};

use crate::message::Message;

/// Why a model call failed.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum ModelError {
    /// The client is misconfigured (e.g. an invalid base URL).
    #[error("configuration: {0}")]
    Config(String),
    /// The server answered with an error status.
    #[error("HTTP {status}: {message}")]
    Http {
        /// The status code.
        status: u16,
        /// The provider's error message (or the start of the body).
        message: String,
        /// How long the server asked to wait, if it said.
        retry_after: Option<Duration>,
    },
    /// No answer within the configured timeout.
    #[error("timed out after {0:?}")]
    Timeout(Duration),
    /// The connection failed.
    #[error("transport: {0}")]
    Transport(String),
    /// The response is not a chat completion this client understands.
    #[error("invalid response: {0}")]
    InvalidResponse(String),
    /// A line of a streamed (server-sent events) response could not be read.
    #[error("invalid stream event `{line}`: {reason}")]
    InvalidStream {
        /// The offending line (shortened).
        line: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A scripted model has no answer left, or its script failed.
    #[error("scripted model: {0}")]
    Script(String),
}

impl ModelError {
    /// Whether trying again may succeed: rate limits, server errors, timeouts, lost connections.
    pub fn is_retryable(&self) -> bool {
        match self {
            ModelError::Http { status, .. } => matches!(status, 408 | 409 | 429) || *status >= 500,
            ModelError::Timeout(_) | ModelError::Transport(_) => true,
            _ => false,
        }
    }
}

impl From<ModelError> for crate::Error {
    fn from(e: ModelError) -> Self {
        crate::Error::Model(e)
    }
}

/// A tool as the model sees it: name, description and a JSON Schema of its arguments.
#[derive(Debug, Clone, PartialEq)]
pub struct ToolSpec {
    /// The name the model calls it by.
    pub name: String,
    /// What it does (the model reads this to decide when to call it).
    pub description: String,
    /// JSON Schema of the arguments object.
    pub parameters: Value,
}

/// One call to a chat model.
#[derive(Debug, Clone, Default)]
pub struct ChatRequest {
    /// The conversation (it reads like a `Vec<Message>`; see [`History`] for why it is not one).
    pub messages: History,
    /// Tools the model may call.
    pub tools: Vec<ToolSpec>,
    /// Provider tool choice (`"auto"`, `"required"`, `{"type": "function", ...}`), if any.
    pub tool_choice: Option<Value>,
    /// Extra provider parameters (temperature, max_tokens, ...), sent as they are.
    pub options: Map,
}

impl ChatRequest {
    /// A request with these messages and nothing else.
    pub fn new(messages: impl Into<History>) -> Self {
        ChatRequest { messages: messages.into(), ..ChatRequest::default() }
    }
}

/// A chat model. Object safe: agents hold an `Arc<dyn ChatModel>` chosen at run time.
///
/// ```
/// use stategraph_prebuilt::{ChatModel, Message, ScriptedModel};
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// let model = ScriptedModel::new([Message::ai("hello")]);
/// let answer = model.invoke(vec![Message::human("hi")]).await.unwrap();
/// assert_eq!(answer.text(), "hello");
/// # });
/// ```
pub trait ChatModel: Send + Sync + 'static {
    /// Answers with one AI message.
    fn generate(&self, request: ChatRequest) -> BoxFuture<'static, Result<Message, ModelError>>;

    /// Answers as a stream of chunks (tokens and tool-call fragments); [`collect_stream`]
    /// assembles them. The default streams the whole answer as one chunk.
    fn stream(&self, request: ChatRequest) -> BoxStream<'static, Result<MessageChunk, ModelError>> {
        self.generate(request).map(|r| r.map(MessageChunk::from_message)).into_stream().boxed()
    }

    /// A name for logs and response metadata.
    fn model_name(&self) -> &str {
        "chat-model"
    }

    /// LangSmith's description of a call (`ls_provider`, `ls_model_name`, `ls_model_type`,
    /// `ls_temperature`, ...), added to the metadata of every chunk streamed in `messages` mode,
    /// as LangChain's chat models add it. The default names the provider `"custom"` and reads
    /// `temperature`, `max_tokens` and `stop` from the request's options.
    fn ls_params(&self, request: &ChatRequest) -> Map {
        ls_params("custom", self.model_name(), None, request)
    }

    /// Answers `messages` (no tools unless the model is [bound](ChatModel::bind_tools)).
    fn invoke(&self, messages: Vec<Message>) -> BoxFuture<'static, Result<Message, ModelError>> {
        self.generate(ChatRequest::new(messages))
    }

    /// This model with tools it may call on every request.
    fn bind_tools(self, tools: Vec<ToolSpec>) -> BoundModel
    where
        Self: Sized,
    {
        BoundModel { inner: Arc::new(self), tools, tool_choice: None }
    }
}

impl ChatModel for Arc<dyn ChatModel> {
    fn generate(&self, request: ChatRequest) -> BoxFuture<'static, Result<Message, ModelError>> {
        (**self).generate(request)
    }
    fn stream(&self, request: ChatRequest) -> BoxStream<'static, Result<MessageChunk, ModelError>> {
        (**self).stream(request)
    }
    fn model_name(&self) -> &str {
        (**self).model_name()
    }
    fn ls_params(&self, request: &ChatRequest) -> Map {
        (**self).ls_params(request)
    }
}

/// A model with tools bound (see [`ChatModel::bind_tools`]); the tools are added to every request.
#[derive(Clone)]
pub struct BoundModel {
    inner: Arc<dyn ChatModel>,
    tools: Vec<ToolSpec>,
    tool_choice: Option<Value>,
}

impl BoundModel {
    /// Binds tools to a shared model.
    pub fn new(model: Arc<dyn ChatModel>, tools: Vec<ToolSpec>) -> Self {
        BoundModel { inner: model, tools, tool_choice: None }
    }
    /// Sets the tool choice (`"auto"`, `"required"`, `"none"`, or a provider object).
    pub fn tool_choice(mut self, choice: impl Into<Value>) -> Self {
        self.tool_choice = Some(choice.into());
        self
    }
    /// The bound tools.
    pub fn tools(&self) -> &[ToolSpec] {
        &self.tools
    }
    fn extend(&self, mut request: ChatRequest) -> ChatRequest {
        let mut tools = self.tools.clone();
        tools.append(&mut request.tools);
        request.tools = tools;
        if request.tool_choice.is_none() {
            request.tool_choice = self.tool_choice.clone();
        }
        request
    }
}

impl ChatModel for BoundModel {
    fn generate(&self, request: ChatRequest) -> BoxFuture<'static, Result<Message, ModelError>> {
        self.inner.generate(self.extend(request))
    }
    fn stream(&self, request: ChatRequest) -> BoxStream<'static, Result<MessageChunk, ModelError>> {
        self.inner.stream(self.extend(request))
    }
    fn model_name(&self) -> &str {
        self.inner.model_name()
    }
    fn ls_params(&self, request: &ChatRequest) -> Map {
        self.inner.ls_params(request)
    }
}

/// LangChain's `_get_ls_params`: the provider, the model, `"chat"`, and the sampling options of
/// the request (`temperature` and `max_tokens` when numbers, `stop` when given), falling back to
/// `defaults` (a client's configured options).
pub(crate) fn ls_params(provider: &str, model: &str, defaults: Option<&Map>, request: &ChatRequest) -> Map {
    let option = |k: &str| request.options.get(k).or_else(|| defaults.and_then(|d| d.get(k)));
    let mut m = Map::new();
    m.insert("ls_provider".into(), Value::from(provider));
    m.insert("ls_model_name".into(), Value::from(model));
    m.insert("ls_model_type".into(), Value::from("chat"));
    if let Some(t) = option("temperature").filter(|v| v.is_number()) {
        m.insert("ls_temperature".into(), t.clone());
    }
    if let Some(n) = option("max_tokens").or_else(|| option("max_completion_tokens")).filter(|v| v.as_u64().is_some()) {
        m.insert("ls_max_tokens".into(), n.clone());
    }
    if let Some(stop) = option("stop").filter(|v| !v.is_null()) {
        m.insert("ls_stop".into(), stop.clone());
    }
    m
}
