//! The engine's checkpoint ↔ the stored one ([`stategraph_checkpoint::Checkpoint`]), and the
//! queue that hands a run's checkpoints and writes to the checkpointer in the order the
//! durability mode asks for.

use std::collections::BTreeMap;
use std::sync::Arc;

use stategraph_checkpoint::{
    ChannelVersions, Checkpoint as Stored, CheckpointConfig, CheckpointId, CheckpointMetadata, Checkpointer, INTERRUPT,
};
use tokio::task::JoinHandle;

use super::algo::Checkpoint;
use crate::channels::Channel;
use crate::graph::compiled::{ChannelId, GraphInner};
use crate::types::Durability;
use crate::value::Value;
use crate::{Error, Result};

/// The task id of writes that belong to no task (a resume value, an update given as input).
pub(crate) const NULL_TASK_ID: &str = "00000000-0000-0000-0000-000000000000";
/// The marker a task that wrote nothing stores, so a resume knows it finished.
pub(crate) const NO_WRITES: &str = "__no_writes__";

/// The stored form of the engine's checkpoint: every channel that holds a value, the versions by
/// name, and what each node (and the interrupt check) has seen.
pub(crate) fn to_stored(
    g: &GraphInner,
    channels: &[Box<dyn Channel>],
    cp: &Checkpoint,
    updated: &[ChannelId],
) -> Stored {
    let mut out = Stored::with_id(CheckpointId::from_uuid(cp.id));
    for (ch, def) in g.channels.iter().enumerate() {
        if cp.versions[ch] > 0 {
            out.channel_versions.insert(def.name.to_string(), cp.versions[ch]);
        }
        if let Some(v) = channels[ch].checkpoint() {
            out.channel_values.insert(def.name.to_string(), v);
        }
    }
    for (n, node) in g.nodes.iter().enumerate() {
        let seen: ChannelVersions = node
            .triggers
            .iter()
            .zip(&cp.seen[n])
            .filter(|(_, v)| **v > 0)
            .map(|(&ch, &v)| (g.channels[ch].name.to_string(), v))
            .collect();
        if !seen.is_empty() {
            out.versions_seen.insert(node.name.to_string(), seen);
        }
    }
    if !cp.interrupt_seen.is_empty() {
        let seen: ChannelVersions = cp
            .interrupt_seen
            .iter()
            .enumerate()
            .filter(|(_, v)| **v > 0)
            .map(|(ch, &v)| (g.channels[ch].name.to_string(), v))
            .collect();
        out.versions_seen.insert(INTERRUPT.to_owned(), seen);
    }
    let mut names: Vec<String> = updated.iter().map(|&ch| g.channels[ch].name.to_string()).collect();
    names.sort();
    names.dedup();
    out.updated_channels = Some(names);
    out
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

/// Channel versions that differ from `saved` (what a `put` must store blobs for).
pub(crate) fn new_versions(g: &GraphInner, versions: &[u64], saved: &[u64]) -> ChannelVersions {
    versions
        .iter()
        .enumerate()
        .filter(|(ch, v)| **v > 0 && saved.get(*ch).copied().unwrap_or(0) != **v)
        .map(|(ch, &v)| (g.channels[ch].name.to_string(), v))
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
    queue: Option<JoinHandle<Result<()>>>,
    /// `exit` durability: the last checkpoint and the writes made after it, saved at the end.
    exit_checkpoint: Option<(Stored, CheckpointMetadata, Option<CheckpointConfig>)>,
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
            queue: None,
            exit_checkpoint: None,
            exit_writes: Vec::new(),
        }
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
                    None => Some(parent).filter(|p| p.checkpoint_id.is_some()),
                };
                self.exit_checkpoint = Some((stored, metadata, first_parent));
                self.exit_writes.clear();
            }
            Durability::Sync => {
                self.flush().await?;
                put_one(&*self.saver, &parent, &stored, &metadata, &new_versions, guard).await?;
                self.saved_versions = versions.to_vec();
            }
            Durability::Async => {
                let saver = self.saver.clone();
                let prev = self.queue.take();
                self.saved_versions = versions.to_vec();
                self.queue = Some(tokio::spawn(async move {
                    if let Some(prev) = prev {
                        join(prev).await?;
                    }
                    put_one(&*saver, &parent, &stored, &metadata, &new_versions, guard).await
                }));
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
                self.flush().await?;
                self.saver.put_writes(&config, &record.writes, &record.task_id, &record.task_path).await?;
            }
            Durability::Async => {
                let saver = self.saver.clone();
                let prev = self.queue.take();
                self.queue = Some(tokio::spawn(async move {
                    if let Some(prev) = prev {
                        join(prev).await?;
                    }
                    saver.put_writes(&config, &record.writes, &record.task_id, &record.task_path).await?;
                    Ok(())
                }));
            }
        }
        Ok(())
    }

    /// Waits until everything queued is saved; the first failure is returned.
    pub(crate) async fn flush(&mut self) -> Result<()> {
        match self.queue.take() {
            Some(q) => join(q).await,
            None => Ok(()),
        }
    }

    /// Ends the run: saves what `exit` durability kept back, and waits for the queue.
    pub(crate) async fn finish(&mut self, g: &GraphInner) -> Result<()> {
        self.flush().await?;
        if let Some((stored, metadata, parent)) = self.exit_checkpoint.take() {
            let parent = parent.unwrap_or_else(|| self.base_config());
            let versions: Vec<u64> =
                g.channels.iter().map(|c| stored.channel_versions.get(&*c.name).copied().unwrap_or(0)).collect();
            let nv = new_versions(g, &versions, &self.saved_versions);
            put_one(&*self.saver, &parent, &stored, &metadata, &nv, true).await?;
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

async fn join(handle: JoinHandle<Result<()>>) -> Result<()> {
    match handle.await {
        Ok(r) => r,
        Err(e) => Err(Error::Checkpoint(Arc::new(stategraph_checkpoint::Error::InvalidInput {
            message: format!("background checkpoint save did not complete: {e}"),
        }))),
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
    match r {
        Ok(_) => Ok(()),
        Err(stategraph_checkpoint::Error::Conflict { thread_id, expected, .. }) => {
            Err(Error::ThreadConflict { thread_id, expected })
        }
        Err(e) => Err(e.into()),
    }
}
