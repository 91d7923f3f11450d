//! The engine's checkpoint ↔ the stored one ([`stategraph_checkpoint::Checkpoint`]), and the
//! queue that hands a run's checkpoints and writes to the checkpointer in the order the
//! durability mode asks for.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use stategraph_checkpoint::{
    ChannelVersions, Checkpoint as Stored, CheckpointConfig, CheckpointId, CheckpointMetadata, Checkpointer, ERROR,
    INTERRUPT, PendingWrite, RESUME, SaveOp,
};
use tokio::sync::{mpsc, oneshot};

use super::algo::{Checkpoint, TaskPath, TaskWrites};
use crate::channels::Channel;
use crate::graph::compiled::{ChannelId, ChannelRole, GraphInner, NodeId};
use crate::types::Durability;
use crate::value::{Map, Value};
use crate::{Error, Result};

/// The task id of writes that belong to no task (a resume value, an update given as input).
pub(crate) const NULL_TASK_ID: &str = "00000000-0000-0000-0000-000000000000";
/// The marker a task that wrote nothing stores, so a resume knows it finished.
pub(crate) const NO_WRITES: &str = "__no_writes__";

/// The stored form of the engine's checkpoint, kept small so a step costs what it changed, not
/// what the graph has:
/// - values and versions of the state keys, and of engine channels only while they hold a value
///   (an edge channel that was consumed is left out: missing reads as empty, version 0);
/// - what a node has seen only for the nodes in `ran` (the last step's: they name the last writer
///   for `update_state`) and for nodes whose trigger holds a value (where seen versions decide
///   whether the node runs). For any other node the seen versions cannot matter: its triggers are
///   empty, and they get a version above every stored one when they are written again (restore
///   starts the version counter above every stored version *and* seen version).
///
/// LangGraph stores every channel's version and every node's seen versions at every step, which
/// makes a step cost O(nodes); a 1,000-node sequence then costs O(n²).
pub(crate) fn to_stored(
    g: &GraphInner,
    channels: &[Box<dyn Channel>],
    cp: &Checkpoint,
    updated: &[ChannelId],
    ran: &[NodeId],
) -> Stored {
    let mut out = Stored::with_id(CheckpointId::from_uuid(cp.id));
    for (ch, def) in g.channels.iter().enumerate() {
        let value = channels[ch].checkpoint();
        if cp.versions[ch] > 0 && (def.role != ChannelRole::Internal || value.is_some()) {
            out.channel_versions.insert(String::from(&*def.name), cp.versions[ch]);
        }
        if let Some(v) = value {
            out.channel_values.insert(String::from(&*def.name), v);
        }
    }
    for (n, node) in g.nodes.iter().enumerate() {
        let relevant = ran.contains(&n) || node.triggers.iter().any(|&ch| channels[ch].is_available());
        if !relevant {
            continue;
        }
        store_seen(g, cp, n, &mut out);
    }
    finish_stored(g, cp, updated, &mut out);
    out
}

/// What [`Persistence::stored`] built last: the channel versions it saw, which channels are in
/// the stored versions map, and which held a value. The next build revisits only the channels
/// whose version moved. The engine bumps a channel's version whenever its value changes (update,
/// consume, finish, the clearing of a step-scoped channel), so the other channels' entries are
/// still right.
#[derive(Debug, Default)]
pub(crate) struct StoredCache {
    versions: Vec<u64>,
    channel_versions: ChannelVersions,
    with_value: Vec<ChannelId>,
}

