//! What every handler shares.

use std::sync::Arc;

use stategraph_core::checkpoint::Checkpointer;

use crate::config::Limits;
use crate::graphs::Graphs;
use crate::runs::RunManager;
use crate::store::Store;

/// The server's shared state.
pub(crate) struct AppState {
    pub(crate) graphs: Graphs,
    pub(crate) store: Store,
    pub(crate) saver: Arc<dyn Checkpointer>,
    pub(crate) runs: RunManager,
    pub(crate) limits: Limits,
    pub(crate) auth_token: Option<String>,
    /// Cancelled at shutdown: every run stops at its next superstep boundary, its checkpoint
    /// saved, and is recorded as `interrupted`.
    pub(crate) drain: stategraph_core::CancelToken,
}
