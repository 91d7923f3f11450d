//! `InMemorySaver`: checkpoints in a map, for tests and for runs that need no durability.

use std::collections::{BTreeMap, HashMap};

use rustc_hash::FxHashMap;
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};

use futures::future::BoxFuture;
use stategraph_value::Value;

use crate::error::{Error, Result};
use crate::id::CheckpointId;
use crate::saver::{Checkpointer, SaveOp};
use crate::storage::CheckpointHeader;
use crate::types::{
    ChannelVersions, Checkpoint, CheckpointConfig, CheckpointMetadata, CheckpointTuple, ListFilter, PendingWrite,
    PruneStrategy, metadata_matches, special_write_idx,
};

/// Keeps checkpoints in memory (LangGraph's `InMemorySaver`).
///
/// Values are kept as [`Value`]s, not encoded: their containers are reference-counted and never
/// mutated in place once shared, so a stored version shares its unchanged parts with the live
/// state and with the other versions. Storing a step of a 1,000-message conversation costs a list
/// of pointers, not a copy of the messages.
///
/// A list that only grows (an `add` channel) is kept as the items added since an earlier version
/// (its *base*, shared) rather than as a list of its own per version: at every step the saver
/// would otherwise hold a pointer list as long as the whole conversation, O(n²) memory over a run,
/// and the engine's next append would have to copy the list the saver still shares. See [`Blob`].
///
/// ```
/// use stategraph_checkpoint::*;
/// # futures::executor::block_on(async {
/// let saver = InMemorySaver::new();
/// let mut cp = Checkpoint::empty();
/// cp.channel_values.insert("n".into(), 1.into());
/// cp.channel_versions.insert("n".into(), 1);
/// let config = saver
///     .put(&CheckpointConfig::thread("t"), &cp, &CheckpointMetadata::new(CheckpointSource::Input, -1), &cp.channel_versions)
///     .await
///     .unwrap();
/// let tuple = saver.get_tuple(&CheckpointConfig::thread("t")).await.unwrap().unwrap();
/// assert_eq!(tuple.config, config);
/// assert_eq!(tuple.checkpoint, cp);
/// # });
/// ```
#[derive(Debug, Default)]
pub struct InMemorySaver {
    inner: RwLock<HashMap<String, Thread>>,
}

#[derive(Clone, Debug, Default)]
struct Thread {
    /// ns → id → checkpoint.
    ///
    /// Boxed: a `Stored` is ~260 bytes, so a B-tree node of them would be a ~3 kB allocation,
    /// and every allocation past 1 kB makes glibc consolidate its free lists (`malloc_consolidate`
    /// was 8% of a short run).
    checkpoints: BTreeMap<String, BTreeMap<CheckpointId, Box<Stored>>>,
    /// (ns, channel, version) → value.
    blobs: FxHashMap<(String, String, u64), Blob>,
    /// (ns, channel) → the list stored last for the channel, when it was a list, to store the
    /// next version as the items it adds.
    tips: FxHashMap<(String, String), Tip>,
    /// (ns, checkpoint id) → the writes of each task.
    writes: FxHashMap<(String, CheckpointId), CheckpointWrites>,
}

/// A stored channel value.
#[derive(Clone, Debug)]
enum Blob {
    /// The channel held no value at that version.
    Empty,
    /// The value.
    Value(Value),
    /// A list: the items of `base` followed by `items`. `base` is a list stored whole at an
    /// earlier version (shared with that version's blob, so a chain is never longer than one).
    Appended { base: Arc<Vec<Value>>, items: Arc<[Value]> },
}

impl Blob {
    fn value(&self) -> Option<Value> {
        match self {
            Blob::Empty => None,
            Blob::Value(v) => Some(v.clone()),
            Blob::Appended { base, items } => {
                let mut list = Vec::with_capacity(base.len() + items.len());
                list.extend(base.iter().cloned());
                list.extend(items.iter().cloned());
                Some(Value::from(list))
            }
        }
    }
}

/// The list a channel's last stored version holds, as `base` followed by `tail`.
#[derive(Clone, Debug)]
struct Tip {
    base: Arc<Vec<Value>>,
    tail: Arc<[Value]>,
    /// Versions stored as items added to `base`.
    appended: u32,
}

/// After this many versions on one base, the next version is stored whole (and becomes the
/// base): keeps the items each version holds on its own at ~32 steps' worth. A stored base
/// shares the live list, so the engine's next append copies it: once per 32 steps rather than
/// at every step.
const MAX_APPENDED: u32 = 32;

