//! `StateGraph`: the builder. Collects nodes, edges and branches; `compile()` validates them and
//! produces an immutable [`CompiledGraph`].

use std::sync::Arc;

use indexmap::IndexMap;

use crate::channels::ChannelSpec;
use crate::error::{Error, NodeError};
use crate::graph::CompiledGraph;
use crate::node::{BoxNode, Node, NodeOptions};
use crate::state::{Managed, State};
use crate::types::{END, Route, START};

/// The state schema: each key with its channel, plus managed values.
#[derive(Clone, Debug, Default)]
pub struct Schema {
    pub(crate) keys: IndexMap<String, ChannelSpec>,
    pub(crate) managed: IndexMap<String, Managed>,
}

impl Schema {
    /// An empty schema.
    pub fn new() -> Self {
        Self::default()
    }
    /// Adds (or replaces) a key.
    pub fn key(mut self, name: impl Into<String>, spec: ChannelSpec) -> Self {
        self.keys.insert(name.into(), spec);
        self
    }
    /// Adds a LastValue key.
    pub fn last_value(self, name: impl Into<String>) -> Self {
        self.key(name, ChannelSpec::last_value())
    }
    /// Adds a managed value (e.g. `remaining_steps`).
    pub fn managed(mut self, name: impl Into<String>, managed: Managed) -> Self {
        self.managed.insert(name.into(), managed);
        self
    }
    /// The keys and their channels, in order.
    pub fn keys(&self) -> impl Iterator<Item = (&str, &ChannelSpec)> {
        self.keys.iter().map(|(k, v)| (k.as_str(), v))
    }
    /// Whether the schema has `key` (a channel or a managed value).
    pub fn contains(&self, key: &str) -> bool {
        self.keys.contains_key(key) || self.managed.contains_key(key)
    }
}

/// A router: reads the state (with the source node's own writes applied) and names where to go.
pub type RouterFn = Arc<dyn Fn(&State) -> Result<Route, NodeError> + Send + Sync>;

/// Maps router answers (labels) to node names. Empty = the router returns node names itself.
#[derive(Clone, Debug, Default)]
pub struct PathMap(pub(crate) Option<IndexMap<String, String>>);

impl PathMap {
    /// No mapping: the router returns node names.
    pub fn none() -> Self {
        PathMap(None)
    }
    /// The possible destinations, each its own label.
    pub fn nodes<I: IntoIterator<Item = S>, S: Into<String>>(nodes: I) -> Self {
        PathMap(Some(
            nodes
                .into_iter()
                .map(|n| {
                    let n = n.into();
                    (n.clone(), n)
                })
                .collect(),
        ))
    }
    /// Label → node pairs.
    pub fn labels<I: IntoIterator<Item = (L, N)>, L: Into<String>, N: Into<String>>(pairs: I) -> Self {
        PathMap(Some(pairs.into_iter().map(|(l, n)| (l.into(), n.into())).collect()))
    }
}

impl From<()> for PathMap {
    fn from(_: ()) -> Self {
        PathMap::none()
    }
}
impl<const N: usize> From<[&str; N]> for PathMap {
    fn from(v: [&str; N]) -> Self {
        PathMap::nodes(v)
    }
}
impl From<Vec<&str>> for PathMap {
    fn from(v: Vec<&str>) -> Self {
        PathMap::nodes(v)
    }
}
impl From<Vec<String>> for PathMap {
    fn from(v: Vec<String>) -> Self {
        PathMap::nodes(v)
    }
}
impl<const N: usize> From<[(&str, &str); N]> for PathMap {
    fn from(v: [(&str, &str); N]) -> Self {
        PathMap::labels(v)
    }
}
impl From<IndexMap<String, String>> for PathMap {
    fn from(v: IndexMap<String, String>) -> Self {
        PathMap(Some(v))
    }
}

/// The start of an edge: one node, or several (a join that waits for all of them).
#[derive(Clone, Debug)]
pub struct EdgeSource(pub(crate) Vec<String>, pub(crate) bool);

