//! Helpers for backend implementers: how a checkpoint is split into rows and put back together.
//!
//! A stored checkpoint is three kinds of rows, the same in every backend:
//! - one *checkpoint* row: the [`CheckpointHeader`] (everything but the values) and the metadata;
//! - *blob* rows keyed by `(thread, ns, channel, version)`: one per channel version, written only
//!   when `put` is told the version is new ([`encode_blobs`]);
//!   A list that only grows may be stored as a delta on an earlier version ([`DeltaCache`],
//!   [`decode_channel`]);
//! - *write* rows keyed by `(thread, ns, checkpoint id, task id, idx)` ([`encode_writes`]).
//!
//! A backend that stores a step's writes and the checkpoint after it in one transaction may store
//! a blob that repeats one of those writes as a reference to the write row ([`BatchWrites`],
//! [`TAG_REF`]).

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};
use stategraph_value::Value;

use crate::codec::{Serde, TAG_EMPTY};
use crate::error::{Error, Result};
use crate::id::CheckpointId;
use crate::types::{ChannelVersions, Checkpoint, CheckpointConfig, special_write_idx};

/// A checkpoint without its id and channel values: what the checkpoint row stores (as JSON).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CheckpointHeader {
    /// Format version.
    pub v: u32,
    /// Creation time, RFC 3339.
    pub ts: String,
    /// Channel name → version; the blobs to load.
    pub channel_versions: ChannelVersions,
    /// Node → channel → version seen.
    pub versions_seen: BTreeMap<String, ChannelVersions>,
    /// Channels updated in the step that made the checkpoint.
    #[serde(default)]
    pub updated_channels: Option<Vec<String>>,
}

impl CheckpointHeader {
    /// The header of a checkpoint.
    pub fn of(checkpoint: &Checkpoint) -> CheckpointHeader {
        CheckpointHeader {
            v: checkpoint.v,
            ts: checkpoint.ts.clone(),
            channel_versions: checkpoint.channel_versions.clone(),
            versions_seen: checkpoint.versions_seen.clone(),
            updated_channels: checkpoint.updated_channels.clone(),
        }
    }

    /// As JSON text.
    pub fn to_json(&self) -> Result<String> {
        serde_json::to_string(self).map_err(|e| Error::Encode { what: "checkpoint".into(), message: e.to_string() })
    }

    /// From JSON text (a typed error when it is not a header).
    pub fn from_json(text: &str, id: CheckpointId) -> Result<CheckpointHeader> {
        serde_json::from_str(text).map_err(|e| Error::corrupt(format!("checkpoint {id}"), e))
    }

    /// The checkpoint, given its id and its channel values.
    pub fn into_checkpoint(self, id: CheckpointId, channel_values: BTreeMap<String, Value>) -> Checkpoint {
        Checkpoint {
            v: self.v,
            id,
            ts: self.ts,
            channel_values,
            channel_versions: self.channel_versions,
            versions_seen: self.versions_seen,
            updated_channels: self.updated_channels,
        }
    }
}

/// One blob row to store.
#[derive(Clone, Debug, PartialEq)]
pub struct BlobRow {
    /// The channel.
    pub channel: String,
    /// Its version.
    pub version: u64,
    /// The codec's type tag ([`TAG_EMPTY`] when the channel holds no value at this version).
    pub type_tag: String,
    /// The encoded value (empty for `empty` and `null`).
    pub bytes: Vec<u8>,
    /// The pending write whose bytes the row stands for, when it is stored as a reference
    /// ([`TAG_REF`], or a delta whose inner tag is [`TAG_REF`]); the backend stores this key
    /// with the row.
    pub write_ref: Option<WriteKey>,
}

/// The blobs `put` stores: one per channel in `new_versions`, holding the checkpoint's value of that
/// channel, or an `empty` marker when the channel has no value at that version (e.g. a cleared
/// ephemeral channel). Channels not in `new_versions` are not touched: their blobs from earlier
/// checkpoints are reused.
pub fn encode_blobs(
    serde: &dyn Serde,
    checkpoint: &Checkpoint,
    new_versions: &ChannelVersions,
) -> Result<Vec<BlobRow>> {
    new_versions
        .iter()
        .map(|(channel, &version)| {
            let (type_tag, bytes) = match checkpoint.channel_values.get(channel) {
                Some(value) => serde.dumps(value).map_err(|e| e.at(format!("channel '{channel}'")))?,
                None => (TAG_EMPTY.to_owned(), Vec::new()),
            };
            Ok(BlobRow { channel: channel.clone(), version, type_tag, bytes, write_ref: None })
        })
        .collect()
}

/// Decodes a blob: `None` for an `empty` marker.
pub fn decode_blob(
    serde: &dyn Serde,
    type_tag: &str,
    bytes: &[u8],
    location: impl FnOnce() -> String,
) -> Result<Option<Value>> {
    if type_tag == TAG_EMPTY {
        return Ok(None);
    }
    serde.loads(type_tag, bytes).map(Some).map_err(|e| e.at(location()))
}

/// One pending-write row to store.
#[derive(Clone, Debug, PartialEq)]
pub struct WriteRow {
    /// Index within the task's writes (negative for special channels).
    pub idx: i64,
    /// The channel.
    pub channel: String,
    /// The codec's type tag.
    pub type_tag: String,
    /// The encoded value.
    pub bytes: Vec<u8>,
    /// Replace an existing row with the same `(task_id, idx)` (special channels) rather than
    /// keeping the existing one (ordinary writes, so a repeated `put_writes` is a no-op).
    pub upsert: bool,
}

/// The rows `put_writes` stores for one task.
pub fn encode_writes(serde: &dyn Serde, writes: &[(String, Value)]) -> Result<Vec<WriteRow>> {
    writes
        .iter()
        .enumerate()
        .map(|(i, (channel, value))| {
            let (type_tag, bytes) = serde.dumps(value).map_err(|e| e.at(format!("write to channel '{channel}'")))?;
            let special = special_write_idx(channel);
            Ok(WriteRow {
                idx: special.unwrap_or(i as i64),
                channel: channel.clone(),
                type_tag,
                bytes,
                upsert: special.is_some(),
            })
        })
        .collect()
}

/// Checks a version fits a signed 64-bit SQL column.
pub fn version_to_i64(version: u64) -> Result<i64> {
    i64::try_from(version)
        .map_err(|_| Error::InvalidInput { message: format!("channel version {version} exceeds i64::MAX") })
}

