//! Validation: every problem of a spec at once, each with its code and pointer.

use std::collections::{HashMap, HashSet};

use serde_json::Value;
use stategraph_core::{END, START};

use crate::compile::CompileContext;
use crate::problem::{Code, Limits, Problem, join};
use crate::registry::{KindContext, NodeKindRegistry};
use crate::spec::{Condition, EdgeSpec, GraphSpec, RetrySpec, SendSpec};

/// The JSON Schema type names the `type` of a state key may use.
const TYPE_NAMES: [&str; 7] = ["string", "number", "integer", "boolean", "array", "object", "null"];

/// Checks `spec` against `registry` and `limits`; returns every problem found (empty = valid).
///
/// ```
/// use stategraph_spec::{GraphSpec, Limits, NodeKindRegistry, validate};
/// let spec = GraphSpec::from_json(r#"{"version": 1, "name": "g",
///     "nodes": [{"id": "a", "kind": "passthrough"}],
///     "edges": [{"source": "a", "target": "b"}]}"#).unwrap();
/// let problems = validate(&spec, &NodeKindRegistry::with_builtins(), &Limits::default());
/// let found: Vec<_> = problems.iter().map(|p| (p.code.as_str(), p.pointer.as_str())).collect();
/// assert_eq!(found, [("SP012", "/edges/0/target"), ("SP013", "/entry")]);
/// ```
pub fn validate(spec: &GraphSpec, registry: &NodeKindRegistry, limits: &Limits) -> Vec<Problem> {
    validate_in(spec, registry, &CompileContext::new().with_limits(limits.clone()))
}

/// [`validate`] for a spec read from a file or nested in another: `cx` says where it came from
/// (subgraph references resolve against it) and its limits.
pub fn validate_in(spec: &GraphSpec, registry: &NodeKindRegistry, cx: &CompileContext) -> Vec<Problem> {
    let limits = &cx.limits;
    let mut problems = Vec::new();
    // Past a count limit nothing else is checked: the point of the limit is to bound the work.
    if spec.nodes.len() > limits.max_nodes {
        problems.push(Problem::new(
            Code::TooManyNodes,
            "/nodes",
            format!("{} nodes; the limit is {}", spec.nodes.len(), limits.max_nodes),
        ));
    }
    if spec.edges.len() > limits.max_edges {
        problems.push(Problem::new(
            Code::TooManyEdges,
            "/edges",
            format!("{} edges; the limit is {}", spec.edges.len(), limits.max_edges),
        ));
    }
    if !problems.is_empty() {
        return problems;
    }
    check_state(spec, &mut problems);
    let kind_cx = cx.kind_context(spec, registry);
    let nodes = check_nodes(spec, &kind_cx, &mut problems);
    check_edges(spec, registry, &nodes, &mut problems);
    check_references(spec, &nodes, &mut problems);
    problems
}

fn check_state(spec: &GraphSpec, problems: &mut Vec<Problem>) {
    for (key, s) in &spec.state {
        let at = join("/state", key);
        if let Some(reducer) = &s.reducer
            && crate::spec::reducer(reducer).is_none()
        {
            problems.push(Problem::new(
                Code::UnknownReducer,
                join(&at, "reducer"),
                format!(
                    "unknown reducer `{reducer}`; expected one of add, append, extend, merge, min, max, add_messages"
                ),
            ));
        }
        let types = match &s.schema {
            None => None,
            Some(schema) => match declared_types(schema, &join(&at, "type")) {
                Ok(types) => types,
                Err(p) => {
                    problems.push(p);
                    continue;
                }
            },
        };
        if let (Some(types), Some(default)) = (types, &s.default)
            && !types.iter().any(|t| matches_type(default, t))
        {
            problems.push(Problem::new(
                Code::DefaultTypeMismatch,
                join(&at, "default"),
                format!("the default is {} but the key's type is {}", describe(default), types.join(" or ")),
            ));
        }
    }
}

