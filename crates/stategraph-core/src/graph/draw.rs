//! Drawing a compiled graph: Mermaid text identical to Python LangGraph's, and a plain-text listing
//! for terminals.
//!
//! LangGraph (1.2.x) does not draw the graph as declared. `get_graph()` *simulates* a run without
//! calling any node or router (`langgraph/pregel/_draw.py`): node writers run on an empty input, so
//! only plain edges and joins write; conditional edges and `Command` destinations contribute the
//! targets they declare (path maps, `destinations`), once per node; the edges are whatever that run
//! wires together, and the nodes it ends on get an edge to `__end__`. The Mermaid text is then
//! produced by `langchain_core`'s `Graph.draw_mermaid()`. Matching LangGraph byte for byte means
//! replaying the same simulation here, with the same channel semantics, so this file has three
//! parts: the simulation (→ a set of edges), the drawable graph (LangChain's `Graph`, with subgraph
//! expansion for `xray`) and the Mermaid renderer. The terminal listing is our own and reads the
//! declared structure instead.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::fmt::Write as _;

use indexmap::{IndexMap, IndexSet};
use serde_json::{Map, Value};

use super::builder::StateGraph;
use super::compiled::{CompiledGraph, GraphInner};
use crate::types::{END, START};

/// How Mermaid curves edges (the `flowchart.curve` setting; LangChain's `CurveStyle`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum CurveStyle {
    /// `basis`.
    Basis,
    /// `bumpX`.
    BumpX,
    /// `bumpY`.
    BumpY,
    /// `cardinal`.
    Cardinal,
    /// `catmullRom`.
    CatmullRom,
    /// `linear` (LangGraph's default).
    #[default]
    Linear,
    /// `monotoneX`.
    MonotoneX,
    /// `monotoneY`.
    MonotoneY,
    /// `natural`.
    Natural,
    /// `step`.
    Step,
    /// `stepAfter`.
    StepAfter,
    /// `stepBefore`.
    StepBefore,
}

impl CurveStyle {
    /// The name Mermaid knows the style by.
    ///
    /// ```
    /// use stategraph_core::graph::CurveStyle;
    /// assert_eq!(CurveStyle::CatmullRom.as_str(), "catmullRom");
    /// ```
    pub fn as_str(self) -> &'static str {
        match self {
            CurveStyle::Basis => "basis",
            CurveStyle::BumpX => "bumpX",
            CurveStyle::BumpY => "bumpY",
            CurveStyle::Cardinal => "cardinal",
            CurveStyle::CatmullRom => "catmullRom",
            CurveStyle::Linear => "linear",
            CurveStyle::MonotoneX => "monotoneX",
            CurveStyle::MonotoneY => "monotoneY",
            CurveStyle::Natural => "natural",
            CurveStyle::Step => "step",
            CurveStyle::StepAfter => "stepAfter",
            CurveStyle::StepBefore => "stepBefore",
        }
    }
}

/// Options of [`CompiledGraph::draw_mermaid_with`]; the default draws like
/// `graph.get_graph().draw_mermaid()`.
///
/// ```
/// use stategraph_core::graph::{CurveStyle, MermaidOptions};
///
/// // LangGraph's `get_graph(xray=True).draw_mermaid(curve_style=CurveStyle.BASIS)`:
/// let options = MermaidOptions { xray: true, curve_style: CurveStyle::Basis, ..MermaidOptions::default() };
/// assert!(options.with_styles);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MermaidOptions {
    /// Draw the inside of subgraph nodes, recursively (`get_graph(xray=True)`).
    pub xray: bool,
    /// How edges curve (`draw_mermaid(curve_style=...)`).
    pub curve_style: CurveStyle,
    /// Emit the front matter, the node declarations and the `classDef`s
    /// (`draw_mermaid(with_styles=...)`). Without them the text is only edges, as in LangChain.
    pub with_styles: bool,
}

impl Default for MermaidOptions {
    fn default() -> Self {
        MermaidOptions { xray: false, curve_style: CurveStyle::Linear, with_styles: true }
    }
}

impl CompiledGraph {
    /// The graph as a Mermaid flowchart, the same text Python LangGraph's
    /// `graph.get_graph().draw_mermaid()` produces for the same graph.
    ///
    /// Plain edges are drawn `-->`, conditional edges and `Command` destinations
    /// ([`NodeOptions::destinations`](crate::NodeOptions::destinations)) `-.->`, with the path
    /// map's label when it differs from the target; a join `[a, b] -> c` is drawn as `a --> c` and
    /// `b --> c`. Like LangGraph, the edges are found by simulating a run without calling nodes or
    /// routers, so only *declared* targets are drawn. A conditional edge without a path map
    /// therefore draws no edge at all (LangGraph 1.2 cannot know where the router goes; older
    /// releases drew an edge to every node): its source usually gets an edge to `__end__` and the
    /// nodes only it leads to float unconnected. Give such routers a path map
    /// ([`PathMap::nodes`](crate::PathMap::nodes)) to get a useful drawing. Node metadata is
    /// listed under the node's name, and deferred nodes are marked `defer = True`, as in LangGraph.
    ///
    /// ```
    /// use serde_json::json;
    /// use stategraph_core::{NodeError, Schema, StateGraph, END, START};
    ///
    /// let mut graph = StateGraph::new(Schema::new().last_value("x"));
    /// graph
    ///     .add_node("a", |_s, _ctx| async { Ok::<_, NodeError>(json!({})) })
    ///     .add_edge(START, "a")
    ///     .add_edge("a", END);
    /// let mermaid = graph.compile().unwrap().draw_mermaid();
    /// assert!(mermaid.contains("\t__start__ --> a;\n\ta --> __end__;\n"));
    /// ```
    pub fn draw_mermaid(&self) -> String {
        self.draw_mermaid_with(MermaidOptions::default())
    }

