//! Stream modes, events, and the sink the run loop emits into.

use std::fmt;
use std::pin::Pin;
use std::str::FromStr;
use std::sync::Arc;
use std::task::{Context, Poll};

use crate::value::Value;
use futures::Stream;
use futures::future::BoxFuture;
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;

use crate::{Error, Result};

/// What a stream carries (LangGraph's `stream_mode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum StreamMode {
    /// The whole state after every superstep.
    Values,
    /// `{node: update}` as each task finishes.
    Updates,
    /// Whatever nodes write with [`NodeContext::write`](crate::NodeContext::write).
    Custom,
    /// Task start and task result events.
    Tasks,
    /// Tasks, results and checkpoints, with step numbers and timestamps.
    Debug,
    /// Checkpoints as they are saved.
    Checkpoints,
    /// LLM token chunks with metadata.
    Messages,
}

impl StreamMode {
    /// Every mode, in the order LangGraph documents them.
    pub const ALL: [StreamMode; 7] = [
        StreamMode::Values,
        StreamMode::Updates,
        StreamMode::Custom,
        StreamMode::Tasks,
        StreamMode::Debug,
        StreamMode::Checkpoints,
        StreamMode::Messages,
    ];

    fn bit(self) -> u8 {
        1 << (self as u8)
    }

    /// The mode's name as LangGraph spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            StreamMode::Values => "values",
            StreamMode::Updates => "updates",
            StreamMode::Custom => "custom",
            StreamMode::Tasks => "tasks",
            StreamMode::Debug => "debug",
            StreamMode::Checkpoints => "checkpoints",
            StreamMode::Messages => "messages",
        }
    }
}

impl fmt::Display for StreamMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for StreamMode {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        StreamMode::ALL
            .into_iter()
            .find(|m| m.as_str() == s)
            .ok_or_else(|| Error::InvalidConfig(format!("unknown stream mode `{s}`")))
    }
}

/// A set of stream modes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ModeSet(u8);

impl ModeSet {
    /// No mode.
    pub const EMPTY: ModeSet = ModeSet(0);
    /// Whether `mode` is in the set.
    pub fn contains(self, mode: StreamMode) -> bool {
        self.0 & mode.bit() != 0
    }
    /// Adds a mode.
    pub fn insert(&mut self, mode: StreamMode) {
        self.0 |= mode.bit();
    }
    /// Whether the set is empty.
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }
}

impl FromIterator<StreamMode> for ModeSet {
    fn from_iter<I: IntoIterator<Item = StreamMode>>(iter: I) -> Self {
        let mut s = ModeSet::EMPTY;
        for m in iter {
            s.insert(m);
        }
        s
    }
}

/// One streamed item.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StreamEvent {
    /// Where it comes from: empty for the graph itself, `["node:<task id>", ...]` for subgraphs.
    pub namespace: Vec<String>,
    /// Which mode it belongs to.
    pub mode: StreamMode,
    /// The chunk, shaped as LangGraph shapes it for that mode.
    pub data: Value,
}

/// Options for [`CompiledGraph::stream`](crate::CompiledGraph::stream).
#[derive(Debug, Clone)]
pub struct StreamOptions {
    /// Modes to emit.
    pub modes: Vec<StreamMode>,
    /// Also emit events of subgraphs (with their namespace).
    pub subgraphs: bool,
}

impl Default for StreamOptions {
    fn default() -> Self {
        StreamOptions { modes: vec![StreamMode::Values], subgraphs: false }
    }
}

impl StreamOptions {
    /// Stream the given modes.
    pub fn modes(modes: impl IntoIterator<Item = StreamMode>) -> Self {
        StreamOptions { modes: modes.into_iter().collect(), subgraphs: false }
    }
    /// One mode.
    pub fn mode(mode: StreamMode) -> Self {
        StreamOptions::modes([mode])
    }
    /// Include subgraph events.
    pub fn with_subgraphs(mut self, subgraphs: bool) -> Self {
        self.subgraphs = subgraphs;
        self
    }
}

