//! Values nodes and routers return: updates, `Send` packets, `Command`s and routes.

use crate::value::{Map, Value};
use serde::{Deserialize, Serialize};

/// The virtual node every run starts from.
pub const START: &str = "__start__";
/// The virtual node that ends a run.
pub const END: &str = "__end__";
/// The key under which an [`Overwrite`] travels as JSON (`{"__overwrite__": value}`), as in LangGraph.
pub const OVERWRITE_KEY: &str = "__overwrite__";

/// A state update: key → value, applied through each key's channel (reducer or last value).
pub type Update = Map;

/// Wraps a value so a reducer channel stores it as is instead of reducing it
/// (LangGraph's `Overwrite`). Travels as `{"__overwrite__": value}`.
#[derive(Debug, Clone, PartialEq)]
pub struct Overwrite(pub Value);

impl Overwrite {
    /// Wraps a value.
    pub fn new(value: impl Into<Value>) -> Self {
        Overwrite(value.into())
    }
}

impl From<Overwrite> for Value {
    fn from(o: Overwrite) -> Value {
        let mut m = Map::with_capacity(1);
        m.insert(OVERWRITE_KEY.into(), o.0);
        Value::from(m)
    }
}

/// If `value` is an overwrite marker, the value it carries.
pub fn as_overwrite(value: &Value) -> Option<&Value> {
    match value {
        Value::Object(m) if m.len() == 1 => m.get(OVERWRITE_KEY),
        _ => None,
    }
}

/// A message to run `node` in the next superstep with `arg` as its input instead of the state
/// (map-reduce fan-out).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Send {
    /// The node to run.
    pub node: String,
    /// Its input.
    pub arg: Value,
}

impl Send {
    /// A send to `node` with `arg`.
    pub fn new(node: impl Into<String>, arg: impl Into<Value>) -> Self {
        Send { node: node.into(), arg: arg.into() }
    }
}

/// One destination: a node (or `END`), or a `Send`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Goto {
    /// Run this node next (or `END`: nothing).
    Node(String),
    /// Run a node with its own input.
    Send(Send),
}

impl From<&str> for Goto {
    fn from(s: &str) -> Self {
        Goto::Node(s.to_owned())
    }
}
impl From<String> for Goto {
    fn from(s: String) -> Self {
        Goto::Node(s)
    }
}
impl From<Send> for Goto {
    fn from(s: Send) -> Self {
        Goto::Send(s)
    }
}

/// Which graph a [`Command`] is addressed to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum CommandGraph {
    /// The graph the node belongs to (the default).
    Current,
    /// The closest parent graph (the node runs inside a subgraph).
    Parent,
}

/// Update the state and choose where to go, from a node or as graph input
/// (LangGraph's `Command`).
#[derive(Debug, Clone, PartialEq)]
pub struct Command {
    /// State update to apply (an object; anything else is rejected when applied, SG012).
    pub update: Option<Value>,
    /// Where to go next; nodes, `END` or `Send`s.
    pub goto: Vec<Goto>,
    /// Which graph the command is for.
    pub graph: CommandGraph,
    /// Value to resume an interrupted run with.
    pub resume: Option<Value>,
}

impl Default for Command {
    fn default() -> Self {
        Command { update: None, goto: Vec::new(), graph: CommandGraph::Current, resume: None }
    }
}

impl Command {
    /// An empty command.
    pub fn new() -> Self {
        Command::default()
    }
    /// Adds a goto destination.
    pub fn goto(mut self, to: impl Into<Goto>) -> Self {
        self.goto.push(to.into());
        self
    }
    /// Sets the update (an object of state keys; anything else is rejected when applied).
    pub fn update(mut self, update: impl Into<Value>) -> Self {
        self.update = Some(update.into());
        self
    }
    /// Addresses the command to the parent graph.
    pub fn parent(mut self) -> Self {
        self.graph = CommandGraph::Parent;
        self
    }
    /// Sets the resume value.
    pub fn resume(mut self, value: impl Into<Value>) -> Self {
        self.resume = Some(value.into());
        self
    }
    /// Resumes several pending interrupts at once: interrupt id → value.
    pub fn resume_map<K: AsRef<str>, V: Into<Value>>(mut self, answers: impl IntoIterator<Item = (K, V)>) -> Self {
        let m: Map = answers.into_iter().map(|(k, v)| (std::sync::Arc::from(k.as_ref()), v.into())).collect();
        self.resume = Some(Value::from(m));
        self
    }
}

/// What a node returns: nothing, an update, a command, or several of those.
#[derive(Debug, Clone, PartialEq, Default)]
#[non_exhaustive]
pub enum NodeOutput {
    /// No update.
    #[default]
    None,
    /// A state update.
    Update(Update),
    /// A command.
    Command(Command),
    /// Several outputs, applied in order.
    Many(Vec<NodeOutput>),
    /// A value that is none of the above; the engine rejects it with SG012, naming the node.
    Invalid(Value),
}

pub(crate) fn describe(value: &Value) -> String {
    let mut s = value.to_string();
    if s.len() > 80 {
        let mut cut = 77;
        while !s.is_char_boundary(cut) {
            cut -= 1;
        }
        s.truncate(cut);
        s.push_str("...");
    }
    s
}

