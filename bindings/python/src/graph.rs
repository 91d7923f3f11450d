//! Engine handles for the Python layer: the graph builder, the compiled graph and its run stream.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::StreamExt;
use pyo3::exceptions::{PyRuntimeError, PyStopIteration, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyTuple};
use stategraph_checkpoint::{CheckpointConfig, CheckpointId, ListFilter};
use stategraph_core::{
    ChannelSpec, CompileOptions, CompiledGraph, Durability, Error, Input, Managed, MermaidOptions, NodeOptions,
    PathMap, Reducer, RetryPolicy, RunConfig, RunStream, Schema, StateGraph, StateSnapshot, StreamMode, StreamOptions,
    TaskSnapshot, Value,
};

use crate::convert::{py_to_value, value_to_py};
use crate::errors::to_py;
use crate::node::{PyNode, PyTaskContext, command, reducer, retry_predicate, router};
use crate::runtime::block_on;
use crate::saver::PySaver;

/// A channel declaration from the Python layer: `(key, kind, reducer, default)`.
type ChannelDecl<'py> = (String, String, Option<Bound<'py, PyAny>>, Option<Bound<'py, PyAny>>);

/// The graph under construction (LangGraph's `StateGraph` before `compile`).
#[pyclass(module = "langgraph_rust._native", name = "GraphBuilder")]
pub(crate) struct PyGraphBuilder {
    graph: Mutex<StateGraph>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

#[pymethods]
impl PyGraphBuilder {
    /// `channels`: `(key, kind, reducer, default)` where kind is `last_value`, `reducer`,
    /// `ephemeral`, `untracked`, `topic`, `remaining_steps` or `is_last_step`, and reducer a
    /// builtin name or a Python function.
    #[new]
    #[pyo3(signature = (channels, input_keys=None, output_keys=None))]
    fn new(
        channels: Vec<ChannelDecl<'_>>,
        input_keys: Option<Vec<String>>,
        output_keys: Option<Vec<String>>,
    ) -> PyResult<Self> {
        let mut schema = Schema::new();
        for (key, kind, red, default) in channels {
            let spec = match kind.as_str() {
                "last_value" => ChannelSpec::last_value(),
                "ephemeral" => ChannelSpec::ephemeral(),
                "untracked" => ChannelSpec::untracked(),
                "topic" => ChannelSpec::topic(false),
                "remaining_steps" => {
                    schema = schema.managed(key, Managed::RemainingSteps);
                    continue;
                }
                "is_last_step" => {
                    schema = schema.managed(key, Managed::IsLastStep);
                    continue;
                }
                "reducer" => {
                    let red = red.ok_or_else(|| PyValueError::new_err(format!("key `{key}`: reducer missing")))?;
                    let r = if let Ok(name) = red.extract::<String>() {
                        builtin_reducer(&name)
                            .ok_or_else(|| PyValueError::new_err(format!("unknown builtin reducer `{name}`")))?
                    } else {
                        let name = red
                            .getattr("__name__")
                            .and_then(|n| n.extract::<String>())
                            .unwrap_or_else(|_| "reducer".into());
                        reducer(name, red.unbind())
                    };
                    ChannelSpec::reducer(r)
                }
                other => return Err(PyValueError::new_err(format!("unknown channel kind `{other}`"))),
            };
            let spec = match default {
                Some(d) => spec.with_default(py_to_value(&d)?),
                None => spec,
            };
            schema = schema.key(key, spec);
        }
        let mut graph = StateGraph::new(schema);
        if let Some(k) = input_keys {
            graph = graph.with_input_keys(k);
        }
        if let Some(k) = output_keys {
            graph = graph.with_output_keys(k);
        }
        Ok(PyGraphBuilder { graph: Mutex::new(graph) })
    }

