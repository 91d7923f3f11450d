//! The compiled graph: channels and nodes resolved to indices, ready for the Pregel loop.
//!
//! Compilation follows LangGraph's layout so checkpoints, task ids and stream events line up:
//! every node `n` is triggered by an ephemeral channel `branch:to:n` that edges into it write; a
//! join `[a, b] -> c` is a named barrier `join:a+b:c`; `Send` packets go through the topic
//! `__pregel_tasks`; the input goes through `__start__`, read by a hidden START node.

use std::collections::BTreeSet;

// Graph-defined names only: a fast non-keyed hash is safe here (no attacker-chosen table contents).
use rustc_hash::FxHashMap as HashMap;
use std::sync::Arc;

use crate::value::{Map, Value};
use futures::FutureExt;
use futures::future::BoxFuture;

use super::builder::{CompileOptions, RouterFn, StateGraph};
use crate::channels::{Channel, ChannelKind, ChannelSpec, Ephemeral, Topic};
use crate::context::RunConfig;
use crate::node::{BoxNode, Node, NodeResult};
use crate::retry::RetryPolicy;
use crate::state::{Keys, Managed, State};
use crate::stream::{RunStream, StreamEvent, StreamOptions};
use crate::types::{Command, CommandGraph, END, NodeOutput, START};
use crate::{Error, NodeContext, Result};

/// Index of a channel in a compiled graph.
pub(crate) type ChannelId = usize;
/// Index of a node in a compiled graph (0 is the hidden START node).
pub(crate) type NodeId = usize;

/// Name of the topic `Send` packets travel through.
pub const TASKS: &str = "__pregel_tasks";

/// What a channel is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ChannelRole {
    /// A key of the state schema.
    State,
    /// A private key read or written by some node but not in the schema.
    Private,
    /// `__start__`, `branch:to:*`, `join:*`, `__pregel_tasks`.
    Internal,
}

pub(crate) struct ChannelDef {
    pub(crate) name: Arc<str>,
    pub(crate) spec: Option<ChannelSpec>,
    pub(crate) role: ChannelRole,
    make: fn() -> Box<dyn Channel>,
    /// Whether the channel can change on a step with no writes (ephemeral values and per-step
    /// topics clear themselves; custom channels might). Only these are notified of empty steps.
    pub(crate) step_scoped: bool,
}

impl ChannelDef {
    pub(crate) fn build(&self) -> Box<dyn Channel> {
        match &self.spec {
            Some(spec) => spec.build(),
            None => (self.make)(),
        }
    }
}

/// One slot of a node's input: a channel or a managed value.
#[derive(Clone, Copy, Debug)]
pub(crate) enum ReadSlot {
    Channel(ChannelId),
    Managed(Managed),
}

/// What a node (or a router) reads: key names shared by every view, and where each comes from.
#[derive(Clone)]
pub(crate) struct Reader {
    pub(crate) keys: Arc<Keys>,
    pub(crate) slots: Arc<[ReadSlot]>,
    /// Identity used to share one view among all tasks of a step that read the same keys.
    pub(crate) id: usize,
}

pub(crate) struct BranchDef {
    pub(crate) router: RouterFn,
    pub(crate) path_map: Option<indexmap::IndexMap<String, String>>,
    pub(crate) reader: Reader,
}

pub(crate) struct NodeDef {
    pub(crate) name: Arc<str>,
    /// `None` for START.
    pub(crate) func: Option<BoxNode>,
    pub(crate) triggers: Vec<ChannelId>,
    /// Names of the triggers, sorted (as task ids and events list them).
    pub(crate) trigger_names: Arc<[Arc<str>]>,
    /// The constant tail of this node's pull-task id input: name, `__pregel_pull`, triggers.
    pub(crate) pull_id_suffix: Box<[u8]>,
    pub(crate) reader: Reader,
    /// `branch:to:*` channels of plain edges, in the order the edges were added.
    pub(crate) edges: Vec<ChannelId>,
    /// Join channels this node writes its name to.
    pub(crate) joins: Vec<ChannelId>,
    pub(crate) branches: Vec<BranchDef>,
    pub(crate) retry: Option<RetryPolicy>,
    pub(crate) metadata: Arc<Map>,
    pub(crate) hidden: bool,
}

