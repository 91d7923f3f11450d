//! Runs: starting them on a thread (with a multitask strategy), executing them on the engine,
//! fanning their events out to SSE subscribers, cancelling them, and recording how they ended.
//!
//! One run at a time per thread: each run's task waits on the thread's FIFO lock, so `enqueue`
//! is just "start a task". The run's final status and the thread's status are written to the
//! store *before* subscribers are told the run ended, so an SDK that checks the run after the
//! stream closes never sees it `running` (and never reconnects).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use futures::StreamExt;
use serde_json::{Value as Json, json};
use stategraph_core::checkpoint::{CheckpointConfig, CheckpointId};
use stategraph_core::{
    Command, Durability, Error as EngineError, Goto, Input, RunConfig, Send as SendPacket, StreamMode, StreamOptions,
    Value,
};
use tokio::sync::{broadcast, watch};
use tracing::Instrument;

use crate::error::{ApiResult, ServerError};
use crate::graphs::GraphEntry;
use crate::state::AppState;
use crate::store::{Run, Thread};

/// One SSE event of a run, or the end marker.
#[derive(Debug, Clone)]
pub(crate) enum Frame {
    /// An event: `event: name`, `data: json`, and its id (sent when the stream is resumable).
    Event { seq: u64, id: String, name: String, mode: String, data: String },
    /// The run ended (its status is already stored).
    End,
}

/// How a cancelled run ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CancelAction {
    /// The run stops; its status becomes `interrupted`; its checkpoints stay.
    Interrupt,
    /// The run stops and is deleted; the thread's next run starts from where this one started.
    Rollback,
}

/// A run that is pending or running, as subscribers see it.
pub(crate) struct RunHandle {
    pub(crate) run_id: String,
    pub(crate) thread_id: String,
    pub(crate) resumable: bool,
    pub(crate) events: broadcast::Sender<Frame>,
    /// Every event so far (kept only for resumable runs, for `Last-Event-ID`).
    history: Mutex<Vec<Frame>>,
    cancel: watch::Sender<Option<CancelAction>>,
    /// The `/wait` body once the run ended.
    pub(crate) done: watch::Sender<Option<Json>>,
    seq: AtomicU64,
}

impl RunHandle {
    /// Asks the run to stop.
    pub(crate) fn cancel(&self, action: CancelAction) {
        self.cancel.send_if_modified(|current| {
            if current.is_none() {
                *current = Some(action);
                true
            } else {
                false
            }
        });
    }

    /// Events after `last_id` (a resumable run's history), for `Last-Event-ID` reconnects.
    pub(crate) fn replay_after(&self, last_id: Option<&str>) -> Vec<Frame> {
        let Some(last) = last_id else { return Vec::new() };
        let after: u64 = last.rsplit('-').next().and_then(|s| s.parse().ok()).unwrap_or(0);
        let history = self.history.lock().unwrap_or_else(|e| e.into_inner());
        history.iter().filter(|f| matches!(f, Frame::Event { seq, .. } if *seq > after)).cloned().collect()
    }

    /// The `/wait` body, waiting for the run to end.
    pub(crate) async fn wait(&self) -> Json {
        let mut rx = self.done.subscribe();
        loop {
            if let Some(body) = rx.borrow_and_update().clone() {
                return body;
            }
            if rx.changed().await.is_err() {
                return Json::Null;
            }
        }
    }

    fn publish(&self, name: String, mode: String, data: String) {
        let seq = self.seq.fetch_add(1, Ordering::SeqCst) + 1;
        let frame = Frame::Event { seq, id: format!("{}-{seq}", crate::time::now_millis()), name, mode, data };
        if self.resumable {
            self.history.lock().unwrap_or_else(|e| e.into_inner()).push(frame.clone());
        }
        // No subscriber is fine: the run goes on (on_disconnect=continue).
        let _ = self.events.send(frame);
    }
}

/// The active runs and the per-thread locks.
#[derive(Default)]
pub(crate) struct RunManager {
    /// PostgreSQL: the connection holding this process's thread locks (session advisory locks,
    /// released by PostgreSQL if the process dies).
    pg_locks: Option<PgLocks>,
    active: Mutex<HashMap<String, Arc<RunHandle>>>,
    thread_locks: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
    /// Checkpoint a thread's next run starts from after a rollback.
    rollback_heads: Mutex<HashMap<String, Option<CheckpointId>>>,
    /// Serialises "check busy, then register" so two `reject` runs cannot both start.
    admission: tokio::sync::Mutex<()>,
}

/// Thread locks shared by every process on one PostgreSQL database: one session advisory lock
/// per running thread, all held on one connection of this process.
pub(crate) struct PgLocks {
    pool: sqlx::PgPool,
    conn: tokio::sync::Mutex<Option<sqlx::PgConnection>>,
}

impl PgLocks {
    /// Tries to take the thread's lock; `false` when another process holds it.
    async fn try_lock(&self, thread_id: &str) -> Result<bool, sqlx::Error> {
        let mut conn = self.conn.lock().await;
        if conn.is_none() {
            *conn = Some(self.pool.acquire().await?.detach());
        }
        let Some(c) = conn.as_mut() else { return Ok(false) };
        let key = crate::store::thread_lock_key(thread_id);
        match sqlx::query_scalar::<_, bool>("SELECT pg_try_advisory_lock($1)").bind(key).fetch_one(&mut *c).await {
            Ok(got) => Ok(got),
            Err(e) => {
                // A broken connection lost every lock it held; the next attempt reconnects.
                *conn = None;
                Err(e)
            }
        }
    }

