//! `MessageGraph`: a graph whose state is the conversation itself.

use std::future::Future;
use std::sync::Arc;

use futures::FutureExt;
use futures::future::BoxFuture;
use stategraph_core::{
    CompiledGraph, EdgeSource, Map, Node, NodeContext, NodeError, NodeResult, PathMap, Route, RunConfig, State,
    StateGraph, StreamOptions, Value,
};

use crate::add_messages::{MESSAGES_KEY, MessagesState};
use crate::message::{Message, coerce_messages};
use crate::model::{ChatModel, ChatRequest, call_model};
use crate::transform::{MessageTransform, history_of, messages_of, transform_node};

/// What a message-graph node may return: one message, several, or none.
pub trait IntoMessages {
    /// The messages.
    fn into_messages(self) -> Vec<Message>;
}

impl IntoMessages for Message {
    fn into_messages(self) -> Vec<Message> {
        vec![self]
    }
}
impl IntoMessages for Vec<Message> {
    fn into_messages(self) -> Vec<Message> {
        self
    }
}
impl IntoMessages for Option<Message> {
    fn into_messages(self) -> Vec<Message> {
        self.into_iter().collect()
    }
}
impl IntoMessages for () {
    fn into_messages(self) -> Vec<Message> {
        Vec::new()
    }
}

/// A node over the message list: receives the conversation, returns messages that
/// [`add_messages`](crate::add_messages) merges in (appended, or replacing the message with the
/// same id; remove markers delete).
struct MessagesNode<F>(Arc<F>);

impl<F, Fut, O> Node for MessagesNode<F>
where
    F: Fn(Vec<Message>) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<O, NodeError>> + Send + 'static,
    O: IntoMessages,
{
    fn call(&self, input: State, _ctx: NodeContext) -> BoxFuture<'static, NodeResult> {
        let f = self.0.clone();
        async move {
            let messages = messages_of(&input)?;
            let out = f(messages).await?.into_messages();
            let mut update = Map::new();
            update.insert(MESSAGES_KEY.into(), out.into_iter().map(Message::into_value).collect());
            Ok(update.into())
        }
        .boxed()
    }
}

/// A node that answers the conversation with a chat model (see [`MessageGraph::add_model_node`]).
struct ModelNode(Arc<dyn ChatModel>);

impl Node for ModelNode {
    fn call(&self, input: State, ctx: NodeContext) -> BoxFuture<'static, NodeResult> {
        let model = self.0.clone();
        async move {
            let request = ChatRequest::new(history_of(&input, None)?);
            let answer = call_model(&*model, request, &ctx).await.map_err(crate::Error::from)?;
            let mut update = Map::new();
            update.insert(MESSAGES_KEY.into(), Value::from(vec![answer.into_value()]));
            Ok(update.into())
        }
        .boxed()
    }
}

/// A graph whose whole state is a list of messages (LangGraph's `MessageGraph`): nodes take the
/// conversation and return messages to merge in; transformations ([`Trim`](crate::Trim),
/// [`Filter`](crate::Filter), ...) are nodes too; [`Condition`](crate::Condition)s route on the
/// last message. Underneath it is a [`StateGraph`] over [`MessagesState`]; the list lives under
/// the key `messages`.
///
/// ```
/// use stategraph_core::{NodeError, END, START};
/// use stategraph_prebuilt::{Condition, Message, MessageGraph, Trim};
///
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// let mut graph = MessageGraph::new();
/// graph
///     .add_node("bot", |history: Vec<Message>| async move {
///         Ok::<_, NodeError>(Message::ai(format!("you said {} things", history.len())))
///     })
///     .add_transform("keep_two", Trim::last(2))
///     .add_edge(START, "bot")
///     .add_conditional_edges("bot", Condition::content_matches("things").unwrap().route("keep_two", END), ["keep_two", END])
///     .add_edge("keep_two", END);
/// let app = graph.compile().unwrap();
/// let out = app.invoke(vec![Message::human("a"), Message::human("b")]).await.unwrap();
/// assert_eq!(out.iter().map(|m| m.text()).collect::<Vec<_>>(), ["b", "you said 2 things"]);
/// # });
/// ```
#[derive(Clone)]
pub struct MessageGraph {
    graph: StateGraph,
}

impl Default for MessageGraph {
    fn default() -> Self {
        MessageGraph::new()
    }
}

impl MessageGraph {
    /// An empty graph.
    pub fn new() -> Self {
        MessageGraph { graph: StateGraph::new(MessagesState::schema()) }
    }

