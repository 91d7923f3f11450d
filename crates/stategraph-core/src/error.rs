//! The engine's error type.
//!
//! Every variant has a stable code (`SG0xx`) that the Python package, the server and the studio show
//! unchanged, so a user can search for it. Codes are never reused; new variants get new codes.

use std::fmt;
use std::sync::Arc;

/// Result alias used throughout the engine.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong while building or running a graph.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// SG001: an edge, branch or `Send` names a node the graph does not have.
    #[error("SG001 unknown node `{node}` ({context})")]
    UnknownNode {
        /// The name that was not found.
        node: String,
        /// Where the name was used, e.g. "edge a -> x".
        context: String,
    },
    /// SG002: nothing leaves START, so the graph has no entry point.
    #[error(
        "SG002 graph has no entry point: add an edge from START (`add_edge(START, \"node\")`) or a conditional edge from START"
    )]
    MissingEntry,
    /// SG003: a node name is reserved (`__start__`, `__end__`) or contains a reserved character.
    #[error("SG003 invalid node name `{name}`: {reason}")]
    ReservedName {
        /// The offending name.
        name: String,
        /// Why it is rejected.
        reason: String,
    },
    /// SG004: a cycle of nodes that can never leave the cycle (no conditional edge, no path to END).
    #[error(
        "SG004 loop with no exit: {}: no conditional edge leaves it and END cannot be reached from it, so it would run until the recursion limit; add a conditional edge that can leave the loop",
        cycle.join(" -> ")
    )]
    LoopWithoutExit {
        /// The nodes of the cycle, in order.
        cycle: Vec<String>,
    },
    /// SG005: a node is added twice.
    #[error("SG005 duplicate name `{name}`: {reason}")]
    DuplicateName {
        /// The duplicated name.
        name: String,
        /// What it clashes with.
        reason: String,
    },
    /// SG006: a node can never run because no edge, branch or `Send` leads to it.
    #[error(
        "SG006 node `{node}` is unreachable: no edge or conditional edge leads to it (declare nodes reached by a Command with `NodeOptions::destinations`)"
    )]
    UnreachableNode {
        /// The node that nothing leads to.
        node: String,
    },
    /// SG007: a node has no outgoing edge and is not allowed to end the run implicitly.
    #[error("SG007 invalid graph: {0}")]
    InvalidGraph(String),
    /// SG010: a channel received updates it cannot accept in one step (e.g. two writes to a
    /// LastValue key, or two `Overwrite`s).
    #[error("SG010 invalid update at key `{key}`: {message}")]
    InvalidUpdate {
        /// The state key (channel) that was written.
        key: String,
        /// What was wrong.
        message: String,
    },
    /// SG011: the graph was invoked with no input and there is no saved state to resume.
    #[error("SG011 empty input: the graph received no input and there is nothing to resume")]
    EmptyInput,
    /// SG012: a node returned something that is not an update (an object), a Command or nothing.
    #[error("SG012 node `{node}` returned an invalid value: expected an object, a Command or null, got {got}")]
    InvalidNodeReturn {
        /// The node.
        node: String,
        /// A short description of what it returned.
        got: String,
    },
    /// SG013: a router, `Command` or `Send` named a destination that does not exist.
    #[error("SG013 `{source_node}` routed to invalid destination `{destination}`: {reason}")]
    InvalidRoute {
        /// Node the route, command or send comes from.
        source_node: String,
        /// What the router returned.
        destination: String,
        /// Why it is invalid.
        reason: String,
    },
    /// SG020: the run did not finish within the recursion limit (supersteps).
    #[error(
        "SG020 recursion limit of {limit} reached without hitting a stop condition; raise `recursion_limit` in the run config if the graph is meant to run longer"
    )]
    GraphRecursion {
        /// The limit that was reached.
        limit: usize,
    },
    /// SG030: a node failed (after its retries).
    #[error("SG030 node `{node}` failed: {error}")]
    NodeFailed {
        /// The node that failed.
        node: String,
        /// The node's error.
        error: NodeError,
    },
    /// SG031: a reducer rejected the values it was given.
    #[error("SG031 reducer `{reducer}` failed at key `{key}`: {message}")]
    Reducer {
        /// The state key.
        key: String,
        /// Reducer name.
        reducer: String,
        /// What went wrong.
        message: String,
    },
    /// SG040: a state value failed validation.
    #[error("SG040 invalid value for field `{field}` written by `{writer}`: {message}")]
    Validation {
        /// The state field.
        field: String,
        /// The node (or `input`) that wrote the value.
        writer: String,
        /// What the validator said.
        message: String,
    },
    /// SG041: a value could not be converted to or from a typed state.
    #[error("SG041 state conversion failed: {0}")]
    Conversion(String),
    /// SG050: a `Command(graph=PARENT)` reached the top-level graph, which has no parent.
    #[error("SG050 Command with graph=PARENT was returned by `{node}`, but the graph has no parent")]
    NoParentGraph {
        /// The node that returned the command.
        node: String,
    },
    /// SG051: internal signal carrying a `Command(graph=PARENT)` out of a subgraph.
    #[error("SG051 command for the parent graph (internal; caught by the parent)")]
    ParentCommand(Box<crate::types::Command>),
    /// SG052: internal signal: a node (or a nested graph) paused for human input. A top-level
    /// run turns it into an output with `__interrupt__`; callers never see it as an error.
    #[error("SG052 run interrupted ({} pending interrupt(s); internal, caught by the run)", .0.len())]
    Interrupted(Vec<crate::types::Interrupt>),
    /// SG060: the run was cancelled.
    #[error("SG060 run cancelled")]
    Cancelled,
    /// SG070: the run configuration is invalid.
    #[error("SG070 invalid run configuration: {0}")]
    InvalidConfig(String),
    /// SG080: the checkpointer failed (IO, corrupt data, ...); the run stops with its state as
    /// last saved.
    #[error("SG080 checkpointer error: {0}")]
    Checkpoint(Arc<stategraph_checkpoint::Error>),
    /// SG081: another runner advanced this thread while this run was working on it; this run's
    /// step is discarded (one thread, one runner).
    #[error(
        "SG081 thread `{thread_id}` was advanced by another runner (expected its latest checkpoint to be {expected}); this run stopped without saving its step"
    )]
    ThreadConflict {
        /// The thread.
        thread_id: String,
        /// The checkpoint this run started from.
        expected: String,
    },
    /// SG082: a single resume value was given while several interrupts are pending.
    #[error(
        "SG082 {pending} interrupts are pending; resume them with a map of interrupt id -> value (`Command::resume_map`), ids: {}",
        ids.join(", ")
    )]
    AmbiguousResume {
        /// How many interrupts are pending.
        pending: usize,
        /// Their ids.
        ids: Vec<String>,
    },
    /// SG083: the operation needs a checkpointer and a thread id (`RunConfig::with_thread`).
    #[error("SG083 {0}")]
    NoCheckpointer(String),
    /// SG084: `update_state` cannot tell which node the update is from, or names an unknown node.
    #[error("SG084 invalid state update: {0}")]
    InvalidStateUpdate(String),
}