    /// Adds a node: a Python runner or a compiled graph (a subgraph).
    #[pyo3(signature = (name, node, defer=false, retry=None, input_keys=None, destinations=None, metadata=None))]
    #[allow(clippy::too_many_arguments)]
    fn add_node(
        &self,
        name: String,
        node: &Bound<'_, PyAny>,
        defer: bool,
        retry: Option<Vec<Bound<'_, PyAny>>>,
        input_keys: Option<Vec<String>>,
        destinations: Option<Vec<String>>,
        metadata: Option<Bound<'_, PyAny>>,
    ) -> PyResult<()> {
        let mut options = NodeOptions::new();
        options.defer = defer;
        options.input_keys = input_keys;
        options.destinations = destinations.unwrap_or_default();
        if let Some(md) = metadata
            && let Value::Object(m) = py_to_value(&md)?
        {
            options.metadata = Arc::unwrap_or_clone(m);
        }
        if let Some(policies) = retry {
            // The engine takes one policy per node; the Python layer passes LangGraph's first
            // matching policy's fields: (initial, backoff, max_interval, max_attempts, jitter, retry_on).
            if let Some(p) = policies.into_iter().next() {
                let (initial, backoff, max_interval, attempts, jitter, on): (f64, f64, f64, u32, bool, Py<PyAny>) =
                    p.extract()?;
                let policy = RetryPolicy::new()
                    .initial_interval(Duration::from_secs_f64(initial))
                    .backoff_factor(backoff)
                    .max_interval(Duration::from_secs_f64(max_interval))
                    .max_attempts(attempts)
                    .jitter(jitter)
                    .retry_on(retry_predicate(on));
                options.retry = Some(policy);
            }
        }
        let mut g = lock(&self.graph);
        if let Ok(sub) = node.cast::<PyCompiled>() {
            g.add_node_with(name, sub.borrow().graph.clone(), options);
        } else {
            g.add_node_with(name, PyNode { runner: node.clone().unbind() }, options);
        }
        Ok(())
    }

    /// Adds an edge; several sources make a join.
    fn add_edge(&self, sources: Vec<String>, target: String) {
        let mut g = lock(&self.graph);
        if sources.len() == 1 {
            g.add_edge(sources[0].as_str(), &target);
        } else {
            g.add_edge(sources, &target);
        }
    }

    /// Adds a conditional edge; `path_map` maps labels to nodes.
    #[pyo3(signature = (source, runner, path_map=None))]
    fn add_conditional_edges(
        &self,
        source: String,
        runner: Py<PyAny>,
        path_map: Option<Vec<(String, String)>>,
    ) -> PyResult<()> {
        let pm = match path_map {
            Some(pairs) => PathMap::labels(pairs),
            None => PathMap::none(),
        };
        lock(&self.graph).add_router(&source, router(runner), pm);
        Ok(())
    }

