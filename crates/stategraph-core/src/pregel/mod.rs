//! The Pregel engine: the pure superstep algorithm (`algo`) and the async loop around it.

pub(crate) mod algo;
pub(crate) mod persist;
mod run_loop;

pub(crate) use run_loop::route_writes as route_writes_for_update;
pub(crate) use run_loop::{message_metadata, run};
