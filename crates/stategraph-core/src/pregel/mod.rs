//! The Pregel engine: the pure superstep algorithm (`algo`) and the async loop around it.

pub(crate) mod algo;
mod persist;
mod run_loop;

pub(crate) use run_loop::run;