    /// [`draw_mermaid`](Self::draw_mermaid) with options: expand subgraphs (`xray`), change the
    /// edge curve, or leave out styles.
    ///
    /// Differences from LangGraph: where LangChain raises because two expanded subgraphs share a
    /// name, the text is returned anyway; floats in node metadata are printed like Python's `repr`.
    ///
    /// ```
    /// use serde_json::json;
    /// use stategraph_core::graph::{CurveStyle, MermaidOptions};
    /// use stategraph_core::{NodeError, Schema, StateGraph, END, START};
    ///
    /// let node = |_s, _ctx| async { Ok::<_, NodeError>(json!({})) };
    /// let mut inner = StateGraph::new(Schema::new().last_value("x"));
    /// inner.add_node("step", node).add_edge(START, "step").add_edge("step", END);
    /// let mut outer = StateGraph::new(Schema::new().last_value("x"));
    /// outer.add_node("inner", inner.compile().unwrap()).add_edge(START, "inner").add_edge("inner", END);
    /// let options = MermaidOptions { xray: true, curve_style: CurveStyle::Basis, with_styles: false };
    /// assert_eq!(
    ///     outer.compile().unwrap().draw_mermaid_with(options),
    ///     "graph TD;\n\t__start__ --> inner\\3astep;\n\tinner\\3astep --> __end__;\n"
    /// );
    /// ```
    pub fn draw_mermaid_with(&self, options: MermaidOptions) -> String {
        render_mermaid(&drawing(&self.inner, options.xray), &options)
    }

    /// The drawable graph as JSON, in the shape of LangGraph's `get_graph(xray).to_json()` as the
    /// LangGraph Server returns it (`GET /assistants/{id}/graph`): `nodes` (`id`, `type`,
    /// `data.name`, and `metadata` when the node has some — breakpoints, `defer`, user metadata)
    /// and `edges` (`source`, `target`, `data` = the branch label, `conditional`). The nodes and
    /// edges are those [`draw_mermaid`](Self::draw_mermaid) draws; `__end__` comes last.
    ///
    /// ```
    /// use serde_json::json;
    /// use stategraph_core::{NodeError, Schema, StateGraph, END, START};
    ///
    /// let mut graph = StateGraph::new(Schema::new().last_value("x"));
    /// graph.add_node("a", |_s, _ctx| async { Ok::<_, NodeError>(json!({})) }).add_edge(START, "a").add_edge("a", END);
    /// let j = graph.compile().unwrap().graph_json(false);
    /// assert_eq!(j["nodes"][1], json!({"id": "a", "type": "runnable", "data": {"name": "a"}}));
    /// assert_eq!(j["nodes"][2], json!({"id": "__end__"}));
    /// assert_eq!(j["edges"][0], json!({"source": "__start__", "target": "a"}));
    /// ```
    pub fn graph_json(&self, xray: bool) -> Value {
        let d = drawing(&self.inner, xray);
        let nodes: Vec<Value> = d
            .nodes
            .iter()
            .map(|(id, node)| {
                // `__end__` (a subgraph's too) has no runnable behind it: LangGraph gives its id only.
                if node.name == END {
                    return serde_json::json!({"id": id});
                }
                // The name is the full id (`outer:inner` with xray), as LangGraph writes it.
                let mut n = serde_json::json!({"id": id, "type": "runnable", "data": {"name": id}});
                if !node.metadata.is_empty() {
                    n["metadata"] = Value::Object(node.metadata.clone());
                }
                n
            })
            .collect();
        let edges: Vec<Value> = d
            .edges
            .iter()
            .map(|e| {
                let mut edge = serde_json::json!({"source": e.source, "target": e.target});
                if let Some(label) = &e.label {
                    edge["data"] = Value::String(label.clone());
                }
                if e.conditional {
                    edge["conditional"] = Value::Bool(true);
                }
                edge
            })
            .collect();
        serde_json::json!({"nodes": nodes, "edges": edges})
    }

    /// The graph as plain text for a terminal: every node, top-down in the order a run reaches
    /// them, with its outgoing edges indented below it.
    ///
    /// Unlike [`draw_mermaid`](Self::draw_mermaid) (and LangGraph's grandalf drawing) this lists
    /// the graph *as declared*. The format:
    ///
    /// * Nodes in breadth-first order from `__start__` (edges in the order they were added);
    ///   nodes nothing declared leads to come next, in insertion order; `__end__` is last.
    ///   A node's header carries `[defer]` for deferred nodes and `[subgraph]` for subgraph
    ///   nodes, whose own listing follows, each line prefixed with `  | `.
    /// * Edge lines, aligned in columns: `--> b` a plain edge; `-.-> b  [label]` a conditional
    ///   edge (the path map's label, when it is not the target's name); `-.-> ?` a conditional
    ///   edge without a path map (the router names the target at run time); `==> c  (join: a + b)`
    ///   one source of a join, `c` runs when all of `a`, `b` are done; `~~> b` a `Command`
    ///   destination. `(loops back)` marks an edge to a node listed above (a cycle).
    /// * A last line explains the arrows that appear.
    ///
    /// ```
    /// use serde_json::json;
    /// use stategraph_core::{NodeError, PathMap, Schema, StateGraph, END, START};
    ///
    /// let node = |_s, _ctx| async { Ok::<_, NodeError>(json!({})) };
    /// let mut graph = StateGraph::new(Schema::new().last_value("x"));
    /// graph
    ///     .add_node("agent", node)
    ///     .add_node("tools", node)
    ///     .add_edge(START, "agent")
    ///     .add_conditional_edges("agent", |_s| "done", PathMap::labels([("continue", "tools"), ("done", END)]))
    ///     .add_edge("tools", "agent");
    /// assert_eq!(
    ///     graph.compile().unwrap().draw_ascii(),
    ///     "\
    /// __start__
    ///   --> agent
    /// agent
    ///   -.-> tools    [continue]
    ///   -.-> __end__  [done]
    /// tools
    ///   --> agent  (loops back)
    /// __end__
    /// arrows: --> edge, -.-> conditional edge
    /// "
    /// );
    /// ```
    pub fn draw_ascii(&self) -> String {
        let mut out = String::new();
        let mut kinds = BTreeSet::new();
        ascii_listing(&self.inner.builder, "", &mut out, &mut kinds);
        let legend: Vec<&str> = kinds.iter().map(|k: &AsciiKind| k.legend()).collect();
        let _ = writeln!(out, "arrows: {}", legend.join(", "));
        out
    }
}

