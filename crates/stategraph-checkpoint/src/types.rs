//! The checkpoint data model, mirroring LangGraph's (same JSON field names).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use stategraph_value::{Map, Value};

use crate::error::{Error, Result};
use crate::id::{CheckpointId, rfc3339_from_millis};

/// The checkpoint format version written by this crate (LangGraph's `v`).
pub const CHECKPOINT_VERSION: u32 = 4;

/// Channel name → version. Versions are per-channel counters that only grow.
pub type ChannelVersions = BTreeMap<String, u64>;

/// The channel of a pending write that records a task's error (`__error__`).
pub const ERROR: &str = "__error__";
/// The channel of a pending write that records a scheduled task (`__scheduled__`).
pub const SCHEDULED: &str = "__scheduled__";
/// The channel of a pending write that records an interrupt (`__interrupt__`).
pub const INTERRUPT: &str = "__interrupt__";
/// The channel of a pending write that records a resume value (`__resume__`).
pub const RESUME: &str = "__resume__";

/// The fixed write index of a special channel (LangGraph's `WRITES_IDX_MAP`), `None` for others.
///
/// Writes to these channels are *upserted* (a newer error or interrupt replaces the older one);
/// writes to other channels are inserted only if `(task_id, idx)` is not stored yet, so repeating
/// `put_writes` for a finished task does not duplicate its writes.
///
/// ```
/// use stategraph_checkpoint::{special_write_idx, ERROR, INTERRUPT};
/// assert_eq!(special_write_idx(ERROR), Some(-1));
/// assert_eq!(special_write_idx(INTERRUPT), Some(-3));
/// assert_eq!(special_write_idx("messages"), None);
/// ```
pub fn special_write_idx(channel: &str) -> Option<i64> {
    match channel {
        ERROR => Some(-1),
        SCHEDULED => Some(-2),
        INTERRUPT => Some(-3),
        RESUME => Some(-4),
        _ => None,
    }
}

/// A snapshot of the channels after a step (LangGraph's `Checkpoint`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Checkpoint {
    /// Format version ([`CHECKPOINT_VERSION`]).
    pub v: u32,
    /// The id; ordered by creation time.
    pub id: CheckpointId,
    /// Creation time, RFC 3339.
    pub ts: String,
    /// Channel name → value, for channels that hold a value.
    pub channel_values: BTreeMap<String, Value>,
    /// Channel name → current version.
    pub channel_versions: ChannelVersions,
    /// Node name → (channel name → the version of that channel the node last saw).
    pub versions_seen: BTreeMap<String, ChannelVersions>,
    /// Channels updated in the step that made this checkpoint.
    #[serde(default)]
    pub updated_channels: Option<Vec<String>>,
}

impl Checkpoint {
    /// An empty checkpoint with a fresh id (LangGraph's `empty_checkpoint()`).
    ///
    /// ```
    /// use stategraph_checkpoint::Checkpoint;
    /// let c = Checkpoint::empty();
    /// assert!(c.channel_values.is_empty());
    /// assert!(c.ts.ends_with("+00:00"));
    /// ```
    pub fn empty() -> Checkpoint {
        Checkpoint::with_id(CheckpointId::new())
    }

    /// An empty checkpoint with the given id; `ts` is taken from the id's timestamp.
    pub fn with_id(id: CheckpointId) -> Checkpoint {
        Checkpoint {
            v: CHECKPOINT_VERSION,
            id,
            ts: rfc3339_from_millis(id.unix_millis().unwrap_or(0)),
            channel_values: BTreeMap::new(),
            channel_versions: BTreeMap::new(),
            versions_seen: BTreeMap::new(),
            updated_channels: None,
        }
    }

    /// A copy with a fresh id and timestamp (the next checkpoint starts from the previous one).
    pub fn next(&self) -> Checkpoint {
        let fresh = Checkpoint::empty();
        Checkpoint { id: fresh.id, ts: fresh.ts, updated_channels: None, ..self.clone() }
    }
}

/// What produced a checkpoint (LangGraph's `source`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum CheckpointSource {
    /// The input of a run (`step` -1).
    Input,
    /// A step of the Pregel loop.
    Loop,
    /// A manual `update_state`.
    Update,
    /// A copy of another checkpoint (time travel).
    Fork,
}