    /// Validates and compiles.
    #[pyo3(signature = (checkpointer=None, interrupt_before=None, interrupt_after=None, name=None))]
    fn compile(
        &self,
        py: Python<'_>,
        checkpointer: Option<PyRef<'_, PySaver>>,
        interrupt_before: Option<Vec<String>>,
        interrupt_after: Option<Vec<String>>,
        name: Option<String>,
    ) -> PyResult<PyCompiled> {
        let mut options = CompileOptions { name, allow_unreachable: true, ..CompileOptions::default() };
        options.checkpointer = checkpointer.map(|s| s.saver.clone());
        options.interrupt_before = interrupt_before.unwrap_or_default();
        options.interrupt_after = interrupt_after.unwrap_or_default();
        let g = lock(&self.graph);
        let graph = g.compile_with(options).map_err(|e| to_py(py, e))?;
        Ok(PyCompiled { graph })
    }
}

fn builtin_reducer(name: &str) -> Option<Reducer> {
    match name {
        "add_messages" => None,
        other => Reducer::builtin(other),
    }
}

/// A compiled graph.
#[pyclass(module = "langgraph_rust._native", name = "CompiledGraph", frozen)]
pub(crate) struct PyCompiled {
    pub(crate) graph: CompiledGraph,
}

/// Run arguments from the Python layer (keyword dict).
/// A run's configuration: the parent task's child configuration when the run is nested in a Python
/// node (so its events stream into the parent run and it checkpoints under the task's namespace),
/// else the defaults; `args` override either.
fn run_config(
    py: Python<'_>,
    args: Option<&Bound<'_, PyDict>>,
    parent: Option<&Bound<'_, PyAny>>,
) -> PyResult<RunConfig> {
    let mut c = match parent {
        Some(p) => p.cast::<PyTaskContext>()?.borrow().child_config(),
        None => RunConfig::default(),
    };
    let Some(args) = args else { return Ok(c) };
    for (k, v) in args.iter() {
        if v.is_none() {
            continue;
        }
        let k: String = k.extract()?;
        match k.as_str() {
            "recursion_limit" => c.recursion_limit = v.extract()?,
            "thread_id" => c.thread_id = Some(v.str()?.to_string()),
            "checkpoint_id" => c.checkpoint_id = Some(parse_id(&v.extract::<String>()?)?),
            "durability" => {
                c.durability = match v.extract::<String>()?.as_str() {
                    "sync" => Durability::Sync,
                    "async" => Durability::Async,
                    "exit" => Durability::Exit,
                    other => return Err(PyValueError::new_err(format!("unknown durability `{other}`"))),
                }
            }
            "context" => c.context = Arc::new(py_to_value(&v)?),
            "run_id" => c.run_id = Some(v.str()?.to_string()),
            "tags" => c.tags = v.extract()?,
            "metadata" => {
                if let Value::Object(m) = py_to_value(&v)? {
                    c.metadata = Arc::unwrap_or_clone(m);
                }
            }
            "interrupt_before" => c.interrupt_before = Some(v.extract()?),
            "interrupt_after" => c.interrupt_after = Some(v.extract()?),
            other => return Err(PyValueError::new_err(format!("unknown run argument `{other}`"))),
        }
    }
    let _ = py;
    Ok(c)
}

fn parse_id(s: &str) -> PyResult<CheckpointId> {
    s.parse::<CheckpointId>().map_err(|e| PyValueError::new_err(format!("invalid checkpoint_id `{s}`: {e}")))
}

/// The run input: a value, or the Python layer's `("cmd", ...)` tuple for a `Command`.
fn run_input(input: &Bound<'_, PyAny>, is_command: bool) -> PyResult<Input> {
    if is_command {
        Ok(Input::Command(command(input.cast::<PyTuple>()?)?))
    } else {
        Ok(Input::Value(py_to_value(input)?))
    }
}

fn checkpoint_config(thread_id: String, ns: String, checkpoint_id: Option<String>) -> PyResult<CheckpointConfig> {
    Ok(CheckpointConfig {
        thread_id,
        checkpoint_ns: ns,
        checkpoint_id: checkpoint_id.as_deref().map(parse_id).transpose()?,
    })
}

fn config_py<'py>(py: Python<'py>, c: &CheckpointConfig) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("thread_id", &c.thread_id)?;
    d.set_item("checkpoint_ns", &c.checkpoint_ns)?;
    if let Some(id) = &c.checkpoint_id {
        d.set_item("checkpoint_id", id.to_string())?;
    }
    Ok(d)
}

fn interrupts_py<'py>(py: Python<'py>, list: &[stategraph_core::Interrupt]) -> PyResult<Bound<'py, PyList>> {
    let out = PyList::empty(py);
    for i in list {
        out.append(value_to_py(py, &i.to_value())?)?;
    }
    Ok(out)
}

fn task_py<'py>(py: Python<'py>, t: &TaskSnapshot) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("id", &t.id)?;
    d.set_item("name", &t.name)?;
    d.set_item("error", t.error.as_ref().map(|e| value_to_py(py, e)).transpose()?)?;
    d.set_item("interrupts", interrupts_py(py, &t.interrupts)?)?;
    d.set_item("result", t.result.as_ref().map(|e| value_to_py(py, e)).transpose()?)?;
    d.set_item("state", t.state.as_ref().map(|s| snapshot_py(py, s)).transpose()?)?;
    Ok(d)
}