impl From<&str> for EdgeSource {
    fn from(s: &str) -> Self {
        EdgeSource(vec![s.to_owned()], false)
    }
}
impl From<String> for EdgeSource {
    fn from(s: String) -> Self {
        EdgeSource(vec![s], false)
    }
}
impl<const N: usize> From<[&str; N]> for EdgeSource {
    fn from(v: [&str; N]) -> Self {
        EdgeSource(v.iter().map(|s| (*s).to_owned()).collect(), true)
    }
}
impl From<Vec<&str>> for EdgeSource {
    fn from(v: Vec<&str>) -> Self {
        EdgeSource(v.into_iter().map(str::to_owned).collect(), true)
    }
}
impl From<Vec<String>> for EdgeSource {
    fn from(v: Vec<String>) -> Self {
        EdgeSource(v, true)
    }
}

#[derive(Clone)]
pub(crate) struct NodeSpec {
    pub(crate) node: BoxNode,
    pub(crate) options: NodeOptions,
}

#[derive(Clone)]
pub(crate) struct BranchSpec {
    pub(crate) router: RouterFn,
    pub(crate) path_map: PathMap,
}

/// Options for [`StateGraph::compile_with`].
#[derive(Clone, Default)]
pub struct CompileOptions {
    /// Graph name (shown in drawings and events).
    pub name: Option<String>,
    /// Accept nodes that nothing statically leads to (for graphs that reach nodes only through
    /// undeclared `Command`s, as Python LangGraph allows).
    pub allow_unreachable: bool,
    /// Where runs on a thread save their checkpoints. A graph used as a subgraph without one
    /// inherits its parent's.
    pub checkpointer: Option<std::sync::Arc<dyn stategraph_checkpoint::Checkpointer>>,
    /// Pause before these nodes run (`"*"`: every node); needs a checkpointer.
    pub interrupt_before: Vec<String>,
    /// Pause after these nodes ran (`"*"`: every node); needs a checkpointer.
    pub interrupt_after: Vec<String>,
}

impl std::fmt::Debug for CompileOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CompileOptions")
            .field("name", &self.name)
            .field("allow_unreachable", &self.allow_unreachable)
            .field("checkpointer", &self.checkpointer.is_some())
            .field("interrupt_before", &self.interrupt_before)
            .field("interrupt_after", &self.interrupt_after)
            .finish()
    }
}

impl CompileOptions {
    /// Default options with a checkpointer.
    pub fn with_checkpointer(checkpointer: std::sync::Arc<dyn stategraph_checkpoint::Checkpointer>) -> Self {
        CompileOptions { checkpointer: Some(checkpointer), ..CompileOptions::default() }
    }
    /// Sets the nodes to pause before.
    pub fn interrupt_before<S: Into<String>>(mut self, nodes: impl IntoIterator<Item = S>) -> Self {
        self.interrupt_before = nodes.into_iter().map(Into::into).collect();
        self
    }
    /// Sets the nodes to pause after.
    pub fn interrupt_after<S: Into<String>>(mut self, nodes: impl IntoIterator<Item = S>) -> Self {
        self.interrupt_after = nodes.into_iter().map(Into::into).collect();
        self
    }
}

/// Builds a graph whose nodes communicate through a shared state (LangGraph's `StateGraph`).
///
/// Builder methods never fail; every mistake is reported, naming the node or edge, by
/// [`compile`](StateGraph::compile).
#[derive(Clone)]
pub struct StateGraph {
    pub(crate) schema: Schema,
    pub(crate) input_keys: Option<Vec<String>>,
    pub(crate) output_keys: Option<Vec<String>>,
    pub(crate) nodes: IndexMap<String, NodeSpec>,
    pub(crate) edges: Vec<(String, String)>,
    pub(crate) joins: Vec<(Vec<String>, String)>,
    pub(crate) branches: IndexMap<String, Vec<BranchSpec>>,
    pub(crate) errors: Vec<Error>,
}

impl StateGraph {
    /// A graph over `schema`.
    pub fn new(schema: Schema) -> Self {
        StateGraph {
            schema,
            input_keys: None,
            output_keys: None,
            nodes: IndexMap::new(),
            edges: Vec::new(),
            joins: Vec::new(),
            branches: IndexMap::new(),
            errors: Vec::new(),
        }
    }

