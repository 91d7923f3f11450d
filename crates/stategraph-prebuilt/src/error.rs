//! The crate's error type.

/// Result alias of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What can go wrong with messages, models and tools.
///
/// Every variant has a stable code (`PB0xx`), shown in its message.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// PB001: a value cannot be read as a message (unknown role, unsupported form); the message
    /// is langchain-core's.
    #[error("PB001 {0}")]
    Coercion(String),
    /// PB002: a message-shaped value is missing a required field or has one of the wrong type.
    #[error("PB002 invalid message: {0}")]
    InvalidMessage(String),
    /// PB003: a remove marker names an id that is not in the list (LangGraph's message).
    #[error("PB003 Attempting to delete a message with an ID that doesn't exist ('{0}')")]
    RemoveMissing(String),
    /// PB010: a transformation was configured in a way it cannot run (e.g. `start_on` with the
    /// `first` strategy).
    #[error("PB010 {0}")]
    InvalidOption(String),
    /// PB020: the model call failed (HTTP status, transport, timeout, malformed response).
    #[error("PB020 model call failed: {0}")]
    Model(crate::model::ModelError),
    /// PB030: the state given to a prebuilt node has no message list, or its last message is
    /// not what the node needs.
    #[error("PB030 invalid state: {0}")]
    InvalidState(String),
}

impl Error {
    /// The stable code, e.g. `"PB003"`.
    pub fn code(&self) -> &'static str {
        match self {
            Error::Coercion(_) => "PB001",
            Error::InvalidMessage(_) => "PB002",
            Error::RemoveMissing(_) => "PB003",
            Error::InvalidOption(_) => "PB010",
            Error::Model(_) => "PB020",
            Error::InvalidState(_) => "PB030",
        }
    }

    /// The equivalent Python exception class (`ValueError`, `NotImplementedError`).
    pub fn python_name(&self) -> &'static str {
        match self {
            Error::Coercion(m) if m.starts_with("Unsupported") || m.starts_with("Message as a sequence") => {
                "NotImplementedError"
            }
            _ => "ValueError",
        }
    }
}

impl From<Error> for stategraph_core::NodeError {
    /// Message and state errors are permanent (retrying cannot fix them); model errors keep
    /// their own retryability (rate limits and 5xx are worth retrying).
    fn from(e: Error) -> Self {
        let retryable = match &e {
            Error::Model(m) => m.is_retryable(),
            _ => false,
        };
        stategraph_core::NodeError::new(e.to_string()).with_kind(e.python_name()).with_retryable(retryable)
    }
}
