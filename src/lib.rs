//! # Stategraph
//!
//! LangGraph's model — stateful graphs of nodes over a shared, checkpointed state — in Rust.
//! This is the facade crate: `use stategraph::prelude::*;` brings in what most programs need.
//!
//! ## Feature flags
//! - `macros` (default): `#[derive(State)]` for typed state.
//! - `sqlite`: the SQLite checkpointer, `stategraph::sqlite`.
//! - `postgres`: the PostgreSQL checkpointer, `stategraph::postgres`.

pub use stategraph_core::*;

pub mod typed;
/// The PostgreSQL checkpointer (feature `postgres`).
#[cfg(feature = "postgres")]
pub use stategraph_checkpoint_postgres as postgres;
/// The SQLite checkpointer (feature `sqlite`).
#[cfg(feature = "sqlite")]
pub use stategraph_checkpoint_sqlite as sqlite;
#[cfg(feature = "macros")]
pub use stategraph_macros::State;
#[cfg(feature = "prebuilt")]
pub use stategraph_prebuilt as prebuilt;
#[doc(hidden)]
pub use typed::__private;

/// Builds a [`Value`] with JSON syntax, like `serde_json::json!` (which it uses).
///
/// ```
/// let v = stategraph::value!({"name": "ada", "tags": ["x", 1]});
/// assert_eq!(v["tags"][1], serde_json::json!(1));
/// ```
#[macro_export]
macro_rules! value {
    ($($json:tt)+) => {
        $crate::Value::from($crate::__private::serde_json::json!($($json)+))
    };
}

/// The most used items.
///
/// `Send` (LangGraph's name for a fan-out packet) is left out on purpose: a glob import would
/// shadow Rust's `Send` trait. Import it as `stategraph::Send`.
pub mod prelude {
    pub use crate::value;
    pub use stategraph_core::checkpoint::{CheckpointConfig, Checkpointer, InMemorySaver};
    pub use stategraph_core::{
        ChannelSpec, Command, CompileOptions, CompiledGraph, Durability, END, INTERRUPT_KEY, Interrupt, Managed,
        NodeContext, NodeError, NodeOptions, NodeOutput, Overwrite, PathMap, Reducer, RetryPolicy, Route, RunConfig,
        START, Schema, State, StateGraph, StateSnapshot, StreamMode, StreamOptions, Value,
    };
    #[cfg(feature = "macros")]
    pub use stategraph_macros::State;
}

/// The README's example runs as a doc test, so it cannot go stale.
#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