// ----- append-only lists stored as deltas --------------------------------------------------------
//
// A channel holding a list that only grows (a conversation's messages) changes at every step. Stored
// whole, a 1,000-message list costs 1,000 messages of bytes per step, quadratic over a run. Instead,
// when a list extends the list stored at an earlier version of the same (thread, ns, channel), the
// blob holds only the new items and names its base: type tag `append:<base version>`, bytes
// `[format][base item count][xxh3 of the base row's bytes][inner tag length][inner tag][inner bytes]`
// where the inner bytes are the codec's encoding of the new items as a list. Every `full_every`
// versions the chain is cut: the next version is a delta on the previous cut (an *anchor*: the
// items added since it), or a full copy when the anchors are `MAX_ANCHORS` deep or the list is
// mostly new. A read thus follows fewer than `full_every` deltas, then one row per anchor, and a
// long conversation is never rewritten whole every 32 versions. Readers reject chains
// longer than `MAX_CHAIN`, bases that are not older, and bases whose item count or bytes differ
// from what the delta was written against (a base overwritten or damaged later): SG102, or SG103
// when the base row is gone. The base version is in the tag so SQL can follow chains
// (`WITH RECURSIVE`) in the same query that loads the blobs, and prune can keep them.

/// Prefix of the type tag of a delta blob (`append:<base version>`).
pub const TAG_APPEND_PREFIX: &str = "append:";
/// How many versions a delta chain may have before it is cut at an anchor (or a full copy).
pub const FULL_EVERY: u32 = 32;
/// The longest delta chain a reader follows (longer: SG102).
pub const MAX_CHAIN: usize = 64;
/// How deep anchors go (see `Anchor`) before a full copy; with `full_every - 1` deltas after the
/// newest anchor, a read follows fewer than [`MAX_CHAIN`] rows.
pub const MAX_ANCHORS: u32 = 24;
/// How many bytes of remembered lists (counted as their stored size) a [`DeltaCache`] keeps by
/// default. The lists are shared with the engine's state while a run is live, so this bounds only
/// what stays alive after runs end.
pub const DEFAULT_CACHE_BUDGET: usize = 8 << 20;

const DELTA_FORMAT: u8 = 1;
const DELTA_HEADER: usize = 1 + 8 + 8 + 1;

/// The type tag of a delta on `base`.
///
/// ```
/// use stategraph_checkpoint::storage::{append_tag, parse_append_tag};
/// assert_eq!(append_tag(7), "append:7");
/// assert_eq!(parse_append_tag("append:7").unwrap().unwrap(), 7);
/// assert!(parse_append_tag("msgpack").is_none());
/// assert_eq!(parse_append_tag("append:x").unwrap().unwrap_err().code(), "SG102");
/// ```
pub fn append_tag(base: u64) -> String {
    format!("{TAG_APPEND_PREFIX}{base}")
}

/// The base version of a delta tag; `None` for other tags.
pub fn parse_append_tag(type_tag: &str) -> Option<Result<u64>> {
    let rest = type_tag.strip_prefix(TAG_APPEND_PREFIX)?;
    Some(rest.parse::<u64>().map_err(|e| Error::corrupt(format!("delta tag '{type_tag}'"), e)))
}

fn fingerprint(bytes: &[u8]) -> u64 {
    xxhash_rust::xxh3::xxh3_64(bytes)
}

/// Whether `new` starts with the items of `old`. Items the engine did not touch are the same
/// `Arc`s, so the common case is one pointer compare per item.
fn extends(old: &[Value], new: &[Value]) -> bool {
    new.len() >= old.len()
        && old.iter().zip(new).all(|(a, b)| match (a, b) {
            (Value::Object(x), Value::Object(y)) if Arc::ptr_eq(x, y) => true,
            (Value::Array(x), Value::Array(y)) if Arc::ptr_eq(x, y) => true,
            (Value::String(x), Value::String(y)) if Arc::ptr_eq(x, y) => true,
            // `==` would take -0.0 for 0.0, and the delta would then read back the base's zero.
            (Value::Number(x), Value::Number(y)) => {
                x.as_f64().map(f64::to_bits) == y.as_f64().map(f64::to_bits) && x == y && x.is_f64() == y.is_f64()
            }
            _ => a == b,
        })
}

type CacheKey = (String, String, String);

/// What the saver last stored for a (thread, ns, channel) holding a list.
#[derive(Clone, Debug)]
struct Remembered {
    version: u64,
    list: Arc<Vec<Value>>,
    /// The stored row's tag, length and fingerprint, checked before a delta is based on it.
    row_tag: String,
    row_len: usize,
    row_fingerprint: u64,
    /// Deltas since the anchor (0: the row is the anchor).
    chain: u32,
    /// The row deltas are rebased on when the chain is long: the last full copy, or the last
    /// rebased delta.
    anchor: Anchor,
    /// Bytes of the rows a read of this version loads (the cache's budget unit).
    weight: usize,
    used: u64,
}

/// A row a long delta chain is cut at. Instead of a full copy of a long list every `full_every`
/// versions (a write of the whole list, and memory for its encoding), the next version is stored
/// as a delta on the anchor, holding the items added since the anchor, and becomes the next
/// anchor: so a read follows at most `full_every - 1` deltas to the newest anchor, then one row
/// per anchor back to the full copy. A full copy is written again when the anchors are
/// [`MAX_ANCHORS`] deep or when a delta on the anchor would hold most of the list.
#[derive(Clone, Debug)]
struct Anchor {
    version: u64,
    /// Items of the list at that version.
    items: usize,
    row_tag: String,
    row_len: usize,
    row_fingerprint: u64,
    /// Anchors before it back to the full copy (0: it is the full copy).
    depth: u32,
    /// Bytes a read of that version loads.
    weight: usize,
}

/// The base a new delta is written on.
struct DeltaBase {
    version: u64,
    items: usize,
    row_fingerprint: u64,
    /// Chain and anchor of the new row (`None`: the new row is the next anchor).
    chain: u32,
    anchor: Option<Anchor>,
    weight: usize,
    anchor_depth: u32,
}

#[derive(Debug, Default)]
struct CacheState {
    entries: HashMap<CacheKey, Remembered>,
    weight: usize,
    tick: u64,
}