fn snapshot_py<'py>(py: Python<'py>, s: &StateSnapshot) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("values", value_to_py(py, &s.values)?)?;
    d.set_item("next", PyTuple::new(py, &s.next)?)?;
    d.set_item("config", config_py(py, &s.config)?)?;
    let md = match &s.metadata {
        Some(m) => Some(value_to_py(py, &m.to_value().map_err(|e| PyRuntimeError::new_err(e.to_string()))?)?),
        None => None,
    };
    d.set_item("metadata", md)?;
    d.set_item("created_at", &s.created_at)?;
    d.set_item("parent_config", s.parent_config.as_ref().map(|c| config_py(py, c)).transpose()?)?;
    let tasks = PyList::empty(py);
    for t in &s.tasks {
        tasks.append(task_py(py, t)?)?;
    }
    d.set_item("tasks", tasks)?;
    d.set_item("interrupts", interrupts_py(py, &s.interrupts)?)?;
    Ok(d)
}

#[pymethods]
impl PyCompiled {
    /// Runs to completion; returns the output.
    #[pyo3(signature = (input, is_command=false, args=None, parent=None))]
    fn invoke(
        &self,
        py: Python<'_>,
        input: &Bound<'_, PyAny>,
        is_command: bool,
        args: Option<&Bound<'_, PyDict>>,
        parent: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Py<PyAny>> {
        let input = run_input(input, is_command)?;
        let config = run_config(py, args, parent)?;
        let graph = self.graph.clone();
        let out = block_on(py, async move { graph.invoke(input, config).await });
        match out {
            Ok(v) => value_to_py(py, &v),
            Err(e @ (Error::Interrupted(_) | Error::ParentCommand(_))) if parent.is_some() => {
                // A pause or a command for the parent inside a nested run: the enclosing task
                // hands the engine's signal on when the Python node's call ends.
                let task = parent.expect("checked").cast::<PyTaskContext>()?;
                let exc = match &e {
                    Error::Interrupted(list) => {
                        let errors = py.import("langgraph_rust.errors")?;
                        let values = PyList::empty(py);
                        for i in list {
                            values.append(value_to_py(py, &i.to_value())?)?;
                        }
                        errors.getattr("_nested_interrupt")?.call1((values,))?
                    }
                    _ => py.import("langgraph_rust.errors")?.getattr("ParentCommand")?.call0()?,
                };
                task.borrow().set_pending(e.into());
                Err(PyErr::from_value(exc))
            }
            Err(e) => Err(to_py(py, e)),
        }
    }

    /// Starts a streamed run: an iterator of `(namespace, mode, data)`.
    #[pyo3(signature = (input, modes, subgraphs=false, is_command=false, args=None, parent=None))]
    #[allow(clippy::too_many_arguments)]
    fn stream(
        &self,
        py: Python<'_>,
        input: &Bound<'_, PyAny>,
        modes: Vec<String>,
        subgraphs: bool,
        is_command: bool,
        args: Option<&Bound<'_, PyDict>>,
        parent: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<PyRunStream> {
        let input = run_input(input, is_command)?;
        let config = run_config(py, args, parent)?;
        let modes = modes
            .iter()
            .map(|m| m.parse::<StreamMode>().map_err(|e| PyValueError::new_err(e.to_string())))
            .collect::<PyResult<Vec<_>>>()?;
        let stream = self.graph.stream(input, config, StreamOptions::modes(modes).with_subgraphs(subgraphs));
        Ok(PyRunStream { stream: Mutex::new(Some(stream)) })
    }

    /// The thread's state (a dict the Python layer turns into a `StateSnapshot`).
    #[pyo3(signature = (thread_id, checkpoint_ns=String::new(), checkpoint_id=None, subgraphs=false))]
    fn get_state<'py>(
        &self,
        py: Python<'py>,
        thread_id: String,
        checkpoint_ns: String,
        checkpoint_id: Option<String>,
        subgraphs: bool,
    ) -> PyResult<Bound<'py, PyDict>> {
        let config = checkpoint_config(thread_id, checkpoint_ns, checkpoint_id)?;
        let graph = self.graph.clone();
        let snap = block_on(py, async move {
            if subgraphs { graph.get_state_with_subgraphs(&config).await } else { graph.get_state(&config).await }
        })
        .map_err(|e| to_py(py, e))?;
        snapshot_py(py, &snap)
    }

