//! Reading and editing a thread's saved state: `get_state`, `get_state_history`, `update_state`
//! (LangGraph's `StateSnapshot` API). Time travel is `invoke` with a `checkpoint_id`.

use std::sync::Arc;

use stategraph_checkpoint::{
    CheckpointConfig, CheckpointMetadata, CheckpointSource, CheckpointTuple, Checkpointer, ListFilter,
};

use super::compiled::{ChannelRole, CompiledGraph, GraphInner};
use crate::pregel::algo::{self, TaskPath, TaskWrites};
use crate::pregel::persist;
use crate::types::{END, Interrupt, START};
use crate::value::{Map, Value};
use crate::{Error, Result};

/// A thread's state at one checkpoint (LangGraph's `StateSnapshot`).
#[derive(Debug, Clone, PartialEq)]
pub struct StateSnapshot {
    /// The state keys that hold a value.
    pub values: Value,
    /// Nodes that run in the next step (empty when the run finished).
    pub next: Vec<String>,
    /// Points at this checkpoint (no `checkpoint_id` when the thread has none).
    pub config: CheckpointConfig,
    /// The checkpoint's metadata (`None` when the thread has no checkpoint).
    pub metadata: Option<CheckpointMetadata>,
    /// When the checkpoint was made (RFC 3339).
    pub created_at: Option<String>,
    /// The checkpoint this one was made from.
    pub parent_config: Option<CheckpointConfig>,
    /// The tasks of the next step, with the error, interrupts or result each left behind.
    pub tasks: Vec<TaskSnapshot>,
    /// Every pending interrupt of those tasks.
    pub interrupts: Vec<Interrupt>,
}

/// A task of the step after a checkpoint (LangGraph's `PregelTask`).
#[derive(Debug, Clone, PartialEq)]
pub struct TaskSnapshot {
    /// The task id.
    pub id: String,
    /// The node.
    pub name: String,
    /// Its error, if it failed: `{"type": ..., "message": ...}`.
    pub error: Option<Value>,
    /// Interrupts it is waiting on.
    pub interrupts: Vec<Interrupt>,
    /// Its writes to state keys, if it finished (a resume will not run it again).
    pub result: Option<Value>,
    /// For a subgraph node, the subgraph's own state in this task (only from
    /// [`get_state_with_subgraphs`](CompiledGraph::get_state_with_subgraphs), and only when the
    /// subgraph saved a checkpoint in the task, e.g. because it paused).
    pub state: Option<Box<StateSnapshot>>,
}

impl CompiledGraph {
    fn saver(&self) -> Result<&Arc<dyn Checkpointer>> {
        self.inner.checkpointer.as_ref().ok_or_else(|| {
            Error::NoCheckpointer(format!(
                "graph `{}` has no checkpointer: compile it with `CompileOptions::with_checkpointer`",
                self.inner.name
            ))
        })
    }

    /// The state of a thread: at its latest checkpoint, or at `config.checkpoint_id`.
    pub async fn get_state(&self, config: &CheckpointConfig) -> Result<StateSnapshot> {
        let saver = self.saver()?;
        match saver.get_tuple(config).await? {
            // Like LangGraph, the latest state shows the writes of tasks that finished in a step
            // that did not complete (a sibling failed or paused); a past checkpoint does not.
            Some(t) => Ok(snapshot(&self.inner, &t, config.checkpoint_id.is_none())),
            None => Ok(StateSnapshot {
                values: Value::from(Map::new()),
                next: Vec::new(),
                config: config.clone(),
                metadata: None,
                created_at: None,
                parent_config: None,
                tasks: Vec::new(),
                interrupts: Vec::new(),
            }),
        }
    }

    /// [`get_state`](CompiledGraph::get_state), with the state of every subgraph node of the next
    /// step in its task (recursively): where a paused subgraph stands.
    pub async fn get_state_with_subgraphs(&self, config: &CheckpointConfig) -> Result<StateSnapshot> {
        let saver = self.saver()?.clone();
        let mut snap = self.get_state(config).await?;
        add_subgraph_states(&self.inner, &saver, &mut snap).await?;
        Ok(snap)
    }

    /// The thread's checkpoints, newest first. `filter`'s thread and namespace are taken from
    /// `config`; its `before`, `limit` and `metadata` narrow the list.
    pub async fn get_state_history(&self, config: &CheckpointConfig, filter: ListFilter) -> Result<Vec<StateSnapshot>> {
        let saver = self.saver()?;
        let filter = ListFilter {
            thread_id: Some(config.thread_id.clone()),
            checkpoint_ns: Some(config.checkpoint_ns.clone()),
            ..filter
        };
        Ok(saver.list(&filter).await?.iter().map(|t| snapshot(&self.inner, t, false)).collect())
    }

