//! Compiling a spec to an engine graph, and exporting it.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use futures::future::BoxFuture;
use stategraph_core::{
    BoxNode, ChannelSpec, CompileOptions, CompiledGraph, END, Error, Goto, Node, NodeContext, NodeError, NodeOptions,
    NodeOutput, NodeResult, PathMap, RetryPolicy, Route, RouterFn, START, Schema, Send, State, StateGraph, Value,
};

use crate::problem::{Code, Limits, Problem};
use crate::registry::{KindContext, NodeKindRegistry};
use crate::sandbox::{Program, Sandbox};
use crate::spec::{Condition, ConditionalEdge, EdgeSpec, ExprSend, ForEachSend, GraphSpec, RetrySpec, SendSpec};
use crate::validate::validate_in;

/// Where a spec came from and what it is checked against: its limits, the file it was read from
/// (subgraph paths resolve against its directory), and the specs being compiled around it (to
/// detect reference cycles).
///
/// ```
/// use stategraph_spec::{CompileContext, Limits};
/// let cx = CompileContext::new().with_limits(Limits { max_nodes: 50, ..Default::default() });
/// assert!(cx.path.is_none());
/// ```
#[derive(Clone, Default)]
pub struct CompileContext {
    /// Document limits.
    pub limits: Limits,
    /// The file the spec was read from.
    pub path: Option<PathBuf>,
    /// The checkpointer the compiled graph saves its runs with (needed for the spec's
    /// `interrupts` to pause and resume). Nested specs run inside their parent's run.
    pub checkpointer: Option<Arc<dyn stategraph_checkpoint::Checkpointer>>,
    /// Keys of the specs being compiled, outermost first (see [`KindContext::stack`]).
    stack: Vec<String>,
}

impl std::fmt::Debug for CompileContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CompileContext")
            .field("limits", &self.limits)
            .field("path", &self.path)
            .field("checkpointer", &self.checkpointer.is_some())
            .field("stack", &self.stack)
            .finish()
    }
}

impl CompileContext {
    /// Default limits, no file.
    pub fn new() -> Self {
        Self::default()
    }

    /// With these limits.
    pub fn with_limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// Runs of the compiled graph save their checkpoints with `checkpointer`.
    pub fn with_checkpointer(mut self, checkpointer: Arc<dyn stategraph_checkpoint::Checkpointer>) -> Self {
        self.checkpointer = Some(checkpointer);
        self
    }

    /// For a spec read from `path`; the file is the first entry of the reference stack.
    pub fn with_path(mut self, path: impl Into<PathBuf>) -> Self {
        let path = path.into();
        self.stack = vec![file_key(&path)];
        self.path = Some(path);
        self
    }

    /// The context of a spec nested in this one: loaded as `key`, from `path` if a file.
    pub fn nested(&self, key: impl Into<String>, path: Option<PathBuf>) -> Self {
        let mut stack = self.stack.clone();
        stack.push(key.into());
        CompileContext { limits: self.limits.clone(), path, checkpointer: None, stack }
    }

    /// The context a kind was given, as a context to compile nested specs in.
    pub(crate) fn from_kind(cx: &KindContext<'_>) -> Self {
        CompileContext {
            limits: cx.limits.clone(),
            path: cx.path.map(Path::to_path_buf),
            checkpointer: None,
            stack: cx.stack.to_vec(),
        }
    }

    /// The keys of the specs being compiled, outermost first.
    pub fn stack(&self) -> &[String] {
        &self.stack
    }

    pub(crate) fn kind_context<'a>(&'a self, spec: &'a GraphSpec, registry: &'a NodeKindRegistry) -> KindContext<'a> {
        KindContext { spec, registry, limits: &self.limits, path: self.path.as_deref(), stack: &self.stack }
    }
}

/// The key of a spec file in the reference stack: its canonical path when it exists.
pub(crate) fn file_key(path: &Path) -> String {
    std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf()).display().to_string()
}

/// Validates `spec` (with the default [`Limits`]) and builds the engine graph.
///
/// State keys become channels (a reducer channel when `reducer` is set, else last-value) with
/// their defaults; nodes are built by their kinds; plain edges, joins and conditional edges map to
/// the engine's; retry policies are attached to their nodes; `interrupts` become the graph's
/// static breakpoints (a paused run can be resumed only with a checkpointer: see
/// [`CompileContext::with_checkpointer`]). Every problem, including the engine's own compile
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
    compile_in(spec, registry, &CompileContext::new().with_limits(limits.clone()))
}