/// [`to_stored`], in O(channels whose version changed + channels holding a value + nodes they
/// trigger) rather than O(all channels + all nodes): a 1,000-node sequence paid ~60 k
/// instructions per step for the full scan, 40% of its run.
fn to_stored_cached(
    g: &GraphInner,
    channels: &[Box<dyn Channel>],
    cp: &Checkpoint,
    updated: &[ChannelId],
    ran: &[NodeId],
    cache: &mut StoredCache,
) -> Stored {
    if cache.versions.len() != cp.versions.len() {
        // First build: every channel counts as moved.
        *cache = StoredCache { versions: vec![u64::MAX; cp.versions.len()], ..StoredCache::default() };
    }
    for (ch, (&now, was)) in cp.versions.iter().zip(cache.versions.iter_mut()).enumerate() {
        if now == *was {
            continue;
        }
        *was = now;
        let def = &g.channels[ch];
        let available = channels[ch].checkpoint().is_some();
        if now > 0 && (def.role != ChannelRole::Internal || available) {
            cache.channel_versions.insert(String::from(&*def.name), now);
        } else {
            cache.channel_versions.remove(&*def.name);
        }
        match (cache.with_value.binary_search(&ch), available) {
            (Err(at), true) => cache.with_value.insert(at, ch),
            (Ok(at), false) => {
                cache.with_value.remove(at);
            }
            _ => {}
        }
    }
    let mut out = Stored::with_id(CheckpointId::from_uuid(cp.id));
    out.channel_versions = cache.channel_versions.clone();
    let mut relevant: Vec<NodeId> = ran.to_vec();
    for &ch in &cache.with_value {
        if let Some(v) = channels[ch].checkpoint() {
            out.channel_values.insert(String::from(&*g.channels[ch].name), v);
        }
        if channels[ch].is_available() {
            relevant.extend_from_slice(&g.trigger_to_nodes[ch]);
        }
    }
    relevant.sort_unstable();
    relevant.dedup();
    for n in relevant {
        store_seen(g, cp, n, &mut out);
    }
    finish_stored(g, cp, updated, &mut out);
    out
}

/// The interrupt-seen versions and the updated channels of a stored checkpoint.
/// Stores the versions node `n` has seen of its triggers (none stored when it saw none).
fn store_seen(g: &GraphInner, cp: &Checkpoint, n: NodeId, out: &mut Stored) {
    let node = &g.nodes[n];
    let seen: ChannelVersions = node
        .triggers
        .iter()
        .zip(&cp.seen[n])
        .filter(|(_, v)| **v > 0)
        .map(|(&ch, &v)| (String::from(&*g.channels[ch].name), v))
        .collect();
    if !seen.is_empty() {
        out.versions_seen.insert(String::from(&*node.name), seen);
    }
}

fn finish_stored(g: &GraphInner, cp: &Checkpoint, updated: &[ChannelId], out: &mut Stored) {
    if !cp.interrupt_seen.is_empty() {
        let seen: ChannelVersions = cp
            .interrupt_seen
            .iter()
            .enumerate()
            .filter(|(ch, v)| **v > 0 && out.channel_versions.contains_key(&*g.channels[*ch].name))
            .map(|(ch, &v)| (g.channels[ch].name.to_string(), v))
            .collect();
        out.versions_seen.insert(INTERRUPT.to_owned(), seen);
    }
    let mut names: Vec<String> = updated.iter().map(|&ch| String::from(&*g.channels[ch].name)).collect();
    names.sort();
    names.dedup();
    out.updated_channels = Some(names);
}

/// Rebuilds channels and the engine's checkpoint from a stored one. Channels the graph no longer
/// has are ignored (a graph may change between runs of a thread); new ones start empty.
pub(crate) fn restore(g: &GraphInner, stored: &Stored) -> (Vec<Box<dyn Channel>>, Checkpoint) {
    let mut channels = g.new_channels();
    let mut cp = Checkpoint::new(g);
    cp.id = *stored.id.as_uuid();
    for (name, value) in &stored.channel_values {
        if let Some(ch) = g.channel(name) {
            channels[ch].restore(value.clone());
        }
    }
    for (name, &v) in &stored.channel_versions {
        if let Some(ch) = g.channel(name) {
            cp.versions[ch] = v;
        }
        cp.max_version = cp.max_version.max(v);
    }
    for (n, node) in g.nodes.iter().enumerate() {
        if let Some(seen) = stored.versions_seen.get(&*node.name) {
            for (i, &ch) in node.triggers.iter().enumerate() {
                cp.seen[n][i] = seen.get(&*g.channels[ch].name).copied().unwrap_or(0);
            }
        }
    }
    // New versions must exceed every version a stored node saw, also of channels left out.
    for seen in stored.versions_seen.values() {
        for &v in seen.values() {
            cp.max_version = cp.max_version.max(v);
        }
    }
    if let Some(seen) = stored.versions_seen.get(INTERRUPT) {
        cp.interrupt_seen = vec![0; g.channels.len()];
        for (name, &v) in seen {
            if let Some(ch) = g.channel(name) {
                cp.interrupt_seen[ch] = v;
            }
        }
    }
    cp.live_scoped =
        (0..channels.len()).filter(|&ch| g.channels[ch].step_scoped && channels[ch].is_available()).collect();
    (channels, cp)
}

