//! LastValue: the default for a state key. One writer per step.

use crate::value::Value;

use super::Channel;
use crate::value::obj;
use crate::{Error, Result};

/// Keeps the last value written. Receiving more than one value in a step is an error, because the
/// order of parallel writers is not something a graph should depend on.
#[derive(Debug, Clone, Default)]
pub struct LastValue {
    value: Option<Value>,
}

impl LastValue {
    /// A channel holding `initial` (or empty).
    pub fn new(initial: Option<Value>) -> Self {
        LastValue { value: initial }
    }
}

impl Channel for LastValue {
    fn get(&self) -> Option<Value> {
        self.value.clone()
    }
    fn is_available(&self) -> bool {
        self.value.is_some()
    }
    fn update(&mut self, key: &str, mut values: Vec<Value>) -> Result<bool> {
        match values.len() {
            0 => Ok(false),
            1 => {
                self.value = values.pop();
                Ok(true)
            }
            n => Err(Error::InvalidUpdate {
                key: key.to_owned(),
                message: format!(
                    "can receive only one value per step, got {n}; give the key a reducer to combine parallel writes"
                ),
            }),
        }
    }
    fn restore(&mut self, value: Value) {
        self.value = Some(value);
    }
    fn clone_box(&self) -> Box<dyn Channel> {
        Box::new(self.clone())
    }
}

/// A LastValue that only becomes available once the run would otherwise finish; it triggers
/// deferred nodes (`defer=True`).
#[derive(Debug, Clone, Default)]
pub struct LastValueAfterFinish {
    value: Option<Value>,
    finished: bool,
}

impl Channel for LastValueAfterFinish {
    fn get(&self) -> Option<Value> {
        if self.finished { self.value.clone() } else { None }
    }
    fn is_available(&self) -> bool {
        self.finished && self.value.is_some()
    }
    fn update(&mut self, _key: &str, mut values: Vec<Value>) -> Result<bool> {
        match values.pop() {
            None => Ok(false),
            Some(v) => {
                self.finished = false;
                self.value = Some(v);
                Ok(true)
            }
        }
    }
    fn consume(&mut self) -> bool {
        if self.finished {
            self.finished = false;
            self.value = None;
            true
        } else {
            false
        }
    }
    fn finish(&mut self) -> bool {
        if !self.finished && self.value.is_some() {
            self.finished = true;
            true
        } else {
            false
        }
    }
    fn checkpoint(&self) -> Option<Value> {
        self.value.as_ref().map(|v| obj! {"value" => v.clone(), "finished" => self.finished})
    }
    fn restore(&mut self, value: Value) {
        if let Value::Object(m) = value {
            self.finished = m.get("finished").and_then(Value::as_bool).unwrap_or(false);
            self.value = m.get("value").cloned();
        }
    }
    fn clone_box(&self) -> Box<dyn Channel> {
        Box::new(self.clone())
    }
}
