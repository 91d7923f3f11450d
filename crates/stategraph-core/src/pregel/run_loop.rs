//! The run loop: plans a step, runs its tasks concurrently, applies their writes, emits events,
//! and repeats until nothing is triggered or the recursion limit is reached.

use std::sync::Arc;

use futures::StreamExt;
use futures::stream::FuturesUnordered;
use tracing::Instrument;

use super::algo::{self, Checkpoint, PlannedTask, TaskPath, TaskWrites};
use crate::channels::Channel;
use crate::context::{RunConfig, TaskInfo};
use crate::graph::compiled::{BranchDef, ChannelId, ChannelRole, GraphInner, Input, NodeDef, NodeId};
use crate::stream::{Sink, StreamMode};
use crate::types::{Command, CommandGraph, END, Goto, NodeOutput, START, Send, describe};
use crate::value::{Map, Value, obj};
use crate::{Error, NodeContext, Result};

/// Runs a graph to completion.
pub(crate) async fn run(g: Arc<GraphInner>, input: Input, config: RunConfig, sink: Sink) -> Result<Value> {
    let span = tracing::info_span!("stategraph.run", graph = %g.name, ns = %sink.namespace.join("|"));
    Loop::new(g, config, sink).run(input).instrument(span).await
}

struct Loop {
    g: Arc<GraphInner>,
    config: Arc<RunConfig>,
    sink: Sink,
    channels: Vec<Box<dyn Channel>>,
    checkpoint: Checkpoint,
    step: i64,
    stop: i64,
    /// Checkpoint namespace of this graph (empty at the top level).
    namespace: Arc<str>,
    /// What push tasks list as their trigger.
    push_triggers: Arc<[Arc<str>]>,
    /// A `Command` given as input; the START task applies it (once) in step 0.
    input_command: Option<Command>,
}

impl Loop {
    fn new(g: Arc<GraphInner>, config: RunConfig, sink: Sink) -> Self {
        let channels = g.new_channels();
        let checkpoint = Checkpoint::new(&g);
        let namespace: Arc<str> =
            config.parent.as_ref().map(|p| Arc::from(p.checkpoint_ns.as_str())).unwrap_or_else(|| Arc::from(""));
        // LangGraph: a fresh run's input is step -1 and the limit counts steps after it.
        let step = -1;
        let stop = step + config.recursion_limit as i64 + 1;
        Loop {
            g,
            config: Arc::new(config),
            sink,
            channels,
            checkpoint,
            step,
            stop,
            namespace,
            push_triggers: Arc::from([Arc::from("__pregel_push")]),
            input_command: None,
        }
    }

    async fn run(mut self, input: Input) -> Result<Value> {
        if self.config.recursion_limit < 1 {
            return Err(Error::InvalidConfig("recursion_limit must be at least 1".into()));
        }
        let mut input_task =
            TaskWrites { path: TaskPath::Null, node: None, pull: false, writes: self.input_writes(input)? };
        let mut updated = algo::apply_writes(
            &self.g,
            &mut self.channels,
            &mut self.checkpoint,
            std::slice::from_mut(&mut input_task),
        )?;
        self.step += 1;
        loop {
            if self.step > self.stop {
                return Err(Error::GraphRecursion { limit: self.config.recursion_limit });
            }
            self.checkpoint.id = uuid::Uuid::now_v7();
            let tasks = algo::prepare_next_tasks(
                &self.g,
                &self.channels,
                &self.checkpoint,
                Some(&updated),
                self.step,
                self.stop,
                &self.namespace,
            );
            if tasks.is_empty() {
                break;
            }
            let span = tracing::debug_span!("stategraph.step", step = self.step, tasks = tasks.len());
            updated = if tasks.len() == 1 {
                self.run_single(tasks.into_iter().next().expect("one task")).instrument(span).await?
            } else {
                let mut results = self.run_tasks(&tasks).instrument(span).await?;
                drop(tasks); // release state views so reducers can append in place
                algo::apply_writes(&self.g, &mut self.channels, &mut self.checkpoint, &mut results)?
            };
            if self.sink.wants(StreamMode::Values) && updated.iter().any(|c| self.g.output_keys.contains(c)) {
                self.sink.emit(StreamMode::Values, self.output());
            }
            self.step += 1;
        }
        Ok(self.output())
    }

    fn output(&self) -> Value {
        algo::read_channels(&self.g, &self.channels, &self.g.output_keys)
    }

