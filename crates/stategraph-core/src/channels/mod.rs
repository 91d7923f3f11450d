//! Channels hold the state. Each state key is a channel; the engine also uses channels for edges
//! (`branch:to:<node>`), joins (`join:<a>+<b>:<node>`) and `Send` packets (`__pregel_tasks`).
//!
//! A channel receives, once per superstep, every value written to it in that step
//! ([`Channel::update`]), and decides how they combine. The engine bumps a channel's version when
//! `update`, `consume` or `finish` return `true`; nodes are triggered by version changes.

mod barrier;
mod binop;
mod ephemeral;
mod last_value;
mod topic;
mod untracked;

pub use barrier::NamedBarrier;
pub use binop::{BinaryOperator, Reducer};
pub use ephemeral::Ephemeral;
pub use last_value::{LastValue, LastValueAfterFinish};
pub use topic::Topic;
pub use untracked::Untracked;

use std::collections::BTreeSet;
use std::fmt;
use std::sync::Arc;

use crate::value::Value;

use crate::Result;

/// A piece of state with its own rule for combining the writes of one superstep.
pub trait Channel: Send + Sync + fmt::Debug {
    /// The current value, or `None` when the channel is empty. Called when a task reads its
    /// input and when the engine emits `values`.
    fn get(&self) -> Option<Value>;

    /// Whether the channel has a value (can trigger nodes and be read). Called while planning.
    fn is_available(&self) -> bool {
        self.get().is_some()
    }

    /// Applies all writes of one superstep, in task order. Called once per step for each channel
    /// that was written, and with no values for every other available channel so that
    /// step-scoped channels can clear themselves. Returns whether the channel changed.
    fn update(&mut self, key: &str, values: Vec<Value>) -> Result<bool>;

    /// Called after a node that was triggered by this channel ran; lets barriers reset.
    /// Returns whether the channel changed.
    fn consume(&mut self) -> bool {
        false
    }

    /// Called when the run is about to end because no node is triggered any more; lets deferred
    /// channels become available. Returns whether the channel changed.
    fn finish(&mut self) -> bool {
        false
    }

    /// The value to store in a checkpoint (`None`: store nothing).
    fn checkpoint(&self) -> Option<Value> {
        self.get()
    }

    /// Restores from a checkpointed value. Called once on a freshly created channel.
    fn restore(&mut self, value: Value);

    /// A copy of the channel (values are shared until written).
    fn clone_box(&self) -> Box<dyn Channel>;
}

impl Clone for Box<dyn Channel> {
    fn clone(&self) -> Self {
        self.clone_box()
    }
}

/// Checks a value written to a state key; returns a message when it is invalid.
pub type Validator = Arc<dyn Fn(&Value) -> std::result::Result<(), String> + Send + Sync>;

/// How a state key (or engine-internal channel) behaves.
#[derive(Clone)]
#[non_exhaustive]
pub enum ChannelKind {
    /// Keeps the last value; two writes in one step is an error.
    LastValue,
    /// Combines writes with a binary operator; `default` is the initial value.
    Reducer(Reducer),
    /// Collects every value written; cleared every step unless `accumulate`.
    Topic {
        /// Keep values across steps.
        accumulate: bool,
    },
    /// Holds a value for exactly one step.
    Ephemeral,
    /// Like LastValue but never checkpointed.
    Untracked,
    /// Becomes available when every named writer has written (joins).
    NamedBarrier {
        /// Writers to wait for.
        names: BTreeSet<String>,
        /// Only becomes available once the run would otherwise finish (deferred joins).
        after_finish: bool,
    },
    /// LastValue that only becomes available once the run would otherwise finish (defer).
    LastValueAfterFinish,
    /// A channel of the host's own making.
    Custom(Arc<dyn Fn() -> Box<dyn Channel> + Send + Sync>),
}

