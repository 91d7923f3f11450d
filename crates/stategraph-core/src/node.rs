//! Nodes: the units of work. Any async closure `(State, NodeContext) -> Result<impl Into<NodeOutput>, E>`
//! is a node, and so is a compiled graph (a subgraph).

use std::future::Future;
use std::sync::Arc;

use futures::FutureExt;
use futures::future::BoxFuture;

use crate::error::NodeError;
use crate::graph::CompiledGraph;
use crate::retry::RetryPolicy;
use crate::types::NodeOutput;
use crate::value::{Map, Value};
use crate::{NodeContext, State};

/// The result a node produces.
pub type NodeResult = std::result::Result<NodeOutput, NodeError>;

/// A unit of work in a graph.
pub trait Node: Send + Sync + 'static {
    /// Runs the node on its input.
    fn call(&self, input: State, ctx: NodeContext) -> BoxFuture<'static, NodeResult>;

    /// The graph this node runs, when it is a subgraph (for drawings and namespaces).
    fn subgraph(&self) -> Option<&CompiledGraph> {
        None
    }
}

/// A shared, type-erased node.
pub type BoxNode = Arc<dyn Node>;

/// Output conversion for node return values, so nodes can return `json!({...})`, an `Update`,
/// a `Command`, `()` or `Option<_>` of those.
pub trait IntoNodeOutput {
    /// Converts.
    fn into_node_output(self) -> NodeOutput;
}

impl<T: Into<NodeOutput>> IntoNodeOutput for T {
    fn into_node_output(self) -> NodeOutput {
        self.into()
    }
}

impl<F, Fut, O, E> Node for F
where
    F: Fn(State, NodeContext) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = std::result::Result<O, E>> + Send + 'static,
    O: IntoNodeOutput,
    E: Into<NodeError>,
{
    fn call(&self, input: State, ctx: NodeContext) -> BoxFuture<'static, NodeResult> {
        let fut = self(input, ctx);
        async move { fut.await.map(IntoNodeOutput::into_node_output).map_err(Into::into) }.boxed()
    }
}

/// A node from a synchronous function (no `.await` inside). Runs on the executor thread, so keep
/// it short or use `tokio::task::spawn_blocking` inside an async node for heavy work.
pub fn sync_node<F, O, E>(f: F) -> SyncNode<F>
where
    F: Fn(State, NodeContext) -> std::result::Result<O, E> + Send + Sync + 'static,
    O: IntoNodeOutput,
    E: Into<NodeError>,
{
    SyncNode(f)
}

/// See [`sync_node`].
pub struct SyncNode<F>(F);

impl<F, O, E> Node for SyncNode<F>
where
    F: Fn(State, NodeContext) -> std::result::Result<O, E> + Send + Sync + 'static,
    O: IntoNodeOutput,
    E: Into<NodeError>,
{
    fn call(&self, input: State, ctx: NodeContext) -> BoxFuture<'static, NodeResult> {
        let out = (self.0)(input, ctx).map(IntoNodeOutput::into_node_output).map_err(Into::into);
        futures::future::ready(out).boxed()
    }
}

/// Options of a node (LangGraph's `add_node` keyword arguments).
#[derive(Clone, Default, Debug)]
pub struct NodeOptions {
    /// Run only when nothing else is left to run (`defer=True`).
    pub defer: bool,
    /// Retry policy.
    pub retry: Option<RetryPolicy>,
    /// Metadata shown in task events.
    pub metadata: Map,
    /// State keys the node reads; `None` = all keys of the state. May name private keys that
    /// are not in the state schema (they become channels of their own).
    pub input_keys: Option<Vec<String>>,
    /// Nodes this node may go to with a `Command` (LangGraph's `destinations`); used for
    /// validation and drawings.
    pub destinations: Vec<String>,
}

impl NodeOptions {
    /// Default options.
    pub fn new() -> Self {
        Self::default()
    }
    /// Defers the node.
    pub fn defer(mut self) -> Self {
        self.defer = true;
        self
    }
    /// Sets a retry policy.
    pub fn retry(mut self, policy: RetryPolicy) -> Self {
        self.retry = Some(policy);
        self
    }
    /// Adds metadata.
    pub fn metadata(mut self, key: impl Into<String>, value: impl Into<Value>) -> Self {
        self.metadata.insert(key.into().into(), value.into());
        self
    }
    /// Restricts (or extends with private keys) what the node reads.
    pub fn input_keys<I: IntoIterator<Item = S>, S: Into<String>>(mut self, keys: I) -> Self {
        self.input_keys = Some(keys.into_iter().map(Into::into).collect());
        self
    }
    /// Declares where the node may go with a `Command`.
    pub fn destinations<I: IntoIterator<Item = S>, S: Into<String>>(mut self, nodes: I) -> Self {
        self.destinations = nodes.into_iter().map(Into::into).collect();
        self
    }
}