// ------------------------------------------------------------------------------------------------
// The simulation (LangGraph's `draw_graph`)
// ------------------------------------------------------------------------------------------------

/// LangGraph stops the drawing simulation after this many supersteps (`limit=250`, counted from
/// step -1), which is what ends cycles of plain edges.
const STEP_LIMIT: usize = 251;

type ChanId = usize;
type SimNodeId = usize;

/// The channels that decide which node runs next. State keys never receive a write in the
/// simulation (nodes run on an empty input), so they are left out.
#[derive(Clone, Debug)]
enum ChanKind {
    /// `__start__` and `branch:to:<node>`: `EphemeralValue`.
    Ephemeral,
    /// `branch:to:<node>` of a deferred node: `LastValueAfterFinish`.
    AfterFinish,
    /// `join:<a+b>:<node>`: `NamedBarrierValue` (`…AfterFinish` if the node is deferred).
    Barrier { names: BTreeSet<String>, after_finish: bool },
}

#[derive(Clone, Debug)]
struct SimChannel {
    kind: ChanKind,
    has_value: bool,
    finished: bool,
    seen: BTreeSet<String>,
}

impl SimChannel {
    fn new(kind: ChanKind) -> Self {
        SimChannel { kind, has_value: false, finished: false, seen: BTreeSet::new() }
    }

    fn barrier_full(&self) -> bool {
        matches!(&self.kind, ChanKind::Barrier { names, .. } if *names == self.seen)
    }

    fn is_available(&self) -> bool {
        match &self.kind {
            ChanKind::Ephemeral => self.has_value,
            ChanKind::AfterFinish => self.has_value && self.finished,
            ChanKind::Barrier { after_finish: false, .. } => self.barrier_full(),
            ChanKind::Barrier { after_finish: true, .. } => self.finished && self.barrier_full(),
        }
    }

    fn update(&mut self, values: &[Option<String>]) -> bool {
        match &self.kind {
            ChanKind::Ephemeral if values.is_empty() => std::mem::replace(&mut self.has_value, false),
            ChanKind::Ephemeral => {
                self.has_value = true;
                true
            }
            ChanKind::AfterFinish if values.is_empty() => false,
            ChanKind::AfterFinish => {
                self.has_value = true;
                self.finished = false;
                true
            }
            ChanKind::Barrier { names, .. } => {
                let mut updated = false;
                for v in values.iter().flatten() {
                    if names.contains(v) {
                        updated |= self.seen.insert(v.clone());
                    }
                }
                updated
            }
        }
    }

    fn consume(&mut self) -> bool {
        match &self.kind {
            ChanKind::Ephemeral => false,
            ChanKind::AfterFinish if self.finished => {
                self.finished = false;
                self.has_value = false;
                true
            }
            ChanKind::AfterFinish => false,
            ChanKind::Barrier { after_finish, .. } => {
                if self.barrier_full() && (self.finished || !after_finish) {
                    self.seen.clear();
                    self.finished = false;
                    true
                } else {
                    false
                }
            }
        }
    }

    fn finish(&mut self) -> bool {
        let ready = match &self.kind {
            ChanKind::AfterFinish => self.has_value,
            ChanKind::Barrier { after_finish: true, .. } => self.barrier_full(),
            _ => false,
        };
        if ready && !self.finished {
            self.finished = true;
            true
        } else {
            false
        }
    }
}

/// Where a declared (static) write goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Target {
    End,
    Channel(ChanId),
}

/// A node's writers, in LangGraph's attach order (state/`Command` writer, plain edges, joins,
/// branches).
#[derive(Clone, Debug)]
enum Writer {
    /// A plain edge (value `None`) or a join (value: the source's name).
    Write { chan: ChanId, value: Option<String> },
    /// Writes declared for static analysis: a branch's path map, a node's `Command` destinations.
    Static(Vec<(Target, Option<String>)>),
}

struct SimNode {
    name: String,
    /// Sorted by channel name, like a task's `triggers`.
    triggers: Vec<ChanId>,
    writers: Vec<Writer>,
}

/// `(channel, conditional, label)`: LangGraph's `TriggerEdge` without the source.
type TriggerEdge = (ChanId, bool, Option<String>);
/// `(source, target, conditional, label)`, ordered like LangGraph's `Edge` tuples.
type SimEdge = (String, String, bool, Option<String>);
/// `(source name, conditional, label, source)`: a source of a trigger, sorted like LangGraph's.
type TriggerSource = (String, bool, Option<String>, SimNodeId);

struct SimResult {
    edges: BTreeSet<SimEdge>,
    /// The nodes that ran in the last simulated step.
    last_step: Vec<String>,
}

struct Sim {
    channels: Vec<SimChannel>,
    nodes: Vec<SimNode>,
    versions: Vec<u64>,
    /// `None` until the node has run once (then every trigger is compared to what it saw).
    seen: Vec<Option<Vec<u64>>>,
}

struct SimTask {
    node: SimNodeId,
}