/// Remembers, per (thread, ns, channel), the list a saver stored last, so the next version of the
/// channel can be stored as a delta on it (see the module docs). SQL savers hold one; its changes
/// are staged per write ([`Staged`]) and applied only once the write commits, so a rolled-back
/// write never becomes a base.
///
/// ```
/// use stategraph_checkpoint::storage::{DeltaCache, Staged, decode_channel};
/// use stategraph_checkpoint::{Checkpoint, CheckpointConfig, MsgpackSerde};
/// use stategraph_value::Value;
/// let cache = DeltaCache::new();
/// let config = CheckpointConfig::thread("t");
/// let mut rows = std::collections::HashMap::new();
/// let mut cp = Checkpoint::empty();
/// for version in 1..=3u64 {
///     let items: Vec<Value> = (0..version * 10).map(Value::from).collect();
///     cp.channel_values.insert("messages".into(), Value::from(items));
///     let new_versions = [("messages".to_owned(), version)].into();
///     let mut staged = Staged::default();
///     let bases = cache.candidates(&config, &cp, &new_versions, &staged);
///     // A backend checks each base is still stored as remembered; here they all are.
///     let blobs = cache.encode_blobs(&MsgpackSerde, &config, &cp, &new_versions, &bases, &mut staged).unwrap();
///     cache.commit(staged);
///     for b in blobs {
///         rows.insert(b.version, (b.type_tag, b.bytes));
///     }
/// }
/// assert_eq!(rows[&3].0, "append:2");
/// let missing = |v| panic!("version {v} is stored");
/// let value = decode_channel(&MsgpackSerde, &rows, 3, missing, |v| format!("version {v}")).unwrap();
/// assert_eq!(value.unwrap().as_array().unwrap().len(), 30);
/// ```
#[derive(Debug)]
pub struct DeltaCache {
    state: Mutex<CacheState>,
    budget: usize,
    full_every: u32,
}

impl Default for DeltaCache {
    fn default() -> DeltaCache {
        DeltaCache::new()
    }
}

/// The cache changes of uncommitted writes, in order. Later puts of the same batch see them.
#[derive(Debug, Default)]
pub struct Staged {
    changes: Vec<(CacheKey, Option<Remembered>)>,
    /// Rows written by this transaction (key, version): a delta on them needs no check.
    written: Vec<(CacheKey, u64)>,
}

impl Staged {
    /// A mark: [`DeltaCache::commit_prefix`] with it applies the changes staged before it.
    pub fn mark(&self) -> usize {
        self.changes.len()
    }

    /// Where the staging stands, for [`rewind`](Staged::rewind).
    pub fn position(&self) -> (usize, usize) {
        (self.changes.len(), self.written.len())
    }

    /// Forgets what was staged after `position` (an encoding thrown away before it was written).
    pub fn rewind(&mut self, (changes, written): (usize, usize)) {
        self.changes.truncate(changes);
        self.written.truncate(written);
    }

    fn get(&self, key: &CacheKey) -> Option<Option<&Remembered>> {
        self.changes.iter().rev().find(|(k, _)| k == key).map(|(_, r)| r.as_ref())
    }

    fn wrote(&self, key: &CacheKey, version: u64) -> bool {
        self.written.iter().any(|(k, v)| *v == version && k == key)
    }
}

/// A delta [`DeltaCache::candidates`] proposes: its base row must still be stored with this tag
/// and length (the backend checks inside its write transaction) before it is passed to
/// [`DeltaCache::encode_blobs`].
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct BaseCheck {
    /// The channel.
    pub channel: String,
    /// The base version.
    pub base_version: u64,
    /// The base row's type tag.
    pub type_tag: String,
    /// The base row's byte length.
    pub len: usize,
}

impl DeltaCache {
    /// A cache with the default budget and a full copy every [`FULL_EVERY`] versions.
    pub fn new() -> DeltaCache {
        DeltaCache::with_limits(DEFAULT_CACHE_BUDGET, FULL_EVERY)
    }