/// [`compile`] for a spec read from a file or nested in another (see [`CompileContext`]).
pub fn compile_in(
    spec: &GraphSpec,
    registry: &NodeKindRegistry,
    cx: &CompileContext,
) -> Result<CompiledGraph, Vec<Problem>> {
    let problems = validate_in(spec, registry, cx);
    if !problems.is_empty() {
        return Err(problems);
    }
    let mut schema = Schema::new();
    for (key, s) in &spec.state {
        // Validation has checked the reducer names.
        let mut channel = match s.reducer.as_deref().and_then(crate::spec::reducer) {
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
    let kind_cx = cx.kind_context(spec, registry);
    for (i, node) in spec.nodes.iter().enumerate() {
        let Some(kind) = registry.get(&node.kind) else { continue };
        match kind.build_in(&node.id, &node.config, &kind_cx) {
            Ok(mut built) => {
                let mut options = NodeOptions::new().destinations(kind.destinations(&node.config));
                if let Some(policy) = spec.retry.get(&node.id) {
                    options = options.retry(retry_policy(policy));
                    if let Some(key) = &policy.error_key {
                        built = Arc::new(Fallback {
                            inner: built,
                            policy: retry_policy(policy),
                            key: Arc::from(key.as_str()),
                        });
                    }
                }
                graph.add_boxed_node(node.id.clone(), built, options);
            }
            Err(e) => problems.push(Problem::new(e.code, format!("/nodes/{i}/config{}", e.pointer), e.message)),
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
                let router = router(e, registry.sandbox())
                    .map_err(|message| vec![Problem::new(Code::Script, String::new(), message)])?;
                graph.add_router(
                    &e.source,
                    router,
                    PathMap::labels(e.branches.iter().map(|b| (&*b.label, &*b.target))),
                );
            }
            EdgeSpec::Send(e) => {
                let router = match &e.send {
                    SendSpec::ForEach(s) => foreach_router(&e.source, s),
                    SendSpec::Expr(s) => expr_send_router(&e.source, s, registry.sandbox())
                        .map_err(|message| vec![Problem::new(Code::Script, String::new(), message)])?,
                };
                // The targets as the path map: drawn as the edge's destinations, and a plain name
                // from an expression must be one of them.
                graph.add_router(&e.source, router, PathMap::nodes(e.send.targets()));
            }
        }
    }
    let options = CompileOptions {
        name: Some(spec.name.clone()),
        checkpointer: cx.checkpointer.clone(),
        interrupt_before: spec.interrupts.before.clone(),
        interrupt_after: spec.interrupts.after.clone(),
        ..Default::default()
    };
    graph.compile_with(options).map_err(|e| vec![engine_problem(spec, &e)])
}

/// A node whose retry policy has an `error_key`: the error that would fail the run (last attempt,
/// or not retried) is written to the key instead; success clears it. Pauses and commands for a
/// parent graph pass through.
struct Fallback {
    inner: BoxNode,
    policy: RetryPolicy,
    key: Arc<str>,
}

impl Node for Fallback {
    fn call(&self, input: State, ctx: NodeContext) -> BoxFuture<'static, NodeResult> {
        let last = ctx.attempt() >= self.policy.max_attempts;
        let inner = self.inner.call(input, ctx);
        let policy = self.policy.clone();
        let key = self.key.clone();
        Box::pin(async move {
            let one = |value: Value| {
                let mut update = stategraph_core::Map::new();
                update.insert(key.clone(), value);
                update
            };
            match inner.await {
                Ok(NodeOutput::Update(mut update)) => {
                    update.entry(key.clone()).or_insert(Value::Null);
                    Ok(NodeOutput::Update(update))
                }
                Ok(NodeOutput::None) => Ok(NodeOutput::Update(one(Value::Null))),
                Ok(other) => Ok(other),
                Err(e) if e.is_interrupt() || e.parent_command().is_some() => Err(e),
                Err(e) if !last && policy.should_retry(&e) => Err(e),
                Err(e) => Ok(NodeOutput::Update(one(Value::from(format!("{}: {}", e.kind(), e.message()))))),
            }
        })
    }

    fn subgraph(&self) -> Option<&CompiledGraph> {
        self.inner.subgraph()
    }
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
///
/// An expression yields one label or several (fan-out); `END` ends the branch even when no
/// branch is labelled `__end__`.
fn router(edge: &ConditionalEdge, sandbox: &Arc<Sandbox>) -> Result<RouterFn, String> {
    Ok(match &edge.condition {
        Condition::Expr(code) => {
            let program: Program = sandbox.compile(code).map_err(|e| e.describe())?;
            let sandbox = sandbox.clone();
            let source = edge.source.clone();
            let has_end_label = edge.branches.iter().any(|b| b.label == END);
            let timeout = sandbox.limits().timeout;
            Arc::new(move |state: &State| {
                let fail = |m: String| {
                    NodeError::permanent(format!("the condition of the edge from `{source}` failed{m}"))
                        .with_kind("ValueError")
                };
                let value = sandbox.run(&program, state, timeout).map_err(|e| fail(e.describe()))?;
                let labels = crate::sandbox::labels(value).map_err(|m| fail(format!(": {m}")))?;
                Ok(Route::from(labels.into_iter().filter(|l| has_end_label || l != END).collect::<Vec<String>>()))
            })
        }
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
    })
}

fn send_failure(source: &str, message: String) -> NodeError {
    NodeError::permanent(format!("the fan-out edge from `{source}` failed: {message}")).with_kind("ValueError")
}

/// `foreach`: one send to the target per item of the list, its input `{as: item, with...}`.
fn foreach_router(source: &str, send: &ForEachSend) -> RouterFn {
    let source = source.to_owned();
    let send = send.clone();
    let (key, rest) = match send.foreach.strip_prefix('/') {
        Some(pointer) => match pointer.split_once('/') {
            Some((key, rest)) => (crate::validate::unescape(key), format!("/{rest}")),
            None => (crate::validate::unescape(pointer), String::new()),
        },
        None => (send.foreach.clone(), String::new()),
    };
    Arc::new(move |state: &State| {
        let fail = |m: String| send_failure(&source, m);
        let found = state.get(&key).and_then(|v| if rest.is_empty() { Some(v) } else { v.pointer(&rest) });
        let items = match found {
            Some(Value::Array(items)) => items,
            Some(other) => {
                return Err(fail(format!(
                    "`foreach: {}` must be a list, got {} ({other})",
                    send.foreach,
                    other.kind()
                )));
            }
            None => return Err(fail(format!("`foreach: {}` holds nothing; it must be a list", send.foreach))),
        };
        let mut shared = stategraph_core::Map::new();
        for k in &send.with {
            if let Some(v) = state.get(k) {
                shared.insert(Arc::from(k.as_str()), v.clone());
            }
        }
        let mut sends = Vec::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
            let mut arg = match (&send.item_key, item) {
                (Some(name), _) => {
                    let mut m = stategraph_core::Map::new();
                    m.insert(Arc::from(name.as_str()), item.clone());
                    m
                }
                (None, Value::Object(m)) => (**m).clone(),
                (None, other) => {
                    return Err(fail(format!(
                        "item {i} of `{}` is {} ({other}); without `as` every item must be an object, the input of `{}`",
                        send.foreach,
                        other.kind(),
                        send.target
                    )));
                }
            };
            for (k, v) in &shared {
                arg.insert(k.clone(), v.clone());
            }
            sends.push(Goto::Send(Send::new(send.target.clone(), Value::from(arg))));
        }
        Ok(Route(sends))
    })
}

