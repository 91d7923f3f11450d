//! Compiling specs: the same graph written as a spec and with the Rust API behaves the same, JSON
//! and YAML compile to the same behaviour, retries, routing, engine errors and Mermaid export.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use futures::StreamExt;
use serde_json::{Map, Value, json};
use stategraph_core::{
    BoxNode, ChannelSpec, CompileOptions, CompiledGraph, END, NodeError, NodeOptions, Reducer, RetryPolicy, RunConfig,
    START, Schema, StateGraph, StreamMode, StreamOptions, sync_node,
};
use stategraph_spec::{ConfigError, GraphSpec, NodeKind, NodeKindRegistry, compile};

const JSON: &str = include_str!("data/graph.json");
const YAML: &str = include_str!("data/graph.yaml");

/// `tests/data/graph.json`, written with the Rust API.
fn native() -> CompiledGraph {
    let schema = Schema::new()
        .key("log", ChannelSpec::reducer(Reducer::add()).with_default(json!([])))
        .key("score", ChannelSpec::reducer(Reducer::max()).with_default(json!(0)))
        .key("verdict", ChannelSpec::last_value())
        .key("notes", ChannelSpec::reducer(Reducer::merge()).with_default(json!({})));
    let set = |update: Value| move |_s, _c| std::future::ready(Ok::<_, String>(update.clone()));
    let mut g = StateGraph::new(schema);
    g.add_node_with(
        "draft",
        set(json!({"log": ["draft"], "score": 3})),
        NodeOptions::new().retry(
            RetryPolicy::new().max_attempts(2).initial_interval(std::time::Duration::from_millis(10)).jitter(false),
        ),
    )
    .add_node("review_a", set(json!({"log": ["a"], "score": 7, "notes": {"a": "ok"}})))
    .add_node("review_b", set(json!({"log": ["b"], "score": 5, "notes": {"b": "fine"}})))
    .add_node("decide", set(json!({"verdict": "accept"})))
    .add_node("accept", set(json!({"log": ["accepted"]})))
    .add_node("reject", |_s, _c| async { Ok::<_, String>(()) })
    .add_edge(START, "draft")
    .add_edge("draft", "review_a")
    .add_edge("draft", "review_b")
    .add_edge(vec!["review_a", "review_b"], "decide")
    .add_conditional_edges(
        "decide",
        |s| s.get_str("verdict").unwrap_or_default().to_owned(),
        [("accept", "accept"), ("reject", "reject")],
    )
    .add_edge("accept", END)
    .add_edge("reject", END);
    // The spec's `interrupts: {before: [accept]}`.
    g.compile_with(CompileOptions {
        name: Some("review".into()),
        interrupt_before: vec!["accept".into()],
        ..Default::default()
    })
    .unwrap()
}

/// Output and the stream of `values` events of one run.
async fn run(graph: &CompiledGraph, input: Value) -> (Value, Vec<Value>) {
    let mut stream = graph.stream(input, RunConfig::default(), StreamOptions::mode(StreamMode::Values));
    let mut values = Vec::new();
    while let Some(event) = stream.next().await {
        values.push(event.unwrap().data.to_json());
    }
    (stream.output().unwrap().to_json(), values)
}

fn inputs() -> Vec<Value> {
    vec![json!({}), json!({"log": ["seed"], "score": 10}), json!({"notes": {"z": 1}, "verdict": "reject"})]
}

#[tokio::test]
async fn a_spec_and_the_same_graph_in_rust_behave_the_same() {
    let spec = compile(&GraphSpec::from_json(JSON).unwrap(), &NodeKindRegistry::with_builtins()).unwrap();
    let native = native();
    for input in inputs() {
        let (a, b) = (run(&spec, input.clone()).await, run(&native, input.clone()).await);
        assert_eq!(a, b, "input {input}");
    }
    // The spec's `interrupts: {before: [accept]}` pause the run before `accept`.
    let (out, _) = run(&spec, json!({})).await;
    assert_eq!(
        out,
        json!({"log": ["draft", "a", "b"], "score": 7, "verdict": "accept", "notes": {"a": "ok", "b": "fine"}})
    );
    assert_eq!(spec.draw_mermaid(), native.draw_mermaid());
    assert_eq!(spec.node_names(), native.node_names());
}

