//! Run configuration and what a node can see of its run.

use std::sync::Arc;

use crate::value::{Map, Value};
use serde::de::DeserializeOwned;

use crate::stream::{Sink, StreamMode};
use crate::{Error, Result};

/// The default recursion limit (supersteps per run), LangGraph 1.2's: high enough that only a
/// runaway loop hits it.
pub const DEFAULT_RECURSION_LIMIT: usize = 10_007;

/// Configuration of one run.
#[derive(Clone)]
pub struct RunConfig {
    /// Maximum number of supersteps (LangGraph's `recursion_limit`).
    pub recursion_limit: usize,
    /// Run-scoped, read-only context handed to every node (LangGraph's `context`).
    pub context: Arc<Value>,
    /// Free-form metadata, shown in task events.
    pub metadata: Map,
    /// Tags.
    pub tags: Vec<String>,
    /// Identifier of the run (generated when absent).
    pub run_id: Option<String>,
    /// Set when a node invokes a nested graph, so that the nested run streams into the parent.
    pub(crate) parent: Option<ParentLink>,
}

/// How a nested run reaches its parent's stream.
#[derive(Clone)]
pub(crate) struct ParentLink {
    pub(crate) sink: Sink,
    pub(crate) checkpoint_ns: String,
}

impl Default for RunConfig {
    fn default() -> Self {
        RunConfig {
            recursion_limit: DEFAULT_RECURSION_LIMIT,
            context: Arc::new(Value::Null),
            metadata: Map::new(),
            tags: Vec::new(),
            run_id: None,
            parent: None,
        }
    }
}

impl std::fmt::Debug for RunConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunConfig")
            .field("recursion_limit", &self.recursion_limit)
            .field("context", &self.context)
            .field("metadata", &self.metadata)
            .field("tags", &self.tags)
            .field("run_id", &self.run_id)
            .field("nested", &self.parent.is_some())
            .finish()
    }
}

impl RunConfig {
    /// The default configuration.
    pub fn new() -> Self {
        RunConfig::default()
    }
    /// Sets the recursion limit.
    pub fn with_recursion_limit(mut self, limit: usize) -> Self {
        self.recursion_limit = limit;
        self
    }
    /// Sets the run context.
    pub fn with_context(mut self, context: impl Into<Value>) -> Self {
        self.context = Arc::new(context.into());
        self
    }
    /// Sets the run id.
    pub fn with_run_id(mut self, run_id: impl Into<String>) -> Self {
        self.run_id = Some(run_id.into());
        self
    }
}

/// Facts about the task a node runs in.
pub(crate) struct TaskInfo {
    pub(crate) node: Arc<str>,
    pub(crate) task_id: String,
    pub(crate) step: i64,
    pub(crate) stop: i64,
    /// Namespace of the graph the task runs in (empty at the top level).
    pub(crate) parent_ns: Arc<str>,
    /// `parent_ns|node:task_id`, built on first use.
    pub(crate) checkpoint_ns: std::sync::OnceLock<String>,
    pub(crate) triggers: Arc<[Arc<str>]>,
    pub(crate) config: Arc<RunConfig>,
    pub(crate) sink: Sink,
    pub(crate) metadata: Arc<Map>,
}

/// What a node sees of its run besides the state: the run context, the step, a stream writer, and
/// a configuration to hand to nested graphs.
#[derive(Clone)]
pub struct NodeContext {
    pub(crate) info: Arc<TaskInfo>,
    pub(crate) attempt: u32,
}

impl NodeContext {
    /// The node's name.
    pub fn node(&self) -> &str {
        &self.info.node
    }
    /// The task id (stable for a given checkpoint, step and node).
    pub fn task_id(&self) -> &str {
        &self.info.task_id
    }
    /// The superstep number.
    pub fn step(&self) -> i64 {
        self.info.step
    }
    /// Which attempt this is (1 for the first, more under a retry policy).
    pub fn attempt(&self) -> u32 {
        self.attempt
    }
    /// Supersteps left before the recursion limit.
    pub fn remaining_steps(&self) -> i64 {
        self.info.stop - self.info.step
    }
    /// The channels that triggered this task.
    pub fn triggers(&self) -> Vec<&str> {
        self.info.triggers.iter().map(|t| &**t).collect()
    }
    /// The run-scoped context (LangGraph's `runtime.context`).
    pub fn context(&self) -> &Value {
        &self.info.config.context
    }
    /// The run context converted to `T`.
    pub fn context_as<T: DeserializeOwned>(&self) -> Result<T> {
        self.info.config.context.deserialize_into().map_err(|e| Error::Conversion(format!("run context: {e}")))
    }
    /// The node's metadata, as given to `add_node`.
    pub fn metadata(&self) -> &Map {
        &self.info.metadata
    }
    /// The checkpoint namespace of this task (`node:<task id>`, nested with `|`).
    pub fn checkpoint_ns(&self) -> &str {
        self.info.checkpoint_ns.get_or_init(|| {
            let i = &self.info;
            if i.parent_ns.is_empty() {
                format!("{}:{}", i.node, i.task_id)
            } else {
                format!("{}|{}:{}", i.parent_ns, i.node, i.task_id)
            }
        })
    }
    /// Writes a value to the `custom` stream (LangGraph's `get_stream_writer()`). Does nothing
    /// when nobody streams `custom`.
    pub fn write(&self, value: impl Into<Value>) {
        if self.info.sink.wants(StreamMode::Custom) {
            self.info.sink.emit(StreamMode::Custom, value.into());
        }
    }
    /// Whether anybody listens to the `custom` stream (to skip building expensive values).
    pub fn streams_custom(&self) -> bool {
        self.info.sink.wants(StreamMode::Custom)
    }
    /// A run configuration for invoking a nested graph from this node: same context and limits,
    /// and the nested run's events stream into this run under this task's namespace.
    pub fn child_config(&self) -> RunConfig {
        let mut config = (*self.info.config).clone();
        let ns = self.checkpoint_ns();
        config.parent = Some(ParentLink {
            sink: self.info.sink.child(ns.rsplit('|').next().unwrap_or_default().to_owned()),
            checkpoint_ns: ns.to_owned(),
        });
        config
    }
}
