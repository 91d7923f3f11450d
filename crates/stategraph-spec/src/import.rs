//! Import from LangGraph: the JSON of `graph.get_graph().to_json()` becomes a spec skeleton with
//! the same nodes and edges.
//!
//! The JSON has the shape of the graph but not its code or state schema, so every node becomes a
//! `passthrough` (its comment says to give it a real kind), and each node's conditional edges
//! become one conditional edge routing on a state key `route` (declared as a string), with the
//! branch labels LangGraph recorded (the target's name when it recorded none). Joins appear in
//! that JSON as plain edges and are imported as such. Static breakpoints (node metadata
//! `__interrupt`) become the spec's `interrupts`.

use serde_json::{Map, Value, json};
use stategraph_core::{END, START};

use crate::problem::{Code, Problem};
use crate::spec::{Branch, Condition, ConditionalEdge, EdgeSpec, GraphSpec, NodeSpec, StateKeySpec};

/// The state key imported conditional edges route on.
pub const IMPORTED_ROUTE_KEY: &str = "route";

impl GraphSpec {
    /// A spec skeleton named `name` from LangGraph's `get_graph().to_json()` (see the module
    /// docs of `import.rs` for what is carried over).
    ///
    /// ```
    /// use serde_json::json;
    /// use stategraph_spec::GraphSpec;
    /// let lg = json!({
    ///     "nodes": [{"id": "__start__"}, {"id": "agent"}, {"id": "tools"}, {"id": "__end__"}],
    ///     "edges": [
    ///         {"source": "__start__", "target": "agent"},
    ///         {"source": "agent", "target": "tools", "conditional": true, "data": "continue"},
    ///         {"source": "agent", "target": "__end__", "conditional": true, "data": "end"},
    ///         {"source": "tools", "target": "agent"}
    ///     ]
    /// });
    /// let spec = GraphSpec::from_langgraph_json(&lg, "agent").unwrap();
    /// assert_eq!(spec.nodes.len(), 2);
    /// assert_eq!(spec.edges.len(), 3);
    /// ```
    pub fn from_langgraph_json(graph: &Value, name: &str) -> Result<GraphSpec, Vec<Problem>> {
        let shape = |pointer: &str, message: String| vec![Problem::new(Code::Shape, pointer, message)];
        let nodes = graph.get("nodes").and_then(Value::as_array).ok_or_else(|| {
            shape("/nodes", "expected LangGraph's graph JSON: an object with `nodes` and `edges`".into())
        })?;
        let edges = graph.get("edges").and_then(Value::as_array).ok_or_else(|| {
            shape("/edges", "expected LangGraph's graph JSON: an object with `nodes` and `edges`".into())
        })?;
        let mut spec = GraphSpec::new(name);
        for (i, node) in nodes.iter().enumerate() {
            let id = node
                .get("id")
                .and_then(Value::as_str)
                .ok_or_else(|| shape(&format!("/nodes/{i}/id"), "a node needs a string `id`".into()))?;
            if id == START || id == END {
                continue;
            }
            let origin = node
                .get("data")
                .and_then(|d| d.get("id"))
                .and_then(Value::as_array)
                .map(|parts| parts.iter().filter_map(Value::as_str).collect::<Vec<_>>().join("."))
                .unwrap_or_else(|| "unknown".into());
            // Static breakpoints: LangGraph marks them in node metadata (`before`, `after`, both).
            let marker = node.get("metadata").and_then(|m| m.get("__interrupt")).and_then(Value::as_str);
            for when in marker.unwrap_or_default().split(',') {
                match when.trim() {
                    "before" => spec.interrupts.before.push(id.to_owned()),
                    "after" => spec.interrupts.after.push(id.to_owned()),
                    _ => {}
                }
            }
            let mut spec_node = NodeSpec::new(id, "passthrough", Value::Null);
            spec_node.comment = Some(format!("imported from LangGraph ({origin}); give it a real kind"));
            spec.nodes.push(spec_node);
        }
        // Conditional edges are grouped by source, in the order their sources first appear.
        let mut conditional: Vec<ConditionalEdge> = Vec::new();
        let mut plain = Vec::new();
        for (i, edge) in edges.iter().enumerate() {
            let field = |f: &str| {
                edge.get(f)
                    .and_then(Value::as_str)
                    .map(str::to_owned)
                    .ok_or_else(|| shape(&format!("/edges/{i}/{f}"), format!("an edge needs a string `{f}`")))
            };
            let (source, target) = (field("source")?, field("target")?);
            if edge.get("conditional").and_then(Value::as_bool).unwrap_or(false) {
                let label = edge.get("data").and_then(Value::as_str).map_or_else(|| target.clone(), str::to_owned);
                let branch = Branch { label, target };
                match conditional.iter_mut().find(|c| c.source == source) {
                    Some(c) => c.branches.push(branch),
                    None => conditional.push(ConditionalEdge {
                        source,
                        branches: vec![branch],
                        condition: Condition::Key(IMPORTED_ROUTE_KEY.into()),
                        comment: Some(format!("routes on `{IMPORTED_ROUTE_KEY}`; replace with the real condition")),
                    }),
                }
            } else {
                plain.push(EdgeSpec::plain(source, target));
            }
        }
        if !conditional.is_empty() {
            let key: StateKeySpec = serde_json::from_value(json!({"type": "string"})).unwrap_or_default();
            spec.state.insert(IMPORTED_ROUTE_KEY.into(), key);
        }
        spec.edges = plain;
        spec.edges.extend(conditional.into_iter().map(EdgeSpec::Conditional));
        let mut metadata = Map::new();
        metadata.insert("imported_from".into(), json!("LangGraph get_graph().to_json()"));
        spec.metadata = metadata;
        Ok(spec)
    }
}