impl From<Update> for NodeOutput {
    fn from(u: Update) -> Self {
        NodeOutput::Update(u)
    }
}
impl From<Value> for NodeOutput {
    /// Objects are updates and `null` is nothing; other values are kept to be rejected, with the
    /// node's name, when the engine applies them.
    fn from(v: Value) -> Self {
        match v {
            Value::Object(m) => NodeOutput::Update(std::sync::Arc::unwrap_or_clone(m)),
            Value::Null => NodeOutput::None,
            other => NodeOutput::Invalid(other),
        }
    }
}
impl From<serde_json::Value> for NodeOutput {
    /// So that nodes can return `json!({...})`.
    fn from(v: serde_json::Value) -> Self {
        NodeOutput::from(Value::from(v))
    }
}
impl From<Command> for NodeOutput {
    fn from(c: Command) -> Self {
        NodeOutput::Command(c)
    }
}
impl From<()> for NodeOutput {
    fn from(_: ()) -> Self {
        NodeOutput::None
    }
}
impl<T: Into<NodeOutput>> From<Option<T>> for NodeOutput {
    fn from(o: Option<T>) -> Self {
        o.map(Into::into).unwrap_or(NodeOutput::None)
    }
}
impl From<Vec<NodeOutput>> for NodeOutput {
    fn from(v: Vec<NodeOutput>) -> Self {
        NodeOutput::Many(v)
    }
}

/// A router's answer: zero or more destinations (node names, path-map labels, `END`, `Send`s).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Route(pub Vec<Goto>);

impl Route {
    /// Goes nowhere.
    pub fn none() -> Self {
        Route(Vec::new())
    }
    /// Ends the run along this branch.
    pub fn end() -> Self {
        Route(vec![Goto::Node(END.to_owned())])
    }
}

impl From<&str> for Route {
    fn from(s: &str) -> Self {
        Route(vec![Goto::Node(s.to_owned())])
    }
}
impl From<String> for Route {
    fn from(s: String) -> Self {
        Route(vec![Goto::Node(s)])
    }
}
impl From<Send> for Route {
    fn from(s: Send) -> Self {
        Route(vec![Goto::Send(s)])
    }
}
impl From<Goto> for Route {
    fn from(g: Goto) -> Self {
        Route(vec![g])
    }
}
impl<T: Into<Goto>> From<Vec<T>> for Route {
    fn from(v: Vec<T>) -> Self {
        Route(v.into_iter().map(Into::into).collect())
    }
}
impl<T: Into<Goto>, const N: usize> From<[T; N]> for Route {
    fn from(v: [T; N]) -> Self {
        Route(v.into_iter().map(Into::into).collect())
    }
}

/// The key under which an interrupted run's output and `updates` stream list the pending
/// interrupts (LangGraph's `__interrupt__`).
pub const INTERRUPT_KEY: &str = "__interrupt__";

/// A pause requested by a node with [`NodeContext::interrupt`](crate::NodeContext::interrupt):
/// the value it showed, and the id to resume it by.
///
/// The id is LangGraph's: the xxh3-128 hex digest of the interrupting task's checkpoint
/// namespace, so all interrupts of one task share it and a resume map addresses the task.
#[derive(Debug, Clone, PartialEq)]
pub struct Interrupt {
    /// What the node passed to `interrupt` (shown to the human).
    pub value: Value,
    /// Identifies the interrupted task; a key of a resume map.
    pub id: String,
    /// A JSON Schema the answer should follow (shown to clients; `None`: any value).
    pub response_schema: Option<Value>,
}

impl Interrupt {
    /// The interrupt raised in the task with checkpoint namespace `ns`.
    pub fn from_ns(value: Value, ns: &str) -> Interrupt {
        Interrupt { value, id: Interrupt::id_for_ns(ns), response_schema: None }
    }

    /// The id of the interrupts of the task with checkpoint namespace `ns` (a resume map's key).
    pub fn id_for_ns(ns: &str) -> String {
        format!("{:032x}", xxhash_rust::xxh3::xxh3_128(ns.as_bytes()))
    }

    /// As LangGraph serialises it: `{"value": ..., "id": ..., "response_schema": ...}`.
    pub fn to_value(&self) -> Value {
        let mut m = Map::new();
        m.insert("value".into(), self.value.clone());
        m.insert("id".into(), Value::from(self.id.as_str()));
        m.insert("response_schema".into(), self.response_schema.clone().unwrap_or(Value::Null));
        Value::from(m)
    }

    /// Reads the form [`to_value`](Interrupt::to_value) writes.
    pub fn from_value(v: &Value) -> Option<Interrupt> {
        Some(Interrupt {
            value: v.get("value").cloned().unwrap_or(Value::Null),
            id: v.get("id")?.as_str()?.to_owned(),
            response_schema: v.get("response_schema").filter(|s| !s.is_null()).cloned(),
        })
    }
}

/// When a run's checkpoints reach the checkpointer (LangGraph's `durability`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum Durability {
    /// Each step's checkpoint and writes are stored before the next step starts: after a crash,
    /// at most the step in progress runs again.
    Sync,
    /// Checkpoints and writes are stored in the background, in order, while the next step runs;
    /// the run waits for all of them before it returns. A crash can lose the last steps (they
    /// run again on resume), never reorder or corrupt them. The default, as in LangGraph.
    ///
    /// The saves reach the checkpointer as batches ([`save_batch`](stategraph_checkpoint::Checkpointer::save_batch)).
    /// With its default options the SQLite saver commits a batch without waiting for the disk
    /// (`synchronous=NORMAL`): once the run returns its checkpoints survive a crash of the
    /// process, but a power loss or OS crash may still roll back its last steps (`sync` durability
    /// does not have that window).
    #[default]
    Async,
    /// Only the final checkpoint (and the pending writes of a failed or interrupted step) is
    /// stored when the run ends; a crash loses the whole run. Fastest.
    Exit,
}