impl Sim {
    fn new(g: &StateGraph) -> Sim {
        let mut channels = vec![SimChannel::new(ChanKind::Ephemeral)];
        let mut channel_names = vec![START.to_owned()];
        let mut index: HashMap<String, ChanId> = HashMap::from([(START.to_owned(), 0)]);
        let mut add = |name: String, kind: ChanKind| -> ChanId {
            *index.entry(name.clone()).or_insert_with(|| {
                channels.push(SimChannel::new(kind));
                channel_names.push(name);
                channels.len() - 1
            })
        };
        let mut nodes = vec![SimNode { name: START.to_owned(), triggers: vec![0], writers: Vec::new() }];
        let mut node_index: HashMap<&str, SimNodeId> = HashMap::from([(START, 0)]);
        for (name, spec) in &g.nodes {
            let kind = if spec.options.defer { ChanKind::AfterFinish } else { ChanKind::Ephemeral };
            let chan = add(format!("branch:to:{name}"), kind);
            node_index.insert(name, nodes.len());
            nodes.push(SimNode { name: name.clone(), triggers: vec![chan], writers: Vec::new() });
        }
        let branch_to = |n: &str| node_index.get(n).map(|&i| nodes[i].triggers[0]);
        let target = |n: &str| if n == END { Some(Target::End) } else { branch_to(n).map(Target::Channel) };
        let mut writers: Vec<Vec<Writer>> = (0..nodes.len()).map(|_| Vec::new()).collect();
        for (name, spec) in &g.nodes {
            // LangGraph's `_control_static(node.ends)`; an empty list declares nothing.
            let statics: Vec<_> = spec.options.destinations.iter().filter_map(|d| Some((target(d)?, None))).collect();
            if !statics.is_empty() {
                writers[node_index[name.as_str()]].push(Writer::Static(statics));
            }
        }
        for (source, dest) in &g.edges {
            if let (Some(&s), Some(chan)) = (node_index.get(source.as_str()), branch_to(dest)) {
                writers[s].push(Writer::Write { chan, value: None });
            }
        }
        let mut join_triggers = Vec::new();
        for (sources, dest) in &g.joins {
            let Some(&t) = node_index.get(dest.as_str()) else { continue };
            let after_finish = g.nodes.get(dest).is_some_and(|s| s.options.defer);
            let names = sources.iter().cloned().collect();
            let chan = add(format!("join:{}:{dest}", sources.join("+")), ChanKind::Barrier { names, after_finish });
            join_triggers.push((t, chan));
            for s in sources {
                if let Some(&s) = node_index.get(s.as_str()) {
                    writers[s].push(Writer::Write { chan, value: Some(nodes[s].name.clone()) });
                }
            }
        }
        for (source, branches) in &g.branches {
            let Some(&s) = node_index.get(source.as_str()) else { continue };
            for b in branches {
                // LangGraph declares nothing for a branch without (or with an empty) path map.
                let Some(map) = b.path_map.0.as_ref().filter(|m| !m.is_empty()) else { continue };
                let statics = map.iter().filter_map(|(label, n)| Some((target(n)?, Some(label.clone())))).collect();
                writers[s].push(Writer::Static(statics));
            }
        }
        for (t, chan) in join_triggers {
            if !nodes[t].triggers.contains(&chan) {
                nodes[t].triggers.push(chan);
            }
        }
        for (node, w) in nodes.iter_mut().zip(writers) {
            node.writers = w;
            node.triggers.sort_by(|a, b| channel_names[*a].cmp(&channel_names[*b]));
        }
        let n_channels = channels.len();
        let n_nodes = nodes.len();
        Sim { channels, nodes, versions: vec![0; n_channels], seen: vec![None; n_nodes] }
    }

    /// LangGraph's `apply_writes`: returns the channels that were updated and are available.
    fn apply_writes(&mut self, tasks: &[SimTask], writes: &[Vec<(ChanId, Option<String>)>]) -> BTreeSet<ChanId> {
        let bump_step = !tasks.is_empty();
        for task in tasks {
            let seen = self.seen[task.node].get_or_insert_with(|| vec![0; self.channels.len()]);
            for &chan in &self.nodes[task.node].triggers {
                seen[chan] = self.versions[chan];
            }
        }
        let next = self.versions.iter().max().copied().unwrap_or(0) + 1;
        let consumed: BTreeSet<ChanId> = tasks.iter().flat_map(|t| self.nodes[t.node].triggers.clone()).collect();
        for chan in consumed {
            if self.channels[chan].consume() {
                self.versions[chan] = next;
            }
        }
        let mut pending: IndexMap<ChanId, Vec<Option<String>>> = IndexMap::new();
        for (chan, value) in writes.iter().flatten() {
            pending.entry(*chan).or_default().push(value.clone());
        }
        let mut updated = BTreeSet::new();
        for (chan, values) in pending {
            if self.channels[chan].update(&values) {
                self.versions[chan] = next;
                if self.channels[chan].is_available() {
                    updated.insert(chan);
                }
            }
        }
        if bump_step {
            for chan in 0..self.channels.len() {
                if self.channels[chan].is_available() && !updated.contains(&chan) && self.channels[chan].update(&[]) {
                    self.versions[chan] = next;
                    if self.channels[chan].is_available() {
                        updated.insert(chan);
                    }
                }
            }
        }
        // Every channel modelled here triggers some node, so "no trigger updated" is "none updated".
        if bump_step && updated.is_empty() {
            for chan in 0..self.channels.len() {
                if self.channels[chan].finish() {
                    self.versions[chan] = next;
                    if self.channels[chan].is_available() {
                        updated.insert(chan);
                    }
                }
            }
        }
        updated
    }

    /// LangGraph's `prepare_next_tasks` for PULL tasks.
    fn next_tasks(&self, updated: &BTreeSet<ChanId>) -> Vec<SimTask> {
        let mut candidates: Vec<SimNodeId> = if updated.is_empty() {
            (0..self.nodes.len()).collect()
        } else {
            (0..self.nodes.len()).filter(|&n| self.nodes[n].triggers.iter().any(|c| updated.contains(c))).collect()
        };
        if !updated.is_empty() {
            candidates.sort_by(|a, b| self.nodes[*a].name.cmp(&self.nodes[*b].name));
        }
        candidates
            .into_iter()
            .filter(|&n| {
                self.nodes[n].triggers.iter().any(|&c| {
                    self.channels[c].is_available()
                        && self.seen[n].as_ref().is_none_or(|seen| self.versions[c] > seen[c])
                })
            })
            .map(|node| SimTask { node })
            .collect()
    }

