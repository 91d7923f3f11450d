//! # stategraph-spec
//!
//! Graph specs: a versioned JSON/YAML document that describes a Stategraph graph — its state, its
//! nodes (each of a registered *kind* with a config), its edges — and compiles to an engine graph,
//! so a graph drawn in the studio runs without writing Rust.
//!
//! ```
//! use serde_json::json;
//! use stategraph_core::RunConfig;
//! use stategraph_spec::{GraphSpec, NodeKindRegistry, compile};
//!
//! let spec = GraphSpec::from_yaml(r#"
//! version: 1
//! name: greeter
//! state:
//!   log: {type: array, reducer: add, default: []}
//!   route: {type: string}
//! nodes:
//!   - {id: hello, kind: set, config: {update: {log: [hello], route: polite}}}
//!   - {id: polite, kind: set, config: {update: {log: [how do you do]}}}
//!   - {id: curt, kind: set, config: {update: {log: [hi]}}}
//! entry: hello
//! edges:
//!   - source: hello
//!     condition: {key: route}
//!     branches: [{label: polite, target: polite}, {label: curt, target: curt}]
//!   - {source: polite, target: __end__}
//!   - {source: curt, target: __end__}
//! "#).unwrap();
//!
//! let graph = compile(&spec, &NodeKindRegistry::with_builtins()).unwrap();
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! let out = graph.invoke(json!({}), RunConfig::default()).await.unwrap();
//! assert_eq!(out, json!({"log": ["hello", "how do you do"], "route": "polite"}));
//! # });
//! ```
//!
//! The pieces, in the order a document meets them:
//! - [`GraphSpec::from_json`] / [`GraphSpec::from_yaml`] read the text (size, syntax and nesting
//!   [`Limits`]), [`migrate`] upgrades older versions, and the typed [`GraphSpec`] rejects unknown
//!   fields;
//! - [`validate`] returns every [`Problem`] at once, each with a stable [`Code`] (`SPxxx`) and a
//!   JSON pointer;
//! - [`compile`] builds the engine graph, with nodes from a [`NodeKindRegistry`] (built in:
//!   `passthrough`, `set`; hosts register their own [`NodeKind`]s);
//! - [`GraphSpec::to_json`], [`GraphSpec::to_yaml`], [`GraphSpec::to_mermaid`] and
//!   [`GraphSpec::to_python`] (LangGraph code) export it,
//!   [`GraphSpec::from_langgraph_json`] imports LangGraph's `get_graph().to_json()`, and
//!   [`json_schema`] is the published JSON Schema of the format
//!   (`crates/stategraph-spec/schema/graph-spec.schema.json`).
//!
//! This crate has no feature flags.

#![forbid(unsafe_code)]

mod breakpoint;
mod compile;
mod import;
mod kinds;
mod parse;
mod problem;
mod python;
mod registry;
mod sandbox;
mod schema_check;
mod spec;
mod typescript;
mod validate;

pub use breakpoint::breakpoint_condition;
pub use compile::{CompileContext, compile, compile_in, compile_with};
pub use import::IMPORTED_ROUTE_KEY;
pub use kinds::{FileLoader, Http, HttpPolicy, LoadedSpec, SpecLoader, SpecRef, Subgraph};
pub use parse::migrate;
pub use problem::{Code, Limits, Problem};
pub use python::PythonExport;
pub use registry::{ConfigError, KindContext, KindInfo, NodeKind, NodeKindRegistry};
pub use sandbox::ScriptLimits;
pub use spec::{
    Branch, CURRENT_VERSION, Condition, ConditionalEdge, EdgeSpec, ExprSend, ForEachSend, GraphSpec, Interrupts,
    JoinEdge, NodeSpec, PlainEdge, Position, RetrySpec, SendEdge, SendSpec, StateKeySpec,
};
pub use typescript::typescript;
pub use validate::{validate, validate_in};

/// The JSON Schema of the format (draft 2020-12), generated from the Rust types.
///
/// ```
/// let schema = stategraph_spec::json_schema();
/// assert_eq!(schema["title"], "Stategraph graph spec");
/// ```
pub fn json_schema() -> serde_json::Value {
    serde_json::to_value(schemars::schema_for!(GraphSpec)).unwrap_or_default()
}
