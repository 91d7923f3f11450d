//! Errors across the boundary: Python exceptions raised by nodes travel through the engine inside
//! a [`NodeError`] and come out as the very same exception; engine errors become the exception
//! classes of `langgraph_rust.errors` (LangGraph's names), with the stable `SG0xx` code.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Mutex, OnceLock};

use pyo3::prelude::*;
use stategraph_core::{Error, NodeError};

/// A Python exception inside the engine (the source of a [`NodeError`]).
pub(crate) struct PyErrBox(pub(crate) PyErr);

impl fmt::Debug for PyErrBox {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PyErr({self})")
    }
}

impl fmt::Display for PyErrBox {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = Python::attach(|py| self.0.value(py).str().map(|s| s.to_string()).unwrap_or_default());
        f.write_str(&text)
    }
}

impl std::error::Error for PyErrBox {}

/// Exception class names as `&'static str` (a [`NodeError`] kind); one small leak per class.
fn intern(name: String) -> &'static str {
    static NAMES: OnceLock<Mutex<HashMap<String, &'static str>>> = OnceLock::new();
    let mut names = NAMES.get_or_init(Default::default).lock().unwrap_or_else(|e| e.into_inner());
    if let Some(s) = names.get(&name) {
        return s;
    }
    let leaked: &'static str = Box::leak(name.clone().into_boxed_str());
    names.insert(name, leaked);
    leaked
}

/// Wraps a Python exception raised by a node, router or reducer.
pub(crate) fn node_error(py: Python<'_>, err: PyErr) -> NodeError {
    let kind = err.get_type(py).name().map(|n| n.to_string()).unwrap_or_else(|_| "Exception".into());
    NodeError::from_error(PyErrBox(err)).with_kind(intern(kind))
}

/// The Python exception a [`NodeError`] carries, if a Python callable raised it.
pub(crate) fn python_exception(e: &NodeError) -> Option<&PyErr> {
    std::error::Error::source(e).and_then(|s| s.downcast_ref::<PyErrBox>()).map(|b| &b.0)
}

thread_local! {
    /// The exception the last failing Python reducer raised on this thread: the engine reports
    /// reducer failures as text (SG031), and the run's caller, on the same thread, re-raises it.
    static REDUCER_ERROR: std::cell::RefCell<Option<PyErr>> = const { std::cell::RefCell::new(None) };
}

/// Keeps a Python reducer's exception for [`to_py`].
pub(crate) fn stash_reducer_error(e: PyErr) {
    REDUCER_ERROR.with(|slot| *slot.borrow_mut() = Some(e));
}

/// Turns an engine error into the Python exception LangGraph raises in the same situation.
pub(crate) fn to_py(py: Python<'_>, e: Error) -> PyErr {
    if let Error::NodeFailed { error, .. } = &e
        && let Some(original) = python_exception(error)
    {
        return original.clone_ref(py);
    }
    let stashed = REDUCER_ERROR.with(|slot| slot.borrow_mut().take());
    if let Error::Reducer { .. } = &e {
        if let Some(original) = stashed {
            return original;
        }
        // A native reducer refused the values (`[] + 5`): Python raises TypeError there.
        return pyo3::exceptions::PyTypeError::new_err(e.to_string());
    }
    let made = (|| -> PyResult<PyErr> {
        let errors = py.import("langgraph_rust.errors")?;
        let exc = errors.getattr("_from_engine")?.call1((e.langgraph_name(), e.to_string(), e.code()))?;
        Ok(PyErr::from_value(exc))
    })();
    made.unwrap_or_else(|err| err)
}