    fn input_writes(&mut self, input: Input) -> Result<Vec<(ChannelId, Value)>> {
        match input {
            Input::Value(Value::Null) => Err(Error::EmptyInput),
            Input::Value(v) => Ok(vec![(self.g.start_channel, v)]),
            Input::Command(cmd) => {
                if cmd.graph == CommandGraph::Parent {
                    return Err(Error::NoParentGraph { node: START.to_owned() });
                }
                if cmd.resume.is_some() {
                    // Resuming needs the interrupted run's saved state (persistence issue).
                    return Err(Error::InvalidConfig(
                        "Command(resume=...) needs a checkpointer to resume from; this run has none".into(),
                    ));
                }
                if cmd.update.is_none() && cmd.goto.is_empty() {
                    return Err(Error::EmptyInput);
                }
                // Like LangGraph, the command reaches the START task, which applies its update
                // and goto in step 0 (together with START's own edges). LangGraph also applies
                // the update a second time before step 0; we apply it once (see the parity case
                // `cmd_input_update_only`).
                self.input_command = Some(cmd);
                Ok(vec![(self.g.start_channel, Value::Null)])
            }
        }
    }

    /// Runs every task of the step concurrently (on this task: deterministic and cheap; nodes
    /// that block should move their work to `spawn_blocking`) and returns their writes. When a
    /// task fails, its siblings still run to the end, as in LangGraph: their results are streamed
    /// and their writes are what a checkpointer keeps as pending writes, so resuming does not
    /// redo them. The step then fails with the first error (in completion order).
    async fn run_tasks(&self, tasks: &[PlannedTask]) -> Result<Vec<TaskWrites>> {
        self.emit_task_starts(tasks);
        let mut results: Vec<TaskWrites> = Vec::with_capacity(tasks.len());
        let mut running: FuturesUnordered<_> =
            tasks.iter().map(|t| async move { (t, self.run_task(t, true).await) }).collect();
        let mut failure = None;
        while let Some((t, r)) = running.next().await {
            self.emit_task_result(&t.id, t.node, r.as_ref().map(|w| w.writes.as_slice()));
            match r {
                Ok(w) => results.push(w),
                Err(e) => {
                    failure.get_or_insert(e);
                }
            }
        }
        match failure {
            Some(e) => Err(e),
            None => Ok(results),
        }
    }

    /// A step with one task (the common sequential case): no concurrency bookkeeping, and its
    /// conditional edges read the channels after its writes are applied instead of a copy.
    async fn run_single(&mut self, t: PlannedTask) -> Result<Vec<ChannelId>> {
        self.emit_task_starts(std::slice::from_ref(&t));
        let node_id = t.node;
        let mut task = match self.run_task(&t, false).await {
            Ok(w) => w,
            Err(e) => {
                self.emit_task_result(&t.id, t.node, Err(&e));
                return Err(e);
            }
        };
        // Drop the task's input view now, so reducers can append in place.
        let PlannedTask { id: task_id, input, .. } = t;
        drop(input);
        let wants_result = self.wants_task_results() && !self.g.nodes[node_id].hidden;
        let own_writes = if wants_result { task.writes.clone() } else { Vec::new() };
        let g = self.g.clone();
        let (step, stop) = (self.step, self.stop);
        let node = &g.nodes[node_id];
        let result = if node.branches.is_empty() {
            algo::apply_writes(&g, &mut self.channels, &mut self.checkpoint, std::slice::from_mut(&mut task))
        } else {
            let mut router = |channels: &[Box<dyn Channel>]| -> Result<Vec<(ChannelId, Value)>> {
                let mut writes = Vec::new();
                for b in &node.branches {
                    let state = algo::read_state(channels, &b.reader, step, stop);
                    route_writes(&g, node, b, &state, &mut writes)?;
                }
                Ok(writes)
            };
            algo::apply_writes_routed(
                &g,
                &mut self.channels,
                &mut self.checkpoint,
                std::slice::from_mut(&mut task),
                Some(&mut router),
            )
        };
        if wants_result {
            match &result {
                Ok(_) => self.emit_task_result(&task_id, node_id, Ok(&own_writes)),
                Err(e) => self.emit_task_result(&task_id, node_id, Err(e)),
            }
        }
        result
    }

    fn wants_task_results(&self) -> bool {
        self.sink.wants(StreamMode::Updates) || self.sink.wants(StreamMode::Tasks) || self.sink.wants(StreamMode::Debug)
    }

    fn task_info(&self, t: &PlannedTask, node: &NodeDef) -> TaskInfo {
        TaskInfo {
            node: node.name.clone(),
            task_id: t.id.clone(),
            step: self.step,
            stop: self.stop,
            parent_ns: self.namespace.clone(),
            checkpoint_ns: std::sync::OnceLock::new(),
            triggers: self.trigger_names(t),
            config: self.config.clone(),
            sink: self.sink.clone(),
            metadata: node.metadata.clone(),
        }
    }