/// Nodes that have seen anything (after a restore: the nodes the stored checkpoint kept).
pub(crate) fn nodes_with_seen(cp: &Checkpoint) -> Vec<NodeId> {
    cp.seen.iter().enumerate().filter(|(_, s)| s.iter().any(|&v| v > 0)).map(|(n, _)| n).collect()
}

/// The stored channel versions that differ from `saved` (what a `put` must store blobs for).
pub(crate) fn new_versions(g: &GraphInner, stored: &Stored, saved: &[u64]) -> ChannelVersions {
    stored
        .channel_versions
        .iter()
        .filter(|(name, v)| g.channel(name).is_none_or(|ch| saved.get(ch).copied().unwrap_or(0) != **v))
        .map(|(name, &v)| (name.clone(), v))
        .collect()
}

/// What one task left under a checkpoint: its pending writes, read back. The run loop (which
/// tasks need not run again), `get_state` and the `checkpoints` stream all read them the same way.
pub(crate) struct TaskRecord<'a> {
    writes: Vec<&'a PendingWrite>,
}

impl<'a> TaskRecord<'a> {
    pub(crate) fn of(pending: &'a [PendingWrite], task_id: &str) -> Self {
        TaskRecord { writes: pending.iter().filter(|w| w.task_id == task_id).collect() }
    }

    /// The error it failed with (`{"type", "message"}`).
    pub(crate) fn error(&self) -> Option<&'a Value> {
        self.writes.iter().find(|w| w.channel == ERROR).map(|w| &w.value)
    }

    /// The interrupts it is waiting on, as stored (`{"value", "id", "response_schema"}`).
    pub(crate) fn interrupts(&self) -> Vec<Value> {
        interrupt_values(self.writes.iter().copied())
    }

    /// Its writes to state keys.
    pub(crate) fn state_writes(&self, g: &GraphInner) -> Map {
        self.writes
            .iter()
            .filter(|w| g.channel(&w.channel).is_some_and(|c| g.channels[c].role != ChannelRole::Internal))
            .map(|w| (Arc::from(w.channel.as_str()), w.value.clone()))
            .collect()
    }

    /// Its writes, if it finished (no error, no interrupt, and more than consumed resume values).
    pub(crate) fn finished(&self, g: &GraphInner, path: &TaskPath, node: NodeId) -> Option<TaskWrites> {
        if self.writes.iter().any(|w| w.channel == ERROR || w.channel == INTERRUPT)
            || self.writes.iter().all(|w| w.channel == RESUME)
        {
            return None;
        }
        let writes = self.writes.iter().filter_map(|w| g.channel(&w.channel).map(|c| (c, w.value.clone()))).collect();
        Some(TaskWrites { path: path.clone(), node: Some(node), pull: matches!(path, TaskPath::Pull(_)), writes })
    }
}

/// The interrupts stored in `__interrupt__` writes (each holds a list).
pub(crate) fn interrupt_values<'a>(writes: impl Iterator<Item = &'a PendingWrite>) -> Vec<Value> {
    writes
        .filter(|w| w.channel == INTERRUPT)
        .flat_map(|w| w.value.as_array().map(|a| a.to_vec()).unwrap_or_default())
        .collect()
}

/// One write to store: a task's writes, under the checkpoint its step started from.
pub(crate) struct TaskWritesRecord {
    pub(crate) task_id: String,
    pub(crate) task_path: String,
    pub(crate) writes: Vec<(String, Value)>,
}