    async fn unlock(&self, thread_id: &str) {
        let mut conn = self.conn.lock().await;
        if let Some(c) = conn.as_mut() {
            let key = crate::store::thread_lock_key(thread_id);
            if let Err(e) = sqlx::query("SELECT pg_advisory_unlock($1)").bind(key).execute(&mut *c).await {
                tracing::error!(error = %e, thread_id, "cannot release the thread lock");
                *conn = None;
            }
        }
    }
}

impl RunManager {
    /// The run manager for a store: PostgreSQL stores get cross-process thread locks.
    pub(crate) fn for_store(store: &crate::store::Store) -> RunManager {
        let pg_locks = match store.db() {
            crate::store::Db::Postgres(pool) => {
                Some(PgLocks { pool: pool.clone(), conn: tokio::sync::Mutex::new(None) })
            }
            crate::store::Db::Sqlite(_) => None,
        };
        RunManager { pg_locks, ..RunManager::default() }
    }

    /// The run, if pending or running.
    pub(crate) fn get(&self, run_id: &str) -> Option<Arc<RunHandle>> {
        self.active.lock().unwrap_or_else(|e| e.into_inner()).get(run_id).cloned()
    }

    /// How many runs are pending or running.
    pub(crate) fn active_count(&self) -> usize {
        self.active.lock().unwrap_or_else(|e| e.into_inner()).len()
    }

    /// The thread's pending and running runs.
    pub(crate) fn of_thread(&self, thread_id: &str) -> Vec<Arc<RunHandle>> {
        let active = self.active.lock().unwrap_or_else(|e| e.into_inner());
        active.values().filter(|h| h.thread_id == thread_id).cloned().collect()
    }

    fn thread_lock(&self, thread_id: &str) -> Arc<tokio::sync::Mutex<()>> {
        let mut locks = self.thread_locks.lock().unwrap_or_else(|e| e.into_inner());
        locks.entry(thread_id.to_owned()).or_default().clone()
    }

    fn remove(&self, run_id: &str) {
        self.active.lock().unwrap_or_else(|e| e.into_inner()).remove(run_id);
    }
}

/// A parsed run request body (`/threads/{id}/runs*`, `/runs/*`). Unknown fields are ignored.
pub(crate) struct RunRequest {
    pub(crate) assistant_id: String,
    pub(crate) input: Json,
    pub(crate) command: Option<Json>,
    pub(crate) stream_mode: Vec<String>,
    pub(crate) subgraphs: bool,
    pub(crate) resumable: bool,
    pub(crate) config: Json,
    pub(crate) context: Json,
    pub(crate) metadata: Json,
    pub(crate) checkpoint_id: Option<CheckpointId>,
    pub(crate) interrupt_before: Option<Vec<String>>,
    pub(crate) interrupt_after: Option<Vec<String>>,
    /// Our `breakpoints` extension (see `breakpoints.rs`), parsed; the raw list is kept for the run's kwargs.
    pub(crate) breakpoints: Vec<stategraph_core::Breakpoint>,
    pub(crate) breakpoints_json: Json,
    pub(crate) multitask_strategy: String,
    pub(crate) if_not_exists: String,
    pub(crate) on_disconnect_cancel: bool,
    pub(crate) durability: Durability,
}

const STREAM_MODES: [&str; 9] =
    ["values", "updates", "messages", "messages-tuple", "custom", "debug", "events", "tasks", "checkpoints"];

fn field_err(name: &str, want: &str, got: &Json) -> ServerError {
    ServerError::Unprocessable(format!("{got} is not valid for `{name}`: expected {want}"))
}

fn opt_bool(body: &Json, name: &str) -> ApiResult<bool> {
    match body.get(name) {
        None | Some(Json::Null) => Ok(false),
        Some(Json::Bool(b)) => Ok(*b),
        Some(other) => Err(field_err(name, "a boolean", other)),
    }
}

fn opt_str<'a>(body: &'a Json, name: &str, allowed: &[&str], default: &'a str) -> ApiResult<&'a str> {
    match body.get(name) {
        None | Some(Json::Null) => Ok(default),
        Some(Json::String(s)) if allowed.contains(&s.as_str()) => Ok(s),
        Some(other) => Err(field_err(name, &format!("one of {allowed:?}"), other)),
    }
}

fn opt_object(body: &Json, name: &str) -> ApiResult<Json> {
    match body.get(name) {
        None | Some(Json::Null) => Ok(json!({})),
        Some(v @ Json::Object(_)) => Ok(v.clone()),
        Some(other) => Err(field_err(name, "an object", other)),
    }
}

fn node_list(body: &Json, name: &str) -> ApiResult<Option<Vec<String>>> {
    match body.get(name) {
        None | Some(Json::Null) => Ok(None),
        Some(Json::String(s)) if s == "*" => Ok(Some(vec!["*".into()])),
        Some(Json::Array(items)) => items
            .iter()
            .map(|i| i.as_str().map(str::to_owned).ok_or_else(|| field_err(name, "\"*\" or a list of node names", i)))
            .collect::<ApiResult<Vec<_>>>()
            .map(Some),
        Some(other) => Err(field_err(name, "\"*\" or a list of node names", other)),
    }
}

/// Parses a checkpoint id given as a string.
pub(crate) fn parse_checkpoint_id(s: &str) -> ApiResult<CheckpointId> {
    s.parse().map_err(|_| ServerError::Unprocessable(format!("Invalid checkpoint ID: {s}")))
}

