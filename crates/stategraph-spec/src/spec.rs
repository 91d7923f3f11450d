//! The document types: what a spec file holds, field for field.
//!
//! Every struct rejects unknown fields (`deny_unknown_fields`), so a typo is an error naming its
//! place; only the free-form objects (`ui`, `metadata`, node `config`, state `default`) accept
//! anything.

use indexmap::IndexMap;
use schemars::JsonSchema;
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Map, Value};

/// The version of the format this build reads and writes.
pub const CURRENT_VERSION: u32 = 1;

/// A graph spec: the document the studio edits and [`compile`](crate::compile) turns into an engine
/// graph.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "Stategraph graph spec")]
pub struct GraphSpec {
    /// Format version; this build reads versions up to [`CURRENT_VERSION`] and upgrades older ones.
    pub version: u32,
    /// Name of the graph (shown in drawings and events).
    pub name: String,
    /// What the graph does.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The state: each key with its type, reducer and default, in order.
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub state: IndexMap<String, StateKeySpec>,
    /// The nodes.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub nodes: Vec<NodeSpec>,
    /// The edges: plain, join, conditional and fan-out (`send`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub edges: Vec<EdgeSpec>,
    /// The node the graph starts at; shorthand for an edge from `__start__`. When absent, the
    /// edges from `__start__` are the entry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entry: Option<String>,
    /// Static interrupts.
    #[serde(default, skip_serializing_if = "Interrupts::is_empty")]
    pub interrupts: Interrupts,
    /// Retry policies, by node id.
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub retry: IndexMap<String, RetrySpec>,
    /// Free-form data for tools (kept as is, never checked).
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub metadata: Map<String, Value>,
}

impl GraphSpec {
    /// An empty spec of the current version.
    pub fn new(name: impl Into<String>) -> Self {
        GraphSpec {
            version: CURRENT_VERSION,
            name: name.into(),
            description: None,
            state: IndexMap::new(),
            nodes: Vec::new(),
            edges: Vec::new(),
            entry: None,
            interrupts: Interrupts::default(),
            retry: IndexMap::new(),
            metadata: Map::new(),
        }
    }
}

/// One state key.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StateKeySpec {
    /// The key's type as a JSON Schema fragment (`{"type": "array", "items": {...}}`), or a type
    /// name as shorthand for `{"type": NAME}`. Only `type` is checked today (against the default);
    /// absent = any value.
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub schema: Option<Value>,
    /// How writes in one step combine: `add`, `append`, `extend`, `merge`, `min`, `max` or
    /// `add_messages` (LangGraph's message-list reducer).
    /// Absent = the last value wins, and two writes in one step are an error.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reducer: Option<String>,
    /// The value the key holds before anything writes it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<Value>,
}

/// A node.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NodeSpec {
    /// Unique id; the node's name in the engine. Not `__start__`/`__end__`, no `:` or `|`.
    pub id: String,
    /// The node kind, a name in the [`NodeKindRegistry`](crate::NodeKindRegistry).
    pub kind: String,
    /// The kind's configuration; each kind checks its own.
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub config: Map<String, Value>,
    /// Where the canvas draws the node.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub position: Option<Position>,
    /// Free-form data for the studio (kept as is, never checked).
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub ui: Map<String, Value>,
    /// A note for people reading the graph.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
}

impl NodeSpec {
    /// A node of `kind` with `config` (an object; anything else is taken as no config).
    pub fn new(id: impl Into<String>, kind: impl Into<String>, config: Value) -> Self {
        NodeSpec {
            id: id.into(),
            kind: kind.into(),
            config: match config {
                Value::Object(m) => m,
                _ => Map::new(),
            },
            position: None,
            ui: Map::new(),
            comment: None,
        }
    }
}

/// A point on the canvas.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Position {
    /// Horizontal coordinate.
    pub x: f64,
    /// Vertical coordinate.
    pub y: f64,
}

/// An edge. Which kind is decided by its fields: `sources` makes a join, `branches` a conditional
/// edge, `send` a fan-out, otherwise it is a plain edge.
#[derive(Clone, Debug, PartialEq, Serialize, JsonSchema)]
#[serde(untagged)]
#[non_exhaustive]
pub enum EdgeSpec {
    /// `source` → `target`.
    Plain(PlainEdge),
    /// `target` runs once every one of `sources` has run.
    Join(JoinEdge),
    /// After `source`, `condition` picks a branch by label.
    Conditional(ConditionalEdge),
    /// After `source`, one task per item, each with its own input (LangGraph's `Send`).
    Send(SendEdge),
}

