//! Ephemeral: a value visible for exactly one step. Edges use it (`branch:to:<node>`).

use crate::value::Value;

use super::Channel;
use crate::{Error, Result};

/// Holds the value written in the previous step and clears itself at the next step.
#[derive(Debug, Clone, Default)]
pub struct Ephemeral {
    value: Option<Value>,
    guard: bool,
}

impl Ephemeral {
    /// With `guard`, more than one write in a step is an error; without, the last one wins
    /// (edges write `null` from many sources into the same channel).
    pub fn new(guard: bool) -> Self {
        Ephemeral { value: None, guard }
    }
}

impl Channel for Ephemeral {
    fn get(&self) -> Option<Value> {
        self.value.clone()
    }
    fn is_available(&self) -> bool {
        self.value.is_some()
    }
    fn update(&mut self, key: &str, mut values: Vec<Value>) -> Result<bool> {
        if values.is_empty() {
            return Ok(self.value.take().is_some());
        }
        if self.guard && values.len() > 1 {
            return Err(Error::InvalidUpdate {
                key: key.to_owned(),
                message: format!(
                    "ephemeral key can receive only one value per step, got {}; use a reducer to combine writes",
                    values.len()
                ),
            });
        }
        self.value = values.pop();
        Ok(true)
    }
    fn restore(&mut self, value: Value) {
        self.value = Some(value);
    }
    fn clone_box(&self) -> Box<dyn Channel> {
        Box::new(self.clone())
    }
}
