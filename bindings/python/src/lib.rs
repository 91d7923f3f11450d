//! The native part of `langgraph_rust`: engine handles (graph builder, compiled graph, run
//! stream, savers) for the LangGraph-shaped API the package writes in Python on top.
//!
//! Values cross as described in `convert`; Python callables are called from the engine under
//! the GIL (`node`), and the engine runs with the GIL released (`runtime`).

mod convert;
mod errors;
mod graph;
mod node;
mod runtime;
mod saver;

use pyo3::prelude::*;

/// The extension module `langgraph_rust._native`.
#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<graph::PyGraphBuilder>()?;
    m.add_class::<graph::PyCompiled>()?;
    m.add_class::<graph::PyRunStream>()?;
    m.add_class::<node::PyTaskContext>()?;
    m.add_class::<saver::PySaver>()?;
    Ok(())
}