/// `stream_mode` as a string, a list, or absent (`["values"]`).
pub(crate) fn parse_stream_modes(v: Option<&Json>) -> ApiResult<Vec<String>> {
    let modes: Vec<String> = match v {
        None | Some(Json::Null) => vec!["values".into()],
        Some(Json::String(s)) => vec![s.clone()],
        Some(Json::Array(items)) => {
            items.iter().map(|i| i.as_str().map(str::to_owned).unwrap_or_else(|| i.to_string())).collect()
        }
        Some(other) => vec![other.to_string()],
    };
    for m in &modes {
        if !STREAM_MODES.contains(&m.as_str()) {
            return Err(ServerError::Unprocessable(format!(
                "\"{m}\" is not a valid stream_mode: expected one of {STREAM_MODES:?}"
            )));
        }
    }
    Ok(modes)
}

impl RunRequest {
    /// Reads and checks a run body.
    pub(crate) fn parse(body: &Json) -> ApiResult<RunRequest> {
        if !body.is_object() {
            return Err(ServerError::Unprocessable("the request body must be a JSON object".into()));
        }
        let assistant_id = match body.get("assistant_id") {
            Some(Json::String(s)) => s.clone(),
            None | Some(Json::Null) => {
                return Err(ServerError::Unprocessable("'assistant_id' is a required property".into()));
            }
            Some(other) => return Err(field_err("assistant_id", "a string", other)),
        };
        let command = match body.get("command") {
            None | Some(Json::Null) => None,
            Some(c @ Json::Object(_)) => Some(c.clone()),
            Some(other) => return Err(field_err("command", "an object", other)),
        };
        let config = opt_object(body, "config")?;
        let checkpoint_text = body
            .get("checkpoint_id")
            .and_then(Json::as_str)
            .or_else(|| body.get("checkpoint").and_then(|c| c.get("checkpoint_id")).and_then(Json::as_str))
            .or_else(|| config.get("configurable").and_then(|c| c.get("checkpoint_id")).and_then(Json::as_str));
        let checkpoint_id = checkpoint_text.map(parse_checkpoint_id).transpose()?;
        let durability = match opt_str(body, "durability", &["sync", "async", "exit"], "async")? {
            "sync" => Durability::Sync,
            "exit" => Durability::Exit,
            _ => Durability::Async,
        };
        Ok(RunRequest {
            assistant_id,
            input: body.get("input").cloned().unwrap_or(Json::Null),
            command,
            stream_mode: parse_stream_modes(body.get("stream_mode"))?,
            subgraphs: opt_bool(body, "stream_subgraphs")?,
            resumable: opt_bool(body, "stream_resumable")?,
            context: opt_object(body, "context")?,
            metadata: opt_object(body, "metadata")?,
            config,
            checkpoint_id,
            interrupt_before: node_list(body, "interrupt_before")?,
            interrupt_after: node_list(body, "interrupt_after")?,
            breakpoints: crate::breakpoints::parse(body)?,
            breakpoints_json: body.get("breakpoints").cloned().unwrap_or(Json::Null),
            multitask_strategy: opt_str(
                body,
                "multitask_strategy",
                &["reject", "interrupt", "rollback", "enqueue"],
                "enqueue",
            )?
            .to_owned(),
            if_not_exists: opt_str(body, "if_not_exists", &["reject", "create"], "reject")?.to_owned(),
            on_disconnect_cancel: opt_str(body, "on_disconnect", &["cancel", "continue"], "continue")? == "cancel",
            durability,
        })
    }

    fn kwargs(&self, run_id: &str, thread_id: &str, entry: &GraphEntry, assistant_id: &str, temporary: bool) -> Json {
        let mut configurable = self.config.get("configurable").cloned().unwrap_or_else(|| json!({}));
        if let Some(c) = configurable.as_object_mut() {
            c.insert("run_id".into(), json!(run_id));
            c.insert("thread_id".into(), json!(thread_id));
            c.insert("graph_id".into(), json!(entry.graph_id));
            c.insert("assistant_id".into(), json!(assistant_id));
        }
        let mut config = self.config.clone();
        config["configurable"] = configurable;
        let mut kwargs = json!({
            "input": self.input,
            "command": self.command,
            "config": config,
            "context": self.context,
            "stream_mode": self.stream_mode,
            "interrupt_before": self.interrupt_before,
            "interrupt_after": self.interrupt_after,
            "webhook": null,
            "feedback_keys": null,
            "temporary": temporary,
            "subgraphs": self.subgraphs,
            "resumable": self.resumable,
            "checkpoint_during": true,
            "durability": match self.durability { Durability::Sync => "sync", Durability::Exit => "exit", _ => "async" },
        });
        if !self.breakpoints_json.is_null() {
            kwargs["breakpoints"] = self.breakpoints_json.clone();
        }
        kwargs
    }

