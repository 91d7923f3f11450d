//! Python objects ⇄ engine values.
//!
//! Plain data (None, bool, int, float, str, list, dict with str keys — the exact built-in types)
//! becomes the engine's JSON-like [`Value`], so native reducers, routers and checkpoints can work
//! on it. Everything else (tuples, Pydantic models, dataclasses, LangChain messages, subclasses of
//! the built-ins, ints beyond 64 bits, NaN) travels as [`Value::Foreign`]: the engine carries the
//! object itself, so it comes back to Python unchanged and with its identity.

use std::any::Any;

use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyDict, PyFloat, PyInt, PyList, PyString};
use stategraph_value::{Foreign, HostValue, Map, Number, Value};

/// A Python object carried by the engine.
pub(crate) struct PyHost(pub(crate) Py<PyAny>);

impl HostValue for PyHost {
    fn host_eq(&self, other: &dyn HostValue) -> bool {
        let Some(other) = other.as_any().downcast_ref::<PyHost>() else { return false };
        Python::attach(|py| self.0.bind(py).eq(other.0.bind(py)).unwrap_or(false))
    }

    fn to_json(&self) -> serde_json::Value {
        Python::attach(|py| {
            let obj = self.0.bind(py);
            // Pydantic models and LangChain messages render as their fields; anything else as repr.
            if let Ok(dumped) = obj.call_method0("model_dump")
                && let Ok(v) = py_to_value(&dumped)
                && !v.contains_foreign()
            {
                return v.to_json();
            }
            serde_json::Value::String(obj.repr().map(|r| r.to_string()).unwrap_or_else(|_| "<object>".into()))
        })
    }

    fn type_name(&self) -> String {
        Python::attach(|py| {
            self.0.bind(py).get_type().name().map(|n| n.to_string()).unwrap_or_else(|_| "object".into())
        })
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// Converts a Python object (see the module docs for what becomes plain data).
pub(crate) fn py_to_value(obj: &Bound<'_, PyAny>) -> PyResult<Value> {
    if obj.is_none() {
        return Ok(Value::Null);
    }
    if obj.is_exact_instance_of::<PyString>() {
        let s: String = obj.extract()?;
        return Ok(Value::from(s));
    }
    if obj.is_exact_instance_of::<PyBool>() {
        return Ok(Value::Bool(obj.extract()?));
    }
    if obj.is_exact_instance_of::<PyInt>() {
        if let Ok(i) = obj.extract::<i64>() {
            return Ok(Value::from(i));
        }
        return Ok(foreign(obj));
    }
    if obj.is_exact_instance_of::<PyFloat>() {
        let f: f64 = obj.extract()?;
        return Ok(match Number::from_f64(f) {
            Some(n) => Value::Number(n),
            None => foreign(obj),
        });
    }
    if obj.is_exact_instance_of::<PyList>() {
        let list = obj.cast::<PyList>().map_err(|e| PyTypeError::new_err(e.to_string()))?;
        let mut items = Vec::with_capacity(list.len());
        for item in list.iter() {
            items.push(py_to_value(&item)?);
        }
        return Ok(Value::from(items));
    }
    if obj.is_exact_instance_of::<PyDict>() {
        let dict = obj.cast::<PyDict>().map_err(|e| PyTypeError::new_err(e.to_string()))?;
        let mut m = Map::with_capacity(dict.len());
        for (k, v) in dict.iter() {
            if !k.is_exact_instance_of::<PyString>() {
                // A dict with other keys is not JSON's object: keep the dict itself.
                return Ok(foreign(obj));
            }
            let k: String = k.extract()?;
            m.insert(k.into(), py_to_value(&v)?);
        }
        return Ok(Value::from(m));
    }
    Ok(foreign(obj))
}

fn foreign(obj: &Bound<'_, PyAny>) -> Value {
    Value::Foreign(Foreign::new(PyHost(obj.clone().unbind())))
}

/// Converts an engine value to a Python object (new containers; host objects as themselves).
pub(crate) fn value_to_py(py: Python<'_>, value: &Value) -> PyResult<Py<PyAny>> {
    Ok(match value {
        Value::Null => py.None(),
        Value::Bool(b) => PyBool::new(py, *b).to_owned().into_any().unbind(),
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                i.into_pyobject(py)?.into_any().unbind()
            } else if let Some(u) = n.as_u64() {
                u.into_pyobject(py)?.into_any().unbind()
            } else {
                n.as_f64().unwrap_or(f64::NAN).into_pyobject(py)?.into_any().unbind()
            }
        }
        Value::String(s) => PyString::new(py, s).into_any().unbind(),
        Value::Array(a) => {
            let list = PyList::empty(py);
            for v in a.iter() {
                list.append(value_to_py(py, v)?)?;
            }
            list.into_any().unbind()
        }
        Value::Object(m) => {
            let dict = PyDict::new(py);
            for (k, v) in m.iter() {
                dict.set_item(&**k, value_to_py(py, v)?)?;
            }
            dict.into_any().unbind()
        }
        Value::Foreign(f) => match f.downcast_ref::<PyHost>() {
            Some(h) => h.0.clone_ref(py),
            None => {
                // Another host's object (never happens in this process): show its rendering.
                value_to_py(py, &Value::from(f.get().to_json()))?
            }
        },
    })
}