    /// A cache keeping about `budget` bytes of lists (always at least the most recent one), and a
    /// full copy every `full_every` versions (1: never a delta).
    pub fn with_limits(budget: usize, full_every: u32) -> DeltaCache {
        DeltaCache { state: Mutex::new(CacheState::default()), budget, full_every: full_every.max(1) }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, CacheState> {
        // Every change is applied whole under the lock, so a poisoned lock is still consistent.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn remembered(&self, staged: &Staged, key: &CacheKey) -> Option<Remembered> {
        match staged.get(key) {
            Some(r) => r.cloned(),
            None => self.lock().entries.get(key).cloned(),
        }
    }

    /// The base of a delta for `list` at `version`: the version stored last, or (when that chain
    /// is long) its anchor; `None` for a full copy.
    fn delta_base(&self, staged: &Staged, key: &CacheKey, version: u64, list: &[Value]) -> Option<DeltaBase> {
        let base = self.remembered(staged, key)?;
        if base.version >= version || !extends(&base.list, list) {
            return None;
        }
        // Mostly new items: a full copy costs about the same and starts afresh.
        let mostly_old = |since: usize| list.len().saturating_sub(since) <= list.len() / 2;
        if base.chain + 1 < self.full_every && mostly_old(base.list.len()) {
            return Some(DeltaBase {
                version: base.version,
                items: base.list.len(),
                row_fingerprint: base.row_fingerprint,
                chain: base.chain + 1,
                anchor: Some(base.anchor.clone()),
                weight: base.weight,
                anchor_depth: base.anchor.depth,
            });
        }
        let a = &base.anchor;
        (self.full_every > 1 && a.depth + 1 < MAX_ANCHORS && a.version < version && mostly_old(a.items)).then(|| {
            DeltaBase {
                version: a.version,
                items: a.items,
                row_fingerprint: a.row_fingerprint,
                chain: 0,
                anchor: None,
                weight: a.weight,
                anchor_depth: a.depth + 1,
            }
        })
    }

    /// The deltas `put` could write for `checkpoint` on a base stored *before* this transaction:
    /// for each list channel in `new_versions` that extends the list remembered for it, the row of
    /// the version remembered and of its anchor. The backend checks each base row and passes the
    /// ones still stored as remembered to [`encode_blobs`](DeltaCache::encode_blobs). Rows written
    /// earlier in the same transaction (recorded in `staged`) need no check, so they are not
    /// listed: `encode_blobs` uses them as they are.
    pub fn candidates(
        &self,
        config: &CheckpointConfig,
        checkpoint: &Checkpoint,
        new_versions: &ChannelVersions,
        staged: &Staged,
    ) -> Vec<BaseCheck> {
        let mut out = Vec::new();
        for (channel, &version) in new_versions {
            let Some(Value::Array(list)) = checkpoint.channel_values.get(channel) else { continue };
            let key = (config.thread_id.clone(), config.checkpoint_ns.clone(), channel.clone());
            let Some(r) = self.remembered(staged, &key) else { continue };
            if r.version >= version || !extends(&r.list, list) {
                continue;
            }
            let rows = [(r.version, &r.row_tag, r.row_len), (r.anchor.version, &r.anchor.row_tag, r.anchor.row_len)];
            for (i, (base_version, tag, len)) in rows.into_iter().enumerate() {
                if (i == 1 && base_version == r.version) || staged.wrote(&key, base_version) {
                    continue;
                }
                out.push(BaseCheck { channel: channel.clone(), base_version, type_tag: tag.clone(), len });
            }
        }
        out
    }

    /// The blobs `put` stores (like [`encode_blobs`](crate::storage::encode_blobs)), as deltas for
    /// the channels in `verified` and on bases staged earlier in the same transaction, and the
    /// cache changes they imply, staged in `staged`.
    pub fn encode_blobs(
        &self,
        serde: &dyn Serde,
        config: &CheckpointConfig,
        checkpoint: &Checkpoint,
        new_versions: &ChannelVersions,
        verified: &[BaseCheck],
        staged: &mut Staged,
    ) -> Result<Vec<BlobRow>> {
        self.encode_blobs_referring(serde, config, checkpoint, new_versions, verified, staged, &BatchWrites::default())
    }

    /// [`encode_blobs`](DeltaCache::encode_blobs), storing a value (or a delta's new items) that
    /// is one of `writes` as a reference to that write row instead of encoding it again.
    #[allow(clippy::too_many_arguments)]
    pub fn encode_blobs_referring(
        &self,
        serde: &dyn Serde,
        config: &CheckpointConfig,
        checkpoint: &Checkpoint,
        new_versions: &ChannelVersions,
        verified: &[BaseCheck],
        staged: &mut Staged,
        writes: &BatchWrites<'_>,
    ) -> Result<Vec<BlobRow>> {
        let mut rows = Vec::with_capacity(new_versions.len());
        for (channel, &version) in new_versions {
            let key = (config.thread_id.clone(), config.checkpoint_ns.clone(), channel.clone());
            let value = checkpoint.channel_values.get(channel);
            let delta = match value {
                Some(Value::Array(list)) => self.delta_base(staged, &key, version, list).filter(|b| {
                    staged.wrote(&key, b.version)
                        || verified.iter().any(|c| &c.channel == channel && c.base_version == b.version)
                }),
                _ => None,
            };
            let row = match (value, delta) {
                (Some(Value::Array(list)), Some(base)) => {
                    let new_items = &list[base.items..];
                    let found = writes.holding_items(config, new_items);
                    let (inner_tag, inner) = match &found {
                        Some((_, fingerprint)) => (TAG_REF.to_owned(), fingerprint.to_le_bytes().to_vec()),
                        None => serde
                            .dumps(&Value::from(new_items.to_vec()))
                            .map_err(|e| e.at(format!("channel '{channel}'")))?,
                    };
                    let tag_len = u8::try_from(inner_tag.len()).map_err(|_| Error::Encode {
                        what: format!("channel '{channel}'"),
                        message: format!("type tag '{inner_tag}' is longer than 255 bytes"),
                    })?;
                    let mut bytes = Vec::with_capacity(DELTA_HEADER + inner_tag.len() + inner.len());
                    bytes.push(DELTA_FORMAT);
                    bytes.extend_from_slice(&(base.items as u64).to_le_bytes());
                    bytes.extend_from_slice(&base.row_fingerprint.to_le_bytes());
                    bytes.push(tag_len);
                    bytes.extend_from_slice(inner_tag.as_bytes());
                    bytes.extend_from_slice(&inner);
                    let row = BlobRow {
                        channel: channel.clone(),
                        version,
                        type_tag: append_tag(base.version),
                        bytes,
                        write_ref: found.map(|(key, _)| key),
                    };
                    let row_fingerprint = fingerprint(&row.bytes);
                    let weight = base.weight + row.bytes.len();
                    let anchor = base.anchor.unwrap_or_else(|| Anchor {
                        version,
                        items: list.len(),
                        row_tag: row.type_tag.clone(),
                        row_len: row.bytes.len(),
                        row_fingerprint,
                        depth: base.anchor_depth,
                        weight,
                    });
                    let remembered = Remembered {
                        version,
                        list: list.clone(),
                        row_tag: row.type_tag.clone(),
                        row_len: row.bytes.len(),
                        row_fingerprint,
                        chain: base.chain,
                        anchor,
                        weight,
                        used: 0,
                    };
                    staged.written.push((key.clone(), version));
                    staged.changes.push((key, Some(remembered)));
                    row
                }
                (Some(value), _) => {
                    let row = match writes.holding(config, value) {
                        Some((key, fingerprint)) => BlobRow {
                            channel: channel.clone(),
                            version,
                            type_tag: TAG_REF.to_owned(),
                            bytes: fingerprint.to_le_bytes().to_vec(),
                            write_ref: Some(key),
                        },
                        None => {
                            let (type_tag, bytes) =
                                serde.dumps(value).map_err(|e| e.at(format!("channel '{channel}'")))?;
                            BlobRow { channel: channel.clone(), version, type_tag, bytes, write_ref: None }
                        }
                    };
                    let remembered = match value {
                        Value::Array(list) => {
                            let row_fingerprint = fingerprint(&row.bytes);
                            Some(Remembered {
                                version,
                                list: list.clone(),
                                row_tag: row.type_tag.clone(),
                                row_len: row.bytes.len(),
                                row_fingerprint,
                                chain: 0,
                                anchor: Anchor {
                                    version,
                                    items: list.len(),
                                    row_tag: row.type_tag.clone(),
                                    row_len: row.bytes.len(),
                                    row_fingerprint,
                                    depth: 0,
                                    weight: row.bytes.len(),
                                },
                                weight: row.bytes.len(),
                                used: 0,
                            })
                        }
                        _ => None,
                    };
                    staged.written.push((key.clone(), version));
                    staged.changes.push((key, remembered));
                    row
                }
                (None, _) => {
                    staged.changes.push((key, None));
                    BlobRow {
                        channel: channel.clone(),
                        version,
                        type_tag: TAG_EMPTY.to_owned(),
                        bytes: Vec::new(),
                        write_ref: None,
                    }
                }
            };
            rows.push(row);
        }
        Ok(rows)
    }

    /// Applies every staged change (the write committed).
    pub fn commit(&self, staged: Staged) {
        let mark = staged.mark();
        self.commit_prefix(staged, mark);
    }

    /// Applies the changes staged before `mark` (a batch committed its first operations only).
    pub fn commit_prefix(&self, mut staged: Staged, mark: usize) {
        staged.written.clear();
        staged.changes.truncate(mark);
        if staged.changes.is_empty() {
            return;
        }
        let mut state = self.lock();
        for (key, change) in staged.changes {
            if let Some(old) = state.entries.remove(&key) {
                state.weight -= old.weight;
            }
            if let Some(mut r) = change {
                state.tick += 1;
                r.used = state.tick;
                state.weight += r.weight;
                state.entries.insert(key, r);
            }
        }
        // Least recently written first; the most recent entry always stays.
        while state.weight > self.budget && state.entries.len() > 1 {
            let Some(oldest) = state.entries.iter().min_by_key(|(_, r)| r.used).map(|(k, _)| k.clone()) else {
                break;
            };
            if let Some(old) = state.entries.remove(&oldest) {
                state.weight -= old.weight;
            }
        }
    }

    /// Forgets a thread (deleted, pruned or overwritten by a copy).
    pub fn forget_thread(&self, thread_id: &str) {
        let mut state = self.lock();
        let mut freed = 0;
        state.entries.retain(|(t, _, _), r| {
            let keep = t != thread_id;
            if !keep {
                freed += r.weight;
            }
            keep
        });
        state.weight -= freed;
    }
}

// ----- blobs that repeat a pending write ---------------------------------------------------------
//
// In a step, the tasks' writes are stored under the checkpoint the step started from, then the
// next checkpoint stores the new value of each channel that changed. For a last-value channel that
// value is the very value a task wrote (the same `Arc`), and the new items of a list the step
// appended to are the items of a write: stored plainly, every such byte is written twice. A
// backend that stores both in one transaction may instead store the blob as a *reference* to the
// write row: type tag `ref` (or, for a delta, inner tag `ref`), bytes the xxh3 of the write row's
// bytes, and the write's key (`WriteKey`; the thread and namespace are the blob's own) in columns
// of its own. Readers resolve the reference to the write row's tag and bytes; a write row that is
// gone is SG103, one whose bytes changed SG102. Everything else about the blob is unchanged: a
// delta on a reference row fingerprints the stored (reference) bytes, and the base checks compare
// the stored tag and length, as for any row.

/// Type tag of a blob stored as a reference to a pending write (and inner tag of a delta whose new
/// items are one): its bytes are the xxh3 of the write row's bytes. Builds that do not know it
/// refuse it (SG101) rather than misread it.
pub const TAG_REF: &str = "ref";

/// Writes whose encoding is shorter than this are not referred to: a reference row, with its key,
/// costs about as much as the bytes.
pub const MIN_REF_BYTES: usize = 64;

/// A pending-write row within its thread and namespace: what a reference names.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct WriteKey {
    /// The checkpoint the write is pending on.
    pub checkpoint_id: String,
    /// The task.
    pub task_id: String,
    /// The write's index within the task.
    pub idx: i64,
}