    /// Writes `values` to the thread's state as if node `as_node` had returned them, and saves a
    /// new checkpoint (metadata source `update`). With `config.checkpoint_id` set to an older
    /// checkpoint, the new one branches off it: a fork. The next run continues from it, running
    /// what `as_node`'s edges lead to. Without `as_node`, the node that wrote last is used
    /// (LangGraph's rule; ambiguous when two nodes wrote in the last step).
    pub async fn update_state(
        &self,
        config: &CheckpointConfig,
        values: impl Into<Value>,
        as_node: Option<&str>,
    ) -> Result<CheckpointConfig> {
        let g = &self.inner;
        let saver = self.saver()?;
        let values = values.into();
        let saved = saver.get_tuple(config).await?;
        let (mut channels, mut cp, step, parent) = match &saved {
            Some(t) => {
                let (ch, cp) = persist::restore(g, &t.checkpoint);
                (ch, cp, t.metadata.step, t.config.clone())
            }
            None => (
                g.new_channels(),
                algo::Checkpoint::new(g),
                -1,
                CheckpointConfig { checkpoint_id: None, ..config.clone() },
            ),
        };
        let as_node = match as_node {
            Some(n) => n.to_owned(),
            None => last_writer(g, &cp)?,
        };
        if as_node == END {
            return Err(Error::InvalidStateUpdate("as_node cannot be END".into()));
        }
        let &n = g
            .node_index
            .get(as_node.as_str())
            .ok_or_else(|| Error::InvalidStateUpdate(format!("as_node `{as_node}` is not a node of this graph")))?;
        let node = &g.nodes[n];
        let mut writes = Vec::new();
        if n == 0 {
            writes.push((g.start_channel, values));
        } else {
            match values {
                Value::Null => {}
                Value::Object(m) => {
                    for (k, v) in m.iter() {
                        match g.channel(k) {
                            Some(c) if g.channels[c].role != ChannelRole::Internal => writes.push((c, v.clone())),
                            _ => {
                                return Err(Error::InvalidStateUpdate(format!("`{k}` is not a key of the state")));
                            }
                        }
                    }
                }
                other => {
                    return Err(Error::InvalidStateUpdate(format!(
                        "values must be an object of state keys, got {}",
                        crate::types::describe(&other)
                    )));
                }
            }
            for &e in &node.edges {
                writes.push((e, Value::Null));
            }
            for &j in &node.joins {
                writes.push((j, Value::from(&node.name)));
            }
            let stop = step + 2;
            for b in &node.branches {
                let fresh = algo::read_fresh_state(g, &channels, &writes, &b.reader, step + 1, stop)?;
                crate::pregel::route_writes_for_update(g, node, b, &fresh, &mut writes)?;
            }
        }
        let mut task = TaskWrites { path: TaskPath::Pull(node.name.clone()), node: Some(n), pull: true, writes };
        let updated = algo::apply_writes(g, &mut channels, &mut cp, std::slice::from_mut(&mut task))?;
        cp.id = uuid::Uuid::now_v7();
        let stored = persist::to_stored(g, &channels, &cp, &updated, &[n]);
        let mut metadata = CheckpointMetadata::new(CheckpointSource::Update, step + 1);
        if let Some(t) = &saved {
            metadata.parents = t.metadata.parents.clone();
        }
        let saved_versions: Vec<u64> = match &saved {
            Some(t) => {
                g.channels.iter().map(|c| t.checkpoint.channel_versions.get(&*c.name).copied().unwrap_or(0)).collect()
            }
            None => Vec::new(),
        };
        let nv = persist::new_versions(g, &stored, &saved_versions);
        Ok(saver.put(&parent, &stored, &metadata, &nv).await?)
    }
}

