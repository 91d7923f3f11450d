//! The superstep algorithm, without IO: which tasks run next, and how their writes change the
//! channels. Mirrors LangGraph's `pregel/_algo.py` (`prepare_next_tasks`, `apply_writes`) so
//! both engines make the same decisions; `run_loop` does the async work around it.

use std::sync::Arc;

use crate::value::{Map, Value};
use uuid::Uuid;
use xxhash_rust::xxh3::xxh3_128;

use crate::channels::Channel;
use crate::graph::compiled::{ChannelId, ChannelRole, GraphInner, NodeId, ReadSlot, Reader};
use crate::state::State;
use crate::{Error, Result};

/// Identifies a task within a step and orders the application of writes: pull tasks (triggered by
/// edges) by node name, then push tasks (`Send`s) in the order they were sent — LangGraph's
/// `task_path_str` order (`~__pregel_pull, <name>` < `~__pregel_push, <idx>`).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum TaskPath {
    /// Writes that come from outside any task (input, `update_state`); applied first.
    Null,
    Pull(Arc<str>),
    Push(usize),
}

/// What the engine remembers between steps (the in-memory part of a checkpoint).
#[derive(Clone, Debug)]
pub(crate) struct Checkpoint {
    pub(crate) id: Uuid,
    /// Version of each channel; 0 = never written.
    pub(crate) versions: Vec<u64>,
    /// For each node, the version of each of its triggers it last ran on (aligned with
    /// `NodeDef::triggers`).
    pub(crate) seen: Vec<Vec<u64>>,
    /// The highest version of any channel (the next write gets a higher one).
    pub(crate) max_version: u64,
    /// Low bits of every version this run makes: random per run, so two branches of one thread
    /// (a fork and its original) never give one channel the same version, which would make
    /// them share a stored blob. LangGraph's savers add randomness for the same reason.
    pub(crate) salt: u64,
    /// Step-scoped channels that currently hold a value: the only ones an empty step can change.
    pub(crate) live_scoped: Vec<ChannelId>,
    /// Channel versions as of the last resume after a pause (LangGraph's
    /// `versions_seen["__interrupt__"]`); empty = all 0. A static interrupt only fires when some
    /// channel changed since.
    pub(crate) interrupt_seen: Vec<u64>,
}

impl Checkpoint {
    pub(crate) fn new(g: &GraphInner) -> Self {
        Checkpoint {
            id: Uuid::now_v7(),
            versions: vec![0; g.channels.len()],
            seen: g.nodes.iter().map(|n| vec![0; n.triggers.len()]).collect(),
            max_version: 0,
            salt: rand::random::<u64>() & VERSION_SALT_MASK,
            live_scoped: Vec::new(),
            interrupt_seen: Vec::new(),
        }
    }
}

/// Versions are `counter << 24 | salt`: ordered by the counter, unique per run by the salt.
const VERSION_SALT_BITS: u32 = 24;
const VERSION_SALT_MASK: u64 = (1 << VERSION_SALT_BITS) - 1;

impl Checkpoint {
    /// The version the next change of a channel gets.
    pub(crate) fn next_version(&self) -> u64 {
        (((self.max_version >> VERSION_SALT_BITS) + 1) << VERSION_SALT_BITS) | self.salt
    }
}

/// The input of a planned task.
#[derive(Clone, Debug)]
pub(crate) enum TaskInput {
    /// The state as read through the node's reader.
    State(State),
    /// The argument of a `Send`, or the graph input for START.
    Arg(Value),
}

impl TaskInput {
    pub(crate) fn state(&self) -> State {
        match self {
            TaskInput::State(s) => s.clone(),
            TaskInput::Arg(v) => State::from_value(v.clone()),
        }
    }
    pub(crate) fn to_value(&self) -> Value {
        match self {
            TaskInput::State(s) => s.to_value(),
            TaskInput::Arg(v) => v.clone(),
        }
    }
}