#[derive(Debug)]
struct KnownWrite<'v> {
    config: &'v CheckpointConfig,
    task_id: &'v str,
    idx: i64,
    value: &'v Value,
    fingerprint: u64,
}

impl KnownWrite<'_> {
    /// Whether a blob of a checkpoint put with `config` may refer to this write: same thread and
    /// namespace, and the checkpoint follows the one the write is pending on.
    fn precedes(&self, config: &CheckpointConfig) -> bool {
        self.config.checkpoint_id.is_some()
            && self.config.checkpoint_id == config.checkpoint_id
            && self.config.thread_id == config.thread_id
            && self.config.checkpoint_ns == config.checkpoint_ns
    }

    fn found(&self) -> (WriteKey, u64) {
        let checkpoint_id = self.config.checkpoint_id.map(|id| id.to_string()).unwrap_or_default();
        (WriteKey { checkpoint_id, task_id: self.task_id.to_owned(), idx: self.idx }, self.fingerprint)
    }
}

/// The pending writes encoded so far in one transaction, by the identity of their values, so that
/// the checkpoint following them can refer to a write row instead of repeating its bytes (see
/// [`TAG_REF`]). Only writes of the same transaction are ever referred to: the row a reference
/// names commits, or rolls back, with it.
///
/// ```
/// use stategraph_checkpoint::storage::{BatchWrites, DeltaCache, Staged, TAG_REF, encode_writes};
/// use stategraph_checkpoint::{Checkpoint, CheckpointConfig, CheckpointId, MsgpackSerde};
/// use stategraph_value::Value;
/// let parent = CheckpointConfig::thread("t").with_id(CheckpointId::new());
/// let answer = Value::from("a long model answer ".repeat(10));
/// let writes = vec![("answer".to_owned(), answer.clone())];
/// let rows = encode_writes(&MsgpackSerde, &writes).unwrap();
/// let mut known = BatchWrites::default();
/// known.remember(&parent, "task-1", &writes, &rows);
///
/// let mut cp = Checkpoint::empty();
/// cp.channel_values.insert("answer".into(), answer);
/// let new_versions = [("answer".to_owned(), 2)].into();
/// let blobs = DeltaCache::new()
///     .encode_blobs_referring(&MsgpackSerde, &parent, &cp, &new_versions, &[], &mut Staged::default(), &known)
///     .unwrap();
/// assert_eq!(blobs[0].type_tag, TAG_REF);
/// assert_eq!(blobs[0].write_ref.as_ref().unwrap().task_id, "task-1");
/// ```
#[derive(Debug, Default)]
pub struct BatchWrites<'v> {
    writes: Vec<KnownWrite<'v>>,
    /// Identity of a value → its writes (indices into `writes`).
    by_value: HashMap<usize, Vec<usize>>,
    /// Identity of a list's first item → the writes of that list.
    by_first_item: HashMap<usize, Vec<usize>>,
    /// The tasks whose writes were seen (thread, ns, checkpoint, task).
    tasks: std::collections::HashSet<(&'v str, &'v str, CheckpointId, &'v str)>,
}

/// The address of a value's shared allocation: equal for two live values only when they are the
/// same `Arc`. Scalars have none.
fn identity(value: &Value) -> Option<usize> {
    match value {
        Value::String(s) => Some(Arc::as_ptr(s) as *const () as usize),
        Value::Array(a) => Some(Arc::as_ptr(a) as *const () as usize),
        Value::Object(o) => Some(Arc::as_ptr(o) as *const () as usize),
        _ => None,
    }
}

/// Whether two items are the same: the same allocation, or scalars with the same encoding
/// (`==` alone would take `0.0` for `-0.0`, which the codec keeps apart).
fn same_item(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Null, Value::Null) => true,
        (Value::Bool(x), Value::Bool(y)) => x == y,
        (Value::Number(x), Value::Number(y)) => {
            x == y && x.is_f64() == y.is_f64() && x.as_f64().map(f64::to_bits) == y.as_f64().map(f64::to_bits)
        }
        _ => identity(a).is_some() && identity(a) == identity(b),
    }
}

