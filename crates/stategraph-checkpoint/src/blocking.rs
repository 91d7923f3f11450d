//! A blocking front for any checkpointer, for callers without an async runtime (a Tauri command
//! handler on a plain thread, Python bindings, scripts, tests).
//!
//! It owns a small tokio runtime and runs each call to completion on it. Do not call it from
//! inside an async task (that would block the task's executor thread; tokio refuses with a
//! panic): there, use the async [`Checkpointer`] directly.
//!
//! ```
//! use std::sync::Arc;
//! use stategraph_checkpoint::blocking::BlockingSaver;
//! use stategraph_checkpoint::{Checkpoint, CheckpointConfig, CheckpointMetadata, CheckpointSource, InMemorySaver};
//!
//! let saver = BlockingSaver::new(Arc::new(InMemorySaver::new())).unwrap();
//! let thread = CheckpointConfig::thread("t");
//! let cp = Checkpoint::empty();
//! saver.put(&thread, &cp, &CheckpointMetadata::new(CheckpointSource::Input, -1), &Default::default()).unwrap();
//! assert!(saver.get_tuple(&thread).unwrap().is_some());
//! ```

use std::future::Future;
use std::sync::Arc;

use stategraph_value::Value;

use crate::error::{Error, Result};
use crate::saver::Checkpointer;
use crate::types::{
    ChannelVersions, Checkpoint, CheckpointConfig, CheckpointMetadata, CheckpointTuple, ListFilter, PruneStrategy,
};

/// Blocking calls to a checkpointer (see the module docs).
pub struct BlockingSaver {
    inner: Arc<dyn Checkpointer>,
    rt: tokio::runtime::Runtime,
}

impl std::fmt::Debug for BlockingSaver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BlockingSaver").finish_non_exhaustive()
    }
}

impl BlockingSaver {
    /// Wraps `saver`, with a runtime of its own.
    pub fn new(saver: Arc<dyn Checkpointer>) -> Result<BlockingSaver> {
        Ok(BlockingSaver { inner: saver, rt: runtime()? })
    }

    /// Builds the saver on the blocking runtime (for savers whose constructor is async, such as
    /// `SqliteSaver::open`, so their connections live on the runtime that will drive them).
    pub fn open<C, F>(make: F) -> Result<BlockingSaver>
    where
        C: Checkpointer + 'static,
        F: Future<Output = Result<C>>,
    {
        let rt = runtime()?;
        let saver = rt.block_on(make)?;
        Ok(BlockingSaver { inner: Arc::new(saver), rt })
    }

    /// The async checkpointer inside (to compile graphs with; runs must then happen on an async
    /// runtime of their own).
    pub fn inner(&self) -> Arc<dyn Checkpointer> {
        self.inner.clone()
    }

    /// Runs any future on this saver's runtime (e.g. a graph run that uses [`inner`](Self::inner)).
    pub fn block_on<F: Future>(&self, future: F) -> F::Output {
        self.rt.block_on(future)
    }

    /// See [`Checkpointer::get_tuple`].
    pub fn get_tuple(&self, config: &CheckpointConfig) -> Result<Option<CheckpointTuple>> {
        self.rt.block_on(self.inner.get_tuple(config))
    }
    /// See [`Checkpointer::list`].
    pub fn list(&self, filter: &ListFilter) -> Result<Vec<CheckpointTuple>> {
        self.rt.block_on(self.inner.list(filter))
    }
    /// See [`Checkpointer::put`].
    pub fn put(
        &self,
        config: &CheckpointConfig,
        checkpoint: &Checkpoint,
        metadata: &CheckpointMetadata,
        new_versions: &ChannelVersions,
    ) -> Result<CheckpointConfig> {
        self.rt.block_on(self.inner.put(config, checkpoint, metadata, new_versions))
    }
    /// See [`Checkpointer::put_next`].
    pub fn put_next(
        &self,
        config: &CheckpointConfig,
        checkpoint: &Checkpoint,
        metadata: &CheckpointMetadata,
        new_versions: &ChannelVersions,
    ) -> Result<CheckpointConfig> {
        self.rt.block_on(self.inner.put_next(config, checkpoint, metadata, new_versions))
    }
    /// See [`Checkpointer::put_writes`].
    pub fn put_writes(
        &self,
        config: &CheckpointConfig,
        writes: &[(String, Value)],
        task_id: &str,
        task_path: &str,
    ) -> Result<()> {
        self.rt.block_on(self.inner.put_writes(config, writes, task_id, task_path))
    }
    /// See [`Checkpointer::delete_thread`].
    pub fn delete_thread(&self, thread_id: &str) -> Result<()> {
        self.rt.block_on(self.inner.delete_thread(thread_id))
    }
    /// See [`Checkpointer::copy_thread`].
    pub fn copy_thread(&self, source: &str, target: &str) -> Result<()> {
        self.rt.block_on(self.inner.copy_thread(source, target))
    }
    /// See [`Checkpointer::prune`].
    pub fn prune(&self, thread_ids: &[String], strategy: PruneStrategy) -> Result<()> {
        self.rt.block_on(self.inner.prune(thread_ids, strategy))
    }
}

fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .thread_name("stategraph-saver")
        .enable_all()
        .build()
        .map_err(|e| Error::Backend {
            backend: "runtime",
            message: format!("cannot start a runtime: {e}"),
            source: None,
        })
}
