//! Run configuration and what a node can see of its run.

use std::sync::Arc;

use crate::value::{Map, Value};
use serde::de::DeserializeOwned;

use crate::breakpoint::Breakpoint;
use crate::stream::{Sink, StreamMode};
use crate::types::{Durability, Interrupt};
use crate::{Error, Result};
use stategraph_checkpoint::{CheckpointConfig, CheckpointId, Checkpointer};

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
    /// The thread whose checkpoints this run continues and extends (needs a checkpointer).
    pub thread_id: Option<String>,
    /// Start from this checkpoint of the thread instead of its latest (replay / fork).
    pub checkpoint_id: Option<CheckpointId>,
    /// When checkpoints reach the checkpointer.
    pub durability: Durability,
    /// Pause before these nodes run (`"*"`: every node); overrides the compiled graph's list.
    pub interrupt_before: Option<Vec<String>>,
    /// Pause after these nodes ran (`"*"`: every node); overrides the compiled graph's list.
    pub interrupt_after: Option<Vec<String>>,
    /// Pauses beyond `interrupt_before`/`after`: conditions, edges, subgraphs (see [`Breakpoint`]).
    pub breakpoints: Vec<Breakpoint>,
    /// Stops the run at the next superstep boundary when cancelled (see [`CancelToken`]).
    pub cancel: Option<CancelToken>,
    /// Set when a node invokes a nested graph, so that the nested run streams into the parent.
    pub(crate) parent: Option<ParentLink>,
}

/// How a nested run reaches its parent's stream.
#[derive(Clone)]
pub(crate) struct ParentLink {
    pub(crate) sink: Sink,
    pub(crate) checkpoint_ns: String,
    /// The parent run's persistence, inherited by the nested run (`None`: the parent has none).
    pub(crate) persist: Option<InheritedPersistence>,
    /// The parent task's interrupt bookkeeping: a nested `interrupt` falls back to the parent's
    /// resume value.
    pub(crate) scratchpad: Option<Arc<Scratchpad>>,
}

/// What a nested run inherits from its parent's persistence.
#[derive(Clone)]
pub(crate) struct InheritedPersistence {
    pub(crate) saver: Arc<dyn Checkpointer>,
    pub(crate) thread_id: String,
    /// Whether the parent is resuming the task that runs this nested graph.
    pub(crate) resuming: bool,
    /// Namespace -> checkpoint id of the enclosing graphs' checkpoints (metadata `parents`).
    pub(crate) parents: std::collections::BTreeMap<String, String>,
    /// The `async` save queue of the enclosing runs, shared when the nested run saves to the same
    /// checkpointer.
    pub(crate) queue: Option<crate::pregel::persist::SaveQueue>,
    /// Set (per task) when the parent's step started from a checkpoint this run created: the
    /// task's id hashes that checkpoint's new id, so no run before could have saved anything in
    /// the task's namespace. The first nested run of the task takes it (swaps in `true`) and then
    /// skips looking its namespace up (one read per subgraph run, ~10% of a fan-out of 100
    /// subgraphs on SQLite); a retry or a second nested run of the same task looks it up, as
    /// every nested run does without it.
    pub(crate) fresh: Option<Arc<std::sync::atomic::AtomicBool>>,
}

/// A task's interrupt bookkeeping (LangGraph's scratchpad): resume values seen by earlier runs of
/// the task, the run-wide resume value, and how many `interrupt` calls the node made so far.
#[derive(Default)]
pub(crate) struct Scratchpad {
    /// Resume values for this task's 1st, 2nd, ... `interrupt` call.
    pub(crate) resume: std::sync::Mutex<Vec<Value>>,
    /// A resume value not addressed to a task; the first `interrupt` without an answer takes it.
    pub(crate) null_resume: Option<Arc<std::sync::Mutex<Option<Value>>>>,
    /// The parent task's scratchpad (nested graphs).
    pub(crate) parent: Option<Arc<Scratchpad>>,
    pub(crate) counter: std::sync::atomic::AtomicUsize,
    /// Whether `interrupt` recorded resume values the task must persist with its writes.
    pub(crate) used_resume: std::sync::atomic::AtomicBool,
}