/// Whether `a` and `b` are the same item: the same shared container or host object, or the same
/// scalar. Only pointers are compared for containers, so checking that a list extends the stored
/// one is a pass over pointers, never a deep comparison. Floats compare by their bits: `==`
/// would take `-0.0` for `0.0`, and the list read back would then hold the other one.
fn same_item(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Array(x), Value::Array(y)) => Arc::ptr_eq(x, y),
        (Value::Object(x), Value::Object(y)) => Arc::ptr_eq(x, y),
        (Value::String(x), Value::String(y)) => Arc::ptr_eq(x, y),
        (Value::Foreign(x), Value::Foreign(y)) => x.ptr_eq(y),
        (Value::Number(x), Value::Number(y)) => {
            x == y && x.is_f64() == y.is_f64() && x.as_f64().map(f64::to_bits) == y.as_f64().map(f64::to_bits)
        }
        (Value::Null, Value::Null) => true,
        (Value::Bool(x), Value::Bool(y)) => x == y,
        _ => false,
    }
}

impl Tip {
    /// The blob for `list`, the channel's new version: the items it adds to the tip's list when
    /// it starts with that list and the base is not too old; `None` to store it whole.
    fn extend(&self, list: &Arc<Vec<Value>>) -> Option<Arc<[Value]>> {
        let (base, tail) = (self.base.len(), self.tail.len());
        if self.appended >= MAX_APPENDED || list.len() < base + tail {
            return None;
        }
        // A tail longer than its base would keep more on its own than storing the list whole.
        if list.len() - base > base.max(MAX_APPENDED as usize) {
            return None;
        }
        let same = list[..base].iter().zip(self.base.iter()).all(|(a, b)| same_item(a, b))
            && list[base..base + tail].iter().zip(self.tail.iter()).all(|(a, b)| same_item(a, b));
        same.then(|| list[base..].iter().cloned().collect())
    }
}

/// The pending writes saved under one checkpoint, grouped by task: the task's id and path are
/// kept once, not per write (a map entry per write cost ~1.5 kB for a task with one write).
#[derive(Clone, Debug, Default)]
struct CheckpointWrites {
    tasks: Vec<TaskWrites>,
    /// Hash of a task id → the first position in `tasks` with that hash, built once there are
    /// many tasks (a wide fan-out), so that finding a task stays O(1) without a map per
    /// checkpoint in the common case. Keyed by hash, not by id, so it holds no copy of the ids;
    /// a hash shared by two ids falls back to a scan.
    index: Option<FxHashMap<u64, usize>>,
}

#[derive(Clone, Debug)]
struct TaskWrites {
    task_id: String,
    task_path: String,
    /// (idx, channel, value), by idx as saved.
    writes: Vec<(i64, String, Value)>,
}

/// Tasks past which [`CheckpointWrites`] keeps an index.
const INDEX_TASKS: usize = 16;

fn id_hash(task_id: &str) -> u64 {
    use std::hash::BuildHasher;
    rustc_hash::FxBuildHasher.hash_one(task_id)
}

impl CheckpointWrites {
    /// The task's entry, added (taking the id and path given) when it has none yet.
    fn task(&mut self, task_id: String, task_path: String) -> &mut TaskWrites {
        let at = match self.find(&task_id) {
            Some(at) => at,
            None => {
                let at = self.tasks.len();
                let hash = id_hash(&task_id);
                self.tasks.push(TaskWrites { task_id, task_path, writes: Vec::new() });
                match &mut self.index {
                    Some(index) => {
                        index.entry(hash).or_insert(at);
                    }
                    None if self.tasks.len() > INDEX_TASKS => {
                        let mut index = FxHashMap::default();
                        for (i, t) in self.tasks.iter().enumerate() {
                            index.entry(id_hash(&t.task_id)).or_insert(i);
                        }
                        self.index = Some(index);
                    }
                    None => {}
                }
                at
            }
        };
        &mut self.tasks[at]
    }

    fn find(&self, task_id: &str) -> Option<usize> {
        if let Some(index) = &self.index {
            match index.get(&id_hash(task_id)) {
                None => return None,
                Some(&at) if self.tasks[at].task_id == task_id => return Some(at),
                Some(_) => {} // Another id with the same hash: scan.
            }
        }
        self.tasks.iter().position(|t| t.task_id == task_id)
    }

