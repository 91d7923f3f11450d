//! Checkpointers for Python: the engine's savers, with a codec that stores Python objects.

use std::sync::Arc;

use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyList};
use stategraph_checkpoint::{
    CheckpointConfig, CheckpointId, CheckpointTuple, Checkpointer, Error, InMemorySaver, ListFilter, MsgpackSerde,
    Result, Serde,
};
use stategraph_checkpoint_postgres::{PostgresOptions, PostgresSaver};
use stategraph_checkpoint_sqlite::{SqliteOptions, SqliteSaver};
use stategraph_value::Value;

use crate::convert::{py_to_value, value_to_py};
use crate::runtime::block_on;

/// The tag of a value stored with `pickle` (it holds Python objects).
pub(crate) const TAG_PICKLE: &str = "pickle";

/// The host codec: plain data as MessagePack (readable by every Stategraph tool), values holding
/// Python objects as a pickle of the whole value (read back only by Python, which is the only
/// reader that could make sense of them).
#[derive(Debug)]
pub(crate) struct PickleSerde;

impl Serde for PickleSerde {
    fn dumps(&self, value: &Value) -> Result<(String, Vec<u8>)> {
        if !value.contains_foreign() {
            return MsgpackSerde.dumps(value);
        }
        let pickled = Python::attach(|py| {
            let obj = value_to_py(py, value)?;
            let bytes = py.import("pickle")?.getattr("dumps")?.call1((obj,))?;
            Ok::<_, PyErr>(bytes.cast::<PyBytes>()?.as_bytes().to_vec())
        });
        match pickled {
            Ok(b) => Ok((TAG_PICKLE.to_owned(), b)),
            // Objects pickle cannot store (classes defined inside functions, open handles...)
            // are stored as their plain-data rendering (a Pydantic model's fields, else its
            // repr), as LangGraph's serializer falls back to a model's fields: lossy, but the
            // run goes on.
            Err(_) => MsgpackSerde.dumps(&Value::from(value.to_json())),
        }
    }

    fn loads(&self, type_tag: &str, bytes: &[u8]) -> Result<Value> {
        if type_tag != TAG_PICKLE {
            return MsgpackSerde.loads(type_tag, bytes);
        }
        Python::attach(|py| {
            let obj = py.import("pickle")?.getattr("loads")?.call1((PyBytes::new(py, bytes),))?;
            py_to_value(&obj)
        })
        .map_err(|e| Error::corrupt("pickle value", e.to_string()))
    }
}

/// A checkpointer handle.
#[pyclass(module = "langgraph_rust._native", name = "Saver", frozen)]
pub(crate) struct PySaver {
    pub(crate) saver: Arc<dyn Checkpointer>,
}

fn err(e: impl std::fmt::Display) -> PyErr {
    PyRuntimeError::new_err(e.to_string())
}

#[pymethods]
impl PySaver {
    /// The in-memory saver (values kept as they are, Python objects included).
    #[staticmethod]
    fn memory() -> PySaver {
        PySaver { saver: Arc::new(InMemorySaver::new()) }
    }

    /// A SQLite file (created if missing).
    #[staticmethod]
    fn sqlite(py: Python<'_>, path: String) -> PyResult<PySaver> {
        let options = SqliteOptions::default().serde(Arc::new(PickleSerde));
        let saver = block_on(py, async move { SqliteSaver::open_with(path, options).await }).map_err(err)?;
        Ok(PySaver { saver: Arc::new(saver) })
    }

    /// A PostgreSQL database (`postgres://...`); tables are created if missing, in `schema`.
    #[staticmethod]
    #[pyo3(signature = (url, schema=None))]
    fn postgres(py: Python<'_>, url: String, schema: Option<String>) -> PyResult<PySaver> {
        let mut options = PostgresOptions::default().serde(Arc::new(PickleSerde));
        if let Some(schema) = schema {
            options = options.schema(schema);
        }
        let saver = block_on(py, async move { PostgresSaver::connect_with(&url, options).await }).map_err(err)?;
        Ok(PySaver { saver: Arc::new(saver) })
    }