/// The type names a fragment allows (`None` = any), or why the fragment is unusable.
fn declared_types(schema: &Value, at: &str) -> Result<Option<Vec<String>>, Problem> {
    let (names, at) = match schema {
        Value::String(_) => (schema, at.to_owned()),
        Value::Object(o) => match o.get("type") {
            None => return Ok(None),
            Some(t) => (t, join(at, "type")),
        },
        other => {
            return Err(Problem::new(
                Code::InvalidType,
                at,
                format!("`type` must be a type name or a JSON Schema object, got {}", describe(other)),
            ));
        }
    };
    let list: Vec<&Value> = match names {
        Value::Array(a) => a.iter().collect(),
        one => vec![one],
    };
    let mut types = Vec::new();
    for (i, name) in list.iter().enumerate() {
        let at = if names.is_array() { join(&at, &i.to_string()) } else { at.clone() };
        match name.as_str() {
            Some(n) if TYPE_NAMES.contains(&n) => types.push(n.to_owned()),
            _ => {
                return Err(Problem::new(
                    Code::InvalidType,
                    at,
                    format!("unknown type {name}; expected one of {}", TYPE_NAMES.join(", ")),
                ));
            }
        }
    }
    Ok(Some(types))
}

/// JSON Schema's `type` check (an integral number is also an `integer`).
fn matches_type(value: &Value, name: &str) -> bool {
    match name {
        "string" => value.is_string(),
        "number" => value.is_number(),
        "integer" => value.as_f64().is_some_and(|n| n.fract() == 0.0),
        "boolean" => value.is_boolean(),
        "array" => value.is_array(),
        "object" => value.is_object(),
        "null" => value.is_null(),
        _ => false,
    }
}

fn describe(value: &Value) -> String {
    format!("{} ({value})", crate::spec::kind_name(value))
}

/// Checks ids, kinds and configs; returns the index of every node id.
fn check_nodes<'a>(spec: &'a GraphSpec, cx: &KindContext<'_>, problems: &mut Vec<Problem>) -> HashMap<&'a str, usize> {
    let registry = cx.registry;
    let mut ids: HashMap<&str, usize> = HashMap::new();
    for (i, node) in spec.nodes.iter().enumerate() {
        let at = format!("/nodes/{i}");
        if let Some(reason) = reserved(&node.id) {
            problems.push(Problem::new(Code::ReservedId, join(&at, "id"), format!("node id `{}` {reason}", node.id)));
        } else if let Some(first) = ids.get(node.id.as_str()) {
            problems.push(Problem::new(
                Code::DuplicateNode,
                join(&at, "id"),
                format!("node id `{}` is already used by /nodes/{first}", node.id),
            ));
        } else {
            ids.insert(&node.id, i);
        }
        match registry.get(&node.kind) {
            None => problems.push(Problem::new(
                Code::UnknownKind,
                join(&at, "kind"),
                format!(
                    "unknown node kind `{}`; known kinds: {}",
                    node.kind,
                    registry.names().collect::<Vec<_>>().join(", ")
                ),
            )),
            Some(kind) => {
                let config_at = join(&at, "config");
                problems.extend(
                    kind.validate_in(&node.config, cx)
                        .into_iter()
                        .map(|e| Problem::new(e.code, format!("{config_at}{}", e.pointer), e.message)),
                );
            }
        }
    }
    ids
}

/// Why a node id cannot be used, if it cannot (the engine's own rules, checked here to point at them).
fn reserved(id: &str) -> Option<String> {
    if id == START || id == END {
        Some("is reserved for the graph's start and end".into())
    } else if id.is_empty() {
        Some("is empty".into())
    } else {
        id.chars().find(|c| *c == ':' || *c == '|').map(|c| format!("contains `{c}`, which separates namespaces"))
    }
}

