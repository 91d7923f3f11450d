//! The state a node reads: a cheap, immutable view of the channels at the start of a superstep.
//!
//! Building a view clones one `Arc` per key; values are shared with the channels until a reducer
//! writes them (copy-on-write), so passing a large state to many parallel nodes copies nothing.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use crate::value::{Map, Value};
use serde::de::DeserializeOwned;
use serde::ser::{Serialize, SerializeMap, Serializer};

use crate::{Error, Result};

/// Managed values: computed by the engine for each step rather than stored (LangGraph's
/// `RemainingSteps`, `IsLastStep`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Managed {
    /// Supersteps left before the recursion limit is hit.
    RemainingSteps,
    /// Whether this is the last step before the recursion limit.
    IsLastStep,
}

impl Managed {
    pub(crate) fn value(self, step: i64, stop: i64) -> Value {
        match self {
            Managed::RemainingSteps => Value::from(stop - step),
            Managed::IsLastStep => Value::Bool(step == stop - 1),
        }
    }
}

/// Key names of one view, shared by every view with the same schema.
#[derive(Debug)]
pub(crate) struct Keys {
    pub(crate) names: Vec<Arc<str>>,
    index: HashMap<Arc<str>, usize>,
}

impl Keys {
    pub(crate) fn new(names: Vec<Arc<str>>) -> Arc<Keys> {
        let index = names.iter().enumerate().map(|(i, n)| (n.clone(), i)).collect();
        Arc::new(Keys { names, index })
    }
    fn position(&self, key: &str) -> Option<usize> {
        if self.names.len() <= 8 {
            // A short scan beats hashing for the small states most graphs have.
            self.names.iter().position(|n| &**n == key)
        } else {
            self.index.get(key).copied()
        }
    }
}

#[derive(Clone)]
enum Repr {
    View { keys: Arc<Keys>, values: Arc<[Option<Value>]> },
    Value(Value),
}

/// What a node (or router) reads: the state keys of its input schema, or, for a `Send` task, the
/// value that was sent. Cheap to clone.
#[derive(Clone)]
pub struct State {
    repr: Repr,
}

impl State {
    pub(crate) fn from_view(keys: Arc<Keys>, values: Arc<[Option<Value>]>) -> State {
        State { repr: Repr::View { keys, values } }
    }

    /// A state holding an arbitrary value (the argument of a `Send`, or a test fixture).
    pub fn from_value(value: impl Into<Value>) -> State {
        State { repr: Repr::Value(value.into()) }
    }

    /// The value of `key`, if the state has it.
    pub fn get(&self, key: &str) -> Option<&Value> {
        match &self.repr {
            Repr::View { keys, values } => keys.position(key).and_then(|i| values[i].as_ref()),
            Repr::Value(v) => v.get(key),
        }
    }

    /// The value of `key` converted to `T`; `Ok(None)` when absent.
    pub fn get_as<T: DeserializeOwned>(&self, key: &str) -> Result<Option<T>> {
        match self.get(key) {
            None => Ok(None),
            Some(v) => v.deserialize_into().map(Some).map_err(|e| Error::Conversion(format!("state key `{key}`: {e}"))),
        }
    }

    /// `key` as an i64, or 0 when absent or not an integer (handy for counters).
    pub fn get_i64(&self, key: &str) -> i64 {
        self.get(key).and_then(Value::as_i64).unwrap_or(0)
    }

    /// `key` as a string slice.
    pub fn get_str(&self, key: &str) -> Option<&str> {
        self.get(key).and_then(Value::as_str)
    }

    /// `key` as a list.
    pub fn get_array(&self, key: &str) -> Option<&Vec<Value>> {
        self.get(key).and_then(Value::as_array)
    }

    /// Whether `key` has a value.
    pub fn contains(&self, key: &str) -> bool {
        self.get(key).is_some()
    }

    /// The keys that have a value, in schema order.
    pub fn keys(&self) -> Vec<&str> {
        match &self.repr {
            Repr::View { keys, values } => {
                keys.names.iter().zip(values.iter()).filter(|(_, v)| v.is_some()).map(|(k, _)| &**k).collect()
            }
            Repr::Value(v) => v.as_object().map(|m| m.keys().map(|k| &**k).collect()).unwrap_or_default(),
        }
    }

    /// The whole state as one value (an object of the keys that have a value). Cheap: values
    /// are shared, not copied.
    pub fn to_value(&self) -> Value {
        match &self.repr {
            Repr::View { keys, values } => {
                let mut m = Map::with_capacity(keys.names.len());
                for (k, v) in keys.names.iter().zip(values.iter()) {
                    if let Some(v) = v {
                        m.insert(k.clone(), v.clone());
                    }
                }
                Value::from(m)
            }
            Repr::Value(v) => v.clone(),
        }
    }

    /// The whole state converted to `T` (typed state).
    pub fn to_typed<T: DeserializeOwned>(&self) -> Result<T> {
        match &self.repr {
            Repr::Value(v) => v.deserialize_into().map_err(|e| Error::Conversion(e.to_string())),
            Repr::View { .. } => self.to_value().deserialize_into().map_err(|e| Error::Conversion(e.to_string())),
        }
    }
}

impl Serialize for State {
    fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        match &self.repr {
            Repr::View { keys, values } => {
                let present = values.iter().filter(|v| v.is_some()).count();
                let mut map = serializer.serialize_map(Some(present))?;
                for (k, v) in keys.names.iter().zip(values.iter()) {
                    if let Some(v) = v {
                        map.serialize_entry(&**k, v)?;
                    }
                }
                map.end()
            }
            Repr::Value(v) => v.serialize(serializer),
        }
    }
}

impl fmt::Debug for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "State({})", serde_json::to_string(self).unwrap_or_default())
    }
}

impl PartialEq<Value> for State {
    fn eq(&self, other: &Value) -> bool {
        &self.to_value() == other
    }
}

impl PartialEq<serde_json::Value> for State {
    fn eq(&self, other: &serde_json::Value) -> bool {
        &self.to_value() == other
    }
}