    fn engine_input(&self) -> Input {
        let Some(cmd) = &self.command else { return Input::Value(Value::from(self.input.clone())) };
        let mut command = Command::new();
        if let Some(resume) = cmd.get("resume") {
            command = match resume.as_object() {
                // LangGraph resumes several interrupts at once with a map keyed by interrupt id.
                Some(map) if !map.is_empty() && map.keys().all(|k| is_interrupt_id(k)) => {
                    command.resume_map(map.iter().map(|(k, v)| (k.clone(), Value::from(v.clone()))))
                }
                _ => command.resume(Value::from(resume.clone())),
            };
        }
        match cmd.get("update") {
            Some(Json::Array(pairs)) => {
                let mut obj = serde_json::Map::new();
                for p in pairs {
                    if let (Some(k), Some(v)) = (p.get(0).and_then(Json::as_str), p.get(1)) {
                        obj.insert(k.to_owned(), v.clone());
                    }
                }
                command = command.update(Value::from(Json::Object(obj)));
            }
            Some(Json::Null) | None => {}
            Some(u) => command = command.update(Value::from(u.clone())),
        }
        let gotos: Vec<&Json> = match cmd.get("goto") {
            Some(Json::Array(items)) => items.iter().collect(),
            Some(Json::Null) | None => Vec::new(),
            Some(g) => vec![g],
        };
        for g in gotos {
            match g {
                Json::String(node) => command = command.goto(Goto::from(node.clone())),
                Json::Object(o) => {
                    let node = o.get("node").and_then(Json::as_str).unwrap_or_default().to_owned();
                    let arg = o.get("arg").cloned().unwrap_or(Json::Null);
                    command = command.goto(SendPacket::new(node, Value::from(arg)));
                }
                _ => {}
            }
        }
        Input::Command(command)
    }

    fn engine_modes(&self) -> Vec<StreamMode> {
        let mut modes = Vec::new();
        for m in &self.stream_mode {
            let mode = match m.as_str() {
                "values" => StreamMode::Values,
                "updates" => StreamMode::Updates,
                "custom" => StreamMode::Custom,
                "debug" => StreamMode::Debug,
                "tasks" => StreamMode::Tasks,
                "checkpoints" => StreamMode::Checkpoints,
                "messages" | "messages-tuple" => StreamMode::Messages,
                // `events` is built from the debug stream (see `events.rs`).
                "events" => StreamMode::Debug,
                _ => continue,
            };
            if !modes.contains(&mode) {
                modes.push(mode);
            }
        }
        modes
    }
}

fn is_interrupt_id(k: &str) -> bool {
    k.len() == 32 && k.bytes().all(|b| b.is_ascii_hexdigit())
}

/// The SSE event name of an engine event: the mode (`messages-tuple` is sent as `messages`), with
/// `|<namespace>` segments for subgraph events.
fn event_name(mode: StreamMode, namespace: &[String]) -> String {
    let mut name = mode.as_str().to_owned();
    for segment in namespace {
        name.push('|');
        name.push_str(segment);
    }
    name
}

fn ns_name(base: &str, namespace: &[String]) -> String {
    let mut name = base.to_owned();
    for segment in namespace {
        name.push('|');
        name.push_str(segment);
    }
    name
}

/// LangGraph's `messages` stream mode from the engine's `[message, metadata]` tuples (which
/// `messages-tuple` sends as they are): `messages/metadata` once per message id
/// (`{"<id>": {"metadata": ...}}`), then for a chunk `messages/partial` with the message so far
/// (contents concatenated, chunk type turned into the message type), for a whole message
/// `messages/complete`, each as a one-element list.
#[derive(Default)]
pub(crate) struct MessageFrames {
    seen: HashMap<String, Json>,
}

impl MessageFrames {
    /// The SSE events (name, data) for one tuple.
    pub(crate) fn frames(&mut self, tuple: &Json) -> Vec<(&'static str, Json)> {
        let (Some(message), metadata) = (tuple.get(0), tuple.get(1).cloned().unwrap_or(Json::Null)) else {
            return Vec::new();
        };
        let id = message.get("id").and_then(Json::as_str).map(str::to_owned).unwrap_or_default();
        let mut out = Vec::new();
        if !self.seen.contains_key(&id) {
            out.push(("messages/metadata", json!({ id.clone(): {"metadata": metadata} })));
        }
        let kind = message.get("type").and_then(Json::as_str).unwrap_or("");
        let Some(base) = kind.strip_suffix("MessageChunk") else {
            self.seen.insert(id, message.clone());
            out.push(("messages/complete", json!([message])));
            return out;
        };
        let mut acc = match self.seen.remove(&id) {
            Some(prev) if prev.is_object() => {
                let mut acc = prev;
                if let (Some(a), Some(b)) =
                    (acc.get("content").and_then(Json::as_str), message.get("content").and_then(Json::as_str))
                {
                    acc["content"] = json!(format!("{a}{b}"));
                }
                for key in ["tool_calls", "invalid_tool_calls"] {
                    if let (Some(Json::Array(more)), Some(Json::Array(list))) = (message.get(key), acc.get_mut(key)) {
                        list.extend(more.iter().cloned());
                    }
                }
                if let Some(u) = message.get("usage_metadata").filter(|u| !u.is_null()) {
                    acc["usage_metadata"] = u.clone();
                }
                acc
            }
            _ => {
                let mut m = message.clone();
                if let Some(o) = m.as_object_mut() {
                    o.remove("tool_call_chunks");
                    o.remove("chunk_position");
                    let role = match base {
                        "AI" => "ai",
                        "Human" => "human",
                        "Tool" => "tool",
                        "System" => "system",
                        other => other,
                    };
                    o.insert("type".into(), json!(role.to_ascii_lowercase()));
                }
                m
            }
        };
        if let Some(o) = acc.as_object_mut() {
            o.remove("chunk_position");
        }
        out.push(("messages/partial", json!([acc.clone()])));
        self.seen.insert(id, acc);
        out
    }
}

/// What `start_run` returns to the handler.
pub(crate) struct Started {
    pub(crate) run: Run,
    pub(crate) handle: Arc<RunHandle>,
    /// Subscribed before the run started, so no event is missed.
    pub(crate) events: broadcast::Receiver<Frame>,
}