impl<'v> BatchWrites<'v> {
    /// Records a task's writes (`rows`: their encoding, from [`encode_writes`]) once they are
    /// part of the transaction. Writes to special channels are not recorded (a later write of the
    /// same key replaces their row), nor a task's writes seen before in the transaction (its
    /// first rows are the ones kept), nor small or scalar values.
    pub fn remember(
        &mut self,
        config: &'v CheckpointConfig,
        task_id: &'v str,
        writes: &'v [(String, Value)],
        rows: &[WriteRow],
    ) {
        let Some(checkpoint) = config.checkpoint_id else { return };
        if !self.tasks.insert((&config.thread_id, &config.checkpoint_ns, checkpoint, task_id)) {
            return;
        }
        for ((_, value), row) in writes.iter().zip(rows) {
            if row.upsert || row.bytes.len() < MIN_REF_BYTES {
                continue;
            }
            let Some(id) = identity(value) else { continue };
            let i = self.writes.len();
            let fingerprint = fingerprint(&row.bytes);
            self.writes.push(KnownWrite { config, task_id, idx: row.idx, value, fingerprint });
            self.by_value.entry(id).or_default().push(i);
            if let Value::Array(items) = value
                && let Some(first) = items.first().and_then(identity)
            {
                self.by_first_item.entry(first).or_default().push(i);
            }
        }
    }

    /// The write (its key and the fingerprint of its bytes) a blob of the checkpoint put with
    /// `config` holding `value` may refer to.
    fn holding(&self, config: &CheckpointConfig, value: &Value) -> Option<(WriteKey, u64)> {
        let ids = self.by_value.get(&identity(value)?)?;
        ids.iter().map(|&i| &self.writes[i]).find(|w| w.precedes(config)).map(KnownWrite::found)
    }

    /// The write whose value is a list of exactly `items` (the new items of a delta).
    fn holding_items(&self, config: &CheckpointConfig, items: &[Value]) -> Option<(WriteKey, u64)> {
        let ids = self.by_first_item.get(&identity(items.first()?)?)?;
        ids.iter()
            .map(|&i| &self.writes[i])
            .find(|w| {
                w.precedes(config)
                    && matches!(w.value, Value::Array(list)
                        if list.len() == items.len() && list.iter().zip(items).all(|(a, b)| same_item(a, b)))
            })
            .map(KnownWrite::found)
    }
}

/// The type tag and bytes a reference stands for, checked against the fingerprint it holds.
fn resolve_ref<'r>(
    referenced: &impl Fn(u64) -> Result<(&'r str, &'r [u8])>,
    payload: &[u8],
    at: u64,
    location: &impl Fn(u64) -> String,
) -> Result<(&'r str, &'r [u8])> {
    let (tag, bytes) = referenced(at)?;
    if payload != fingerprint(bytes).to_le_bytes() {
        return Err(Error::corrupt(location(at), "the pending write it refers to was changed after it was written"));
    }
    Ok((tag, bytes))
}

/// The value of a channel at `version`, following delta chains through `rows` (version → stored
/// tag and bytes of that channel). `missing(v)` makes the error for an absent row (SG103);
/// `location(v)` names a row in decode errors. `None`: the channel holds no value at `version`.
/// A reference ([`TAG_REF`]) is SG102: use [`decode_channel_referring`] where they are stored.
pub fn decode_channel(
    serde: &dyn Serde,
    rows: &HashMap<u64, (String, Vec<u8>)>,
    version: u64,
    missing: impl Fn(u64) -> Error,
    location: impl Fn(u64) -> String,
) -> Result<Option<Value>> {
    let unsupported = |v: u64| -> Result<(&'static str, &'static [u8])> {
        Err(Error::corrupt(location(v), "a reference to a pending write, which is not stored here"))
    };
    decode_channel_referring(serde, rows, version, unsupported, missing, &location)
}