/// What one run stores: the checkpointer, the thread, the last checkpoint saved (the parent of
/// the next and the owner of the step's writes), and the background queue of `async` durability.
pub(crate) struct Persistence {
    pub(crate) saver: Arc<dyn Checkpointer>,
    pub(crate) thread_id: String,
    pub(crate) ns: String,
    pub(crate) durability: Durability,
    /// The latest checkpoint of this run (saved, or queued to be saved).
    pub(crate) config: Option<CheckpointConfig>,
    /// The checkpoint `config`'s was made from (for `checkpoints` events).
    pub(crate) parent_config: Option<CheckpointConfig>,
    /// Metadata of the checkpoint `config` names.
    pub(crate) metadata: Option<CheckpointMetadata>,
    /// Channel versions as of the last checkpoint handed to the saver.
    pub(crate) saved_versions: Vec<u64>,
    /// Namespace → checkpoint id of enclosing graphs (stored in metadata `parents`).
    pub(crate) parents: BTreeMap<String, String>,
    /// Whether puts must find the parent still the thread's latest checkpoint (one runner per
    /// thread). Off after a fork, whose parent is not the latest by design.
    pub(crate) guard: bool,
    /// What the last [`stored`](Persistence::stored) built, so the next one costs what changed.
    stored_cache: StoredCache,
    /// `async` durability: the bounded queue of the writer task (this run's, or the root run's
    /// when this is a nested run on the same checkpointer).
    queue: Option<SaveQueue>,
    /// `exit` durability: the last checkpoint and the writes made after it, saved at the end.
    exit_checkpoint: Option<(Stored, CheckpointMetadata, Option<CheckpointConfig>)>,
    /// `exit` durability: whether the final save must find its parent still the latest (not
    /// when the run's first checkpoint was a fork).
    exit_guard: bool,
    exit_writes: Vec<TaskWritesRecord>,
}

impl Persistence {
    pub(crate) fn new(saver: Arc<dyn Checkpointer>, thread_id: String, ns: String, durability: Durability) -> Self {
        Persistence {
            saver,
            thread_id,
            ns,
            durability,
            config: None,
            parent_config: None,
            metadata: None,
            saved_versions: Vec::new(),
            parents: BTreeMap::new(),
            guard: true,
            stored_cache: StoredCache::default(),
            queue: None,
            exit_checkpoint: None,
            exit_guard: true,
            exit_writes: Vec::new(),
        }
    }

    /// The stored form of the run's checkpoint (as [`to_stored`] builds it, from what changed
    /// since the previous call).
    pub(crate) fn stored(
        &mut self,
        g: &GraphInner,
        channels: &[Box<dyn Channel>],
        cp: &Checkpoint,
        updated: &[ChannelId],
        ran: &[NodeId],
    ) -> Stored {
        let out = to_stored_cached(g, channels, cp, updated, ran, &mut self.stored_cache);
        debug_assert_eq!(out, to_stored(g, channels, cp, updated, ran), "incremental stored checkpoint");
        out
    }

    fn base_config(&self) -> CheckpointConfig {
        CheckpointConfig { thread_id: self.thread_id.clone(), checkpoint_ns: self.ns.clone(), checkpoint_id: None }
    }

    /// Saves a checkpoint (now, queued, or at exit, per durability); it becomes the parent of
    /// the next one and the owner of the next step's writes.
    pub(crate) async fn put(
        &mut self,
        stored: Stored,
        metadata: CheckpointMetadata,
        new_versions: ChannelVersions,
        versions: &[u64],
    ) -> Result<()> {
        let parent = self.config.clone().unwrap_or_else(|| self.base_config());
        let next = CheckpointConfig { checkpoint_id: Some(stored.id), ..parent.clone() };
        let guard = self.guard;
        self.guard = true;
        self.parent_config = parent.checkpoint_id.map(|_| parent.clone());
        self.metadata = Some(metadata.clone());
        match self.durability {
            Durability::Exit => {
                // Keep the parent of the first checkpoint of the run: the final one hangs there.
                let first_parent = match self.exit_checkpoint.take() {
                    Some((_, _, p)) => p,
                    None => {
                        self.exit_guard = guard;
                        Some(parent).filter(|p| p.checkpoint_id.is_some())
                    }
                };
                self.exit_checkpoint = Some((stored, metadata, first_parent));
                self.exit_writes.clear();
            }
            Durability::Sync => {
                put_one(&*self.saver, &parent, &stored, &metadata, &new_versions, guard).await?;
                self.saved_versions.clear();
                self.saved_versions.extend_from_slice(versions);
            }
            Durability::Async => {
                self.saved_versions.clear();
                self.saved_versions.extend_from_slice(versions);
                let op = SaveOp::Put {
                    config: parent,
                    checkpoint: Box::new(stored),
                    metadata,
                    new_versions,
                    only_if_latest: guard,
                };
                self.enqueue(op).await?;
            }
        }
        self.config = Some(next);
        Ok(())
    }