    /// The thread's checkpoints, newest first.
    #[pyo3(signature = (thread_id, checkpoint_ns=String::new(), before=None, limit=None, filter=None))]
    fn get_state_history<'py>(
        &self,
        py: Python<'py>,
        thread_id: String,
        checkpoint_ns: String,
        before: Option<String>,
        limit: Option<usize>,
        filter: Option<Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyList>> {
        let config = checkpoint_config(thread_id.clone(), checkpoint_ns, None)?;
        let mut f = ListFilter::thread(thread_id);
        if let Some(b) = before {
            f = f.before(parse_id(&b)?);
        }
        if let Some(l) = limit {
            f = f.limit(l);
        }
        if let Some(m) = filter
            && let Value::Object(m) = py_to_value(&m)?
        {
            f = f.metadata(Arc::unwrap_or_clone(m));
        }
        let graph = self.graph.clone();
        let list = block_on(py, async move { graph.get_state_history(&config, f).await }).map_err(|e| to_py(py, e))?;
        let out = PyList::empty(py);
        for s in &list {
            out.append(snapshot_py(py, s)?)?;
        }
        Ok(out)
    }

    /// Applies `values` as `as_node`'s writes and saves a checkpoint; returns its config.
    #[pyo3(signature = (thread_id, values, as_node=None, checkpoint_ns=String::new(), checkpoint_id=None))]
    fn update_state<'py>(
        &self,
        py: Python<'py>,
        thread_id: String,
        values: &Bound<'py, PyAny>,
        as_node: Option<String>,
        checkpoint_ns: String,
        checkpoint_id: Option<String>,
    ) -> PyResult<Bound<'py, PyDict>> {
        let config = checkpoint_config(thread_id, checkpoint_ns, checkpoint_id)?;
        let values = py_to_value(values)?;
        let graph = self.graph.clone();
        let c = block_on(py, async move { graph.update_state(&config, values, as_node.as_deref()).await })
            .map_err(|e| to_py(py, e))?;
        config_py(py, &c)
    }

    /// Mermaid source of the graph.
    #[pyo3(signature = (xray=false, with_styles=true))]
    fn draw_mermaid(&self, xray: bool, with_styles: bool) -> String {
        let options = MermaidOptions { xray, with_styles, ..MermaidOptions::default() };
        self.graph.draw_mermaid_with(options)
    }

    /// Node names in insertion order.
    fn node_names(&self) -> Vec<String> {
        self.graph.node_names().into_iter().map(str::to_owned).collect()
    }
}

/// A streamed run: iterate for `(namespace, mode, data)`; `output()` after the end.
#[pyclass(module = "langgraph_rust._native", name = "RunStream")]
pub(crate) struct PyRunStream {
    stream: Mutex<Option<RunStream>>,
}

#[pymethods]
impl PyRunStream {
    fn __iter__(slf: PyRef<'_, Self>) -> PyRef<'_, Self> {
        slf
    }

    fn __next__<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
        let mut guard = lock(&self.stream);
        let Some(stream) = guard.as_mut() else { return Err(PyStopIteration::new_err(())) };
        let next = block_on(py, stream.next());
        match next {
            Some(Ok(ev)) => {
                let ns = PyTuple::new(py, &ev.namespace)?;
                let data = value_to_py(py, &ev.data)?;
                PyTuple::new(py, [ns.into_any(), ev.mode.as_str().into_pyobject(py)?.into_any(), data.into_bound(py)])
            }
            Some(Err(e)) => {
                *guard = None;
                Err(to_py(py, e))
            }
            None => Err(PyStopIteration::new_err(())),
        }
    }

    /// The run's output, once the stream ended.
    fn output(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        match lock(&self.stream).as_ref().and_then(|s| s.output()) {
            Some(v) => value_to_py(py, v),
            None => Ok(py.None()),
        }
    }

    /// Stops the run (dropping it cancels it).
    fn close(&self) {
        *lock(&self.stream) = None;
    }
}