impl EdgeSpec {
    /// A plain edge.
    pub fn plain(source: impl Into<String>, target: impl Into<String>) -> Self {
        EdgeSpec::Plain(PlainEdge { source: source.into(), target: target.into(), comment: None })
    }

    /// Which variant an edge object is, by its fields (see [`EdgeSpec`]).
    pub(crate) fn variant_of(object: &Map<String, Value>) -> EdgeVariant {
        if object.contains_key("sources") {
            EdgeVariant::Join
        } else if object.contains_key("send") {
            EdgeVariant::Send
        } else if object.contains_key("branches") || object.contains_key("condition") {
            EdgeVariant::Conditional
        } else {
            EdgeVariant::Plain
        }
    }
}

#[derive(Clone, Copy)]
pub(crate) enum EdgeVariant {
    Plain,
    Join,
    Conditional,
    Send,
}

impl<'de> Deserialize<'de> for EdgeSpec {
    // Picks the variant by its fields instead of `untagged`, whose only error is "did not match
    // any variant": this way an unknown or missing field is named.
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        let value = Value::deserialize(deserializer)?;
        let Value::Object(object) = &value else {
            return Err(D::Error::custom(format!("an edge must be an object, got {}", kind_name(&value))));
        };
        let result = match EdgeSpec::variant_of(object) {
            EdgeVariant::Plain => serde_json::from_value(value).map(EdgeSpec::Plain),
            EdgeVariant::Join => serde_json::from_value(value).map(EdgeSpec::Join),
            EdgeVariant::Conditional => serde_json::from_value(value).map(EdgeSpec::Conditional),
            EdgeVariant::Send => serde_json::from_value(value).map(EdgeSpec::Send),
        };
        result.map_err(D::Error::custom)
    }
}

/// `source` → `target`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PlainEdge {
    /// A node id or `__start__`.
    pub source: String,
    /// A node id or `__end__`.
    pub target: String,
    /// A note for people reading the graph.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
}

/// `target` waits for all of `sources` (LangGraph's `add_edge([a, b], c)`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct JoinEdge {
    /// Node ids, at least one.
    pub sources: Vec<String>,
    /// A node id.
    pub target: String,
    /// A note for people reading the graph.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
}

/// After `source` runs, `condition` yields a label and the run goes to that branch's target.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ConditionalEdge {
    /// A node id or `__start__`.
    pub source: String,
    /// The labelled targets, at least one; labels are unique.
    pub branches: Vec<Branch>,
    /// How the label is chosen.
    pub condition: Condition,
    /// A note for people reading the graph.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
}

/// One way out of a conditional edge.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Branch {
    /// What the condition yields to take this branch.
    pub label: String,
    /// A node id or `__end__`.
    pub target: String,
}

/// How a conditional edge picks its branch.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub enum Condition {
    /// `{"key": "route"}`: the label is the string value of this state key.
    #[serde(rename = "key")]
    Key(String),
    /// `{"expr": "if state.score > 5 { \"high\" } else { \"low\" }"}`: a Rhai expression over
    /// `state` yielding a label, an array of labels (fan-out), or `END`; run in the registry's
    /// sandbox.
    #[serde(rename = "expr")]
    Expr(String),
}

/// A fan-out edge (map-reduce): after `source` runs, its `send` makes zero or more sends, each
/// running a node in the next step with its own input instead of the state (LangGraph's
/// `Send`). The sent node's writes are applied with the state's reducers, so a reducer key gathers
/// the results, and the node's own edges (e.g. to a reduce node) apply after the fan-out.
///
/// ```yaml
/// - source: plan
///   send: {target: write_joke, foreach: subjects, as: subject, with: [style]}
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SendEdge {
    /// A node id or `__start__`.
    pub source: String,
    /// What is sent where.
    pub send: SendSpec,
    /// A note for people reading the graph.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
}

