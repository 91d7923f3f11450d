//! Untracked: a LastValue that is never written to checkpoints (caches, handles).

use crate::value::Value;

use super::Channel;
use crate::{Error, Result};

/// Keeps the last value; not persisted.
#[derive(Debug, Clone, Default)]
pub struct Untracked {
    value: Option<Value>,
}

impl Untracked {
    /// A channel holding `initial` (or empty).
    pub fn new(initial: Option<Value>) -> Self {
        Untracked { value: initial }
    }
}

impl Channel for Untracked {
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
                message: format!("untracked key can receive only one value per step, got {n}"),
            }),
        }
    }
    fn checkpoint(&self) -> Option<Value> {
        None
    }
    fn restore(&mut self, _value: Value) {}
    fn clone_box(&self) -> Box<dyn Channel> {
        Box::new(self.clone())
    }
}
