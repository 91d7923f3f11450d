//! The `Checkpointer` trait every backend implements.

use futures::future::BoxFuture;
use stategraph_value::Value;

use crate::error::Result;
use crate::types::{
    ChannelVersions, Checkpoint, CheckpointConfig, CheckpointMetadata, CheckpointTuple, ListFilter, PruneStrategy,
};

/// One save of a [`save_batch`](Checkpointer::save_batch).
#[derive(Clone, Debug)]
pub enum SaveOp {
    /// [`put`](Checkpointer::put), or [`put_next`](Checkpointer::put_next) when `only_if_latest`.
    Put {
        /// The parent (thread, namespace, parent id).
        config: CheckpointConfig,
        /// The checkpoint (boxed: it is large beside a write).
        checkpoint: Box<Checkpoint>,
        /// Its metadata.
        metadata: CheckpointMetadata,
        /// Channels whose blobs are new.
        new_versions: ChannelVersions,
        /// Fail with a conflict unless the parent is still the latest.
        only_if_latest: bool,
    },
    /// [`put_writes`](Checkpointer::put_writes).
    PutWrites {
        /// The checkpoint the writes belong to.
        config: CheckpointConfig,
        /// Channel and value of each write.
        writes: Vec<(String, Value)>,
        /// The task.
        task_id: String,
        /// The task's path.
        task_path: String,
    },
}

/// Stores checkpoints, their metadata and the pending writes of tasks (LangGraph's
/// `BaseCheckpointSaver`).
///
/// Object safe (boxed futures) because the backend is chosen at run time: the engine holds an
/// `Arc<dyn Checkpointer>`. Every implementation must pass the conformance suite in `testkit`.
///
/// When the engine calls what:
/// - after the input and after every step: [`put_next`](Checkpointer::put_next), with the
///   versions that changed since the previous checkpoint, parented on the config the previous
///   call returned (on SG107 the run stops: another runner continued the thread);
/// - as each task of a step finishes (before the step's writes are applied):
///   [`put_writes`](Checkpointer::put_writes) under the config of the checkpoint the step started
///   from, so a failing sibling does not lose the finished tasks' writes;
/// - when a run starts or resumes: [`get_tuple`](Checkpointer::get_tuple) (latest, or the
///   `checkpoint_id` given for replay/fork), and re-applies its `pending_writes`;
/// - for state history: [`list`](Checkpointer::list).
pub trait Checkpointer: Send + Sync {
    /// The checkpoint `config` names (the latest of the thread and namespace when it has no id),
    /// with its values, metadata, parent and pending writes; `None` when there is none.
    fn get_tuple<'a>(&'a self, config: &'a CheckpointConfig) -> BoxFuture<'a, Result<Option<CheckpointTuple>>>;

    /// Checkpoints matching `filter`, newest first.
    fn list<'a>(&'a self, filter: &'a ListFilter) -> BoxFuture<'a, Result<Vec<CheckpointTuple>>>;