/// Starts a run on `thread_id` (or, with `None`, on a temporary thread deleted afterwards).
pub(crate) async fn start_run(
    state: &Arc<AppState>,
    thread_id: Option<&str>,
    mut req: RunRequest,
) -> ApiResult<Started> {
    let not_found = || ServerError::NotFound("Thread or assistant not found.".into());
    let (entry, stored) = resolve_assistant(state, &req.assistant_id).await?.ok_or_else(not_found)?;
    let assistant_id = match &stored {
        // A stored assistant's config and context are the defaults the run's own override.
        Some(a) => {
            req.config = merge_objects(&a.config, &req.config);
            req.context = merge_objects(&a.context, &req.context);
            a.assistant_id.clone()
        }
        None => entry.assistant_id.to_string(),
    };
    req.assistant_id = assistant_id.clone();
    let temporary = thread_id.is_none();
    let thread_id = match thread_id {
        Some(t) => t.to_owned(),
        None => uuid::Uuid::now_v7().to_string(),
    };
    let _admission = state.runs.admission.lock().await;
    let mut thread = match state.store.get_thread(&thread_id).await? {
        Some(t) => t,
        None if temporary || req.if_not_exists == "create" => {
            let t = Thread::new(thread_id.clone(), json!({}));
            state.store.insert_thread(&t).await?;
            t
        }
        None => return Err(not_found()),
    };
    let run_id = uuid::Uuid::now_v7().to_string();
    let mut metadata = json!({"created_by": "system", "graph_id": entry.graph_id, "assistant_id": assistant_id});
    if let (Some(m), Some(extra)) = (metadata.as_object_mut(), req.metadata.as_object()) {
        for (k, v) in extra {
            m.insert(k.clone(), v.clone());
        }
    }
    let now = crate::time::now();
    let run = Run {
        run_id: run_id.clone(),
        thread_id: thread_id.clone(),
        assistant_id: assistant_id.clone(),
        metadata,
        status: "pending".into(),
        kwargs: req.kwargs(&run_id, &thread_id, &entry, &assistant_id, temporary),
        multitask_strategy: req.multitask_strategy.clone(),
        created_at: now.clone(),
        updated_at: now.clone(),
    };
    // The thread's pending and running runs (in any process sharing the database).
    let busy = match state.store.admit_run(&run, req.multitask_strategy == "reject").await? {
        Err(_) => {
            return Err(ServerError::Conflict(
                "Thread is already running a task. Wait for it to finish or choose a different multitask strategy."
                    .into(),
            ));
        }
        Ok(busy) => busy,
    };
    let action = match req.multitask_strategy.as_str() {
        "interrupt" => Some(CancelAction::Interrupt),
        "rollback" => Some(CancelAction::Rollback),
        _ => None,
    };
    if let Some(action) = action {
        for other in &busy {
            cancel_anywhere(state, other, action).await;
        }
    }
    if let Some(m) = thread.metadata.as_object_mut() {
        m.insert("graph_id".into(), json!(entry.graph_id));
        m.insert("assistant_id".into(), json!(assistant_id));
    }
    thread.status = "busy".into();
    thread.updated_at = now;
    state.store.update_thread(&thread).await?;

    let (events, rx) = broadcast::channel(state.limits.sse_buffer.max(16));
    let handle = Arc::new(RunHandle {
        run_id: run_id.clone(),
        thread_id: thread_id.clone(),
        resumable: req.resumable,
        events,
        history: Mutex::new(Vec::new()),
        cancel: watch::channel(None).0,
        done: watch::channel(None).0,
        seq: AtomicU64::new(0),
    });
    state.runs.active.lock().unwrap_or_else(|e| e.into_inner()).insert(run_id.clone(), handle.clone());
    let task_state = state.clone();
    let task_handle = handle.clone();
    // The run's span: a child of the request's, parent of the engine's run/step/node spans.
    let span = tracing::info_span!(
        "run",
        run_id = %run_id,
        thread_id = %thread_id,
        assistant_id = %assistant_id,
        graph_id = %entry.graph_id,
    );
    tokio::spawn(
        async move {
            execute(task_state, task_handle, entry, req, temporary).await;
        }
        .instrument(span),
    );
    Ok(Started { run, handle, events: rx })
}

enum Outcome {
    Finished(Result<Value, EngineError>),
    Cancelled(CancelAction),
}