pub(crate) struct GraphInner {
    pub(crate) name: String,
    pub(crate) builder: StateGraph,
    pub(crate) channels: Vec<ChannelDef>,
    pub(crate) channel_index: HashMap<Arc<str>, ChannelId>,
    pub(crate) nodes: Vec<NodeDef>,
    pub(crate) node_index: HashMap<Arc<str>, NodeId>,
    /// Nodes each channel can trigger.
    pub(crate) trigger_to_nodes: Vec<Vec<NodeId>>,
    pub(crate) input_keys: Vec<ChannelId>,
    pub(crate) output_keys: Vec<ChannelId>,
    pub(crate) start_channel: ChannelId,
    pub(crate) tasks_channel: ChannelId,
    pub(crate) has_validators: bool,
    pub(crate) checkpointer: Option<Arc<dyn stategraph_checkpoint::Checkpointer>>,
    pub(crate) interrupt_before: Vec<String>,
    pub(crate) interrupt_after: Vec<String>,
}

impl GraphInner {
    pub(crate) fn channel(&self, name: &str) -> Option<ChannelId> {
        self.channel_index.get(name).copied()
    }
    pub(crate) fn new_channels(&self) -> Vec<Box<dyn Channel>> {
        self.channels.iter().map(ChannelDef::build).collect()
    }
    /// Channel of `branch:to:<node>`.
    pub(crate) fn branch_channel(&self, node: &str) -> Option<ChannelId> {
        self.node_index.get(node).map(|&n| self.nodes[n].triggers[0])
    }
}

/// A validated, immutable graph, ready to run. Cheap to clone and to share between threads.
#[derive(Clone)]
pub struct CompiledGraph {
    pub(crate) inner: Arc<GraphInner>,
}

impl std::fmt::Debug for CompiledGraph {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CompiledGraph")
            .field("name", &self.inner.name)
            .field("nodes", &self.inner.nodes.iter().map(|n| &*n.name).collect::<Vec<_>>())
            .finish()
    }
}

fn branch_name(node: &str) -> String {
    format!("branch:to:{node}")
}

fn make_ephemeral() -> Box<dyn Channel> {
    Box::new(Ephemeral::new(false))
}
fn make_topic() -> Box<dyn Channel> {
    Box::new(Topic::new(false))
}