    /// Stores `checkpoint` in `config`'s thread and namespace, parented on `config.checkpoint_id`.
    /// Only the channels in `new_versions` get new blobs; the others must already be stored at the
    /// versions `checkpoint.channel_versions` names. Returns the config of the stored checkpoint.
    fn put<'a>(
        &'a self,
        config: &'a CheckpointConfig,
        checkpoint: &'a Checkpoint,
        metadata: &'a CheckpointMetadata,
        new_versions: &'a ChannelVersions,
    ) -> BoxFuture<'a, Result<CheckpointConfig>>;

    /// [`put`](Checkpointer::put), but only if `config.checkpoint_id` is still the latest checkpoint
    /// of the thread and namespace (with no id: only if the namespace has no checkpoint yet);
    /// otherwise nothing is stored and [`Error::Conflict`](crate::Error::Conflict) is returned.
    /// The engine saves every step of a run this way, so of two runners continuing one thread
    /// from the same checkpoint exactly one succeeds.
    ///
    /// The default implementation checks and then puts, which is not atomic: backends override
    /// it with a check inside the write transaction (the conformance suite races it).
    fn put_next<'a>(
        &'a self,
        config: &'a CheckpointConfig,
        checkpoint: &'a Checkpoint,
        metadata: &'a CheckpointMetadata,
        new_versions: &'a ChannelVersions,
    ) -> BoxFuture<'a, Result<CheckpointConfig>> {
        Box::pin(async move {
            let latest = CheckpointConfig { checkpoint_id: None, ..config.clone() };
            let found = self.get_tuple(&latest).await?.and_then(|t| t.config.checkpoint_id);
            if found != config.checkpoint_id {
                return Err(crate::Error::conflict(config, found));
            }
            self.put(config, checkpoint, metadata, new_versions).await
        })
    }

    /// Applies several saves in order, as one unit where the backend can (one transaction, one
    /// disk flush): what `async` durability hands over when the run is faster than the disk. The
    /// saves after a failing one are not applied; the prefix before it is. The default runs them
    /// one by one.
    fn save_batch<'a>(&'a self, ops: &'a [SaveOp]) -> BoxFuture<'a, Result<()>> {
        Box::pin(async move {
            for op in ops {
                match op {
                    SaveOp::Put { config, checkpoint, metadata, new_versions, only_if_latest } => {
                        if *only_if_latest {
                            self.put_next(config, checkpoint, metadata, new_versions).await?;
                        } else {
                            self.put(config, checkpoint, metadata, new_versions).await?;
                        }
                    }
                    SaveOp::PutWrites { config, writes, task_id, task_path } => {
                        self.put_writes(config, writes, task_id, task_path).await?;
                    }
                }
            }
            Ok(())
        })
    }

    /// [`save_batch`](Checkpointer::save_batch) with the saves given by value, so a saver that
    /// keeps what it stores in memory can move it instead of copying it. The engine's `async`
    /// durability calls this one. The default calls `save_batch`.
    fn save_batch_owned(&self, ops: Vec<SaveOp>) -> BoxFuture<'_, Result<()>> {
        Box::pin(async move { self.save_batch(&ops).await })
    }

    /// Whether a save completes without waiting for I/O (an in-memory saver). The engine's `async`
    /// durability then hands each save over as it comes, on the run's own task, instead of
    /// through a background writer whose only benefit is overlapping I/O with the run. Default
    /// `false`.
    fn saves_inline(&self) -> bool {
        false
    }

    /// Stores a task's writes for the checkpoint `config` names (its `checkpoint_id` must be set).
    /// Idempotent per `(task_id, idx)`: ordinary writes already stored are kept, writes to the
    /// special channels (`__error__`, `__interrupt__`, ...) replace what is stored.
    fn put_writes<'a>(
        &'a self,
        config: &'a CheckpointConfig,
        writes: &'a [(String, Value)],
        task_id: &'a str,
        task_path: &'a str,
    ) -> BoxFuture<'a, Result<()>>;

    /// Deletes every checkpoint, blob and write of a thread (all namespaces).
    fn delete_thread<'a>(&'a self, thread_id: &'a str) -> BoxFuture<'a, Result<()>>;

    /// Copies every checkpoint, blob and write of `source` into `target` (same ids). Rows already
    /// in `target` with the same keys are replaced.
    fn copy_thread<'a>(&'a self, source: &'a str, target: &'a str) -> BoxFuture<'a, Result<()>>;

    /// Thins out the given threads: see [`PruneStrategy`].
    fn prune<'a>(&'a self, thread_ids: &'a [String], strategy: PruneStrategy) -> BoxFuture<'a, Result<()>>;

    /// The next version of a channel (LangGraph's `get_next_version`): 1, 2, 3, ...
    fn next_version(&self, current: Option<u64>) -> u64 {
        current.map_or(1, |v| v + 1)
    }
}