    /// The thread's latest checkpoint (or `checkpoint_id`), as a dict; `None` when absent.
    #[pyo3(signature = (thread_id, checkpoint_ns=String::new(), checkpoint_id=None))]
    fn get_tuple<'py>(
        &self,
        py: Python<'py>,
        thread_id: String,
        checkpoint_ns: String,
        checkpoint_id: Option<String>,
    ) -> PyResult<Option<Bound<'py, PyDict>>> {
        let config =
            CheckpointConfig { thread_id, checkpoint_ns, checkpoint_id: checkpoint_id.map(|s| id(&s)).transpose()? };
        let saver = self.saver.clone();
        let t = block_on(py, async move { saver.get_tuple(&config).await }).map_err(err)?;
        t.map(|t| tuple_py(py, &t)).transpose()
    }

    /// The thread's checkpoints, newest first, as dicts.
    #[pyo3(signature = (thread_id, checkpoint_ns=None, before=None, limit=None, filter=None))]
    fn list<'py>(
        &self,
        py: Python<'py>,
        thread_id: Option<String>,
        checkpoint_ns: Option<String>,
        before: Option<String>,
        limit: Option<usize>,
        filter: Option<Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyList>> {
        let mut f = ListFilter { thread_id, checkpoint_ns, ..ListFilter::default() };
        f.before = before.map(|s| id(&s)).transpose()?;
        f.limit = limit;
        if let Some(m) = filter
            && let Value::Object(m) = py_to_value(&m)?
        {
            f.metadata = Some(Arc::unwrap_or_clone(m));
        }
        let saver = self.saver.clone();
        let list = block_on(py, async move { saver.list(&f).await }).map_err(err)?;
        let out = PyList::empty(py);
        for t in &list {
            out.append(tuple_py(py, t)?)?;
        }
        Ok(out)
    }

    /// Deletes every checkpoint of a thread.
    fn delete_thread(&self, py: Python<'_>, thread_id: String) -> PyResult<()> {
        let saver = self.saver.clone();
        block_on(py, async move { saver.delete_thread(&thread_id).await }).map_err(err)
    }
}

fn id(s: &str) -> PyResult<CheckpointId> {
    s.parse::<CheckpointId>().map_err(|e| PyRuntimeError::new_err(format!("invalid checkpoint_id `{s}`: {e}")))
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

/// A checkpoint tuple in LangGraph's field names (the Python layer wraps it).
fn tuple_py<'py>(py: Python<'py>, t: &CheckpointTuple) -> PyResult<Bound<'py, PyDict>> {
    let cp = PyDict::new(py);
    cp.set_item("v", t.checkpoint.v)?;
    cp.set_item("id", t.checkpoint.id.to_string())?;
    cp.set_item("ts", &t.checkpoint.ts)?;
    let values = PyDict::new(py);
    for (k, v) in &t.checkpoint.channel_values {
        values.set_item(k, value_to_py(py, v)?)?;
    }
    cp.set_item("channel_values", values)?;
    cp.set_item("channel_versions", t.checkpoint.channel_versions.clone())?;
    cp.set_item("versions_seen", t.checkpoint.versions_seen.clone())?;
    cp.set_item("updated_channels", t.checkpoint.updated_channels.clone())?;
    let d = PyDict::new(py);
    d.set_item("config", config_py(py, &t.config)?)?;
    d.set_item("checkpoint", cp)?;
    let md = t.metadata.to_value().map_err(err)?;
    d.set_item("metadata", value_to_py(py, &md)?)?;
    d.set_item("parent_config", t.parent_config.as_ref().map(|c| config_py(py, c)).transpose()?)?;
    let writes = PyList::empty(py);
    for w in &t.pending_writes {
        writes.append((w.task_id.as_str(), w.channel.as_str(), value_to_py(py, &w.value)?))?;
    }
    d.set_item("pending_writes", writes)?;
    Ok(d)
}