    /// LangGraph's `draw_graph` loop: runs the writers of each step's tasks and records which
    /// earlier writes triggered each next task.
    fn run(mut self) -> SimResult {
        let mut edges: BTreeSet<SimEdge> = BTreeSet::new();
        let mut static_seen: HashSet<(SimNodeId, usize)> = HashSet::new();
        let mut sources: HashMap<SimNodeId, BTreeSet<TriggerEdge>> = HashMap::new();
        let mut static_declared: HashMap<SimNodeId, BTreeSet<TriggerEdge>> = HashMap::new();
        let mut step_sources: IndexMap<SimNodeId, BTreeSet<TriggerEdge>> = IndexMap::new();

        // The input: `{}` written to `__start__` by a task without triggers.
        let updated = self.apply_writes(&[], &[vec![(0, None)]]);
        let mut tasks = self.next_tasks(&updated);
        for _ in 0..STEP_LIMIT {
            if tasks.is_empty() {
                break;
            }
            let mut conditionals: HashMap<(SimNodeId, ChanId), Option<String>> = HashMap::new();
            let mut writes: Vec<Vec<(ChanId, Option<String>)>> = Vec::with_capacity(tasks.len());
            for task in &tasks {
                let node = &self.nodes[task.node];
                let mut task_writes = Vec::new();
                for (wi, writer) in node.writers.iter().enumerate() {
                    match writer {
                        Writer::Write { chan, value } => task_writes.push((*chan, value.clone())),
                        // Declared writes are applied the first time a node runs, never again.
                        Writer::Static(statics) if static_seen.insert((task.node, wi)) => {
                            for (target, label) in statics {
                                match target {
                                    Target::End => {
                                        edges.insert((node.name.clone(), END.to_owned(), true, label.clone()));
                                    }
                                    Target::Channel(chan) => {
                                        conditionals.insert((task.node, *chan), label.clone());
                                        static_declared.entry(task.node).or_default().insert((
                                            *chan,
                                            true,
                                            label.clone(),
                                        ));
                                        task_writes.push((*chan, None));
                                    }
                                }
                            }
                        }
                        Writer::Static(_) => {}
                    }
                }
                writes.push(task_writes);
            }
            step_sources = IndexMap::new();
            for (task, task_writes) in tasks.iter().zip(&writes) {
                let mut trigger_edges: BTreeSet<TriggerEdge> = task_writes
                    .iter()
                    .map(|(chan, value)| match (value, conditionals.get(&(task.node, *chan))) {
                        (None, Some(label)) => (*chan, true, label.clone()),
                        _ => (*chan, false, None),
                    })
                    .collect();
                trigger_edges.extend(static_declared.get(&task.node).into_iter().flatten().cloned());
                step_sources.insert(task.node, trigger_edges);
            }
            sources.extend(step_sources.iter().map(|(k, v)| (*k, v.clone())));
            let mut trigger_to_sources: HashMap<ChanId, BTreeSet<TriggerSource>> = HashMap::new();
            for (&src, triggers) in &sources {
                for (chan, cond, label) in triggers {
                    let name = self.nodes[src].name.clone();
                    trigger_to_sources.entry(*chan).or_default().insert((name, *cond, label.clone(), src));
                }
            }
            let updated = self.apply_writes(&tasks, &writes);
            tasks = self.next_tasks(&updated);
            for task in &tasks {
                let name = &self.nodes[task.node].name;
                let mut added = false;
                for &trigger in &self.nodes[task.node].triggers {
                    for (src_name, cond, label, src) in trigger_to_sources.get(&trigger).into_iter().flatten() {
                        edges.insert((src_name.clone(), name.clone(), *cond, label.clone()));
                        let edge = (trigger, *cond, label.clone());
                        if step_sources.get(src).is_some_and(|s| s.contains(&edge)) {
                            added = true;
                        } else if let Some(s) = sources.get_mut(src) {
                            s.remove(&edge);
                        }
                    }
                }
                // Nothing from this step explains the task: draw it as reachable from every task
                // of the step.
                if !added {
                    for &src in step_sources.keys() {
                        edges.insert((self.nodes[src].name.clone(), name.clone(), true, None));
                    }
                }
            }
        }
        let last_step = step_sources.keys().map(|&n| self.nodes[n].name.clone()).collect();
        SimResult { edges, last_step }
    }
}

// ------------------------------------------------------------------------------------------------
// The drawable graph (langchain_core's `Graph`)
// ------------------------------------------------------------------------------------------------

#[derive(Clone, Debug)]
struct DrawNode {
    /// The node's own name; its id may carry subgraph prefixes (`outer:inner`).
    name: String,
    metadata: Map<String, Value>,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct DrawEdge {
    source: String,
    target: String,
    label: Option<String>,
    conditional: bool,
}

#[derive(Clone, Debug, Default)]
struct Drawing {
    nodes: IndexMap<String, DrawNode>,
    edges: Vec<DrawEdge>,
}

impl Drawing {
    fn add_node(&mut self, id: &str, metadata: Map<String, Value>) {
        self.nodes.insert(id.to_owned(), DrawNode { name: id.to_owned(), metadata });
    }

    /// LangGraph's `add_edge`: the first edge between two nodes wins; `__end__` appears with its
    /// first edge.
    fn add_edge(&mut self, source: &str, target: &str, label: Option<String>, conditional: bool) {
        if self.edges.iter().any(|e| e.source == source && e.target == target) {
            return;
        }
        if target == END && !self.nodes.contains_key(END) {
            self.add_node(END, Map::new());
        }
        self.edges.push(DrawEdge { source: source.to_owned(), target: target.to_owned(), label, conditional });
    }

    /// The single node no edge leads to (ignoring `exclude` and edges from it).
    fn first_node(&self, exclude: Option<&str>) -> Option<String> {
        let targets: HashSet<&str> =
            self.edges.iter().filter(|e| Some(e.source.as_str()) != exclude).map(|e| e.target.as_str()).collect();
        single(self.nodes.keys().filter(|id| Some(id.as_str()) != exclude && !targets.contains(id.as_str())))
    }

    /// The single node no edge leaves (ignoring `exclude` and edges to it).
    fn last_node(&self, exclude: Option<&str>) -> Option<String> {
        let sources: HashSet<&str> =
            self.edges.iter().filter(|e| Some(e.target.as_str()) != exclude).map(|e| e.source.as_str()).collect();
        single(self.nodes.keys().filter(|id| Some(id.as_str()) != exclude && !sources.contains(id.as_str())))
    }

