//! Python callables the engine calls: nodes, routers, reducers, retry predicates.
//!
//! Each call takes the GIL (`Python::attach`) for exactly the Python part — converting the state
//! in, calling, converting the result out — and drops it before the engine goes on, so the GIL
//! is held only while Python code runs.

use std::sync::{Arc, Mutex};

use futures::FutureExt;
use futures::future::BoxFuture;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyList, PyString, PyTuple};
use stategraph_core::{
    Command, CommandGraph, Goto, Node, NodeContext, NodeError, NodeOutput, NodeResult, Reducer, Route, RouterFn, Send,
    State, Value,
};

use crate::convert::{py_to_value, value_to_py};
use crate::errors::{node_error, python_exception};

/// What a Python node sees of its task (handed to the Python layer, which builds LangGraph's
/// `config`, `Runtime`, `interrupt()` and `get_stream_writer()` from it).
#[pyclass(module = "langgraph_rust._native", name = "TaskContext")]
pub(crate) struct PyTaskContext {
    ctx: NodeContext,
    /// The pause signal of the engine's `interrupt`, raised in Python as `GraphInterrupt` and
    /// handed back to the engine when the node's call ends.
    pending: Mutex<Option<NodeError>>,
}

impl PyTaskContext {
    /// The configuration of a graph run nested in this task.
    pub(crate) fn child_config(&self) -> stategraph_core::RunConfig {
        self.ctx.child_config()
    }
    /// Records the engine's signal (pause, command for the parent) to hand on when the node ends.
    pub(crate) fn set_pending(&self, e: NodeError) {
        *self.pending.lock().unwrap_or_else(|p| p.into_inner()) = Some(e);
    }
}

#[pymethods]
impl PyTaskContext {
    /// The node's name.
    #[getter]
    fn node(&self) -> &str {
        self.ctx.node()
    }
    /// The task id.
    #[getter]
    fn task_id(&self) -> &str {
        self.ctx.task_id()
    }
    /// The superstep.
    #[getter]
    fn step(&self) -> i64 {
        self.ctx.step()
    }
    /// The attempt (1 first).
    #[getter]
    fn attempt(&self) -> u32 {
        self.ctx.attempt()
    }
    /// Supersteps left before the recursion limit.
    #[getter]
    fn remaining_steps(&self) -> i64 {
        self.ctx.remaining_steps()
    }
    /// The task's checkpoint namespace.
    #[getter]
    fn checkpoint_ns(&self) -> &str {
        self.ctx.checkpoint_ns()
    }
    /// The channels that triggered the task.
    #[getter]
    fn triggers(&self) -> Vec<String> {
        self.ctx.triggers().into_iter().map(str::to_owned).collect()
    }
    /// The run context (`invoke(context=...)`).
    #[getter]
    fn context(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        value_to_py(py, self.ctx.context())
    }
    /// The node's metadata.
    #[getter]
    fn metadata(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        value_to_py(py, &Value::from(self.ctx.metadata().clone()))
    }
    /// Writes to the `custom` stream.
    fn write(&self, value: &Bound<'_, PyAny>) -> PyResult<()> {
        if self.ctx.streams_custom() {
            self.ctx.write(py_to_value(value)?);
        }
        Ok(())
    }
    /// LangGraph's `interrupt(value)`: the resume value, or raises the pause.
    fn interrupt(&self, py: Python<'_>, value: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        match self.ctx.interrupt(py_to_value(value)?) {
            Ok(v) => value_to_py(py, &v),
            Err(e) => {
                *self.pending.lock().unwrap_or_else(|p| p.into_inner()) = Some(e);
                let errors = py.import("langgraph_rust.errors")?;
                let exc = errors.getattr("_interrupt_signal")?.call1((value,))?;
                Err(PyErr::from_value(exc))
            }
        }
    }
}

/// A Python node: the Python layer's runner `(state, task_context) -> normalized output`.
pub(crate) struct PyNode {
    pub(crate) runner: Py<PyAny>,
}

impl Node for PyNode {
    fn call(&self, input: State, ctx: NodeContext) -> BoxFuture<'static, NodeResult> {
        let out = Python::attach(|py| {
            let state = value_to_py(py, &input.to_value()).map_err(|e| node_error(py, e))?;
            let task = Py::new(py, PyTaskContext { ctx, pending: Mutex::new(None) }).map_err(|e| node_error(py, e))?;
            let result = self.runner.bind(py).call1((state, task.clone_ref(py)));
            if let Some(pause) = task.borrow(py).pending.lock().unwrap_or_else(|p| p.into_inner()).take() {
                return Err(pause);
            }
            let result = result.map_err(|e| node_error(py, e))?;
            node_output(&result).map_err(|e| node_error(py, e))
        });
        futures::future::ready(out).boxed()
    }
}

