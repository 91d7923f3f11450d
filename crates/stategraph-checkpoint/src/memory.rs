//! `InMemorySaver`: checkpoints in a map, for tests and for runs that need no durability.

use std::collections::{BTreeMap, HashMap};
use std::sync::{RwLock, RwLockReadGuard, RwLockWriteGuard};

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
    checkpoints: BTreeMap<String, BTreeMap<CheckpointId, Stored>>,
    /// (ns, channel, version) → value (`None`: the channel held no value at that version).
    blobs: HashMap<(String, String, u64), Option<Value>>,
    /// (ns, checkpoint id) → (task id, idx) → write.
    writes: HashMap<(String, CheckpointId), BTreeMap<(String, i64), PendingWrite>>,
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
                Some(Some(v)) => {
                    values.insert(channel.clone(), v.clone());
                }
                Some(None) => {}
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
        let mut pending_writes: Vec<PendingWrite> =
            thread.writes.get(&(ns.to_owned(), id)).map(|w| w.values().cloned().collect()).unwrap_or_default();
        pending_writes.sort_by(|a, b| (&a.task_path, &a.task_id, a.idx).cmp(&(&b.task_path, &b.task_id, b.idx)));
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
            thread.blobs.insert((config.checkpoint_ns.clone(), channel, version), value);
        }
        let checkpoints = match thread.checkpoints.get_mut(&config.checkpoint_ns) {
            Some(c) => c,
            None => thread.checkpoints.entry(config.checkpoint_ns.clone()).or_default(),
        };
        checkpoints.insert(id, stored);
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
        Self::store_writes(threads, config, writes, task_id, task_path)
    }

    /// Stores a task's writes, given by value.
    fn store_writes(
        threads: &mut HashMap<String, Thread>,
        config: &CheckpointConfig,
        writes: impl Iterator<Item = (String, Value)>,
        task_id: &str,
        task_path: &str,
    ) -> Result<()> {
        let id = config.require_checkpoint_id()?;
        let thread = match threads.get_mut(&config.thread_id) {
            Some(t) => t,
            None => threads.entry(config.thread_id.clone()).or_default(),
        };
        let stored = thread.writes.entry((config.checkpoint_ns.clone(), id)).or_default();
        for (i, (channel, value)) in writes.enumerate() {
            let special = special_write_idx(&channel);
            let idx = special.unwrap_or(i as i64);
            let key = (task_id.to_owned(), idx);
            if special.is_none() && stored.contains_key(&key) {
                continue;
            }
            let write =
                PendingWrite { task_id: task_id.to_owned(), channel, value, task_path: task_path.to_owned(), idx };
            stored.insert(key, write);
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
                        Self::store_writes(&mut threads, &config, writes.into_iter(), &task_id, &task_path)?;
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
                    dst.writes.entry(key).or_default().extend(writes);
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