    fn remove_node(&mut self, id: &str) {
        self.nodes.shift_remove(id);
        self.edges.retain(|e| e.source != id && e.target != id);
    }

    fn distinct_edges(&self, pick: impl Fn(&DrawEdge) -> bool) -> usize {
        self.edges.iter().filter(|e| pick(e)).collect::<HashSet<_>>().len()
    }

    fn trim_first_node(&mut self) {
        if let Some(first) = self.first_node(None)
            && self.first_node(Some(&first)).is_some()
            && self.distinct_edges(|e| e.source == first) == 1
        {
            self.remove_node(&first);
        }
    }

    fn trim_last_node(&mut self) {
        if let Some(last) = self.last_node(None)
            && self.last_node(Some(&last)).is_some()
            && self.distinct_edges(|e| e.target == last) == 1
        {
            self.remove_node(&last);
        }
    }

    /// Adds `other`'s nodes and edges with ids prefixed `prefix:`; returns its (prefixed) first
    /// and last nodes.
    fn extend(&mut self, other: Drawing, prefix: &str) -> (Option<String>, Option<String>) {
        let prefixed = |id: &str| format!("{prefix}:{id}");
        let (first, last) = (other.first_node(None), other.last_node(None));
        for (id, node) in other.nodes {
            self.nodes.insert(prefixed(&id), node);
        }
        for e in other.edges {
            self.edges.push(DrawEdge { source: prefixed(&e.source), target: prefixed(&e.target), ..e });
        }
        (first.map(|f| prefixed(&f)), last.map(|l| prefixed(&l)))
    }
}

fn single<'a>(mut found: impl Iterator<Item = &'a String>) -> Option<String> {
    let first = found.next()?;
    found.next().is_none().then(|| first.clone())
}

/// LangGraph's `Pregel.get_graph(xray=...)`.
fn drawing(compiled: &GraphInner, xray: bool) -> Drawing {
    let g = &compiled.builder;
    let sim = Sim::new(g).run();
    let mut d = Drawing::default();
    d.add_node(START, Map::new());
    for (name, spec) in &g.nodes {
        let mut metadata: Map<String, Value> =
            spec.options.metadata.iter().map(|(k, v)| (k.to_string(), v.to_json())).collect();
        if spec.options.defer {
            metadata.insert("defer".to_owned(), Value::Bool(true));
        }
        // Static breakpoints are marked as LangGraph marks them (a `"*"` list marks nothing).
        let listed = |nodes: &[String]| nodes.iter().any(|n| n == name);
        let marker = match (listed(&compiled.interrupt_before), listed(&compiled.interrupt_after)) {
            (true, true) => Some("before,after"),
            (true, false) => Some("before"),
            (false, true) => Some("after"),
            (false, false) => None,
        };
        if let Some(marker) = marker {
            metadata.insert("__interrupt".to_owned(), Value::String(marker.to_owned()));
        }
        d.add_node(name, metadata);
    }
    for (source, target, conditional, label) in &sim.edges {
        let label = label.clone().filter(|l| l != target);
        d.add_edge(source, target, label, *conditional);
    }
    let edge_sources: HashSet<&str> = sim.edges.iter().map(|e| e.0.as_str()).collect();
    let termini: BTreeSet<&str> =
        sim.edges.iter().map(|e| e.1.as_str()).filter(|t| *t != END && !edge_sources.contains(t)).collect();
    if !termini.is_empty() {
        for t in termini {
            d.add_edge(t, END, None, false);
        }
    } else if sim.last_step.len() == 1 && !sim.edges.iter().any(|e| e.1 == END) {
        d.add_edge(&sim.last_step[0], END, None, true);
    }
    if xray {
        for (name, spec) in &g.nodes {
            let Some(sub) = spec.node.subgraph() else { continue };
            let mut sub = drawing(&sub.inner, true);
            if sub.nodes.len() <= 1
                || !d.nodes.contains_key(name)
                || sub.first_node(None).is_none()
                || sub.last_node(None).is_none()
            {
                continue;
            }
            sub.trim_first_node();
            sub.trim_last_node();
            d.nodes.shift_remove(name);
            let (first, last) = d.extend(sub, name);
            for e in &mut d.edges {
                if e.source == *name
                    && let Some(last) = &last
                {
                    e.source = last.clone();
                }
                if e.target == *name
                    && let Some(first) = &first
                {
                    e.target = first.clone();
                }
            }
        }
    }
    d
}

// ------------------------------------------------------------------------------------------------
// Mermaid (langchain_core's `graph_mermaid.draw_mermaid`)
// ------------------------------------------------------------------------------------------------

/// Edge labels longer than this many words are wrapped.
const WRAP_LABEL_WORDS: usize = 9;

fn render_mermaid(d: &Drawing, options: &MermaidOptions) -> String {
    let mut r = MermaidRenderer {
        first: d.first_node(None),
        last: d.last_node(None),
        with_styles: options.with_styles,
        subgraph_nodes: IndexMap::new(),
        edge_groups: IndexMap::new(),
        seen_subgraphs: HashSet::new(),
        out: String::new(),
    };
    if options.with_styles {
        let _ = write!(r.out, "---\nconfig:\n  flowchart:\n    curve: {}\n---\n", options.curve_style.as_str());
    }
    r.out.push_str("graph TD;\n");
    let mut regular = Vec::new();
    for (id, node) in &d.nodes {
        match id.rsplit_once(':') {
            Some((prefix, _)) => r.subgraph_nodes.entry(prefix.to_owned()).or_default().push((id, node)),
            None => regular.push((id, node)),
        }
    }
    if options.with_styles {
        for (id, node) in regular {
            r.render_node(id, node);
        }
    }
    for e in &d.edges {
        r.edge_groups.entry(common_prefix(&e.source, &e.target)).or_default().push(e);
    }
    let top = r.edge_groups.get("").cloned().unwrap_or_default();
    r.add_subgraph(&top, "");
    let top_level: Vec<(String, Vec<&DrawEdge>)> = r
        .edge_groups
        .iter()
        .filter(|(p, _)| !p.is_empty() && !p.contains(':'))
        .map(|(p, e)| (p.clone(), e.clone()))
        .collect();
    for (prefix, edges) in top_level {
        r.add_subgraph(&edges, &prefix);
        r.seen_subgraphs.insert(prefix);
    }
    if options.with_styles {
        let empty: Vec<_> = r
            .subgraph_nodes
            .iter()
            .filter(|(p, _)| !p.contains(':') && !r.seen_subgraphs.contains(*p))
            .map(|(p, n)| (p.clone(), n.clone()))
            .collect();
        for (prefix, nodes) in empty {
            let _ = writeln!(r.out, "\tsubgraph {prefix}");
            for (id, node) in nodes {
                r.render_node(id, node);
            }
            r.out.push_str("\tend\n");
            r.seen_subgraphs.insert(prefix);
        }
        r.out.push_str(
            "\tclassDef default fill:#f2f0ff,line-height:1.2\n\tclassDef first fill-opacity:0\n\tclassDef last fill:#bfb6fc\n",
        );
    }
    r.out
}