    /// Stores `value` as the task's write `idx`: an ordinary write saved again is kept as it
    /// was (a repeated `put_writes` is a no-op); a special one (`replace`) is replaced.
    fn insert(task: &mut TaskWrites, idx: i64, channel: String, value: Value, replace: bool) {
        match task.writes.iter_mut().find(|w| w.0 == idx) {
            Some(existing) if replace => *existing = (idx, channel, value),
            Some(_) => {}
            None => task.writes.push((idx, channel, value)),
        }
    }

    fn pending(&self) -> Vec<PendingWrite> {
        let mut out: Vec<PendingWrite> = self
            .tasks
            .iter()
            .flat_map(|t| {
                t.writes.iter().map(|(idx, channel, value)| PendingWrite {
                    task_id: t.task_id.clone(),
                    channel: channel.clone(),
                    value: value.clone(),
                    task_path: t.task_path.clone(),
                    idx: *idx,
                })
            })
            .collect();
        out.sort_by(|a, b| (&a.task_path, &a.task_id, a.idx).cmp(&(&b.task_path, &b.task_id, b.idx)));
        out
    }
}

#[derive(Clone, Debug)]
struct Stored {
    header: CheckpointHeader,
    metadata: CheckpointMetadata,
    parent: Option<CheckpointId>,
}

impl InMemorySaver {
    /// An empty saver.
    pub fn new() -> InMemorySaver {
        InMemorySaver::default()
    }