/// Fills `TaskSnapshot::state` for the tasks of subgraph nodes, from the checkpoints the subgraph
/// saved under the task's namespace.
fn add_subgraph_states<'a>(
    g: &'a GraphInner,
    saver: &'a Arc<dyn Checkpointer>,
    snap: &'a mut StateSnapshot,
) -> futures::future::BoxFuture<'a, Result<()>> {
    Box::pin(async move {
        for task in &mut snap.tasks {
            let Some(&n) = g.node_index.get(task.name.as_str()) else { continue };
            let Some(sub) = g.nodes[n].func.as_ref().and_then(|f| f.subgraph()) else { continue };
            let ns = crate::context::task_namespace(&snap.config.checkpoint_ns, &task.name, &task.id);
            let config =
                CheckpointConfig { thread_id: snap.config.thread_id.clone(), checkpoint_ns: ns, checkpoint_id: None };
            if let Some(t) = saver.get_tuple(&config).await? {
                let mut inner = snapshot(&sub.inner, &t, true);
                add_subgraph_states(&sub.inner, saver, &mut inner).await?;
                task.state = Some(Box::new(inner));
            }
        }
        Ok(())
    })
}

/// The node that wrote last, by the versions each node has seen (LangGraph's rule).
fn last_writer(g: &GraphInner, cp: &algo::Checkpoint) -> Result<String> {
    let mut seen: Vec<(u64, &str)> = Vec::new();
    for (n, node) in g.nodes.iter().enumerate() {
        for &v in &cp.seen[n] {
            if v > 0 {
                seen.push((v, &node.name));
            }
        }
    }
    if seen.is_empty() {
        return Ok(START.to_owned());
    }
    seen.sort();
    let last = seen[seen.len() - 1];
    if seen.len() == 1 || seen[seen.len() - 2].0 != last.0 {
        return Ok(last.1.to_owned());
    }
    Err(Error::InvalidStateUpdate("ambiguous update: two nodes wrote last; specify as_node".into()))
}

/// The snapshot of one stored checkpoint.
fn snapshot(g: &GraphInner, t: &CheckpointTuple, apply_pending: bool) -> StateSnapshot {
    let (mut channels, mut cp) = persist::restore(g, &t.checkpoint);
    let null: Vec<(usize, Value)> = t
        .pending_writes
        .iter()
        .filter(|w| w.task_id == persist::NULL_TASK_ID)
        .filter_map(|w| g.channel(&w.channel).map(|c| (c, w.value.clone())))
        .collect();
    if !null.is_empty() {
        let mut w = TaskWrites { path: TaskPath::Null, node: None, pull: false, writes: null };
        if let Err(e) = algo::apply_writes(g, &mut channels, &mut cp, std::slice::from_mut(&mut w)) {
            tracing::warn!(error = %e, "pending writes of no task could not be applied to the snapshot");
        }
    }
    let step = t.metadata.step + 1;
    let mut planned = algo::prepare_next_tasks(g, &channels, &cp, None, step, step + 1, &t.config.checkpoint_ns);
    // Sends first, then nodes in the order they were added (LangGraph's snapshot order).
    planned.sort_by_key(|p| match p.path {
        TaskPath::Push(i) => (0, i),
        _ => (1, p.node),
    });
    let mut finished: Vec<TaskWrites> = Vec::new();
    let mut tasks = Vec::with_capacity(planned.len());
    let mut interrupts = Vec::new();
    for p in &planned {
        let record = persist::TaskRecord::of(&t.pending_writes, &p.id);
        let error = record.error().cloned();
        let task_interrupts: Vec<Interrupt> = record.interrupts().iter().filter_map(Interrupt::from_value).collect();
        let state_writes = record.state_writes(g);
        let result = (!state_writes.is_empty()).then(|| Value::from(state_writes));
        if apply_pending && let Some(w) = record.finished(g, &p.path, p.node) {
            finished.push(w);
        }
        interrupts.extend(task_interrupts.iter().cloned());
        tasks.push(TaskSnapshot {
            id: p.id.clone(),
            name: g.nodes[p.node].name.to_string(),
            error,
            interrupts: task_interrupts,
            result,
            state: None,
        });
    }
    let done: Vec<TaskPath> = finished.iter().map(|w| w.path.clone()).collect();
    if !finished.is_empty()
        && let Err(e) = algo::apply_writes(g, &mut channels, &mut cp, &mut finished)
    {
        tracing::warn!(error = %e, "pending writes could not be applied to the snapshot");
    }
    StateSnapshot {
        values: algo::read_channels(g, &channels, &g.output_keys),
        next: planned.iter().filter(|p| !done.contains(&p.path)).map(|p| g.nodes[p.node].name.to_string()).collect(),
        config: t.config.clone(),
        metadata: Some(t.metadata.clone()),
        created_at: Some(t.checkpoint.ts.clone()),
        parent_config: t.parent_config.clone(),
        tasks,
        interrupts,
    }
}