pub(crate) fn compile(g: &StateGraph, options: CompileOptions) -> Result<CompiledGraph> {
    let mut channels: Vec<ChannelDef> = Vec::new();
    let mut channel_index: HashMap<Arc<str>, ChannelId> = HashMap::default();
    fn add_channel(
        channels: &mut Vec<ChannelDef>,
        index: &mut HashMap<Arc<str>, ChannelId>,
        name: &str,
        spec: Option<ChannelSpec>,
        role: ChannelRole,
        make: fn() -> Box<dyn Channel>,
    ) -> ChannelId {
        let name: Arc<str> = Arc::from(name);
        let id = channels.len();
        index.insert(name.clone(), id);
        let step_scoped = match spec.as_ref().map(ChannelSpec::kind) {
            // Internal channels without a spec are ephemeral (edges, input) or the Send topic.
            None => true,
            Some(ChannelKind::Ephemeral | ChannelKind::Custom(_)) => true,
            Some(ChannelKind::Topic { accumulate }) => !accumulate,
            Some(_) => false,
        };
        channels.push(ChannelDef { name, spec, role, make, step_scoped });
        id
    }
    macro_rules! add_channel {
        ($($arg:expr),*) => { add_channel(&mut channels, &mut channel_index, $($arg),*) };
    }

    let mut state_keys = Vec::new();
    for (k, spec) in &g.schema.keys {
        state_keys.push(add_channel!(k, Some(spec.clone()), ChannelRole::State, make_ephemeral));
    }
    // Private input keys named by nodes but absent from the schema become LastValue channels.
    for spec in g.nodes.values() {
        for k in spec.options.input_keys.iter().flatten() {
            if !g.schema.contains(k) && !channel_index.contains_key(k.as_str()) {
                add_channel!(k, Some(ChannelSpec::last_value()), ChannelRole::Private, make_ephemeral);
            }
        }
    }
    let start_channel = add_channel!(START, None, ChannelRole::Internal, make_ephemeral);
    let tasks_channel = add_channel!(TASKS, None, ChannelRole::Internal, make_topic);
    for (name, spec) in &g.nodes {
        let kind = if spec.options.defer { ChannelKind::LastValueAfterFinish } else { ChannelKind::Ephemeral };
        let ch_spec = match kind {
            ChannelKind::Ephemeral => None,
            other => Some(ChannelSpec::of(other)),
        };
        add_channel!(&branch_name(name), ch_spec, ChannelRole::Internal, make_ephemeral);
    }
    let mut join_channels = Vec::new();
    for (sources, target) in &g.joins {
        let name = format!("join:{}:{}", sources.join("+"), target);
        let defer = g.nodes.get(target).is_some_and(|s| s.options.defer);
        let spec = ChannelSpec::of(ChannelKind::NamedBarrier {
            names: sources.iter().cloned().collect::<BTreeSet<_>>(),
            after_finish: defer,
        });
        let id = match channel_index.get(name.as_str()) {
            Some(&id) => id,
            None => add_channel!(&name, Some(spec), ChannelRole::Internal, make_ephemeral),
        };
        join_channels.push(id);
    }
    let ch = |name: &str| channel_index[name];

    // Readers are shared by identity so a step builds one view per distinct key set.
    let mut readers: Vec<(Vec<String>, Reader)> = Vec::new();
    let mut reader_for = |keys: Vec<String>| -> Reader {
        if let Some((_, r)) = readers.iter().find(|(k, _)| *k == keys) {
            return r.clone();
        }
        let slots: Vec<ReadSlot> = keys
            .iter()
            .map(|k| match g.schema.managed.get(k) {
                Some(m) => ReadSlot::Managed(*m),
                None => ReadSlot::Channel(channel_index[k.as_str()]),
            })
            .collect();
        let reader = Reader {
            keys: Keys::new(keys.iter().map(|k| Arc::from(k.as_str())).collect()),
            slots: slots.into(),
            id: readers.len(),
        };
        readers.push((keys, reader.clone()));
        reader
    };
    let all_keys: Vec<String> = g.schema.keys.keys().chain(g.schema.managed.keys()).cloned().collect();
    let full_reader = reader_for(all_keys.clone());

    let mut nodes: Vec<NodeDef> = Vec::with_capacity(g.nodes.len() + 1);
    let mut node_index: HashMap<Arc<str>, NodeId> = HashMap::default();
    nodes.push(NodeDef {
        name: Arc::from(START),
        func: None,
        triggers: vec![start_channel],
        trigger_names: Arc::from([Arc::from(START)]),
        pull_id_suffix: Box::default(),
        reader: full_reader.clone(),
        edges: Vec::new(),
        joins: Vec::new(),
        branches: Vec::new(),
        retry: None,
        metadata: Arc::new(Map::new()),
        hidden: true,
    });
    node_index.insert(Arc::from(START), 0);
    for (name, spec) in &g.nodes {
        let trigger = ch(&branch_name(name));
        let reader = match &spec.options.input_keys {
            Some(keys) => reader_for(keys.clone()),
            None => full_reader.clone(),
        };
        let id = nodes.len();
        node_index.insert(Arc::from(name.as_str()), id);
        nodes.push(NodeDef {
            name: Arc::from(name.as_str()),
            func: Some(spec.node.clone()),
            triggers: vec![trigger],
            trigger_names: Arc::from([Arc::from(branch_name(name))]),
            pull_id_suffix: Box::default(),
            reader,
            edges: Vec::new(),
            joins: Vec::new(),
            branches: Vec::new(),
            retry: spec.options.retry.clone(),
            metadata: Arc::new(spec.options.metadata.clone()),
            hidden: false,
        });
    }
    for (s, t) in &g.edges {
        if t != END {
            let target = ch(&branch_name(t));
            let src = node_index[s.as_str()];
            if !nodes[src].edges.contains(&target) {
                nodes[src].edges.push(target);
            }
        }
    }
    for ((sources, target), &jc) in g.joins.iter().zip(&join_channels) {
        let t = node_index[target.as_str()];
        if !nodes[t].triggers.contains(&jc) {
            nodes[t].triggers.push(jc);
        }
        for s in sources {
            let src = node_index[s.as_str()];
            if !nodes[src].joins.contains(&jc) {
                nodes[src].joins.push(jc);
            }
        }
    }
    for (source, branches) in &g.branches {
        let src = node_index[source.as_str()];
        for b in branches {
            let reader = nodes[src].reader.clone();
            nodes[src].branches.push(BranchDef { router: b.router.clone(), path_map: b.path_map.0.clone(), reader });
        }
    }
    for n in nodes.iter_mut() {
        let mut names: Vec<Arc<str>> = n.triggers.iter().map(|&c| channels[c].name.clone()).collect();
        names.sort();
        let mut suffix = Vec::new();
        suffix.extend_from_slice(n.name.as_bytes());
        suffix.extend_from_slice(b"__pregel_pull");
        for t in &names {
            suffix.extend_from_slice(t.as_bytes());
        }
        n.trigger_names = names.into();
        n.pull_id_suffix = suffix.into();
    }
    let mut trigger_to_nodes = vec![Vec::new(); channels.len()];
    for (i, n) in nodes.iter().enumerate() {
        for &t in &n.triggers {
            trigger_to_nodes[t].push(i);
        }
    }
    let resolve = |keys: &Option<Vec<String>>, what: &str| -> Result<Vec<ChannelId>> {
        match keys {
            None => Ok(state_keys.clone()),
            Some(keys) => keys
                .iter()
                .map(|k| {
                    channel_index
                        .get(k.as_str())
                        .copied()
                        .ok_or_else(|| Error::InvalidGraph(format!("{what} key `{k}` is not a state key")))
                })
                .collect(),
        }
    };
    let input_keys = resolve(&g.input_keys, "input")?;
    let output_keys = resolve(&g.output_keys, "output")?;
    let has_validators = channels.iter().any(|c| c.spec.as_ref().is_some_and(|s| s.validator.is_some()));
    Ok(CompiledGraph {
        inner: Arc::new(GraphInner {
            name: options.name.clone().unwrap_or_else(|| "LangGraph".to_owned()),
            builder: g.clone(),
            channels,
            channel_index,
            nodes,
            node_index,
            trigger_to_nodes,
            input_keys,
            output_keys,
            start_channel,
            tasks_channel,
            has_validators,
            checkpointer: options.checkpointer,
            interrupt_before: options.interrupt_before,
            interrupt_after: options.interrupt_after,
        }),
    })
}