/// `expr`: the expression yields sends `#{node, arg}`, names of `targets`, `END` (ignored: it
/// adds nothing), or an array of these; anything sent or named outside `targets` fails the run.
fn expr_send_router(source: &str, send: &ExprSend, sandbox: &Arc<Sandbox>) -> Result<RouterFn, String> {
    let program: Program = sandbox.compile(&send.expr).map_err(|e| e.describe())?;
    let sandbox = sandbox.clone();
    let source = source.to_owned();
    let targets = send.targets.clone();
    let timeout = sandbox.limits().timeout;
    Ok(Arc::new(move |state: &State| {
        let fail = |m: String| send_failure(&source, m);
        let value = sandbox
            .run(&program, state, timeout)
            .map_err(|e| fail(format!("its expression failed{}", e.describe())))?;
        let value = crate::sandbox::from_dynamic(value).map_err(&fail)?;
        let items = match value {
            Value::Array(items) => Arc::unwrap_or_clone(items),
            Value::Null => Vec::new(),
            one => vec![one],
        };
        let allowed = |node: &str| {
            if targets.iter().any(|t| t == node) {
                Ok(())
            } else {
                Err(fail(format!("it sent to `{node}`, which is not one of its targets ({})", targets.join(", "))))
            }
        };
        let mut route = Vec::with_capacity(items.len());
        for item in items {
            match item {
                // `END`: nothing more along this edge.
                Value::String(name) if name.as_str() == END => {}
                Value::String(name) => {
                    allowed(&name)?;
                    route.push(Goto::Node(name.to_string()));
                }
                Value::Object(m) => {
                    let node = match m.get("node") {
                        Some(Value::String(n)) => n.to_string(),
                        _ => {
                            return Err(fail(
                                "a send must be a map `#{node: \"NAME\", arg: #{...}}` with a string `node`".into(),
                            ));
                        }
                    };
                    if let Some(k) = m.keys().find(|k| !matches!(&***k, "node" | "arg")) {
                        return Err(fail(format!("a send has the keys `node` and `arg`, not `{k}`")));
                    }
                    allowed(&node)?;
                    let arg = m.get("arg").cloned().unwrap_or_else(Value::object);
                    route.push(Goto::Send(Send::new(node, arg)));
                }
                other => {
                    return Err(fail(format!(
                        "expected sends `#{{node, arg}}`, node names or an array of them, got {} ({other})",
                        other.kind()
                    )));
                }
            }
        }
        Ok(Route(route))
    }))
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