struct MermaidRenderer<'a> {
    first: Option<String>,
    last: Option<String>,
    with_styles: bool,
    subgraph_nodes: IndexMap<String, Vec<(&'a String, &'a DrawNode)>>,
    edge_groups: IndexMap<String, Vec<&'a DrawEdge>>,
    seen_subgraphs: HashSet<String>,
    out: String,
}

impl MermaidRenderer<'_> {
    fn render_node(&mut self, id: &str, node: &DrawNode) {
        let name = node.name.rsplit(':').next().unwrap_or_default();
        const MARKDOWN: [char; 3] = ['*', '_', '`'];
        let mut label = if name.starts_with(MARKDOWN) && name.ends_with(MARKDOWN) {
            format!("<p>{name}</p>")
        } else {
            name.to_owned()
        };
        let lines: Vec<String> = node
            .metadata
            .iter()
            .filter_map(|(k, v)| Some(escape_label(&format!("{k} = {}", metadata_value(v)?))))
            .collect();
        if !lines.is_empty() {
            let _ = write!(label, "<hr/><small><em>{}</em></small>", lines.join("\n"));
        }
        let id_safe = safe_id(id);
        let _ = if self.last.as_deref() == Some(id) {
            writeln!(self.out, "\t{id_safe}([{label}]):::last")
        } else if self.first.as_deref() == Some(id) {
            writeln!(self.out, "\t{id_safe}([{label}]):::first")
        } else {
            writeln!(self.out, "\t{id_safe}({label})")
        };
    }

    fn add_subgraph(&mut self, edges: &[&DrawEdge], prefix: &str) {
        let self_loop = edges.len() == 1 && edges[0].source == edges[0].target;
        let wrapped = !prefix.is_empty() && !self_loop;
        if wrapped {
            // LangChain raises on a repeated subgraph name; we draw it anyway.
            let name = prefix.rsplit(':').next().unwrap_or_default().to_owned();
            let _ = writeln!(self.out, "\tsubgraph {name}");
            self.seen_subgraphs.insert(name);
            if self.with_styles
                && let Some(nodes) = self.subgraph_nodes.get(prefix).cloned()
            {
                for (id, node) in nodes {
                    self.render_node(id, node);
                }
            }
        }
        for e in edges {
            let arrow = match &e.label {
                Some(label) => {
                    let words: Vec<&str> = label.split_whitespace().collect();
                    let label = if words.len() > WRAP_LABEL_WORDS {
                        words.chunks(WRAP_LABEL_WORDS).map(|c| c.join(" ")).collect::<Vec<_>>().join("&nbsp<br>&nbsp")
                    } else {
                        label.clone()
                    };
                    if e.conditional {
                        format!(" -. &nbsp;{label}&nbsp; .-> ")
                    } else {
                        format!(" -- &nbsp;{label}&nbsp; --> ")
                    }
                }
                None if e.conditional => " -.-> ".to_owned(),
                None => " --> ".to_owned(),
            };
            let _ = writeln!(self.out, "\t{}{arrow}{};", safe_id(&e.source), safe_id(&e.target));
        }
        let nested: Vec<(String, Vec<&DrawEdge>)> = self
            .edge_groups
            .iter()
            .filter(|(p, _)| {
                p.as_str() != prefix
                    && p.strip_prefix(prefix).and_then(|rest| rest.strip_prefix(':')).is_some_and(|r| !r.contains(':'))
            })
            .map(|(p, e)| (p.clone(), e.clone()))
            .collect();
        for (p, e) in nested {
            self.add_subgraph(&e, &p);
        }
        if wrapped {
            self.out.push_str("\tend\n");
        }
    }
}

/// The `:`-separated parts two ids share *at the same position* (LangChain compares position by
/// position, not only up to the first difference).
fn common_prefix(source: &str, target: &str) -> String {
    source.split(':').zip(target.split(':')).filter(|(s, t)| s == t).map(|(s, _)| s).collect::<Vec<_>>().join(":")
}

/// Mermaid-safe id: `[A-Za-z0-9_-]` kept, anything else as `\` and its code point in hex.
fn safe_id(id: &str) -> String {
    let mut out = String::with_capacity(id.len());
    for c in id.chars() {
        if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
            out.push(c);
        } else {
            let _ = write!(out, "\\{:x}", c as u32);
        }
    }
    out
}

fn escape_label(text: &str) -> String {
    const ESCAPES: [(char, &str); 10] = [
        ('[', "#91;"),
        (']', "#93;"),
        ('(', "#40;"),
        (')', "#41;"),
        ('{', "#123;"),
        ('}', "#125;"),
        ('"', "#quot;"),
        ('<', "#60;"),
        ('>', "#62;"),
        ('|', "#124;"),
    ];
    let mut text = text.replace('#', "#35;");
    for (c, entity) in ESCAPES {
        text = text.replace(c, entity);
    }
    text
}