impl From<stategraph_checkpoint::Error> for Error {
    fn from(e: stategraph_checkpoint::Error) -> Self {
        Error::Checkpoint(Arc::new(e))
    }
}

impl Error {
    /// The stable code of this error, e.g. `"SG020"`.
    pub fn code(&self) -> &'static str {
        match self {
            Error::UnknownNode { .. } => "SG001",
            Error::MissingEntry => "SG002",
            Error::ReservedName { .. } => "SG003",
            Error::LoopWithoutExit { .. } => "SG004",
            Error::DuplicateName { .. } => "SG005",
            Error::UnreachableNode { .. } => "SG006",
            Error::InvalidGraph(_) => "SG007",
            Error::InvalidUpdate { .. } => "SG010",
            Error::EmptyInput => "SG011",
            Error::InvalidNodeReturn { .. } => "SG012",
            Error::InvalidRoute { .. } => "SG013",
            Error::GraphRecursion { .. } => "SG020",
            Error::NodeFailed { .. } => "SG030",
            Error::Reducer { .. } => "SG031",
            Error::Validation { .. } => "SG040",
            Error::Conversion(_) => "SG041",
            Error::NoParentGraph { .. } => "SG050",
            Error::ParentCommand(_) => "SG051",
            Error::Interrupted(_) => "SG052",
            Error::Cancelled => "SG060",
            Error::InvalidConfig(_) => "SG070",
            Error::Checkpoint(_) => "SG080",
            Error::ThreadConflict { .. } => "SG081",
            Error::AmbiguousResume { .. } => "SG082",
            Error::NoCheckpointer(_) => "SG083",
            Error::InvalidStateUpdate(_) => "SG084",
        }
    }

    /// The name of the equivalent Python LangGraph exception, used by the Python package and by
    /// parity tests.
    pub fn langgraph_name(&self) -> &'static str {
        match self {
            Error::InvalidUpdate { .. } | Error::InvalidNodeReturn { .. } | Error::InvalidRoute { .. } => {
                "InvalidUpdateError"
            }
            Error::EmptyInput => "EmptyInputError",
            Error::GraphRecursion { .. } => "GraphRecursionError",
            Error::NodeFailed { error, .. } => error.kind(),
            Error::ParentCommand(_) => "ParentCommand",
            Error::Interrupted(_) => "GraphInterrupt",
            Error::AmbiguousResume { .. } => "RuntimeError",
            Error::InvalidStateUpdate(_) => "InvalidUpdateError",
            Error::Cancelled => "CancelledError",
            Error::Validation { .. } | Error::Conversion(_) => "ValidationError",
            _ => "ValueError",
        }
    }

    /// Whether retrying the same step could succeed (used by retry policies of nested graphs).
    pub fn is_retryable(&self) -> bool {
        match self {
            Error::NodeFailed { error, .. } => error.is_retryable(),
            _ => false,
        }
    }
}

