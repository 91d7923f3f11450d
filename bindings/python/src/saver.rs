//! Checkpointers for Python: the engine's savers, with a codec that stores Python objects.

use std::sync::Arc;

use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;
use pyo3::types::PyBytes;
use stategraph_checkpoint::{Checkpointer, Error, InMemorySaver, MsgpackSerde, Result, Serde};
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

    /// Deletes every checkpoint of a thread.
    fn delete_thread(&self, py: Python<'_>, thread_id: String) -> PyResult<()> {
        let saver = self.saver.clone();
        block_on(py, async move { saver.delete_thread(&thread_id).await }).map_err(err)
    }
}