    /// Saves a task's writes under the current checkpoint.
    pub(crate) async fn put_writes(&mut self, record: TaskWritesRecord) -> Result<()> {
        let Some(config) = self.config.clone() else {
            // Nothing saved yet (exit durability): the writes are saved with the final checkpoint.
            self.exit_writes.push(record);
            return Ok(());
        };
        match self.durability {
            Durability::Exit => self.exit_writes.push(record),
            Durability::Sync => {
                self.saver.put_writes(&config, &record.writes, &record.task_id, &record.task_path).await?;
            }
            Durability::Async => {
                let op = SaveOp::PutWrites {
                    config,
                    writes: record.writes,
                    task_id: record.task_id,
                    task_path: record.task_path,
                };
                self.enqueue(op).await?;
            }
        }
        Ok(())
    }

    /// The queue nested runs (subgraphs) of this run share, when they save to the same
    /// checkpointer with `async` durability: their saves then join this run's batches.
    pub(crate) fn queue_for_nested(&mut self) -> Option<SaveQueue> {
        if self.durability != Durability::Async || self.saver.saves_inline() {
            return None;
        }
        Some(self.queue().clone())
    }

    /// Uses the queue of the enclosing run, if it feeds the same checkpointer.
    pub(crate) fn share_queue(&mut self, queue: Option<&SaveQueue>) {
        if let Some(q) = queue.filter(|q| {
            self.durability == Durability::Async
                && std::ptr::eq(Arc::as_ptr(&q.saver) as *const (), Arc::as_ptr(&self.saver) as *const ())
        }) {
            self.queue = Some(q.clone());
        }
    }

    fn queue(&mut self) -> &SaveQueue {
        self.queue.get_or_insert_with(|| {
            let (tx, rx) = mpsc::channel(QUEUE_BOUND);
            let failed = Arc::new(AtomicBool::new(false));
            tokio::spawn(writer(self.saver.clone(), rx, failed.clone()));
            SaveQueue { tx, saver: self.saver.clone(), failed }
        })
    }

    /// Hands a save to the writer task (started on first use). The queue is bounded, so a run
    /// faster than its disk waits here instead of piling up checkpoints in memory. If a save
    /// failed, its error is returned now.
    async fn enqueue(&mut self, op: SaveOp) -> Result<()> {
        if self.saver.saves_inline() {
            // Nothing to overlap (an in-memory saver): store it now, on this task.
            return self.saver.save_batch_owned(vec![op]).await.map_err(engine_error);
        }
        let queue = self.queue();
        if queue.failed.load(Ordering::Acquire) || queue.tx.send(Msg::Save(op)).await.is_err() {
            self.flush().await?;
            return Err(writer_gone());
        }
        Ok(())
    }

    /// Waits until everything this run queued is saved (with what other runs sharing the queue
    /// queued before it); the first failure of the writer is returned.
    pub(crate) async fn flush(&mut self) -> Result<()> {
        let Some(queue) = self.queue.take() else { return Ok(()) };
        let (tx, rx) = oneshot::channel();
        if queue.tx.send(Msg::Flush(tx)).await.is_err() {
            return Err(writer_gone());
        }
        rx.await.unwrap_or_else(|_| Err(writer_gone()))
    }

    /// Ends the run: saves what `exit` durability kept back, and waits for the queue.
    pub(crate) async fn finish(&mut self, g: &GraphInner) -> Result<()> {
        self.flush().await?;
        if let Some((stored, metadata, parent)) = self.exit_checkpoint.take() {
            let parent = parent.unwrap_or_else(|| self.base_config());
            let versions: Vec<u64> =
                g.channels.iter().map(|c| stored.channel_versions.get(&*c.name).copied().unwrap_or(0)).collect();
            let nv = new_versions(g, &stored, &self.saved_versions);
            put_one(&*self.saver, &parent, &stored, &metadata, &nv, self.exit_guard).await?;
            self.saved_versions = versions;
        }
        if let (false, Some(config)) = (self.exit_writes.is_empty(), self.config.clone()) {
            for r in std::mem::take(&mut self.exit_writes) {
                self.saver.put_writes(&config, &r.writes, &r.task_id, &r.task_path).await?;
            }
        }
        Ok(())
    }
}

