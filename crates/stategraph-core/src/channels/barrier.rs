//! Named barrier: waits for every named writer. Joins (`add_edge([a, b], c)`) use it.

use std::collections::BTreeSet;
use std::sync::Arc;

use crate::value::Value;

use super::Channel;
use crate::value::obj;
use crate::{Error, Result};

/// Available once each of `names` has written its own name; reset when the waiting node runs.
#[derive(Debug, Clone)]
pub struct NamedBarrier {
    names: Arc<BTreeSet<String>>,
    seen: BTreeSet<String>,
    after_finish: bool,
    finished: bool,
}

impl NamedBarrier {
    /// A barrier over `names`. With `after_finish` it also waits for the run to be otherwise done.
    pub fn new(names: BTreeSet<String>, after_finish: bool) -> Self {
        NamedBarrier { names: Arc::new(names), seen: BTreeSet::new(), after_finish, finished: false }
    }

    fn complete(&self) -> bool {
        self.seen.len() == self.names.len()
    }
}

impl Channel for NamedBarrier {
    fn get(&self) -> Option<Value> {
        self.is_available().then_some(Value::Null)
    }
    fn is_available(&self) -> bool {
        self.complete() && (!self.after_finish || self.finished)
    }
    fn update(&mut self, key: &str, values: Vec<Value>) -> Result<bool> {
        let mut changed = false;
        for v in values {
            let name = v.as_str().unwrap_or_default();
            if !self.names.contains(name) {
                return Err(Error::InvalidUpdate {
                    key: key.to_owned(),
                    message: format!("`{name}` is not one of the writers this join waits for"),
                });
            }
            if self.seen.insert(name.to_owned()) {
                changed = true;
                if self.after_finish {
                    self.finished = false;
                }
            }
        }
        Ok(changed)
    }
    fn consume(&mut self) -> bool {
        if self.is_available() {
            self.seen.clear();
            self.finished = false;
            true
        } else {
            false
        }
    }
    fn finish(&mut self) -> bool {
        if self.after_finish && !self.finished && self.complete() {
            self.finished = true;
            true
        } else {
            false
        }
    }
    fn checkpoint(&self) -> Option<Value> {
        let seen: Value = self.seen.iter().map(|s| Value::from(s.as_str())).collect();
        if self.after_finish { Some(obj! {"seen" => seen, "finished" => self.finished}) } else { Some(seen) }
    }
    fn restore(&mut self, value: Value) {
        let (seen, finished) = match &value {
            Value::Object(m) => (
                m.get("seen").cloned().unwrap_or_default(),
                m.get("finished").and_then(Value::as_bool).unwrap_or(false),
            ),
            other => (other.clone(), false),
        };
        if let Some(items) = seen.as_array() {
            self.seen = items.iter().filter_map(|v| v.as_str().map(str::to_owned)).collect();
        }
        self.finished = finished;
    }
    fn clone_box(&self) -> Box<dyn Channel> {
        Box::new(self.clone())
    }
}
