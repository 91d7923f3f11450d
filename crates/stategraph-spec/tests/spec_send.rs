//! Fan-out (`send`) edges: the map-reduce example and the same graph written with the Rust API
//! behave the same (final state, every `updates` event, drawing); `foreach` pointers, `as` and
//! `with`; expression sends; and the run-time errors, which name the edge.

use futures::StreamExt;
use serde_json::{Value, json};
use stategraph_core::{
    ChannelSpec, CompileOptions, CompiledGraph, END, NodeError, Reducer, RunConfig, START, Schema, Send, State,
    StateGraph, StreamMode, StreamOptions,
};
use stategraph_spec::{EdgeSpec, GraphSpec, NodeKindRegistry, SendSpec, compile};

fn example() -> GraphSpec {
    GraphSpec::from_path(concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/specs/map_reduce.yaml")).unwrap()
}

/// `examples/specs/map_reduce.yaml`, written with the Rust API (as `examples/map_reduce.rs` does).
fn native() -> CompiledGraph {
    let schema = Schema::new()
        .key("subjects", ChannelSpec::last_value().with_default(json!([])))
        .key("style", ChannelSpec::last_value().with_default(json!("dry")))
        .last_value("heading")
        .key("jokes", ChannelSpec::reducer(Reducer::append()).with_default(json!([])))
        .last_value("summary");
    let mut g = StateGraph::new(schema);
    g.add_node("plan", |s: State, _c| async move {
        let n = s.get_array("subjects").map_or(0, Vec::len);
        Ok::<_, NodeError>(json!({"heading": format!("{n} {} jokes", s.get_str("style").unwrap_or_default())}))
    })
    .add_node("write_joke", |arg: State, _c| async move {
        let (style, subject) = (arg.get_str("style").unwrap_or_default(), arg.get_str("subject").unwrap_or_default());
        Ok::<_, NodeError>(json!({"jokes": format!("A {style} joke about {subject}")}))
    })
    .add_node("summarise", |s: State, _c| async move {
        let jokes: Vec<String> =
            s.get_array("jokes").unwrap().iter().map(|j| j.as_str().unwrap_or_default().to_owned()).collect();
        Ok::<_, NodeError>(json!({"summary": format!("{}: {}", s.get_str("heading").unwrap(), jokes.join(" / "))}))
    })
    .add_edge(START, "plan")
    .add_conditional_edges(
        "plan",
        |s: &State| {
            let style = s.get("style").cloned();
            s.get_array("subjects")
                .cloned()
                .unwrap_or_default()
                .into_iter()
                .map(|subject| {
                    let mut arg = serde_json::Map::new();
                    arg.insert("subject".into(), subject.to_json());
                    if let Some(style) = &style {
                        arg.insert("style".into(), style.to_json());
                    }
                    Send::new("write_joke", Value::Object(arg))
                })
                .collect::<Vec<_>>()
        },
        ["write_joke"],
    )
    .add_edge("write_joke", "summarise")
    .add_edge("summarise", END);
    g.compile_with(CompileOptions { name: Some("map_reduce".into()), ..Default::default() }).unwrap()
}

/// The final state and every `updates` event of a run.
async fn run(graph: &CompiledGraph, input: Value) -> (Value, Vec<Value>) {
    let mut stream = graph.stream(input, RunConfig::default(), StreamOptions::mode(StreamMode::Updates));
    let mut events = Vec::new();
    while let Some(event) = stream.next().await {
        events.push(event.unwrap().data.to_json());
    }
    (stream.output().unwrap().to_json(), events)
}

#[tokio::test]
async fn the_map_reduce_spec_and_the_same_graph_in_rust_behave_the_same() {
    let spec = compile(&example(), &NodeKindRegistry::with_builtins()).unwrap();
    let native = native();
    for input in [
        json!({"subjects": ["cats", "graphs", "rust"], "style": "dry"}),
        json!({"subjects": ["one"]}),
        json!({"subjects": ["a", "b", "c", "d", "e", "f", "g"], "style": "bad"}),
    ] {
        let (ours, events) = run(&spec, input.clone()).await;
        assert_eq!((&ours, &events), (&run(&native, input.clone()).await.0, &run(&native, input.clone()).await.1));
        let n = input["subjects"].as_array().unwrap().len();
        assert_eq!(ours["jokes"].as_array().unwrap().len(), n, "{ours}");
        // One update per sent task, in the order of the list.
        let sent: Vec<&Value> = events.iter().filter_map(|e| e.get("write_joke")).collect();
        assert_eq!(sent.len(), n, "{events:#?}");
        let subject = input["subjects"][n - 1].as_str().unwrap();
        assert!(sent[n - 1]["jokes"].as_str().unwrap().ends_with(subject), "{events:#?}");
        // The reduce node runs once, after every task.
        assert_eq!(events.iter().filter(|e| e.get("summarise").is_some()).count(), 1);
    }
    assert_eq!(spec.draw_mermaid(), native.draw_mermaid());
    assert!(spec.draw_mermaid().contains("plan -.-> write_joke"), "{}", spec.draw_mermaid());
}

#[tokio::test]
async fn an_empty_list_sends_nothing() {
    let spec = compile(&example(), &NodeKindRegistry::with_builtins()).unwrap();
    let out = spec.invoke(json!({"subjects": []}), RunConfig::default()).await.unwrap().to_json();
    assert_eq!(out["jokes"], json!([]));
    assert_eq!(out.get("summary"), None, "{out}");
}

/// `start` fans out to `work` (which appends its input to `seen`), and for expressions also to
/// `other`.
fn fan_out(send: Value) -> GraphSpec {
    let mut nodes = vec![
        json!({"id": "start", "kind": "passthrough"}),
        json!({"id": "work", "kind": "script", "config": {"code": "#{ seen: state }"}}),
    ];
    if send.get("expr").is_some() {
        nodes.push(json!({"id": "other", "kind": "script", "config": {"code": "#{ seen: \"other\" }"}}));
    }
    let mut edges = vec![json!({"source": "start", "send": send}), json!({"source": "work", "target": "__end__"})];
    if send.get("expr").is_some() {
        edges.push(json!({"source": "other", "target": "__end__"}));
    }
    GraphSpec::from_json(
        &json!({
            "version": 1, "name": "fan",
            "state": {
                "plan": {"type": "object"},
                "topic": {"type": "string"},
                "absent": {"type": "string"},
                "seen": {"reducer": "append", "default": []}
            },
            "nodes": nodes,
            "entry": "start",
            "edges": edges
        })
        .to_string(),
    )
    .unwrap()
}

async fn seen(send: Value, input: Value) -> Result<Value, String> {
    let graph = compile(&fan_out(send), &NodeKindRegistry::with_builtins()).map_err(|p| format!("{p:?}"))?;
    let out = graph.invoke(input, RunConfig::default()).await.map_err(|e| e.to_string())?;
    Ok(out.to_json()["seen"].clone())
}

#[tokio::test]
async fn foreach_follows_a_pointer_and_builds_each_input() {
    let input = json!({"plan": {"steps": [{"n": 1}, {"n": 2}]}, "topic": "t"});
    // `as` names the item; `with` copies state keys and leaves out keys without a value.
    let out = seen(
        json!({"target": "work", "foreach": "/plan/steps", "as": "step", "with": ["topic", "absent"]}),
        input.clone(),
    );
    assert_eq!(out.await.unwrap(), json!([{"step": {"n": 1}, "topic": "t"}, {"step": {"n": 2}, "topic": "t"}]));
    // Without `as`, each item (an object) is the input.
    let out = seen(json!({"target": "work", "foreach": "/plan/steps", "with": ["topic"]}), input).await.unwrap();
    assert_eq!(out, json!([{"n": 1, "topic": "t"}, {"n": 2, "topic": "t"}]));
}

#[tokio::test]
async fn foreach_errors_name_the_edge_and_the_value() {
    let send = json!({"target": "work", "foreach": "/plan/steps"});
    let err = seen(send.clone(), json!({"plan": {"steps": 3}})).await.unwrap_err();
    assert!(
        err.contains("the fan-out edge from `start` failed") && err.contains("must be a list, got a number (3)"),
        "{err}"
    );
    let err = seen(send.clone(), json!({"plan": {}})).await.unwrap_err();
    assert!(err.contains("`foreach: /plan/steps` holds nothing"), "{err}");
    let err = seen(send, json!({"plan": {"steps": [1]}})).await.unwrap_err();
    assert!(err.contains("without `as` every item must be an object"), "{err}");
}

#[tokio::test]
async fn an_expression_sends_names_and_ends() {
    let send = |expr: &str| json!({"expr": expr, "targets": ["work", "other"]});
    let input = json!({"plan": {"steps": [1, 2]}});
    let out = seen(send("state.plan.steps.map(|s| #{node: \"work\", arg: #{n: s * 10}})"), input.clone()).await;
    assert_eq!(out.unwrap(), json!([{"n": 10}, {"n": 20}]));
    // A single send, a plain node name (runs on the state) and END mix in one array; the named
    // node's task comes before the sent ones, as in LangGraph.
    let out = seen(send("[#{node: \"work\", arg: #{n: 1}}, \"other\", END]"), input.clone()).await;
    assert_eq!(out.unwrap(), json!(["other", {"n": 1}]));
    let out = seen(send("#{node: \"work\"}"), input.clone()).await;
    assert_eq!(out.unwrap(), json!([{}]));
    // Errors name the edge and what is wrong.
    for (expr, expected) in [
        ("#{node: \"start\", arg: #{}}", "it sent to `start`, which is not one of its targets (work, other)"),
        ("\"nowhere\"", "it sent to `nowhere`"),
        ("#{node: 3}", "with a string `node`"),
        ("#{node: \"work\", args: 1}", "not `args`"),
        ("42", "got a number (42)"),
        ("state.nope.len()", "its expression failed"),
    ] {
        let err = seen(send(expr), input.clone()).await.unwrap_err();
        assert!(err.contains("the fan-out edge from `start` failed") && err.contains(expected), "{expr}: {err}");
    }
}

#[test]
fn send_edges_read_back_and_list_their_targets() {
    let spec = example();
    let EdgeSpec::Send(edge) = &spec.edges[0] else { panic!("{:?}", spec.edges[0]) };
    let SendSpec::ForEach(each) = &edge.send else { panic!() };
    assert_eq!((each.item_key.as_deref(), each.with.as_slice()), (Some("subject"), &["style".to_owned()][..]));
    assert_eq!(edge.send.targets(), ["write_joke"]);
    assert_eq!(GraphSpec::from_json(&spec.to_json()).unwrap(), spec);
    assert_eq!(GraphSpec::from_yaml(&spec.to_yaml()).unwrap(), spec);
    let expr = fan_out(json!({"expr": "[]", "targets": ["work", "other"]}));
    assert_eq!(GraphSpec::from_json(&expr.to_json()).unwrap(), expr);
}

#[test]
fn the_python_export_sends_with_langgraph() {
    let export = example().to_python(&NodeKindRegistry::with_builtins(), &Default::default()).unwrap();
    assert!(export.stubs.is_empty(), "{:?}", export.stubs);
    assert!(export.code.contains("from langgraph.types import Send"), "{}", export.code);
    assert!(
        export.code.contains("return [Send(\"write_joke\", {\"subject\": item, **shared}) for item in items]"),
        "{}",
        export.code
    );
    assert!(
        export.code.contains("builder.add_conditional_edges(\"plan\", send_0, [\"write_joke\"])"),
        "{}",
        export.code
    );
    // An expression has no translation: a marked stub that keeps the module importable.
    let export = fan_out(json!({"expr": "[]", "targets": ["work"]}))
        .to_python(&NodeKindRegistry::with_builtins(), &Default::default())
        .unwrap();
    assert!(export.stubs.iter().any(|s| s.contains("the sends of /edges/0")), "{:?}", export.stubs);
    assert!(export.code.contains("# STUB: Rhai sends"), "{}", export.code);
}
