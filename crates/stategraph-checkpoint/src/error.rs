//! The one error type of the persistence layer, with stable `SG1xx` codes.

use std::fmt;

/// A boxed error from a storage driver, kept as the `source` of [`Error::Backend`].
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// A result with the persistence [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything a checkpointer can fail with. Codes (`SG1xx`) are stable and shown the same in Rust,
/// Python and the studio; the engine's own errors use `SG0xx`.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// SG100: a value could not be serialised (too deeply nested, or a codec refused it).
    #[error("SG100: cannot serialise {what}: {message}")]
    Encode {
        /// What was being serialised (`channel 'messages'`, `metadata`, ...).
        what: String,
        /// Why it failed.
        message: String,
    },
    /// SG101: stored data carries a type tag the codec does not allow (the allow list of the codec).
    #[error("SG101: unknown or disallowed type tag '{type_tag}' in {what}")]
    UnknownType {
        /// The type tag found in storage.
        type_tag: String,
        /// Where it was found.
        what: String,
    },
    /// SG102: stored bytes could not be decoded (corrupt blob, write, checkpoint or metadata).
    #[error("SG102: corrupt data in {what}: {message}")]
    Corrupt {
        /// Where the bad data sits (`blob thread=t ns='' channel=c version=3`, ...).
        what: String,
        /// What the decoder said.
        message: String,
    },
    /// SG103: a checkpoint refers to a channel version whose blob is not stored.
    #[error(
        "SG103: checkpoint {checkpoint_id} of thread '{thread_id}' (ns '{checkpoint_ns}') refers to channel '{channel}' version {version}, which is not stored"
    )]
    MissingBlob {
        /// The thread.
        thread_id: String,
        /// The namespace.
        checkpoint_ns: String,
        /// The checkpoint whose values were being assembled.
        checkpoint_id: String,
        /// The channel.
        channel: String,
        /// The version that has no blob.
        version: u64,
    },
    /// SG104: the storage backend failed (I/O, connection, SQL, busy timeout).
    #[error("SG104: {backend} backend error: {message}")]
    Backend {
        /// Which backend (`sqlite`, `postgres`).
        backend: &'static str,
        /// The driver's message.
        message: String,
        /// The driver's error.
        #[source]
        source: Option<BoxError>,
    },
    /// SG105: the database schema could not be migrated (or is newer than this build knows).
    #[error("SG105: {backend} migration failed: {message}")]
    Migration {
        /// Which backend.
        backend: &'static str,
        /// What failed.
        message: String,
    },
    /// SG106: an argument is out of range for the backend (e.g. a version above `i64::MAX`).
    #[error("SG106: invalid input: {message}")]
    InvalidInput {
        /// What is wrong.
        message: String,
    },
    /// SG107: [`put_next`](crate::Checkpointer::put_next) found that the parent is no longer the
    /// latest checkpoint of its thread and namespace: another runner advanced the thread.
    #[error(
        "SG107: thread '{thread_id}' namespace '{checkpoint_ns}' moved on: expected latest checkpoint {expected}, found {found}"
    )]
    Conflict {
        /// The thread.
        thread_id: String,
        /// The namespace.
        checkpoint_ns: String,
        /// The checkpoint the caller started from (`none` for an empty namespace).
        expected: String,
        /// The actual latest checkpoint (`none` when there is none).
        found: String,
    },
}

impl Error {
    /// The stable code (`SG1xx`).
    ///
    /// ```
    /// use stategraph_checkpoint::Error;
    /// let e = Error::InvalidInput { message: "x".into() };
    /// assert_eq!(e.code(), "SG106");
    /// assert!(e.to_string().starts_with("SG106"));
    /// ```
    pub fn code(&self) -> &'static str {
        match self {
            Error::Encode { .. } => "SG100",
            Error::UnknownType { .. } => "SG101",
            Error::Corrupt { .. } => "SG102",
            Error::MissingBlob { .. } => "SG103",
            Error::Backend { .. } => "SG104",
            Error::Migration { .. } => "SG105",
            Error::InvalidInput { .. } => "SG106",
            Error::Conflict { .. } => "SG107",
        }
    }

    /// Whether the stored data is unreadable (SG101–SG103): retrying will not help.
    pub fn is_data_error(&self) -> bool {
        matches!(self, Error::UnknownType { .. } | Error::Corrupt { .. } | Error::MissingBlob { .. })
    }

    /// A backend error wrapping a driver error.
    pub fn backend(backend: &'static str, source: impl std::error::Error + Send + Sync + 'static) -> Error {
        Error::Backend { backend, message: source.to_string(), source: Some(Box::new(source)) }
    }

    /// The same error, saying where the data sits (for codec errors, which do not know).
    ///
    /// ```
    /// use stategraph_checkpoint::Error;
    /// let e = Error::corrupt("msgpack value", "eof").at("blob of channel 'x' version 2");
    /// assert!(e.to_string().contains("channel 'x'"));
    /// ```
    pub fn at(self, location: impl Into<String>) -> Error {
        match self {
            Error::Encode { message, .. } => Error::Encode { what: location.into(), message },
            Error::UnknownType { type_tag, .. } => Error::UnknownType { type_tag, what: location.into() },
            Error::Corrupt { message, .. } => Error::Corrupt { what: location.into(), message },
            other => other,
        }
    }

    /// The conflict error of [`put_next`](crate::Checkpointer::put_next).
    pub fn conflict(config: &crate::CheckpointConfig, found: Option<crate::CheckpointId>) -> Error {
        let show = |id: Option<crate::CheckpointId>| id.map_or_else(|| "none".to_owned(), |i| i.to_string());
        Error::Conflict {
            thread_id: config.thread_id.clone(),
            checkpoint_ns: config.checkpoint_ns.clone(),
            expected: show(config.checkpoint_id),
            found: show(found),
        }
    }

    /// A corrupt-data error.
    pub fn corrupt(what: impl Into<String>, message: impl fmt::Display) -> Error {
        Error::Corrupt { what: what.into(), message: message.to_string() }
    }
}