/// Runs one run to its end and records the result.
async fn execute(
    state: Arc<AppState>,
    handle: Arc<RunHandle>,
    entry: Arc<GraphEntry>,
    req: RunRequest,
    temporary: bool,
) {
    let mut cancel = handle.cancel.subscribe();
    let lock = state.runs.thread_lock(&handle.thread_id);
    let mut guard = tokio::select! {
        g = lock.lock_owned() => Some(g),
        _ = cancel.wait_for(Option::is_some) => None,
    };
    // Across processes (PostgreSQL): the thread's advisory lock, polled so a cancel still stops
    // a run that waits for it.
    let mut pg_locked = false;
    if guard.is_some()
        && let Some(locks) = &state.runs.pg_locks
    {
        loop {
            match locks.try_lock(&handle.thread_id).await {
                Ok(true) => {
                    pg_locked = true;
                    break;
                }
                Ok(false) => {}
                Err(e) => {
                    tracing::warn!(error = %e, thread_id = %handle.thread_id, "cannot take the thread lock; retrying")
                }
            }
            tokio::select! {
                _ = tokio::time::sleep(std::time::Duration::from_millis(20)) => {}
                _ = cancel.wait_for(Option::is_some) => {
                    guard = None;
                    break;
                }
            }
        }
    }
    let head_before = latest_checkpoint(&state, &handle.thread_id).await;
    // The guard is held until the run's end is recorded: a queued run must see a rollback's
    // restart point and the final state.
    let outcome = match &guard {
        None => Outcome::Cancelled(cancel.borrow().unwrap_or(CancelAction::Interrupt)),
        Some(_) => {
            if let Err(e) = state.store.set_run_status(&handle.run_id, "running").await {
                tracing::error!(error = %e, "cannot mark run running");
            }
            let rollback_head =
                state.runs.rollback_heads.lock().unwrap_or_else(|e| e.into_inner()).remove(&handle.thread_id);
            let mut config = RunConfig::new()
                .with_thread(handle.thread_id.clone())
                .with_run_id(handle.run_id.clone())
                .with_durability(req.durability)
                .with_context(Value::from(req.context.clone()))
                .with_cancel(state.drain.clone());
            if let Some(limit) = req.config.get("recursion_limit").and_then(Json::as_u64) {
                config = config.with_recursion_limit(limit as usize);
            }
            match (req.checkpoint_id, rollback_head) {
                (Some(id), _) | (None, Some(Some(id))) => config = config.with_checkpoint(id),
                _ => {}
            }
            if let Some(nodes) = &req.interrupt_before {
                config = config.with_interrupt_before(nodes.clone());
            }
            if let Some(nodes) = &req.interrupt_after {
                config = config.with_interrupt_after(nodes.clone());
            }
            for bp in &req.breakpoints {
                config = config.with_breakpoint(bp.clone());
            }
            let mut meta = stategraph_core::Map::new();
            meta.insert("graph_id".into(), Value::from(entry.graph_id.as_str()));
            meta.insert("assistant_id".into(), Value::from(req.assistant_id.as_str()));
            meta.insert("thread_id".into(), Value::from(handle.thread_id.as_str()));
            // `run_id` is not set here: the engine stores the run id itself (a second `run_id`
            // key would make the stored metadata unreadable).
            if let Some(extra) = req.metadata.as_object() {
                for (k, v) in
                    extra.iter().filter(|(k, _)| !matches!(k.as_str(), "run_id" | "source" | "step" | "parents"))
                {
                    meta.insert(k.as_str().into(), Value::from(v.clone()));
                }
            }
            config.metadata = meta;
            let want_debug = req.stream_mode.iter().any(|m| m == "debug");
            let mut events = req.stream_mode.iter().any(|m| m == "events").then(|| {
                let meta = match Value::from(config.metadata.clone()).to_json() {
                    Json::Object(mut m) => {
                        m.insert("run_id".into(), json!(handle.run_id));
                        m
                    }
                    _ => serde_json::Map::new(),
                };
                crate::events::EventFrames::new(&entry.graph_id, &handle.run_id, meta)
            });
            if let Some(ev) = &events {
                handle.publish("events".into(), "events".into(), ev.start(&req.input).to_string());
            }
            let options = StreamOptions::modes(req.engine_modes()).with_subgraphs(req.subgraphs);
            let mut stream = entry.graph.stream(req.engine_input(), config, options);
            let mut error = None;
            let want_tuple = req.stream_mode.iter().any(|m| m == "messages-tuple");
            let want_messages = req.stream_mode.iter().any(|m| m == "messages");
            let mut messages = MessageFrames::default();
            let cancelled = loop {
                tokio::select! {
                    item = stream.next() => match item {
                        Some(Ok(ev)) if ev.mode == StreamMode::Messages => {
                            let tuple = ev.data.to_json();
                            if want_tuple {
                                handle.publish(event_name(ev.mode, &ev.namespace), "messages-tuple".into(), tuple.to_string());
                            }
                            if want_messages {
                                for (name, data) in messages.frames(&tuple) {
                                    handle.publish(ns_name(name, &ev.namespace), "messages".into(), data.to_string());
                                }
                            }
                        }
                        Some(Ok(ev)) if ev.mode == StreamMode::Debug => {
                            let data = ev.data.to_json();
                            if let Some(frames) = events.as_mut().filter(|_| ev.namespace.is_empty()) {
                                for e in frames.on_debug(&data) {
                                    handle.publish("events".into(), "events".into(), e.to_string());
                                }
                            }
                            if want_debug {
                                handle.publish(event_name(ev.mode, &ev.namespace), ev.mode.as_str().to_owned(), data.to_string());
                            }
                        }
                        Some(Ok(ev)) => {
                            let data = ev.data.to_json().to_string();
                            handle.publish(event_name(ev.mode, &ev.namespace), ev.mode.as_str().to_owned(), data);
                        }
                        Some(Err(e)) => { error = Some(e); break None; }
                        None => break None,
                    },
                    r = cancel.wait_for(Option::is_some) => {
                        break Some(r.ok().and_then(|v| *v).unwrap_or(CancelAction::Interrupt));
                    }
                }
            };
            match (cancelled, error) {
                // Dropping the stream drops the run's future: the engine stops at its next await.
                (Some(action), _) => {
                    drop(stream);
                    Outcome::Cancelled(action)
                }
                // A shutdown drain stopped the run at a step boundary, its checkpoint saved.
                (None, Some(stategraph_core::Error::Cancelled)) => Outcome::Cancelled(CancelAction::Interrupt),
                (None, Some(e)) => Outcome::Finished(Err(e)),
                (None, None) => {
                    let output = stream.output().cloned().unwrap_or(Value::Null);
                    if let Some(ev) = &events {
                        handle.publish("events".into(), "events".into(), ev.end(&output.to_json()).to_string());
                    }
                    Outcome::Finished(Ok(output))
                }
            }
        }
    };
    let body = finish(&state, &handle, &entry, outcome, head_before, temporary).await;
    if pg_locked && let Some(locks) = &state.runs.pg_locks {
        locks.unlock(&handle.thread_id).await;
    }
    drop(guard);
    handle.done.send_replace(Some(body));
    let _ = handle.events.send(Frame::End);
    state.runs.remove(&handle.run_id);
}