/// A metadata value as Python's `str()` shows it; `None` for values LangChain leaves out (null,
/// objects, lists of anything but scalars).
fn metadata_value(v: &Value) -> Option<String> {
    fn scalar(v: &Value) -> Option<String> {
        match v {
            Value::String(s) => Some(s.clone()),
            Value::Bool(true) => Some("True".to_owned()),
            Value::Bool(false) => Some("False".to_owned()),
            Value::Number(n) if n.is_f64() => n.as_f64().map(python_float),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        }
    }
    match v {
        Value::Array(items) => items.iter().map(scalar).collect::<Option<Vec<_>>>().map(|s| s.join(", ")),
        v => scalar(v),
    }
}

/// Python's `repr(float)`: the shortest round-trip digits, positional for exponents in
/// `-4..16`, else `1.5e+16` style.
fn python_float(f: f64) -> String {
    if !f.is_finite() {
        return if f.is_nan() {
            "nan".into()
        } else if f > 0.0 {
            "inf".into()
        } else {
            "-inf".into()
        };
    }
    let sci = format!("{f:e}");
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    if (-4..16).contains(&exp) {
        let s = format!("{f}");
        if s.contains('.') { s } else { format!("{s}.0") }
    } else {
        format!("{mantissa}e{}{:02}", if exp < 0 { '-' } else { '+' }, exp.abs())
    }
}

// ------------------------------------------------------------------------------------------------
// The terminal listing
// ------------------------------------------------------------------------------------------------

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum AsciiKind {
    Plain,
    Conditional,
    Join,
    Command,
}

impl AsciiKind {
    fn arrow(self) -> &'static str {
        match self {
            AsciiKind::Plain => "-->",
            AsciiKind::Conditional => "-.->",
            AsciiKind::Join => "==>",
            AsciiKind::Command => "~~>",
        }
    }
    fn legend(self) -> &'static str {
        match self {
            AsciiKind::Plain => "--> edge",
            AsciiKind::Conditional => "-.-> conditional edge",
            AsciiKind::Join => "==> join (the target waits for all its sources)",
            AsciiKind::Command => "~~> Command destination",
        }
    }
}

struct AsciiEdge {
    kind: AsciiKind,
    /// `None`: a router without a path map (any node).
    target: Option<String>,
    notes: Vec<String>,
}

fn ascii_listing<'g>(g: &'g StateGraph, prefix: &str, out: &mut String, kinds: &mut BTreeSet<AsciiKind>) {
    let mut outgoing: IndexMap<&'g str, Vec<AsciiEdge>> = IndexMap::new();
    let mut edge = |source: &'g str, kind: AsciiKind, target: Option<&str>, notes: Vec<String>| {
        kinds.insert(kind);
        let target = target.map(str::to_owned);
        outgoing.entry(source).or_default().push(AsciiEdge { kind, target, notes });
    };
    let mut sources: Vec<&'g str> = vec![START];
    sources.extend(g.nodes.keys().map(String::as_str));
    for source in sources {
        for (s, t) in &g.edges {
            if s == source {
                edge(s, AsciiKind::Plain, Some(t), Vec::new());
            }
        }
        for (ss, t) in &g.joins {
            if ss.iter().any(|s| s == source) {
                edge(source, AsciiKind::Join, Some(t), vec![format!("(join: {})", ss.join(" + "))]);
            }
        }
        for b in g.branches.get(source).into_iter().flatten() {
            match &b.path_map.0 {
                Some(map) => {
                    for (label, t) in map {
                        let notes = if label != t { vec![format!("[{label}]")] } else { Vec::new() };
                        edge(source, AsciiKind::Conditional, Some(t), notes);
                    }
                }
                None => {
                    edge(source, AsciiKind::Conditional, None, vec!["(no path map: the router decides)".to_owned()])
                }
            }
        }
        for t in g.nodes.get(source).map(|s| s.options.destinations.as_slice()).unwrap_or_default() {
            edge(source, AsciiKind::Command, Some(t), Vec::new());
        }
    }

    // Breadth-first from START; then whatever nothing declared leads to, in insertion order.
    let mut order: IndexSet<&'g str> = IndexSet::new();
    let mut roots = std::iter::once(START).chain(g.nodes.keys().map(String::as_str));
    let mut queue = std::collections::VecDeque::new();
    while let Some(n) = queue.pop_front().or_else(|| roots.find(|r| !order.contains(*r))) {
        if n == END || !order.insert(n) {
            continue;
        }
        for e in outgoing.get(n).into_iter().flatten() {
            if let Some(t) = e.target.as_deref()
                && (t == START || g.nodes.contains_key(t))
                && !order.contains(t)
            {
                queue.push_back(g.nodes.get_key_value(t).map_or(START, |(k, _)| k.as_str()));
            }
        }
    }

    for (pos, &name) in order.iter().enumerate() {
        let spec = g.nodes.get(name);
        let mut header = name.to_owned();
        if spec.is_some_and(|s| s.options.defer) {
            header.push_str("  [defer]");
        }
        let sub = spec.and_then(|s| s.node.subgraph());
        if sub.is_some() {
            header.push_str("  [subgraph]");
        }
        let _ = writeln!(out, "{prefix}{header}");
        if let Some(sub) = sub {
            ascii_listing(&sub.inner.builder, &format!("{prefix}  | "), out, kinds);
        }
        let edges = outgoing.get(name).map(Vec::as_slice).unwrap_or_default();
        let heads: Vec<String> =
            edges.iter().map(|e| format!("{} {}", e.kind.arrow(), e.target.as_deref().unwrap_or("?"))).collect();
        let width = heads.iter().map(|h| h.chars().count()).max().unwrap_or(0);
        for (e, head) in edges.iter().zip(&heads) {
            let mut notes = e.notes.clone();
            if let Some(t) = e.target.as_deref()
                && order.get_index_of(t).is_some_and(|i| i <= pos)
            {
                notes.push("(loops back)".to_owned());
            }
            let line = if notes.is_empty() { head.clone() } else { format!("{head:<width$}  {}", notes.join("  ")) };
            let _ = writeln!(out, "{prefix}  {line}");
        }
    }
    let _ = writeln!(out, "{prefix}{END}");
}