    fn trigger_names(&self, t: &PlannedTask) -> Arc<[Arc<str>]> {
        match t.path {
            TaskPath::Push(_) => self.push_triggers.clone(),
            _ => self.g.nodes[t.node].trigger_names.clone(),
        }
    }

    /// Runs one task and computes its writes. With `route_now` false, its conditional edges are
    /// left for [`algo::apply_writes_routed`] (single-task steps).
    async fn run_task(&self, t: &PlannedTask, route_now: bool) -> Result<TaskWrites> {
        let node = &self.g.nodes[t.node];
        let output = match &node.func {
            None => match &self.input_command {
                Some(cmd) => NodeOutput::Command(cmd.clone()),
                None => start_output(&self.g, &t.input)?,
            },
            Some(func) => {
                let info = Arc::new(self.task_info(t, node));
                let span = tracing::debug_span!("stategraph.node", node = %node.name, task = %t.id);
                call_with_retry(func, node, &t.input, info).instrument(span).await?
            }
        };
        let mut writes = Vec::new();
        match output_writes(&self.g, node, output, &mut writes) {
            Ok(()) => {}
            Err(Error::ParentCommand(_)) if self.config.parent.is_none() => {
                return Err(Error::NoParentGraph { node: node.name.to_string() });
            }
            Err(e) => return Err(e),
        }
        for &e in &node.edges {
            writes.push((e, Value::Null));
        }
        for &j in &node.joins {
            writes.push((j, Value::from(&node.name)));
        }
        if route_now {
            for b in &node.branches {
                let fresh = algo::read_fresh_state(&self.g, &self.channels, &writes, &b.reader, self.step, self.stop)?;
                route_writes(&self.g, node, b, &fresh, &mut writes)?;
            }
        }
        Ok(TaskWrites { path: t.path.clone(), node: Some(t.node), pull: matches!(t.path, TaskPath::Pull(_)), writes })
    }

    fn emit_task_starts(&self, tasks: &[PlannedTask]) {
        let tasks_mode = self.sink.wants(StreamMode::Tasks);
        let debug_mode = self.sink.wants(StreamMode::Debug);
        if !tasks_mode && !debug_mode {
            return;
        }
        for t in tasks {
            let node = &self.g.nodes[t.node];
            if node.hidden {
                continue;
            }
            let triggers: Value = self.trigger_names(t).iter().map(|s| Value::from(s.clone())).collect();
            let mut payload = obj! {
                "id" => t.id.as_str(),
                "name" => node.name.clone(),
                "input" => t.input.to_value(),
                "triggers" => triggers,
            };
            if !node.metadata.is_empty() {
                payload
                    .as_object_mut()
                    .expect("object")
                    .insert("metadata".into(), Value::from((*node.metadata).clone()));
            }
            if tasks_mode {
                self.sink.emit(StreamMode::Tasks, payload.clone());
            }
            if debug_mode {
                self.sink.emit(StreamMode::Debug, self.debug_event("task", payload));
            }
        }
    }

    /// Emits a task's `updates` chunk and its result in `tasks`/`debug`.
    fn emit_task_result(&self, id: &str, node_id: NodeId, r: std::result::Result<&[(ChannelId, Value)], &Error>) {
        let node = &self.g.nodes[node_id];
        if node.hidden {
            return;
        }
        let updates = self.sink.wants(StreamMode::Updates);
        let tasks_mode = self.sink.wants(StreamMode::Tasks);
        let debug_mode = self.sink.wants(StreamMode::Debug);
        if !updates && !tasks_mode && !debug_mode {
            return;
        }
        let state_writes: Vec<(&Arc<str>, &Value)> = match r {
            Ok(w) => w
                .iter()
                .filter(|(c, _)| self.g.channels[*c].role == ChannelRole::State)
                .map(|(c, v)| (&self.g.channels[*c].name, v))
                .collect(),
            Err(_) => Vec::new(),
        };
        if updates && r.is_ok() {
            self.sink.emit(StreamMode::Updates, obj! { node.name.clone() => updates_chunk(&state_writes) });
        }
        if tasks_mode || debug_mode {
            let error = r.err().map(task_error_json);
            let payload = obj! {
                "id" => id,
                "name" => node.name.clone(),
                "error" => error,
                "result" => result_chunk(&state_writes),
                "interrupts" => Value::array(),
            };
            if tasks_mode {
                self.sink.emit(StreamMode::Tasks, payload.clone());
            }
            if debug_mode {
                self.sink.emit(StreamMode::Debug, self.debug_event("task_result", payload));
            }
        }
    }