    fn read(&self) -> RwLockReadGuard<'_, HashMap<String, Thread>> {
        // A panic while holding the lock cannot leave a half-written entry behind (every write
        // builds its rows first), so a poisoned lock is still consistent.
        self.inner.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write(&self) -> RwLockWriteGuard<'_, HashMap<String, Thread>> {
        self.inner.write().unwrap_or_else(|e| e.into_inner())
    }

    fn tuple(thread_id: &str, thread: &Thread, ns: &str, id: CheckpointId, stored: &Stored) -> Result<CheckpointTuple> {
        let mut values = BTreeMap::new();
        for (channel, &version) in &stored.header.channel_versions {
            match thread.blobs.get(&(ns.to_owned(), channel.clone(), version)) {
                Some(blob) => {
                    if let Some(v) = blob.value() {
                        values.insert(channel.clone(), v);
                    }
                }
                None => {
                    return Err(Error::MissingBlob {
                        thread_id: thread_id.to_owned(),
                        checkpoint_ns: ns.to_owned(),
                        checkpoint_id: id.to_string(),
                        channel: channel.clone(),
                        version,
                    });
                }
            }
        }
        let pending_writes = thread.writes.get(&(ns.to_owned(), id)).map(CheckpointWrites::pending).unwrap_or_default();
        let config =
            CheckpointConfig { thread_id: thread_id.to_owned(), checkpoint_ns: ns.to_owned(), checkpoint_id: Some(id) };
        Ok(CheckpointTuple {
            parent_config: stored.parent.map(|p| CheckpointConfig { checkpoint_id: Some(p), ..config.clone() }),
            config,
            checkpoint: stored.header.clone().into_checkpoint(id, values),
            metadata: stored.metadata.clone(),
            pending_writes,
        })
    }

    fn get_tuple_sync(&self, config: &CheckpointConfig) -> Result<Option<CheckpointTuple>> {
        let threads = self.read();
        let Some(thread) = threads.get(&config.thread_id) else { return Ok(None) };
        let Some(checkpoints) = thread.checkpoints.get(&config.checkpoint_ns) else { return Ok(None) };
        let found = match config.checkpoint_id {
            Some(id) => checkpoints.get_key_value(&id),
            None => checkpoints.last_key_value(),
        };
        found.map(|(&id, stored)| Self::tuple(&config.thread_id, thread, &config.checkpoint_ns, id, stored)).transpose()
    }

    fn list_sync(&self, filter: &ListFilter) -> Result<Vec<CheckpointTuple>> {
        let threads = self.read();
        let mut found: Vec<(CheckpointId, &str, &Thread, &str, &Stored)> = Vec::new();
        for (thread_id, thread) in threads.iter() {
            if filter.thread_id.as_ref().is_some_and(|t| t != thread_id) {
                continue;
            }
            for (ns, checkpoints) in &thread.checkpoints {
                if filter.checkpoint_ns.as_ref().is_some_and(|n| n != ns) {
                    continue;
                }
                let range = match filter.before {
                    Some(before) => checkpoints.range(..before),
                    None => checkpoints.range(..),
                };
                for (&id, stored) in range {
                    // The metadata as JSON only when a filter needs it: building it on every put
                    // cost as much as the rest of the put.
                    let matches = filter
                        .metadata
                        .as_ref()
                        .is_none_or(|m| stored.metadata.to_value().is_ok_and(|v| metadata_matches(&v, m)));
                    if matches {
                        found.push((id, thread_id, thread, ns, stored));
                    }
                }
            }
        }
        found.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.cmp(b.1)).then_with(|| a.3.cmp(b.3)));
        found.truncate(filter.limit.unwrap_or(usize::MAX));
        found
            .into_iter()
            .map(|(id, thread_id, thread, ns, stored)| Self::tuple(thread_id, thread, ns, id, stored))
            .collect()
    }

    /// `put`, or with `only_if_latest` `put_next`: the check and the insert happen under one
    /// write lock, so of racing callers from the same parent exactly one gets through.
    fn put_sync(
        &self,
        config: &CheckpointConfig,
        checkpoint: &Checkpoint,
        metadata: &CheckpointMetadata,
        new_versions: &ChannelVersions,
        only_if_latest: bool,
    ) -> Result<CheckpointConfig> {
        let mut threads = self.write();
        Self::put_locked(&mut threads, config, checkpoint, metadata, new_versions, only_if_latest)
    }

    fn put_locked(
        threads: &mut HashMap<String, Thread>,
        config: &CheckpointConfig,
        checkpoint: &Checkpoint,
        metadata: &CheckpointMetadata,
        new_versions: &ChannelVersions,
        only_if_latest: bool,
    ) -> Result<CheckpointConfig> {
        let blobs = new_versions.iter().map(|(c, &v)| (c.clone(), v, checkpoint.channel_values.get(c).cloned()));
        let stored = || Stored { header: CheckpointHeader::of(checkpoint), metadata: metadata.clone(), parent: None };
        Self::store(threads, config, checkpoint.id, stored, blobs, only_if_latest)?;
        Ok(CheckpointConfig {
            thread_id: config.thread_id.clone(),
            checkpoint_ns: config.checkpoint_ns.clone(),
            checkpoint_id: Some(checkpoint.id),
        })
    }

    /// `put_locked` with everything given by value: the header and the values are moved in.
    fn put_owned(
        threads: &mut HashMap<String, Thread>,
        config: &CheckpointConfig,
        checkpoint: Checkpoint,
        metadata: CheckpointMetadata,
        new_versions: ChannelVersions,
        only_if_latest: bool,
    ) -> Result<()> {
        let Checkpoint { v, id, ts, mut channel_values, channel_versions, versions_seen, updated_channels } =
            checkpoint;
        let blobs = new_versions.into_iter().map(move |(c, version)| {
            let value = channel_values.remove(&c);
            (c, version, value)
        });
        let header = CheckpointHeader { v, ts, channel_versions, versions_seen, updated_channels };
        Self::store(threads, config, id, || Stored { header, metadata, parent: None }, blobs, only_if_latest)
    }

    /// Stores a checkpoint (after the `put_next` check) and its new blobs.
    fn store(
        threads: &mut HashMap<String, Thread>,
        config: &CheckpointConfig,
        id: CheckpointId,
        stored: impl FnOnce() -> Stored,
        blobs: impl Iterator<Item = (String, u64, Option<Value>)>,
        only_if_latest: bool,
    ) -> Result<()> {
        if only_if_latest {
            let latest = threads
                .get(&config.thread_id)
                .and_then(|t| t.checkpoints.get(&config.checkpoint_ns))
                .and_then(|c| c.last_key_value())
                .map(|(&id, _)| id);
            if latest != config.checkpoint_id {
                return Err(Error::conflict(config, latest));
            }
        }
        let stored = Stored { parent: config.checkpoint_id, ..stored() };
        // Look up before inserting: `entry` would allocate the key every time.
        let thread = match threads.get_mut(&config.thread_id) {
            Some(t) => t,
            None => threads.entry(config.thread_id.clone()).or_default(),
        };
        for (channel, version, value) in blobs {
            let tip_key = (config.checkpoint_ns.clone(), channel);
            let blob = match value {
                Some(Value::Array(list)) => {
                    let tip = thread.tips.get_mut(&tip_key);
                    match tip.as_ref().and_then(|t| t.extend(&list)) {
                        Some(items) => {
                            let tip = tip.expect("extend came from the tip");
                            tip.tail = items.clone();
                            tip.appended += 1;
                            Blob::Appended { base: tip.base.clone(), items }
                        }
                        None => {
                            let tip = Tip { base: list.clone(), tail: Arc::new([]), appended: 0 };
                            thread.tips.insert(tip_key.clone(), tip);
                            Blob::Value(Value::Array(list))
                        }
                    }
                }
                other => {
                    thread.tips.remove(&tip_key);
                    other.map_or(Blob::Empty, Blob::Value)
                }
            };
            let (ns, channel) = tip_key;
            thread.blobs.insert((ns, channel, version), blob);
        }
        let checkpoints = match thread.checkpoints.get_mut(&config.checkpoint_ns) {
            Some(c) => c,
            None => thread.checkpoints.entry(config.checkpoint_ns.clone()).or_default(),
        };
        checkpoints.insert(id, Box::new(stored));
        Ok(())
    }

    fn put_writes_sync(
        &self,
        config: &CheckpointConfig,
        writes: &[(String, Value)],
        task_id: &str,
        task_path: &str,
    ) -> Result<()> {
        let mut threads = self.write();
        Self::put_writes_locked(&mut threads, config, writes, task_id, task_path)
    }

    fn put_writes_locked(
        threads: &mut HashMap<String, Thread>,
        config: &CheckpointConfig,
        writes: &[(String, Value)],
        task_id: &str,
        task_path: &str,
    ) -> Result<()> {
        let writes = writes.iter().map(|(c, v)| (c.clone(), v.clone()));
        Self::store_writes(threads, config, writes, task_id.to_owned(), task_path.to_owned())
    }

    /// Stores a task's writes, given by value (the id and path too: they are kept once per task).
    fn store_writes(
        threads: &mut HashMap<String, Thread>,
        config: &CheckpointConfig,
        writes: impl Iterator<Item = (String, Value)>,
        task_id: String,
        task_path: String,
    ) -> Result<()> {
        let id = config.require_checkpoint_id()?;
        let thread = match threads.get_mut(&config.thread_id) {
            Some(t) => t,
            None => threads.entry(config.thread_id.clone()).or_default(),
        };
        let stored = thread.writes.entry((config.checkpoint_ns.clone(), id)).or_default();
        let task = stored.task(task_id, task_path);
        for (i, (channel, value)) in writes.enumerate() {
            let special = special_write_idx(&channel);
            CheckpointWrites::insert(task, special.unwrap_or(i as i64), channel, value, special.is_some());
        }
        Ok(())
    }

    fn prune_sync(&self, thread_ids: &[String], strategy: PruneStrategy) {
        let mut threads = self.write();
        for thread_id in thread_ids {
            match strategy {
                PruneStrategy::DeleteAll => {
                    threads.remove(thread_id);
                }
                PruneStrategy::KeepLatest => {
                    let Some(thread) = threads.get_mut(thread_id) else { continue };
                    for checkpoints in thread.checkpoints.values_mut() {
                        if let Some(latest) = checkpoints.keys().next_back().copied() {
                            checkpoints.retain(|id, _| *id == latest);
                        }
                    }
                    let checkpoints = &thread.checkpoints;
                    let kept = |ns: &String, id: &CheckpointId| checkpoints.get(ns).is_some_and(|c| c.contains_key(id));
                    thread.writes.retain(|(ns, id), _| kept(ns, id));
                    thread.blobs.retain(|(ns, channel, version), _| {
                        checkpoints.get(ns).is_some_and(|c| {
                            c.values().any(|s| s.header.channel_versions.get(channel) == Some(version))
                        })
                    });
                }
            }
        }
    }
}