/// Reads the Python layer's normalized node output:
/// `None` | dict | `("cmd", update, gotos, to_parent, resume)` | list of those.
pub(crate) fn node_output(obj: &Bound<'_, PyAny>) -> PyResult<NodeOutput> {
    if obj.is_none() {
        return Ok(NodeOutput::None);
    }
    if let Ok(t) = obj.cast::<PyTuple>()
        && t.len() == 5
        && t.get_item(0)?.extract::<String>().is_ok_and(|s| s == "cmd")
    {
        return Ok(NodeOutput::Command(command(t)?));
    }
    if obj.is_exact_instance_of::<PyList>() {
        let list = obj.cast::<PyList>()?;
        let mut outs = Vec::with_capacity(list.len());
        for item in list.iter() {
            outs.push(node_output(&item)?);
        }
        return Ok(NodeOutput::Many(outs));
    }
    Ok(NodeOutput::from(py_to_value(obj)?))
}

/// `("cmd", update, gotos, to_parent, resume)` as a [`Command`].
pub(crate) fn command(t: &Bound<'_, PyTuple>) -> PyResult<Command> {
    let update = t.get_item(1)?;
    let gotos = t.get_item(2)?;
    let resume = t.get_item(4)?;
    Ok(Command {
        update: if update.is_none() { None } else { Some(py_to_value(&update)?) },
        goto: route(&gotos)?.0,
        graph: if t.get_item(3)?.is_truthy()? { CommandGraph::Parent } else { CommandGraph::Current },
        resume: if resume.is_none() { None } else { Some(py_to_value(&resume)?) },
    })
}

/// A normalized route: a list of node names and `("send", node, arg)` tuples.
pub(crate) fn route(obj: &Bound<'_, PyAny>) -> PyResult<Route> {
    let mut gotos = Vec::new();
    for item in obj.try_iter()? {
        let item = item?;
        if let Ok(s) = item.cast::<PyString>() {
            gotos.push(Goto::Node(s.to_string()));
        } else if let Ok(t) = item.cast::<PyTuple>()
            && t.len() == 3
        {
            let node: String = t.get_item(1)?.extract()?;
            gotos.push(Goto::Send(Send::new(node, py_to_value(&t.get_item(2)?)?)));
        } else {
            return Err(PyValueError::new_err(format!("invalid route entry {}", item.repr()?)));
        }
    }
    Ok(Route(gotos))
}

/// A router from the Python layer's runner `(state) -> normalized route`.
pub(crate) fn router(runner: Py<PyAny>) -> RouterFn {
    Arc::new(move |state: &State| {
        Python::attach(|py| {
            let s = value_to_py(py, &state.to_value()).map_err(|e| node_error(py, e))?;
            let out = runner.bind(py).call1((s,)).map_err(|e| node_error(py, e))?;
            route(&out).map_err(|e| node_error(py, e))
        })
    })
}

/// A reducer calling a Python function `(current, update) -> new`.
pub(crate) fn reducer(name: String, func: Py<PyAny>) -> Reducer {
    Reducer::from_fn(name, move |cur, upd| {
        Python::attach(|py| {
            let call = || -> PyResult<Value> {
                let a = value_to_py(py, &cur)?;
                let b = value_to_py(py, &upd)?;
                py_to_value(&func.bind(py).call1((a, b))?)
            };
            call().map_err(|e| {
                let text = e.value(py).str().map(|s| s.to_string()).unwrap_or_default();
                let kind = e.get_type(py).name().map(|n| n.to_string()).unwrap_or_default();
                crate::errors::stash_reducer_error(e);
                format!("{kind}: {text}")
            })
        })
    })
}

/// A retry predicate calling `retry_on(exception) -> bool` (engine errors that did not come from
/// Python are retried as LangGraph retries unknown exceptions: when they say they may pass).
pub(crate) fn retry_predicate(func: Py<PyAny>) -> impl Fn(&NodeError) -> bool + std::marker::Send + Sync + 'static {
    move |e: &NodeError| match python_exception(e) {
        Some(exc) => {
            Python::attach(|py| func.bind(py).call1((exc.value(py),)).and_then(|r| r.is_truthy()).unwrap_or(false))
        }
        None => e.is_retryable(),
    }
}