fn check_edges(
    spec: &GraphSpec,
    registry: &NodeKindRegistry,
    nodes: &HashMap<&str, usize>,
    problems: &mut Vec<Problem>,
) {
    let is_node = |n: &str| nodes.contains_key(n);
    let source = |name: &str, at: String, problems: &mut Vec<Problem>| {
        if name == END {
            problems.push(Problem::new(Code::InvalidEdge, at, "an edge cannot leave `__end__`"));
        } else if name != START && !is_node(name) {
            problems.push(unknown_node(name, at));
        }
    };
    let target = |name: &str, at: String, problems: &mut Vec<Problem>| {
        if name == START {
            problems.push(Problem::new(Code::InvalidEdge, at, "an edge cannot lead to `__start__`"));
        } else if name != END && !is_node(name) {
            problems.push(unknown_node(name, at));
        }
    };
    for (i, edge) in spec.edges.iter().enumerate() {
        let at = format!("/edges/{i}");
        match edge {
            EdgeSpec::Plain(e) => {
                source(&e.source, join(&at, "source"), problems);
                target(&e.target, join(&at, "target"), problems);
            }
            EdgeSpec::Join(e) => {
                if e.sources.is_empty() {
                    problems.push(Problem::new(
                        Code::InvalidEdge,
                        join(&at, "sources"),
                        "a join needs at least one source",
                    ));
                }
                for (j, s) in e.sources.iter().enumerate() {
                    let at = format!("{at}/sources/{j}");
                    if s == START || s == END {
                        problems.push(Problem::new(Code::InvalidEdge, at, format!("a join cannot wait for `{s}`")));
                    } else if !is_node(s) {
                        problems.push(unknown_node(s, at));
                    }
                }
                if e.target == START || e.target == END {
                    problems.push(Problem::new(
                        Code::InvalidEdge,
                        join(&at, "target"),
                        format!("a join cannot lead to `{}`", e.target),
                    ));
                } else if !is_node(&e.target) {
                    problems.push(unknown_node(&e.target, join(&at, "target")));
                }
            }
            EdgeSpec::Conditional(e) => {
                source(&e.source, join(&at, "source"), problems);
                if e.branches.is_empty() {
                    problems.push(Problem::new(
                        Code::InvalidEdge,
                        join(&at, "branches"),
                        "a conditional edge needs at least one branch",
                    ));
                }
                let mut labels = HashSet::new();
                for (j, b) in e.branches.iter().enumerate() {
                    let at = format!("{at}/branches/{j}");
                    if !labels.insert(b.label.as_str()) {
                        problems.push(Problem::new(
                            Code::InvalidEdge,
                            join(&at, "label"),
                            format!("label `{}` is used by another branch of this edge", b.label),
                        ));
                    }
                    target(&b.target, join(&at, "target"), problems);
                }
                match &e.condition {
                    Condition::Key(key) if !spec.state.contains_key(key) => problems.push(Problem::new(
                        Code::UnknownStateKey,
                        format!("{at}/condition/key"),
                        format!("the condition reads `{key}`, which is not a state key; declare it under `state`"),
                    )),
                    Condition::Key(_) => {}
                    Condition::Expr(code) => {
                        if let Err(e) = registry.sandbox().compile(code) {
                            problems.push(Problem::new(
                                Code::Script,
                                format!("{at}/condition/expr"),
                                format!("the condition of the edge from `{}`: {}", e_source(edge), e.describe()),
                            ));
                        }
                    }
                }
            }
            EdgeSpec::Send(e) => {
                source(&e.source, join(&at, "source"), problems);
                let at = join(&at, "send");
                // A send runs a node: `__end__` and `__start__` are no targets.
                let send_target = |name: &str, at: String, problems: &mut Vec<Problem>| {
                    if name == START || name == END {
                        problems.push(Problem::new(
                            Code::InvalidEdge,
                            at,
                            format!("a send must run a node, not `{name}`"),
                        ));
                    } else if !is_node(name) {
                        problems.push(unknown_node(name, at));
                    }
                };
                match &e.send {
                    SendSpec::ForEach(s) => {
                        send_target(&s.target, join(&at, "target"), problems);
                        if let Some(p) = foreach_problem(spec, &s.foreach, join(&at, "foreach")) {
                            problems.push(p);
                        }
                        if s.item_key.as_deref() == Some("") {
                            problems.push(Problem::new(Code::InvalidEdge, join(&at, "as"), "`as` cannot be empty"));
                        }
                        for (j, key) in s.with.iter().enumerate() {
                            if !spec.state.contains_key(key) {
                                problems.push(Problem::new(
                                    Code::UnknownStateKey,
                                    format!("{at}/with/{j}"),
                                    format!(
                                        "`with` copies `{key}`, which is not a state key; declare it under `state`"
                                    ),
                                ));
                            }
                        }
                    }
                    SendSpec::Expr(s) => {
                        if s.targets.is_empty() {
                            problems.push(Problem::new(
                                Code::InvalidEdge,
                                join(&at, "targets"),
                                "a send expression needs at least one target: the nodes it may send to",
                            ));
                        }
                        for (j, t) in s.targets.iter().enumerate() {
                            send_target(t, format!("{at}/targets/{j}"), problems);
                        }
                        if let Err(err) = registry.sandbox().compile(&s.expr) {
                            problems.push(Problem::new(
                                Code::Script,
                                join(&at, "expr"),
                                format!("the sends of the edge from `{}`: {}", e.source, err.describe()),
                            ));
                        }
                    }
                }
            }
        }
    }
}