impl Checkpointer for InMemorySaver {
    fn get_tuple<'a>(&'a self, config: &'a CheckpointConfig) -> BoxFuture<'a, Result<Option<CheckpointTuple>>> {
        Box::pin(async move { self.get_tuple_sync(config) })
    }

    fn list<'a>(&'a self, filter: &'a ListFilter) -> BoxFuture<'a, Result<Vec<CheckpointTuple>>> {
        Box::pin(async move { self.list_sync(filter) })
    }

    fn put<'a>(
        &'a self,
        config: &'a CheckpointConfig,
        checkpoint: &'a Checkpoint,
        metadata: &'a CheckpointMetadata,
        new_versions: &'a ChannelVersions,
    ) -> BoxFuture<'a, Result<CheckpointConfig>> {
        Box::pin(async move { self.put_sync(config, checkpoint, metadata, new_versions, false) })
    }

    fn put_next<'a>(
        &'a self,
        config: &'a CheckpointConfig,
        checkpoint: &'a Checkpoint,
        metadata: &'a CheckpointMetadata,
        new_versions: &'a ChannelVersions,
    ) -> BoxFuture<'a, Result<CheckpointConfig>> {
        Box::pin(async move { self.put_sync(config, checkpoint, metadata, new_versions, true) })
    }

    fn put_writes<'a>(
        &'a self,
        config: &'a CheckpointConfig,
        writes: &'a [(String, Value)],
        task_id: &'a str,
        task_path: &'a str,
    ) -> BoxFuture<'a, Result<()>> {
        Box::pin(async move { self.put_writes_sync(config, writes, task_id, task_path) })
    }

    /// Under one write lock: no reader sees half a batch, and `put_next` checks see the earlier
    /// puts of the batch.
    fn save_batch<'a>(&'a self, ops: &'a [SaveOp]) -> BoxFuture<'a, Result<()>> {
        Box::pin(async move {
            let mut threads = self.write();
            for op in ops {
                match op {
                    SaveOp::Put { config, checkpoint, metadata, new_versions, only_if_latest } => {
                        Self::put_locked(&mut threads, config, checkpoint, metadata, new_versions, *only_if_latest)?;
                    }
                    SaveOp::PutWrites { config, writes, task_id, task_path } => {
                        Self::put_writes_locked(&mut threads, config, writes, task_id, task_path)?;
                    }
                }
            }
            Ok(())
        })
    }

    /// As `save_batch`, moving the checkpoints, values and writes in instead of copying them.
    fn save_batch_owned(&self, ops: Vec<SaveOp>) -> BoxFuture<'_, Result<()>> {
        Box::pin(async move {
            let mut threads = self.write();
            for op in ops {
                match op {
                    SaveOp::Put { config, checkpoint, metadata, new_versions, only_if_latest } => {
                        Self::put_owned(&mut threads, &config, *checkpoint, metadata, new_versions, only_if_latest)?;
                    }
                    SaveOp::PutWrites { config, writes, task_id, task_path } => {
                        Self::store_writes(&mut threads, &config, writes.into_iter(), task_id, task_path)?;
                    }
                }
            }
            Ok(())
        })
    }

    /// Always: a save is a few map inserts under a lock.
    fn saves_inline(&self) -> bool {
        true
    }

    fn delete_thread<'a>(&'a self, thread_id: &'a str) -> BoxFuture<'a, Result<()>> {
        Box::pin(async move {
            self.write().remove(thread_id);
            Ok(())
        })
    }

    fn copy_thread<'a>(&'a self, source: &'a str, target: &'a str) -> BoxFuture<'a, Result<()>> {
        Box::pin(async move {
            let mut threads = self.write();
            // Values are shared, so the copy costs pointers only.
            if let Some(src) = threads.get(source).cloned() {
                let dst = threads.entry(target.to_owned()).or_default();
                for (ns, checkpoints) in src.checkpoints {
                    dst.checkpoints.entry(ns).or_default().extend(checkpoints);
                }
                dst.blobs.extend(src.blobs);
                for (key, writes) in src.writes {
                    let stored = dst.writes.entry(key).or_default();
                    for t in writes.tasks {
                        let task = stored.task(t.task_id, t.task_path);
                        for (idx, channel, value) in t.writes {
                            CheckpointWrites::insert(task, idx, channel, value, true);
                        }
                    }
                }
            }
            Ok(())
        })
    }

    fn prune<'a>(&'a self, thread_ids: &'a [String], strategy: PruneStrategy) -> BoxFuture<'a, Result<()>> {
        Box::pin(async move {
            self.prune_sync(thread_ids, strategy);
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::CheckpointSource;

    fn put(saver: &InMemorySaver, parent: &CheckpointConfig, version: u64, value: Value) -> CheckpointConfig {
        let mut cp = Checkpoint::empty();
        cp.channel_values.insert("messages".into(), value);
        cp.channel_versions.insert("messages".into(), version);
        let versions = cp.channel_versions.clone();
        let metadata = CheckpointMetadata::new(CheckpointSource::Loop, version as i64);
        let mut threads = saver.write();
        InMemorySaver::put_owned(&mut threads, parent, cp.clone(), metadata, versions, false).unwrap();
        CheckpointConfig { checkpoint_id: Some(cp.id), ..parent.clone() }
    }

    fn value_at(saver: &InMemorySaver, config: &CheckpointConfig) -> Value {
        saver.get_tuple_sync(config).unwrap().unwrap().checkpoint.channel_values["messages"].clone()
    }

    fn blob_kinds(saver: &InMemorySaver) -> (usize, usize) {
        let threads = saver.read();
        let blobs = &threads["t"].blobs;
        let appended = blobs.values().filter(|b| matches!(b, Blob::Appended { .. })).count();
        (blobs.len() - appended, appended)
    }

    #[test]
    fn a_growing_list_is_stored_as_added_items_and_reads_back_whole_at_every_version() {
        let saver = InMemorySaver::new();
        let mut config = CheckpointConfig::thread("t");
        let mut live: Vec<Value> = Vec::new();
        let mut configs = Vec::new();
        for step in 0..100u64 {
            live.push(Value::from(format!("message {step}")));
            config = put(&saver, &config, step + 1, Value::from(live.clone()));
            configs.push((config.clone(), live.len()));
        }
        for (config, len) in &configs {
            let items = value_at(&saver, config);
            let items = items.as_array().unwrap();
            assert_eq!(items.len(), *len);
            assert_eq!(items.last().unwrap(), &Value::from(format!("message {}", len - 1)));
        }
        // Whole copies only every `MAX_APPENDED + 1` versions; the rest hold the items they add.
        let (whole, appended) = blob_kinds(&saver);
        assert_eq!(whole, 100_usize.div_ceil(MAX_APPENDED as usize + 1));
        assert_eq!(whole + appended, 100);
    }

    #[test]
    fn a_list_that_does_not_extend_the_stored_one_is_stored_whole() {
        let saver = InMemorySaver::new();
        let a = Value::from("a");
        let config = put(&saver, &CheckpointConfig::thread("t"), 1, Value::from(vec![a.clone(), Value::from("b")]));
        // Same length and equal items, but a different first item object: not an extension.
        let changed = Value::from(vec![Value::from("a"), Value::from("b"), Value::from("c")]);
        let config2 = put(&saver, &config, 2, changed.clone());
        // Shorter: a list that lost items.
        let config3 = put(&saver, &config2, 3, Value::from(vec![a.clone()]));
        // Then a real extension of that one, then a non-list, then a list again.
        let config4 = put(&saver, &config3, 4, Value::from(vec![a.clone(), Value::from(7)]));
        let config5 = put(&saver, &config4, 5, Value::from("text"));
        let config6 = put(&saver, &config5, 6, Value::from(vec![a.clone()]));
        assert_eq!(blob_kinds(&saver), (5, 1));
        assert_eq!(value_at(&saver, &config), Value::from(vec![a.clone(), Value::from("b")]));
        assert_eq!(value_at(&saver, &config2), changed);
        assert_eq!(value_at(&saver, &config3), Value::from(vec![a.clone()]));
        assert_eq!(value_at(&saver, &config4), Value::from(vec![a.clone(), Value::from(7)]));
        assert_eq!(value_at(&saver, &config5), Value::from("text"));
        assert_eq!(value_at(&saver, &config6), Value::from(vec![a]));
    }

    #[test]
    fn the_live_list_is_not_shared_with_the_saver_between_whole_copies() {
        // The engine appends to its list in place when nobody else holds it; a saver that kept
        // every version's list would force a copy of the whole list at every step.
        let saver = InMemorySaver::new();
        let mut config = CheckpointConfig::thread("t");
        let mut live = Arc::new(vec![Value::from("first")]);
        config = put(&saver, &config, 1, Value::Array(live.clone()));
        assert_eq!(Arc::strong_count(&live), 3, "stored whole: the blob and the tip share it");
        Arc::make_mut(&mut live).push(Value::from("second"));
        for version in 2..10 {
            config = put(&saver, &config, version, Value::Array(live.clone()));
            assert_eq!(Arc::strong_count(&live), 1, "version {version} holds only the added items");
            Arc::get_mut(&mut live).unwrap().push(Value::from(format!("item {version}")));
        }
        assert_eq!(value_at(&saver, &config).as_array().unwrap().len(), 9);
    }

    #[test]
    fn prune_and_copy_keep_appended_versions_readable() {
        let saver = InMemorySaver::new();
        let mut config = CheckpointConfig::thread("t");
        let mut live = Vec::new();
        for version in 1..=5 {
            live.push(Value::from(version as i64));
            config = put(&saver, &config, version, Value::from(live.clone()));
        }
        futures::executor::block_on(saver.copy_thread("t", "u")).unwrap();
        saver.prune_sync(&["t".to_owned()], PruneStrategy::KeepLatest);
        assert_eq!(value_at(&saver, &config), Value::from(live.clone()));
        let copied = CheckpointConfig { thread_id: "u".into(), ..config };
        assert_eq!(value_at(&saver, &copied), Value::from(live));
    }

    #[test]
    fn writes_of_many_tasks_are_kept_once_each_and_special_ones_replaced() {
        let saver = InMemorySaver::new();
        let config = put(&saver, &CheckpointConfig::thread("t"), 1, Value::from(1));
        for round in 0..2 {
            // More tasks than the unindexed scan handles, saved twice: the second save of an
            // ordinary write is a no-op, an error write is replaced.
            for task in 0..(INDEX_TASKS * 3) {
                let writes = vec![
                    ("out".to_owned(), Value::from(format!("{task} round {round}"))),
                    (crate::types::ERROR.to_owned(), Value::from(round)),
                ];
                saver.put_writes_sync(&config, &writes, &format!("task-{task:03}"), "path").unwrap();
            }
        }
        let pending = saver.get_tuple_sync(&config).unwrap().unwrap().pending_writes;
        assert_eq!(pending.len(), INDEX_TASKS * 3 * 2);
        for (task, pair) in pending.chunks(2).enumerate() {
            assert_eq!(pair[0].task_id, format!("task-{task:03}"));
            assert_eq!(pair[0].channel, crate::types::ERROR, "special writes sort first (negative idx)");
            assert_eq!(pair[0].value, Value::from(1));
            assert_eq!(pair[1].value, Value::from(format!("{task} round 0")));
        }
    }

    #[test]
    fn a_task_whose_id_hash_is_taken_by_another_is_still_found() {
        let mut writes = CheckpointWrites::default();
        for t in 0..=INDEX_TASKS {
            writes.task(format!("task-{t}"), String::new());
        }
        // Pretend "task-1" hashes like "task-0": the index points at task-0, the scan finds task-1.
        let index = writes.index.as_mut().expect("indexed past INDEX_TASKS tasks");
        index.insert(id_hash("task-1"), 0);
        assert_eq!(writes.find("task-1"), Some(1));
        assert_eq!(writes.find("task-0"), Some(0));
        assert_eq!(writes.find("nobody"), None);
        writes.task("task-1".into(), String::new());
        assert_eq!(writes.tasks.len(), INDEX_TASKS + 1, "found, not added again");
    }

    #[test]
    fn an_appended_list_keeps_negative_zero_and_extends_over_host_objects() {
        struct Host;
        impl stategraph_value::HostValue for Host {
            fn to_json(&self) -> serde_json::Value {
                serde_json::json!("host")
            }
            fn type_name(&self) -> String {
                "Host".into()
            }
            fn as_any(&self) -> &dyn std::any::Any {
                self
            }
        }
        let saver = InMemorySaver::new();
        let host = Value::Foreign(stategraph_value::Foreign::new(Host));
        let config = put(&saver, &CheckpointConfig::thread("t"), 1, Value::from(vec![host.clone(), Value::from(0.0)]));
        // -0.0 where the stored list has 0.0: not that list extended, so stored whole.
        let mut items = vec![host.clone(), Value::from(-0.0), Value::from(1)];
        let config2 = put(&saver, &config, 2, Value::from(items.clone()));
        let second = value_at(&saver, &config2).as_array().unwrap()[1].as_f64().unwrap();
        assert!(second == 0.0 && second.is_sign_negative(), "-0.0 read back as {second}");
        // The same host object and items, one more: stored as the item it adds.
        items.push(Value::from(2));
        let config3 = put(&saver, &config2, 3, Value::from(items.clone()));
        assert_eq!(blob_kinds(&saver), (2, 1));
        let back = value_at(&saver, &config3);
        let back = back.as_array().unwrap();
        assert_eq!(back.len(), 4);
        assert!(matches!((&back[0], &host), (Value::Foreign(x), Value::Foreign(y)) if x.ptr_eq(y)));
    }
}