async fn latest_checkpoint(state: &AppState, thread_id: &str) -> Option<CheckpointId> {
    let found = state.saver.get_tuple(&CheckpointConfig::thread(thread_id)).await.ok().flatten();
    found.and_then(|t| t.config.checkpoint_id)
}

/// The error as LangGraph's server reports it: `{"error": <exception class>, "message": ...}`.
pub(crate) fn error_json(e: &EngineError) -> Json {
    let message = match e {
        EngineError::NodeFailed { error, .. } => error.message().to_owned(),
        other => other.to_string(),
    };
    json!({"error": e.langgraph_name(), "message": message})
}

/// Stores the run's end and the thread's new state; returns the `/wait` body.
async fn finish(
    state: &AppState,
    handle: &RunHandle,
    entry: &GraphEntry,
    outcome: Outcome,
    head_before: Option<CheckpointId>,
    temporary: bool,
) -> Json {
    let (status, body, error) = match &outcome {
        Outcome::Finished(Ok(out)) => ("success", out.to_json(), None),
        Outcome::Finished(Err(e)) => {
            let err = error_json(e);
            handle.publish("error".into(), "error".into(), err.to_string());
            ("error", json!({"__error__": err}), Some(err))
        }
        Outcome::Cancelled(_) => ("interrupted", Json::Null, None),
    };
    if temporary {
        // Stateless runs leave nothing behind (LangGraph deletes their temporary thread).
        let _ = state.saver.delete_thread(&handle.thread_id).await;
        let _ = state.store.delete_thread(&handle.thread_id).await;
        return body;
    }
    let rollback = matches!(outcome, Outcome::Cancelled(CancelAction::Rollback));
    if rollback {
        let _ = state.store.delete_run(&handle.run_id).await;
        match head_before {
            // The run started the thread: rolling it back is deleting every checkpoint.
            None => {
                let _ = state.saver.delete_thread(&handle.thread_id).await;
            }
            // The checkpointer cannot delete one run's checkpoints: the thread's next run forks
            // from where this one started instead, leaving them as a dead branch in the history.
            Some(id) => {
                state
                    .runs
                    .rollback_heads
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .insert(handle.thread_id.clone(), Some(id));
            }
        }
    } else if let Err(e) = state.store.set_run_status(&handle.run_id, status).await {
        tracing::error!(error = %e, run_id = %handle.run_id, "cannot store the run's status");
    }
    let config = match (rollback, head_before) {
        (true, Some(id)) => CheckpointConfig::thread(&handle.thread_id).with_id(id),
        _ => CheckpointConfig::thread(&handle.thread_id),
    };
    let snapshot = entry.graph.get_state(&config).await.ok();
    if let Ok(Some(mut thread)) = state.store.get_thread(&handle.thread_id).await {
        let now = crate::time::now();
        let mut interrupts = serde_json::Map::new();
        if let Some(s) = &snapshot {
            thread.values = s.values.to_json();
            for t in &s.tasks {
                if !t.interrupts.is_empty() {
                    let list: Vec<Json> =
                        t.interrupts.iter().map(|i| json!({"id": i.id, "value": i.value.to_json()})).collect();
                    interrupts.insert(t.id.clone(), Json::Array(list));
                }
            }
        }
        let still_busy = match state.store.active_runs(&handle.thread_id).await {
            Ok(active) => active.iter().any(|r| *r != handle.run_id),
            Err(_) => state.runs.of_thread(&handle.thread_id).iter().any(|h| h.run_id != handle.run_id),
        };
        let paused = snapshot.as_ref().is_some_and(|s| !s.next.is_empty());
        thread.status = if still_busy {
            "busy"
        } else if error.is_some() {
            "error"
        } else if paused {
            "interrupted"
        } else {
            "idle"
        }
        .into();
        thread.error = Some(error.unwrap_or(Json::Null));
        thread.interrupts = Some(Json::Object(interrupts));
        if thread.config.get("configurable").is_none() {
            thread.config = json!({"configurable": {}});
        }
        thread.updated_at = now.clone();
        thread.state_updated_at = now;
        if let Err(e) = state.store.update_thread(&thread).await {
            tracing::error!(error = %e, "cannot store the thread's status");
        }
        if body.is_null() {
            return thread.values;
        }
    }
    body
}

/// Cancels every active run of a thread and waits for them to stop.
pub(crate) async fn cancel_thread_runs(state: &AppState, thread_id: &str) {
    for h in state.runs.of_thread(thread_id) {
        h.cancel(CancelAction::Interrupt);
        h.wait().await;
    }
    // Runs of other processes sharing the database.
    for run_id in state.store.active_runs(thread_id).await.unwrap_or_default() {
        cancel_anywhere(state, &run_id, CancelAction::Interrupt).await;
        let _ = wait_elsewhere(state, thread_id, &run_id).await;
    }
}

/// Parses `action=interrupt|rollback`.
pub(crate) fn parse_action(s: Option<&str>) -> ApiResult<CancelAction> {
    match s {
        None | Some("interrupt") => Ok(CancelAction::Interrupt),
        Some("rollback") => Ok(CancelAction::Rollback),
        Some(other) => {
            Err(ServerError::Unprocessable(format!("Invalid action `{other}`: expected interrupt or rollback")))
        }
    }
}

