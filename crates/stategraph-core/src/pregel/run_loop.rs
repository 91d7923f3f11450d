//! The run loop: plans a step, runs its tasks concurrently, applies their writes, emits events,
//! and repeats until nothing is triggered or the recursion limit is reached.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use futures::StreamExt;
use futures::stream::FuturesUnordered;
use tracing::Instrument;

use stategraph_checkpoint::{
    CheckpointConfig, CheckpointMetadata, CheckpointSource, ERROR, INTERRUPT, PendingWrite, RESUME,
};

use super::algo::{self, Checkpoint, PlannedTask, TaskPath, TaskWrites};
use super::persist::{self, NO_WRITES, NULL_TASK_ID, Persistence, TaskRecord, TaskWritesRecord};
use crate::breakpoint::BreakpointPosition;
use crate::channels::Channel;
use crate::context::{InheritedPersistence, RunConfig, Scratchpad, TaskInfo, task_namespace};
use crate::graph::compiled::{BranchDef, ChannelId, ChannelRole, GraphInner, Input, NodeDef, NodeId};
use crate::stream::{Sink, StreamMode};
use crate::types::{Command, CommandGraph, END, Goto, INTERRUPT_KEY, Interrupt, NodeOutput, START, Send, describe};
use crate::value::{Map, Value, obj};
use crate::{Error, NodeContext, Result};

/// Runs a graph to completion (or until it pauses).
pub(crate) async fn run(g: Arc<GraphInner>, input: Input, config: RunConfig, sink: Sink) -> Result<Value> {
    let span = tracing::info_span!("stategraph.run", graph = %g.name, ns = %sink.namespace.join("|"));
    Loop::new(g, config, sink).run(input).instrument(span).await
}

/// What became of a task that ran.
enum Outcome {
    Done(TaskWrites),
    Interrupted(Vec<Interrupt>),
    Failed(Error),
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
    /// Where this run saves its checkpoints and writes, if anywhere.
    persist: Option<tokio::sync::Mutex<Persistence>>,
    /// Writes stored for the step after the loaded checkpoint.
    pending: Vec<PendingWrite>,
    /// Whether tasks that already have writes in `pending` are skipped (not when replaying).
    reuse_pending: bool,
    /// Whether this run continues a paused or failed one (tells nested graphs to resume too).
    resuming: bool,
    /// Whether `checkpoint` got its id in this run (see `InheritedPersistence::fresh`); false
    /// for a loaded one.
    created_here: bool,
    /// The resume value not addressed to a task (the first unanswered `interrupt` takes it).
    null_resume: Arc<std::sync::Mutex<Option<Value>>>,
    /// Interrupt id -> resume value.
    resume_map: Option<Arc<Map>>,
    /// Channels changed by the last step (stored as `updated_channels`).
    last_updated: Vec<ChannelId>,
    /// Nodes that ran in the last step (their seen versions are stored).
    last_ran: Vec<NodeId>,
    /// Scratchpad shared by tasks of runs that cannot resume (no checkpointer).
    idle_pad: Arc<Scratchpad>,
    /// What nested graphs inherit (saver, thread, parents), fixed when the run starts.
    inherit_base: Option<InheritedPersistence>,
    /// Writes of the tasks that finished in a step that paused (shown in the paused run's output).
    paused_writes: Vec<TaskWrites>,
}

fn task_path_str(path: &TaskPath) -> String {
    match path {
        TaskPath::Null => String::new(),
        TaskPath::Pull(name) => format!("~__pregel_pull, {name}"),
        TaskPath::Push(i) => format!("~__pregel_push, {i:010}"),
    }
}