impl CompiledGraph {
    /// The graph's name.
    pub fn name(&self) -> &str {
        &self.inner.name
    }

    /// The builder this graph was compiled from (to extend it and compile again).
    pub fn builder(&self) -> &StateGraph {
        &self.inner.builder
    }

    /// Node names in insertion order (without START).
    pub fn node_names(&self) -> Vec<&str> {
        self.inner.nodes[1..].iter().map(|n| &*n.name).collect()
    }

    /// Runs the graph to completion and returns its output (the output keys that have a value).
    pub async fn invoke(&self, input: impl Into<Input>, config: RunConfig) -> Result<Value> {
        let sink = config.parent.as_ref().map(|p| p.sink.clone()).unwrap_or_default();
        crate::pregel::run(self.inner.clone(), input.into(), config, sink).await
    }

    /// Runs the graph, streaming events of the chosen modes. The run advances as the stream is
    /// polled; dropping the stream cancels it. The last item is the error, if the run fails.
    pub fn stream(&self, input: impl Into<Input>, config: RunConfig, options: StreamOptions) -> RunStream {
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel::<StreamEvent>();
        let sink = crate::stream::Sink::new(tx, &options);
        let fut = crate::pregel::run(self.inner.clone(), input.into(), config, sink).boxed();
        RunStream::new(fut, rx)
    }
}

/// Input of a run: a state update (usually an object), or a `Command`.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum Input {
    /// Values for the input keys.
    Value(Value),
    /// A command (update and goto).
    Command(Command),
}

impl From<Value> for Input {
    fn from(v: Value) -> Self {
        Input::Value(v)
    }
}
impl From<serde_json::Value> for Input {
    /// So that runs can be started with `json!({...})`.
    fn from(v: serde_json::Value) -> Self {
        Input::Value(Value::from(v))
    }
}
impl From<Command> for Input {
    fn from(c: Command) -> Self {
        Input::Command(c)
    }
}

/// A compiled graph used as a node of another graph (shared keys): it receives the parent's
/// state, runs, and returns its output as the node's update. A `Command` addressed to the parent
/// becomes the node's own command.
impl Node for CompiledGraph {
    fn call(&self, input: State, ctx: NodeContext) -> BoxFuture<'static, NodeResult> {
        let graph = self.clone();
        async move {
            match graph.invoke(input.to_value(), ctx.child_config()).await {
                Ok(Value::Object(m)) => Ok(NodeOutput::Update(Arc::unwrap_or_clone(m))),
                Ok(Value::Null) => Ok(NodeOutput::None),
                Ok(other) => Ok(NodeOutput::Invalid(other)),
                Err(Error::ParentCommand(cmd)) => {
                    Ok(NodeOutput::Command(Command { graph: CommandGraph::Current, ..*cmd }))
                }
                Err(e) => Err(e.into()),
            }
        }
        .boxed()
    }

    fn subgraph(&self) -> Option<&CompiledGraph> {
        Some(self)
    }
}
