//! # stategraph-core
//!
//! The engine behind [Stategraph](https://github.com/stategraph/stategraph): stateful graphs in the
//! model of Python LangGraph, run as Pregel supersteps.
//!
//! Nodes read a shared state and return updates; each state key is a *channel* that decides how
//! the updates of one superstep combine (last value, reducer, topic, ...). Edges — plain,
//! conditional, joins, and `Send` fan-out — decide which nodes run in the next superstep. Most
//! users want the `stategraph` facade crate, which re-exports this one.
//!
//! ```
//! use stategraph_core::{ChannelSpec, Reducer, RunConfig, Schema, StateGraph, END, START};
//! use serde_json::json;
//!
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! let schema = Schema::new()
//!     .key("log", ChannelSpec::reducer(Reducer::add()).with_default(json!([])));
//! let mut graph = StateGraph::new(schema);
//! graph
//!     .add_node("hello", |_s, _ctx| async { Ok::<_, String>(json!({"log": ["hello"]})) })
//!     .add_node("world", |_s, _ctx| async { Ok::<_, String>(json!({"log": ["world"]})) })
//!     .add_edge(START, "hello")
//!     .add_edge("hello", "world")
//!     .add_edge("world", END);
//! let app = graph.compile().unwrap();
//! let out = app.invoke(json!({}), RunConfig::default()).await.unwrap();
//! assert_eq!(out, json!({"log": ["hello", "world"]}));
//! # });
//! ```

mod breakpoint;
pub mod channels;
mod context;
mod error;
pub mod graph;
mod node;
mod pregel;
mod retry;
mod state;
pub mod stream;
pub mod types;
pub mod value;

pub use breakpoint::{Breakpoint, BreakpointCondition, BreakpointPosition};
pub use channels::{Channel, ChannelKind, ChannelSpec, Reducer, Validator};
pub use context::{CancelToken, DEFAULT_RECURSION_LIMIT, NodeContext, RunConfig};
pub use error::{Error, NodeError, Result};
pub use graph::{
    CompileOptions, CompiledGraph, CurveStyle, EdgeSource, Input, MermaidOptions, PathMap, RouterFn, Schema,
    StateGraph, StateSnapshot, TaskSnapshot,
};
pub use node::{BoxNode, IntoNodeOutput, Node, NodeOptions, NodeResult, SyncNode, sync_node};
pub use retry::RetryPolicy;
pub use state::{Managed, State};
/// Persistence types (the checkpointer trait, checkpoint configs, the in-memory saver).
pub use stategraph_checkpoint as checkpoint;
pub use stream::{RunStream, StreamEvent, StreamMode, StreamOptions};
pub use types::{
    Command, CommandGraph, Durability, END, Goto, INTERRUPT_KEY, Interrupt, NodeOutput, Overwrite, Route, START, Send,
    Update,
};
pub use value::{Map, Value};