/// Where a run sends its events. Cloned into every task; cheap.
#[derive(Clone, Default)]
pub(crate) struct Sink {
    tx: Option<mpsc::UnboundedSender<StreamEvent>>,
    modes: ModeSet,
    /// Namespace of the graph emitting through this sink.
    pub(crate) namespace: Arc<Vec<String>>,
    /// Whether nested graphs emit at all.
    subgraphs: bool,
    /// Ids of messages already streamed in `messages` mode (shared with nested graphs), so a
    /// message streamed token by token is not streamed again whole when its node returns it.
    seen_messages: Option<Arc<std::sync::Mutex<std::collections::HashSet<String>>>>,
}

impl Sink {
    pub(crate) fn new(tx: mpsc::UnboundedSender<StreamEvent>, opts: &StreamOptions) -> Sink {
        Sink {
            tx: Some(tx),
            modes: opts.modes.iter().copied().collect(),
            namespace: Arc::new(Vec::new()),
            subgraphs: opts.subgraphs,
            seen_messages: opts.modes.contains(&StreamMode::Messages).then(Default::default),
        }
    }

    /// Records that the message `id` was streamed; returns whether it was new.
    pub(crate) fn first_sight_of_message(&self, id: &str) -> bool {
        match &self.seen_messages {
            Some(seen) => seen.lock().expect("seen messages lock").insert(id.to_owned()),
            None => true,
        }
    }

    /// The sink a nested graph uses: same channel, deeper namespace; silent unless subgraph
    /// streaming was asked for.
    pub(crate) fn child(&self, segment: String) -> Sink {
        let mut ns = (*self.namespace).clone();
        ns.push(segment);
        Sink {
            tx: if self.subgraphs { self.tx.clone() } else { None },
            modes: self.modes,
            namespace: Arc::new(ns),
            subgraphs: self.subgraphs,
            seen_messages: self.seen_messages.clone(),
        }
    }

    /// Whether `mode` events are wanted here; callers skip building them otherwise.
    #[inline]
    pub(crate) fn wants(&self, mode: StreamMode) -> bool {
        self.tx.is_some() && self.modes.contains(mode)
    }

    pub(crate) fn emit(&self, mode: StreamMode, data: Value) {
        if let Some(tx) = &self.tx
            && self.modes.contains(mode)
        {
            // A dropped receiver means nobody listens any more; the run itself is
            // cancelled by dropping its future, so ignoring the error is right.
            let _ = tx.send(StreamEvent { namespace: (*self.namespace).clone(), mode, data });
        }
    }
}

/// The stream returned by [`CompiledGraph::stream`](crate::CompiledGraph::stream). The run
/// advances as the stream is polled; dropping the stream cancels the run.
pub struct RunStream {
    run: Option<BoxFuture<'static, Result<Value>>>,
    rx: mpsc::UnboundedReceiver<StreamEvent>,
    error: Option<Error>,
    output: Option<Value>,
}

impl RunStream {
    pub(crate) fn new(run: BoxFuture<'static, Result<Value>>, rx: mpsc::UnboundedReceiver<StreamEvent>) -> Self {
        RunStream { run: Some(run), rx, error: None, output: None }
    }

    /// The run's final output, once the stream has ended without error.
    pub fn output(&self) -> Option<&Value> {
        self.output.as_ref()
    }
}

impl Stream for RunStream {
    type Item = Result<StreamEvent>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        loop {
            if let Poll::Ready(Some(ev)) = this.rx.poll_recv(cx) {
                return Poll::Ready(Some(Ok(ev)));
            }
            match this.run.as_mut() {
                Some(fut) => match fut.as_mut().poll(cx) {
                    Poll::Ready(res) => {
                        this.run = None;
                        match res {
                            Ok(v) => this.output = Some(v),
                            Err(e) => this.error = Some(e),
                        }
                        // Loop once more to drain what the run emitted before finishing.
                        this.rx.close();
                    }
                    Poll::Pending => {
                        // Events may have been emitted while polling the run.
                        return match this.rx.poll_recv(cx) {
                            Poll::Ready(Some(ev)) => Poll::Ready(Some(Ok(ev))),
                            _ => Poll::Pending,
                        };
                    }
                },
                None => {
                    return match this.rx.try_recv() {
                        Ok(ev) => Poll::Ready(Some(Ok(ev))),
                        Err(_) => Poll::Ready(this.error.take().map(Err)),
                    };
                }
            }
        }
    }
}