/// Metadata stored next to a checkpoint (LangGraph's `CheckpointMetadata`; extra keys are kept
/// flat beside the known ones, as in LangGraph's JSON).
///
/// ```
/// use stategraph_checkpoint::{CheckpointMetadata, CheckpointSource};
/// let m = CheckpointMetadata::new(CheckpointSource::Loop, 3);
/// let json = serde_json::to_value(&m).unwrap();
/// assert_eq!(json, serde_json::json!({"source": "loop", "step": 3, "parents": {}}));
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CheckpointMetadata {
    /// What produced the checkpoint.
    pub source: CheckpointSource,
    /// The step number: -1 for the input, 0 for the first loop step, ...
    pub step: i64,
    /// Namespace → checkpoint id of the parent graphs' checkpoints (subgraphs).
    #[serde(default)]
    pub parents: BTreeMap<String, String>,
    /// The run that wrote the checkpoint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_id: Option<String>,
    /// Any other keys (user metadata from the run config, `writes`, ...).
    #[serde(flatten)]
    pub extra: Map,
}

impl CheckpointMetadata {
    /// Metadata with no parents, run id or extra keys.
    pub fn new(source: CheckpointSource, step: i64) -> CheckpointMetadata {
        CheckpointMetadata { source, step, parents: BTreeMap::new(), run_id: None, extra: Map::new() }
    }

    /// The metadata as one JSON object (what backends store and filters match against).
    pub fn to_value(&self) -> Result<Value> {
        Value::from_serialize(self)
            .map_err(|e| Error::Encode { what: "checkpoint metadata".into(), message: e.to_string() })
    }

    /// Reads metadata stored as JSON text.
    pub fn from_json(text: &str) -> Result<CheckpointMetadata> {
        serde_json::from_str(text).map_err(|e| Error::corrupt("checkpoint metadata", e))
    }

    /// The metadata as JSON text.
    pub fn to_json(&self) -> Result<String> {
        serde_json::to_string(self)
            .map_err(|e| Error::Encode { what: "checkpoint metadata".into(), message: e.to_string() })
    }
}

/// Which checkpoint: a thread, a namespace within it, and optionally one checkpoint
/// (LangGraph's `configurable` keys; no id means "the latest").
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct CheckpointConfig {
    /// The thread (conversation / run history).
    pub thread_id: String,
    /// The namespace: `""` for the root graph, `node:task_id|...` for subgraphs.
    #[serde(default)]
    pub checkpoint_ns: String,
    /// A specific checkpoint, or `None` for the latest.
    #[serde(default)]
    pub checkpoint_id: Option<CheckpointId>,
}

impl CheckpointConfig {
    /// The checkpoint id, which `put_writes` requires (writes belong to one checkpoint).
    pub fn require_checkpoint_id(&self) -> crate::Result<CheckpointId> {
        self.checkpoint_id.ok_or_else(|| crate::Error::InvalidInput {
            message: "put_writes needs a config with a checkpoint_id".into(),
        })
    }

    /// The latest checkpoint of a thread's root namespace.
    ///
    /// ```
    /// use stategraph_checkpoint::CheckpointConfig;
    /// let c = CheckpointConfig::thread("t1").with_ns("child:1");
    /// assert_eq!((c.thread_id.as_str(), c.checkpoint_ns.as_str(), c.checkpoint_id), ("t1", "child:1", None));
    /// ```
    pub fn thread(thread_id: impl Into<String>) -> CheckpointConfig {
        CheckpointConfig { thread_id: thread_id.into(), checkpoint_ns: String::new(), checkpoint_id: None }
    }

    /// The same with another namespace.
    pub fn with_ns(mut self, checkpoint_ns: impl Into<String>) -> CheckpointConfig {
        self.checkpoint_ns = checkpoint_ns.into();
        self
    }

    /// The same pointing at one checkpoint.
    pub fn with_id(mut self, checkpoint_id: CheckpointId) -> CheckpointConfig {
        self.checkpoint_id = Some(checkpoint_id);
        self
    }
}

/// A write a task made that is not yet applied to a checkpoint (it belongs to the step that
/// follows the checkpoint named by the config it was stored under).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PendingWrite {
    /// The task that wrote it.
    pub task_id: String,
    /// The channel written.
    pub channel: String,
    /// The value written.
    pub value: Value,
    /// The task's path (for deterministic ordering; may be empty).
    pub task_path: String,
    /// Position within the task's writes; negative for special channels ([`special_write_idx`]).
    pub idx: i64,
}

/// A checkpoint with everything stored around it (LangGraph's `CheckpointTuple`).
#[derive(Clone, Debug, PartialEq)]
pub struct CheckpointTuple {
    /// Points at this checkpoint (`checkpoint_id` is always set).
    pub config: CheckpointConfig,
    /// The checkpoint, with its channel values reassembled.
    pub checkpoint: Checkpoint,
    /// Its metadata.
    pub metadata: CheckpointMetadata,
    /// Points at the checkpoint this one was made from, if any.
    pub parent_config: Option<CheckpointConfig>,
    /// Writes stored for the step after this checkpoint, ordered by task path, task id, index.
    pub pending_writes: Vec<PendingWrite>,
}

