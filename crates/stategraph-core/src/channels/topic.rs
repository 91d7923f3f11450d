//! Topic: a pub/sub list of every value written.

use crate::value::Value;

use super::Channel;
use crate::Result;

/// Collects values. Lists written to it are flattened (one level), like LangGraph's `Topic`.
/// Without `accumulate`, each step starts from an empty list.
#[derive(Debug, Clone)]
pub struct Topic {
    values: Value,
    accumulate: bool,
}

impl Topic {
    /// An empty topic.
    pub fn new(accumulate: bool) -> Self {
        Topic { values: Value::array(), accumulate }
    }

    fn items(&self) -> &[Value] {
        self.values.as_array().map(Vec::as_slice).unwrap_or(&[])
    }
}

impl Channel for Topic {
    fn get(&self) -> Option<Value> {
        if self.items().is_empty() { None } else { Some(self.values.clone()) }
    }
    fn is_available(&self) -> bool {
        !self.items().is_empty()
    }
    fn update(&mut self, _key: &str, values: Vec<Value>) -> Result<bool> {
        let mut changed = false;
        if !self.accumulate && !self.items().is_empty() {
            self.values = Value::array();
            changed = true;
        }
        if values.is_empty() {
            return Ok(changed);
        }
        let items = self.values.as_array_mut().expect("a topic holds a list");
        for v in values {
            match v {
                Value::Array(list) => items.extend(list.iter().cloned()),
                other => items.push(other),
            }
        }
        Ok(true)
    }
    fn checkpoint(&self) -> Option<Value> {
        Some(self.values.clone())
    }
    fn restore(&mut self, value: Value) {
        if value.is_array() {
            self.values = value;
        }
    }
    fn clone_box(&self) -> Box<dyn Channel> {
        Box::new(self.clone())
    }
}