/// A task chosen to run in a step.
#[derive(Clone, Debug)]
pub(crate) struct PlannedTask {
    pub(crate) id: String,
    pub(crate) node: NodeId,
    pub(crate) path: TaskPath,
    pub(crate) input: TaskInput,
}

/// The writes of one task (or of the input), to apply at the end of the step.
#[derive(Debug, Clone)]
pub(crate) struct TaskWrites {
    pub(crate) path: TaskPath,
    /// `None` for writes from outside any task.
    pub(crate) node: Option<NodeId>,
    /// Whether the task was triggered by channels (pull): those are marked seen and consumed.
    pub(crate) pull: bool,
    pub(crate) writes: Vec<(ChannelId, Value)>,
}

/// Task id: xxh3-128 of the checkpoint id, namespace, step, node, kind and triggers — the same
/// recipe as LangGraph, so ids are stable for a given checkpoint and do not depend on the Rust
/// release or the process.
#[cfg(test)]
pub(crate) fn task_id(checkpoint: &Uuid, parts: &[&str]) -> String {
    let mut buf = Vec::with_capacity(16 + parts.iter().map(|p| p.len()).sum::<usize>());
    buf.extend_from_slice(checkpoint.as_bytes());
    for p in parts {
        buf.extend_from_slice(p.as_bytes());
    }
    format_id(xxh3_128(&buf))
}

/// Formats a 128-bit hash as a UUID-shaped string (8-4-4-4-12 lowercase hex).
fn format_id(h: u128) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let bytes = h.to_be_bytes();
    let mut out = String::with_capacity(36);
    for (i, b) in bytes.iter().enumerate() {
        if matches!(i, 4 | 6 | 8 | 10) {
            out.push('-');
        }
        out.push(HEX[(b >> 4) as usize] as char);
        out.push(HEX[(b & 0xf) as usize] as char);
    }
    out
}

/// Hashes task ids of one step into a reused buffer: `checkpoint id ++ namespace ++ step` is the
/// same for every task of the step.
struct TaskIds {
    buf: Vec<u8>,
    prefix_len: usize,
}

impl TaskIds {
    fn new(checkpoint: &Uuid, namespace: &str) -> Self {
        let mut buf = Vec::with_capacity(128);
        buf.extend_from_slice(checkpoint.as_bytes());
        buf.extend_from_slice(namespace.as_bytes());
        if !namespace.is_empty() {
            buf.push(b'|');
        }
        let prefix_len = buf.len();
        TaskIds { buf, prefix_len }
    }

    /// `ns|name`, step, then the rest.
    fn id(&mut self, name: &str, step: &str, rest: &[&[u8]]) -> String {
        self.buf.truncate(self.prefix_len);
        self.buf.extend_from_slice(name.as_bytes());
        self.buf.extend_from_slice(step.as_bytes());
        for r in rest {
            self.buf.extend_from_slice(r);
        }
        format_id(xxh3_128(&self.buf))
    }
}

/// Builds the view a reader sees.
pub(crate) fn read_state(channels: &[Box<dyn Channel>], reader: &Reader, step: i64, stop: i64) -> State {
    let values: Arc<[Option<Value>]> = reader
        .slots
        .iter()
        .map(|slot| match *slot {
            ReadSlot::Channel(c) => channels[c].get(),
            ReadSlot::Managed(m) => Some(m.value(step, stop)),
        })
        .collect();
    State::from_view(reader.keys.clone(), values)
}

/// The state a router sees: the channels with the source task's own writes applied (LangGraph's
/// `fresh=True` read). Only channels the task wrote are copied.
pub(crate) fn read_fresh_state(
    g: &GraphInner,
    channels: &[Box<dyn Channel>],
    writes: &[(ChannelId, Value)],
    reader: &Reader,
    step: i64,
    stop: i64,
) -> Result<State> {
    let mut values: Vec<Option<Value>> = Vec::with_capacity(reader.slots.len());
    for slot in reader.slots.iter() {
        values.push(match *slot {
            ReadSlot::Managed(m) => Some(m.value(step, stop)),
            ReadSlot::Channel(c) => {
                let mine: Vec<Value> = writes.iter().filter(|(w, _)| *w == c).map(|(_, v)| v.clone()).collect();
                if mine.is_empty() {
                    channels[c].get()
                } else {
                    let mut copy = channels[c].clone_box();
                    copy.update(&g.channels[c].name, mine)?;
                    copy.get()
                }
            }
        });
    }
    Ok(State::from_view(reader.keys.clone(), values.into()))
}

