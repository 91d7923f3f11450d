//! # Stategraph
//!
//! LangGraph's model — stateful graphs of nodes over a shared, checkpointed state — in Rust.
//! This is the facade crate: `use stategraph::prelude::*;` brings in what most programs need.
//!
//! ## Feature flags
//! - `macros` (default): `#[derive(State)]` for typed state.

pub use stategraph_core::*;

/// The most used items.
pub mod prelude {
    pub use stategraph_core::{
        ChannelSpec, Command, CompiledGraph, END, Managed, NodeContext, NodeError, NodeOptions, NodeOutput, Overwrite,
        PathMap, Reducer, RetryPolicy, Route, RunConfig, START, Schema, Send, State, StateGraph, StreamMode,
        StreamOptions,
    };
}
