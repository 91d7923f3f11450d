//! Server-sent events exactly as the LangGraph server frames them: `event:`/`data:` lines ending
//! in CRLF, `id:` lines only for resumable streams, `: heartbeat` comments when idle, and no
//! `end` event (the body just ends, after the run's final status is stored).

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use bytes::Bytes;
use futures::Stream;
use serde_json::Value as Json;
use tokio::sync::broadcast;

use crate::runs::{CancelAction, Frame, RunHandle};

/// Frames one event.
pub(crate) fn frame(name: &str, data: &str, id: Option<&str>) -> Bytes {
    let mut s = format!("event: {name}\r\ndata: {data}\r\n");
    if let Some(id) = id {
        s.push_str("id: ");
        s.push_str(id);
        s.push_str("\r\n");
    }
    s.push_str("\r\n");
    Bytes::from(s)
}

const HEARTBEAT: &[u8] = b": heartbeat\r\n\r\n";

/// Cancels the run if the client goes away before it ended (`on_disconnect: "cancel"`).
struct DisconnectGuard {
    handle: Arc<RunHandle>,
    armed: bool,
}

impl DisconnectGuard {
    fn disarm(&mut self) {
        self.armed = false;
    }
}

impl Drop for DisconnectGuard {
    fn drop(&mut self) {
        if self.armed && self.handle.done.borrow().is_none() {
            self.handle.cancel(CancelAction::Interrupt);
        }
    }
}

struct SseState {
    rx: broadcast::Receiver<Frame>,
    queue: VecDeque<Bytes>,
    handle: Arc<RunHandle>,
    /// Modes to pass (`None`: all).
    filter: Option<Vec<String>>,
    heartbeat: Duration,
    ended: bool,
    last_seq: u64,
    guard: DisconnectGuard,
}

/// Options of one SSE response.
pub(crate) struct SseOptions {
    /// Events to send before the live ones (the metadata event, a replay).
    pub(crate) prelude: Vec<Bytes>,
    /// Only these modes (a join's `stream_mode`).
    pub(crate) filter: Option<Vec<String>>,
    /// Cancel the run when the client disconnects.
    pub(crate) cancel_on_disconnect: bool,
    /// Idle time before a heartbeat.
    pub(crate) heartbeat: Duration,
    /// Highest event sequence number already sent in the prelude.
    pub(crate) last_seq: u64,
}

/// The body of an SSE response following a run's events until it ends.
pub(crate) fn run_stream(handle: Arc<RunHandle>, rx: broadcast::Receiver<Frame>, opts: SseOptions) -> Body {
    let state = SseState {
        rx,
        queue: opts.prelude.into(),
        guard: DisconnectGuard { handle: handle.clone(), armed: opts.cancel_on_disconnect },
        handle,
        filter: opts.filter,
        heartbeat: opts.heartbeat,
        ended: false,
        last_seq: opts.last_seq,
    };
    Body::from_stream(events(state))
}

fn events(state: SseState) -> impl Stream<Item = Result<Bytes, std::convert::Infallible>> {
    futures::stream::unfold(state, |mut st| async move {
        loop {
            if let Some(b) = st.queue.pop_front() {
                return Some((Ok(b), st));
            }
            if st.ended {
                st.guard.disarm();
                return None;
            }
            // A subscriber that joined after the run ended would wait forever for `End`.
            if st.handle.done.borrow().is_some() && st.rx.is_empty() {
                st.ended = true;
                continue;
            }
            match tokio::time::timeout(st.heartbeat, st.rx.recv()).await {
                Err(_) => return Some((Ok(Bytes::from_static(HEARTBEAT)), st)),
                Ok(Ok(Frame::End)) | Ok(Err(broadcast::error::RecvError::Closed)) => st.ended = true,
                Ok(Ok(Frame::Event { seq, id, name, mode, data })) => {
                    if seq <= st.last_seq {
                        continue;
                    }
                    st.last_seq = seq;
                    if st.filter.as_ref().is_some_and(|f| !f.contains(&mode) && mode != "error") {
                        continue;
                    }
                    let id = st.handle.resumable.then_some(id.as_str());
                    return Some((Ok(frame(&name, &data, id)), st));
                }
                Ok(Err(broadcast::error::RecvError::Lagged(n))) => {
                    // Bounded buffers: a client this far behind is dropped rather than letting the
                    // run's events pile up in memory. The run itself goes on.
                    let err = serde_json::json!({
                        "error": "SlowConsumer",
                        "message": format!("the client fell {n} events behind; rejoin the run's stream"),
                    });
                    st.queue.push_back(frame("error", &err.to_string(), None));
                    st.ended = true;
                    st.guard.disarm();
                }
            }
        }
    })
}

/// The body of `/wait` and `/join`: a newline every heartbeat while the run goes on (LangGraph's
/// keep-alive; JSON parsers skip it), then the JSON.
pub(crate) fn wait_body(handle: Arc<RunHandle>, heartbeat: Duration, cancel_on_disconnect: bool) -> Body {
    struct W {
        handle: Arc<RunHandle>,
        sent: bool,
        heartbeat: Duration,
        guard: DisconnectGuard,
    }
    let w = W {
        guard: DisconnectGuard { handle: handle.clone(), armed: cancel_on_disconnect },
        handle,
        sent: false,
        heartbeat,
    };
    let s = futures::stream::unfold(w, |mut w| async move {
        if w.sent {
            w.guard.disarm();
            return None;
        }
        let handle = w.handle.clone();
        match tokio::time::timeout(w.heartbeat, handle.wait()).await {
            Err(_) => Some((Ok::<_, std::convert::Infallible>(Bytes::from_static(b"\n")), w)),
            Ok(body) => {
                w.sent = true;
                Some((Ok(Bytes::from(json_text(&body))), w))
            }
        }
    });
    Body::from_stream(s)
}

/// Compact JSON text.
pub(crate) fn json_text(v: &Json) -> String {
    serde_json::to_string(v).unwrap_or_else(|_| "null".into())
}