    fn debug_event(&self, kind: &str, payload: Value) -> Value {
        obj! {
            "step" => self.step,
            "timestamp" => now_rfc3339(),
            "type" => kind,
            "payload" => payload,
        }
    }
}

/// A task's error as it appears in `tasks` and `debug` events: the error class and its message.
fn task_error_json(e: &Error) -> Value {
    match e {
        Error::NodeFailed { error, .. } => obj! {"type" => error.kind(), "message" => error.message()},
        other => obj! {"type" => other.langgraph_name(), "message" => other.to_string()},
    }
}

/// `updates` chunk of one task, shaped like LangGraph's `map_output_updates`: the update as an
/// object, `null` when it wrote no state key, a list of one-key objects when it wrote a key twice.
fn updates_chunk(writes: &[(&Arc<str>, &Value)]) -> Value {
    if writes.is_empty() {
        return Value::Null;
    }
    let mut dup = false;
    for (i, (k, _)) in writes.iter().enumerate() {
        if writes[..i].iter().any(|(k2, _)| k2 == k) {
            dup = true;
            break;
        }
    }
    if dup {
        writes.iter().map(|(k, v)| obj! { (*k).clone() => (*v).clone() }).collect()
    } else {
        writes.iter().map(|(k, v)| ((*k).clone(), (*v).clone())).collect()
    }
}

/// `result` of a task-result event (LangGraph's `map_task_result_writes`): repeated writes to a
/// key are folded into `{"$writes": [...]}`.
fn result_chunk(writes: &[(&Arc<str>, &Value)]) -> Value {
    let mut m = Map::new();
    for (k, v) in writes {
        match m.get_mut(&***k) {
            None => {
                m.insert((*k).clone(), (*v).clone());
            }
            Some(existing) => {
                let multi = existing.get("$writes").is_some_and(Value::is_array);
                if !multi {
                    let first = existing.take();
                    *existing = obj! {"$writes" => vec![first]};
                }
                if let Some(list) =
                    existing.as_object_mut().and_then(|o| o.get_mut("$writes")).and_then(Value::as_array_mut)
                {
                    list.push((*v).clone());
                }
            }
        }
    }
    Value::from(m)
}

fn now_rfc3339() -> String {
    let d = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    // Seconds precision is enough for debug events; formatted without a date library.
    let secs = d.as_secs() as i64;
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let (y, m, day) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{day:02}T{:02}:{:02}:{:02}.{:06}+00:00",
        rem / 3600,
        (rem % 3600) / 60,
        rem % 60,
        d.subsec_micros()
    )
}

/// Days since 1970-01-01 to a civil date (Howard Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// START's "function": the input, restricted to the input keys.
fn start_output(g: &GraphInner, input: &algo::TaskInput) -> Result<NodeOutput> {
    match input.to_value() {
        Value::Object(m) => {
            let keep: Map = m
                .iter()
                .filter(|(k, _)| g.channel(k).is_some_and(|c| g.input_keys.contains(&c)))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            Ok(NodeOutput::Update(keep))
        }
        Value::Null => Ok(NodeOutput::None),
        other => Err(Error::InvalidNodeReturn {
            node: START.to_owned(),
            got: format!("{} (graph input must be an object of state keys)", describe(&other)),
        }),
    }
}

async fn call_with_retry(
    func: &crate::node::BoxNode,
    node: &NodeDef,
    input: &algo::TaskInput,
    info: Arc<TaskInfo>,
) -> Result<NodeOutput> {
    let mut attempt: u32 = 1;
    loop {
        let ctx = NodeContext { info: info.clone(), attempt };
        match func.call(input.state(), ctx).await {
            Ok(out) => return Ok(out),
            Err(mut e) => {
                if let Some(cmd) = e.take_parent_command() {
                    // A nested graph sent a command to this graph: it becomes this node's output.
                    return Ok(NodeOutput::Command(Command { graph: CommandGraph::Current, ..*cmd }));
                }
                match &node.retry {
                    Some(policy) if attempt < policy.max_attempts && policy.should_retry(&e) => {
                        let delay = policy.delay(attempt);
                        tracing::info!(node = %node.name, attempt, ?delay, error = %e, "retrying node");
                        if !delay.is_zero() {
                            tokio::time::sleep(delay).await;
                        }
                        attempt += 1;
                    }
                    _ => return Err(Error::NodeFailed { node: node.name.to_string(), error: e }),
                }
            }
        }
    }
}