impl fmt::Debug for ChannelKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ChannelKind::LastValue => f.write_str("LastValue"),
            ChannelKind::Reducer(r) => write!(f, "Reducer({})", r.name()),
            ChannelKind::Topic { accumulate } => write!(f, "Topic(accumulate={accumulate})"),
            ChannelKind::Ephemeral => f.write_str("Ephemeral"),
            ChannelKind::Untracked => f.write_str("Untracked"),
            ChannelKind::NamedBarrier { names, after_finish } => {
                write!(f, "NamedBarrier({names:?}, after_finish={after_finish})")
            }
            ChannelKind::LastValueAfterFinish => f.write_str("LastValueAfterFinish"),
            ChannelKind::Custom(_) => f.write_str("Custom"),
        }
    }
}

/// The declaration of a channel: its kind, initial value and validator.
#[derive(Clone, Debug)]
pub struct ChannelSpec {
    pub(crate) kind: ChannelKind,
    pub(crate) default: Option<Value>,
    pub(crate) validator: Option<ValidatorBox>,
}

/// A validator with a Debug impl.
#[derive(Clone)]
pub(crate) struct ValidatorBox(pub(crate) Validator);

impl fmt::Debug for ValidatorBox {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Validator")
    }
}

impl ChannelSpec {
    /// A LastValue key.
    pub fn last_value() -> Self {
        ChannelSpec { kind: ChannelKind::LastValue, default: None, validator: None }
    }
    /// A key whose writes are combined by `reducer`. Without a default the first write is taken
    /// as is (like a LangGraph reducer over a type with no default constructor).
    pub fn reducer(reducer: Reducer) -> Self {
        ChannelSpec { kind: ChannelKind::Reducer(reducer), default: None, validator: None }
    }
    /// A topic.
    pub fn topic(accumulate: bool) -> Self {
        ChannelSpec { kind: ChannelKind::Topic { accumulate }, default: None, validator: None }
    }
    /// An ephemeral key (visible for one step).
    pub fn ephemeral() -> Self {
        ChannelSpec { kind: ChannelKind::Ephemeral, default: None, validator: None }
    }
    /// An untracked key (not checkpointed).
    pub fn untracked() -> Self {
        ChannelSpec { kind: ChannelKind::Untracked, default: None, validator: None }
    }
    /// A channel of any kind.
    pub fn of(kind: ChannelKind) -> Self {
        ChannelSpec { kind, default: None, validator: None }
    }
    /// Sets the initial value.
    pub fn with_default(mut self, value: impl Into<Value>) -> Self {
        self.default = Some(value.into());
        self
    }
    /// Sets a validator, run on the key's value after every step that wrote it and on input.
    pub fn with_validator(mut self, validator: Validator) -> Self {
        self.validator = Some(ValidatorBox(validator));
        self
    }
    /// The kind.
    pub fn kind(&self) -> &ChannelKind {
        &self.kind
    }
    /// The initial value.
    pub fn default_value(&self) -> Option<&Value> {
        self.default.as_ref()
    }

    /// Creates an empty channel of this spec.
    pub fn build(&self) -> Box<dyn Channel> {
        match &self.kind {
            ChannelKind::LastValue => Box::new(LastValue::new(self.default.clone())),
            ChannelKind::Reducer(r) => Box::new(BinaryOperator::new(r.clone(), self.default.clone())),
            ChannelKind::Topic { accumulate } => Box::new(Topic::new(*accumulate)),
            // A state key declared ephemeral accepts one write per step (LangGraph's default guard).
            ChannelKind::Ephemeral => Box::new(Ephemeral::new(true)),
            ChannelKind::Untracked => Box::new(Untracked::new(self.default.clone())),
            ChannelKind::NamedBarrier { names, after_finish } => {
                Box::new(NamedBarrier::new(names.clone(), *after_finish))
            }
            ChannelKind::LastValueAfterFinish => Box::new(LastValueAfterFinish::default()),
            ChannelKind::Custom(make) => make(),
        }
    }
}

#[cfg(test)]
mod tests;