    /// Restricts which keys the graph accepts as input (LangGraph's `input_schema`).
    pub fn with_input_keys<I: IntoIterator<Item = S>, S: Into<String>>(mut self, keys: I) -> Self {
        self.input_keys = Some(keys.into_iter().map(Into::into).collect());
        self
    }

    /// Restricts which keys the graph returns (LangGraph's `output_schema`).
    pub fn with_output_keys<I: IntoIterator<Item = S>, S: Into<String>>(mut self, keys: I) -> Self {
        self.output_keys = Some(keys.into_iter().map(Into::into).collect());
        self
    }

    /// The schema.
    pub fn schema(&self) -> &Schema {
        &self.schema
    }

    /// Adds a node.
    pub fn add_node(&mut self, name: impl Into<String>, node: impl Node) -> &mut Self {
        self.add_node_with(name, node, NodeOptions::default())
    }

    /// Adds a node with options (defer, retry, metadata, input keys, destinations).
    pub fn add_node_with(&mut self, name: impl Into<String>, node: impl Node, options: NodeOptions) -> &mut Self {
        self.add_boxed_node(name, Arc::new(node), options)
    }

    /// Adds an already boxed node.
    pub fn add_boxed_node(&mut self, name: impl Into<String>, node: BoxNode, options: NodeOptions) -> &mut Self {
        let name = name.into();
        if self.nodes.contains_key(&name) {
            self.errors.push(Error::DuplicateName { name, reason: "a node with this name is already present".into() });
            return self;
        }
        self.nodes.insert(name, NodeSpec { node, options });
        self
    }

    /// Adds nodes and chains them with edges, in order (LangGraph's `add_sequence`).
    pub fn add_sequence<I, S>(&mut self, nodes: I) -> &mut Self
    where
        I: IntoIterator<Item = (S, BoxNode)>,
        S: Into<String>,
    {
        let mut previous: Option<String> = None;
        for (name, node) in nodes {
            let name = name.into();
            self.add_boxed_node(name.clone(), node, NodeOptions::default());
            if let Some(p) = previous.take() {
                self.add_edge(p.as_str(), &name);
            }
            previous = Some(name);
        }
        self
    }

    /// Adds an edge. With several sources (`add_edge(["a", "b"], "c")`), `c` waits for all of them.
    pub fn add_edge(&mut self, from: impl Into<EdgeSource>, to: &str) -> &mut Self {
        let EdgeSource(sources, is_join) = from.into();
        if is_join {
            self.joins.push((sources, to.to_owned()));
        } else if let Some(source) = sources.into_iter().next() {
            self.edges.push((source, to.to_owned()));
        }
        self
    }

    /// Adds a conditional edge: after `source` runs, `router` reads the state and returns where to
    /// go (node names, labels of `path_map`, `END`, or `Send`s).
    pub fn add_conditional_edges<F, R>(&mut self, source: &str, router: F, path_map: impl Into<PathMap>) -> &mut Self
    where
        F: Fn(&State) -> R + Send + Sync + 'static,
        R: Into<Route>,
    {
        let router: RouterFn = Arc::new(move |s: &State| Ok(router(s).into()));
        self.add_router(source, router, path_map.into())
    }

    /// Like [`add_conditional_edges`](Self::add_conditional_edges) with a router that can fail.
    pub fn add_router(&mut self, source: &str, router: RouterFn, path_map: PathMap) -> &mut Self {
        self.branches.entry(source.to_owned()).or_default().push(BranchSpec { router, path_map });
        self
    }

    /// Shorthand for `add_edge(START, node)`.
    pub fn set_entry_point(&mut self, node: &str) -> &mut Self {
        self.add_edge(START, node)
    }

    /// Shorthand for `add_edge(node, END)`.
    pub fn set_finish_point(&mut self, node: &str) -> &mut Self {
        self.add_edge(node, END)
    }

    /// Validates the graph and compiles it.
    pub fn compile(&self) -> crate::Result<CompiledGraph> {
        self.compile_with(CompileOptions::default())
    }

    /// Validates the graph and compiles it with options.
    pub fn compile_with(&self, options: CompileOptions) -> crate::Result<CompiledGraph> {
        if let Some(e) = self.errors.first() {
            return Err(e.clone());
        }
        super::validate::validate(self, &options)?;
        super::compiled::compile(self, options)
    }
}