/// Turns a node's output into channel writes: update keys to their channels (keys the state does
/// not have are ignored, as in LangGraph), command gotos to edge channels and `Send`s.
fn output_writes(
    g: &GraphInner,
    node: &NodeDef,
    output: NodeOutput,
    writes: &mut Vec<(ChannelId, Value)>,
) -> Result<()> {
    match output {
        NodeOutput::None => Ok(()),
        NodeOutput::Update(m) => {
            update_writes(g, &node.name, m, writes);
            Ok(())
        }
        NodeOutput::Command(cmd) => {
            if cmd.graph == CommandGraph::Parent {
                return Err(Error::ParentCommand(Box::new(cmd)));
            }
            command_writes(g, &node.name, cmd, writes)
        }
        NodeOutput::Many(outs) => {
            // LangGraph applies every command's update first, then the gotos (mapper, then
            // control branch); a parent command anywhere in the list goes to the parent.
            for o in outs {
                output_writes(g, node, o, writes)?;
            }
            Ok(())
        }
        NodeOutput::Invalid(v) => Err(Error::InvalidNodeReturn { node: node.name.to_string(), got: describe(&v) }),
    }
}

fn update_writes(g: &GraphInner, node: &str, update: Map, writes: &mut Vec<(ChannelId, Value)>) {
    for (k, v) in update {
        match g.channel(&k) {
            Some(c) if g.channels[c].role != ChannelRole::Internal => writes.push((c, v)),
            _ => tracing::debug!(node, key = %k, "ignoring update of a key the state does not have"),
        }
    }
}

fn command_writes(g: &GraphInner, node: &str, cmd: Command, writes: &mut Vec<(ChannelId, Value)>) -> Result<()> {
    match cmd.update {
        None | Some(Value::Null) => {}
        Some(Value::Object(m)) => update_writes(g, node, Arc::unwrap_or_clone(m), writes),
        Some(other) => {
            return Err(Error::InvalidNodeReturn {
                node: node.to_owned(),
                got: format!("a Command whose update is {} (it must be an object)", describe(&other)),
            });
        }
    }
    for goto in cmd.goto {
        match goto {
            Goto::Node(n) if n == END => {}
            Goto::Node(n) => {
                let ch = g.branch_channel(&n).filter(|_| n != START).ok_or_else(|| Error::InvalidRoute {
                    source_node: node.to_owned(),
                    destination: n.clone(),
                    reason: "Command goto names no node of this graph".into(),
                })?;
                writes.push((ch, Value::Null));
            }
            Goto::Send(s) => writes.push(send_write(g, node, s)?),
        }
    }
    Ok(())
}

fn send_write(g: &GraphInner, source: &str, s: Send) -> Result<(ChannelId, Value)> {
    if s.node == END || s.node == START || !g.node_index.contains_key(s.node.as_str()) {
        return Err(Error::InvalidRoute {
            source_node: source.to_owned(),
            destination: s.node,
            reason: "a Send must target a node of this graph".into(),
        });
    }
    Ok((g.tasks_channel, obj! {"node" => s.node, "arg" => s.arg}))
}

/// Runs a conditional edge's router on `state` and turns its answer into writes: edge channels of
/// the destinations (path-map labels resolved) and `Send` packets.
fn route_writes(
    g: &GraphInner,
    node: &NodeDef,
    b: &BranchDef,
    state: &crate::State,
    writes: &mut Vec<(ChannelId, Value)>,
) -> Result<()> {
    let route = (b.router)(state).map_err(|error| Error::NodeFailed { node: node.name.to_string(), error })?;
    for goto in route.0 {
        match goto {
            Goto::Node(label) => {
                let dest = match &b.path_map {
                    Some(map) => map.get(&label).cloned().ok_or_else(|| Error::InvalidRoute {
                        source_node: node.name.to_string(),
                        destination: label.clone(),
                        reason: format!(
                            "not one of the path map's labels ({})",
                            map.keys().cloned().collect::<Vec<_>>().join(", ")
                        ),
                    })?,
                    None => label,
                };
                if dest == END {
                    continue;
                }
                if dest == START {
                    return Err(Error::InvalidRoute {
                        source_node: node.name.to_string(),
                        destination: dest,
                        reason: "cannot route back to START".into(),
                    });
                }
                let ch = g.branch_channel(&dest).ok_or_else(|| Error::InvalidRoute {
                    source_node: node.name.to_string(),
                    destination: dest.clone(),
                    reason: "no node has this name".into(),
                })?;
                writes.push((ch, Value::Null));
            }
            Goto::Send(s) => writes.push(send_write(g, &node.name, s)?),
        }
    }
    Ok(())
}
