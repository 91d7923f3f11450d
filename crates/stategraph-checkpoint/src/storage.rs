//! Helpers for backend implementers: how a checkpoint is split into rows and put back together.
//!
//! A stored checkpoint is three kinds of rows, the same in every backend:
//! - one *checkpoint* row: the [`CheckpointHeader`] (everything but the values) and the metadata;
//! - *blob* rows keyed by `(thread, ns, channel, version)`: one per channel version, written only
//!   when `put` is told the version is new ([`encode_blobs`]);
//! - *write* rows keyed by `(thread, ns, checkpoint id, task id, idx)` ([`encode_writes`]).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use stategraph_value::Value;

use crate::codec::{Serde, TAG_EMPTY};
use crate::error::{Error, Result};
use crate::id::CheckpointId;
use crate::types::{ChannelVersions, Checkpoint, special_write_idx};

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
            Ok(BlobRow { channel: channel.clone(), version, type_tag, bytes })
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
