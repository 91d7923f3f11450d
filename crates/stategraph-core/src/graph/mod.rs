//! Building and compiling graphs.

mod builder;
pub(crate) mod compiled;
mod draw;
mod snapshot;
mod validate;

pub use builder::{CompileOptions, EdgeSource, PathMap, RouterFn, Schema, StateGraph};
pub use compiled::{CompiledGraph, Input, TASKS};
pub use draw::{CurveStyle, MermaidOptions};
pub use snapshot::{StateSnapshot, TaskSnapshot};