/// What [`Checkpointer::list`](crate::Checkpointer::list) returns: every field narrows the result.
///
/// ```
/// use stategraph_checkpoint::ListFilter;
/// let f = ListFilter::thread("t1").limit(10);
/// assert_eq!(f.thread_id.as_deref(), Some("t1"));
/// ```
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ListFilter {
    /// Only this thread (`None`: all threads).
    pub thread_id: Option<String>,
    /// Only this namespace (`None`: all namespaces).
    pub checkpoint_ns: Option<String>,
    /// Only checkpoints older than this id.
    pub before: Option<CheckpointId>,
    /// At most this many (newest first).
    pub limit: Option<usize>,
    /// Only checkpoints whose metadata contains this object (see [`metadata_matches`](crate::metadata_matches)).
    pub metadata: Option<Map>,
}

impl ListFilter {
    /// Everything of one thread.
    pub fn thread(thread_id: impl Into<String>) -> ListFilter {
        ListFilter { thread_id: Some(thread_id.into()), ..ListFilter::default() }
    }
    /// Narrows to a namespace.
    pub fn ns(mut self, checkpoint_ns: impl Into<String>) -> ListFilter {
        self.checkpoint_ns = Some(checkpoint_ns.into());
        self
    }
    /// Narrows to checkpoints older than `id`.
    pub fn before(mut self, id: CheckpointId) -> ListFilter {
        self.before = Some(id);
        self
    }
    /// Caps the number of results.
    pub fn limit(mut self, limit: usize) -> ListFilter {
        self.limit = Some(limit);
        self
    }
    /// Narrows to checkpoints whose metadata contains `metadata`.
    pub fn metadata(mut self, metadata: Map) -> ListFilter {
        self.metadata = Some(metadata);
        self
    }
}

/// How [`Checkpointer::prune`](crate::Checkpointer::prune) thins a thread out.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum PruneStrategy {
    /// Keep only the latest checkpoint of each namespace (with its pending writes and the blobs
    /// it refers to); delete the rest.
    #[default]
    KeepLatest,
    /// Delete every checkpoint of the thread (like `delete_thread`).
    DeleteAll,
}

/// Whether `metadata` contains `filter`: every key of `filter` is present and its value contained
/// in the stored one. Objects match when they contain the filter's keys (recursively), lists when
/// every filter element is contained in some stored element, scalars when equal (numbers compare
/// by value, so `1` matches `1.0`). These are PostgreSQL's JSONB `@>` rules, so every backend —
/// in Rust or in SQL — filters the same way.
///
/// ```
/// use stategraph_checkpoint::metadata_matches;
/// use stategraph_value::Value;
/// let stored = Value::from(serde_json::json!({"source": "loop", "step": 2, "tags": ["a", "b"], "user": {"id": 7, "n": "x"}}));
/// let filter = |j: serde_json::Value| Value::from(j).as_object().unwrap().clone();
/// assert!(metadata_matches(&stored, &filter(serde_json::json!({"source": "loop", "user": {"id": 7}}))));
/// assert!(metadata_matches(&stored, &filter(serde_json::json!({"tags": ["b"]}))));
/// assert!(!metadata_matches(&stored, &filter(serde_json::json!({"step": 3}))));
/// assert!(!metadata_matches(&stored, &filter(serde_json::json!({"missing": null}))));
/// ```
pub fn metadata_matches(metadata: &Value, filter: &Map) -> bool {
    let Some(stored) = metadata.as_object() else { return filter.is_empty() };
    filter.iter().all(|(k, want)| stored.get(k).is_some_and(|have| contains(have, want)))
}

fn contains(have: &Value, want: &Value) -> bool {
    match (have, want) {
        (Value::Object(h), Value::Object(w)) => w.iter().all(|(k, wv)| h.get(k).is_some_and(|hv| contains(hv, wv))),
        (Value::Array(h), Value::Array(w)) => w.iter().all(|wv| h.iter().any(|hv| contains(hv, wv))),
        (Value::Number(a), Value::Number(b)) => match (a.as_i64(), b.as_i64(), a.as_u64(), b.as_u64()) {
            (Some(x), Some(y), _, _) => x == y,
            (_, _, Some(x), Some(y)) => x == y,
            _ => a.as_f64() == b.as_f64(),
        },
        _ => have == want,
    }
}