/// The sends of a fan-out edge: declarative (`target` + `foreach`, which the Python export
/// translates) or an expression (`expr` + `targets`). Which one is decided by `expr`.
#[derive(Clone, Debug, PartialEq, Serialize, JsonSchema)]
#[serde(untagged)]
#[non_exhaustive]
pub enum SendSpec {
    /// One send to `target` per item of a list in the state.
    ForEach(ForEachSend),
    /// A Rhai expression yields the sends.
    Expr(ExprSend),
}

impl<'de> Deserialize<'de> for SendSpec {
    // By its fields, as for edges, so that an unknown field is named.
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        let value = Value::deserialize(deserializer)?;
        let Value::Object(object) = &value else {
            return Err(D::Error::custom(format!("`send` must be an object, got {}", kind_name(&value))));
        };
        let result = if object.contains_key("expr") {
            serde_json::from_value(value).map(SendSpec::Expr)
        } else {
            serde_json::from_value(value).map(SendSpec::ForEach)
        };
        result.map_err(D::Error::custom)
    }
}

impl SendSpec {
    /// The nodes this edge may send to.
    pub fn targets(&self) -> Vec<&str> {
        match self {
            SendSpec::ForEach(s) => vec![s.target.as_str()],
            SendSpec::Expr(s) => s.targets.iter().map(String::as_str).collect(),
        }
    }
}

/// `{target: worker, foreach: items, as: item, with: [topic]}`: for every item of the list at
/// `foreach`, run `target` with the input `{item: ITEM, topic: STATE.topic}` — LangGraph's
/// `[Send("worker", {"item": i, "topic": state["topic"]}) for i in state["items"]]`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ForEachSend {
    /// The node every item is sent to.
    pub target: String,
    /// Where the list is: a state key (`items`), or a JSON pointer into the state whose first
    /// segment is a state key (`/plan/items`). A missing or non-list value fails the run.
    pub foreach: String,
    /// The key the item gets in the input (`{as: item}`). Absent: the item itself is the input,
    /// and it must be an object.
    #[serde(rename = "as", default, skip_serializing_if = "Option::is_none")]
    pub item_key: Option<String>,
    /// State keys copied into every input (keys without a value are left out).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub with: Vec<String>,
}

/// `{expr: RHAI, targets: [worker]}`: the expression reads `state` and yields a send
/// `#{node: "worker", arg: #{...}}`, a node name of `targets`, `END`, or an array of these.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ExprSend {
    /// The Rhai expression, e.g.
    /// `state.docs.map(|d| #{node: "summarise", arg: #{doc: d}})`.
    pub expr: String,
    /// Every node the expression may send to or name (at least one); drawn as the edge's targets.
    /// A send anywhere else fails the run.
    pub targets: Vec<String>,
}

/// Static interrupts: pause the run before or after these nodes (LangGraph's `interrupt_before`
/// and `interrupt_after`). Resuming a paused run needs a checkpointer.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Interrupts {
    /// Pause before these nodes run.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub before: Vec<String>,
    /// Pause after these nodes run.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub after: Vec<String>,
}

impl Interrupts {
    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.before.is_empty() && self.after.is_empty()
    }
}

/// A retry policy (LangGraph's `RetryPolicy`); absent fields take LangGraph's defaults
/// (0.5 s, ×2, at most 128 s, 3 attempts, jitter).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RetrySpec {
    /// Attempts in all, including the first (≥ 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_attempts: Option<u32>,
    /// Seconds before the first retry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub initial_interval: Option<f64>,
    /// Factor the delay grows by after each retry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backoff_factor: Option<f64>,
    /// Upper bound of the delay, in seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_interval: Option<f64>,
    /// Add up to a second of random delay.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jitter: Option<bool>,
    /// The fallback: when the last attempt failed (or the error is not retried), the node does not
    /// fail the run but writes `"Kind: message"` to this state key and the run goes on, so a
    /// condition can route to a fallback node. An attempt that succeeds sets the key to `null`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_key: Option<String>,
}

/// The JSON Schema name of a value's type, for messages.
pub(crate) fn kind_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// The reducer called `name`: the engine's built-ins (`add`, `append`, `extend`, `merge`, `min`,
/// `max`) and LangGraph's `add_messages` (from `stategraph-prebuilt`), for conversations.
pub(crate) fn reducer(name: &str) -> Option<stategraph_core::Reducer> {
    match name {
        "add_messages" => Some(stategraph_prebuilt::add_messages_reducer()),
        other => stategraph_core::Reducer::builtin(other),
    }
}