/// Saves waiting in the `async` queue before a run blocks on it. Subgraph runs share their root
/// run's queue, so it must hold a step of a wide fan-out: each batch is one transaction, and in
/// SQLite every transaction rewrites each page it touched (one per subgraph namespace), so 64
/// here made `fanout_to_subgraph_100x` pay ~45 transactions per run, 256 pays ~12 (−30% time).
const QUEUE_BOUND: usize = 256;
/// Most saves handed to the checkpointer in one batch (one transaction).
const MAX_BATCH: usize = 1024;

/// What the `async` writer is sent.
// Nearly every message is a save: boxing it would add an allocation per save.
#[allow(clippy::large_enum_variant)]
pub(crate) enum Msg {
    /// A save.
    Save(SaveOp),
    /// Answer once everything sent before is saved (or with the first failure).
    Flush(oneshot::Sender<Result<()>>),
}

/// The queue of an `async` writer task. A root run starts one; the nested runs it starts on the
/// same checkpointer send into it too, so a fan-out of subgraphs is saved in a few transactions
/// rather than one (and one disk flush) per subgraph run. The writer ends when every sender is
/// gone.
#[derive(Clone)]
pub(crate) struct SaveQueue {
    tx: mpsc::Sender<Msg>,
    saver: Arc<dyn Checkpointer>,
    /// Set when a save failed: later saves are refused at once.
    failed: Arc<AtomicBool>,
}

impl std::fmt::Debug for SaveQueue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SaveQueue").finish_non_exhaustive()
    }
}

fn writer_gone() -> Error {
    Error::Checkpoint(Arc::new(stategraph_checkpoint::Error::InvalidInput {
        message: "the checkpoint writer stopped".into(),
    }))
}

/// The `async` writer: takes whatever is queued, hands the saves to the checkpointer as one batch
/// (one transaction and one disk flush in SQL backends), answers the flush requests that came with
/// them, and repeats. A run faster than its disk therefore pays a few flushes, not two per step.
/// After the first failure nothing more is saved, and every flush gets that error.
async fn writer(saver: Arc<dyn Checkpointer>, mut rx: mpsc::Receiver<Msg>, failed: Arc<AtomicBool>) {
    let mut error: Option<Error> = None;
    let mut batch = Vec::with_capacity(16);
    let mut waiting = Vec::new();
    while let Some(msg) = rx.recv().await {
        let mut next = Some(msg);
        while let Some(msg) = next.take() {
            match msg {
                Msg::Save(op) if error.is_none() => batch.push(op),
                Msg::Save(_) => {}
                Msg::Flush(reply) => waiting.push(reply),
            }
            if batch.len() < MAX_BATCH {
                next = rx.try_recv().ok();
            }
        }
        if !batch.is_empty() {
            let ops = std::mem::replace(&mut batch, Vec::with_capacity(16));
            if let Err(e) = saver.save_batch_owned(ops).await {
                failed.store(true, Ordering::Release);
                error = Some(engine_error(e));
            }
        }
        for reply in waiting.drain(..) {
            // A run that stopped waiting (dropped) needs no answer.
            let _ = reply.send(error.clone().map_or(Ok(()), Err));
        }
    }
}

fn engine_error(e: stategraph_checkpoint::Error) -> Error {
    match e {
        stategraph_checkpoint::Error::Conflict { thread_id, expected, .. } => {
            Error::ThreadConflict { thread_id, expected }
        }
        e => e.into(),
    }
}

/// One `put`; with `guard`, the parent must still be the latest checkpoint of the namespace.
async fn put_one(
    saver: &dyn Checkpointer,
    parent: &CheckpointConfig,
    stored: &Stored,
    metadata: &CheckpointMetadata,
    new_versions: &ChannelVersions,
    guard: bool,
) -> Result<()> {
    let r = if guard {
        saver.put_next(parent, stored, metadata, new_versions).await
    } else {
        saver.put(parent, stored, metadata, new_versions).await
    };
    r.map(|_| ()).map_err(engine_error)
}