/// Plans the tasks of step `step`: push tasks for every pending `Send`, then pull tasks for every
/// node with a trigger channel that is available and newer than the version the node last saw.
/// With `updated`, only nodes triggered by those channels are considered (LangGraph's
/// `trigger_to_nodes` optimisation; the result is the same).
pub(crate) fn prepare_next_tasks(
    g: &GraphInner,
    channels: &[Box<dyn Channel>],
    checkpoint: &Checkpoint,
    updated: Option<&[ChannelId]>,
    step: i64,
    stop: i64,
    namespace: &str,
) -> Vec<PlannedTask> {
    let mut tasks = Vec::new();
    let step_str = step.to_string();
    let mut ids = TaskIds::new(&checkpoint.id, namespace);

    if let Some(Value::Array(sends)) = channels[g.tasks_channel].get() {
        for (idx, packet) in sends.iter().enumerate() {
            let Some(node_name) = packet.get("node").and_then(Value::as_str) else {
                tracing::warn!(?packet, "ignoring invalid packet in pending sends");
                continue;
            };
            let Some(&node) = g.node_index.get(node_name) else {
                tracing::warn!(node = node_name, "ignoring send to unknown node");
                continue;
            };
            let arg = packet.get("arg").cloned().unwrap_or(Value::Null);
            let id =
                ids.id(node_name, &step_str, &[node_name.as_bytes(), b"__pregel_push", idx.to_string().as_bytes()]);
            tasks.push(PlannedTask { id, node, path: TaskPath::Push(idx), input: TaskInput::Arg(arg) });
        }
    }

    let mut candidates: Vec<NodeId> = match updated {
        Some(updated) => {
            let mut c: Vec<NodeId> = updated.iter().flat_map(|&ch| g.trigger_to_nodes[ch].iter().copied()).collect();
            c.sort_unstable();
            c.dedup();
            c
        }
        None => (0..g.nodes.len()).collect(),
    };
    candidates.sort_by(|a, b| g.nodes[*a].name.cmp(&g.nodes[*b].name));

    // One view per distinct reader per step: parallel nodes share it.
    let mut views: Vec<(usize, State)> = Vec::new();
    for n in candidates {
        let node = &g.nodes[n];
        let triggered = node
            .triggers
            .iter()
            .zip(&checkpoint.seen[n])
            .any(|(&ch, &seen)| channels[ch].is_available() && checkpoint.versions[ch] > seen);
        if !triggered {
            continue;
        }
        let id = ids.id(&node.name, &step_str, &[&node.pull_id_suffix]);
        let input = if node.func.is_none() {
            // START reads the raw input.
            match channels[g.start_channel].get() {
                Some(v) => TaskInput::Arg(v),
                None => continue,
            }
        } else {
            let state = match views.iter().find(|(r, _)| *r == node.reader.id) {
                Some((_, s)) => s.clone(),
                None => {
                    let s = read_state(channels, &node.reader, step, stop);
                    views.push((node.reader.id, s.clone()));
                    s
                }
            };
            TaskInput::State(state)
        };
        tasks.push(PlannedTask { id, node: n, path: TaskPath::Pull(node.name.clone()), input });
    }
    tasks
}

/// Applies the writes of one step, in task-path order, and returns the channels that changed and
/// are available (they decide what runs next). Mirrors LangGraph's `apply_writes`:
/// mark triggers as seen, consume them, update written channels, let every other channel know a
/// step passed, and, when nothing would run next, tell every channel the run is finishing.
pub(crate) fn apply_writes(
    g: &GraphInner,
    channels: &mut [Box<dyn Channel>],
    checkpoint: &mut Checkpoint,
    tasks: &mut [TaskWrites],
) -> Result<Vec<ChannelId>> {
    apply_writes_routed(g, channels, checkpoint, tasks, None)
}

