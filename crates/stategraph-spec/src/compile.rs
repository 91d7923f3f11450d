//! Compiling a spec to an engine graph, and exporting it.

use std::sync::Arc;
use std::time::Duration;

use stategraph_core::{
    ChannelSpec, CompileOptions, CompiledGraph, END, Error, NodeError, NodeOptions, PathMap, Reducer, RetryPolicy,
    Route, RouterFn, START, Schema, State, StateGraph,
};

use crate::problem::{Code, Limits, Problem};
use crate::registry::NodeKindRegistry;
use crate::spec::{Condition, ConditionalEdge, EdgeSpec, GraphSpec, RetrySpec};
use crate::validate::validate;

/// Validates `spec` (with the default [`Limits`]) and builds the engine graph.
///
/// State keys become channels (a reducer channel when `reducer` is set, else last-value) with
/// their defaults; nodes are built by their kinds; plain edges, joins and conditional edges map to
/// the engine's; retry policies are attached to their nodes. Interrupts are validated but not
/// compiled: the engine has no interrupts yet. Every problem, including the engine's own compile
/// errors ([`Code::Engine`]), comes back with a pointer.
pub fn compile(spec: &GraphSpec, registry: &NodeKindRegistry) -> Result<CompiledGraph, Vec<Problem>> {
    compile_with(spec, registry, &Limits::default())
}

/// [`compile`] with explicit limits.
pub fn compile_with(
    spec: &GraphSpec,
    registry: &NodeKindRegistry,
    limits: &Limits,
) -> Result<CompiledGraph, Vec<Problem>> {
    let problems = validate(spec, registry, limits);
    if !problems.is_empty() {
        return Err(problems);
    }
    let mut schema = Schema::new();
    for (key, s) in &spec.state {
        // Validation has checked the reducer names.
        let mut channel = match s.reducer.as_deref().and_then(Reducer::builtin) {
            Some(reducer) => ChannelSpec::reducer(reducer),
            None => ChannelSpec::last_value(),
        };
        if let Some(default) = &s.default {
            channel = channel.with_default(stategraph_core::Value::from(default));
        }
        schema = schema.key(key.clone(), channel);
    }
    let mut graph = StateGraph::new(schema);
    let mut problems = Vec::new();
    for (i, node) in spec.nodes.iter().enumerate() {
        let Some(kind) = registry.get(&node.kind) else { continue };
        match kind.build(&node.id, &node.config) {
            Ok(built) => {
                let mut options = NodeOptions::new();
                if let Some(policy) = spec.retry.get(&node.id) {
                    options = options.retry(retry_policy(policy));
                }
                graph.add_boxed_node(node.id.clone(), built, options);
            }
            Err(e) => {
                problems.push(Problem::new(Code::InvalidConfig, format!("/nodes/{i}/config{}", e.pointer), e.message))
            }
        }
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    if let Some(entry) = &spec.entry {
        graph.add_edge(START, entry);
    }
    for edge in &spec.edges {
        match edge {
            EdgeSpec::Plain(e) => {
                graph.add_edge(e.source.as_str(), &e.target);
            }
            EdgeSpec::Join(e) => {
                graph.add_edge(e.sources.clone(), &e.target);
            }
            EdgeSpec::Conditional(e) => {
                graph.add_router(
                    &e.source,
                    router(e),
                    PathMap::labels(e.branches.iter().map(|b| (&*b.label, &*b.target))),
                );
            }
        }
    }
    graph
        .compile_with(CompileOptions { name: Some(spec.name.clone()), ..Default::default() })
        .map_err(|e| vec![engine_problem(spec, &e)])
}

fn retry_policy(spec: &RetrySpec) -> RetryPolicy {
    // Validation has checked that the numbers are finite and not negative.
    let mut policy = RetryPolicy::new();
    if let Some(n) = spec.max_attempts {
        policy = policy.max_attempts(n);
    }
    if let Some(s) = spec.initial_interval {
        policy = policy.initial_interval(Duration::from_secs_f64(s));
    }
    if let Some(f) = spec.backoff_factor {
        policy = policy.backoff_factor(f);
    }
    if let Some(s) = spec.max_interval {
        policy = policy.max_interval(Duration::from_secs_f64(s));
    }
    if let Some(j) = spec.jitter {
        policy = policy.jitter(j);
    }
    policy
}

/// The router of a conditional edge: its condition yields a label, which the path map turns into
/// the target (an unknown label is the engine's SG013 at run time).
fn router(edge: &ConditionalEdge) -> RouterFn {
    match &edge.condition {
        Condition::Key(key) => {
            let key = key.clone();
            let source = edge.source.clone();
            Arc::new(move |state: &State| match state.get(&key) {
                Some(stategraph_core::Value::String(label)) => Ok(Route::from(label.to_string())),
                other => Err(NodeError::permanent(format!(
                    "the conditional edge from `{source}` routes on state key `{key}`, which must hold a string label; it holds {}",
                    other.map_or_else(|| "nothing".to_owned(), |v| v.to_string())
                ))),
            })
        }
    }
}

/// Maps an engine compile error to a problem, pointing at the node or edge it names when it can.
fn engine_problem(spec: &GraphSpec, error: &Error) -> Problem {
    let node_pointer = |name: &str| spec.nodes.iter().position(|n| n.id == name).map(|i| format!("/nodes/{i}"));
    let pointer = match error {
        Error::UnreachableNode { node } => node_pointer(node),
        Error::LoopWithoutExit { cycle } => {
            let first = cycle.first().map(String::as_str);
            let second = cycle.get(1).or(cycle.first()).map(String::as_str);
            spec.edges
                .iter()
                .position(|e| match e {
                    EdgeSpec::Plain(e) => Some(e.source.as_str()) == first && Some(e.target.as_str()) == second,
                    _ => false,
                })
                .map(|i| format!("/edges/{i}"))
                .or_else(|| first.and_then(node_pointer))
        }
        Error::UnknownNode { node, .. } if node != END => node_pointer(node),
        _ => None,
    };
    Problem::new(Code::Engine, pointer.unwrap_or_default(), error.to_string())
}

impl GraphSpec {
    /// The spec as pretty-printed JSON.
    pub fn to_json(&self) -> String {
        // Serializing these types cannot fail: every map key is a string.
        serde_json::to_string_pretty(self).unwrap_or_default()
    }

    /// The spec as YAML.
    pub fn to_yaml(&self) -> String {
        serde_saphyr::to_string(self).unwrap_or_default()
    }

    /// Compiles the spec and draws it as a Mermaid flowchart (the engine's `draw_mermaid`).
    pub fn to_mermaid(&self, registry: &NodeKindRegistry) -> Result<String, Vec<Problem>> {
        compile(self, registry).map(|g| g.draw_mermaid())
    }
}
