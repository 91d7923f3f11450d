//! # stategraph-checkpoint
//!
//! Persistence for Stategraph runs, in the model of LangGraph's `langgraph-checkpoint`: the
//! [`Checkpointer`] trait the engine talks to, the checkpoint types, the value codec
//! ([`Serde`], MessagePack by default), an [`InMemorySaver`], and (feature `testkit`) the
//! conformance suite every backend runs. The durable backends are separate crates:
//! `stategraph-checkpoint-sqlite` and `stategraph-checkpoint-postgres`.
//!
//! ```
//! use stategraph_checkpoint::{
//!     Checkpoint, CheckpointConfig, CheckpointMetadata, CheckpointSource, Checkpointer, InMemorySaver, ListFilter,
//! };
//! use stategraph_value::Value;
//!
//! # futures::executor::block_on(async {
//! let saver = InMemorySaver::new();
//! let thread = CheckpointConfig::thread("thread-1");
//!
//! // The input checkpoint: every channel is new.
//! let mut first = Checkpoint::empty();
//! first.channel_values.insert("messages".into(), Value::from(vec![Value::from("hi")]));
//! first.channel_versions.insert("messages".into(), 1);
//! let config = saver
//!     .put(&thread, &first, &CheckpointMetadata::new(CheckpointSource::Input, -1), &first.channel_versions.clone())
//!     .await?;
//!
//! // The next step changes nothing but a counter: only its new version is stored.
//! let mut second = first.next();
//! second.channel_values.insert("count".into(), Value::from(1));
//! second.channel_versions.insert("count".into(), 1);
//! let new_versions = [("count".to_owned(), 1)].into();
//! saver.put(&config, &second, &CheckpointMetadata::new(CheckpointSource::Loop, 0), &new_versions).await?;
//!
//! let latest = saver.get_tuple(&thread).await?.expect("a checkpoint");
//! assert_eq!(latest.checkpoint.channel_values["messages"], Value::from(vec![Value::from("hi")]));
//! assert_eq!(latest.parent_config, Some(config));
//! assert_eq!(saver.list(&ListFilter::thread("thread-1")).await?.len(), 2);
//! # Ok::<(), stategraph_checkpoint::Error>(())
//! # }).unwrap();
//! ```
//!
//! ## Feature flags
//! - `testkit`: the [`testkit`] module, the conformance suite (`testkit::run_all`).
//! - `blocking`: [`blocking::BlockingSaver`], any checkpointer behind blocking calls (for code
//!   without an async runtime: Tauri command threads, Python bindings).

#![forbid(unsafe_code)]

#[cfg(feature = "blocking")]
pub mod blocking;
mod codec;
mod error;
mod id;
mod memory;
mod saver;
pub mod storage;
#[cfg(feature = "testkit")]
pub mod testkit;
mod types;

pub use codec::{MAX_DEPTH, MsgpackSerde, Serde, TAG_EMPTY, TAG_MSGPACK, TAG_MSGPACK_REFS, TAG_NULL};
pub use error::{BoxError, Error, Result};
pub use id::CheckpointId;
pub use memory::InMemorySaver;
pub use saver::{Checkpointer, SaveOp};
pub use types::{
    CHECKPOINT_VERSION, ChannelVersions, Checkpoint, CheckpointConfig, CheckpointMetadata, CheckpointSource,
    CheckpointTuple, ERROR, INTERRUPT, ListFilter, PendingWrite, PruneStrategy, RESUME, SCHEDULED, metadata_matches,
    special_write_idx,
};