/// Why `foreach` cannot name a list in the state, if it cannot: it must be a declared key or a
/// JSON pointer starting with one.
fn foreach_problem(spec: &GraphSpec, foreach: &str, at: String) -> Option<Problem> {
    let key = match foreach.strip_prefix('/') {
        Some(pointer) => unescape(pointer.split('/').next().unwrap_or_default()),
        None => foreach.to_owned(),
    };
    if key.is_empty() {
        return Some(Problem::new(
            Code::InvalidEdge,
            at,
            "`foreach` must name a state key (`items`) or a JSON pointer into the state (`/plan/items`)",
        ));
    }
    (!spec.state.contains_key(&key)).then(|| {
        Problem::new(
            Code::UnknownStateKey,
            at,
            format!("`foreach` reads `{key}`, which is not a state key; declare it under `state`"),
        )
    })
}

/// A JSON pointer segment's text (`~1` is `/`, `~0` is `~`).
pub(crate) fn unescape(segment: &str) -> String {
    segment.replace("~1", "/").replace("~0", "~")
}

fn e_source(edge: &EdgeSpec) -> &str {
    match edge {
        EdgeSpec::Plain(e) => &e.source,
        EdgeSpec::Conditional(e) => &e.source,
        EdgeSpec::Send(e) => &e.source,
        EdgeSpec::Join(e) => &e.target,
    }
}

fn unknown_node(name: &str, at: String) -> Problem {
    Problem::new(Code::UnknownNode, at, format!("unknown node `{name}`"))
}

fn check_references(spec: &GraphSpec, nodes: &HashMap<&str, usize>, problems: &mut Vec<Problem>) {
    match &spec.entry {
        Some(entry) if !nodes.contains_key(entry.as_str()) => problems.push(unknown_node(entry, "/entry".into())),
        Some(_) => {}
        None => {
            let leaves_start = spec.edges.iter().any(|e| match e {
                EdgeSpec::Plain(e) => e.source == START,
                EdgeSpec::Conditional(e) => e.source == START,
                EdgeSpec::Send(e) => e.source == START,
                EdgeSpec::Join(_) => false,
            });
            if !leaves_start {
                problems.push(Problem::new(
                    Code::MissingEntry,
                    "/entry",
                    "the graph has no entry: set `entry` or add an edge from `__start__`",
                ));
            }
        }
    }
    for (list, name) in [(&spec.interrupts.before, "before"), (&spec.interrupts.after, "after")] {
        for (i, id) in list.iter().enumerate() {
            if !nodes.contains_key(id.as_str()) {
                problems.push(unknown_node(id, format!("/interrupts/{name}/{i}")));
            }
        }
    }
    for (id, policy) in &spec.retry {
        let at = join("/retry", id);
        if !nodes.contains_key(id.as_str()) {
            problems.push(unknown_node(id, at.clone()));
        }
        check_retry(policy, &at, problems);
        if let Some(key) = &policy.error_key
            && !spec.state.contains_key(key)
        {
            problems.push(Problem::new(
                Code::UnknownStateKey,
                join(&at, "error_key"),
                format!("`error_key` writes `{key}`, which is not a state key; declare it under `state`"),
            ));
        }
    }
}

fn check_retry(policy: &RetrySpec, at: &str, problems: &mut Vec<Problem>) {
    if policy.max_attempts == Some(0) {
        problems.push(Problem::new(
            Code::InvalidRetry,
            join(at, "max_attempts"),
            "`max_attempts` counts the first attempt too, so it must be at least 1",
        ));
    }
    for (field, value) in [
        ("initial_interval", policy.initial_interval),
        ("backoff_factor", policy.backoff_factor),
        ("max_interval", policy.max_interval),
    ] {
        if let Some(v) = value
            && !(v.is_finite() && v >= 0.0)
        {
            problems.push(Problem::new(
                Code::InvalidRetry,
                join(at, field),
                format!("`{field}` must be a finite number ≥ 0, got {v}"),
            ));
        }
    }
}