/// [`decode_channel`] where blobs may be references ([`TAG_REF`]): `referenced(v)` is the type tag
/// and bytes of the write row the row of version `v` refers to (SG103 when it is gone).
pub fn decode_channel_referring<'r>(
    serde: &dyn Serde,
    rows: &HashMap<u64, (String, Vec<u8>)>,
    version: u64,
    referenced: impl Fn(u64) -> Result<(&'r str, &'r [u8])>,
    missing: impl Fn(u64) -> Error,
    location: impl Fn(u64) -> String,
) -> Result<Option<Value>> {
    // Walk back to the full copy: (delta version, its base version).
    let mut chain: Vec<(u64, u64)> = Vec::new();
    let mut at = version;
    let (tag, bytes) = loop {
        let (tag, bytes) = rows.get(&at).ok_or_else(|| missing(at))?;
        let Some(base) = parse_append_tag(tag) else { break (tag, bytes) };
        let base = base.map_err(|e| e.at(location(at)))?;
        if base >= at || chain.len() >= MAX_CHAIN {
            return Err(Error::corrupt(location(at), format!("bad delta base {base} (chain of {})", chain.len())));
        }
        chain.push((at, base));
        at = base;
    };
    let full = if tag == TAG_REF {
        let (tag, bytes) = resolve_ref(&referenced, bytes, at, &location)?;
        decode_blob(serde, tag, bytes, || location(at))?
    } else {
        decode_blob(serde, tag, bytes, || location(at))?
    };
    if chain.is_empty() {
        return Ok(full);
    }
    let Some(Value::Array(list)) = full else {
        return Err(Error::corrupt(location(at), "the base of a delta is not a list"));
    };
    let mut items = Arc::unwrap_or_clone(list);
    for &(at, base) in chain.iter().rev() {
        let bytes = &rows[&at].1;
        let base_bytes = &rows[&base].1;
        let corrupt = |message: &str| Error::corrupt(location(at), message);
        if bytes.len() < DELTA_HEADER || bytes[0] != DELTA_FORMAT {
            return Err(corrupt("bad delta header"));
        }
        let word = |i: usize| u64::from_le_bytes(bytes[i..i + 8].try_into().expect("8 bytes"));
        let (base_len, base_fingerprint, tag_len) = (word(1), word(9), usize::from(bytes[17]));
        if base_len != items.len() as u64 || base_fingerprint != fingerprint(base_bytes) {
            return Err(corrupt("the delta's base was changed after the delta was written"));
        }
        let inner_tag = bytes.get(DELTA_HEADER..DELTA_HEADER + tag_len).ok_or_else(|| corrupt("truncated delta"))?;
        let inner_tag = std::str::from_utf8(inner_tag).map_err(|_| corrupt("delta tag is not UTF-8"))?;
        let inner = &bytes[DELTA_HEADER + tag_len..];
        let new_items = if inner_tag == TAG_REF {
            let (tag, inner) = resolve_ref(&referenced, inner, at, &location)?;
            serde.loads(tag, inner)
        } else {
            serde.loads(inner_tag, inner)
        };
        let new_items = new_items.map_err(|e| e.at(location(at)))?;
        let Value::Array(new_items) = new_items else { return Err(corrupt("delta items are not a list")) };
        items.extend(Arc::unwrap_or_clone(new_items));
    }
    Ok(Some(Value::from(items)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::MsgpackSerde;

    /// Stores `items` as version `version` of channel `messages` of thread `t`, as a backend
    /// would (every base checked and found), into `rows` (by version).
    fn store(cache: &DeltaCache, version: u64, items: Vec<Value>, rows: &mut HashMap<u64, (String, Vec<u8>)>) {
        let config = CheckpointConfig::thread("t");
        let mut cp = Checkpoint::empty();
        cp.channel_values.insert("messages".into(), Value::from(items));
        let new_versions: ChannelVersions = [("messages".to_owned(), version)].into();
        let mut staged = Staged::default();
        let bases = cache.candidates(&config, &cp, &new_versions, &staged);
        let blobs = cache.encode_blobs(&MsgpackSerde, &config, &cp, &new_versions, &bases, &mut staged).unwrap();
        cache.commit(staged);
        for b in blobs {
            rows.insert(b.version, (b.type_tag, b.bytes));
        }
    }

    /// Stores `versions` versions of a list growing by three items each and returns the rows by
    /// version.
    fn grow(cache: &DeltaCache, versions: u64) -> HashMap<u64, (String, Vec<u8>)> {
        let mut rows = HashMap::new();
        for version in 1..=versions {
            store(cache, version, (0..version * 3).map(|i| Value::from(format!("item {i}"))).collect(), &mut rows);
        }
        rows
    }

    /// The rows a read of `version` follows back to the full copy.
    fn chain(rows: &HashMap<u64, (String, Vec<u8>)>, mut version: u64) -> usize {
        let mut hops = 0;
        while let Some(base) = parse_append_tag(&rows[&version].0) {
            version = base.unwrap();
            hops += 1;
        }
        hops
    }

    #[test]
    fn long_lists_are_cut_at_anchors_not_rewritten_whole() {
        let cache = DeltaCache::with_limits(DEFAULT_CACHE_BUDGET, 8);
        let rows = grow(&cache, 300);
        let missing = |v| panic!("version {v} is stored");
        for version in 1..=300u64 {
            let value = decode_channel(&MsgpackSerde, &rows, version, missing, |v| format!("v{v}")).unwrap().unwrap();
            assert_eq!(value.as_array().unwrap().len() as u64, version * 3, "version {version}");
            assert!(chain(&rows, version) < MAX_CHAIN, "version {version} follows {} rows", chain(&rows, version));
        }
        let full: Vec<u64> = (1..=300).filter(|v| parse_append_tag(&rows[v].0).is_none()).collect();
        // Full copies only when the list doubled since the last one, or the anchors ran deep.
        assert!(full.len() <= 6, "full copies at {full:?}");
        // A rebased delta: based on an anchor, not on the version before it.
        assert!((2..=300u64).any(|v| parse_append_tag(&rows[&v].0).is_some_and(|b| b.unwrap() < v - 1)));
        // Each item is written a bounded number of times (whole rewrites would be ~ versions / 8).
        let written: usize = rows.values().map(|(_, b)| b.len()).sum();
        let last = rows[&300].1.len().max(rows[&full[full.len() - 1]].1.len());
        assert!(written < 300 * 3 * 12 * 4, "{written} bytes written; last row {last}");
    }

    #[test]
    fn a_list_with_negative_zero_where_the_stored_one_had_zero_is_not_a_delta() {
        assert!(extends(&[Value::from(0.0)], &[Value::from(0.0), Value::from(1)]));
        assert!(!extends(&[Value::from(0.0)], &[Value::from(-0.0), Value::from(1)]));
        assert!(!extends(&[Value::from(1)], &[Value::from(1.0)]), "an integer is not a float");
        assert!(extends(&[Value::from("same text")], &[Value::from("same text"), Value::Null]), "equal strings");
    }

    #[test]
    fn a_delta_is_written_only_on_a_confirmed_base() {
        let cache = DeltaCache::with_limits(DEFAULT_CACHE_BUDGET, 4);
        let config = CheckpointConfig::thread("t");
        grow(&cache, 10);
        // Version 11 extends version 10: with its bases confirmed by the backend it is a delta...
        let mut cp = Checkpoint::empty();
        let items: Vec<Value> = (0..33).map(|i| Value::from(format!("item {i}"))).collect();
        cp.channel_values.insert("messages".into(), Value::from(items));
        let new_versions: ChannelVersions = [("messages".to_owned(), 11)].into();
        let bases = cache.candidates(&config, &cp, &new_versions, &Staged::default());
        assert!(!bases.is_empty());
        let blobs =
            cache.encode_blobs(&MsgpackSerde, &config, &cp, &new_versions, &bases, &mut Staged::default()).unwrap();
        assert!(parse_append_tag(&blobs[0].type_tag).is_some(), "{}", blobs[0].type_tag);
        // ...and with none confirmed (rows changed behind the cache's back) a full copy.
        let blobs =
            cache.encode_blobs(&MsgpackSerde, &config, &cp, &new_versions, &[], &mut Staged::default()).unwrap();
        assert!(parse_append_tag(&blobs[0].type_tag).is_none(), "{}", blobs[0].type_tag);
    }

    #[test]
    fn a_delta_of_shared_items_keeps_them_shared() {
        use crate::codec::TAG_MSGPACK_REFS;
        let cache = DeltaCache::new();
        // A tool result (about 2 kB) the next step appends twice and also nests in a message.
        let result: Value = (0..50).map(|k| (format!("field_{k}"), Value::from(format!("{k:>30}")))).collect();
        let message: Value = [("role", Value::from("tool")), ("content", result.clone())].into_iter().collect();
        let mut rows = HashMap::new();
        // (Long enough before that the new items are a delta, not a full copy.)
        let first: Vec<Value> = (0..20).map(|i| Value::from(format!("message {i}"))).collect();
        let second = [first.clone(), vec![result.clone(), message, result]].concat();
        store(&cache, 1, first, &mut rows);
        store(&cache, 2, second.clone(), &mut rows);
        // Version 2 is a delta whose inner tag is the one with references.
        let (tag, bytes) = &rows[&2];
        assert_eq!(tag, "append:1");
        let tag_len = usize::from(bytes[DELTA_HEADER - 1]);
        assert_eq!(&bytes[DELTA_HEADER..DELTA_HEADER + tag_len], TAG_MSGPACK_REFS.as_bytes());
        assert!(bytes.len() < 3_000, "the tool result is stored once: {} bytes", bytes.len());
        let missing = |v| panic!("version {v} is stored");
        let value = decode_channel(&MsgpackSerde, &rows, 2, missing, |v| format!("v{v}")).unwrap().unwrap();
        assert_eq!(value, Value::from(second));
        let items = value.as_array().unwrap();
        let (Value::Object(a), Value::Object(b), Value::Object(c)) = (&items[20], &items[22], &items[21]["content"])
        else {
            panic!("objects: {value}")
        };
        assert!(Arc::ptr_eq(a, b) && Arc::ptr_eq(a, c));
    }

    /// Stores `versions` steps of a conversation as a SQL saver does with one step per
    /// transaction: the step's write (one message, about 100 bytes), then the checkpoint whose
    /// list has it appended. Returns the blob rows by version and the write rows by key.
    #[allow(clippy::type_complexity)]
    fn grow_with_writes(
        cache: &DeltaCache,
        versions: u64,
    ) -> (HashMap<u64, (String, Vec<u8>, Option<WriteKey>)>, HashMap<WriteKey, (String, Vec<u8>)>, Vec<Value>) {
        let mut blobs = HashMap::new();
        let mut writes = HashMap::new();
        let mut cp = Checkpoint::empty();
        let mut items: Vec<Value> = Vec::new();
        for version in 1..=versions {
            let parent = CheckpointConfig::thread("t").with_id(CheckpointId::new());
            let message: Value =
                [("text", Value::from(format!("message {version} {}", "x".repeat(90))))].into_iter().collect();
            let written = vec![("messages".to_owned(), Value::from(vec![message.clone()]))];
            let rows = encode_writes(&MsgpackSerde, &written).unwrap();
            let mut known = BatchWrites::default();
            known.remember(&parent, "task", &written, &rows);
            let key =
                WriteKey { checkpoint_id: parent.checkpoint_id.unwrap().to_string(), task_id: "task".into(), idx: 0 };
            writes.insert(key, (rows[0].type_tag.clone(), rows[0].bytes.clone()));

            items.push(message);
            cp.channel_values.insert("messages".into(), Value::from(items.clone()));
            let new_versions: ChannelVersions = [("messages".to_owned(), version)].into();
            let mut staged = Staged::default();
            let bases = cache.candidates(&parent, &cp, &new_versions, &staged);
            let blobs_of_step = cache
                .encode_blobs_referring(&MsgpackSerde, &parent, &cp, &new_versions, &bases, &mut staged, &known)
                .unwrap();
            cache.commit(staged);
            for b in blobs_of_step {
                blobs.insert(b.version, (b.type_tag, b.bytes, b.write_ref));
            }
        }
        (blobs, writes, items)
    }

    #[test]
    fn deltas_referring_to_writes_keep_their_anchors_and_read_back() {
        let cache = DeltaCache::with_limits(DEFAULT_CACHE_BUDGET, 8);
        let (blobs, writes, items) = grow_with_writes(&cache, 120);
        let rows: HashMap<u64, (String, Vec<u8>)> =
            blobs.iter().map(|(v, (tag, bytes, _))| (*v, (tag.clone(), bytes.clone()))).collect();
        let referenced = |v: u64| {
            let key = blobs[&v].2.as_ref().expect("a reference row names its write");
            let (tag, bytes) = &writes[key];
            Ok((tag.as_str(), bytes.as_slice()))
        };
        let missing = |v| panic!("version {v} is stored");
        for version in 1..=120u64 {
            let value =
                decode_channel_referring(&MsgpackSerde, &rows, version, referenced, missing, |v| format!("v{v}"))
                    .unwrap()
                    .unwrap();
            assert_eq!(value.as_array().unwrap()[..], items[..version as usize], "version {version}");
            assert!(chain(&rows, version) < MAX_CHAIN);
        }
        // A one-message delta is a reference; a rebased delta (the messages since its anchor) and
        // a full copy hold their bytes.
        let (refs, plain): (Vec<_>, Vec<_>) = (2..=120u64).partition(|v| blobs[v].2.is_some());
        assert!(refs.len() > 90, "{} references", refs.len());
        for v in &refs {
            let (tag, bytes, _) = &blobs[v];
            assert_eq!(parse_append_tag(tag).unwrap().unwrap(), v - 1, "version {v}");
            assert_eq!(bytes.len(), DELTA_HEADER + TAG_REF.len() + 8);
        }
        assert!(plain.iter().all(|v| parse_append_tag(&blobs[v].0).is_none_or(|b| b.unwrap() < v - 1)));
        // Without the resolver (a backend that stores no references) it is a typed error.
        let err = decode_channel(&MsgpackSerde, &rows, refs[0], missing, |v| format!("v{v}")).unwrap_err();
        assert_eq!(err.code(), "SG102");
    }

    #[test]
    fn only_first_ordinary_large_writes_are_remembered() {
        let parent = CheckpointConfig::thread("t").with_id(CheckpointId::new());
        let long = Value::from("long ".repeat(20));
        let small = Value::from("short");
        let written = vec![
            ("a".to_owned(), long.clone()),
            ("b".to_owned(), small.clone()),
            (crate::ERROR.to_owned(), long.clone()),
        ];
        let rows = encode_writes(&MsgpackSerde, &written).unwrap();
        let mut known = BatchWrites::default();
        known.remember(&parent, "task", &written, &rows);
        let again = vec![("a".to_owned(), Value::from("other ".repeat(20)))];
        let again_rows = encode_writes(&MsgpackSerde, &again).unwrap();
        // A repeat of the task: the database keeps the first rows, so the repeat is not referred to.
        known.remember(&parent, "task", &again, &again_rows);
        let (key, fingerprint) = known.holding(&parent, &long).expect("the long ordinary write");
        assert_eq!((key.task_id.as_str(), key.idx), ("task", 0));
        assert_eq!(fingerprint, super::fingerprint(&rows[0].bytes));
        assert!(known.holding(&parent, &small).is_none(), "too small");
        assert!(known.holding(&parent, &again[0].1).is_none(), "a repeated task");
        // Only a checkpoint following the write's checkpoint, in its thread and namespace.
        assert!(known.holding(&CheckpointConfig::thread("t").with_id(CheckpointId::new()), &long).is_none());
        assert!(known.holding(&parent.clone().with_ns("child:1"), &long).is_none());
        // An equal value that is not the same allocation is not the write.
        assert!(known.holding(&parent, &Value::from("long ".repeat(20))).is_none());
    }
}