/// Computes the writes of a step's conditional edges from the channels as they are once the
/// step's state writes are applied.
pub(crate) type LateRouter<'a> = &'a mut dyn FnMut(&[Box<dyn Channel>]) -> Result<Vec<(ChannelId, Value)>>;

/// [`apply_writes`] for a step with a single task whose routers have not run yet: the state and
/// private keys are updated first, then `route` reads them in place — what LangGraph's fresh read
/// would show, since no other task wrote in this step — and its writes (edges, `Send`s) are
/// applied together with the task's other writes to engine channels. This saves the copy the
/// fresh read makes of every key the task wrote (a growing message list, on every agent step).
pub(crate) fn apply_writes_routed(
    g: &GraphInner,
    channels: &mut [Box<dyn Channel>],
    checkpoint: &mut Checkpoint,
    tasks: &mut [TaskWrites],
    mut route: Option<LateRouter<'_>>,
) -> Result<Vec<ChannelId>> {
    tasks.sort_by(|a, b| a.path.cmp(&b.path));
    let bump_step = tasks.iter().any(|t| t.pull || matches!(t.path, TaskPath::Push(_)));

    for t in tasks.iter() {
        if let (Some(n), true) = (t.node, t.pull) {
            for (i, &ch) in g.nodes[n].triggers.iter().enumerate() {
                checkpoint.seen[n][i] = checkpoint.versions[ch];
            }
        }
    }

    let next_version = checkpoint.next_version();
    let mut changed = false;
    let mut bump = |checkpoint: &mut Checkpoint, ch: ChannelId| {
        checkpoint.versions[ch] = next_version;
        changed = true;
    };

    let mut consumed: Vec<ChannelId> = tasks
        .iter()
        .filter(|t| t.pull)
        .filter_map(|t| t.node)
        .flat_map(|n| g.nodes[n].triggers.iter().copied())
        .collect();
    consumed.sort_unstable();
    consumed.dedup();
    for ch in consumed {
        if channels[ch].consume() {
            bump(checkpoint, ch);
        }
    }

    // Group writes by channel, keeping task order (a stable sort over the concatenated writes),
    // and remember who wrote what (for validation errors).
    let mut writes: Vec<(ChannelId, Option<NodeId>, Value)> = Vec::new();
    for t in tasks.iter_mut() {
        writes.extend(t.writes.drain(..).map(|(ch, v)| (ch, t.node, v)));
    }
    writes.sort_by_key(|(ch, _, _)| *ch);
    let writers: Vec<(ChannelId, NodeId)> =
        if g.has_validators { writes.iter().filter_map(|(c, n, _)| n.map(|n| (*c, n))).collect() } else { Vec::new() };

    let mut updated: Vec<ChannelId> = Vec::new();
    let mut apply = |channels: &mut [Box<dyn Channel>],
                     checkpoint: &mut Checkpoint,
                     writes: Vec<(ChannelId, Option<NodeId>, Value)>|
     -> Result<()> {
        let mut iter = writes.into_iter().peekable();
        while let Some((ch, _, first)) = iter.next() {
            let mut values = vec![first];
            while let Some((_, _, v)) = iter.next_if(|(c, _, _)| *c == ch) {
                values.push(v);
            }
            if channels[ch].update(&g.channels[ch].name, values)? {
                bump(checkpoint, ch);
                if channels[ch].is_available() {
                    updated.push(ch);
                }
                if g.has_validators {
                    validate_channel(g, channels, ch, &writers)?;
                }
            }
        }
        Ok(())
    };
    match route.as_mut() {
        None => apply(channels, checkpoint, writes)?,
        Some(route) => {
            let (engine, state): (Vec<_>, Vec<_>) =
                writes.into_iter().partition(|(ch, _, _)| g.channels[*ch].role == ChannelRole::Internal);
            apply(channels, checkpoint, state)?;
            let mut engine = engine;
            // The routers' writes come after the task's own, as they would in the task.
            engine.extend(route(channels)?.into_iter().map(|(ch, v)| (ch, None, v)));
            engine.sort_by_key(|(ch, _, _)| *ch);
            apply(channels, checkpoint, engine)?;
        }
    }

    let live = std::mem::take(&mut checkpoint.live_scoped);
    if bump_step {
        // Only step-scoped channels that hold a value can change on an empty update; LangGraph
        // asks every channel, with the same result.
        for &ch in &live {
            if !updated.contains(&ch)
                && channels[ch].is_available()
                && channels[ch].update(&g.channels[ch].name, Vec::new())?
            {
                bump(checkpoint, ch);
                if channels[ch].is_available() {
                    updated.push(ch);
                }
            }
        }
        let will_trigger = updated.iter().any(|&ch| !g.trigger_to_nodes[ch].is_empty());
        if !will_trigger {
            for (ch, channel) in channels.iter_mut().enumerate() {
                if channel.finish() {
                    bump(checkpoint, ch);
                    if channel.is_available() && !updated.contains(&ch) {
                        updated.push(ch);
                    }
                }
            }
        }
    }
    let mut next_live: Vec<ChannelId> = Vec::with_capacity(live.len() + updated.len());
    for &ch in live.iter().chain(&updated) {
        if g.channels[ch].step_scoped && channels[ch].is_available() && !next_live.contains(&ch) {
            next_live.push(ch);
        }
    }
    checkpoint.live_scoped = next_live;
    if changed {
        checkpoint.max_version = next_version;
    }
    Ok(updated)
}