fn is_interrupt_id(k: &str) -> bool {
    k.len() == 32 && k.bytes().all(|b| b.is_ascii_hexdigit())
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
            persist: None,
            pending: Vec::new(),
            reuse_pending: true,
            resuming: false,
            created_here: false,
            null_resume: Arc::new(std::sync::Mutex::new(None)),
            resume_map: None,
            last_updated: Vec::new(),
            last_ran: Vec::new(),
            idle_pad: Arc::new(Scratchpad::default()),
            inherit_base: None,
            paused_writes: Vec::new(),
        }
    }

    fn nested(&self) -> bool {
        self.config.parent.is_some()
    }

    /// The persistence this run uses: the graph's checkpointer (or, nested, the parent's) and the
    /// thread of the run config (or the parent's).
    fn persistence(&self) -> Result<Option<Persistence>> {
        let inherited = self.config.parent.as_ref().and_then(|p| p.persist.as_ref());
        let (saver, thread_id) = match (&self.g.checkpointer, inherited) {
            (Some(s), Some(i)) => (s.clone(), i.thread_id.clone()),
            (None, Some(i)) => (i.saver.clone(), i.thread_id.clone()),
            (Some(s), None) => match &self.config.thread_id {
                Some(t) => (s.clone(), t.clone()),
                None if self.nested() => return Ok(None),
                None => {
                    return Err(Error::NoCheckpointer(format!(
                        "graph `{}` has a checkpointer, so every run needs a thread: set `RunConfig::with_thread(\"...\")`",
                        self.g.name
                    )));
                }
            },
            (None, None) => return Ok(None),
        };
        let mut p = Persistence::new(saver, thread_id, self.namespace.to_string(), self.config.durability);
        if let Some(i) = inherited {
            p.parents = i.parents.clone();
            p.share_queue(i.queue.as_ref());
        }
        Ok(Some(p))
    }

    async fn run(mut self, input: Input) -> Result<Value> {
        if self.config.recursion_limit < 1 {
            return Err(Error::InvalidConfig("recursion_limit must be at least 1".into()));
        }
        let result = self.run_inner(input).await;
        // Whatever happened, what was queued for the checkpointer is saved before the run returns.
        let saved = match &self.persist {
            Some(p) => p.lock().await.finish(&self.g).await,
            None => Ok(()),
        };
        match result {
            Ok(v) => saved.map(|()| v),
            Err(Error::Interrupted(interrupts)) if !self.nested() => {
                saved?;
                self.paused_output(interrupts)
            }
            Err(e) => {
                if let Err(save_error) = saved {
                    tracing::error!(error = %save_error, "saving the failed run's state failed too");
                }
                Err(e)
            }
        }
    }

    /// The output of a paused top-level run (LangGraph's exit on `GraphInterrupt`): the state
    /// with the writes of tasks that finished in the paused step (they are stored as pending
    /// writes, not yet in a checkpoint), and the interrupts under `__interrupt__`.
    fn paused_output(&mut self, interrupts: Vec<Interrupt>) -> Result<Value> {
        let mut finished = std::mem::take(&mut self.paused_writes);
        if !finished.is_empty() {
            let updated = algo::apply_writes(&self.g, &mut self.channels, &mut self.checkpoint, &mut finished)?;
            if self.sink.wants(StreamMode::Values) && updated.iter().any(|c| self.g.output_keys.contains(c)) {
                self.sink.emit(StreamMode::Values, self.output());
            }
        }
        let mut out = self.output();
        if interrupts.is_empty() {
            if self.sink.wants(StreamMode::Updates) {
                self.sink.emit(StreamMode::Updates, obj! { INTERRUPT_KEY => Value::array() });
            }
            return Ok(out);
        }
        let list: Value = interrupts.iter().map(Interrupt::to_value).collect();
        if let Some(m) = out.as_object_mut() {
            m.insert(INTERRUPT_KEY.into(), list);
        }
        if self.sink.wants(StreamMode::Values) {
            self.sink.emit(StreamMode::Values, out.clone());
        }
        Ok(out)
    }

    async fn run_inner(&mut self, input: Input) -> Result<Value> {
        let mut updated = self.start(input).await?;
        loop {
            if self.config.cancel.as_ref().is_some_and(|c| c.is_cancelled()) {
                return Err(Error::Cancelled);
            }
            if self.step > self.stop {
                return Err(Error::GraphRecursion { limit: self.config.recursion_limit });
            }
            let tasks = algo::prepare_next_tasks(
                &self.g,
                &self.channels,
                &self.checkpoint,
                Some(&updated),
                self.step,
                self.stop,
                &self.namespace,
            );
            self.emit_checkpoint(&tasks);
            if tasks.is_empty() {
                break;
            }
            let nodes: Vec<NodeId> = tasks.iter().map(|t| t.node).collect();
            let before = self.config.interrupt_before.as_deref().unwrap_or(&self.g.interrupt_before);
            if algo::should_interrupt(&self.g, &self.checkpoint, before, &nodes)
                || self.breakpoint_fires(BreakpointPosition::Before, &nodes)
            {
                return Err(Error::Interrupted(Vec::new()));
            }
            let span = tracing::debug_span!("stategraph.step", step = self.step, tasks = tasks.len());
            updated = self.run_step(tasks).instrument(span).await?;
            if self.sink.wants(StreamMode::Values) && updated.iter().any(|c| self.g.output_keys.contains(c)) {
                self.sink.emit(StreamMode::Values, self.output());
            }
            self.pending.clear();
            self.reuse_pending = true;
            self.last_updated = updated.clone();
            self.last_ran = nodes.clone();
            self.save_checkpoint(CheckpointSource::Loop).await?;
            let after = self.config.interrupt_after.as_deref().unwrap_or(&self.g.interrupt_after);
            if algo::should_interrupt(&self.g, &self.checkpoint, after, &nodes)
                || self.breakpoint_fires(BreakpointPosition::After, &nodes)
            {
                return Err(Error::Interrupted(Vec::new()));
            }
            self.resuming = false;
        }
        Ok(self.output())
    }

    /// Loads the thread's checkpoint, applies the input (or prepares the resume) and saves the
    /// input checkpoint. Returns the channels the input changed.
    async fn start(&mut self, input: Input) -> Result<Vec<ChannelId>> {
        let persist = self.persistence()?;
        let addressed = if self.nested() { None } else { self.config.checkpoint_id };
        let mut loaded_source = None;
        if let Some(mut p) = persist {
            let cfg = CheckpointConfig {
                thread_id: p.thread_id.clone(),
                checkpoint_ns: p.ns.clone(),
                checkpoint_id: addressed,
            };
            // A nested run of a task no run saw before: its namespace is empty (see
            // `InheritedPersistence::fresh`). Only when it saves where its parent does.
            let inherited = self.config.parent.as_ref().and_then(|l| l.persist.as_ref());
            let fresh = self.g.checkpointer.is_none()
                && addressed.is_none()
                && inherited.and_then(|i| i.fresh.as_ref()).is_some_and(|f| !f.swap(true, Ordering::AcqRel));
            let found = if fresh { None } else { p.saver.get_tuple(&cfg).await? };
            match found {
                Some(t) => {
                    let (channels, checkpoint) = persist::restore(&self.g, &t.checkpoint);
                    self.channels = channels;
                    self.checkpoint = checkpoint;
                    p.saved_versions = self.checkpoint.versions.clone();
                    p.config = Some(t.config.clone());
                    p.parent_config = t.parent_config.clone();
                    p.metadata = Some(t.metadata.clone());
                    self.step = t.metadata.step + 1;
                    self.stop = self.step + self.config.recursion_limit as i64 + 1;
                    self.pending = t.pending_writes;
                    loaded_source = Some(t.metadata.source);
                }
                None if addressed.is_some() => {
                    return Err(Error::InvalidConfig(format!(
                        "thread `{}` has no checkpoint {}",
                        p.thread_id,
                        addressed.map(|a| a.to_string()).unwrap_or_default()
                    )));
                }
                None => {}
            }
            self.inherit_base = Some(InheritedPersistence {
                saver: p.saver.clone(),
                thread_id: p.thread_id.clone(),
                resuming: false,
                parents: p.parents.clone(),
                queue: p.queue_for_nested(),
                fresh: None,
            });
            self.persist = Some(tokio::sync::Mutex::new(p));
        }
        // LangGraph asks whether the checkpoint has channel versions; a loaded one always has.
        let has_checkpoint = loaded_source.is_some();
        let parent_resuming = self.config.parent.as_ref().and_then(|p| p.persist.as_ref()).map(|p| p.resuming);
        let input_is_command = matches!(input, Input::Command(_));
        self.resuming = has_checkpoint
            && match parent_resuming {
                Some(r) => r,
                None => matches!(input, Input::Value(Value::Null)) || input_is_command,
            };
        let resume_given = matches!(&input, Input::Command(c) if c.resume.is_some());
        let time_travel = addressed.is_some() && !resume_given;
        if time_travel {
            self.pending.retain(|w| w.channel != RESUME);
            self.reuse_pending = false;
        }

        let mut updated = Vec::new();
        let mut input = Some(input);
        if let Some(Input::Command(cmd)) = &input {
            if cmd.graph == CommandGraph::Parent {
                return Err(Error::NoParentGraph { node: START.to_owned() });
            }
            if cmd.resume.is_some() && self.persist.is_none() {
                return Err(Error::NoCheckpointer(
                    "Command::resume needs the graph to have a checkpointer and the run a thread to resume".into(),
                ));
            }
            if has_checkpoint {
                let Some(Input::Command(cmd)) = input.take() else { unreachable!() };
                self.command_as_null_writes(cmd).await?;
            }
        }
        // Writes that belong to no task (a resume value, an update sent with it) apply first.
        let null_writes: Vec<(ChannelId, Value)> = self
            .pending
            .iter()
            .filter(|w| w.task_id == NULL_TASK_ID)
            .filter_map(|w| self.g.channel(&w.channel).map(|c| (c, w.value.clone())))
            .collect();
        if let Some(w) = self.pending.iter().find(|w| w.task_id == NULL_TASK_ID && w.channel == RESUME) {
            *self.null_resume.lock().expect("resume lock") = Some(w.value.clone());
        }
        if !null_writes.is_empty() {
            let mut t = TaskWrites { path: TaskPath::Null, node: None, pull: false, writes: null_writes };
            updated =
                algo::apply_writes(&self.g, &mut self.channels, &mut self.checkpoint, std::slice::from_mut(&mut t))?;
        }

        if self.resuming {
            self.checkpoint.interrupt_seen = self.checkpoint.versions.clone();
            let forks =
                time_travel && !matches!(loaded_source, Some(CheckpointSource::Update | CheckpointSource::Fork));
            if forks {
                self.pending.retain(|w| w.channel != INTERRUPT);
                if let Some(p) = &self.persist {
                    p.lock().await.guard = false;
                }
                self.last_updated = updated.clone();
                self.last_ran = persist::nodes_with_seen(&self.checkpoint);
                self.save_checkpoint(CheckpointSource::Fork).await?;
            }
            if self.sink.wants(StreamMode::Values) {
                self.sink.emit(StreamMode::Values, self.output());
            }
            // Plan from every channel: the step after the loaded checkpoint runs again.
            return Ok((0..self.channels.len()).collect());
        }
        let input = match input {
            Some(i) => i,
            None => return Err(Error::EmptyInput),
        };
        let input_writes = self.input_writes(input)?;
        let mut batch: Vec<TaskWrites> = Vec::new();
        if has_checkpoint {
            // Tasks the previous run left unfinished are dropped: the new input starts over.
            for t in algo::prepare_next_tasks(
                &self.g,
                &self.channels,
                &self.checkpoint,
                None,
                self.step,
                self.stop,
                &self.namespace,
            ) {
                let pull = matches!(t.path, TaskPath::Pull(_));
                batch.push(TaskWrites { path: t.path, node: Some(t.node), pull, writes: Vec::new() });
            }
        }
        batch.push(TaskWrites { path: TaskPath::Null, node: None, pull: false, writes: input_writes });
        let mut more = algo::apply_writes(&self.g, &mut self.channels, &mut self.checkpoint, &mut batch)?;
        updated.append(&mut more);
        self.pending.clear();
        self.last_updated = updated.clone();
        self.last_ran = batch.iter().filter_map(|t| t.node).collect();
        self.save_checkpoint(CheckpointSource::Input).await?;
        Ok(updated)
    }

    /// A `Command` sent to a thread that has state: its update, gotos and resume value become
    /// writes of no task, stored with the checkpoint (LangGraph's `map_command`).
    async fn command_as_null_writes(&mut self, cmd: Command) -> Result<()> {
        let mut writes: Vec<(String, Value)> = Vec::new();
        let mut channel_writes = Vec::new();
        command_writes(&self.g, START, Command { resume: None, ..cmd.clone() }, &mut channel_writes)?;
        for (c, v) in channel_writes {
            writes.push((self.g.channels[c].name.to_string(), v));
        }
        let mut resume_is_map = false;
        if let Some(resume) = cmd.resume {
            match resume.as_object() {
                Some(m) if !m.is_empty() && m.keys().all(|k| is_interrupt_id(k)) => {
                    resume_is_map = true;
                    self.resume_map = Some(Arc::new(m.clone()));
                }
                _ => {
                    let ids = self.pending_interrupt_ids();
                    if ids.len() > 1 {
                        return Err(Error::AmbiguousResume { pending: ids.len(), ids });
                    }
                    writes.push((RESUME.to_owned(), resume));
                }
            }
        }
        if writes.is_empty() && !resume_is_map {
            return Err(Error::EmptyInput);
        }
        if writes.is_empty() {
            return Ok(());
        }
        // Null writes accumulate; a newer resume replaces an older one.
        if writes.iter().any(|(c, _)| c == RESUME) {
            self.pending.retain(|w| !(w.task_id == NULL_TASK_ID && w.channel == RESUME));
        }
        let mut all: Vec<(String, Value)> = self
            .pending
            .iter()
            .filter(|w| w.task_id == NULL_TASK_ID)
            .map(|w| (w.channel.clone(), w.value.clone()))
            .collect();
        all.retain(|(c, _)| c != RESUME);
        all.extend(writes.iter().filter(|(c, _)| c != RESUME).cloned());
        all.extend(writes.iter().filter(|(c, _)| c == RESUME).cloned());
        for (i, (c, v)) in writes.iter().enumerate() {
            self.pending.push(PendingWrite {
                task_id: NULL_TASK_ID.to_owned(),
                channel: c.clone(),
                value: v.clone(),
                task_path: String::new(),
                idx: i as i64,
            });
        }
        if let Some(p) = &self.persist {
            p.lock()
                .await
                .put_writes(TaskWritesRecord {
                    task_id: NULL_TASK_ID.to_owned(),
                    task_path: String::new(),
                    writes: all,
                })
                .await?;
        }
        Ok(())
    }

    /// Ids of the interrupts the loaded checkpoint's tasks are waiting on.
    fn pending_interrupt_ids(&self) -> Vec<String> {
        let mut ids: Vec<String> = persist::interrupt_values(self.pending.iter())
            .iter()
            .filter_map(|i| Interrupt::from_value(i).map(|i| i.id))
            .collect();
        ids.sort();
        ids.dedup();
        ids
    }

    /// Takes a new checkpoint id for the state as it is now, saves it when there is a
    /// checkpointer, and moves to the next step.
    async fn save_checkpoint(&mut self, source: CheckpointSource) -> Result<()> {
        self.checkpoint.id = uuid::Uuid::now_v7();
        self.created_here = true;
        if let Some(p) = &self.persist {
            let mut p = p.lock().await;
            let stored = p.stored(&self.g, &self.channels, &self.checkpoint, &self.last_updated, &self.last_ran);
            let mut metadata = CheckpointMetadata::new(source, self.step);
            metadata.parents = p.parents.clone();
            metadata.run_id = self.config.run_id.clone();
            // User metadata is stored beside the checkpoint's own keys; a user key with the name
            // of one of those (`run_id`, `step`, ...) would make the stored metadata ambiguous,
            // so the checkpoint's own value wins.
            for (k, v) in &self.config.metadata {
                if !matches!(&**k, "source" | "step" | "parents" | "run_id") {
                    metadata.extra.insert(k.clone(), v.clone());
                }
            }
            let nv = persist::new_versions(&self.g, &stored, &p.saved_versions);
            p.put(stored, metadata, nv, &self.checkpoint.versions).await?;
        }
        self.step += 1;
        Ok(())
    }

    /// Whether one of the run's [`Breakpoint`](crate::Breakpoint)s stops the run here: before the
    /// step that runs `nodes`, or after the step that ran them. Gated like static interrupts (some
    /// channel changed since the last resume), so a breakpoint does not fire again on resume.
    fn breakpoint_fires(&self, position: BreakpointPosition, nodes: &[NodeId]) -> bool {
        if self.config.breakpoints.is_empty() || !algo::changed_since_resume(&self.checkpoint) {
            return false;
        }
        let names = |ids: &[NodeId]| -> Vec<&str> {
            ids.iter().map(|&n| &self.g.nodes[n]).filter(|n| !n.hidden).map(|n| &*n.name).collect()
        };
        let (now, previous) = (names(nodes), names(&self.last_ran));
        let mut state = None;
        self.config.breakpoints.iter().filter(|b| b.applies_in(&self.namespace)).any(|b| {
            // The previous step's nodes are `last_ran` before a step; after it, `last_ran` is the
            // step itself, and edges are only checked before.
            b.fires(position, &now, &previous, || state.get_or_insert_with(|| self.output()).clone())
        })
    }

    fn output(&self) -> Value {
        algo::read_channels(&self.g, &self.channels, &self.g.output_keys)
    }

    fn input_writes(&mut self, input: Input) -> Result<Vec<(ChannelId, Value)>> {
        match input {
            Input::Value(Value::Null) => Err(Error::EmptyInput),
            Input::Value(v) => Ok(vec![(self.g.start_channel, v)]),
            Input::Command(cmd) => {
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

    /// The writes a task stored for the loaded checkpoint, if it finished before (a resume after
    /// a failure or an interrupt elsewhere in the step does not run it again).
    fn finished_writes(&self, t: &PlannedTask) -> Option<TaskWrites> {
        if !self.reuse_pending {
            return None;
        }
        TaskRecord::of(&self.pending, &t.id).finished(&self.g, &t.path, t.node)
    }

    /// Runs one step: tasks that finished before reuse their writes, the others run; returns the
    /// channels the step changed.
    async fn run_step(&mut self, tasks: Vec<PlannedTask>) -> Result<Vec<ChannelId>> {
        let mut done: Vec<TaskWrites> = Vec::new();
        let mut to_run: Vec<PlannedTask> = Vec::with_capacity(tasks.len());
        for t in tasks {
            match self.finished_writes(&t) {
                Some(w) => done.push(w),
                None => to_run.push(t),
            }
        }
        if to_run.len() == 1 && done.is_empty() {
            return self.run_single(to_run.into_iter().next().expect("one task")).await;
        }
        for w in &done {
            // Streamed as if the task had run, so resumed streams show every node of the step.
            self.emit_task_result_cached(w);
        }
        let outcomes = self.run_tasks(&to_run).await?;
        drop(to_run); // release state views so reducers can append in place
        let mut failure = None;
        let mut interrupts = Vec::new();
        for o in outcomes {
            match o {
                Outcome::Done(w) => done.push(w),
                Outcome::Interrupted(mut i) => interrupts.append(&mut i),
                Outcome::Failed(e) => {
                    failure.get_or_insert(e);
                }
            }
        }
        if let Some(e) = failure {
            return Err(e);
        }
        if !interrupts.is_empty() {
            self.paused_writes = done;
            return Err(Error::Interrupted(interrupts));
        }
        algo::apply_writes(&self.g, &mut self.channels, &mut self.checkpoint, &mut done)
    }

    fn emit_task_result_cached(&self, w: &TaskWrites) {
        if let Some(n) = w.node {
            let id = String::new();
            self.emit_task_result(&id, n, Ok(&w.writes));
        }
    }

    /// The scratchpad of a task: resume values it already received, and the run's.
    fn scratchpad(&self, t: &PlannedTask) -> Arc<Scratchpad> {
        if self.persist.is_none() {
            return self.idle_pad.clone();
        }
        let mut resume: Vec<Value> = Vec::new();
        if let Some(w) = self.pending.iter().find(|w| w.task_id == t.id && w.channel == RESUME) {
            match &w.value {
                Value::Array(a) => resume.extend(a.iter().cloned()),
                other => resume.push(other.clone()),
            }
        }
        if let Some(map) = &self.resume_map {
            let ns = task_namespace(&self.namespace, &self.g.nodes[t.node].name, &t.id);
            if let Some(v) = map.get(Interrupt::id_for_ns(&ns).as_str()) {
                resume.push(v.clone());
            }
        }
        Arc::new(Scratchpad {
            resume: std::sync::Mutex::new(resume),
            null_resume: Some(self.null_resume.clone()),
            parent: self.config.parent.as_ref().and_then(|p| p.scratchpad.clone()),
            ..Scratchpad::default()
        })
    }

    /// Stores what became of a task (its writes, its interrupt, or its error) under the
    /// checkpoint the step started from.
    async fn record(&self, t: &PlannedTask, pad: &Scratchpad, outcome: &Outcome) -> Result<()> {
        let Some(p) = &self.persist else { return Ok(()) };
        let resume = || {
            pad.used_resume
                .load(std::sync::atomic::Ordering::SeqCst)
                .then(|| (RESUME.to_owned(), Value::from(pad.resume.lock().expect("resume lock").clone())))
        };
        let writes: Vec<(String, Value)> = match outcome {
            Outcome::Done(w) => {
                let mut out: Vec<(String, Value)> =
                    w.writes.iter().map(|(c, v)| (self.g.channels[*c].name.to_string(), v.clone())).collect();
                if out.is_empty() {
                    out.push((NO_WRITES.to_owned(), Value::Null));
                }
                out.extend(resume());
                out
            }
            Outcome::Interrupted(list) => {
                let mut out = vec![(INTERRUPT.to_owned(), list.iter().map(Interrupt::to_value).collect())];
                out.extend(resume());
                out
            }
            Outcome::Failed(e) => vec![(ERROR.to_owned(), task_error_json(e))],
        };
        p.lock()
            .await
            .put_writes(TaskWritesRecord { task_id: t.id.clone(), task_path: task_path_str(&t.path), writes })
            .await
    }

    /// Runs the tasks concurrently (on this task: deterministic and cheap; nodes that block
    /// should move their work to `spawn_blocking`). When a task fails, its siblings still run to
    /// the end, as in LangGraph: their results are streamed and stored as pending writes, so a
    /// resume does not redo them.
    ///
    /// Each task records its writes inside its own future, not in this loop: while the loop
    /// awaited a save, the sibling futures were not polled, and a sibling parked in the middle of
    /// its own save (a subgraph holding the SQLite saver's write turn or a pooled connection)
    /// blocked that save for good — ten concurrent subgraphs on SQLite hung every time.
    async fn run_tasks(&self, tasks: &[PlannedTask]) -> Result<Vec<Outcome>> {
        self.emit_task_starts(tasks);
        let mut results: Vec<Outcome> = Vec::with_capacity(tasks.len());
        // Two loops rather than one with a run-time check: a task's future is one allocation in
        // `FuturesUnordered`, and the state of `record` would make every task's future several
        // times larger also when nothing is saved (`fanout_static_100` without a checkpointer
        // took 11% longer).
        if self.persist.is_none() {
            let mut running: FuturesUnordered<_> = tasks.iter().map(|t| self.run_and_emit(t)).collect();
            while let Some((_, outcome)) = running.next().await {
                results.push(outcome);
            }
        } else {
            let mut running: FuturesUnordered<_> = tasks
                .iter()
                .map(|t| async move {
                    let (pad, outcome) = self.run_and_emit(t).await;
                    self.record(t, &pad, &outcome).await.map(|()| outcome)
                })
                .collect();
            while let Some(outcome) = running.next().await {
                results.push(outcome?);
            }
        }
        Ok(results)
    }

    /// Runs one task of a step and streams its outcome.
    async fn run_and_emit(&self, t: &PlannedTask) -> (Arc<Scratchpad>, Outcome) {
        let pad = self.scratchpad(t);
        let outcome = match self.run_task(t, true, pad.clone()).await {
            Ok(w) => Outcome::Done(w),
            Err(Error::Interrupted(i)) => Outcome::Interrupted(i),
            Err(e) => Outcome::Failed(e),
        };
        self.emit_outcome(t, &outcome);
        (pad, outcome)
    }

    fn emit_outcome(&self, t: &PlannedTask, outcome: &Outcome) {
        match outcome {
            Outcome::Done(w) => {
                self.emit_written_messages(t, &w.writes);
                self.emit_task_result(&t.id, t.node, Ok(w.writes.as_slice()))
            }
            Outcome::Failed(e) => self.emit_task_result(&t.id, t.node, Err(e)),
            Outcome::Interrupted(list) => self.emit_interrupt(&t.id, t.node, list),
        }
    }

    /// A step with one task (the common sequential case): no concurrency bookkeeping, and its
    /// conditional edges read the channels after its writes are applied instead of a copy.
    async fn run_single(&mut self, t: PlannedTask) -> Result<Vec<ChannelId>> {
        self.emit_task_starts(std::slice::from_ref(&t));
        let node_id = t.node;
        let pad = self.scratchpad(&t);
        let mut task = match self.run_task(&t, false, pad.clone()).await {
            Ok(w) => w,
            Err(e) => {
                let outcome = match e {
                    Error::Interrupted(i) => Outcome::Interrupted(i),
                    e => Outcome::Failed(e),
                };
                self.emit_outcome(&t, &outcome);
                self.record(&t, &pad, &outcome).await?;
                return Err(match outcome {
                    Outcome::Interrupted(i) => Error::Interrupted(i),
                    Outcome::Failed(e) => e,
                    Outcome::Done(_) => unreachable!(),
                });
            }
        };
        // Drop the task's input view now, so reducers can append in place.
        let PlannedTask { id: task_id, input, path, .. } = t;
        drop(input);
        let persisting = self.persist.is_some();
        let wants_result = self.wants_task_results() && !self.g.nodes[node_id].hidden;
        let messages = self.sink.wants(StreamMode::Messages);
        let own_writes = if wants_result || persisting || messages { task.writes.clone() } else { Vec::new() };
        let g = self.g.clone();
        let (step, stop) = (self.step, self.stop);
        let node = &g.nodes[node_id];
        let mut routed: Vec<(ChannelId, Value)> = Vec::new();
        let result = if node.branches.is_empty() {
            algo::apply_writes(&g, &mut self.channels, &mut self.checkpoint, std::slice::from_mut(&mut task))
        } else {
            let mut router = |channels: &[Box<dyn Channel>]| -> Result<Vec<(ChannelId, Value)>> {
                let mut writes = Vec::new();
                for b in &node.branches {
                    let state = algo::read_state(channels, &b.reader, step, stop);
                    route_writes(&g, node, b, &state, &mut writes)?;
                }
                if persisting {
                    routed = writes.clone();
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
        let planned = PlannedTask { id: task_id, node: node_id, path, input: algo::TaskInput::Arg(Value::Null) };
        if messages && result.is_ok() {
            self.emit_written_messages(&planned, &own_writes);
        }
        if persisting {
            let outcome = match &result {
                Ok(_) => {
                    let mut writes = own_writes.clone();
                    writes.extend(routed);
                    Outcome::Done(TaskWrites { path: planned.path.clone(), node: Some(node_id), pull: true, writes })
                }
                Err(e) => Outcome::Failed(e.clone()),
            };
            self.record(&planned, &pad, &outcome).await?;
        }
        if wants_result {
            match &result {
                Ok(_) => self.emit_task_result(&planned.id, node_id, Ok(&own_writes)),
                Err(e) => self.emit_task_result(&planned.id, node_id, Err(e)),
            }
        }
        result
    }

    fn wants_task_results(&self) -> bool {
        self.sink.wants(StreamMode::Updates) || self.sink.wants(StreamMode::Tasks) || self.sink.wants(StreamMode::Debug)
    }

    fn task_info(&self, t: &PlannedTask, node: &NodeDef, scratchpad: Arc<Scratchpad>) -> TaskInfo {
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
            scratchpad,
            persist: self.inherited(),
        }
    }

    /// What nested graphs of this run's tasks inherit.
    fn inherited(&self) -> Option<InheritedPersistence> {
        let base = self.inherit_base.as_ref()?;
        let mut parents = base.parents.clone();
        // The checkpoint the step started from (its id is what task ids hash).
        parents.insert(self.namespace.to_string(), self.checkpoint.id.to_string());
        let fresh = self.created_here.then(|| Arc::new(AtomicBool::new(false)));
        Some(InheritedPersistence { resuming: self.resuming, parents, fresh, ..base.clone() })
    }

    fn trigger_names(&self, t: &PlannedTask) -> Arc<[Arc<str>]> {
        match t.path {
            TaskPath::Push(_) => self.push_triggers.clone(),
            _ => self.g.nodes[t.node].trigger_names.clone(),
        }
    }

    /// Runs one task and computes its writes. With `route_now` false, its conditional edges are
    /// left for [`algo::apply_writes_routed`] (single-task steps).
    async fn run_task(&self, t: &PlannedTask, route_now: bool, pad: Arc<Scratchpad>) -> Result<TaskWrites> {
        let node = &self.g.nodes[t.node];
        let output = match &node.func {
            None => match &self.input_command {
                Some(cmd) => NodeOutput::Command(cmd.clone()),
                None => start_output(&self.g, &t.input)?,
            },
            Some(func) => {
                self.mark_input_messages_seen(&t.input);
                let info = Arc::new(self.task_info(t, node, pad));
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
        self.ensure_message_ids(&mut writes);
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

    /// Streams, in `messages` mode, the messages a task wrote that were not streamed already
    /// (LangGraph's `on_chain_end`): a node returning an AI message shows it even if its model
    /// did not stream tokens.
    fn emit_written_messages(&self, t: &PlannedTask, writes: &[(ChannelId, Value)]) {
        if !self.sink.wants(StreamMode::Messages) || self.g.nodes[t.node].hidden {
            return;
        }
        let mut metadata = None;
        for (c, v) in writes {
            if self.g.channels[*c].role == ChannelRole::Internal {
                continue;
            }
            for m in messages_in(v) {
                // `ensure_message_ids` gave every message an id before the writes were applied.
                let Some(id) = m.get("id").and_then(Value::as_str) else { continue };
                if !self.sink.first_sight_of_message(id) {
                    continue;
                }
                let meta = metadata.get_or_insert_with(|| {
                    let info = self.task_info(t, &self.g.nodes[t.node], self.idle_pad.clone());
                    let mut md = message_metadata(&info, false);
                    md.insert("ls_integration".into(), Value::from("langgraph"));
                    Value::from(md)
                });
                self.sink.emit(StreamMode::Messages, Value::from(vec![m.clone(), meta.clone()]));
            }
        }
    }

    /// Gives every message dict a task wrote an id, before the writes are stored or applied, so
    /// the `messages` stream, the state and a parent graph all see the same id (LangGraph's
    /// `ensure_message_ids`). Only when messages are streamed: ids are otherwise the reducer's job.
    fn ensure_message_ids(&self, writes: &mut [(ChannelId, Value)]) {
        if !self.sink.wants(StreamMode::Messages) {
            return;
        }
        fn fix(m: &mut Value) {
            if is_message(m)
                && m.get("id").and_then(Value::as_str).is_none()
                && let Some(o) = m.as_object_mut()
            {
                o.insert("id".into(), Value::from(uuid::Uuid::now_v7().to_string()));
            }
        }
        for (c, v) in writes.iter_mut() {
            if self.g.channels[*c].role == ChannelRole::Internal {
                continue;
            }
            match v {
                Value::Array(items) => {
                    if items.iter().any(|m| is_message(m) && m.get("id").and_then(Value::as_str).is_none()) {
                        for m in std::sync::Arc::make_mut(items).iter_mut() {
                            fix(m);
                        }
                    }
                }
                other => fix(other),
            }
        }
    }

    /// Marks the messages a task receives as already streamed (LangGraph's `on_chain_start`), so
    /// a node that returns the conversation it was given streams only what it added.
    fn mark_input_messages_seen(&self, input: &algo::TaskInput) {
        if !self.sink.wants(StreamMode::Messages) {
            return;
        }
        let value = input.to_value();
        let Some(obj) = value.as_object() else { return };
        for v in obj.values() {
            for m in messages_in(v) {
                if let Some(id) = m.get("id").and_then(Value::as_str) {
                    self.sink.first_sight_of_message(id);
                }
            }
        }
    }

    /// Emits the `checkpoints` event (and `debug`'s `checkpoint`) of the checkpoint the coming step
    /// starts from, with the tasks it will run (LangGraph's `map_debug_checkpoint`).
    fn emit_checkpoint(&self, tasks: &[PlannedTask]) {
        let (cp_mode, debug_mode) = (self.sink.wants(StreamMode::Checkpoints), self.sink.wants(StreamMode::Debug));
        if !cp_mode && !debug_mode {
            return;
        }
        let Some(p) = self.persist.as_ref().and_then(|p| p.try_lock().ok()) else { return };
        let Some(config) = p.config.clone() else { return };
        let config_json = |c: &CheckpointConfig| {
            obj! {"configurable" => obj! {
                "thread_id" => c.thread_id.as_str(),
                "checkpoint_ns" => c.checkpoint_ns.as_str(),
                "checkpoint_id" => c.checkpoint_id.map(|i| i.to_string()),
            }}
        };
        let metadata = p.metadata.as_ref().and_then(|m| m.to_value().ok()).unwrap_or_default();
        let step = p.metadata.as_ref().map_or(self.step - 1, |m| m.step);
        let task_list: Value = tasks
            .iter()
            .map(|t| {
                let record = TaskRecord::of(&self.pending, &t.id);
                let mut m = obj! {"id" => t.id.as_str(), "name" => self.g.nodes[t.node].name.clone()};
                let o = m.as_object_mut().expect("object");
                if let Some(e) = record.error() {
                    o.insert("error".into(), e.clone());
                } else {
                    let result = record.state_writes(&self.g);
                    if !result.is_empty() {
                        o.insert("result".into(), Value::from(result));
                    }
                    o.insert("interrupts".into(), Value::from(record.interrupts()));
                }
                o.insert("state".into(), Value::Null);
                m
            })
            .collect();
        let payload = obj! {
            "config" => config_json(&config),
            "parent_config" => p.parent_config.as_ref().map(config_json),
            "values" => self.output(),
            "metadata" => metadata,
            "next" => tasks.iter().map(|t| Value::from(self.g.nodes[t.node].name.clone())).collect::<Value>(),
            "tasks" => task_list,
        };
        if cp_mode {
            self.sink.emit(StreamMode::Checkpoints, payload.clone());
        }
        if debug_mode {
            self.sink.emit(
                StreamMode::Debug,
                obj! {"step" => step, "timestamp" => now_rfc3339(), "type" => "checkpoint", "payload" => payload},
            );
        }
    }

    /// Emits an interrupted task's `updates` chunk (`{"__interrupt__": [...]}`) and its result.
    fn emit_interrupt(&self, id: &str, node_id: NodeId, interrupts: &[Interrupt]) {
        let list: Value = interrupts.iter().map(Interrupt::to_value).collect();
        if self.sink.wants(StreamMode::Updates) {
            self.sink.emit(StreamMode::Updates, obj! { INTERRUPT_KEY => list.clone() });
        }
        let tasks_mode = self.sink.wants(StreamMode::Tasks);
        let debug_mode = self.sink.wants(StreamMode::Debug);
        if (tasks_mode || debug_mode) && !self.g.nodes[node_id].hidden {
            let payload = obj! {
                "id" => id,
                "name" => self.g.nodes[node_id].name.clone(),
                "error" => Value::Null,
                "result" => Value::from(Map::new()),
                "interrupts" => list,
            };
            if tasks_mode {
                self.sink.emit(StreamMode::Tasks, payload.clone());
            }
            if debug_mode {
                self.sink.emit(StreamMode::Debug, self.debug_event("task_result", payload));
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

/// LangGraph's metadata of a task, as `messages` events carry it. `checkpoint_ns` is the
/// outermost task's namespace: on chunks a node streams always, on messages a node returned only
/// inside a subgraph (`streamed` false) — what LangGraph's callback metadata shows.
pub(crate) fn message_metadata(info: &TaskInfo, streamed: bool) -> Map {
    let ns = info.checkpoint_ns();
    let mut m = Map::new();
    for (k, v) in &info.config.metadata {
        m.insert(k.clone(), v.clone());
    }
    if let Some(t) = &info.config.thread_id {
        m.insert("thread_id".into(), Value::from(t.as_str()));
    }
    for (k, v) in info.metadata.iter() {
        m.insert(k.clone(), v.clone());
    }
    m.insert("langgraph_step".into(), Value::from(info.step));
    m.insert("langgraph_node".into(), Value::from(info.node.clone()));
    m.insert("langgraph_triggers".into(), info.triggers.iter().map(|t| Value::from(t.clone())).collect());
    let kind =
        if info.triggers.first().is_some_and(|t| &**t == "__pregel_push") { "__pregel_push" } else { "__pregel_pull" };
    m.insert("langgraph_path".into(), Value::from(vec![Value::from(kind), Value::from(info.node.clone())]));
    if streamed || !info.parent_ns.is_empty() {
        let outermost = ns.split('|').next().unwrap_or_default();
        m.insert("checkpoint_ns".into(), Value::from(outermost));
    }
    m.insert("langgraph_checkpoint_ns".into(), Value::from(ns));
    m
}

/// Whether `v` looks like a LangChain message dict (`{"type": "ai", "content": ...}`).
fn is_message(v: &Value) -> bool {
    v.get("content").is_some()
        && v.get("type").and_then(Value::as_str).is_some_and(|t| {
            matches!(t, "ai" | "human" | "system" | "tool" | "function" | "chat" | "remove")
                || t.ends_with("MessageChunk")
        })
}

/// The messages a state value holds: the value itself, or the items of a list.
fn messages_in(v: &Value) -> impl Iterator<Item = &Value> {
    let items: &[Value] = match v {
        Value::Array(items) => items,
        other => std::slice::from_ref(other),
    };
    items.iter().filter(|m| is_message(m))
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
                if let Some(interrupts) = e.take_interrupts() {
                    // A pause, not a failure: never retried.
                    return Err(Error::Interrupted(interrupts));
                }
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
pub(crate) fn route_writes(
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