#[tokio::test]
async fn interrupts_pause_and_a_checkpointer_resumes() {
    use stategraph_core::Command;
    let saver = std::sync::Arc::new(stategraph_checkpoint::InMemorySaver::new());
    let cx = stategraph_spec::CompileContext::new().with_checkpointer(saver);
    let graph =
        stategraph_spec::compile_in(&GraphSpec::from_json(JSON).unwrap(), &NodeKindRegistry::with_builtins(), &cx)
            .unwrap();
    let thread = || RunConfig::default().with_thread("t1");
    let paused = graph.invoke(json!({}), thread()).await.unwrap();
    assert_eq!(paused["log"], json!(["draft", "a", "b"]));
    let done = graph.invoke(Command::new().resume(json!(null)), thread()).await.unwrap();
    assert_eq!(done["log"], json!(["draft", "a", "b", "accepted"]));
}

#[tokio::test]
async fn json_and_yaml_compile_to_the_same_behaviour() {
    let registry = NodeKindRegistry::with_builtins();
    let from_json = compile(&GraphSpec::from_json(JSON).unwrap(), &registry).unwrap();
    let from_yaml = compile(&GraphSpec::from_yaml(YAML).unwrap(), &registry).unwrap();
    for input in inputs() {
        assert_eq!(run(&from_json, input.clone()).await, run(&from_yaml, input).await);
    }
    assert_eq!(from_json.draw_mermaid(), from_yaml.draw_mermaid());
}

#[test]
fn to_mermaid_draws_the_compiled_graph() {
    let spec = GraphSpec::from_json(JSON).unwrap();
    let drawing = spec.to_mermaid(&NodeKindRegistry::with_builtins()).unwrap();
    assert_eq!(drawing, native().draw_mermaid());
    assert!(drawing.contains("review_a"), "{drawing}");
}

fn routed(verdict_default: Option<&str>) -> GraphSpec {
    let mut doc = json!({
        "version": 1, "name": "router",
        "state": {"route": {"type": "string"}, "out": {"type": "string"}},
        "nodes": [
            {"id": "left", "kind": "set", "config": {"update": {"out": "L"}}},
            {"id": "right", "kind": "set", "config": {"update": {"out": "R"}}}
        ],
        "edges": [
            {"source": "__start__", "condition": {"key": "route"},
             "branches": [{"label": "l", "target": "left"}, {"label": "r", "target": "right"}, {"label": "stop", "target": "__end__"}]},
            {"source": "left", "target": "__end__"},
            {"source": "right", "target": "__end__"}
        ]
    });
    if let Some(d) = verdict_default {
        doc["state"]["route"]["default"] = json!(d);
    }
    GraphSpec::from_json(&doc.to_string()).unwrap()
}

#[tokio::test]
async fn a_key_condition_routes_by_label() {
    let graph = compile(&routed(None), &NodeKindRegistry::with_builtins()).unwrap();
    let run = |route: &str| graph.invoke(json!({"route": route}), RunConfig::default());
    assert_eq!(run("l").await.unwrap(), json!({"route": "l", "out": "L"}));
    assert_eq!(run("r").await.unwrap(), json!({"route": "r", "out": "R"}));
    assert_eq!(run("stop").await.unwrap(), json!({"route": "stop"}));
    // A label no branch has is the engine's invalid-route error.
    let err = run("up").await.unwrap_err();
    assert_eq!(err.code(), "SG013", "{err}");
    // A key holding no string is a node error that names the key.
    let err = graph.invoke(json!({"out": "x"}), RunConfig::default()).await.unwrap_err();
    assert!(err.to_string().contains("state key `route`"), "{err}");
}

#[tokio::test]
async fn defaults_seed_the_state() {
    let graph = compile(&routed(Some("r")), &NodeKindRegistry::with_builtins()).unwrap();
    assert_eq!(
        graph.invoke(json!({"out": "-"}), RunConfig::default()).await.unwrap(),
        json!({"route": "r", "out": "R"})
    );
}