fn validate_channel(
    g: &GraphInner,
    channels: &[Box<dyn Channel>],
    ch: ChannelId,
    writers: &[(ChannelId, NodeId)],
) -> Result<()> {
    let def = &g.channels[ch];
    if def.role == ChannelRole::Internal {
        return Ok(());
    }
    let (Some(spec), Some(value)) = (&def.spec, channels[ch].get()) else { return Ok(()) };
    let Some(validator) = &spec.validator else { return Ok(()) };
    validator.0(&value).map_err(|message| {
        let mut names: Vec<&str> = writers.iter().filter(|(c, _)| *c == ch).map(|(_, n)| &*g.nodes[*n].name).collect();
        names.dedup();
        let writer =
            if names.is_empty() || names == [crate::types::START] { "input".to_owned() } else { names.join(", ") };
        Error::Validation { field: def.name.to_string(), writer, message }
    })
}

/// Whether a static interrupt (`interrupt_before` / `interrupt_after` naming `nodes`, `"*"` for
/// all) stops the run at `tasks`: some channel changed since the last resume and one of the tasks
/// runs a listed node (LangGraph's `should_interrupt`).
pub(crate) fn should_interrupt(g: &GraphInner, cp: &Checkpoint, nodes: &[String], tasks: &[NodeId]) -> bool {
    if nodes.is_empty() {
        return false;
    }
    changed_since_resume(cp)
        && tasks.iter().any(|&n| {
            let node = &g.nodes[n];
            !node.hidden && nodes.iter().any(|x| x == "*" || **x == *node.name)
        })
}

/// Whether some channel changed since the run was last resumed (static interrupts and breakpoints
/// fire only then, so they do not fire again at the place a resume starts from).
pub(crate) fn changed_since_resume(cp: &Checkpoint) -> bool {
    cp.versions.iter().enumerate().any(|(ch, &v)| v > cp.interrupt_seen.get(ch).copied().unwrap_or(0))
}

/// Reads the given channels into an object (keys without a value are left out).
pub(crate) fn read_channels(g: &GraphInner, channels: &[Box<dyn Channel>], keys: &[ChannelId]) -> Value {
    let mut m = Map::with_capacity(keys.len());
    for &k in keys {
        if let Some(v) = channels[k].get() {
            m.insert(g.channels[k].name.clone(), v);
        }
    }
    Value::from(m)
}

#[cfg(test)]
mod tests;
