//! The server's error type: every failure becomes a JSON body `{"detail": ...}` with LangGraph's
//! status code, so the SDKs raise the same exception classes.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

/// An error answered to the client (or raised while starting the server).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ServerError {
    /// The request is malformed (400).
    #[error("{0}")]
    BadRequest(String),
    /// A thread, run or assistant does not exist (404).
    #[error("{0}")]
    NotFound(String),
    /// The resource exists already, or the thread is busy (409).
    #[error("{0}")]
    Conflict(String),
    /// The request body is larger than the configured limit (413).
    #[error("{0}")]
    TooLarge(String),
    /// The body or a path id fails validation (422).
    #[error("{0}")]
    Unprocessable(String),
    /// The bearer token or `x-api-key` is missing or wrong (401).
    #[error("{0}")]
    Unauthorized(String),
    /// The configuration cannot be served (bad bind address, graph that fails to compile, ...).
    #[error("invalid server configuration: {0}")]
    Config(String),
    /// The metadata database failed.
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    /// The engine or checkpointer failed outside a run.
    #[error("{0}")]
    Engine(#[from] stategraph_core::Error),
    /// Binding or serving failed.
    #[error("io error: {0}")]
    Io(#[from] std::io::Error),
}

impl ServerError {
    /// The HTTP status this error is answered with.
    pub fn status(&self) -> StatusCode {
        match self {
            ServerError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ServerError::NotFound(_) => StatusCode::NOT_FOUND,
            ServerError::Conflict(_) => StatusCode::CONFLICT,
            ServerError::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            ServerError::Unprocessable(_) => StatusCode::UNPROCESSABLE_ENTITY,
            ServerError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            // Engine errors outside runs come from bad requests (an unknown `as_node`, a state
            // update the channels reject); answering 5xx would make the JS client retry them.
            ServerError::Engine(e) if is_client_error(e) => StatusCode::BAD_REQUEST,
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

fn is_client_error(e: &stategraph_core::Error) -> bool {
    !matches!(e, stategraph_core::Error::Checkpoint(_))
}

/// Builds the `{"detail": ...}` response.
pub(crate) fn detail(status: StatusCode, message: impl Into<String>) -> Response {
    let body = serde_json::json!({ "detail": message.into() });
    (status, axum::Json(body)).into_response()
}

impl IntoResponse for ServerError {
    fn into_response(self) -> Response {
        let status = self.status();
        if status.is_server_error() {
            tracing::error!(error = %self, "request failed");
        }
        detail(status, self.to_string())
    }
}

/// Result of a handler.
pub(crate) type ApiResult<T> = Result<T, ServerError>;