/// A host kind that fails the first `config.failures` times it runs.
struct Flaky(Arc<AtomicU32>);

impl NodeKind for Flaky {
    fn validate(&self, config: &Map<String, Value>, _spec: &GraphSpec) -> Vec<ConfigError> {
        match config.get("failures") {
            Some(v) if v.is_u64() => vec![],
            _ => vec![ConfigError::new("/failures", "`failures` must be a count")],
        }
    }

    fn build(&self, _node_id: &str, config: &Map<String, Value>) -> Result<BoxNode, ConfigError> {
        let failures = config["failures"].as_u64().unwrap_or(0) as u32;
        let calls = self.0.clone();
        Ok(Arc::new(sync_node(move |_s, _c| {
            if calls.fetch_add(1, Ordering::SeqCst) < failures {
                Err(NodeError::transient("not yet"))
            } else {
                Ok(json!({"done": true}))
            }
        })))
    }
}

fn flaky_spec(max_attempts: u32) -> GraphSpec {
    GraphSpec::from_json(
        &json!({
            "version": 1, "name": "flaky",
            "state": {"done": {"type": "boolean"}},
            "nodes": [{"id": "work", "kind": "flaky", "config": {"failures": 2}}],
            "entry": "work",
            "edges": [{"source": "work", "target": "__end__"}],
            "retry": {"work": {"max_attempts": max_attempts, "initial_interval": 0.0, "jitter": false}}
        })
        .to_string(),
    )
    .unwrap()
}

#[tokio::test]
async fn retry_policies_are_compiled_and_host_kinds_run() {
    for (attempts, ok) in [(3, true), (2, false)] {
        let calls = Arc::new(AtomicU32::new(0));
        let mut registry = NodeKindRegistry::with_builtins();
        registry.register("flaky", Flaky(calls.clone()));
        let graph = compile(&flaky_spec(attempts), &registry).unwrap();
        let result = graph.invoke(json!({}), RunConfig::default()).await;
        assert_eq!(result.is_ok(), ok, "max_attempts {attempts}: {result:?}");
        assert_eq!(calls.load(Ordering::SeqCst), attempts);
    }
}

#[test]
fn engine_errors_become_problems_with_pointers() {
    // A loop with no way out: the engine's SG004.
    let spec = GraphSpec::from_json(
        &json!({
            "version": 1, "name": "loop",
            "nodes": [{"id": "a", "kind": "passthrough"}, {"id": "b", "kind": "passthrough"}],
            "edges": [{"source": "__start__", "target": "a"}, {"source": "a", "target": "b"}, {"source": "b", "target": "a"}]
        })
        .to_string(),
    )
    .unwrap();
    let problems = compile(&spec, &NodeKindRegistry::with_builtins()).unwrap_err();
    assert_eq!(problems.len(), 1);
    assert_eq!(problems[0].code.as_str(), "SP060");
    assert!(problems[0].message.starts_with("SG004"), "{}", problems[0].message);
    assert!(problems[0].pointer.starts_with("/edges/"), "{}", problems[0].pointer);

    // A node nothing leads to: the engine's SG006, pointing at the node.
    let spec = GraphSpec::from_json(
        &json!({
            "version": 1, "name": "island",
            "nodes": [{"id": "a", "kind": "passthrough"}, {"id": "lost", "kind": "passthrough"}],
            "entry": "a",
            "edges": [{"source": "a", "target": "__end__"}, {"source": "lost", "target": "__end__"}]
        })
        .to_string(),
    )
    .unwrap();
    let problems = compile(&spec, &NodeKindRegistry::with_builtins()).unwrap_err();
    assert_eq!((problems[0].code.as_str(), problems[0].pointer.as_str()), ("SP060", "/nodes/1"));
    assert!(problems[0].message.starts_with("SG006"), "{}", problems[0].message);
}

#[test]
fn compile_reports_validation_problems() {
    let mut spec = routed(None);
    spec.nodes[0].kind = "unknown".into();
    let problems = compile(&spec, &NodeKindRegistry::with_builtins()).unwrap_err();
    assert_eq!((problems[0].code.as_str(), problems[0].pointer.as_str()), ("SP020", "/nodes/0/kind"));
}
