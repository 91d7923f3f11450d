//! The tokio runtime runs are driven on.
//!
//! One runtime for the process: savers keep pooled connections that must live on the runtime that
//! drives them. A run is driven on the calling Python thread (`block_on`), with the GIL released
//! (`Python::detach`); Python nodes take it back for their own call only. One worker thread runs
//! what the engine spawns (the async-durability writer, connection pools).

use std::future::Future;
use std::sync::OnceLock;

use pyo3::prelude::*;

fn runtime() -> &'static tokio::runtime::Runtime {
    static RT: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RT.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("langgraph-rust")
            .enable_all()
            .build()
            .expect("the tokio runtime could not start (out of threads or file descriptors?)")
    })
}

/// Runs `future` to completion with the GIL released. Inside a running graph (a Python node
/// invoking another graph) the future runs on the current thread instead, since tokio cannot
/// block inside its own runtime.
pub(crate) fn block_on<F>(py: Python<'_>, future: F) -> F::Output
where
    F: Future + Send,
    F::Output: Send,
{
    if tokio::runtime::Handle::try_current().is_ok() {
        return py.detach(|| futures::executor::block_on(future));
    }
    py.detach(|| runtime().block_on(future))
}