impl Scratchpad {
    pub(crate) fn take_null_resume(&self) -> Option<Value> {
        if let Some(v) = self.null_resume.as_ref().and_then(|slot| slot.lock().expect("resume lock").take()) {
            return Some(v);
        }
        self.parent.as_ref().and_then(|p| p.take_null_resume())
    }
}

impl Default for RunConfig {
    fn default() -> Self {
        RunConfig {
            recursion_limit: DEFAULT_RECURSION_LIMIT,
            context: Arc::new(Value::Null),
            metadata: Map::new(),
            tags: Vec::new(),
            run_id: None,
            thread_id: None,
            checkpoint_id: None,
            durability: Durability::default(),
            interrupt_before: None,
            interrupt_after: None,
            breakpoints: Vec::new(),
            cancel: None,
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
            .field("thread_id", &self.thread_id)
            .field("checkpoint_id", &self.checkpoint_id)
            .field("durability", &self.durability)
            .field("breakpoints", &self.breakpoints)
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
    /// Runs on a thread: the run continues from the thread's latest checkpoint and saves its
    /// steps there (the graph needs a checkpointer).
    pub fn with_thread(mut self, thread_id: impl Into<String>) -> Self {
        self.thread_id = Some(thread_id.into());
        self
    }
    /// Starts from one checkpoint of the thread (replay, or fork when the input changes state).
    pub fn with_checkpoint(mut self, checkpoint_id: CheckpointId) -> Self {
        self.checkpoint_id = Some(checkpoint_id);
        self
    }
    /// Sets the durability mode.
    pub fn with_durability(mut self, durability: Durability) -> Self {
        self.durability = durability;
        self
    }
    /// Pauses before these nodes for this run (`"*"`: all).
    pub fn with_interrupt_before<S: Into<String>>(mut self, nodes: impl IntoIterator<Item = S>) -> Self {
        self.interrupt_before = Some(nodes.into_iter().map(Into::into).collect());
        self
    }
    /// Pauses after these nodes for this run (`"*"`: all).
    pub fn with_interrupt_after<S: Into<String>>(mut self, nodes: impl IntoIterator<Item = S>) -> Self {
        self.interrupt_after = Some(nodes.into_iter().map(Into::into).collect());
        self
    }
    /// Adds a breakpoint for this run (see [`Breakpoint`]).
    pub fn with_breakpoint(mut self, breakpoint: Breakpoint) -> Self {
        self.breakpoints.push(breakpoint);
        self
    }
    /// Lets `token` stop the run cleanly: see [`CancelToken`].
    pub fn with_cancel(mut self, token: CancelToken) -> Self {
        self.cancel = Some(token);
        self
    }
    /// The checkpointer address of this run: its thread, namespace and checkpoint.
    pub fn checkpoint_config(&self) -> Option<CheckpointConfig> {
        let thread = self.thread_id.clone()?;
        Some(CheckpointConfig { thread_id: thread, checkpoint_ns: String::new(), checkpoint_id: self.checkpoint_id })
    }
}

/// Asks a run to stop at the next superstep boundary: the step in progress finishes, its
/// checkpoint is saved (with the run's durability), and the run returns `Error::Cancelled`
/// (SG060). A later run on the thread resumes from there, as after any stop. This is how a server
/// drains runs on shutdown; dropping a run's future instead stops it at once, mid-step (finished
/// tasks' writes are kept when their saves were already handed over).
///
/// ```
/// use stategraph_core::CancelToken;
/// let token = CancelToken::new();
/// assert!(!token.is_cancelled());
/// token.clone().cancel();
/// assert!(token.is_cancelled());
/// ```
#[derive(Clone, Debug, Default)]
pub struct CancelToken(Arc<std::sync::atomic::AtomicBool>);

impl CancelToken {
    /// A token that is not cancelled.
    pub fn new() -> Self {
        CancelToken::default()
    }
    /// Asks every run holding a clone of this token to stop at its next superstep boundary.
    pub fn cancel(&self) {
        self.0.store(true, std::sync::atomic::Ordering::SeqCst);
    }
    /// Whether [`cancel`](CancelToken::cancel) was called.
    pub fn is_cancelled(&self) -> bool {
        self.0.load(std::sync::atomic::Ordering::SeqCst)
    }
}

/// The checkpoint namespace of a task: `node:<task id>`, after its graph's namespace and `|`.
pub(crate) fn task_namespace(parent_ns: &str, node: &str, task_id: &str) -> String {
    if parent_ns.is_empty() { format!("{node}:{task_id}") } else { format!("{parent_ns}|{node}:{task_id}") }
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
    pub(crate) scratchpad: Arc<Scratchpad>,
    /// Persistence the task's nested graphs inherit.
    pub(crate) persist: Option<InheritedPersistence>,
}

impl TaskInfo {
    /// `parent_ns|node:task_id`, built on first use.
    pub(crate) fn checkpoint_ns(&self) -> &str {
        self.checkpoint_ns.get_or_init(|| task_namespace(&self.parent_ns, &self.node, &self.task_id))
    }
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
        self.info.checkpoint_ns()
    }
    /// Writes a value to the `custom` stream (LangGraph's `get_stream_writer()`). Does nothing
    /// when nobody streams `custom`.
    pub fn write(&self, value: impl Into<Value>) {
        if self.info.sink.wants(StreamMode::Custom) {
            self.info.sink.emit(StreamMode::Custom, value.into());
        }
    }
    /// Whether anybody listens to the `messages` stream (a chat model streams tokens only then).
    pub fn streams_messages(&self) -> bool {
        self.info.sink.wants(StreamMode::Messages)
    }

    /// Streams a message or a message chunk in `messages` mode as `[message, metadata]`, the
    /// metadata being LangGraph's (`langgraph_node`, `langgraph_step`, ...) plus `extra` (e.g. a
    /// model's `ls_provider`). Chunks of one message share its `id`; once a message id was
    /// streamed, the whole message is not streamed again when the node returns it.
    pub fn emit_message(&self, message: impl Into<Value>, extra: Map) {
        if !self.streams_messages() {
            return;
        }
        let message = message.into();
        if let Some(id) = message.get("id").and_then(Value::as_str) {
            self.info.sink.first_sight_of_message(id);
        }
        let mut metadata = crate::pregel::message_metadata(&self.info, true);
        for (k, v) in extra {
            metadata.insert(k, v);
        }
        self.info.sink.emit(StreamMode::Messages, Value::from(vec![message, Value::from(metadata)]));
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
            persist: self.info.persist.clone(),
            scratchpad: Some(self.info.scratchpad.clone()),
        });
        config
    }

    /// Pauses the run to ask a human (LangGraph's `interrupt()`): use it as
    /// `let answer = ctx.interrupt(question)?;`.
    ///
    /// The first time, this returns an error that stops the node; the run ends with the question
    /// under `__interrupt__` and its state saved. Resuming the thread with
    /// `Command::new().resume(answer)` runs the node again from its start, and this call then
    /// returns `answer`. A node can ask several questions: the n-th call returns the n-th answer.
    /// Needs a checkpointer and a thread.
    pub fn interrupt(&self, value: impl Into<Value>) -> std::result::Result<Value, crate::NodeError> {
        self.interrupt_with(value, None)
    }

    /// [`interrupt`](NodeContext::interrupt) with a JSON Schema for the answer, shown to clients
    /// with the interrupt (LangGraph's `response_schema`). Checking the answer is up to the node.
    pub fn interrupt_with(
        &self,
        value: impl Into<Value>,
        response_schema: Option<Value>,
    ) -> std::result::Result<Value, crate::NodeError> {
        use std::sync::atomic::Ordering;
        let pad = &self.info.scratchpad;
        let idx = pad.counter.fetch_add(1, Ordering::SeqCst);
        let mut resume = pad.resume.lock().expect("resume lock");
        if idx < resume.len() {
            pad.used_resume.store(true, Ordering::SeqCst);
            return Ok(resume[idx].clone());
        }
        if let Some(v) = pad.take_null_resume() {
            resume.push(v.clone());
            pad.used_resume.store(true, Ordering::SeqCst);
            return Ok(v);
        }
        let mut i = Interrupt::from_ns(value.into(), self.checkpoint_ns());
        i.response_schema = response_schema;
        Err(crate::NodeError::interrupt(vec![i]))
    }
}