/// The error a node returns. Carries a message, an optional kind (like a Python exception class
/// name) and whether it is worth retrying.
#[derive(Clone)]
pub struct NodeError {
    message: String,
    kind: &'static str,
    retryable: Option<bool>,
    source: Option<Arc<dyn std::error::Error + Send + Sync>>,
    /// A `Command(graph=PARENT)` travelling up from a nested graph invoked inside the node.
    parent_command: Option<Box<crate::types::Command>>,
    /// Interrupts raised by `NodeContext::interrupt` (here or in a nested graph): the node paused.
    interrupts: Option<Vec<crate::types::Interrupt>>,
}

impl NodeError {
    /// A plain node error. The default retry policy retries it (like an unclassified exception in
    /// LangGraph).
    pub fn new(message: impl Into<String>) -> Self {
        NodeError {
            message: message.into(),
            kind: "Exception",
            retryable: None,
            source: None,
            parent_command: None,
            interrupts: None,
        }
    }

    /// An error that is a bug or bad input, never worth retrying by default (LangGraph does not
    /// retry `ValueError`, `TypeError`, ... by default).
    pub fn permanent(message: impl Into<String>) -> Self {
        NodeError::new(message).with_retryable(false)
    }

    /// An error that is expected to go away (timeouts, 5xx, rate limits).
    pub fn transient(message: impl Into<String>) -> Self {
        NodeError::new(message).with_retryable(true)
    }

    /// Wraps any error; its `Display` becomes the message.
    pub fn from_error<E: std::error::Error + Send + Sync + 'static>(error: E) -> Self {
        NodeError {
            message: error.to_string(),
            kind: "Exception",
            retryable: None,
            source: Some(Arc::new(error)),
            parent_command: None,
            interrupts: None,
        }
    }

    /// Sets a kind, shown to users and usable by retry predicates (e.g. `"ValueError"`).
    pub fn with_kind(mut self, kind: &'static str) -> Self {
        self.kind = kind;
        self
    }

    /// Marks the error as worth retrying or not, overriding the default.
    pub fn with_retryable(mut self, retryable: bool) -> Self {
        self.retryable = Some(retryable);
        self
    }

    /// The message.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The kind (defaults to `"Exception"`).
    pub fn kind(&self) -> &'static str {
        self.kind
    }

    /// Whether the default retry predicate retries this error.
    pub fn is_retryable(&self) -> bool {
        self.retryable.unwrap_or(true)
    }

    /// The `Command(graph=PARENT)` this error carries, if a nested graph raised one.
    pub fn parent_command(&self) -> Option<&crate::types::Command> {
        self.parent_command.as_deref()
    }

    pub(crate) fn take_parent_command(&mut self) -> Option<Box<crate::types::Command>> {
        self.parent_command.take()
    }

    /// The signal a node returns (with `?`) to pause: see `NodeContext::interrupt`.
    pub(crate) fn interrupt(interrupts: Vec<crate::types::Interrupt>) -> Self {
        let mut e = NodeError::new("the node paused for input (interrupt)").with_kind("GraphInterrupt");
        e.interrupts = Some(interrupts);
        e
    }

    /// Whether this is the pause signal of `NodeContext::interrupt` rather than a failure.
    pub fn is_interrupt(&self) -> bool {
        self.interrupts.is_some()
    }

    pub(crate) fn take_interrupts(&mut self) -> Option<Vec<crate::types::Interrupt>> {
        self.interrupts.take()
    }

    /// Whether the node explicitly said if it is retryable.
    pub fn retryable_hint(&self) -> Option<bool> {
        self.retryable
    }
}

impl fmt::Debug for NodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NodeError")
            .field("message", &self.message)
            .field("kind", &self.kind)
            .field("retryable", &self.retryable)
            .finish()
    }
}

impl fmt::Display for NodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.kind == "Exception" { f.write_str(&self.message) } else { write!(f, "{}: {}", self.kind, self.message) }
    }
}

impl std::error::Error for NodeError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source.as_deref().map(|e| e as &(dyn std::error::Error + 'static))
    }
}

impl From<String> for NodeError {
    fn from(message: String) -> Self {
        NodeError::new(message)
    }
}

impl From<&str> for NodeError {
    fn from(message: &str) -> Self {
        NodeError::new(message)
    }
}

impl From<serde_json::Error> for NodeError {
    fn from(error: serde_json::Error) -> Self {
        NodeError::from_error(error).with_kind("ValueError").with_retryable(false)
    }
}

impl From<Error> for NodeError {
    /// Engine errors raised inside a node (e.g. by a nested graph) keep their code in the message.
    fn from(error: Error) -> Self {
        if let Error::ParentCommand(command) = error {
            let mut e = NodeError::new("command for the parent graph").with_kind("ParentCommand");
            e.parent_command = Some(command);
            return e;
        }
        if let Error::Interrupted(interrupts) = error {
            return NodeError::interrupt(interrupts);
        }
        if let Error::NodeFailed { error, .. } = error {
            // Keep the innermost node error's kind and message so retry predicates see them.
            return error;
        }
        let retryable = error.is_retryable();
        NodeError::new(error.to_string()).with_kind(error.langgraph_name()).with_retryable(retryable)
    }
}