/// Asks a run to stop, wherever it runs: here, or (PostgreSQL) in another server process, which
/// hears it on the `sg_server_cancel` channel.
pub(crate) async fn cancel_anywhere(state: &AppState, run_id: &str, action: CancelAction) {
    if let Some(h) = state.runs.get(run_id) {
        h.cancel(action);
        return;
    }
    if let crate::store::Db::Postgres(pool) = state.store.db() {
        let payload = format!("{run_id} {}", if action == CancelAction::Rollback { "rollback" } else { "interrupt" });
        if let Err(e) = sqlx::query("SELECT pg_notify('sg_server_cancel', $1)").bind(payload).execute(pool).await {
            tracing::error!(error = %e, run_id, "cannot send the cancellation to the other server processes");
        }
    }
}

/// PostgreSQL: listens for cancellations sent by other processes and cancels the named runs
/// that run here. Ends when the server state is dropped.
pub(crate) async fn spawn_cancel_listener(state: &Arc<AppState>) -> Result<(), ServerError> {
    let crate::store::Db::Postgres(pool) = state.store.db() else { return Ok(()) };
    let mut listener = sqlx::postgres::PgListener::connect_with(pool).await?;
    listener.listen("sg_server_cancel").await?;
    let weak = Arc::downgrade(state);
    tokio::spawn(async move {
        loop {
            let note = match listener.recv().await {
                Ok(n) => n,
                Err(e) => {
                    tracing::warn!(error = %e, "cancellation listener: reconnecting");
                    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
                    continue;
                }
            };
            let Some(state) = weak.upgrade() else { break };
            let mut parts = note.payload().split(' ');
            if let (Some(run_id), Some(action)) = (parts.next(), parts.next())
                && let Some(h) = state.runs.get(run_id)
            {
                h.cancel(if action == "rollback" { CancelAction::Rollback } else { CancelAction::Interrupt });
            }
        }
    });
    Ok(())
}

/// Waits until a run that is not running in this process has a final status (another process
/// runs it); the final status, or `None` if the run disappeared.
pub(crate) async fn wait_elsewhere(state: &AppState, thread_id: &str, run_id: &str) -> ApiResult<Option<Run>> {
    loop {
        let run = state.store.get_run(thread_id, run_id).await?;
        match &run {
            Some(r) if matches!(r.status.as_str(), "pending" | "running") => {}
            _ => return Ok(run),
        }
        if let Some(h) = state.runs.get(run_id) {
            h.wait().await;
            continue;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

/// `base` with `over`'s keys on top (one level; `configurable` merged one level deeper).
fn merge_objects(base: &Json, over: &Json) -> Json {
    let mut out = base.as_object().cloned().unwrap_or_default();
    if let Some(o) = over.as_object() {
        for (k, v) in o {
            match (out.get_mut(k), v) {
                (Some(Json::Object(b)), Json::Object(v)) if k == "configurable" => {
                    b.extend(v.iter().map(|(k, v)| (k.clone(), v.clone())));
                }
                _ => {
                    out.insert(k.clone(), v.clone());
                }
            }
        }
    }
    Json::Object(out)
}

/// The graph and, for an assistant created through the API, its record, of an assistant id or
/// a graph id (run bodies accept both).
pub(crate) async fn resolve_assistant(
    state: &AppState,
    id: &str,
) -> ApiResult<Option<(Arc<GraphEntry>, Option<crate::store::Assistant>)>> {
    if let Some(entry) = state.graphs.resolve(id) {
        return Ok(Some((entry, None)));
    }
    let Ok(uuid) = uuid::Uuid::parse_str(id) else { return Ok(None) };
    let Some(a) = state.store.get_assistant(&uuid.to_string()).await? else { return Ok(None) };
    Ok(state.graphs.by_graph_id(&a.graph_id).map(|e| (e, Some(a))))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    #[test]
    fn messages_mode_sends_metadata_once_then_accumulated_partials() {
        let mut m = super::MessageFrames::default();
        let chunk = |text: &str, last: bool| {
            json!([{"content": text, "type": "AIMessageChunk", "id": "lc_run--1", "tool_calls": [], "invalid_tool_calls": [],
                    "tool_call_chunks": [], "chunk_position": if last { json!("last") } else { json!(null) },
                    "additional_kwargs": {}, "response_metadata": {}, "name": null, "usage_metadata": null},
                   {"langgraph_node": "chat", "langgraph_step": 1}])
        };
        let first = m.frames(&chunk("echo:", false));
        assert_eq!(
            first[0],
            ("messages/metadata", json!({"lc_run--1": {"metadata": {"langgraph_node": "chat", "langgraph_step": 1}}}))
        );
        assert_eq!(first[1].0, "messages/partial");
        assert_eq!(first[1].1[0]["content"], "echo:");
        assert_eq!(first[1].1[0]["type"], "ai");
        assert!(first[1].1[0].get("tool_call_chunks").is_none() && first[1].1[0].get("chunk_position").is_none());
        let second = m.frames(&chunk(" ", false));
        assert_eq!(second.len(), 1, "metadata only once per message");
        let third = m.frames(&chunk("hi", true));
        assert_eq!(third[0].1[0]["content"], "echo: hi");
        let whole = m.frames(&json!([{"content": "done", "type": "ai", "id": "m2"}, {}]));
        assert_eq!(whole[1], ("messages/complete", json!([{"content": "done", "type": "ai", "id": "m2"}])));
    }
}