    /// Adds a node: an async function of the conversation returning messages to merge in.
    pub fn add_node<F, Fut, O>(&mut self, name: &str, node: F) -> &mut Self
    where
        F: Fn(Vec<Message>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<O, NodeError>> + Send + 'static,
        O: IntoMessages,
    {
        self.graph.add_node(name, MessagesNode(Arc::new(node)));
        self
    }

    /// Adds a node that answers the conversation with `model` (its answer is appended). When the
    /// run is streamed in `messages` mode, the answer streams token by token ([`call_model`]).
    ///
    /// ```
    /// use futures::StreamExt;
    /// use stategraph_core::{END, RunConfig, START, StreamMode, StreamOptions};
    /// use stategraph_prebuilt::{Message, MessageGraph, ScriptedModel};
    ///
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// let mut graph = MessageGraph::new();
    /// graph.add_model_node("bot", ScriptedModel::new([Message::ai("Hi there")])).add_edge(START, "bot").add_edge("bot", END);
    /// let app = graph.compile().unwrap();
    /// let opts = StreamOptions::mode(StreamMode::Messages);
    /// let tokens: Vec<String> = app
    ///     .stream(vec![Message::human("hi")], RunConfig::default(), opts)
    ///     .map(|e| e.unwrap().data[0]["content"].as_str().unwrap().to_owned())
    ///     .collect()
    ///     .await;
    /// assert_eq!(tokens, ["Hi ", "there", ""]);
    /// # });
    /// ```
    pub fn add_model_node(&mut self, name: &str, model: impl ChatModel) -> &mut Self {
        self.graph.add_node(name, ModelNode(Arc::new(model)));
        self
    }

    /// Adds a node that replaces the conversation with `transform` of it.
    pub fn add_transform(&mut self, name: &str, transform: impl MessageTransform) -> &mut Self {
        self.graph.add_node(name, transform_node(transform));
        self
    }

    /// Adds an edge (see [`StateGraph::add_edge`]).
    pub fn add_edge(&mut self, from: impl Into<EdgeSource>, to: &str) -> &mut Self {
        self.graph.add_edge(from, to);
        self
    }

    /// Adds a conditional edge (see [`StateGraph::add_conditional_edges`]); routers built from
    /// [`Condition`](crate::Condition)s read the last message.
    pub fn add_conditional_edges<F, R>(&mut self, source: &str, router: F, path_map: impl Into<PathMap>) -> &mut Self
    where
        F: Fn(&State) -> R + Send + Sync + 'static,
        R: Into<Route>,
    {
        self.graph.add_conditional_edges(source, router, path_map);
        self
    }

    /// The underlying state graph, for anything else (node options, retry policies, ...).
    pub fn graph_mut(&mut self) -> &mut StateGraph {
        &mut self.graph
    }

    /// Validates and compiles the graph.
    pub fn compile(&self) -> stategraph_core::Result<CompiledMessageGraph> {
        Ok(CompiledMessageGraph { graph: self.graph.compile()? })
    }
}

/// A compiled [`MessageGraph`]: runs on a list of messages and returns the final list.
#[derive(Clone)]
pub struct CompiledMessageGraph {
    graph: CompiledGraph,
}

impl CompiledMessageGraph {
    /// Runs the graph on these messages.
    pub async fn invoke(&self, messages: Vec<Message>) -> stategraph_core::Result<Vec<Message>> {
        let input = Value::from(messages.into_iter().map(Message::into_value).collect::<Vec<_>>());
        self.invoke_value(input, RunConfig::default()).await
    }

    /// Runs the graph on message-like values (anything [`coerce_messages`] reads), with a run
    /// configuration.
    pub async fn invoke_value(&self, messages: Value, config: RunConfig) -> stategraph_core::Result<Vec<Message>> {
        let mut input = Map::new();
        input.insert(MESSAGES_KEY.into(), messages);
        let out = self.graph.invoke(Value::from(input), config).await?;
        coerce_messages(&out[MESSAGES_KEY]).map_err(|e| stategraph_core::Error::Conversion(e.to_string()))
    }

    /// Streams a run (events carry the state as `{"messages": [...]}`).
    pub fn stream(
        &self,
        messages: Vec<Message>,
        config: RunConfig,
        options: StreamOptions,
    ) -> stategraph_core::RunStream {
        let mut input = Map::new();
        input.insert(MESSAGES_KEY.into(), messages.into_iter().map(Message::into_value).collect());
        self.graph.stream(Value::from(input), config, options)
    }

    /// The compiled state graph underneath.
    pub fn graph(&self) -> &CompiledGraph {
        &self.graph
    }
}
